//! `bench`: training on one CSV and inference on another, in the sandbox,
//! measured phase by phase.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use forest::Params;
use serde::Serialize;

use crate::cli::{BenchArgs, DeviceArg};
use crate::data::Xy;
use crate::fsio::write_output;
use crate::jobs::{inference_bytes, load_test, load_training, train_native};
use crate::parallel::{self, Predictor};
use crate::progress::TreeProgress;
use crate::report::Importance;
use crate::runtime::{Dataset, Device, ModelInfo, Runtime};
use crate::stats::{Summary, mb, mb_per_s, mib, ms, mse, plural};

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
    /// The same training with splitter level's histograms on the GPU, when
    /// there was a GPU and the splitter was level.
    pub gpu_train: Option<GpuTrainBench>,
    /// The model's impurity-based feature importances, largest first.
    pub feature_importances: Vec<Importance>,
}

#[derive(Debug, Serialize)]
pub struct GpuTrainBench {
    pub adapter: String,
    /// Sandboxed training with `device gpu`, instantiation included.
    pub train: Summary,
    /// Of which the `gpu` import's calls (uploads, histograms, row moves),
    /// over all workers.
    pub gpu_import: Summary,
    /// Always true: a different model is an error.
    pub model_bytes_identical_to_cpu: bool,
    /// Where `device auto` trains this data, and why.
    pub auto_device: String,
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
/// `(cpu, targets)`: the CPU's predictions and the test targets, to compare with.
fn gpu_inference(
    predictor: &mut Predictor,
    test_xy: &Xy,
    repeat: usize,
    device: DeviceArg,
    (cpu, targets): (&[f64], &[f64]),
) -> Result<Option<GpuBench>> {
    let (features, n_rows) = (&test_xy.features, test_xy.n_rows as u32);
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
    let model_path = args.model_path();
    crate::fsio::require_file(
        &model_path,
        "--model-out",
        "bench reads it back to time loading",
    )?;
    let ((train_xy, train_ds, test_xy), csv_load) = timed(|| {
        let (xy, ds) = load_training(
            &args.train,
            (args.target.as_deref(), None),
            rt.data_budget(),
        )?;
        let test_xy = load_test(&args.test, &xy, rt.data_budget())?;
        Ok((xy, ds, test_xy))
    })?;
    print_setup(rt, args, (&train_xy, &test_xy), csv_load);

    println!("=== TRAINING PHASE ===");
    let t = training_phase(rt, args, &train_ds, &params, workers)?;
    let gpu_train = gpu_training(rt, args, &train_ds, &params, (workers, &t.model))?;
    let ((), save) = timed(|| write_output(&model_path, &t.model))?;
    println!(
        "[TRAINING] Model saved to: {} ({:.1} KiB, {})",
        model_path.display(),
        t.model.len() as f64 / 1024.0,
        ms(save.as_secs_f64())
    );
    println!();

    println!("=== INFERENCE PHASE ===");
    let i = inference_phase(rt, args, &model_path, &test_xy)?;
    let names = i.info.feature_names.as_deref();
    let ranked = cli_common::importances::ranked(&i.info.feature_importances, names);
    print_importances(&ranked);
    let native = t.native.as_ref();
    let identical = native.map(|n| n.model == t.model);
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
        workers: t.workers,
        train: t.train.clone(),
        native_train: native.map(|n| n.train.clone()),
        wasm_native_ratio: native.map(|n| t.train.median_s / n.train.median_s),
        model_bytes_identical_to_native: identical,
        peak_guest_memory_train_bytes: t.peak_memory,
        peak_guest_memory_train_worker_bytes: t.peak_worker_memory,
        merge: t.merge,
        grow_calls: t.grow_calls,
        model_path,
        model_bytes: t.model.len(),
        n_trees: i.info.n_trees,
        n_nodes: i.info.n_nodes,
        max_depth_reached: i.info.max_depth,
        save_s: save.as_secs_f64(),
        load_s: i.load.as_secs_f64(),
        predict: i.predict,
        peak_guest_memory_inference_bytes: i.peak_memory,
        mse: i.mse,
        gpu: i.gpu,
        gpu_train,
        feature_importances: ranked.into_iter().map(Importance::from).collect(),
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

/// The five most important features of `ranked` (all of them with `info`).
fn print_importances(ranked: &[(String, f64)]) {
    if ranked.is_empty() {
        return;
    }
    println!();
    println!("=== FEATURE IMPORTANCES (impurity-based, top 5) ===");
    for line in cli_common::importances::lines(ranked, 5) {
        println!("{line}");
    }
}

/// The component and the data, as loaded.
fn print_setup(rt: &Runtime, args: &BenchArgs, (train, test): (&Xy, &Xy), csv_load: Duration) {
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
        train.n_rows,
        train.n_features(),
        train.target_name.as_deref().unwrap_or_default()
    );
    let csv_bytes = train.source_bytes + test.source_bytes;
    println!(
        "[DATA] Test: {} ({} rows), CSV load {} ({} at {}, streamed)",
        args.test.display(),
        test.n_rows,
        ms(csv_load.as_secs_f64()),
        mb(csv_bytes),
        mb_per_s(csv_bytes, csv_load.as_secs_f64())
    );
    println!();
}

/// The timed sandboxed trainings, and the native ones alternated with them.
struct TrainingPhase {
    model: Vec<u8>,
    workers: usize,
    train: Summary,
    merge: Summary,
    grow_calls: usize,
    /// Peak guest memory: all training instances together, and the largest one.
    peak_memory: usize,
    peak_worker_memory: usize,
    native: Option<NativeTraining>,
}

struct NativeTraining {
    train: Summary,
    model: Vec<u8>,
}

/// `--repeat` sandboxed trainings (all must give the same bytes), each
/// followed by a native one: the ratio then compares runs made under the
/// same machine load.
fn training_phase(
    rt: &Runtime,
    args: &BenchArgs,
    train_ds: &Dataset,
    params: &Params,
    workers: usize,
) -> Result<TrainingPhase> {
    println!(
        "[TRAINING] Creating RandomForest with {} estimators, max_depth {}",
        params.n_estimators,
        depth_text(params.max_depth)
    );
    let n_workers = parallel::training_workers(params.n_estimators, workers);
    println!(
        "[TRAINING] Training in the wasm sandbox ({})...",
        plural(n_workers, "worker instance")
    );
    let mut model: Option<Vec<u8>> = None;
    let (mut train_runs, mut merge_runs, mut native_runs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut peak_memory, mut peak_worker_memory, mut grow_calls) = (0, 0, 0);
    let mut native_model = Vec::new();
    for run in 0..args.repeat {
        let label = (run == 0).then_some("training trees");
        let progress = Arc::new(TreeProgress::new(n_workers, params.n_estimators, label));
        let (trained, t_train) = timed(|| {
            parallel::train(
                rt,
                train_ds,
                params,
                (Device::Cpu, workers),
                Some(progress.clone()),
            )
        })?;
        progress.finish();
        train_runs.push(t_train);
        peak_memory = peak_memory.max(trained.peak_memory);
        peak_worker_memory = peak_worker_memory.max(trained.peak_worker_memory);
        merge_runs.push(trained.merge);
        grow_calls = trained.grow_calls;
        if model.as_ref().is_some_and(|m| *m != trained.model) {
            bail!(
                "two sandboxed training runs with the same seed gave different models: this is a bug"
            );
        }
        model = Some(trained.model);
        if !args.no_native {
            let (b, t) = timed(|| train_native(train_ds, params, n_workers))?;
            native_runs.push(t);
            native_model = b;
        }
    }
    let phase = TrainingPhase {
        model: model.expect("repeat >= 1"),
        workers: n_workers,
        train: Summary::of(&train_runs),
        merge: Summary::of(&merge_runs),
        grow_calls,
        peak_memory,
        peak_worker_memory,
        native: (!args.no_native).then(|| NativeTraining {
            train: Summary::of(&native_runs),
            model: native_model,
        }),
    };
    print_training(&phase, params);
    Ok(phase)
}

fn print_training(t: &TrainingPhase, params: &Params) {
    println!("[TRAINING] Training completed!");
    println!(
        "[TRAINING] Completed in {} (instantiation included)",
        t.train.describe()
    );
    println!(
        "[TRAINING] Throughput: {} ({}; the host merged the parts in {}, median)",
        crate::stats::trees_per_s(params.n_estimators, t.train.median_s),
        plural(t.grow_calls, "grow call"),
        ms(t.merge.median_s)
    );
    println!(
        "[TRAINING] Peak guest memory: {} per training instance ({} over {})",
        mib(t.peak_worker_memory as u64),
        mib(t.peak_memory as u64),
        t.workers,
    );
    if let Some(n) = &t.native {
        println!(
            "[TRAINING] Native forest crate (same data, params, seed, {}; runs alternated with the sandbox's): {}; wasm/native {:.2}x; model bytes {}",
            plural(t.workers, "thread"),
            n.train.describe(),
            t.train.median_s / n.train.median_s,
            if n.model == t.model {
                "identical"
            } else {
                "DIFFERENT"
            }
        );
    }
}

/// The GPU side of the training phase: `--repeat` trainings with splitter
/// level's histograms on the GPU, which must give the CPU's model bytes.
/// `None`, after one line, when the splitter is not level or (under
/// `auto`) there is no adapter.
fn gpu_training(
    rt: &Runtime,
    args: &BenchArgs,
    train_ds: &Dataset,
    params: &Params,
    (workers, cpu_model): (usize, &[u8]),
) -> Result<Option<GpuTrainBench>> {
    if args.device == DeviceArg::Cpu {
        return Ok(None);
    }
    if params.splitter != forest::SplitterKind::Level {
        println!(
            "[TRAINING] GPU: not used (splitter {} grows on the CPU; --splitter level trains on the GPU)",
            params.splitter
        );
        return Ok(None);
    }
    let adapter = match crate::gpu::shared() {
        Ok(g) => g.adapter_info().clone(),
        Err(e) if args.device == DeviceArg::Auto => {
            println!("[TRAINING] GPU: no adapter found, CPU only ({e})");
            return Ok(None);
        }
        Err(e) => bail!("--device gpu: {e}"),
    };
    let (mut runs, mut import) = (Vec::new(), Vec::new());
    for _ in 0..args.repeat {
        let (trained, t) =
            timed(|| parallel::train(rt, train_ds, params, (Device::Gpu, workers), None))?;
        if trained.model != cpu_model {
            bail!("training on the GPU gave other model bytes than on the CPU: this is a bug");
        }
        runs.push(t);
        import.push(trained.gpu_time);
    }
    let min_rows = crate::runtime::gpu_auto_min_train_rows(&adapter)?;
    let n = train_ds.n_rows;
    let auto_device = if n >= min_rows {
        "gpu".to_string()
    } else if min_rows == u32::MAX {
        format!("cpu (never on a {} adapter)", adapter.device_type)
    } else {
        format!("cpu ({n} rows < auto-min-train-rows {min_rows})")
    };
    let bench = GpuTrainBench {
        adapter: adapter.name,
        train: Summary::of(&runs),
        gpu_import: Summary::of(&import),
        model_bytes_identical_to_cpu: true,
        auto_device,
    };
    println!(
        "[TRAINING] GPU (import, {} [{}, {}]): {}; gpu import calls {} (median, summed over the workers); model bytes identical to the CPU's",
        bench.adapter,
        adapter.backend,
        adapter.device_type,
        bench.train.describe(),
        ms(bench.gpu_import.median_s)
    );
    println!(
        "[TRAINING] device auto for {n} training rows: {}",
        bench.auto_device
    );
    Ok(Some(bench))
}

/// What the inference phase measured.
struct InferencePhase {
    info: ModelInfo,
    load: Duration,
    predict: Summary,
    peak_memory: usize,
    mse: f64,
    gpu: Option<GpuBench>,
}

/// Loads the saved model file into a fresh instance and predicts the test
/// set `--repeat` times on the CPU, then through the GPU import unless
/// `--device cpu`.
fn inference_phase(
    rt: &Runtime,
    args: &BenchArgs,
    model_path: &Path,
    test_xy: &Xy,
) -> Result<InferencePhase> {
    let n_test = test_xy.n_rows as u32;
    let (mut predictor, load) = timed(|| {
        let bytes = crate::fsio::read_model(model_path)?;
        let need = inference_bytes(bytes.len(), test_xy.features.len());
        // Few rows: one instance; sharing them out would only add instances.
        Predictor::new(rt, &bytes, 1, need)
            .with_context(|| format!("loading {}", model_path.display()))
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
    for _ in 0..args.repeat {
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
        let reference = (predictions.as_slice(), targets);
        gpu_inference(
            &mut predictor,
            test_xy,
            args.repeat as usize,
            args.device,
            reference,
        )?
    };
    let peak_memory = predictor.peak_memory();
    predictor.drop_models()?;
    println!("[INFERENCE] Mean Squared Error: {mse:.4}");
    Ok(InferencePhase {
        info,
        load,
        predict,
        peak_memory,
        mse,
        gpu,
    })
}
