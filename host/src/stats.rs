//! Summary statistics over repeated timings.

use std::time::Duration;

use serde::Serialize;

/// Seconds of each run, and their min / median / max.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub runs_s: Vec<f64>,
    pub min_s: f64,
    pub median_s: f64,
    pub max_s: f64,
}

impl Summary {
    pub fn of(runs: &[Duration]) -> Summary {
        assert!(!runs.is_empty(), "a summary needs at least one run");
        let runs_s: Vec<f64> = runs.iter().map(Duration::as_secs_f64).collect();
        let mut sorted = runs_s.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median_s = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Summary {
            min_s: sorted[0],
            median_s,
            max_s: sorted[n - 1],
            runs_s,
        }
    }

    /// "12.3 ms (median of 5; min 11.9, max 13.0)".
    pub fn describe(&self) -> String {
        if self.runs_s.len() == 1 {
            return ms(self.median_s);
        }
        format!(
            "{} (median of {}; min {}, max {})",
            ms(self.median_s),
            self.runs_s.len(),
            ms(self.min_s),
            ms(self.max_s)
        )
    }
}

/// Seconds as milliseconds with sensible precision.
pub fn ms(s: f64) -> String {
    let m = s * 1e3;
    if m >= 100.0 {
        format!("{m:.0} ms")
    } else if m >= 1.0 {
        format!("{m:.2} ms")
    } else {
        format!("{m:.3} ms")
    }
}

/// Bytes as MiB with one decimal, as memory figures are printed.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// A size in bytes, kB or MB (powers of 10, as the MB/s rates) with three
/// significant digits, so a 400-byte file is not "0.0 MB".
pub fn mb(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..999_500 => format!("{} kB", three_digits(bytes as f64 / 1e3)),
        _ => format!("{} MB", three_digits(bytes as f64 / 1e6)),
    }
}

/// A read rate in MB/s, with the same precision as [`mb`].
pub fn mb_per_s(bytes: u64, seconds: f64) -> String {
    format!("{} MB/s", three_digits(bytes as f64 / 1e6 / seconds))
}

/// Trees a second, with the same precision (a large forest grows at 1.19
/// trees/s, not "1").
pub fn trees_per_s(trees: u32, seconds: f64) -> String {
    format!("{} trees/s", three_digits(f64::from(trees) / seconds))
}

fn three_digits(v: f64) -> String {
    if !v.is_finite() {
        "-".to_string()
    } else if v >= 99.95 {
        format!("{v:.0}")
    } else if v >= 9.995 {
        format!("{v:.1}")
    } else if v >= 0.9995 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// "1 worker", "2 workers".
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub fn mse(predictions: &[f64], targets: &[f64]) -> f64 {
    predictions
        .iter()
        .zip(targets)
        .map(|(p, t)| (p - t) * (p - t))
        .sum::<f64>()
        / predictions.len() as f64
}

/// The smallest size from which the GPU is faster at every larger size, of
/// `(size, cpu seconds, gpu seconds)` in increasing size.
pub fn crossover(
    sizes: impl DoubleEndedIterator<Item = (usize, f64, Option<f64>)>,
) -> Option<usize> {
    let mut from = None;
    for (size, cpu, gpu) in sizes.rev() {
        match gpu {
            Some(g) if g < cpu => from = Some(size),
            _ => break,
        }
    }
    from
}

/// The mean and the standard deviation over `values.len()` (numpy's `std`,
/// what scikit-learn reports as `importances_std`).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crossover_is_where_the_gpu_wins_from_on() {
        let c = |rows: &[(usize, f64, Option<f64>)]| crossover(rows.iter().copied());
        // Wins at the two largest sizes only.
        assert_eq!(
            c(&[
                (1, 1.0, Some(2.0)),
                (10, 1.0, Some(0.5)),
                (100, 1.0, Some(0.1))
            ]),
            Some(10)
        );
        // A win below a loss does not count: the GPU must win at every larger size.
        assert_eq!(c(&[(1, 1.0, Some(0.5)), (10, 1.0, Some(2.0))]), None);
        assert_eq!(c(&[(1, 1.0, Some(0.5)), (10, 1.0, Some(0.9))]), Some(1));
        // Ties and missing GPU figures are not wins.
        assert_eq!(c(&[(1, 1.0, Some(1.0))]), None);
        assert_eq!(c(&[(1, 1.0, None)]), None);
        assert_eq!(c(&[]), None);
    }

    #[test]
    fn median_of_odd_and_even() {
        let d = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        let s = Summary::of(&d(&[5, 1, 3]));
        assert_eq!((s.min_s, s.median_s, s.max_s), (0.001, 0.003, 0.005));
        assert_eq!(Summary::of(&d(&[4, 1, 3, 2])).median_s, 0.0025);
    }

    #[test]
    fn sizes_and_rates_keep_three_digits() {
        assert_eq!(mb(400), "400 bytes");
        assert_eq!(mb(48_000), "48.0 kB");
        assert_eq!(mb(999_999), "1.00 MB");
        assert_eq!(mb(1_234_567), "1.23 MB");
        assert_eq!(mb(131_000_000), "131 MB");
        assert_eq!(mb(99_960_000), "100 MB");
        assert_eq!(mb_per_s(50, 0.0001), "0.500 MB/s");
        assert_eq!(mb_per_s(159_000_000, 1.0), "159 MB/s");
        assert_eq!(mb_per_s(1, 0.0), "- MB/s");
        assert_eq!(trees_per_s(100, 83.83), "1.19 trees/s");
        assert_eq!(trees_per_s(200, 0.0497), "4024 trees/s");
    }

    #[test]
    fn mse_by_hand() {
        assert_eq!(mse(&[1.0, 2.0], &[0.0, 4.0]), 2.5);
    }
}
