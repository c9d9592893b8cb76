//! Sample weights, and how they choose a tree's rows, as scikit-learn 1.9
//! uses them: with bootstrap, rows are drawn in proportion to their weight
//! (`RandomState.choice(p=w / w.sum())`) and a tree weighs each row by its
//! draw count; without, a tree weighs each row by its sample weight. A row
//! of weight 0 takes no part in any tree.

use alloc::{format, vec::Vec};

use serde::{Deserialize, Serialize};

use crate::error::{ForestError, Result};
use crate::rng::Rng;

/// Checks `n_rows` sample weights: each finite and either 0 or a normal
/// positive number (1/w is then finite), and not all 0.
pub fn check_sample_weight(weights: &[f64], n_rows: usize) -> Result<()> {
    let bad = |m: alloc::string::String| Err(ForestError::InvalidData(m));
    if weights.len() != n_rows {
        return bad(format!(
            "sample_weight has {} values, expected one per row ({n_rows})",
            weights.len()
        ));
    }
    let wrong = |w: f64| !(w == 0.0 || w.is_normal() && w > 0.0);
    if let Some(i) = weights.iter().position(|&w| wrong(w)) {
        return bad(format!(
            "sample weight of row {i} is {:?}, expected 0 or a positive finite number (at least {:e})",
            weights[i],
            f64::MIN_POSITIVE
        ));
    }
    if weights.iter().all(|&w| w == 0.0) {
        return bad("every sample weight is 0: no row to train on".into());
    }
    Ok(())
}

/// What a forest keeps of the sample weights it was trained with: enough
/// to tell, when its bootstrap samples are drawn again (the out-of-bag
/// estimate), whether the weights given are those.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainedWeights {
    /// Their sum ([`numpy_sum`]).
    pub total: f64,
    /// FNV-1a (64-bit) of their bits, row after row.
    pub digest: u64,
}

impl TrainedWeights {
    pub fn of(weights: &[f64]) -> TrainedWeights {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in weights.iter().flat_map(|w| w.to_bits().to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        TrainedWeights {
            total: numpy_sum(weights),
            digest: h,
        }
    }
}

/// `np.sum` of a float64 array: numpy's pairwise summation (blocks of 128
/// summed with eight accumulators, halves added recursively), so that
/// totals scikit-learn derives from it (`max_samples` as a fraction,
/// `min_weight_fraction_leaf`) come out to the bit.
pub fn numpy_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        // numpy starts from -0.0 here, so that an empty or all -0.0 sum is -0.0.
        return a.iter().fold(-0.0, |s, &x| s + x);
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for (k, rk) in r.iter_mut().enumerate() {
                *rk += a[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[i..] {
            res += x;
        }
        return res;
    }
    let mut half = n / 2;
    half -= half % 8;
    numpy_sum(&a[..half]) + numpy_sum(&a[half..])
}

/// How a bootstrap draw picks its row: uniformly, or in proportion to the
/// sample weights.
#[derive(Debug, Clone)]
pub enum Draw {
    Uniform {
        n_rows: usize,
    },
    /// numpy's `choice` with `p = w / np.sum(w)`: `cdf = p.cumsum()`,
    /// `cdf /= cdf[-1]`; a uniform `u` in [0, 1) picks the first row whose
    /// `cdf` exceeds it (`searchsorted(side="right")`), so a row of weight 0
    /// is never drawn.
    Weighted {
        cdf: Vec<f64>,
    },
}

impl Draw {
    pub fn new(n_rows: usize, sample_weight: Option<&[f64]>) -> Draw {
        let Some(w) = sample_weight else {
            return Draw::Uniform { n_rows };
        };
        let total = numpy_sum(w);
        let mut sum = 0.0;
        let mut cdf: Vec<f64> = w
            .iter()
            .map(|&x| {
                sum += x / total;
                sum
            })
            .collect();
        let last = cdf[cdf.len() - 1];
        cdf.iter_mut().for_each(|c| *c /= last);
        Draw::Weighted { cdf }
    }

    /// The row a weighted draw of `u`, uniform in [0, 1), picks.
    #[inline]
    pub(crate) fn pick(cdf: &[f64], u: f64) -> usize {
        // `u < 1 = cdf[last]`: some row's cdf exceeds it.
        cdf.partition_point(|&c| c <= u)
    }

    /// One draw with the crate's generator.
    #[inline]
    pub fn next(&self, rng: &mut Rng) -> usize {
        match self {
            Draw::Uniform { n_rows } => rng.below(*n_rows as u64) as usize,
            Draw::Weighted { cdf } => Draw::pick(cdf, rng.unit()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_sum_is_pairwise() {
        // np.sum(1.0 / np.arange(1, n + 1)) for each n (numpy 2.4.6); a
        // left-to-right sum differs from it for 129, 300 and 1000.
        for (n, sum) in [
            (7, 2.5928571428571425),
            (20, 3.597739657143682),
            (100, 5.187377517639621),
            (129, 5.440899030573669),
            (300, 6.282663880299504),
            (1000, 7.485470860550345),
        ] {
            let a: Vec<f64> = (1..=n).map(|i| 1.0 / f64::from(i)).collect();
            assert_eq!(numpy_sum(&a), sum, "n = {n}");
        }
    }

    #[test]
    fn weights_are_checked() {
        assert!(check_sample_weight(&[1.0, 0.0, 2.5], 3).is_ok());
        for (w, text) in [
            (&[1.0, -1.0][..], "row 1 is -1"),
            (&[f64::NAN, 1.0], "row 0 is NaN"),
            (&[1.0, f64::INFINITY], "row 1 is inf"),
            (&[1.0, 1e-310], "row 1 is 1e-310"),
            (&[0.0, 0.0], "every sample weight is 0"),
            (&[1.0], "1 values, expected one per row (2)"),
        ] {
            let e = check_sample_weight(w, 2).unwrap_err().to_string();
            assert!(e.contains(text), "{e}");
        }
    }

    #[test]
    fn weighted_draws_skip_rows_of_weight_zero() {
        let draw = Draw::new(4, Some(&[0.0, 1.0, 0.0, 3.0]));
        let mut rng = Rng::new(7);
        let mut counts = [0usize; 4];
        (0..4000).for_each(|_| counts[draw.next(&mut rng)] += 1);
        assert_eq!((counts[0], counts[2]), (0, 0));
        assert!((800..1200).contains(&counts[1]), "{counts:?}");
    }
}
