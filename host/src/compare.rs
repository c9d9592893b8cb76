//! `compare`: every system side by side in one command. The same data and
//! hyperparameters go through the sandboxed component (wasm), the same forest
//! crate compiled natively (native) and the Python reference (scikit-learn
//! n_jobs=1 and -1, cuML when a CUDA GPU is there); every phase is repeated
//! after a warm-up and reported as tidy rows, medians and ratios.
//!
//! The phases that systems are compared on (train, predict) run in rounds:
//! each round runs every system once, so the k-th runs of all systems are
//! minutes (diabetes: fractions of a second) apart instead of each system's
//! runs being bunched together. On a shared machine whose speed drifts, the
//! medians then see the same conditions and their ratios mean something.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cli::{CompareArgs, DeviceArg};
use crate::data::Xy;
use crate::fsio::write_output;
use crate::jobs::{
    dataset_name, inference_bytes, load_test, load_training, prediction_workers, train_native,
};
use crate::memory::{HeapPeak, peak_rss};
use crate::parallel::{self, Predictor};
use crate::progress::Progress;
use crate::python::{PythonServer, python_ready};
use crate::report::{
    CompareReport, Row, SameAsSklearn, SystemSummary, phase_summary, print_report,
};
use crate::runtime::{Dataset, Device, Runtime};
use crate::stats::{mse, plural};
use crate::{plot, synthetic};
use forest::Params;

struct Recorder {
    dataset: String,
    rows: Vec<Row>,
}

impl Recorder {
    /// Runs `f` once as a warm-up, then `repeat` timed times; records rows.
    fn phase<T>(
        &mut self,
        system: &str,
        phase: &str,
        repeat: u32,
        mut f: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        let bar = Progress::new(&format!("{system} {phase}"), u64::from(repeat) + 1);
        let mut last = f()?;
        bar.inc();
        for i in 1..=repeat {
            let t = Instant::now();
            last = f()?;
            self.record(system, phase, i, t.elapsed().as_secs_f64());
            bar.inc();
        }
        bar.finish();
        Ok(last)
    }

    /// Records the time since `start` as run `iteration` of a round.
    fn timed(&mut self, system: &str, phase: &str, iteration: u32, start: Instant) {
        self.round(system, phase, iteration, start.elapsed().as_secs_f64());
    }

    /// Records `seconds` as run `iteration` of a round (0, the warm-up, is not kept).
    fn round(&mut self, system: &str, phase: &str, iteration: u32, seconds: f64) {
        if iteration > 0 {
            self.record(system, phase, iteration, seconds);
        }
    }

    fn record(&mut self, system: &str, phase: &str, iteration: u32, seconds: f64) {
        self.rows.push(Row {
            system: system.into(),
            dataset: self.dataset.clone(),
            phase: phase.into(),
            iteration,
            seconds,
        });
    }

    /// `a`'s median over `b`'s, for `phase`.
    fn ratio(&self, a: &str, b: &str, phase: &str) -> Option<f64> {
        Some(self.median(a, phase)? / self.median(b, phase)?)
    }

    fn median(&self, system: &str, phase: &str) -> Option<f64> {
        phase_summary(&self.rows, system, phase).map(|s| s.median_s)
    }
}

/// `Forest::predict` on `workers` threads, each a contiguous share of the rows.
fn predict_native(
    forest: &forest::Forest,
    features: &[f32],
    n_rows: usize,
    workers: usize,
) -> Result<Vec<f64>> {
    let nf = forest.n_features as usize;
    let shares = parallel::shares(n_rows as u32, workers);
    let outs = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|&(first, count)| {
                let rows = &features[first as usize * nf..(first + count) as usize * nf];
                scope.spawn(move || forest.predict(rows, count as usize))
            })
            .collect();
        crate::jobs::join_native(handles)
    })?;
    let mut values = Vec::with_capacity(n_rows);
    for out in outs {
        values.extend(out?);
    }
    Ok(values)
}

fn resolve_data(args: &CompareArgs, budget: u64) -> Result<(String, PathBuf, PathBuf)> {
    let (train, test) = args.data_paths();
    if let Some(spec) = &args.synthetic_spec() {
        spec.check_fits(budget)?;
        synthetic::write(spec, &args.synthetic_dir)?;
        println!(
            "[DATA] Synthetic {}: wrote {} and {}",
            spec.name(),
            train.display(),
            test.display()
        );
    }
    Ok((dataset_name(&train), train, test))
}

/// The data every system is given.
struct Data {
    dataset: String,
    train_csv: PathBuf,
    test_csv: PathBuf,
    train_xy: Xy,
    train_ds: Dataset,
    test_xy: Xy,
}

fn load_data(rt: &Runtime, args: &CompareArgs) -> Result<Data> {
    let (dataset, train_csv, test_csv) = resolve_data(args, rt.data_budget())?;
    let (train_xy, train_ds) =
        load_training(&train_csv, (args.target.as_deref(), None), rt.data_budget())?;
    let test_xy = load_test(&test_csv, &train_xy, rt.data_budget())?;
    Ok(Data {
        dataset,
        train_csv,
        test_csv,
        train_xy,
        train_ds,
        test_xy,
    })
}

pub fn run(rt: &Runtime, args: &CompareArgs, workers: usize) -> Result<CompareReport> {
    let params = args.forest.params(200, Some(16));
    let repeat = args.repeat;
    let model_path = args.model_path();
    crate::fsio::require_file(
        &model_path,
        "--model-out",
        "compare reads it back to time loading",
    )?;
    let data = load_data(rt, args)?;
    print_header(
        &data.dataset,
        (&data.train_xy, &data.test_xy),
        &params,
        repeat,
    );
    let mut rec = Recorder {
        dataset: data.dataset.clone(),
        rows: Vec::new(),
    };
    let mut skipped = Vec::new();
    // Python first, so that its imports and CSV parsing are over before
    // anything is timed.
    let csvs = (data.train_csv.as_path(), data.test_csv.as_path());
    let mut pythons = start_pythons(args, csvs, (&params, workers), &mut skipped)?;
    let gpu_name = gpu_adapter(args, &mut skipped)?;
    // The copy-in probes' instances live to the end of the run, as they did
    // before the host was reorganised: dropping them here unmapped their
    // memories just before the training rounds, and the native training
    // measured after it moved by several percent (docs/performance.md, the
    // house).
    let _probes = sandbox_phases(rt, &mut rec, &data.train_ds, &params, repeat)?;
    let gpu_train = gpu_trains(gpu_name.is_some(), &params, &mut skipped);
    let systems = (&mut rec, &mut pythons[..]);
    let trained = training_rounds(rt, args, systems, &data.train_ds, (workers, gpu_train))?;
    rec.phase("wasm", "save", repeat, || {
        write_output(&model_path, &trained.model)
    })?;
    let inferred = inference(
        rt,
        args,
        &mut rec,
        &mut pythons,
        &data.test_xy,
        &trained,
        (workers, gpu_name),
    )?;
    let test_y = data
        .test_xy
        .targets
        .as_deref()
        .expect("load_test requires targets");
    let peaks = (
        trained.peak_workers.max(inferred.peak_memory),
        trained.native_heap,
    );
    let gpu = inferred.gpu_name.as_deref();
    let mut systems = local_summaries(&rec, &inferred.predicted, test_y, workers, gpu, peaks);
    let mut same_as_sklearn = None;
    for py in pythons {
        let (summary, predictions) = python_summary(&rec, py)?;
        if summary.system == "sklearn-1" {
            same_as_sklearn = SameAsSklearn::new(&inferred.predicted.wasm, &predictions);
        }
        systems.push(summary);
    }
    speedups(&mut systems);
    let peak_inference = inferred.peak_memory;
    let mut report = build_report(data, args, rec, &trained, peak_inference, systems, skipped);
    report.same_as_sklearn = same_as_sklearn;
    write_report(&report, args, &model_path)?;
    if report.model_bytes_identical == Some(false) {
        bail!(
            "the sandboxed and native models differ: the same seed must give the same bytes (a bug)"
        );
    }
    Ok(report)
}

fn build_report(
    data: Data,
    args: &CompareArgs,
    rec: Recorder,
    trained: &Trained,
    peak_inference: u64,
    systems: Vec<SystemSummary>,
    skipped: Vec<(String, String)>,
) -> CompareReport {
    CompareReport {
        dataset: data.dataset,
        train_csv: data.train_csv,
        test_csv: data.test_csv,
        n_train: data.train_xy.n_rows,
        n_test: data.test_xy.n_rows,
        n_features: data.train_xy.n_features(),
        params: args.forest.params(200, Some(16)),
        repeat: args.repeat,
        systems,
        skipped,
        wasm_native_train_ratio: rec.ratio("wasm", "native", "train"),
        rows: rec.rows,
        model_bytes_identical: trained.native_model.as_ref().map(|b| *b == trained.model),
        same_as_sklearn: None,
        peak_guest_memory_bytes: trained.peak_workers.max(peak_inference),
        peak_guest_memory_train_worker_bytes: trained.peak_worker,
        peak_guest_memory_train_bytes: trained.peak_workers,
        peak_guest_memory_inference_bytes: peak_inference,
        host_peak_rss_bytes: peak_rss(),
        cpu_count: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

fn print_header(dataset: &str, (train, test): (&Xy, &Xy), params: &Params, repeat: u32) {
    println!(
        "=== COMPARE: {dataset} ({} train / {} test rows, {} features), {} trees, max_depth {}, median of {repeat} after a warm-up ===",
        train.n_rows,
        test.n_rows,
        train.n_features(),
        params.n_estimators,
        params
            .max_depth
            .map_or_else(|| "none".into(), |d| d.to_string())
    );
}

/// One `reference.py --serve` process per Python system that can run here;
/// those that cannot are listed in `skipped` with the reason.
fn start_pythons(
    args: &CompareArgs,
    (train_csv, test_csv): (&Path, &Path),
    (params, workers): (&Params, usize),
    skipped: &mut Vec<(String, String)>,
) -> Result<Vec<PythonServer>> {
    let mut pythons = Vec::new();
    if args.no_python {
        skipped.push(("python".to_string(), "--no-python".to_string()));
        return Ok(pythons);
    }
    if let Err(reason) = python_ready(&args.python) {
        println!(
            "[PYTHON] Skipped: {reason}. To add scikit-learn (and cuML on a CUDA machine) to the table: \
             pip install -r python/requirements.txt"
        );
        skipped.push(("python".to_string(), reason));
        return Ok(pythons);
    }
    for system in ["sklearn-1", "sklearn-all", "cuml", "wasm-py"] {
        println!("[PYTHON] Starting {system}...");
        match PythonServer::start(args, system, (train_csv, test_csv), (params, workers))? {
            Ok(server) => pythons.push(server),
            Err(reason) => {
                println!("[PYTHON] {system} skipped: {reason}");
                skipped.push((system.to_string(), reason));
            }
        }
    }
    Ok(pythons)
}

/// The sandbox's fixed costs, each on its own: compiling the component
/// (cold and from its precompiled form), instantiating it, and handing it
/// the data. Returns the copy-in's probe instances.
fn sandbox_phases(
    rt: &Runtime,
    rec: &mut Recorder,
    train_ds: &Dataset,
    params: &Params,
    repeat: u32,
) -> Result<Vec<crate::runtime::Job>> {
    println!("[WASM] Running in the wasm sandbox...");
    rec.phase("wasm", "compile (cold)", repeat, || {
        rt.cold_compile().map(drop)
    })?;
    rec.phase("wasm", "compile (warm, precompiled)", repeat, || {
        rt.warm_compile().map(drop)
    })?;
    let need = parallel::training_bytes(train_ds, params);
    rec.phase("wasm", "instantiate", repeat, || {
        rt.instantiate(need).map(drop)
    })?;
    let mut jobs = Vec::new();
    for _ in 0..=repeat {
        jobs.push(rt.instantiate(need)?);
    }
    let zero_trees = Params {
        n_estimators: 0,
        ..params.clone()
    };
    let mut i = 0;
    rec.phase("wasm", "copy-in (lift + validate)", repeat, || {
        // n_estimators = 0 is rejected right after the data is lifted and
        // checked, so this times the boundary crossing alone.
        let r = jobs[i].train(train_ds, &zero_trees);
        i += 1;
        match r {
            Err(e) if format!("{e}").contains("n_estimators") => Ok(()),
            other => bail!(
                "the copy-in probe expected an n_estimators error, got {:?}",
                other.map(|b| b.len())
            ),
        }
    })?;
    Ok(jobs)
}

/// What the training rounds produced.
struct Trained {
    model: Vec<u8>,
    native_model: Option<Vec<u8>>,
    /// Peak heap of the native training.
    native_heap: Option<u64>,
    /// Peak guest memory: of one training worker, and of all together.
    peak_worker: u64,
    peak_workers: u64,
}

/// A warm-up round, then `repeat` timed ones, each training wasm, native
/// and every Python system once.
fn training_rounds(
    rt: &Runtime,
    args: &CompareArgs,
    (rec, pythons): (&mut Recorder, &mut [PythonServer]),
    train_ds: &Dataset,
    (workers, gpu): (usize, bool),
) -> Result<Trained> {
    let params = args.forest.params(200, Some(16));
    let repeat = args.repeat;
    let names: Vec<&str> = ["wasm"]
        .into_iter()
        .chain(gpu.then_some("wasm-gpu"))
        .chain((!args.no_native).then_some("native"))
        .chain(pythons.iter().map(|p| p.system.as_str()))
        .collect();
    println!(
        "[ROUNDS] Training: a warm-up round, then {repeat} timed; each round runs {}",
        names.join(", ")
    );
    let bar = Progress::new("training rounds", u64::from(repeat) + 1);
    let mut out = Trained {
        model: Vec::new(),
        native_model: None,
        native_heap: None,
        peak_worker: 0,
        peak_workers: 0,
    };
    for i in 0..=repeat {
        let t = Instant::now();
        let trained = parallel::train(rt, train_ds, &params, (Device::Cpu, workers), None)?;
        rec.timed("wasm", "train", i, t);
        out.peak_worker = out.peak_worker.max(trained.peak_worker_memory as u64);
        out.peak_workers = out.peak_workers.max(trained.peak_memory as u64);
        if i > 0 && trained.model != out.model {
            bail!(
                "two sandboxed training runs with the same seed gave different models: this is a bug"
            );
        }
        out.model = trained.model;
        if gpu {
            let t = Instant::now();
            let on_gpu = parallel::train(rt, train_ds, &params, (Device::Gpu, workers), None)?;
            rec.timed("wasm-gpu", "train", i, t);
            if on_gpu.model != out.model {
                bail!("training on the GPU gave other model bytes than on the CPU: this is a bug");
            }
        }
        if !args.no_native {
            let heap = HeapPeak::start();
            let t = Instant::now();
            let bytes = train_native(train_ds, &params, workers)?;
            rec.timed("native", "train", i, t);
            out.native_heap = out.native_heap.max(heap.peak());
            out.native_model = Some(bytes);
        }
        for py in pythons.iter_mut() {
            let seconds = py.fit()?;
            rec.round(&py.system, "train", i, seconds);
        }
        bar.inc();
    }
    bar.finish();
    Ok(out)
}

/// What the prediction side measured.
struct Inferred {
    predicted: Predicted,
    /// Peak guest memory of the prediction instances.
    peak_memory: u64,
    gpu_name: Option<String>,
}

/// Loads the saved model (timed), then predicts the test set in rounds with
/// the sandbox, the GPU import, the native forest and the Python systems.
fn inference(
    rt: &Runtime,
    args: &CompareArgs,
    rec: &mut Recorder,
    pythons: &mut [PythonServer],
    test_xy: &Xy,
    trained: &Trained,
    (workers, gpu_name): (usize, Option<String>),
) -> Result<Inferred> {
    let repeat = args.repeat;
    let workers = prediction_workers(workers, test_xy.n_rows);
    let need = inference_bytes(trained.model.len(), test_xy.features.len() / workers);
    let mut predictor = load_phase(rt, rec, &args.model_path(), workers, need, repeat)?;
    let native_forest = trained
        .native_model
        .as_ref()
        .map(|bytes| {
            rec.phase("native", "load", repeat, || {
                Ok(forest::model::from_bytes(bytes)?)
            })
        })
        .transpose()?;
    let devices = Devices {
        predictor: &mut predictor,
        gpu: gpu_name.is_some(),
        native: native_forest.as_ref(),
        native_workers: workers,
    };
    let predicted = prediction_rounds(rec, devices, pythons, test_xy, repeat)?;
    let peak_memory = predictor.peak_memory() as u64;
    predictor.drop_models()?;
    Ok(Inferred {
        predicted,
        peak_memory,
        gpu_name,
    })
}

/// Reads the model file back into fresh prediction instances, timed
/// (instantiation included, so that no run keeps the memory of the models
/// loaded before it); the last load is kept for predicting.
fn load_phase(
    rt: &Runtime,
    rec: &mut Recorder,
    model_path: &Path,
    workers: usize,
    need: u64,
    repeat: u32,
) -> Result<Predictor> {
    let mut loaded = None;
    for i in 0..=repeat {
        drop(loaded.take());
        let t = Instant::now();
        let bytes = crate::fsio::read_model(model_path)?;
        let predictor = Predictor::new(rt, &bytes, workers, need)?;
        if i > 0 {
            rec.record("wasm", "load", i, t.elapsed().as_secs_f64());
        }
        loaded = Some(predictor);
    }
    Ok(loaded.expect("repeat >= 1"))
}

/// Whether system wasm-gpu trains too: with a GPU and splitter level (else
/// `skipped` says why not).
fn gpu_trains(gpu: bool, params: &Params, skipped: &mut Vec<(String, String)>) -> bool {
    let level = params.splitter == forest::SplitterKind::Level;
    if gpu && !level {
        let why = format!(
            "splitter {} grows on the CPU; --splitter level trains on the GPU",
            params.splitter
        );
        skipped.push(("wasm-gpu training".to_string(), why));
    }
    gpu && level
}

/// The GPU adapter's name, if the GPU import is to be measured (`--device
/// gpu` without one is an error).
fn gpu_adapter(args: &CompareArgs, skipped: &mut Vec<(String, String)>) -> Result<Option<String>> {
    if !args.gpu() {
        let flag = if args.no_gpu {
            "--no-gpu"
        } else {
            "--device cpu"
        };
        skipped.push(("wasm-gpu".to_string(), flag.to_string()));
        return Ok(None);
    }
    match crate::gpu::shared() {
        Err(e) if args.device == DeviceArg::Gpu => bail!("--device gpu: {e}"),
        Err(e) => {
            println!("[WASM-GPU] Skipped: {e}");
            skipped.push(("wasm-gpu".to_string(), e.to_string()));
            Ok(None)
        }
        Ok(gpu) => Ok(Some(gpu.adapter_info().name.clone())),
    }
}

/// The predictors measured besides the Python systems.
struct Devices<'a> {
    predictor: &'a mut Predictor,
    /// Whether the GPU import is measured too.
    gpu: bool,
    native: Option<&'a forest::Forest>,
    native_workers: usize,
}

/// The last predictions of each system measured here.
struct Predicted {
    wasm: Vec<f64>,
    gpu: Option<Vec<f64>>,
    native: Option<Vec<f64>>,
}

/// A warm-up round, then `repeat` timed ones, each predicting the test set
/// with every system (and the GPU import) once.
fn prediction_rounds(
    rec: &mut Recorder,
    d: Devices,
    pythons: &mut [PythonServer],
    test_xy: &Xy,
    repeat: u32,
) -> Result<Predicted> {
    println!("[ROUNDS] Prediction: a warm-up round, then {repeat} timed, as above");
    let bar = Progress::new("prediction rounds", u64::from(repeat) + 1);
    let n_test = test_xy.n_rows as u32;
    let mut out = Predicted {
        wasm: Vec::new(),
        gpu: None,
        native: None,
    };
    for i in 0..=repeat {
        let t = Instant::now();
        out.wasm = d
            .predictor
            .predict(&test_xy.features, n_test, Device::Cpu)?
            .values;
        rec.timed("wasm", "predict", i, t);
        if d.gpu {
            let t = Instant::now();
            let p = d
                .predictor
                .predict(&test_xy.features, n_test, Device::Gpu)?;
            rec.timed("wasm-gpu", "predict", i, t);
            out.gpu = Some(p.values);
        }
        if let Some(forest) = d.native {
            let t = Instant::now();
            let p = predict_native(forest, &test_xy.features, test_xy.n_rows, d.native_workers)?;
            rec.timed("native", "predict", i, t);
            out.native = Some(p);
        }
        for py in pythons.iter_mut() {
            let seconds = py.predict()?;
            rec.round(&py.system, "predict", i, seconds);
        }
        bar.inc();
    }
    bar.finish();
    Ok(out)
}

/// The table rows of wasm, wasm-gpu and native; `peaks` are the guest
/// memory of the wasm row and the native heap.
fn local_summaries(
    rec: &Recorder,
    p: &Predicted,
    test_y: &[f64],
    workers: usize,
    gpu_name: Option<&str>,
    (peak_guest, native_heap): (u64, Option<u64>),
) -> Vec<SystemSummary> {
    let mut systems = vec![summary(
        rec,
        "wasm",
        &format!("cpu (sandbox, {})", plural(workers, "worker")),
        mse(&p.wasm, test_y),
        Some(peak_guest),
        "guest linear memory",
    )];
    if let (Some(name), Some(g)) = (gpu_name, &p.gpu) {
        let device = format!("gpu import ({name})");
        systems.push(summary(rec, "wasm-gpu", &device, mse(g, test_y), None, ""));
    }
    if let Some(n) = &p.native {
        let device = format!("cpu ({})", plural(workers, "thread"));
        systems.push(summary(
            rec,
            "native",
            &device,
            mse(n, test_y),
            native_heap,
            "heap",
        ));
    }
    systems
}

/// Ends a Python system's process: its table row and its last predictions.
fn python_summary(rec: &Recorder, py: PythonServer) -> Result<(SystemSummary, Vec<f64>)> {
    println!("[PYTHON] {} done:", py.system);
    let r = py.finish()?;
    let device = match (r.device.as_deref(), r.library.as_deref()) {
        (Some(d), Some(l)) => format!("{d} ({l})"),
        (d, _) => d.unwrap_or("?").to_string(),
    };
    let mse = r.mse.context("reference.py returned no MSE")?;
    let row = summary(
        rec,
        &r.system,
        &device,
        mse,
        r.peak_rss_bytes,
        "process peak RSS",
    );
    Ok((row, r.predictions.unwrap_or_default()))
}

/// Speed ratios against scikit-learn n_jobs=1, when it ran.
fn speedups(systems: &mut [SystemSummary]) {
    let Some((t, p)) = systems
        .iter()
        .find(|s| s.system == "sklearn-1")
        .map(|s| (s.train_median_s, s.predict_median_s))
    else {
        return;
    };
    for s in systems {
        s.train_speedup_vs_sklearn_1 = t.zip(s.train_median_s).map(|(b, m)| b / m);
        s.predict_speedup_vs_sklearn_1 = Some(p / s.predict_median_s);
    }
}

/// Prints the report, and writes it as JSON and as a plot where asked.
fn write_report(report: &CompareReport, args: &CompareArgs, model_path: &Path) -> Result<()> {
    print_report(report, model_path);
    if let Some(path) = &args.json {
        write_output(path, serde_json::to_string_pretty(report)?.as_bytes())?;
        println!("[REPORT] JSON written to: {}", path.display());
    }
    if let Some(path) = &args.plot {
        plot::phase_medians(report, path)?;
        println!("[REPORT] Plot written to: {}", path.display());
    }
    Ok(())
}

fn summary(
    rec: &Recorder,
    system: &str,
    device: &str,
    mse: f64,
    peak: Option<u64>,
    kind: &str,
) -> SystemSummary {
    SystemSummary {
        system: system.into(),
        device: device.into(),
        train_median_s: rec.median(system, "train"),
        predict_median_s: rec.median(system, "predict").unwrap_or(f64::NAN),
        mse,
        peak_memory_bytes: peak,
        memory_kind: kind.into(),
        train_speedup_vs_sklearn_1: None,
        predict_speedup_vs_sklearn_1: None,
    }
}
