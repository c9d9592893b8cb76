//! `wasm_forest._native`: the host library's training, prediction and model
//! files for Python. The estimator (`wasm_forest/_estimator.py`) validates
//! its inputs with scikit-learn and calls these; nothing here is Python API
//! a user should need directly.
//!
//! Every call into the sandbox runs with the GIL released. Training runs on
//! a thread of its own while the calling thread wakes a few times a second
//! to feed the progress callback and to let Ctrl-C raise `KeyboardInterrupt`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use wasm_forest::jobs::inference_bytes;
use wasm_forest::parallel::{self, Predictor, Trained};
use wasm_forest::progress::TreeProgress;
use wasm_forest::runtime::{
    Dataset, Device, FaultKind, GuestError, Limits, ModelInfo, OnTimeout, Runtime, SandboxFault,
};

/// The sandbox a call runs in: its limits, and how many instances.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Sandbox {
    n_workers: Option<usize>,
    device: String,
    max_memory_mib: Option<u64>,
    timeout_s: Option<f64>,
}

impl Sandbox {
    fn workers(&self) -> usize {
        self.n_workers
            .unwrap_or_else(parallel::default_workers)
            .max(1)
    }

    fn device(&self) -> PyResult<Device> {
        match self.device.as_str() {
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            "auto" => Ok(Device::Auto),
            d => Err(PyValueError::new_err(format!(
                "device must be 'cpu', 'gpu' or 'auto', got {d:?}"
            ))),
        }
    }

    /// What tells runtimes apart: memory cap, timeout, GPU lent or not.
    fn key(&self) -> PyResult<RuntimeKey> {
        Ok((
            self.max_memory_mib,
            self.timeout_s.map(f64::to_bits),
            self.device()? != Device::Cpu,
        ))
    }

    /// The runtime for these limits, compiled (or loaded from the compile
    /// cache) once per process and shared by every later call.
    fn runtime(&self) -> PyResult<Arc<Runtime>> {
        let timeout = self.timeout_s.map(|s| {
            Duration::try_from_secs_f64(s)
                .map_err(|_| PyValueError::new_err(format!("timeout_s must be > 0, got {s}")))
        });
        let limits = Limits {
            max_memory: self.max_memory_mib.map(|m| m.saturating_mul(1 << 20)),
            // Without a timeout the guest runs unchecked, at full speed (no
            // epoch checks); Ctrl-C still returns control to Python.
            timeout: timeout.transpose()?.unwrap_or(Duration::MAX),
            on_timeout: match self.timeout_s {
                Some(_) => OnTimeout::Trap,
                None => OnTimeout::ExitProcess,
            },
            fuel: None,
        };
        let key = self.key()?;
        static RUNTIMES: Mutex<Vec<(RuntimeKey, Arc<Runtime>)>> = Mutex::new(Vec::new());
        let mut runtimes = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, rt)) = runtimes.iter().find(|(k, _)| *k == key) {
            return Ok(rt.clone());
        }
        let cache = wasm_forest::runtime::default_cache_dir();
        let mut rt = Runtime::with_cache(None, limits, cache.as_deref()).map_err(to_py)?;
        rt.allow_gpu(key.2).map_err(to_py)?;
        let rt = Arc::new(rt);
        runtimes.push((key, rt.clone()));
        Ok(rt)
    }
}

type RuntimeKey = (Option<u64>, Option<u64>, bool);

/// The hyperparameters, already in the forest crate's spelling (the
/// estimator maps scikit-learn's types to it).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct ParamsArg {
    n_estimators: u32,
    max_depth: Option<u32>,
    min_samples_split: u32,
    min_samples_leaf: u32,
    max_features: String,
    bootstrap: bool,
    max_samples: Option<String>,
    seed: u64,
    splitter: String,
    min_weight_fraction_leaf: f64,
    max_leaf_nodes: Option<u32>,
    min_impurity_decrease: f64,
}

impl ParamsArg {
    fn params(&self) -> PyResult<forest::Params> {
        let bad = |what: &str, e: String| PyValueError::new_err(format!("{what}: {e}"));
        Ok(forest::Params {
            n_estimators: self.n_estimators,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            max_features: self
                .max_features
                .parse()
                .map_err(|e| bad("max_features", e))?,
            bootstrap: self.bootstrap,
            max_samples: match &self.max_samples {
                Some(m) => Some(m.parse().map_err(|e| bad("max_samples", e))?),
                None => None,
            },
            seed: self.seed,
            splitter: self.splitter.parse().map_err(|e| bad("splitter", e))?,
            min_weight_fraction_leaf: self.min_weight_fraction_leaf,
            max_leaf_nodes: self.max_leaf_nodes,
            min_impurity_decrease: self.min_impurity_decrease,
        })
    }
}

/// A host error as the Python exception its kind calls for: the
/// component's `forest-error` as `ValueError`; a sandbox fault as
/// `wasm_forest.SandboxTimeout` / `SandboxMemoryError` / `SandboxError`.
fn to_py(e: anyhow::Error) -> PyErr {
    // The limits by their names here, not the command line's.
    let text = format!("{e:#}")
        .replace("(see --timeout)", "(see timeout_s)")
        .replace("(see --max-memory)", "(see max_memory_mib)");
    for cause in e.chain() {
        if let Some(GuestError(fe)) = cause.downcast_ref::<GuestError>() {
            let message = GuestError(fe.clone()).to_string();
            return match fe {
                wasm_forest::runtime::ForestError::Gpu(_) => python_error("GpuError", message),
                _ => PyValueError::new_err(message),
            };
        }
        if let Some(fe) = cause.downcast_ref::<forest::ForestError>() {
            return PyValueError::new_err(fe.to_string());
        }
        if let Some(fault) = cause.downcast_ref::<SandboxFault>() {
            let class = match fault.kind {
                FaultKind::Timeout => "SandboxTimeout",
                FaultKind::MemoryLimit => "SandboxMemoryError",
                FaultKind::OutOfFuel | FaultKind::Trap => "SandboxError",
            };
            return python_error(class, text);
        }
    }
    python_error("SandboxError", text)
}

/// An exception of `wasm_forest._errors` (defined in Python, so that
/// `SandboxTimeout` can also be a `TimeoutError`, and so on).
fn python_error(class: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("wasm_forest._errors")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.call1((message.clone(),)));
        match made {
            Ok(e) => PyErr::from_value(e),
            Err(_) => PyRuntimeError::new_err(message),
        }
    })
}

/// A C-contiguous 2-D float32 array as (rows, columns, values).
fn matrix(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<(usize, usize, Vec<f32>)> {
    let buf = PyBuffer::<f32>::get(x)?;
    let shape = buf.shape();
    if shape.len() != 2 || !buf.is_c_contiguous() {
        return Err(PyValueError::new_err(
            "X must be a C-contiguous 2-D float32 array",
        ));
    }
    Ok((shape[0], shape[1], buf.to_vec(py)?))
}

fn rows_u32(n: usize) -> PyResult<u32> {
    u32::try_from(n).map_err(|_| PyValueError::new_err(format!("{n} rows: at most 2^32 - 1")))
}

/// A float64 vector of one value per row of X (`what` names it in errors).
fn per_row(py: Python<'_>, v: &Bound<'_, PyAny>, n_rows: usize, what: &str) -> PyResult<Vec<f64>> {
    let v = PyBuffer::<f64>::get(v)?.to_vec(py)?;
    if v.len() != n_rows {
        return Err(PyValueError::new_err(format!(
            "{what} has {} values for {n_rows} rows of X",
            v.len()
        )));
    }
    Ok(v)
}

/// The training set as the WIT hands it to the component; `w`: the sample
/// weights, if any (float64, one per row).
fn dataset(
    py: Python<'_>,
    (x, y, w): (
        &Bound<'_, PyAny>,
        &Bound<'_, PyAny>,
        Option<&Bound<'_, PyAny>>,
    ),
    names: (Option<Vec<String>>, Option<String>),
) -> PyResult<Dataset> {
    let (n_rows, n_features, features) = matrix(py, x)?;
    let targets = per_row(py, y, n_rows, "y")?;
    let sample_weight = w
        .map(|w| per_row(py, w, n_rows, "sample_weight"))
        .transpose()?;
    Ok(Dataset {
        n_rows: rows_u32(n_rows)?,
        n_features: rows_u32(n_features)?,
        features,
        targets,
        feature_names: names.0,
        target_name: names.1,
        sample_weight,
    })
}

/// Seconds of each phase the host measured, by name.
fn phase_seconds(
    trained: &Trained,
    runtime: Duration,
    sandbox: Duration,
) -> HashMap<&'static str, f64> {
    let p = &trained.phases;
    HashMap::from([
        ("runtime", runtime.as_secs_f64()),
        ("instantiate", p.instantiate.as_secs_f64()),
        ("copy_in", p.copy_in.as_secs_f64()),
        ("grow", p.grow.as_secs_f64()),
        ("merge", p.merge.as_secs_f64()),
        ("sandbox", sandbox.as_secs_f64()),
    ])
}

/// What `train` returns: the model file bytes, the phase times (seconds)
/// and where the trees grew (see [`placement_text`]).
type Fitted<'py> = (Bound<'py, PyBytes>, Bound<'py, PyDict>, PlacementText);

/// Where trees grew: "cpu" or "gpu", and why not on the GPU if it matters.
type PlacementText = (String, Option<String>);

/// Trains in the sandbox (see [`Fitted`]); `progress(trees_done)` is called
/// a few times a second if given; `sample_weight`: float64, one per row.
#[pyfunction]
#[pyo3(signature = (x, y, params, sandbox, names, progress=None, sample_weight=None))]
#[allow(clippy::too_many_arguments)] // the data, the settings and two optional ones
fn train<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    params: ParamsArg,
    sandbox: Sandbox,
    names: (Option<Vec<String>>, Option<String>),
    progress: Option<Bound<'py, PyAny>>,
    sample_weight: Option<Bound<'py, PyAny>>,
) -> PyResult<Fitted<'py>> {
    let params = params.params()?;
    let ds = dataset(py, (x, y, sample_weight.as_ref()), names)?;
    let t = Instant::now();
    // Compiled (or loaded from the compile cache) on a process's first call.
    let rt = sandbox.runtime()?;
    let runtime = t.elapsed();
    let (device, workers) = (sandbox.device()?, sandbox.workers());
    let t = Instant::now();
    let trained = with_progress(py, (params.n_estimators, workers), progress, |sink| {
        move || parallel::train(&rt, &ds, &params, (device, workers), Some(sink))
    })?;
    let phases = phase_seconds(&trained, runtime, t.elapsed()).into_pyobject(py)?;
    let bytes = PyBytes::new(py, &trained.model);
    Ok((bytes, phases, placement_text(&trained.placements)))
}

/// Grows trees `first..first + count` of the forest `params` describes, as
/// `train` grows all of them, and returns the parts unmerged (for
/// `merge_parts`, with the parts of the other ranges: the Ray backend's
/// tasks). `progress(trees_done)` as for `train`.
#[pyfunction]
#[pyo3(signature = (x, y, params, sandbox, names, trees, progress=None, sample_weight=None))]
#[allow(clippy::too_many_arguments)] // train's, plus the range
fn grow_parts<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    params: ParamsArg,
    sandbox: Sandbox,
    names: (Option<Vec<String>>, Option<String>),
    trees: (u32, u32),
    progress: Option<Bound<'py, PyAny>>,
    sample_weight: Option<Bound<'py, PyAny>>,
) -> PyResult<(Vec<Bound<'py, PyBytes>>, PlacementText)> {
    let params = params.params()?;
    let ds = dataset(py, (x, y, sample_weight.as_ref()), names)?;
    let rt = sandbox.runtime()?;
    let (device, workers) = (sandbox.device()?, sandbox.workers());
    let n_workers = parallel::training_workers(trees.1, workers);
    let counter = Arc::new(TreeProgress::new(n_workers, trees.1, None));
    let sink = counter.clone();
    let job = move || parallel::grow_range(&rt, &ds, &params, (device, workers), trees, Some(sink));
    let grown = in_background(py, job, || match &progress {
        Some(cb) => cb.call1((counter.trees_done(),)).map(drop),
        None => Ok(()),
    })?
    .map_err(to_py)?;
    let parts = grown.parts.iter().map(|p| PyBytes::new(py, p)).collect();
    Ok((parts, placement_text(&grown.placements)))
}

/// Where trees grew ([`parallel::placement_of`]), as Python sees it.
fn placement_text(placements: &[wasm_forest::runtime::Placement]) -> PlacementText {
    let p = parallel::placement_of(placements);
    let device = if p.device == Device::Gpu {
        "gpu"
    } else {
        "cpu"
    };
    (device.to_string(), p.note)
}
/// Merges the parts of every range of a forest into its model file bytes;
/// the parts are validated, and must cover the trees exactly once.
#[pyfunction]
fn merge_parts<'py>(py: Python<'py>, parts: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyBytes>> {
    let model = py
        .detach(|| forest::part::merge_bytes(parts))
        .map_err(|e| PyValueError::new_err(format!("the parts do not merge: {e}")))?;
    Ok(PyBytes::new(py, &model))
}

/// Grows `trees` trees over `workers` instances with the job `make(sink)`
/// builds ([`in_background`]), `progress(trees_done)` fed from `sink`.
fn with_progress<T: Send + 'static, J: FnOnce() -> anyhow::Result<T> + Send + 'static>(
    py: Python<'_>,
    (trees, workers): (u32, usize),
    progress: Option<Bound<'_, PyAny>>,
    make: impl FnOnce(Arc<TreeProgress>) -> J,
) -> PyResult<T> {
    let n_workers = parallel::training_workers(trees, workers);
    let counter = Arc::new(TreeProgress::new(n_workers, trees, None));
    let job = make(counter.clone());
    in_background(py, job, || match &progress {
        Some(cb) => cb.call1((counter.trees_done(),)).map(drop),
        None => Ok(()),
    })?
    .map_err(to_py)
}

/// Runs `job` on a thread of its own and waits for it without the GIL, in
/// 100 ms slices; between slices `tick` runs (with the GIL) and signals are
/// checked, so Ctrl-C raises `KeyboardInterrupt` at once. The abandoned job
/// then finishes in the background and its result is dropped.
fn in_background<T: Send + 'static>(
    py: Python<'_>,
    job: impl FnOnce() -> T + Send + 'static,
    mut tick: impl FnMut() -> PyResult<()>,
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("wasm-forest-call".into())
        .spawn(move || {
            let _ = tx.send(job());
        })
        .map_err(|e| PyRuntimeError::new_err(format!("starting a thread: {e}")))?;
    // A Receiver is not Sync, and `detach` wants what it borrows to be.
    let rx = Mutex::new(rx);
    loop {
        let got = py.detach(|| {
            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv_timeout(Duration::from_millis(100))
        });
        tick()?;
        match got {
            Ok(r) => return Ok(r),
            Err(RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("the sandbox's thread panicked"));
            }
        }
    }
}

/// A validated model, loaded into sandboxed instances for prediction.
#[pyclass(frozen, module = "wasm_forest._native")]
struct Model {
    bytes: Vec<u8>,
    info: ModelInfo,
    /// The instances of the last prediction, kept for the next one with
    /// the same runtime and instance count.
    loaded: Mutex<Option<(RuntimeKey, Predictor)>>,
}

#[pymethods]
impl Model {
    /// Loads `bytes` (a model file's contents) into a sandbox, which
    /// validates them; a `ValueError` names what is wrong.
    #[new]
    fn new(py: Python<'_>, bytes: Vec<u8>, sandbox: Sandbox) -> PyResult<Model> {
        let rt = sandbox.runtime()?;
        // One instance: what small predictions use (see predict).
        let predictor = py
            .detach(|| Predictor::new(&rt, &bytes, 1, inference_bytes(bytes.len(), 0)))
            .map_err(to_py)?;
        Ok(Model {
            info: predictor.info.clone(),
            bytes,
            loaded: Mutex::new(Some((sandbox.key()?, predictor))),
        })
    }

    /// Predictions for the rows of `x` (C-contiguous float32, n_features
    /// columns), as float64 little-endian bytes.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        sandbox: Sandbox,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (n_rows, n_features, features) = matrix(py, x)?;
        if n_features != self.info.n_features as usize {
            return Err(PyValueError::new_err(format!(
                "X has {n_features} features, but the model expects {}",
                self.info.n_features
            )));
        }
        let n_rows = rows_u32(n_rows)?;
        let device = sandbox.device()?;
        let (rt, key) = (sandbox.runtime()?, sandbox.key()?);
        let workers = wasm_forest::jobs::prediction_workers(sandbox.workers(), n_rows as usize);
        let values = py
            .detach(|| self.predict_in((&rt, key), &features, n_rows, (device, workers)))
            .map_err(to_py)?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Ok(PyBytes::new(py, &bytes))
    }

    /// Out-of-bag predictions of the model's training rows `x` (C-contiguous
    /// float32, all of them, in training order; `sample_weight`: its
    /// training weights, if any): float64 little-endian bytes, and per row
    /// how many trees left it out, as uint32 little-endian bytes.
    #[pyo3(signature = (x, sandbox, sample_weight=None))]
    fn out_of_bag<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        sandbox: Sandbox,
        sample_weight: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let (n_rows, n_features, features) = matrix(py, x)?;
        let weights = sample_weight
            .map(|w| per_row(py, &w, n_rows, "sample_weight"))
            .transpose()?;
        if n_features != self.info.n_features as usize || n_rows != self.info.n_train_rows as usize
        {
            return Err(PyValueError::new_err(format!(
                "X has {n_rows} rows of {n_features} features, but the model was trained on {} rows of {}",
                self.info.n_train_rows, self.info.n_features
            )));
        }
        let n_rows = rows_u32(n_rows)?;
        let (rt, key) = (sandbox.runtime()?, sandbox.key()?);
        let workers = wasm_forest::jobs::prediction_workers(sandbox.workers(), n_rows as usize);
        let oob = py
            .detach(|| {
                self.with_predictor((&rt, key), features.len(), workers, |p| {
                    p.out_of_bag(&features, n_rows, weights.as_deref())
                })
            })
            .map_err(to_py)?;
        let predictions: Vec<u8> = oob
            .predictions
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let n_trees: Vec<u8> = oob.n_trees.iter().flat_map(|v| v.to_le_bytes()).collect();
        Ok((PyBytes::new(py, &predictions), PyBytes::new(py, &n_trees)))
    }

    /// The model file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.bytes)
    }

    /// What `wasm-forest info` shows, as a dict.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let i = &self.info;
        let d = PyDict::new(py);
        d.set_item("n_trees", i.n_trees)?;
        d.set_item("n_nodes", i.n_nodes)?;
        d.set_item("n_leaves", i.n_leaves)?;
        d.set_item("max_depth", i.max_depth)?;
        d.set_item("n_features", i.n_features)?;
        d.set_item("feature_names", i.feature_names.clone())?;
        d.set_item("target_name", i.target_name.clone())?;
        d.set_item("n_train_rows", i.n_train_rows)?;
        d.set_item("feature_importances", i.feature_importances.clone())?;
        d.set_item("sample_weight_total", i.sample_weight_total)?;
        let p = wasm_forest::runtime::from_wit(&i.params);
        let params = PyDict::new(py);
        params.set_item("n_estimators", p.n_estimators)?;
        params.set_item("max_depth", p.max_depth)?;
        params.set_item("min_samples_split", p.min_samples_split)?;
        params.set_item("min_samples_leaf", p.min_samples_leaf)?;
        params.set_item("max_features", p.max_features.to_string())?;
        params.set_item("bootstrap", p.bootstrap)?;
        params.set_item("max_samples", p.max_samples.map(|m| m.to_string()))?;
        params.set_item("seed", p.seed)?;
        params.set_item("splitter", p.splitter.to_string())?;
        params.set_item("min_weight_fraction_leaf", p.min_weight_fraction_leaf)?;
        params.set_item("max_leaf_nodes", p.max_leaf_nodes)?;
        params.set_item("min_impurity_decrease", p.min_impurity_decrease)?;
        d.set_item("params", params)?;
        Ok(d)
    }
}

impl Model {
    /// Predicts with the kept instances when their count and runtime fit,
    /// else with fresh ones (then kept).
    fn predict_in(
        &self,
        (rt, key): (&Runtime, RuntimeKey),
        features: &[f32],
        n_rows: u32,
        (device, workers): (Device, usize),
    ) -> anyhow::Result<Vec<f64>> {
        self.with_predictor((rt, key), features.len(), workers, |p| {
            Ok(p.predict(features, n_rows, device)?.values)
        })
    }

    /// Runs `f` on the kept instances when their count and runtime fit,
    /// else on fresh ones (then kept), sized for `n_values` feature values.
    fn with_predictor<T>(
        &self,
        (rt, key): (&Runtime, RuntimeKey),
        n_values: usize,
        workers: usize,
        f: impl FnOnce(&mut Predictor) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let reusable = loaded
            .as_ref()
            .is_some_and(|(k, p)| *k == key && p.workers() == workers);
        if !reusable {
            // The old instances go first: their memory is not needed twice.
            *loaded = None;
            let need = inference_bytes(self.bytes.len(), n_values / workers);
            *loaded = Some((key, Predictor::new(rt, &self.bytes, workers, need)?));
        }
        let (_, predictor) = loaded.as_mut().expect("loaded above");
        f(predictor)
    }
}

/// Writes model bytes to `path` as `wasm-forest train --model-out` does:
/// replaced atomically, never over a device, FIFO or symlink's target.
#[pyfunction]
fn save_model(py: Python<'_>, path: PathBuf, bytes: Vec<u8>) -> PyResult<()> {
    py.detach(|| wasm_forest::fsio::write_output(&path, &bytes))
        .map_err(|e| python_error("ModelFileError", format!("{e:#}")))
}

/// Reads a model file's bytes (checked against its header's length).
#[pyfunction]
fn read_model<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = py
        .detach(|| wasm_forest::fsio::read_model(&path))
        .map_err(|e| python_error("ModelFileError", format!("{e:#}")))?;
    Ok(PyBytes::new(py, &bytes))
}

/// The host's default number of sandboxed workers.
#[pyfunction]
fn default_workers() -> usize {
    parallel::default_workers()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(grow_parts, m)?)?;
    m.add_function(wrap_pyfunction!(merge_parts, m)?)?;
    m.add_function(wrap_pyfunction!(save_model, m)?)?;
    m.add_function(wrap_pyfunction!(read_model, m)?)?;
    m.add_function(wrap_pyfunction!(default_workers, m)?)?;
    m.add_class::<Model>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
