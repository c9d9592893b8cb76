//! `bench`: the product brief's two phases, measured phase by phase.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::data::{self, Xy};
use crate::fsio::write_atomic;
use crate::runtime::{Dataset, Runtime};
use crate::stats::{Summary, ms, mse};
use forest::Params;

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub train_csv: PathBuf,
    pub test_csv: PathBuf,
    pub n_train: usize,
    pub n_test: usize,
    pub n_features: usize,
    pub params: forest::Params,
    pub component_bytes: usize,
    pub compile_s: f64,
    pub link_s: f64,
    pub csv_load_s: f64,
    pub instantiate: Summary,
    /// Sandboxed training, one fresh instance per run (instantiation not included).
    pub train: Summary,
    /// The same forest crate compiled natively, same data and params.
    pub native_train: Option<Summary>,
    pub wasm_native_ratio: Option<f64>,
    pub model_bytes_identical_to_native: Option<bool>,
    pub peak_guest_memory_train_bytes: usize,
    pub model_path: PathBuf,
    pub model_bytes: usize,
    pub n_trees: u32,
    pub n_nodes: u64,
    pub max_depth_reached: u32,
    pub save_s: f64,
    /// Reading the model file and loading it into the sandbox.
    pub load_s: f64,
    pub predict: Summary,
    pub peak_guest_memory_inference_bytes: usize,
    pub mse: f64,
}

fn dataset(xy: &Xy, names: bool) -> Result<Dataset> {
    let targets = xy.targets.clone().context("no target column")?;
    Ok(Dataset {
        n_rows: u32::try_from(xy.n_rows).context("too many rows")?,
        n_features: xy.n_features() as u32,
        features: xy.features.clone(),
        targets,
        feature_names: names.then(|| xy.feature_names.clone()),
    })
}

/// Guest memory a training job may need, for the default memory cap: 16× the
/// data it is handed (copies, columns, sort orders), plus the largest forest
/// the parameters allow (nodes per tree are bounded by both 2 × rows and the
/// depth), held twice (trees and their encoding), 24 bytes a node.
pub fn training_bytes(ds: &Dataset, params: &Params) -> u64 {
    let data = 4 * ds.features.len() as u64 + 8 * ds.targets.len() as u64;
    let by_rows = 2 * u64::from(ds.n_rows);
    let by_depth = params.max_depth.map_or(u64::MAX, |d| {
        1u64.checked_shl(d.saturating_add(1)).unwrap_or(u64::MAX)
    });
    let nodes = u64::from(params.n_estimators).saturating_mul(by_rows.min(by_depth));
    data.saturating_mul(16)
        .saturating_add(nodes.saturating_mul(48))
}

/// The data the host loads and hands to the component, loaded once.
pub fn load_training(path: &Path, target: Option<&str>) -> Result<(Xy, Dataset)> {
    let table = data::read_csv(path).map_err(|e| hint_data_dir(e, path))?;
    let xy = table.for_training(target)?;
    if xy.n_rows < 2 {
        bail!(
            "{}: {} data row; training needs at least 2",
            path.display(),
            xy.n_rows
        );
    }
    let ds = dataset(&xy, true)?;
    Ok((xy, ds))
}

/// Relative default paths only work from the repository root: say so.
pub fn hint_data_dir(e: anyhow::Error, path: &Path) -> anyhow::Error {
    if path.is_relative() && !path.exists() {
        e.context(format!(
            "{} does not exist relative to {} (run from the repository root, or pass an explicit path)",
            path.display(),
            std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()
        ))
    } else {
        e
    }
}

/// Trains with the native forest crate: the model file bytes.
pub fn train_native(ds: &Dataset, params: &Params) -> Result<Vec<u8>> {
    let data = forest::Dataset::new(
        ds.n_rows as usize,
        ds.n_features as usize,
        &ds.features,
        &ds.targets,
    )?;
    let model = forest::train(&data, params, ds.feature_names.clone())?;
    Ok(forest::model::to_bytes(&model)?)
}

/// The dataset's name: the training CSV's file name without `_train.csv`.
pub fn dataset_name(train: &Path) -> String {
    let stem = train
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    stem.strip_suffix("_train").unwrap_or(&stem).to_string()
}

/// `model_<dataset>_wasm.bin` beside the training CSV.
pub fn default_model_path(train: &Path, dataset: &str) -> PathBuf {
    train.with_file_name(format!("model_{dataset}_wasm.bin"))
}

/// The test CSV, with the training set's feature columns (by name) and its
/// target column, which must be there.
pub fn load_test(path: &Path, train: &Xy) -> Result<Xy> {
    let table = data::read_csv(path).map_err(|e| hint_data_dir(e, path))?;
    let target = train.target_name.as_deref();
    let test = table.for_prediction(train.n_features(), Some(&train.feature_names), target)?;
    if test.targets.is_none() {
        bail!(
            "{}: no target column '{}'",
            path.display(),
            target.unwrap_or_default()
        );
    }
    Ok(test)
}

fn depth_text(d: Option<u32>) -> String {
    d.map_or_else(|| "none".to_string(), |d| d.to_string())
}

fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration)> {
    let t = Instant::now();
    let v = f()?;
    Ok((v, t.elapsed()))
}

pub fn run(rt: &Runtime, args: &BenchArgs) -> Result<BenchReport> {
    let params = args.forest.params(200, Some(16));
    let repeat = args.repeat as usize;
    let model_path = args
        .model_out
        .clone()
        .unwrap_or_else(|| default_model_path(&args.train, &dataset_name(&args.train)));

    let ((train_xy, train_ds, test_xy), csv_load) = timed(|| {
        let (xy, ds) = load_training(&args.train, args.target.as_deref())?;
        let test_xy = load_test(&args.test, &xy)?;
        Ok((xy, ds, test_xy))
    })?;

    println!("=== SETUP ===");
    println!(
        "[SETUP] Component: {} ({} KiB), compiled in {}, linked in {}",
        rt.component_label,
        rt.component_size / 1024,
        ms(rt.compile_time.as_secs_f64()),
        ms(rt.link_time.as_secs_f64())
    );
    println!(
        "[DATA] Train: {} ({} rows x {} features, target '{}')",
        args.train.display(),
        train_xy.n_rows,
        train_xy.n_features(),
        train_xy.target_name.as_deref().unwrap_or_default()
    );
    println!(
        "[DATA] Test: {} ({} rows), CSV load {}",
        args.test.display(),
        test_xy.n_rows,
        ms(csv_load.as_secs_f64())
    );
    println!();
    println!("=== TRAINING PHASE ===");
    println!(
        "[TRAINING] Creating RandomForest with {} estimators, max_depth {}",
        params.n_estimators,
        depth_text(params.max_depth)
    );
    println!("[TRAINING] Training in the wasm sandbox...");
    let mut model_bytes: Option<Vec<u8>> = None;
    let (mut train_runs, mut inst_runs) = (Vec::new(), Vec::new());
    let mut peak_train = 0;
    for _ in 0..repeat {
        let (mut job, t_inst) = timed(|| rt.instantiate(training_bytes(&train_ds, &params)))?;
        let (bytes, t_train) = timed(|| job.train(&train_ds, &params))?;
        inst_runs.push(t_inst);
        train_runs.push(t_train);
        peak_train = peak_train.max(job.peak_memory());
        if let Some(prev) = &model_bytes
            && *prev != bytes
        {
            bail!(
                "two sandboxed training runs with the same seed gave different models: this is a bug"
            );
        }
        model_bytes = Some(bytes);
    }
    let model_bytes = model_bytes.expect("repeat >= 1");
    let train = Summary::of(&train_runs);
    println!("[TRAINING] Training completed!");
    println!("[TRAINING] Completed in {}", train.describe());
    println!(
        "[TRAINING] Throughput: {:.0} trees/s; peak guest memory {:.1} MiB",
        f64::from(params.n_estimators) / train.median_s,
        peak_train as f64 / (1 << 20) as f64
    );

    let (native_train, ratio, identical) = if args.no_native {
        (None, None, None)
    } else {
        let mut runs = Vec::new();
        let mut native_bytes = Vec::new();
        for _ in 0..repeat {
            let (b, t) = timed(|| train_native(&train_ds, &params))?;
            runs.push(t);
            native_bytes = b;
        }
        let s = Summary::of(&runs);
        let ratio = train.median_s / s.median_s;
        let identical = native_bytes == model_bytes;
        println!(
            "[TRAINING] Native forest crate (same data, params, seed): {}; wasm/native {:.2}x; model bytes {}",
            s.describe(),
            ratio,
            if identical { "identical" } else { "DIFFERENT" }
        );
        (Some(s), Some(ratio), Some(identical))
    };

    let ((), save) = timed(|| write_atomic(&model_path, &model_bytes))?;
    println!(
        "[TRAINING] Model saved to: {} ({:.1} KiB, {})",
        model_path.display(),
        model_bytes.len() as f64 / 1024.0,
        ms(save.as_secs_f64())
    );
    println!();

    println!("=== INFERENCE PHASE ===");
    let mut job =
        rt.instantiate(16 * (model_bytes.len() as u64 + 4 * test_xy.features.len() as u64))?;
    let (model, load) = timed(|| {
        let bytes = std::fs::read(&model_path)
            .with_context(|| format!("reading {}", model_path.display()))?;
        job.load_model(&bytes)
            .with_context(|| format!("loading {}", model_path.display()))
    })?;
    let info = job.model_info(&model)?;
    println!(
        "[INFERENCE] Model loaded in the sandbox in {}: {} trees, {} nodes, max depth reached {}",
        ms(load.as_secs_f64()),
        info.n_trees,
        info.n_nodes,
        info.max_depth
    );
    println!(
        "[INFERENCE] Running predictions on {} test samples...",
        test_xy.n_rows
    );
    let mut predict_runs = Vec::new();
    let mut predictions = Vec::new();
    for _ in 0..repeat {
        let (p, t) = timed(|| job.predict(&model, &test_xy.features, test_xy.n_rows as u32))?;
        predict_runs.push(t);
        predictions = p;
    }
    let peak_inference = job.peak_memory();
    job.drop_model(model)?;
    let predict = Summary::of(&predict_runs);
    let mse = mse(&predictions, test_xy.targets.as_deref().unwrap_or_default());
    println!("[INFERENCE] Samples: {}", test_xy.n_rows);
    println!(
        "[INFERENCE] Completed in {} (CPU, in the sandbox)",
        predict.describe()
    );
    println!("[INFERENCE] Mean Squared Error: {mse:.4}");

    let report = BenchReport {
        train_csv: args.train.clone(),
        test_csv: args.test.clone(),
        n_train: train_xy.n_rows,
        n_test: test_xy.n_rows,
        n_features: train_xy.n_features(),
        params: params.clone(),
        component_bytes: rt.component_size,
        compile_s: rt.compile_time.as_secs_f64(),
        link_s: rt.link_time.as_secs_f64(),
        csv_load_s: csv_load.as_secs_f64(),
        instantiate: Summary::of(&inst_runs),
        train,
        native_train,
        wasm_native_ratio: ratio,
        model_bytes_identical_to_native: identical,
        peak_guest_memory_train_bytes: peak_train,
        model_path,
        model_bytes: model_bytes.len(),
        n_trees: info.n_trees,
        n_nodes: info.n_nodes,
        max_depth_reached: info.max_depth,
        save_s: save.as_secs_f64(),
        load_s: load.as_secs_f64(),
        predict,
        peak_guest_memory_inference_bytes: peak_inference,
        mse,
    };
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        write_atomic(path, text.as_bytes())?;
        println!("[REPORT] JSON written to: {}", path.display());
    }
    if identical == Some(false) {
        bail!(
            "the sandboxed and native models differ: the same seed must give the same bytes (a bug; please report it)"
        );
    }
    Ok(report)
}
