//! What `compare` measured: tidy rows (one per system, dataset, phase and
//! run, as sightglass keeps them), the summary table, the JSON report, and
//! how it is printed. `plot` draws from it too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::stats::{Summary, mib, ms};

/// One measurement: sightglass-style tidy row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub system: String,
    pub dataset: String,
    pub phase: String,
    pub iteration: u32,
    pub seconds: f64,
}

/// One line of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SystemSummary {
    pub system: String,
    pub device: String,
    /// `None` for a system that only predicts (wasm-gpu).
    pub train_median_s: Option<f64>,
    pub predict_median_s: f64,
    pub mse: f64,
    /// Peak memory attributable to the system, and what it measures.
    pub peak_memory_bytes: Option<u64>,
    pub memory_kind: String,
    /// scikit-learn n_jobs=1 median / this system's median (> 1: faster).
    pub train_speedup_vs_sklearn_1: Option<f64>,
    pub predict_speedup_vs_sklearn_1: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CompareReport {
    pub dataset: String,
    pub train_csv: PathBuf,
    pub test_csv: PathBuf,
    pub n_train: usize,
    pub n_test: usize,
    pub n_features: usize,
    pub params: forest::Params,
    pub repeat: u32,
    pub systems: Vec<SystemSummary>,
    /// Systems that could not run here, with the reason.
    pub skipped: Vec<(String, String)>,
    pub rows: Vec<Row>,
    pub wasm_native_train_ratio: Option<f64>,
    pub model_bytes_identical: Option<bool>,
    /// The sandbox's test predictions against scikit-learn's (n_jobs=1).
    pub same_as_sklearn: Option<SameAsSklearn>,
    /// The wasm row's memory: the larger of the training workers together
    /// and the prediction instances together.
    pub peak_guest_memory_bytes: u64,
    /// Training: the largest peak of one worker instance (its data plus one
    /// piece of trees) and all workers together. No instance holds the whole
    /// model while training: the host merges the parts.
    pub peak_guest_memory_train_worker_bytes: u64,
    pub peak_guest_memory_train_bytes: u64,
    /// The prediction instances together (each holds the model).
    pub peak_guest_memory_inference_bytes: u64,
    pub host_peak_rss_bytes: Option<u64>,
    pub cpu_count: usize,
}

/// Whether the sandbox's model is scikit-learn's: the largest difference
/// between their predictions of the test set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SameAsSklearn {
    pub max_abs_difference: f64,
    /// Every prediction equal, to the last bit.
    pub identical: bool,
    pub rows: usize,
}

impl SameAsSklearn {
    pub fn new(ours: &[f64], theirs: &[f64]) -> Option<SameAsSklearn> {
        (ours.len() == theirs.len()).then(|| SameAsSklearn {
            max_abs_difference: ours
                .iter()
                .zip(theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max),
            identical: ours
                .iter()
                .zip(theirs)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            rows: ours.len(),
        })
    }

    /// The report's line about it; `splitter` is the one the sandbox used.
    pub fn line(&self, splitter: forest::SplitterKind) -> String {
        let how = format!(
            "max |difference| {:.3e} over {} test rows",
            self.max_abs_difference, self.rows
        );
        match (self.identical, splitter) {
            (true, _) => {
                format!("the sandbox's model is scikit-learn's: every prediction equal ({how})")
            }
            (false, forest::SplitterKind::Sklearn) => format!(
                "the sandbox's model is NOT scikit-learn's ({how}), although --splitter sklearn should grow its trees"
            ),
            (false, s) => format!(
                "the sandbox's model is not scikit-learn's ({how}): --splitter {s} draws its own random numbers; --splitter sklearn grows scikit-learn's very trees"
            ),
        }
    }
}

/// One feature's impurity-based importance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Importance {
    pub feature: String,
    pub importance: f64,
}

/// A (name, importance) pair of `cli_common::importances`.
impl From<(String, f64)> for Importance {
    fn from((feature, importance): (String, f64)) -> Importance {
        Importance {
            feature,
            importance,
        }
    }
}

/// Statistics of one system's runs of one phase, if it has any.
pub fn phase_summary(rows: &[Row], system: &str, phase: &str) -> Option<Summary> {
    let runs: Vec<Duration> = rows
        .iter()
        .filter(|r| r.system == system && r.phase == phase)
        .map(|r| Duration::from_secs_f64(r.seconds))
        .collect();
    (!runs.is_empty()).then(|| Summary::of(&runs))
}

pub fn print_report(r: &CompareReport, model_path: &Path) {
    println!();
    println!("=== RESULTS: {} ===", r.dataset);
    // As wide as the longest device (adapter names run long).
    let dw = r
        .systems
        .iter()
        .map(|s| s.device.chars().count())
        .fold(36, usize::max);
    println!(
        "{:<12} {:<dw$} {:>11} {:>11} {:>11} {:>28} {:>9} {:>9}",
        "system", "device", "train", "predict", "MSE", "peak memory", "train x", "predict x"
    );
    for s in &r.systems {
        let mem = s
            .peak_memory_bytes
            .map_or_else(|| "n/a".into(), |b| format!("{} {}", mib(b), s.memory_kind));
        let x = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}"));
        println!(
            "{:<12} {:<dw$} {:>11} {:>11} {:>11.4} {:>28} {:>9} {:>9}",
            s.system,
            s.device,
            s.train_median_s.map_or_else(|| "-".into(), ms),
            ms(s.predict_median_s),
            s.mse,
            mem,
            x(s.train_speedup_vs_sklearn_1),
            x(s.predict_speedup_vs_sklearn_1)
        );
    }
    for (system, reason) in &r.skipped {
        println!("{system:<12} skipped: {reason}");
    }
    if let Some(same) = &r.same_as_sklearn {
        println!("{}", same.line(r.params.splitter));
    }
    println!(
        "(train x / predict x: scikit-learn n_jobs=1 median divided by the system's; above 1 is faster)"
    );
    println!();
    println!("wasm phases (median of {}):", r.repeat);
    let mut phases: Vec<&str> = Vec::new();
    for row in r.rows.iter().filter(|row| row.system == "wasm") {
        if !phases.contains(&row.phase.as_str()) {
            phases.push(&row.phase);
        }
    }
    for phase in phases {
        if let Some(s) = phase_summary(&r.rows, "wasm", phase) {
            println!("  {phase:<30} {}", s.describe());
        }
    }
    if let Some(ratio) = r.wasm_native_train_ratio {
        println!("wasm/native training time: {ratio:.2}x");
    }
    println!(
        "wasm peak guest memory: training {} per worker instance ({} together), inference {}",
        mib(r.peak_guest_memory_train_worker_bytes),
        mib(r.peak_guest_memory_train_bytes),
        mib(r.peak_guest_memory_inference_bytes),
    );
    if let Some(same) = r.model_bytes_identical {
        println!(
            "wasm and native model bytes: {}",
            if same { "identical" } else { "DIFFERENT" }
        );
    }
    if let Some(rss) = r.host_peak_rss_bytes {
        println!("host process peak RSS: {}", mib(rss));
    }
    println!("model file: {}", model_path.display());
}

/// Parses a report written with `--json` (used by tests and tools).
pub fn read_report(path: &Path) -> Result<CompareReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}
