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
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::bench::{dataset_name, load_test, load_training, train_native, training_bytes};
use crate::cli::CompareArgs;
use crate::fsio::write_output;
use crate::memory::{HeapPeak, peak_rss};
use crate::parallel::{self, Predictor};
use crate::progress::Progress;
use crate::runtime::{Device, Runtime};
use crate::stats::{Summary, mib, ms, mse};
use crate::{plot, synthetic};
use forest::Params;

/// The Python reference, built into the binary so `compare` works from anywhere.
const REFERENCE_PY: &str = include_str!("../../python/reference.py");

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

/// The Python side's closing JSON (see python/reference.py); its times come
/// one at a time, as the rounds run.
#[derive(Debug, Deserialize)]
struct PythonResult {
    system: String,
    device: Option<String>,
    library: Option<String>,
    mse: Option<f64>,
    peak_rss_bytes: Option<u64>,
}

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
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a native worker panicked"))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let mut values = Vec::with_capacity(n_rows);
    for out in outs {
        values.extend(out?);
    }
    Ok(values)
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

pub fn run(rt: &Runtime, args: &CompareArgs, workers: usize) -> Result<CompareReport> {
    let params = args.forest.params(200, Some(16));
    let repeat = args.repeat;
    let (dataset, train_csv, test_csv) = resolve_data(args, rt.data_budget())?;
    let (train_xy, train_ds) = load_training(&train_csv, args.target.as_deref(), rt.data_budget())?;
    let test_xy = load_test(&test_csv, &train_xy, rt.data_budget())?;
    let test_y = test_xy
        .targets
        .clone()
        .expect("load_test requires the target column");
    println!(
        "=== COMPARE: {dataset} ({} train / {} test rows, {} features), {} trees, max_depth {}, median of {repeat} after a warm-up ===",
        train_xy.n_rows,
        test_xy.n_rows,
        train_xy.n_features(),
        params.n_estimators,
        params
            .max_depth
            .map_or_else(|| "none".into(), |d| d.to_string())
    );
    let mut rec = Recorder {
        dataset: dataset.clone(),
        rows: Vec::new(),
    };
    let mut systems = Vec::new();
    let mut skipped = Vec::new();

    // --- Python: scikit-learn (and cuML), one serving process per system,
    // started first so that their imports and CSV parsing are over before
    // anything is timed.
    let mut pythons = Vec::new();
    if args.no_python {
        skipped.push(("python".to_string(), "--no-python".to_string()));
    } else {
        match python_ready(&args.python) {
            Err(reason) => {
                println!(
                    "[PYTHON] Skipped: {reason}. To add scikit-learn (and cuML on a CUDA machine) to the table: \
                     pip install -r python/requirements.txt"
                );
                skipped.push(("python".to_string(), reason));
            }
            Ok(()) => {
                for system in ["sklearn-1", "sklearn-all", "cuml"] {
                    println!("[PYTHON] Starting {system}...");
                    match PythonServer::start(args, system, &train_csv, &test_csv, &params)? {
                        Ok(server) => pythons.push(server),
                        Err(reason) => {
                            println!("[PYTHON] {system} skipped: {reason}");
                            skipped.push((system.to_string(), reason));
                        }
                    }
                }
            }
        }
    }

    // --- wasm: the component in the sandbox, phase by phase.
    println!("[WASM] Running in the wasm sandbox...");
    rec.phase("wasm", "compile (cold)", repeat, || {
        rt.cold_compile().map(drop)
    })?;
    rec.phase("wasm", "compile (warm, precompiled)", repeat, || {
        rt.warm_compile().map(drop)
    })?;
    rec.phase("wasm", "instantiate", repeat, || {
        rt.instantiate(training_bytes(&train_ds, &params)).map(drop)
    })?;
    let mut jobs = Vec::new();
    for _ in 0..=repeat {
        jobs.push(rt.instantiate(training_bytes(&train_ds, &params))?);
    }
    let zero_trees = Params {
        n_estimators: 0,
        ..params.clone()
    };
    let mut i = 0;
    rec.phase("wasm", "copy-in (lift + validate)", repeat, || {
        // n_estimators = 0 is rejected right after the data is lifted and
        // checked, so this times the boundary crossing alone.
        let r = jobs[i].train(&train_ds, &zero_trees);
        i += 1;
        match r {
            Err(e) if format!("{e}").contains("n_estimators") => Ok(()),
            other => bail!(
                "the copy-in probe expected an n_estimators error, got {:?}",
                other.map(|b| b.len())
            ),
        }
    })?;
    // --- Training rounds: wasm, native and every Python system once a round.
    let names: Vec<&str> = ["wasm"]
        .into_iter()
        .chain((!args.no_native).then_some("native"))
        .chain(pythons.iter().map(|p| p.system.as_str()))
        .collect();
    println!(
        "[ROUNDS] Training: a warm-up round, then {repeat} timed; each round runs {}",
        names.join(", ")
    );
    let bar = Progress::new("training rounds", u64::from(repeat) + 1);
    let mut peak_guest = 0u64;
    let (mut peak_worker, mut peak_workers) = (0u64, 0u64);
    let (mut model, mut native_model, mut native_heap) = (Vec::new(), None, None::<u64>);
    for i in 0..=repeat {
        let t = Instant::now();
        let trained = parallel::train(
            rt,
            &train_ds,
            &params,
            workers,
            training_bytes(&train_ds, &params),
            None,
        )?;
        rec.timed("wasm", "train", i, t);
        peak_guest = peak_guest.max(trained.peak_memory as u64);
        peak_worker = peak_worker.max(trained.peak_worker_memory as u64);
        peak_workers = peak_workers.max(trained.peak_memory as u64);
        if i > 0 && trained.model != model {
            bail!(
                "two sandboxed training runs with the same seed gave different models: this is a bug"
            );
        }
        model = trained.model;
        if !args.no_native {
            let heap = HeapPeak::start();
            let t = Instant::now();
            let bytes = train_native(&train_ds, &params, workers)?;
            rec.timed("native", "train", i, t);
            native_heap = native_heap.max(heap.peak());
            native_model = Some(bytes);
        }
        for py in &mut pythons {
            let seconds = py.fit()?;
            rec.round(&py.system, "train", i, seconds);
        }
        bar.inc();
    }
    bar.finish();
    let model_path = args.model_path();
    rec.phase("wasm", "save", repeat, || write_output(&model_path, &model))?;
    // Each load goes into fresh instances (instantiation timed too), so no
    // run pays for, or keeps the memory of, the models loaded before it.
    let n_test = test_xy.n_rows as u32;
    let pred_workers = workers.min(test_xy.n_rows.div_ceil(10_000)).max(1);
    let inference_need =
        16 * (model.len() as u64 + 4 * test_xy.features.len() as u64 / pred_workers as u64);
    let mut loaded = None;
    for i in 0..=repeat {
        drop(loaded.take());
        let t = Instant::now();
        let bytes = std::fs::read(&model_path)
            .with_context(|| format!("reading {}", model_path.display()))?;
        let predictor = Predictor::new(rt, &bytes, pred_workers, inference_need)?;
        if i > 0 {
            rec.record("wasm", "load", i, t.elapsed().as_secs_f64());
        }
        loaded = Some(predictor);
    }
    let mut predictor = loaded.expect("repeat >= 1");
    let identical = native_model.as_ref().map(|b| *b == model);
    let native_forest = match &native_model {
        Some(bytes) => Some(rec.phase("native", "load", repeat, || {
            Ok(forest::model::from_bytes(bytes)?)
        })?),
        None => None,
    };
    let gpu_name = if args.no_gpu {
        skipped.push(("wasm-gpu".to_string(), "--no-gpu".to_string()));
        None
    } else {
        match crate::gpu::shared() {
            Err(e) => {
                println!("[WASM-GPU] Skipped: {e}");
                skipped.push(("wasm-gpu".to_string(), e.to_string()));
                None
            }
            Ok(gpu) => Some(gpu.adapter_info().name.clone()),
        }
    };

    // --- Prediction rounds: the same systems (and the GPU import) once a round.
    println!("[ROUNDS] Prediction: a warm-up round, then {repeat} timed, as above");
    let bar = Progress::new("prediction rounds", u64::from(repeat) + 1);
    let (mut wasm_pred, mut gpu_pred, mut native_pred) = (Vec::new(), None, None);
    for i in 0..=repeat {
        let t = Instant::now();
        wasm_pred = predictor
            .predict(&test_xy.features, n_test, Device::Cpu)?
            .values;
        rec.timed("wasm", "predict", i, t);
        if gpu_name.is_some() {
            let t = Instant::now();
            let p = predictor.predict(&test_xy.features, n_test, Device::Gpu)?;
            rec.timed("wasm-gpu", "predict", i, t);
            gpu_pred = Some(p.values);
        }
        if let Some(forest) = &native_forest {
            let t = Instant::now();
            let p = predict_native(forest, &test_xy.features, test_xy.n_rows, pred_workers)?;
            rec.timed("native", "predict", i, t);
            native_pred = Some(p);
        }
        for py in &mut pythons {
            let seconds = py.predict()?;
            rec.round(&py.system, "predict", i, seconds);
        }
        bar.inc();
    }
    bar.finish();
    let peak_inference = predictor.peak_memory() as u64;
    peak_guest = peak_guest.max(peak_inference);
    predictor.drop_models()?;
    systems.push(summary(
        &rec,
        "wasm",
        &format!("cpu (sandbox, {})", plural(workers, "worker")),
        mse(&wasm_pred, &test_y),
        Some(peak_guest),
        "guest linear memory",
    ));
    if let (Some(name), Some(p)) = (&gpu_name, &gpu_pred) {
        systems.push(summary(
            &rec,
            "wasm-gpu",
            &format!("gpu import ({name})"),
            mse(p, &test_y),
            None,
            "",
        ));
    }
    if let Some(p) = &native_pred {
        systems.push(summary(
            &rec,
            "native",
            &format!("cpu ({})", plural(workers, "thread")),
            mse(p, &test_y),
            native_heap,
            "heap",
        ));
    }
    for py in pythons {
        println!("[PYTHON] {} done:", py.system);
        let r = py.finish()?;
        let device = match (r.device.as_deref(), r.library.as_deref()) {
            (Some(d), Some(l)) => format!("{d} ({l})"),
            (d, _) => d.unwrap_or("?").to_string(),
        };
        let mse = r.mse.context("reference.py returned no MSE")?;
        systems.push(summary(
            &rec,
            &r.system,
            &device,
            mse,
            r.peak_rss_bytes,
            "process peak RSS",
        ));
    }

    let base = systems
        .iter()
        .find(|s| s.system == "sklearn-1")
        .map(|s| (s.train_median_s, s.predict_median_s));
    for s in &mut systems {
        if let Some((t, p)) = base {
            s.train_speedup_vs_sklearn_1 = t.zip(s.train_median_s).map(|(b, m)| b / m);
            s.predict_speedup_vs_sklearn_1 = Some(p / s.predict_median_s);
        }
    }
    let ratio = match (rec.median("wasm", "train"), rec.median("native", "train")) {
        (Some(w), Some(n)) => Some(w / n),
        _ => None,
    };
    let report = CompareReport {
        dataset,
        train_csv,
        test_csv,
        n_train: train_xy.n_rows,
        n_test: test_xy.n_rows,
        n_features: train_xy.n_features(),
        params: params.clone(),
        repeat,
        systems,
        skipped,
        rows: rec.rows,
        wasm_native_train_ratio: ratio,
        model_bytes_identical: identical,
        peak_guest_memory_bytes: peak_guest,
        peak_guest_memory_train_worker_bytes: peak_worker,
        peak_guest_memory_train_bytes: peak_workers,
        peak_guest_memory_inference_bytes: peak_inference,
        host_peak_rss_bytes: peak_rss(),
        cpu_count: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    print_report(&report, &model_path);
    if let Some(path) = &args.json {
        write_output(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
        println!("[REPORT] JSON written to: {}", path.display());
    }
    if let Some(path) = &args.plot {
        plot::phase_medians(&report, path)?;
        println!("[REPORT] Plot written to: {}", path.display());
    }
    if identical == Some(false) {
        bail!(
            "the sandboxed and native models differ: the same seed must give the same bytes (a bug)"
        );
    }
    Ok(report)
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

fn python_ready(python: &str) -> Result<(), String> {
    match Command::new(python)
        .args(["-c", "import sklearn, numpy"])
        .output()
    {
        Err(e) => Err(format!("{python} cannot be run ({e})")),
        Ok(o) if !o.status.success() => Err(format!("{python} has no scikit-learn")),
        Ok(_) => Ok(()),
    }
}

/// `reference.py --serve` for one system: fits and predicts on command, so
/// that its runs can be interleaved with the other systems' (see the module
/// documentation).
struct PythonServer {
    system: String,
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    /// Its standard error (shown if it fails), and the script's directory.
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl PythonServer {
    /// Starts `system` and waits until its data is loaded; `Ok(Err(reason))`
    /// when the system cannot run here (cuML without a CUDA GPU).
    fn start(
        args: &CompareArgs,
        system: &str,
        train: &Path,
        test: &Path,
        p: &Params,
    ) -> Result<Result<PythonServer, String>> {
        use std::process::Stdio;
        let dir = tempfile::tempdir()
            .context("creating a temporary directory for the Python reference")?;
        let script = dir.path().join("reference.py");
        std::fs::write(&script, REFERENCE_PY).context("writing the Python reference")?;
        let stderr = dir.path().join("stderr.txt");
        let mut cmd = Command::new(&args.python);
        cmd.arg(&script)
            .args(["--system", system, "--serve", "--train"])
            .arg(train)
            .arg("--test")
            .arg(test)
            .args(["--n-estimators", &p.n_estimators.to_string()])
            .args([
                "--max-depth",
                &p.max_depth.map_or_else(|| "none".into(), |d| d.to_string()),
            ])
            .args(["--min-samples-split", &p.min_samples_split.to_string()])
            .args(["--min-samples-leaf", &p.min_samples_leaf.to_string()])
            .args(["--max-features", &p.max_features.to_string()])
            .args(["--bootstrap", if p.bootstrap { "true" } else { "false" }])
            .args(["--seed", &p.seed.to_string()]);
        if let Some(t) = &args.target {
            cmd.args(["--target", t]);
        }
        if let Some(m) = p.max_samples {
            cmd.args(["--max-samples", &m.to_string()]);
        }
        // stderr to a file: a pipe nobody reads could fill and stall it.
        let err_file = std::fs::File::create(&stderr).context("creating the Python stderr file")?;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err_file)
            .spawn()
            .with_context(|| format!("running {}", args.python))?;
        let stdin = child.stdin.take().context("the Python reference's stdin")?;
        let stdout = child
            .stdout
            .take()
            .context("the Python reference's stdout")?;
        let mut server = PythonServer {
            system: system.to_string(),
            child,
            stdin,
            stdout: std::io::BufRead::lines(std::io::BufReader::new(stdout)),
            stderr,
            _dir: dir,
        };
        let first = server.answer()?;
        if let Some(reason) = first.get("skipped").and_then(|r| r.as_str()) {
            let _ = server.child.wait();
            return Ok(Err(reason.to_string()));
        }
        if first.get("ready").is_none() {
            bail!("reference.py --system {system}: expected it to be ready, got {first}");
        }
        Ok(Ok(server))
    }

    /// The next `@@` answer; the lines before it are its log, shown indented.
    fn answer(&mut self) -> Result<serde_json::Value> {
        loop {
            match self.stdout.next() {
                Some(line) => {
                    let line = line.context("reading the Python reference's output")?;
                    match line.strip_prefix("@@ ") {
                        Some(json) => {
                            let v: serde_json::Value = serde_json::from_str(json)
                                .context("parsing the Python reference's answer")?;
                            if let Some(e) = v.get("error") {
                                bail!("reference.py --system {}: {e}", self.system);
                            }
                            return Ok(v);
                        }
                        None => println!("  {line}"),
                    }
                }
                None => {
                    let status = self.child.wait().ok();
                    let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                    bail!(
                        "reference.py --system {} stopped ({}):\n{err}",
                        self.system,
                        status.map_or_else(|| "?".into(), |s| s.to_string())
                    );
                }
            }
        }
    }

    fn call(&mut self, command: &str, field: &str) -> Result<f64> {
        use std::io::Write;
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .with_context(|| {
                format!("sending {command} to reference.py --system {}", self.system)
            })?;
        let v = self.answer()?;
        v.get(field)
            .and_then(|s| s.as_f64())
            .with_context(|| format!("reference.py answered {command} with {v}"))
    }

    /// Fits a fresh model: seconds.
    fn fit(&mut self) -> Result<f64> {
        self.call("fit", "train_s")
    }

    /// Predicts the test set with the last model: seconds.
    fn predict(&mut self) -> Result<f64> {
        self.call("predict", "predict_s")
    }

    /// Ends the process: its result (MSE, device, peak RSS).
    fn finish(mut self) -> Result<PythonResult> {
        use std::io::Write;
        writeln!(self.stdin, "done").context("ending the Python reference")?;
        let v = self.answer()?;
        let _ = self.child.wait();
        serde_json::from_value(v).context("parsing the Python reference's result")
    }
}

fn print_report(r: &CompareReport, model_path: &Path) {
    println!();
    println!("=== RESULTS: {} ===", r.dataset);
    println!(
        "{:<12} {:<36} {:>11} {:>11} {:>11} {:>28} {:>9} {:>9}",
        "system", "device", "train", "predict", "MSE", "peak memory", "train x", "predict x"
    );
    for s in &r.systems {
        let mem = s
            .peak_memory_bytes
            .map_or_else(|| "n/a".into(), |b| format!("{} {}", mib(b), s.memory_kind));
        let x = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}"));
        println!(
            "{:<12} {:<36} {:>11} {:>11} {:>11.4} {:>28} {:>9} {:>9}",
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

/// "1 worker", "2 workers".
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
