//! Deterministic synthetic regression data: scikit-learn's `make_friedman1/2/3`
//! formulas, drawn from this crate's fixed PRNG and written to CSV so that the
//! Python reference reads the very same rows.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use forest::rng::Rng;

use crate::fsio::write_streamed;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Friedman {
    One,
    Two,
    Three,
}

/// `--synthetic friedman1:N[:NOISE]`: N training rows (plus N/4 test rows,
/// or `--test-rows`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    pub kind: Friedman,
    pub n_rows: usize,
    /// Standard deviation of the Gaussian noise added to y (sklearn's `noise`, default 0).
    pub noise: f64,
    /// Test rows, when not N/4 (`--test-rows`).
    pub n_test: Option<usize>,
}

impl std::str::FromStr for Spec {
    type Err = String;

    fn from_str(s: &str) -> Result<Spec, String> {
        let usage = || {
            format!(
                "expected friedman1:N, friedman2:N or friedman3:N (optionally :NOISE), got '{s}'"
            )
        };
        let mut parts = s.split(':');
        let kind = match parts.next() {
            Some("friedman1") => Friedman::One,
            Some("friedman2") => Friedman::Two,
            Some("friedman3") => Friedman::Three,
            _ => return Err(usage()),
        };
        let n_rows: usize = parts
            .next()
            .and_then(|n| n.replace('_', "").parse().ok())
            .ok_or_else(usage)?;
        if !(2..=100_000_000).contains(&n_rows) {
            return Err(format!(
                "the number of rows must be in 2..=100000000, got {n_rows}"
            ));
        }
        let noise = match parts.next() {
            None => 0.0,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(usage)?,
        };
        if parts.next().is_some() {
            return Err(usage());
        }
        Ok(Spec {
            kind,
            n_rows,
            noise,
            n_test: None,
        })
    }
}

impl Spec {
    pub fn name(&self) -> String {
        let base = match self.kind {
            Friedman::One => "friedman1",
            Friedman::Two => "friedman2",
            Friedman::Three => "friedman3",
        };
        let mut name = format!("{base}_{}", self.n_rows);
        if self.noise != 0.0 {
            name += &format!("_noise{}", self.noise);
        }
        if let Some(t) = self.n_test {
            name += &format!("_test{t}");
        }
        name
    }

    pub fn n_features(&self) -> usize {
        match self.kind {
            Friedman::One => 10,
            Friedman::Two | Friedman::Three => 4,
        }
    }

    /// Refuses, before anything is written, data whose cells (8 bytes each
    /// once read back) would not fit in `budget` bytes.
    pub fn check_fits(&self, budget: u64) -> Result<()> {
        let cols = self.n_features() as u64 + 1;
        for (what, rows) in [("training", self.n_rows), ("test", self.test_rows())] {
            let bytes = (rows as u64).saturating_mul(cols * 8);
            if bytes > budget {
                bail!(
                    "--synthetic {}: its {what} rows would take {} MiB of memory once read, beyond the {} MiB limit of this job (--max-memory; a sandbox addresses at most 4096 MiB): use fewer rows",
                    self.name(),
                    bytes >> 20,
                    budget >> 20
                );
            }
        }
        Ok(())
    }

    pub fn test_rows(&self) -> usize {
        self.n_test.unwrap_or(self.n_rows / 4).max(1)
    }
}

fn uniform(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn normal(rng: &mut Rng) -> f64 {
    // Box–Muller; 1 - u keeps the logarithm finite.
    let u = 1.0 - uniform(rng);
    let v = uniform(rng);
    (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
}

/// The target of one row, exactly sklearn's formulas.
pub fn target(kind: Friedman, x: &[f64]) -> f64 {
    match kind {
        Friedman::One => {
            10.0 * (PI * x[0] * x[1]).sin() + 20.0 * (x[2] - 0.5).powi(2) + 10.0 * x[3] + 5.0 * x[4]
        }
        Friedman::Two => (x[0].powi(2) + (x[1] * x[2] - 1.0 / (x[1] * x[3])).powi(2)).sqrt(),
        Friedman::Three => ((x[1] * x[2] - 1.0 / (x[1] * x[3])) / x[0]).atan(),
    }
}

/// `n` rows as CSV text. Features are rounded to f32 first (the precision every
/// system trains on) and the target is computed from the rounded values.
pub fn csv(spec: &Spec, n: usize, seed: u64) -> String {
    let mut out = Vec::with_capacity(n * spec.n_features() * 12);
    write_csv(&mut out, spec, n, seed).expect("writing to memory");
    String::from_utf8(out).expect("numbers are ASCII")
}

/// [`csv`], written to `out` row by row.
pub fn write_csv(
    out: &mut dyn std::io::Write,
    spec: &Spec,
    n: usize,
    seed: u64,
) -> std::io::Result<()> {
    let header: Vec<String> = (0..spec.n_features()).map(|i| format!("x{i}")).collect();
    writeln!(out, "{},target", header.join(","))?;
    let mut result = Ok(());
    each_row(spec, n, seed, |x, y| {
        if result.is_ok() {
            result = (|| {
                for v in x {
                    write!(out, "{v},")?;
                }
                writeln!(out, "{y}")
            })();
        }
    });
    result
}

/// `n` rows in memory: row-major f32 features and f64 targets, the values
/// [`csv`] writes.
pub fn rows(spec: &Spec, n: usize, seed: u64) -> (Vec<f32>, Vec<f64>) {
    let (mut features, mut targets) = (Vec::with_capacity(n * spec.n_features()), Vec::new());
    each_row(spec, n, seed, |x, y| {
        features.extend(x.iter().map(|&v| v as f32));
        targets.push(y);
    });
    (features, targets)
}

/// Calls `row(features, target)` for `n` rows drawn from `seed`. Features
/// are rounded to f32 first (the precision every system trains on) and the
/// target is computed from the rounded values.
fn each_row(spec: &Spec, n: usize, seed: u64, mut row: impl FnMut(&[f64], f64)) {
    let mut rng = Rng::new(seed);
    let mut x = vec![0f64; spec.n_features()];
    for _ in 0..n {
        for v in x.iter_mut() {
            *v = uniform(&mut rng);
        }
        if spec.kind != Friedman::One {
            x[0] *= 100.0;
            x[1] = x[1] * 520.0 * PI + 40.0 * PI;
            x[3] = x[3] * 10.0 + 1.0;
        }
        for v in x.iter_mut() {
            *v = f64::from(*v as f32);
        }
        row(&x, target(spec.kind, &x) + spec.noise * normal(&mut rng));
    }
}

/// `<dir>/<name>_train.csv` and `<dir>/<name>_test.csv`.
pub fn paths(spec: &Spec, dir: &Path) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{}_train.csv", spec.name())),
        dir.join(format!("{}_test.csv", spec.name())),
    )
}

/// Writes [`paths`]: the training CSV (N rows) and the test CSV
/// (`test_rows()`, another stream), and returns their paths.
pub fn write(spec: &Spec, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    if spec.n_rows < 2 {
        bail!("a synthetic dataset needs at least 2 rows");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (train, test) = paths(spec, dir);
    write_streamed(&train, |w| write_csv(w, spec, spec.n_rows, 0x5EED_0001))?;
    write_streamed(&test, |w| write_csv(w, spec, spec.test_rows(), 0x5EED_0002))?;
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_match_scikit_learn_by_hand() {
        // Values computed by hand from sklearn's make_friedman* definitions.
        let x = [0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0];
        // 10 sin(pi/4) + 0 + 5 + 2.5
        assert!((target(Friedman::One, &x) - (10.0 * (PI / 4.0).sin() + 7.5)).abs() < 1e-12);
        let x = [3.0, 1.0, 4.0, 0.5];
        // sqrt(9 + (4 - 2)^2) = sqrt(13); atan((4 - 2) / 3)
        assert!((target(Friedman::Two, &x) - 13f64.sqrt()).abs() < 1e-12);
        assert!((target(Friedman::Three, &x) - (2.0f64 / 3.0).atan()).abs() < 1e-12);
    }

    #[test]
    fn rows_follow_the_formulas_and_ranges() {
        for (name, lo, hi) in [("friedman1:50", 0.0, 1.0), ("friedman2:50", 0.0, 100.0)] {
            let spec: Spec = name.parse().unwrap();
            let text = csv(&spec, 50, 1);
            let mut lines = text.lines();
            assert!(lines.next().unwrap().ends_with(",target"));
            for line in lines {
                let v: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
                let (y, x) = v.split_last().unwrap();
                assert!((lo..=hi).contains(&x[0]), "{name}: {line}");
                assert!(
                    x.iter().all(|&a| f64::from(a as f32) == a),
                    "features are f32 values"
                );
                assert_eq!(*y, target(spec.kind, x), "{name}: {line}");
            }
        }
        assert_eq!(
            csv(&"friedman3:10".parse().unwrap(), 10, 3),
            csv(&"friedman3:10".parse().unwrap(), 10, 3)
        );
    }

    #[test]
    fn spec_parsing() {
        assert_eq!("friedman1:100_000".parse::<Spec>().unwrap().n_rows, 100_000);
        assert_eq!("friedman2:10:1.5".parse::<Spec>().unwrap().noise, 1.5);
        assert!("friedman4:10".parse::<Spec>().is_err());
        assert!("friedman1".parse::<Spec>().is_err());
        assert!("friedman1:1".parse::<Spec>().is_err());
    }
}
