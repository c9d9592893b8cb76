//! Command-line interface (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::forest_args::ForestArgs;

#[derive(Parser, Debug)]
#[command(
    name = "wasm-forest",
    version,
    about = "Random-forest regression trained and evaluated inside a WebAssembly sandbox",
    long_about = "Random-forest regression (scikit-learn's RandomForestRegressor semantics) trained and \
                  evaluated inside a sandboxed wasm32-wasip2 component run by wasmtime. The host reads CSV \
                  files, copies the data into the component, times each phase and writes model files.\n\n\
                  CSV files need a header row; the target is the column named by --target or, by default, \
                  the last column; every other column is a feature.",
    after_help = "Start with `wasm-forest bench`: the diabetes benchmark on data/diabetes_{train,test}.csv."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// Use this component file instead of the one built into the binary.
    #[arg(long, global = true, value_name = "WASM")]
    pub component: Option<PathBuf>,
    /// Linear-memory limit of the sandbox, in MiB [default: sized from the job:
    /// 256 MiB plus 16 times the data handed to the component plus room for the
    /// largest forest the parameters allow, at most 4096].
    #[arg(long, global = true, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_memory: Option<u64>,
    /// Fuel budget of each call into the sandbox (about one unit per wasm
    /// instruction): a deterministic cut-off, unlike --timeout [default: unmetered].
    #[arg(long, global = true, value_name = "UNITS", value_parser = clap::value_parser!(u64).range(1..))]
    pub fuel: Option<u64>,
    /// Wall-clock limit of each call into the sandbox, in seconds. A call that
    /// outlives it ends wasm-forest with its error and exit status 124: the
    /// sandboxed code carries no interruption checks, which would cost it
    /// about 15% of its speed.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 600.0, value_parser = parse_positive_secs)]
    pub timeout: f64,
    /// Sandboxed instances working in parallel (wasip2 has no threads): each
    /// grows a share of the trees, or predicts a share of the rows. The model
    /// bytes are the same for any count [default: the number of CPU cores].
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: Option<u32>,
    /// Compile the component every time instead of keeping the compiled code
    /// in the cache directory (WASM_FOREST_CACHE_DIR, else ~/.cache/wasm-forest
    /// or %LOCALAPPDATA%\wasm-forest), which makes later starts ~20x faster.
    #[arg(long, global = true)]
    pub no_cache: bool,
}

/// Paths a command reads and writes, each with the flag that names it.
pub type NamedPaths = Vec<(&'static str, PathBuf)>;

impl Cli {
    /// The files this command reads, those it writes (the defaults
    /// included) and the directories it makes for them, for
    /// [`crate::fsio::check_outputs`].
    pub fn files(&self) -> (NamedPaths, NamedPaths, Vec<PathBuf>) {
        let mut inputs: NamedPaths = Vec::new();
        if let Some(c) = &self.sandbox.component {
            inputs.push(("--component", c.clone()));
        }
        let mut outputs: NamedPaths = Vec::new();
        let mut made_dirs = Vec::new();
        let mut out = |flag, path: &Option<PathBuf>| {
            if let Some(p) = path {
                outputs.push((flag, p.clone()));
            }
        };
        match &self.command {
            Command::Bench(a) => {
                out("--json", &a.json);
                outputs.push(("--model-out", a.model_path()));
                inputs.extend([("--train", a.train.clone()), ("--test", a.test.clone())]);
            }
            Command::Compare(a) => {
                out("--json", &a.json);
                out("--plot", &a.plot);
                outputs.push(("--model-out", a.model_path()));
                let (train, test) = a.data_paths();
                if a.synthetic.is_some() {
                    outputs.extend([("--synthetic", train), ("--synthetic", test)]);
                    made_dirs.push(a.synthetic_dir.clone());
                } else {
                    inputs.extend([("--train", train), ("--test", test)]);
                }
            }
            Command::Train(a) => {
                out("--oob-out", &a.oob_out);
                outputs.push(("--out", a.out.clone()));
                inputs.push(("--train", a.train.clone()));
            }
            Command::Predict(a) => {
                out("--out", &a.out);
                inputs.extend([("--model", a.model.clone()), ("--input", a.input.clone())]);
            }
            Command::Info(a) => inputs.push(("model", a.model.clone())),
            Command::Importance(a) => {
                out("--json", &a.json);
                inputs.extend([("--model", a.model.clone()), ("--input", a.input.clone())]);
            }
            Command::PredictBench(a) => {
                out("--json", &a.json);
                inputs.push(("--train", a.train.clone()));
            }
            Command::TrainBench(a) => out("--json", &a.json),
        }
        (inputs, outputs, made_dirs)
    }
}

impl Command {
    /// The forest parameters a training command uses (its own defaults for
    /// trees and depth), `None` for commands that train nothing.
    pub fn params(&self) -> Option<forest::Params> {
        match self {
            Command::Bench(a) => Some(a.forest.params(200, Some(16))),
            Command::Compare(a) => Some(a.forest.params(200, Some(16))),
            Command::PredictBench(a) => Some(a.forest.params(200, Some(16))),
            Command::TrainBench(a) => Some(a.params()),
            Command::Train(a) => Some(a.forest.params(100, None)),
            Command::Predict(_) | Command::Info(_) | Command::Importance(_) => None,
        }
    }
}

impl TrainArgs {
    /// `--device gpu` with a splitter the GPU cannot grow, refused before
    /// any work (the component would refuse it after the data is loaded).
    pub fn check_device(&self) -> anyhow::Result<()> {
        let splitter = self.forest.splitter;
        if self.device == DeviceArg::Gpu && splitter != forest::SplitterKind::Level {
            anyhow::bail!(
                "--device gpu trains with --splitter level only (splitter {splitter} grows on \
                 the CPU): add --splitter level; its trees differ from {splitter}'s, and are \
                 the same bytes on the CPU and the GPU"
            );
        }
        let oob_flag = if self.oob_out.is_some() {
            "--oob-out"
        } else {
            "--oob-score"
        };
        if self.wants_oob() && !self.forest.bootstrap {
            anyhow::bail!(
                "{oob_flag} needs --bootstrap true: without bootstrap every tree sees every row, \
                 so no row is out of bag (scikit-learn: \"Out of bag estimation only available \
                 if bootstrap=True\")"
            );
        }
        let stdout = |p: &Option<PathBuf>| p.as_deref().is_some_and(crate::fsio::is_stdout);
        if crate::fsio::is_stdout(&self.out) && stdout(&self.oob_out) {
            anyhow::bail!("--out and --oob-out cannot both be standard output ('-')");
        }
        Ok(())
    }

    /// `--oob-score`, or `--oob-out` (which implies it).
    pub fn wants_oob(&self) -> bool {
        self.oob_score || self.oob_out.is_some()
    }
}

impl BenchArgs {
    /// `--model-out`, or its default beside the training CSV.
    pub fn model_path(&self) -> PathBuf {
        self.model_out.clone().unwrap_or_else(|| {
            crate::jobs::default_model_path(&self.train, &crate::jobs::dataset_name(&self.train))
        })
    }
}

impl CompareArgs {
    /// Whether system wasm-gpu is measured.
    pub fn gpu(&self) -> bool {
        !self.no_gpu && self.device != DeviceArg::Cpu
    }

    /// `--synthetic`, with `--test-rows`.
    pub fn synthetic_spec(&self) -> Option<crate::synthetic::Spec> {
        self.synthetic.map(|spec| crate::synthetic::Spec {
            n_test: self.test_rows.map(|t| t as usize),
            ..spec
        })
    }

    /// The training and test CSVs: `--train` and `--test`, or where the
    /// synthetic data is written.
    pub fn data_paths(&self) -> (PathBuf, PathBuf) {
        match self.synthetic_spec() {
            Some(spec) => crate::synthetic::paths(&spec, &self.synthetic_dir),
            None => (self.train.clone(), self.test.clone()),
        }
    }

    /// `--model-out`, or its default beside the training CSV.
    pub fn model_path(&self) -> PathBuf {
        self.model_out.clone().unwrap_or_else(|| {
            let (train, _) = self.data_paths();
            crate::jobs::default_model_path(&train, &crate::jobs::dataset_name(&train))
        })
    }
}

impl SandboxArgs {
    pub fn workers(&self) -> usize {
        self.workers
            .map_or_else(crate::parallel::default_workers, |w| w as usize)
    }
}

/// Where predictions and training run.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceArg {
    /// The component's own code, in the sandbox.
    Cpu,
    /// The host's GPU (wgpu), lent to the component through its `gpu` import;
    /// an error if there is none. Training on it needs --splitter level.
    /// WGPU_BACKEND (vulkan, metal, dx12, gl) and WGPU_ADAPTER_NAME pick the
    /// adapter.
    Gpu,
    /// The GPU for work large enough to gain from it, on a hardware adapter
    /// (never a software one such as lavapipe); else the CPU.
    Auto,
}

impl DeviceArg {
    pub fn wit(self) -> crate::runtime::Device {
        match self {
            DeviceArg::Cpu => crate::runtime::Device::Cpu,
            DeviceArg::Gpu => crate::runtime::Device::Gpu,
            DeviceArg::Auto => crate::runtime::Device::Auto,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train on one CSV and evaluate on another, all in the sandbox, timing
    /// every phase (defaults: diabetes, 200 trees, max_depth 16, seed 42).
    Bench(BenchArgs),
    /// The comparison: the sandboxed component, the same forest natively, and
    /// the Python reference (scikit-learn n_jobs=1 and -1; cuML on a CUDA GPU),
    /// phase by phase, in one table (defaults: diabetes, 200 trees, max_depth
    /// 16). Training and prediction run in rounds of every system, so that
    /// their k-th runs see the same machine.
    Compare(CompareArgs),
    /// Train a forest in the sandbox and save it as a model file.
    Train(TrainArgs),
    /// Predict with a saved model in the sandbox; prints the MSE when the input
    /// has the target column.
    Predict(PredictArgs),
    /// Show what a model file holds (loaded and validated in the sandbox).
    Info(InfoArgs),
    /// Permutation importance of a model's features on held-out data, in
    /// the sandbox, as scikit-learn's `permutation_importance` computes it:
    /// how much R² drops when one feature's column is shuffled.
    Importance(ImportanceArgs),
    /// Prediction throughput by batch size: the CPU in the sandbox against the
    /// GPU import, and the batch size from which the GPU is faster (defaults:
    /// the diabetes forest, 200 trees, max_depth 16, rows resampled from the
    /// training columns).
    PredictBench(PredictBenchArgs),
    /// Training time by rows: splitter level in the sandbox on the CPU
    /// against the same training with the GPU import, and the size from
    /// which the GPU wins (defaults: friedman1 with 1 000 to 1 000 000 rows ×
    /// 10 features, 100 trees, max_depth 16, median of 5). The two must give
    /// the same model bytes.
    TrainBench(TrainBenchArgs),
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Training CSV.
    #[arg(long, value_name = "CSV", default_value = "data/diabetes_train.csv")]
    pub train: PathBuf,
    /// Test CSV (same columns as the training CSV).
    #[arg(long, value_name = "CSV", default_value = "data/diabetes_test.csv")]
    pub test: PathBuf,
    /// Target column [default: the last column].
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    #[command(flatten)]
    pub forest: ForestArgs,
    /// Where to save the model [default: model_<name>_wasm.bin beside the
    /// training CSV, <name> being its file name without "_train.csv"].
    #[arg(long, value_name = "FILE")]
    pub model_out: Option<PathBuf>,
    /// Also write every figure as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Timed runs of training and of prediction; medians are reported.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Skip the native baseline (the same forest crate compiled for this machine).
    #[arg(long)]
    pub no_native: bool,
    /// Inference device: cpu measures the sandbox alone; gpu and auto also
    /// run the GPU import and print both side by side (auto goes on without
    /// a GPU, gpu fails).
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Training CSV.
    #[arg(
        long,
        value_name = "CSV",
        default_value = "data/diabetes_train.csv",
        conflicts_with = "synthetic"
    )]
    pub train: PathBuf,
    /// Test CSV.
    #[arg(
        long,
        value_name = "CSV",
        default_value = "data/diabetes_test.csv",
        conflicts_with = "synthetic"
    )]
    pub test: PathBuf,
    /// Generate the data instead: friedman1:N, friedman2:N or friedman3:N,
    /// optionally :NOISE (scikit-learn's make_friedman formulas; N training rows
    /// plus N/4 test rows, deterministic), written as CSV for every system.
    #[arg(long, value_name = "KIND:N[:NOISE]")]
    pub synthetic: Option<crate::synthetic::Spec>,
    /// Test rows of the synthetic data [default: a quarter of N].
    #[arg(long, value_name = "N", requires = "synthetic", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub test_rows: Option<u64>,
    /// Where synthetic CSVs are written.
    #[arg(long, value_name = "DIR", default_value = "data/synthetic")]
    pub synthetic_dir: PathBuf,
    /// Target column [default: the last column].
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    #[command(flatten)]
    pub forest: ForestArgs,
    /// Timed runs of every phase, after one warm-up run.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Write every measurement (tidy rows: system, dataset, phase, iteration,
    /// seconds) and the summary as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw grouped bars of phase medians per system as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Where to save the wasm model [default: model_<dataset>_wasm.bin beside the training CSV].
    #[arg(long, value_name = "FILE")]
    pub model_out: Option<PathBuf>,
    /// Python interpreter with scikit-learn (and optionally cuML).
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: String,
    /// Leave out the Python systems.
    #[arg(long)]
    pub no_python: bool,
    /// Leave out the native system.
    #[arg(long)]
    pub no_native: bool,
    /// The GPU import as system wasm-gpu: auto and gpu measure its
    /// prediction, and its training with --splitter level (the model must
    /// be the CPU's bytes); auto goes on without an adapter, gpu fails; cpu
    /// leaves it out.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Leave out the GPU import (the same as --device cpu).
    #[arg(long)]
    pub no_gpu: bool,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training CSV.
    #[arg(long, value_name = "CSV")]
    pub train: PathBuf,
    /// Target column [default: the last column].
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Column of sample weights (scikit-learn's sample_weight), not a
    /// feature: each 0 or a positive number (0 leaves the row out). With
    /// bootstrap, rows are drawn in proportion to their weight and a
    /// fractional --max-samples counts weight; without, each tree weighs
    /// the rows by it. --splitter level (and so the GPU) takes them only
    /// with bootstrap.
    #[arg(long, value_name = "COLUMN")]
    pub weight: Option<String>,
    /// Where to save the model: a file is replaced atomically (its mode
    /// kept), a symlink's target likewise, a device or FIFO written to; `-`
    /// is standard output (the status lines then go to stderr).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub forest: ForestArgs,
    /// Where splitter level builds its histograms: the component grows the
    /// trees either way, and the model is the same bytes on every device.
    /// gpu needs --splitter level; auto trains on a hardware GPU from
    /// WASM_FOREST_GPU_MIN_TRAIN_ROWS rows on (default 200000, an estimate)
    /// and falls back to the CPU, saying why.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// After training, estimate the model's R² on unseen rows from the
    /// training rows themselves (scikit-learn's oob_score_): each row is
    /// predicted, in the sandbox, by the trees whose bootstrap sample left it
    /// out. Needs --bootstrap true; the same figure for any --workers.
    #[arg(long)]
    pub oob_score: bool,
    /// Write each training row's out-of-bag prediction to this CSV (implies
    /// --oob-score): columns row (0 = the first data row), the target,
    /// oob_prediction (empty when every tree drew the row) and oob_trees (how
    /// many trees left it out); `-` is standard output.
    #[arg(long, value_name = "CSV")]
    pub oob_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Model file written by `train` or `bench`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// CSV with the model's feature columns (found by name; other columns are
    /// not read, whatever they hold).
    #[arg(long, value_name = "CSV")]
    pub input: PathBuf,
    /// Target column, for the MSE [default: the column the model was trained
    /// to predict, if the input has it].
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Write the predictions here as a one-column CSV (`prediction`); `-` is
    /// standard output [default: standard output].
    #[arg(long, value_name = "CSV")]
    pub out: Option<PathBuf>,
    /// Where to predict (see `bench --help`); auto picks the GPU from
    /// WASM_FOREST_GPU_MIN_ROWS rows on (default: the measured crossover).
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
}

#[derive(Args, Debug)]
pub struct PredictBenchArgs {
    /// Training CSV: the forest is trained on it, and the prediction rows are
    /// drawn from its columns.
    #[arg(long, value_name = "CSV", default_value = "data/diabetes_train.csv")]
    pub train: PathBuf,
    /// Target column [default: the last column].
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    #[command(flatten)]
    pub forest: ForestArgs,
    /// Batch sizes (rows), comma-separated.
    #[arg(
        long,
        value_name = "N,N,...",
        value_delimiter = ',',
        default_value = "1,10,100,1000,4096,10000,100000,1000000",
        value_parser = clap::value_parser!(u32).range(1..=100_000_000)
    )]
    pub sizes: Vec<u32>,
    /// Timed runs per batch size and device; medians are reported.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// cpu: leave the GPU out.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Also write the table as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl PredictBenchArgs {
    pub fn device_gpu(&self) -> bool {
        self.device != DeviceArg::Cpu
    }
}

#[derive(Args, Debug)]
pub struct TrainBenchArgs {
    /// Training rows of friedman1 (10 features, noise 1.0), comma-separated;
    /// each size is tested on a quarter as many other rows (at most 100 000).
    #[arg(
        long,
        value_name = "N,N,...",
        value_delimiter = ',',
        default_value = "1000,10000,100000,1000000",
        value_parser = clap::value_parser!(u32).range(2..=100_000_000)
    )]
    pub sizes: Vec<u32>,
    /// Number of trees.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub n_estimators: u32,
    /// Maximum tree depth, or "none".
    #[arg(long, value_name = "N|none", default_value = "16", value_parser = crate::forest_args::parse_max_depth)]
    pub max_depth: crate::forest_args::MaxDepth,
    /// Random seed.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Timed trainings per size and device, alternated; medians are reported.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// cpu: leave the GPU out; gpu fails without an adapter; auto goes on
    /// without one.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Also write the table as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl TrainBenchArgs {
    /// The forest trained at every size (splitter level).
    pub fn params(&self) -> forest::Params {
        forest::Params {
            n_estimators: self.n_estimators,
            max_depth: self.max_depth.0,
            seed: self.seed,
            splitter: forest::SplitterKind::Level,
            ..forest::Params::default()
        }
    }
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Model file.
    pub model: PathBuf,
    /// Print the model's description as one JSON object (feature
    /// importances in feature order) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ImportanceArgs {
    /// Model file written by `train` or `bench`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Held-out CSV with the model's feature columns (found by name) and the
    /// target; rows the model was trained on overstate what it learnt.
    #[arg(long, value_name = "CSV")]
    pub input: PathBuf,
    /// Target column [default: the column the model was trained to predict].
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Shuffles per feature (scikit-learn's n_repeats): the importance is
    /// their mean drop in R², the spread their standard deviation.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub repeats: u32,
    /// Seed of the shuffles (scikit-learn's random_state: the same seed
    /// shuffles the same rows as scikit-learn does).
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u32,
    /// Also write the figures, every repeat's too, as one JSON object.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

fn parse_positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v <= 1e7 => Ok(v),
        _ => Err(format!("expected a number of seconds > 0, got '{s}'")),
    }
}
