//! Squared-error criterion (scikit-learn's `MSE` criterion, single output).

use alloc::{format, string::String};

/// Largest `max |target| × rows` training accepts. A tree's weights add up
/// to at most the row count, so every weighted sum of a node stays below
/// this, its square below 1e300, and every proxy is a finite number: the
/// split scan needs no NaN or infinity guard (a check on every position;
/// its cost is in docs/performance.md), and no leaf mean overflows.
pub const MAX_TARGET_SUM: f64 = 1e150;

/// The largest |target| accepted with `n_rows` rows.
pub fn target_limit(n_rows: usize) -> f64 {
    MAX_TARGET_SUM / n_rows.max(1) as f64
}

/// The first row whose target is beyond [`target_limit`], if any.
pub fn first_target_beyond_limit(targets: &[f64]) -> Option<usize> {
    let limit = target_limit(targets.len());
    targets.iter().position(|y| y.abs() > limit)
}

/// Why such a target is refused (for messages that name the row their own way).
pub fn target_range_text(n_rows: usize) -> String {
    format!(
        "with {n_rows} rows, targets must lie within ±{:.3e} (beyond, squared-error sums overflow): scale the target down",
        target_limit(n_rows)
    )
}

/// Weighted sums of the targets of a set of rows. Weights are bootstrap draw
/// counts, hence integers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sums {
    /// Σ w.
    pub weight: u32,
    /// Σ w·y.
    pub sum: f64,
}

impl Sums {
    #[inline]
    pub fn add(&mut self, w: u32, wy: f64) {
        self.weight += w;
        self.sum += wy;
    }

    #[inline]
    pub fn minus(self, other: Sums) -> Sums {
        Sums {
            weight: self.weight - other.weight,
            sum: self.sum - other.sum,
        }
    }

    pub fn mean(self) -> f64 {
        self.sum / f64::from(self.weight)
    }
}

/// sklearn's `proxy_impurity_improvement`: for a fixed parent, ranking splits by
/// `sum_l²/w_l + sum_r²/w_r` ranks them exactly as the weighted impurity
/// decrease does, at a fraction of the cost. `inverse[k]` is `1/k`.
#[inline]
pub fn proxy_improvement(left: Sums, right: Sums, inverse: &[f64]) -> f64 {
    left.sum * left.sum * inverse[left.weight as usize]
        + right.sum * right.sum * inverse[right.weight as usize]
}

/// [`proxy_improvement`] without the table, for the few, large nodes of the
/// histogram splitter: the same bits, since the table holds `1.0 / k`.
#[inline]
pub fn proxy_improvement_computed(left: Sums, right: Sums) -> f64 {
    left.sum * left.sum * (1.0 / f64::from(left.weight))
        + right.sum * right.sum * (1.0 / f64::from(right.weight))
}
