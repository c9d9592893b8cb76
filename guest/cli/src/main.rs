//! The command component (`wasi:cli/run`): the forest for the plain wasmtime
//! CLI. Same forest code, same CSV loader and the same flags as the host;
//! files come through WASI preopens, times from WASI clocks. It imports
//! nothing the wasmtime CLI lacks, so inference is CPU only.
//!
//!     wasmtime run --dir data target/wasm-guest/wasm32-wasip2/guest/forest-cli.wasm bench

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use cli_common::data;
use cli_common::forest_args::ForestArgs;
use cli_common::outputs::{check_outputs, is_stdout, require_file};

mod write;
use write::write_output;

#[derive(Parser)]
#[command(
    name = "forest-cli",
    version,
    about = "wasm-forest as a WASI command: random-forest regression under the plain wasmtime CLI",
    after_help = "Files are reached through WASI: give access with wasmtime's --dir, e.g.\n  \
                  wasmtime run --dir data forest-cli.wasm bench"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on one CSV and evaluate on another (defaults: diabetes, 200 trees, max_depth 16, seed 42).
    Bench {
        #[arg(long, default_value = "data/diabetes_train.csv")]
        train: PathBuf,
        #[arg(long, default_value = "data/diabetes_test.csv")]
        test: PathBuf,
        /// Target column [default: the last column].
        #[arg(long)]
        target: Option<String>,
        #[command(flatten)]
        forest: ForestArgs,
        /// Where to save the model, a file: bench reads it back [default:
        /// model_<name>_wasm.bin beside the training CSV]. Never one of the inputs.
        #[arg(long)]
        model_out: Option<PathBuf>,
    },
    /// Train and save a model file (the host's format).
    Train {
        #[arg(long)]
        train: PathBuf,
        #[arg(long)]
        target: Option<String>,
        /// Column of sample weights (scikit-learn's sample_weight): each 0 or
        /// positive; not a feature. With bootstrap they choose the draws.
        #[arg(long, value_name = "COLUMN")]
        weight: Option<String>,
        /// Where to save the model: a file (replaced atomically), a device or
        /// FIFO (written as a stream), or - for standard output (the status
        /// line then goes to standard error). Never one of the inputs.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        forest: ForestArgs,
    },
    /// Predict with a model file; prints the MSE when the input has the target column.
    Predict {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        target: Option<String>,
        /// Write predictions here, as CSV: a file (replaced atomically), a
        /// device or FIFO, or - [default: standard output]. Never one of the
        /// inputs.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show what a model file holds.
    Info { model: PathBuf },
}

fn ms(since: Instant) -> String {
    format!("{:.2} ms", since.elapsed().as_secs_f64() * 1e3)
}

/// Cells of a CSV this component reads at most: half of what a wasm32
/// memory addresses, the other half being for the forest.
fn csv_options() -> data::ReadOptions {
    data::ReadOptions::all(2 << 30)
}

fn train_from(
    path: &Path,
    (target, weight): (Option<&str>, Option<&str>),
    params: &forest::Params,
) -> Result<(forest::Forest, data::Xy)> {
    let xy = data::read_csv(path, &csv_options())?.for_training(target, weight)?;
    if xy.n_rows < 2 {
        bail!(
            "{}: {} data row; training needs at least 2",
            path.display(),
            xy.n_rows
        );
    }
    let targets = xy.targets.as_deref().context("no target column")?;
    let mut ds = forest::Dataset::new(xy.n_rows, xy.n_features(), &xy.features, targets)?;
    if let Some((_, w)) = &xy.weights {
        ds = ds.with_sample_weight(w)?;
    }
    let mut model = forest::train(&ds, params, Some(xy.feature_names.clone()))?;
    model.target_name = xy.target_name.clone();
    Ok((model, xy))
}

fn load(path: &Path) -> Result<forest::Forest> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read model file {}", path.display()))?;
    forest::model::from_bytes(&bytes)
        .with_context(|| format!("{} is not a usable model", path.display()))
}

fn mse(p: &[f64], t: &[f64]) -> f64 {
    p.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / p.len() as f64
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Bench {
            train,
            test,
            target,
            forest,
            model_out,
        } => bench(&train, &test, target.as_deref(), &forest, model_out),
        Command::Train {
            train,
            target,
            weight,
            out,
            forest,
        } => train_cmd(
            &train,
            (target.as_deref(), weight.as_deref()),
            &out,
            &forest,
        ),
        Command::Predict {
            model,
            input,
            target,
            out,
        } => predict(&model, &input, target.as_deref(), out.as_deref()),
        Command::Info { model } => info(&model),
    }
}

/// model_<name>_wasm.bin beside the training CSV `<name>_train.csv`.
fn default_model_path(train: &Path) -> PathBuf {
    let stem = train
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = stem.strip_suffix("_train").unwrap_or(&stem).to_string();
    train.with_file_name(format!("model_{name}_wasm.bin"))
}

/// The diabetes benchmark's two phases, on the CPU in this component.
fn bench(
    train: &Path,
    test: &Path,
    target: Option<&str>,
    forest: &ForestArgs,
    model_out: Option<PathBuf>,
) -> Result<()> {
    let params = forest.params(200, Some(16));
    let path = model_out.unwrap_or_else(|| default_model_path(train));
    require_file(&path, "--model-out", "bench reads the model back")?;
    check_outputs(
        &[("--train", train.into()), ("--test", test.into())],
        &[("--model-out", path.clone())],
        &[],
    )?;
    println!("=== TRAINING PHASE ===");
    println!(
        "[TRAINING] Creating RandomForest with {} estimators, max_depth {}",
        params.n_estimators,
        params
            .max_depth
            .map_or_else(|| "none".into(), |d| d.to_string())
    );
    println!("[TRAINING] Training on CPU in the command component (WASI)...");
    let t = Instant::now();
    let (model, xy) = train_from(train, (target, None), &params)?;
    let bytes = forest::model::to_bytes(&model)?;
    println!(
        "[TRAINING] Completed in {} ({} rows x {} features)",
        ms(t),
        xy.n_rows,
        xy.n_features()
    );
    write_output(&path, &bytes)?;
    println!("[TRAINING] Model saved to: {}", path.display());
    println!();
    println!("=== INFERENCE PHASE ===");
    let t = Instant::now();
    let model = load(&path)?;
    println!("[INFERENCE] Model loaded in {}", ms(t));
    let test_xy = data::read_csv(test, &csv_options())?.for_prediction(
        model.n_features as usize,
        model.feature_names.as_deref(),
        xy.target_name.as_deref(),
        true,
    )?;
    let targets = test_xy
        .targets
        .as_deref()
        .with_context(|| format!("{}: no target column", test.display()))?;
    println!(
        "[INFERENCE] Running predictions on {} test samples (CPU: the plain wasmtime CLI lends no GPU)...",
        test_xy.n_rows
    );
    let t = Instant::now();
    let p = model.predict(&test_xy.features, test_xy.n_rows)?;
    println!("[INFERENCE] Samples: {}", test_xy.n_rows);
    println!("[INFERENCE] Completed in {}", ms(t));
    println!("[INFERENCE] Mean Squared Error: {:.4}", mse(&p, targets));
    Ok(())
}

fn train_cmd(
    train: &Path,
    columns: (Option<&str>, Option<&str>),
    out: &Path,
    forest: &ForestArgs,
) -> Result<()> {
    let params = forest.params(100, None);
    check_outputs(&[("--train", train.into())], &[("--out", out.into())], &[])?;
    let t = Instant::now();
    let (model, xy) = train_from(train, columns, &params)?;
    let bytes = forest::model::to_bytes(&model)?;
    write_output(out, &bytes)?;
    // With the model on standard output, the status line goes to standard error.
    let mut status: Box<dyn std::io::Write> = if is_stdout(out) {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    writeln!(
        status,
        "Trained {} trees on {} rows x {} features{} in {}; model saved to: {} ({} bytes)",
        params.n_estimators,
        xy.n_rows,
        xy.n_features(),
        data::weighted_by(&xy),
        ms(t),
        out.display(),
        bytes.len()
    )?;
    Ok(())
}

fn predict(model: &Path, input: &Path, target: Option<&str>, out: Option<&Path>) -> Result<()> {
    if let Some(out) = out {
        let inputs = [("--model", model.into()), ("--input", input.into())];
        check_outputs(&inputs, &[("--out", out.into())], &[])?;
    }
    let forest = load(model)?;
    let xy = data::read_csv(input, &csv_options())?.for_prediction(
        forest.n_features as usize,
        forest.feature_names.as_deref(),
        target.or(forest.target_name.as_deref()),
        target.is_some(),
    )?;
    let p = forest.predict(&xy.features, xy.n_rows)?;
    let mut csv = String::from("prediction\n");
    for v in &p {
        csv.push_str(&format!("{v}\n"));
    }
    match out {
        Some(path) => write_output(path, csv.as_bytes())?,
        None => print!("{csv}"),
    }
    if let (Some(t), Some(name)) = (&xy.targets, &xy.target_name) {
        eprintln!("Mean Squared Error (vs '{name}'): {:.4}", mse(&p, t));
    }
    Ok(())
}

fn info(model: &Path) -> Result<()> {
    let f = load(model)?;
    let i = f.info();
    println!("Model: {}", model.display());
    println!("Trees: {}", i.n_trees);
    println!("Nodes: {} ({} leaves)", i.n_nodes, i.n_leaves);
    println!("Max depth reached: {}", i.max_depth);
    println!("Features: {}", i.n_features);
    if let Some(names) = &f.feature_names {
        println!("Feature names: {}", names.join(", "));
    }
    if let Some(target) = &f.target_name {
        println!("Target: {target}");
    }
    if let Some(w) = &f.sample_weight {
        println!("Sample weights: total {}", w.total);
    }
    let names = f.feature_names.as_deref();
    for line in cli_common::importances::info_lines(&f.importances, names) {
        println!("{line}");
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
