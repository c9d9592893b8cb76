//! `bench`: training on one CSV and inference on another, in the sandbox,
//! measured phase by phase.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use std::sync::Arc;

use crate::cli::{BenchArgs, DeviceArg};
use crate::data::{self, ReadOptions, Xy};
use crate::fsio::write_output;
use crate::parallel::{self, Predictor};
use crate::progress::TreeProgress;
use crate::runtime::{Dataset, Device, Runtime};
use crate::stats::{Summary, mb, mb_per_s, mib, ms, mse};
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
    /// Sandboxed instances that trained (each a share of the trees).
    pub workers: usize,
    /// Sandboxed training, fresh instances every run, instantiation included.
    pub train: Summary,
    /// The same forest crate compiled natively, same data and params.
    pub native_train: Option<Summary>,
    pub wasm_native_ratio: Option<f64>,
    pub model_bytes_identical_to_native: Option<bool>,
    /// Training instances' peaks, summed.
    pub peak_guest_memory_train_bytes: usize,
    /// The largest peak of one training instance (its data plus one piece).
    pub peak_guest_memory_train_worker_bytes: usize,
    /// The host merging the workers' parts into the model bytes (inside
    /// `train`'s times).
    pub merge: Summary,
    /// `trainer.grow` calls per training run, over all workers.
    pub grow_calls: usize,
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
    /// The same predictions through the GPU import, when there was a GPU.
    pub gpu: Option<GpuBench>,
}

#[derive(Debug, Serialize)]
pub struct GpuBench {
    pub adapter: String,
    pub backend: String,
    pub device_type: String,
    /// Uploading the forest to the device (once per model).
    pub upload_s: f64,
    /// Row upload, dispatch and readback, per prediction.
    pub dispatch_readback: Summary,
    /// The whole `predict-on` call, as the host sees it.
    pub total: Summary,
    pub mse: f64,
    /// Largest |gpu - cpu| over the predictions.
    pub max_abs_diff: f64,
    /// Where `device auto` runs a batch of this size, and why.
    pub auto_device: String,
}

/// The GPU side of the inference phase: `None`, after one clear line, when
/// there is no adapter and the device is `auto`.
fn gpu_inference(
    predictor: &mut Predictor,
    features: &[f32],
    n_rows: u32,
    repeat: usize,
    device: DeviceArg,
    cpu: &[f64],
    targets: &[f64],
) -> Result<Option<GpuBench>> {
    let adapter = match crate::gpu::shared() {
        Ok(g) => g.adapter_info().clone(),
        Err(e) if device == DeviceArg::Auto => {
            println!("[INFERENCE] GPU: no adapter found, using CPU ({e})");
            return Ok(None);
        }
        Err(e) => bail!("--device gpu: {e}"),
    };
    let mut totals = Vec::new();
    let mut dispatches = Vec::new();
    let mut upload = Duration::ZERO;
    let mut values = Vec::new();
    for _ in 0..repeat {
        let (p, t) = timed(|| predictor.predict(features, n_rows, Device::Gpu))?;
        totals.push(t);
        dispatches.push(p.gpu.predict);
        upload += p.gpu.upload;
        values = p.values;
    }
    let auto = predictor.predict(features, n_rows, Device::Auto)?;
    let auto_device = match (auto.devices.first(), auto.note) {
        (Some(Device::Gpu), _) => "gpu".to_string(),
        (_, Some(note)) => format!("cpu ({note})"),
        _ => "cpu".to_string(),
    };
    let max_abs_diff = values
        .iter()
        .zip(cpu)
        .map(|(g, c)| (g - c).abs())
        .fold(0.0, f64::max);
    let bench = GpuBench {
        adapter: adapter.name,
        backend: adapter.backend,
        device_type: adapter.device_type,
        upload_s: upload.as_secs_f64(),
        dispatch_readback: Summary::of(&dispatches),
        total: Summary::of(&totals),
        mse: mse(&values, targets),
        max_abs_diff,
        auto_device,
    };
    println!(
        "[INFERENCE] GPU (import, {} [{}, {}]): forest upload {} once; dispatch+readback {}; total {}",
        bench.adapter,
        bench.backend,
        bench.device_type,
        ms(bench.upload_s),
        ms(bench.dispatch_readback.median_s),
        bench.total.describe()
    );
    println!(
        "[INFERENCE] GPU Mean Squared Error: {:.4}; max |GPU - CPU| = {:.3e}",
        bench.mse, bench.max_abs_diff
    );
    println!(
        "[INFERENCE] device auto for {n_rows} rows: {}",
        bench.auto_device
    );
    Ok(Some(bench))
}

fn dataset(xy: &Xy, names: bool) -> Result<Dataset> {
    let targets = xy.targets.clone().context("no target column")?;
    Ok(Dataset {
        n_rows: u32::try_from(xy.n_rows).context("too many rows")?,
        n_features: xy.n_features() as u32,
        features: xy.features.clone(),
        targets,
        feature_names: names.then(|| xy.feature_names.clone()),
        target_name: names.then(|| xy.target_name.clone()).flatten(),
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
/// The training CSV, read within `budget` bytes of cells (see
/// [`Runtime::data_budget`]).
pub fn load_training(path: &Path, target: Option<&str>, budget: u64) -> Result<(Xy, Dataset)> {
    let table =
        data::read_csv(path, &ReadOptions::all(budget)).map_err(|e| hint_data_dir(e, path))?;
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

/// Relative default paths only work from the repository root: say so when
/// such a path is missing (not when it is there but cannot be read, e.g. a
/// symlink loop).
pub fn hint_data_dir(e: anyhow::Error, path: &Path) -> anyhow::Error {
    let missing =
        std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    if path.is_relative() && missing {
        e.context(format!(
            "{} does not exist relative to {} (run from the repository root, or pass an explicit path)",
            path.display(),
            std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()
        ))
    } else {
        e
    }
}

/// Trains with the native forest crate on `workers` threads (each grows a
/// share of the trees, as the sandboxed workers do): the model file bytes.
pub fn train_native(ds: &Dataset, params: &Params, workers: usize) -> Result<Vec<u8>> {
    let data = forest::Dataset::new(
        ds.n_rows as usize,
        ds.n_features as usize,
        &ds.features,
        &ds.targets,
    )?;
    let trainer = forest::Trainer::new(&data, params)?;
    // The sandbox's scheduling: trees claimed from one queue as threads ask.
    let n_threads = crate::parallel::training_workers(params.n_estimators, workers);
    let queue = crate::parallel::TreeQueue::new(params.n_estimators, n_threads);
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n_threads)
            .map(|_| {
                let (trainer, queue) = (&trainer, &queue);
                scope.spawn(move || {
                    queue.drain(|first, count, _| {
                        let part = forest::part::Part::grow(
                            trainer,
                            first,
                            count,
                            ds.feature_names.clone(),
                            ds.target_name.clone(),
                            |_| {},
                        )?;
                        let size = part.nodes.len() * forest::RAW_NODE_BYTES;
                        forest::Result::Ok((part, size))
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a native worker panicked"))
            })
            .collect::<Result<Vec<_>>>()
    })?
    .into_iter()
    .collect::<forest::Result<Vec<_>>>()?
    .into_iter()
    .flatten()
    .collect();
    let model = forest::part::merge(parts)?;
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
pub fn load_test(path: &Path, train: &Xy, budget: u64) -> Result<Xy> {
    let target = train.target_name.as_deref();
    let mut only = train.feature_names.clone();
    only.extend(target.map(str::to_string));
    let options = ReadOptions {
        budget,
        only: Some(only),
    };
    let table = data::read_csv(path, &options).map_err(|e| hint_data_dir(e, path))?;
    let test =
        table.for_prediction(train.n_features(), Some(&train.feature_names), target, true)?;
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

pub fn run(rt: &Runtime, args: &BenchArgs, workers: usize) -> Result<BenchReport> {
    let params = args.forest.params(200, Some(16));
    let repeat = args.repeat as usize;
    let model_path = args.model_path();

    let ((train_xy, train_ds, test_xy), csv_load) = timed(|| {
        let (xy, ds) = load_training(&args.train, args.target.as_deref(), rt.data_budget())?;
        let test_xy = load_test(&args.test, &xy, rt.data_budget())?;
        Ok((xy, ds, test_xy))
    })?;

    println!("=== SETUP ===");
    println!(
        "[SETUP] Component: {} ({} KiB), {} in {}, linked in {}",
        rt.component_label,
        rt.component_size / 1024,
        rt.cache.describe(),
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
    let csv_bytes = train_xy.source_bytes + test_xy.source_bytes;
    println!(
        "[DATA] Test: {} ({} rows), CSV load {} ({} at {}, streamed)",
        args.test.display(),
        test_xy.n_rows,
        ms(csv_load.as_secs_f64()),
        mb(csv_bytes),
        mb_per_s(csv_bytes, csv_load.as_secs_f64())
    );
    println!();
    println!("=== TRAINING PHASE ===");
    println!(
        "[TRAINING] Creating RandomForest with {} estimators, max_depth {}",
        params.n_estimators,
        depth_text(params.max_depth)
    );
    let n_workers = crate::parallel::training_workers(params.n_estimators, workers);
    println!(
        "[TRAINING] Training in the wasm sandbox ({} worker instance{})...",
        n_workers,
        if n_workers == 1 { "" } else { "s" }
    );
    let mut model_bytes: Option<Vec<u8>> = None;
    let mut train_runs = Vec::new();
    let (mut peak_train, mut peak_worker, mut grow_calls) = (0, 0, 0);
    let mut merge_runs = Vec::new();
    // The native runs alternate with the sandboxed ones, so that the ratio
    // compares runs made under the same machine load.
    let (mut native_runs, mut native_bytes) = (Vec::new(), Vec::new());
    for run in 0..repeat {
        let label = (run == 0).then_some("training trees");
        let progress = Arc::new(TreeProgress::new(n_workers, params.n_estimators, label));
        let (trained, t_train) = timed(|| {
            parallel::train(
                rt,
                &train_ds,
                &params,
                workers,
                training_bytes(&train_ds, &params),
                Some(progress.clone()),
            )
        })?;
        progress.finish();
        train_runs.push(t_train);
        peak_train = peak_train.max(trained.peak_memory);
        peak_worker = peak_worker.max(trained.peak_worker_memory);
        merge_runs.push(trained.merge);
        grow_calls = trained.grow_calls;
        if let Some(prev) = &model_bytes
            && *prev != trained.model
        {
            bail!(
                "two sandboxed training runs with the same seed gave different models: this is a bug"
            );
        }
        model_bytes = Some(trained.model);
        if !args.no_native {
            let (b, t) = timed(|| train_native(&train_ds, &params, n_workers))?;
            native_runs.push(t);
            native_bytes = b;
        }
    }
    let model_bytes = model_bytes.expect("repeat >= 1");
    let train = Summary::of(&train_runs);
    let merge = Summary::of(&merge_runs);
    println!("[TRAINING] Training completed!");
    println!(
        "[TRAINING] Completed in {} (instantiation included)",
        train.describe()
    );
    println!(
        "[TRAINING] Throughput: {} ({grow_calls} grow call{}; the host merged the parts in {}, median)",
        crate::stats::trees_per_s(params.n_estimators, train.median_s),
        if grow_calls == 1 { "" } else { "s" },
        ms(merge.median_s)
    );
    println!(
        "[TRAINING] Peak guest memory: {} per training instance ({} over {})",
        mib(peak_worker as u64),
        mib(peak_train as u64),
        n_workers,
    );

    let (native_train, ratio, identical) = if args.no_native {
        (None, None, None)
    } else {
        let s = Summary::of(&native_runs);
        let ratio = train.median_s / s.median_s;
        let identical = native_bytes == model_bytes;
        println!(
            "[TRAINING] Native forest crate (same data, params, seed, {} thread{}; runs alternated with the sandbox's): {}; wasm/native {:.2}x; model bytes {}",
            n_workers,
            if n_workers == 1 { "" } else { "s" },
            s.describe(),
            ratio,
            if identical { "identical" } else { "DIFFERENT" }
        );
        (Some(s), Some(ratio), Some(identical))
    };

    let ((), save) = timed(|| write_output(&model_path, &model_bytes))?;
    println!(
        "[TRAINING] Model saved to: {} ({:.1} KiB, {})",
        model_path.display(),
        model_bytes.len() as f64 / 1024.0,
        ms(save.as_secs_f64())
    );
    println!();

    println!("=== INFERENCE PHASE ===");
    let n_test = test_xy.n_rows as u32;
    let ((mut predictor, model_file), load) = timed(|| {
        let bytes = std::fs::read(&model_path)
            .with_context(|| format!("reading {}", model_path.display()))?;
        let need = 16 * (bytes.len() as u64 + 4 * test_xy.features.len() as u64);
        // Few rows: one instance; sharing them out would only add instances.
        let p = Predictor::new(rt, &bytes, 1, need)
            .with_context(|| format!("loading {}", model_path.display()))?;
        Ok((p, bytes))
    })?;
    let info = predictor.info.clone();
    println!(
        "[INFERENCE] Model loaded in the sandbox in {}: {} trees, {} nodes, max depth reached {}",
        ms(load.as_secs_f64()),
        info.n_trees,
        info.n_nodes,
        info.max_depth
    );
    println!("[INFERENCE] Running predictions on {n_test} test samples...");
    let targets = test_xy.targets.as_deref().unwrap_or_default();
    let mut predict_runs = Vec::new();
    let mut predictions = Vec::new();
    for _ in 0..repeat {
        let (p, t) = timed(|| predictor.predict(&test_xy.features, n_test, Device::Cpu))?;
        predict_runs.push(t);
        predictions = p.values;
    }
    let predict = Summary::of(&predict_runs);
    let mse = mse(&predictions, targets);
    println!("[INFERENCE] Samples: {n_test}");
    println!("[INFERENCE] CPU (in the sandbox): {}", predict.describe());
    let gpu = if args.device == DeviceArg::Cpu {
        None
    } else {
        gpu_inference(
            &mut predictor,
            &test_xy.features,
            n_test,
            repeat,
            args.device,
            &predictions,
            targets,
        )?
    };
    let peak_inference = predictor.peak_memory();
    predictor.drop_models()?;
    drop(model_file);
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
        workers: n_workers,
        train,
        native_train,
        wasm_native_ratio: ratio,
        model_bytes_identical_to_native: identical,
        peak_guest_memory_train_bytes: peak_train,
        peak_guest_memory_train_worker_bytes: peak_worker,
        merge,
        grow_calls,
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
        gpu,
    };
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        write_output(path, text.as_bytes())?;
        println!("[REPORT] JSON written to: {}", path.display());
    }
    if identical == Some(false) {
        bail!(
            "the sandboxed and native models differ: the same seed must give the same bytes (a bug; please report it)"
        );
    }
    Ok(report)
}
