//! The wasmtime embedding: one engine and one pre-linked component per
//! process, a fresh sandboxed store per job.
//!
//! The library component is untrusted. It gets no files, environment, network
//! or inherited stdio (its output goes to a bounded in-memory pipe, shown when a
//! call fails), a linear-memory cap (growth beyond it traps), a wall-clock
//! deadline per call (a trap by epoch interruption, or the end of the process
//! by a watchdog: see [`OnTimeout`]), optionally a fuel budget, a bounded
//! wasm stack, and its results are checked before the host uses them. Its two
//! imports are served here: `progress` (counted per worker, clamped) and `gpu`
//! (the process's wgpu device, only when the runtime allows it; every failure
//! is a `gpu-error` value).

use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use forest::LevelBackend;
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceAny};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "forest-lib",
        with: {
            "wasm-forest:forest/gpu.gpu-forest": crate::gpu::GpuForest,
            "wasm-forest:forest/gpu.gpu-training-set": crate::gpu_train::TrainingSet,
            // The monotonic clock is wasmtime-wasi's (add_to_linker_sync).
            "wasi": wasmtime_wasi::p2::bindings::sync,
        },
    });
}

use crate::progress::TreeProgress;
use crate::{gpu, gpu_train, watchdog};
use bindings::exports::wasm_forest::forest::forest as wit;
use bindings::wasm_forest::forest::gpu as gpu_wit;
use bindings::wasm_forest::forest::progress as progress_wit;
pub use wit::{
    Dataset, Device, ForestError, ModelInfo, OobPredictions, PermutationScores, Placement,
    Prediction,
};
use wit::{MaxFeatures, MaxSamples, Params, Splitter};

/// The component built from `guest/` by build.rs.
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("WASM_FOREST_COMPONENT"));

/// How often the epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Most bytes of guest stdout + stderr kept (for error reports).
const OUTPUT_CAP: usize = 64 * 1024;
/// Most bytes the guest may pass to one host (WASI) call, or return from a
/// call whose result has no natural size (errors, info).
const SMALL_RESULT_BYTES: usize = 1 << 20;
/// wasm32 cannot address more.
const WASM32_MEMORY: u64 = 4 << 30;
/// Most bytes the wasm call stack may use. Host calls into the guest must run
/// on a thread with a native stack comfortably larger (see `NATIVE_STACK`).
pub const MAX_WASM_STACK: usize = 1 << 20;
/// Native stack for the thread that runs guests.
pub const NATIVE_STACK: usize = 64 << 20;

/// A memory limit as a person reads it: whole MiB as MiB, anything else in KiB.
fn limit_text(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// Sandbox limits for every job.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear-memory cap in bytes; `None` sizes it from each job's needs
    /// (see [`memory_for`]).
    pub max_memory: Option<u64>,
    /// Wall-clock budget for one call into the guest.
    pub timeout: Duration,
    /// What a call that outlives `timeout` does.
    pub on_timeout: OnTimeout,
    /// Fuel (roughly, wasm instructions) for one call; `None` = unmetered.
    /// Unlike the timeout, a fuel cut-off happens at the same point every run.
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory: None,
            timeout: Duration::from_secs(600),
            on_timeout: OnTimeout::Trap,
            fuel: None,
        }
    }
}

/// How the wall-clock limit is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// The call traps and the process carries on (wasmtime epoch
    /// interruption). The price: a check on every loop back-edge of the
    /// guest, a good share of its speed on the forest's loops (wasmtime
    /// #7244; docs/performance.md).
    Trap,
    /// The guest runs unchecked, at full speed; a watchdog thread ends the
    /// whole process (status [`watchdog::EXIT_STATUS`]) with the same error
    /// if a call outlives its deadline. For command-line programs, where a
    /// timed-out call ends the run anyway.
    ExitProcess,
}

/// Default memory cap for a job estimated to need `need` bytes of guest
/// memory: that plus 256 MiB of headroom, at most what wasm32 can address.
pub fn memory_for(need: u64) -> u64 {
    (256u64 << 20).saturating_add(need).min(WASM32_MEMORY)
}

/// Caps linear memory, remembers the peak, and traps on refused growth (so a
/// guest cannot ignore a failed `memory.grow` and carry on).
struct MemoryLimiter {
    max: u64,
    peak: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // One memory per component instance here; `desired` is its new size.
        let _ = current;
        if desired as u64 > self.max {
            self.refused = true;
            wasmtime::bail!("memory limit of {} reached", limit_text(self.max));
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    output: MemoryOutputPipe,
    /// Whether the `gpu` import may touch a device at all.
    gpu_allowed: bool,
    gpu_stats: GpuStats,
    /// Where `progress` reports go, and which worker this instance is.
    progress: Option<(Arc<TreeProgress>, usize)>,
    /// While a `trainer.grow` call runs: the trees of the worker's share
    /// grown before it and the share's size, so the call's own counts
    /// become the share's.
    progress_frame: Option<(u32, u32)>,
}

/// Time the `gpu` import spent on the device for this instance.
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuStats {
    pub uploads: u32,
    pub upload: Duration,
    pub predicts: u32,
    /// Row upload, dispatch and readback of the predictions.
    pub predict: Duration,
    pub chunks: u32,
    /// Training: uploads, level histograms and row moves.
    pub train: Duration,
    /// Node histograms the device built.
    pub histograms: u64,
}

impl progress_wit::Host for HostState {
    fn report(&mut self, trees_done: u32, trees_total: u32) {
        if let Some((sink, worker)) = &self.progress {
            match self.progress_frame {
                Some((before, share)) => {
                    sink.report(*worker, before.saturating_add(trees_done), share)
                }
                None => sink.report(*worker, trees_done, trees_total),
            }
        }
    }
}

fn gpu_to_wit(e: gpu::GpuError) -> gpu_wit::GpuError {
    use gpu::GpuError as E;
    match e {
        E::NoAdapter(m) => gpu_wit::GpuError::NoAdapter(m),
        E::OutOfMemory(m) => gpu_wit::GpuError::OutOfMemory(m),
        E::DeviceLost(m) => gpu_wit::GpuError::DeviceLost(m),
        E::InvalidForest(m) => gpu_wit::GpuError::InvalidForest(m),
        E::InvalidInput(m) => gpu_wit::GpuError::InvalidInput(m),
        E::TooLarge(m) => gpu_wit::GpuError::TooLarge(m),
        E::Timeout(m) => gpu_wit::GpuError::Timeout(m),
        E::Internal(m) => gpu_wit::GpuError::Internal(m),
    }
}

/// Batch size (rows) from which `device auto` uses this adapter (see
/// [`gpu::auto_min_rows`]); `WASM_FOREST_GPU_MIN_ROWS` overrides it.
pub fn gpu_auto_min_rows(info: &gpu::AdapterInfo) -> Result<u32> {
    Ok(gpu_min_rows_override()?.unwrap_or_else(|| gpu::auto_min_rows(info)))
}

/// Training-set size (rows) from which `device auto` trains on this adapter
/// (see [`gpu_train::auto_min_train_rows`]);
/// `WASM_FOREST_GPU_MIN_TRAIN_ROWS` overrides it.
pub fn gpu_auto_min_train_rows(info: &gpu::AdapterInfo) -> Result<u32> {
    let set = gpu_min_train_rows_override()?;
    Ok(set.unwrap_or_else(|| gpu_train::auto_min_train_rows(info)))
}

/// `WASM_FOREST_GPU_MIN_TRAIN_ROWS` as a row count (see [`rows_override`]).
fn gpu_min_train_rows_override() -> Result<Option<u32>> {
    rows_override("WASM_FOREST_GPU_MIN_TRAIN_ROWS")
}

/// Nodes with more rows than this get their histograms from the GPU in GPU
/// training ([`gpu_train::DEVICE_MIN_ROWS`]);
/// `WASM_FOREST_GPU_NODE_MIN_ROWS` overrides it (0: every node).
pub fn gpu_node_min_rows() -> Result<u32> {
    let set = rows_override("WASM_FOREST_GPU_NODE_MIN_ROWS")?;
    Ok(set.unwrap_or(gpu_train::DEVICE_MIN_ROWS as u32))
}

/// `WASM_FOREST_GPU_MIN_ROWS` as a row count (see [`rows_override`]).
pub fn gpu_min_rows_override() -> Result<Option<u32>> {
    rows_override("WASM_FOREST_GPU_MIN_ROWS")
}

/// Environment variable `var` as a row count; `None` when unset or empty. A
/// value that is not a row count is an error: ignoring a typo would silently
/// leave `auto` on the default the user meant to change.
fn rows_override(var: &str) -> Result<Option<u32>> {
    let value = match std::env::var(var) {
        Ok(v) if v.trim().is_empty() => return Ok(None),
        Ok(v) => v,
        Err(std::env::VarError::NotPresent) => return Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => v.to_string_lossy().into_owned(),
    };
    match value.trim().parse() {
        Ok(rows) => Ok(Some(rows)),
        Err(_) => bail!(
            "{var}={value:?} is not a row count: expected a whole number of rows from 0 to {}",
            u32::MAX
        ),
    }
}

impl HostState {
    fn gpu(&self) -> Result<&'static gpu::Gpu, gpu_wit::GpuError> {
        if !self.gpu_allowed {
            return Err(gpu_wit::GpuError::NoAdapter(
                "the host lends no GPU (--device cpu)".into(),
            ));
        }
        gpu::shared().map_err(gpu_to_wit)
    }
}

impl gpu_wit::Host for HostState {
    fn adapter(&mut self) -> Result<gpu_wit::AdapterInfo, gpu_wit::GpuError> {
        let info = self.gpu()?.adapter_info();
        // The command line refuses a bad value at start-up (see
        // `Runtime::allow_gpu`); an embedder's guest hears it here.
        let internal = |e: anyhow::Error| gpu_wit::GpuError::Internal(format!("{e:#}"));
        Ok(gpu_wit::AdapterInfo {
            name: info.name.clone(),
            backend: info.backend.clone(),
            device_type: info.device_type.clone(),
            driver: info.driver.clone(),
            auto_min_rows: gpu_auto_min_rows(info).map_err(internal)?,
            auto_min_train_rows: gpu_auto_min_train_rows(info).map_err(internal)?,
            node_min_rows: gpu_node_min_rows().map_err(internal)?,
        })
    }
}

impl gpu_wit::HostGpuForest for HostState {
    fn upload(
        &mut self,
        forest: gpu_wit::FlatForest,
    ) -> Result<Resource<gpu::GpuForest>, gpu_wit::GpuError> {
        let device = self.gpu()?;
        let t = Instant::now();
        let uploaded = device
            .upload(&gpu::FlatForest {
                n_features: forest.n_features,
                roots: &forest.roots,
                feature: &forest.feature,
                threshold: &forest.threshold,
                left: &forest.left,
                right: &forest.right,
                value: &forest.value,
                missing_left: &forest.missing_left,
            })
            .map_err(gpu_to_wit)?;
        self.gpu_stats.uploads += 1;
        self.gpu_stats.upload += t.elapsed();
        self.table
            .push(uploaded)
            .map_err(|e| gpu_wit::GpuError::Internal(format!("resource table: {e}")))
    }

    fn predict(
        &mut self,
        forest: Resource<gpu::GpuForest>,
        features: Vec<f32>,
        n_rows: u32,
    ) -> Result<Vec<f32>, gpu_wit::GpuError> {
        let device = self.gpu()?;
        let uploaded = self
            .table
            .get(&forest)
            .map_err(|e| gpu_wit::GpuError::Internal(format!("resource table: {e}")))?;
        let t = Instant::now();
        let (values, timings) = device
            .predict(uploaded, &features, n_rows)
            .map_err(gpu_to_wit)?;
        self.gpu_stats.predicts += 1;
        self.gpu_stats.predict += t.elapsed();
        self.gpu_stats.chunks += timings.chunks;
        Ok(values)
    }

    fn drop(&mut self, forest: Resource<gpu::GpuForest>) -> wasmtime::Result<()> {
        self.table.delete(forest)?;
        Ok(())
    }
}

fn table_error(e: wasmtime::component::ResourceTableError) -> gpu_wit::GpuError {
    gpu_wit::GpuError::Internal(format!("resource table: {e}"))
}

/// `gpu-training-set`: [`gpu_train::GpuLevels`] on the process's device.
impl gpu_wit::HostGpuTrainingSet for HostState {
    fn upload(
        &mut self,
        n_features: u32,
        codes: Vec<u8>,
        ranks: Vec<u32>,
    ) -> Result<Resource<gpu_train::TrainingSet>, gpu_wit::GpuError> {
        let device = self.gpu()?;
        let t = Instant::now();
        let set = gpu_train::GpuLevels::new(device, n_features as usize, &codes, &ranks)
            .map_err(gpu_to_wit)?;
        self.gpu_stats.train += t.elapsed();
        self.table.push(set).map_err(table_error)
    }

    fn start_tree(
        &mut self,
        set: Resource<gpu_train::TrainingSet>,
        weights: Vec<u32>,
        weighted_targets: Vec<i64>,
    ) -> Result<(), gpu_wit::GpuError> {
        let t = Instant::now();
        let set = self.table.get_mut(&set).map_err(table_error)?;
        let r = set.start_tree(&weights, &weighted_targets);
        self.gpu_stats.train += t.elapsed();
        r.map_err(gpu_to_wit)
    }

    fn histograms(
        &mut self,
        set: Resource<gpu_train::TrainingSet>,
        nodes: Vec<u32>,
        ranges_of: Vec<u32>,
    ) -> Result<gpu_wit::LevelHistograms, gpu_wit::GpuError> {
        let t = Instant::now();
        let set = self.table.get_mut(&set).map_err(table_error)?;
        let (bins, ranges) = set
            .level_histogram_words(&nodes, &ranges_of)
            .map_err(gpu_to_wit)?;
        self.gpu_stats.train += t.elapsed();
        self.gpu_stats.histograms += nodes.len() as u64;
        Ok(gpu_wit::LevelHistograms { bins, ranges })
    }

    fn next_level(
        &mut self,
        set: Resource<gpu_train::TrainingSet>,
        moves: Vec<gpu_wit::RowMove>,
    ) -> Result<(), gpu_wit::GpuError> {
        let t = Instant::now();
        let set = self.table.get_mut(&set).map_err(table_error)?;
        let moves: Vec<forest::Move> = moves
            .iter()
            .map(|m| forest::Move {
                feature: m.feature,
                last_left: m.last_left,
                missing_left: m.missing_left,
                left: m.left,
                right: m.right,
            })
            .collect();
        let r = set.next_level(&moves);
        self.gpu_stats.train += t.elapsed();
        r.map_err(gpu_to_wit)
    }

    fn drop(&mut self, set: Resource<gpu_train::TrainingSet>) -> wasmtime::Result<()> {
        self.table.delete(set)?;
        Ok(())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Engine + compiled, pre-linked component. Cheap to instantiate many times.
pub struct Runtime {
    engine: Engine,
    bytes: Vec<u8>,
    component: Component,
    pre: bindings::ForestLibPre<HostState>,
    limits: Limits,
    gpu_allowed: bool,
    /// Whether the compiled component came from the cache.
    pub cache: CacheUse,
    /// Time spent compiling the component (Cranelift) or loading it from the
    /// cache, and linking it.
    pub compile_time: Duration,
    pub link_time: Duration,
    pub component_size: usize,
    /// "embedded" or the component's path, for reports.
    pub component_label: String,
}

impl Runtime {
    /// Compiles `component` (or the embedded one) and links it.
    pub fn new(component: Option<&Path>, limits: Limits) -> Result<Runtime> {
        Runtime::with_cache(component, limits, None)
    }

    /// [`Runtime::new`], keeping the compiled component in `cache_dir` so
    /// that later processes load it instead of compiling it again.
    pub fn with_cache(
        component: Option<&Path>,
        limits: Limits,
        cache_dir: Option<&Path>,
    ) -> Result<Runtime> {
        let bytes = match component {
            Some(path) => std::fs::read(path)
                .with_context(|| format!("reading component {}", path.display()))?,
            None => EMBEDDED_COMPONENT.to_vec(),
        };
        let label = component.map_or_else(|| "embedded".to_string(), |p| p.display().to_string());
        Runtime::from_bytes(&bytes, &label, limits, cache_dir)
    }

    pub fn from_bytes(
        bytes: &[u8],
        label: &str,
        limits: Limits,
        cache_dir: Option<&Path>,
    ) -> Result<Runtime> {
        let mut config = Config::new();
        config
            .epoch_interruption(limits.on_timeout == OnTimeout::Trap)
            .consume_fuel(limits.fuel.is_some())
            .max_wasm_stack(MAX_WASM_STACK);
        if std::env::var_os("WASM_FOREST_PERFMAP").is_some_and(|v| v == "1") {
            // For `perf record`: the compiled guest functions by name in
            // /tmp/perf-PID.map (names need an unstripped guest, see README).
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = wasmtime_err(Engine::new(&config)).context("creating the wasmtime engine")?;
        if limits.on_timeout == OnTimeout::Trap {
            start_epoch_ticker(&engine)?;
        }

        let t = Instant::now();
        let cache_file = cache_dir.map(|d| cache::file(d, &engine, bytes));
        let loaded = match cache_file.as_deref() {
            Some(f) => cache::load(&engine, f),
            None => cache::Loaded::Absent,
        };
        let (compiled, cache) = match loaded {
            cache::Loaded::Hit(c) => (c, CacheUse::Hit),
            missed => {
                let c =
                    wasmtime_err(Component::new(&engine, bytes)).with_context(|| match label {
                        "embedded" => "compiling the embedded component".to_string(),
                        path => format!("compiling component {path}"),
                    })?;
                let stored = cache_file.as_deref().map(|f| (f, cache::store(&c, f)));
                let cache = match (missed, stored) {
                    (cache::Loaded::Damaged(reason), Some((file, stored))) => {
                        // Once per process: the entry is good again afterwards.
                        eprintln!("{}", cache::damage_note(file, &reason, &stored));
                        CacheUse::Damaged { reason, stored }
                    }
                    (_, stored) => CacheUse::Miss(stored.map(|(_, s)| s)),
                };
                (c, cache)
            }
        };
        let compile_time = t.elapsed();

        let t = Instant::now();
        let pre = link(&engine, &compiled, label)?;
        let link_time = t.elapsed();
        Ok(Runtime {
            engine,
            bytes: bytes.to_vec(),
            component: compiled,
            pre,
            limits,
            gpu_allowed: true,
            cache,
            compile_time,
            link_time,
            component_size: bytes.len(),
            component_label: label.to_string(),
        })
    }

    /// Bytes the host may spend on a CSV's cells (8 a cell) for a job in
    /// this runtime: `--max-memory`, else all a sandbox can address. Data
    /// beyond it could never be handed to one, so reading stops there.
    pub fn data_budget(&self) -> u64 {
        self.limits.max_memory.unwrap_or(WASM32_MEMORY)
    }

    /// Whether instances may use the process's GPU through the `gpu` import
    /// (default yes; `--device cpu` says no, and the import then answers
    /// `no-adapter` without touching any device). Allowing it checks the
    /// GPU settings of the environment first (`WASM_FOREST_GPU_MIN_ROWS`,
    /// `WASM_FOREST_GPU_MIN_TRAIN_ROWS`, `WASM_FOREST_GPU_NODE_MIN_ROWS`),
    /// so that a bad one is an error before any work, not ignored.
    pub fn allow_gpu(&mut self, allowed: bool) -> Result<()> {
        if allowed {
            gpu_min_rows_override()?;
            gpu_min_train_rows_override()?;
            gpu_node_min_rows()?;
        }
        self.gpu_allowed = allowed;
        Ok(())
    }

    /// Compiles the component again from its wasm bytes (Cranelift), and
    /// returns how long that took.
    pub fn cold_compile(&self) -> Result<Duration> {
        let t = Instant::now();
        let component = wasmtime_err(Component::new(&self.engine, &self.bytes))
            .context("compiling the component")?;
        let elapsed = t.elapsed();
        drop(component);
        Ok(elapsed)
    }

    /// Loads the component again from wasmtime's serialized (precompiled)
    /// form, as a compilation cache would, and returns how long that took.
    pub fn warm_compile(&self) -> Result<Duration> {
        let bytes = wasmtime_err(self.component.serialize())
            .context("serializing the compiled component")?;
        let t = Instant::now();
        // SAFETY: these bytes were produced just above by `serialize` on this
        // very engine; deserialize is unsafe only for untrusted bytes.
        let component = wasmtime_err(unsafe { Component::deserialize(&self.engine, &bytes) })
            .context("loading the precompiled component")?;
        let elapsed = t.elapsed();
        drop(component);
        Ok(elapsed)
    }

    /// A fresh sandbox (new store, new instance) for a job that will hand the
    /// guest memory estimated at `need` bytes (sizes the default memory cap).
    pub fn instantiate(&self, need: u64) -> Result<Job> {
        let max_memory = self.limits.max_memory.unwrap_or_else(|| memory_for(need));
        let output = MemoryOutputPipe::new(OUTPUT_CAP);
        let mut wasi = WasiCtx::builder();
        // Output goes to one bounded pipe (shown with errors), never to ours.
        wasi.stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let state = HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max: max_memory,
                peak: 0,
                refused: false,
            },
            output,
            gpu_allowed: self.gpu_allowed,
            gpu_stats: GpuStats::default(),
            progress: None,
            progress_frame: None,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(SMALL_RESULT_BYTES);
        store.set_epoch_deadline(u64::MAX / 2);
        if self.limits.fuel.is_some() {
            wasmtime_err(store.set_fuel(u64::MAX)).context("setting fuel")?;
        }
        let instance = match self.pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(_) if store.data().limiter.refused => bail!(
                "the component needs more than the {} memory limit just to start (see --max-memory)",
                limit_text(max_memory)
            ),
            Err(e) => return Err(anyhow::Error::from(e).context("instantiating the component")),
        };
        Ok(Job {
            store,
            instance,
            limits: self.limits,
            max_memory,
        })
    }
}

/// Links a compiled component against WASI and the host's `progress` and
/// `gpu` imports, once for all its instances.
fn link(
    engine: &Engine,
    compiled: &Component,
    label: &str,
) -> Result<bindings::ForestLibPre<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_err(wasmtime_wasi::p2::add_to_linker_sync(&mut linker))
        .context("adding WASI to the linker")?;
    // Interface by interface: the world's monotonic clock is WASI's, above.
    wasmtime_err(progress_wit::add_to_linker::<_, HasSelf<_>>(
        &mut linker,
        |s| s,
    ))
    .context("adding the progress import to the linker")?;
    wasmtime_err(gpu_wit::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))
        .context("adding the gpu import to the linker")?;
    let pre = wasmtime_err(linker.instantiate_pre(compiled))
        .with_context(|| format!("linking component {label}"))?;
    wasmtime_err(bindings::ForestLibPre::new(pre)).with_context(|| {
        format!("component {label} does not export wasm-forest:forest/forest@0.1.0")
    })
}

/// What the compilation cache did for this runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUse {
    /// Loaded, precompiled, from the cache (its digest verified).
    Hit,
    /// Compiled; `Some(Ok)` = then stored in the cache, `Some(Err)` = could
    /// not be stored (why), `None` = no cache.
    Miss(Option<Result<(), String>>),
    /// The cache entry was damaged (`reason`: digest mismatch, truncated, not
    /// a file, refused by wasmtime...), so it was not run: compiled, and the
    /// entry replaced (`Ok`) or not (why).
    Damaged {
        reason: String,
        stored: Result<(), String>,
    },
}

impl CacheUse {
    pub fn describe(&self) -> String {
        match self {
            CacheUse::Hit => "loaded precompiled from the cache".into(),
            CacheUse::Miss(None) => "compiled (no cache)".into(),
            CacheUse::Miss(Some(Ok(()))) => "compiled, then cached".into(),
            CacheUse::Miss(Some(Err(e))) => format!("compiled (not cached: {e})"),
            CacheUse::Damaged { reason, stored } => match stored {
                Ok(()) => format!("compiled, then cached (replacing a damaged entry: {reason})"),
                Err(e) => {
                    format!("compiled (the cache entry was damaged: {reason}; not replaced: {e})")
                }
            },
        }
    }
}

/// Compiled components on disk, keyed by a SHA-256 of the component bytes
/// and of everything wasmtime needs to match (version, target, settings).
///
/// `Component::deserialize` trusts its bytes: it maps them as native code
/// and runs them. So an entry carries a digest of its whole content, and
/// nothing reaches wasmtime before that digest matches; a damaged entry
/// (bit rot, a torn copy, a bad disk, a stray edit) is recompiled and
/// replaced instead of crashing or, worse, running as a subtly different
/// program. The digest guards against damage, not against an attacker who
/// can write to the cache directory: one who can could write a matching
/// digest too, and could already run code as this user.
///
/// An entry, all integers little-endian:
///
/// ```text
///  0   8  MAGIC
///  8   4  FORMAT
/// 12   8  length of the code (wasmtime's serialized component)
/// 20  32  SHA-256 of bytes 0..20 followed by the code
/// 52      the code
/// ```
mod cache {
    use std::hash::Hash;
    use std::io::Read;
    use std::path::{Path, PathBuf};

    use sha2::{Digest, Sha256};
    use wasmtime::Engine;
    use wasmtime::component::Component;

    const MAGIC: &[u8; 8] = b"wfcwasm\0";
    /// Part of the file name too, so entries of another format are never read.
    const FORMAT: u32 = 1;
    const HEADER: usize = 52;
    /// Largest code an entry may hold. The embedded component's is about a
    /// megabyte; a larger component is compiled every time rather than cached,
    /// and a larger file is damaged, and is never read whole into memory.
    pub const MAX_CODE: u64 = 256 << 20;

    /// Feeds `Hash` data into SHA-256 (std's hashers are not stable).
    struct ShaHasher(Sha256);

    impl std::hash::Hasher for ShaHasher {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            0 // never used: the digest is read from the inner Sha256
        }
    }

    pub fn file(dir: &Path, engine: &Engine, component: &[u8]) -> PathBuf {
        let mut h = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut h);
        h.0.update(FORMAT.to_le_bytes());
        h.0.update(component);
        let digest = h.0.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        dir.join(format!("{hex}.cwasm"))
    }

    /// What was found at an entry's path.
    pub enum Loaded {
        /// Nothing: a plain miss.
        Absent,
        Hit(Component),
        /// Something that must not be run (why).
        Damaged(String),
    }

    /// The header of an entry holding `code`.
    fn header(code: &[u8]) -> [u8; HEADER] {
        let mut h = [0u8; HEADER];
        h[..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&FORMAT.to_le_bytes());
        h[12..20].copy_from_slice(&(code.len() as u64).to_le_bytes());
        let digest = Sha256::new()
            .chain_update(&h[..20])
            .chain_update(code)
            .finalize();
        h[20..].copy_from_slice(&digest);
        h
    }

    /// The entry at `file`, its digest verified before wasmtime sees it.
    pub fn load(engine: &Engine, file: &Path) -> Loaded {
        let entry = match read_verified(file) {
            Ok(Some(entry)) => entry,
            Ok(None) => return Loaded::Absent,
            Err(why) => return Loaded::Damaged(why),
        };
        // SAFETY: deserializing runs native code from these bytes. They
        // match the digest written with them by `store`, from a component
        // this program compiled with an engine of this very configuration
        // (the file name is a digest of the component and of the engine's
        // settings). See the module's documentation for what that guards.
        match unsafe { Component::deserialize(engine, &entry[HEADER..]) } {
            Ok(c) => Loaded::Hit(c),
            Err(e) => Loaded::Damaged(one_line(&format!("wasmtime refused it: {e:#}"))),
        }
    }

    /// The whole entry (header and code) if present and intact, `None` if
    /// absent, else why it is damaged.
    fn read_verified(file: &Path) -> Result<Option<Vec<u8>>, String> {
        let f = match std::fs::File::open(file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot be opened: {e}")),
        };
        let meta = f
            .metadata()
            .map_err(|e| format!("cannot be examined: {e}"))?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        let size = meta.len();
        if size > HEADER as u64 + MAX_CODE {
            return Err(format!(
                "{size} bytes, more than an entry may hold ({} MiB of code)",
                MAX_CODE >> 20
            ));
        }
        let mut entry = Vec::with_capacity(size as usize);
        // One byte more than the size: a file that grew is damaged too.
        f.take(size + 1)
            .read_to_end(&mut entry)
            .map_err(|e| format!("cannot be read: {e}"))?;
        verify(&entry)?;
        Ok(Some(entry))
    }

    /// Whether `entry` (header and code) is intact, or why not.
    fn verify(entry: &[u8]) -> Result<(), String> {
        if entry.len() < HEADER {
            return Err(format!("truncated ({} bytes)", entry.len()));
        }
        if &entry[..8] != MAGIC {
            return Err("no entry header".into());
        }
        let format = u32::from_le_bytes(entry[8..12].try_into().expect("4 bytes"));
        if format != FORMAT {
            return Err(format!("format {format}, expected {FORMAT}"));
        }
        let code = (entry.len() - HEADER) as u64;
        let length = u64::from_le_bytes(entry[12..20].try_into().expect("8 bytes"));
        if code < length {
            return Err(format!(
                "truncated: {code} bytes of code where the header says {length}"
            ));
        }
        if code > length {
            return Err(format!(
                "{code} bytes of code where the header says {length}"
            ));
        }
        if header(&entry[HEADER..])[20..] != entry[20..HEADER] {
            return Err("digest mismatch".into());
        }
        Ok(())
    }

    pub fn store(component: &Component, file: &Path) -> Result<(), String> {
        let code = component.serialize().map_err(|e| e.to_string())?;
        if code.len() as u64 > MAX_CODE {
            return Err(format!(
                "{} MiB of compiled code, more than an entry may hold ({} MiB)",
                code.len() >> 20,
                MAX_CODE >> 20
            ));
        }
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        // A directory where the entry belongs cannot be renamed over; an
        // empty one is removed (a non-empty one is left alone, and the
        // rename below says why the entry could not be stored).
        if std::fs::symlink_metadata(file).is_ok_and(|m| m.is_dir()) {
            let _ = std::fs::remove_dir(file);
        }
        let mut entry = Vec::with_capacity(HEADER + code.len());
        entry.extend_from_slice(&header(&code));
        entry.extend_from_slice(&code);
        crate::fsio::write_output(file, &entry).map_err(|e| one_line(&format!("{e:#}")))
    }

    /// The one line printed when a damaged entry was found.
    pub fn damage_note(file: &Path, reason: &str, stored: &Result<(), String>) -> String {
        let outcome = match stored {
            Ok(()) => "recompiled and replaced".to_string(),
            Err(e) => format!("recompiled, but could not replace it: {e}"),
        };
        format!(
            "note: the compiled-code cache entry {} was damaged ({reason}); {outcome}",
            file.display()
        )
    }

    fn one_line(text: &str) -> String {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// An empty component: compiles in no time, serializes to a few KiB.
        const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

        fn stored(dir: &Path) -> (Engine, PathBuf, Vec<u8>) {
            let engine = Engine::default();
            let file = file(dir, &engine, EMPTY);
            let component = Component::new(&engine, EMPTY).unwrap();
            store(&component, &file).unwrap();
            let entry = std::fs::read(&file).unwrap();
            (engine, file, entry)
        }

        fn damage(engine: &Engine, file: &Path, bytes: &[u8]) -> String {
            std::fs::write(file, bytes).unwrap();
            match load(engine, file) {
                Loaded::Damaged(why) => why,
                Loaded::Hit(_) => panic!("a damaged entry was loaded"),
                Loaded::Absent => panic!("a damaged entry was taken for no entry"),
            }
        }

        #[test]
        fn an_intact_entry_loads_and_a_missing_one_is_absent() {
            let dir = tempfile::tempdir().unwrap();
            let (engine, file, entry) = stored(dir.path());
            assert_eq!(&entry[..8], MAGIC);
            assert!(matches!(load(&engine, &file), Loaded::Hit(_)));
            std::fs::remove_file(&file).unwrap();
            assert!(matches!(load(&engine, &file), Loaded::Absent));
        }

        /// Every byte of the entry, header and code, is covered: no single
        /// flipped bit anywhere reaches wasmtime.
        #[test]
        fn every_flipped_byte_is_caught_before_wasmtime_sees_it() {
            let dir = tempfile::tempdir().unwrap();
            let (engine, file, entry) = stored(dir.path());
            // Through the file for a few, in memory for all (as fast).
            for i in [0, 8, 12, 20, HEADER, entry.len() - 1] {
                let mut bad = entry.clone();
                bad[i] ^= 0x10;
                damage(&engine, &file, &bad);
            }
            let mut bad = entry.clone();
            for i in 0..entry.len() {
                for bit in [0x01, 0x80] {
                    bad[i] ^= bit;
                    let why = verify(&bad).expect_err("a flipped bit must be caught");
                    bad[i] ^= bit;
                    let expected = match i {
                        0..8 => "no entry header",
                        8..12 => "format",
                        12..20 => "where the header says",
                        _ => "digest mismatch",
                    };
                    assert!(why.contains(expected), "byte {i}: {why}");
                }
            }
        }

        #[test]
        fn truncated_extended_and_odd_entries_are_damaged() {
            let dir = tempfile::tempdir().unwrap();
            let (engine, file, entry) = stored(dir.path());
            for cut in [0, 1, HEADER - 1, HEADER, entry.len() / 2, entry.len() - 1] {
                damage(&engine, &file, &entry[..cut]);
            }
            let mut longer = entry.clone();
            longer.push(0);
            assert!(damage(&engine, &file, &longer).contains("where the header says"));
            // Entries of the old format were wasmtime's bytes alone.
            assert!(damage(&engine, &file, &entry[HEADER..]).contains("no entry header"));
            // Larger than any entry may be: refused by its size, unread.
            std::fs::File::create(&file)
                .unwrap()
                .set_len(HEADER as u64 + MAX_CODE + 1)
                .unwrap();
            assert!(
                matches!(load(&engine, &file), Loaded::Damaged(w) if w.contains("more than an entry may hold"))
            );
            // A directory in the entry's place is damaged, and replaced.
            std::fs::remove_file(&file).unwrap();
            std::fs::create_dir(&file).unwrap();
            assert!(
                matches!(load(&engine, &file), Loaded::Damaged(w) if w.contains("not a regular file"))
            );
            store(&Component::new(&engine, EMPTY).unwrap(), &file).unwrap();
            assert!(matches!(load(&engine, &file), Loaded::Hit(_)));
        }

        #[test]
        fn an_entry_whose_code_wasmtime_refuses_is_damaged() {
            let dir = tempfile::tempdir().unwrap();
            let (engine, file, _) = stored(dir.path());
            // A well-formed entry (right digest) around bytes that are not
            // wasmtime's: the digest is no substitute for wasmtime's checks.
            let code = b"not compiled code";
            let mut entry = header(code).to_vec();
            entry.extend_from_slice(code);
            assert!(damage(&engine, &file, &entry).contains("wasmtime refused it"));
        }
    }
}

/// The default cache directory: `WASM_FOREST_CACHE_DIR`, else the platform's
/// user cache directory plus `wasm-forest` (`%LOCALAPPDATA%` on Windows,
/// `$XDG_CACHE_HOME` or `~/.cache` elsewhere); `None` if none is known.
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("WASM_FOREST_CACHE_DIR") {
        return Some(d);
    }
    let base = if cfg!(windows) {
        var("LOCALAPPDATA")
    } else {
        var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))
    };
    base.map(|b| b.join("wasm-forest"))
}

/// The error of a call `what` that outlived `timeout`, trapped or watched.
fn timeout_text(what: &str, timeout: Duration) -> String {
    format!("{what}: the component ran out of time after {timeout:.0?} (see --timeout)")
}

/// wasmtime 48 has its own error type; this brings it into anyhow.
fn wasmtime_err<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(anyhow::Error::from)
}

/// Advances the engine's epoch every EPOCH_TICK; ends with the engine.
fn start_epoch_ticker(engine: &Engine) -> Result<()> {
    let weak = engine.weak();
    thread::Builder::new()
        .name("wasm-forest-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        })
        .context("starting the epoch thread")?;
    Ok(())
}

/// One sandboxed instance of the library component. After a trap the
/// instance must not be used again (wasmtime poisons it); make a new job.
pub struct Job {
    store: Store<HostState>,
    instance: bindings::ForestLib,
    limits: Limits,
    max_memory: u64,
}

/// A `trainer` resource in one instance.
pub struct TrainerHandle {
    handle: ResourceAny,
}

/// A model living inside a job's instance.
pub struct ModelHandle {
    handle: ResourceAny,
    /// Bytes of its model file (bounds what the guest may send the GPU).
    size: usize,
}

impl Job {
    /// Runs one call into the guest under the deadline (and fuel budget),
    /// accepting at most `result_bytes` of results (wasmtime's hostcall fuel
    /// counts what is copied out of the guest); turns traps into readable errors.
    fn call<R>(
        &mut self,
        what: &str,
        result_bytes: usize,
        f: impl FnOnce(&wit::Guest, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R> {
        self.store
            .set_hostcall_fuel(result_bytes.saturating_add(SMALL_RESULT_BYTES));
        if let Some(fuel) = self.limits.fuel {
            wasmtime_err(self.store.set_fuel(fuel)).context("setting fuel")?;
        }
        let watch = match self.limits.on_timeout {
            OnTimeout::Trap => {
                let ticks =
                    (self.limits.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
                self.store.set_epoch_deadline(ticks);
                None
            }
            OnTimeout::ExitProcess => Some(watchdog::arm(
                timeout_text(what, self.limits.timeout),
                self.limits.timeout,
                &self.store.data().output,
            )?),
        };
        let api = self.instance.wasm_forest_forest_forest().clone();
        let result = f(&api, &mut self.store);
        drop(watch);
        self.store.set_epoch_deadline(u64::MAX / 2);
        self.store.set_hostcall_fuel(SMALL_RESULT_BYTES);
        result.map_err(|e| self.explain_trap(what, result_bytes, e))
    }

    fn explain_trap(
        &mut self,
        what: &str,
        result_bytes: usize,
        e: wasmtime::Error,
    ) -> anyhow::Error {
        let state = self.store.data();
        let detail = watchdog::output_detail(&state.output);
        let (kind, message) = match e.downcast_ref::<wasmtime::Trap>() {
            _ if state.limiter.refused => (
                FaultKind::MemoryLimit,
                format!(
                    "{what}: the component exceeded the {} memory limit (see --max-memory){detail}",
                    limit_text(self.max_memory)
                ),
            ),
            Some(wasmtime::Trap::Interrupt) => (
                FaultKind::Timeout,
                format!("{}{detail}", timeout_text(what, self.limits.timeout)),
            ),
            Some(wasmtime::Trap::OutOfFuel) => (
                FaultKind::OutOfFuel,
                format!(
                    "{what}: the component ran out of fuel after {} units (see --fuel){detail}",
                    self.limits.fuel.unwrap_or_default()
                ),
            ),
            Some(wasmtime::Trap::StackOverflow) => (
                FaultKind::Trap,
                format!(
                    "{what}: the component overflowed its {} MiB stack{detail}",
                    MAX_WASM_STACK >> 20
                ),
            ),
            Some(trap) => (
                FaultKind::Trap,
                format!("{what}: the component trapped: {trap}{detail}"),
            ),
            None if e
                .to_string()
                .contains("fuel allocated for hostcalls has been exhausted") =>
            {
                (
                    FaultKind::Trap,
                    format!(
                        "{what}: the component returned more than the expected {} KiB of results; refused{detail}",
                        result_bytes.saturating_add(SMALL_RESULT_BYTES) >> 10
                    ),
                )
            }
            None => return anyhow::Error::from(e).context(format!("{what} failed{detail}")),
        };
        SandboxFault { kind, message }.into()
    }

    /// Peak linear memory of this instance so far, bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().limiter.peak
    }

    /// Trains in the sandbox; returns the model file bytes.
    pub fn train(&mut self, data: &Dataset, params: &forest::Params) -> Result<Vec<u8>> {
        let params = to_wit(params);
        self.call("train", self.max_memory as usize, |api, store| {
            api.call_train(store, data, params)
        })?
        .map_err(guest_error)
    }

    /// Grows trees `first..first + count` in the sandbox: part bytes for
    /// [`Job::merge_parts`].
    pub fn train_part(
        &mut self,
        data: &Dataset,
        params: &forest::Params,
        first: u32,
        count: u32,
    ) -> Result<Vec<u8>> {
        let params = to_wit(params);
        self.call("train-part", self.max_memory as usize, |api, store| {
            api.call_train_part(store, data, params, first, count)
        })?
        .map_err(guest_error)
    }

    /// `trainer.start-on`: hands the dataset over once, for
    /// [`Job::grow_part`]; splitter `level` builds its histograms on
    /// `device` (the trees do not depend on it).
    pub fn start_trainer(
        &mut self,
        data: &Dataset,
        params: &forest::Params,
        device: Device,
    ) -> Result<TrainerHandle> {
        let params = to_wit(params);
        // What the guest passes to the GPU import in one call: the training
        // set's bin codes and target ranks.
        let upload = data.features.len() + 4 * data.targets.len();
        let r = self.call("trainer.start-on", upload, |api, store| {
            api.trainer().call_start_on(store, data, params, device)
        })?;
        Ok(TrainerHandle {
            handle: r.map_err(guest_error)?,
        })
    }

    /// `trainer.placement`: where the trees grow, and why not on the GPU.
    pub fn placement(&mut self, trainer: &TrainerHandle) -> Result<Placement> {
        self.call("trainer.placement", 0, |api, store| {
            api.trainer().call_placement(store, trainer.handle)
        })
    }

    /// `trainer.grow`: trees `first..first + count` as part bytes. Progress
    /// is reported as `done_before` (this worker's trees grown before this
    /// call) plus the call's count, of `share` trees.
    pub fn grow_part(
        &mut self,
        trainer: &TrainerHandle,
        (first, count): (u32, u32),
        done_before: u32,
        share: u32,
    ) -> Result<Vec<u8>> {
        self.store.data_mut().progress_frame = Some((done_before, share));
        let r = self.call("trainer.grow", self.max_memory as usize, |api, store| {
            api.trainer().call_grow(store, trainer.handle, first, count)
        });
        self.store.data_mut().progress_frame = None;
        r?.map_err(guest_error)
    }

    pub fn drop_trainer(&mut self, trainer: TrainerHandle) -> Result<()> {
        wasmtime_err(trainer.handle.resource_drop(&mut self.store))
            .context("dropping a trainer resource")
    }

    /// Merges parts into model file bytes, in the sandbox.
    pub fn merge_parts(&mut self, parts: &[Vec<u8>]) -> Result<Vec<u8>> {
        self.call("merge-parts", self.max_memory as usize, |api, store| {
            api.call_merge_parts(store, parts)
        })?
        .map_err(guest_error)
    }

    /// Sends this instance's `progress` reports to `sink` as worker `worker`.
    pub fn report_progress(&mut self, sink: Arc<TreeProgress>, worker: usize) {
        self.store.data_mut().progress = Some((sink, worker));
    }

    /// What the `gpu` import did for this instance so far.
    pub fn gpu_stats(&self) -> GpuStats {
        self.store.data().gpu_stats
    }

    pub fn load_model(&mut self, bytes: &[u8]) -> Result<ModelHandle> {
        let r = self.call("model.from-bytes", 0, |api, store| {
            api.model().call_from_bytes(store, bytes)
        })?;
        Ok(ModelHandle {
            handle: r.map_err(guest_error)?,
            size: bytes.len(),
        })
    }

    /// `model.predict-on`: the prediction and the device that made it.
    pub fn predict_on(
        &mut self,
        model: &ModelHandle,
        features: &[f32],
        n_rows: u32,
        device: Device,
    ) -> Result<Prediction> {
        // What the guest may pass back (values) and to the gpu import (the
        // batch, and the forest once: a few times its model file size).
        let budget = (8 * n_rows as usize)
            .max(4 * features.len())
            .max(4 * model.size);
        let p = self
            .call("model.predict-on", budget, |api, store| {
                api.model()
                    .call_predict_on(store, model.handle, features, n_rows, device)
            })?
            .map_err(guest_error)?;
        if p.values.len() != n_rows as usize {
            bail!(
                "model.predict-on: the component returned {} values for {n_rows} rows; refused",
                p.values.len()
            );
        }
        if matches!(p.device, Device::Auto) {
            bail!("model.predict-on: the component says it ran on device 'auto'; refused");
        }
        Ok(p)
    }

    pub fn predict(
        &mut self,
        model: &ModelHandle,
        features: &[f32],
        n_rows: u32,
    ) -> Result<Vec<f64>> {
        let p = self
            .call("model.predict", 8 * n_rows as usize, |api, store| {
                api.model()
                    .call_predict(store, model.handle, features, n_rows)
            })?
            .map_err(guest_error)?;
        if p.len() != n_rows as usize {
            bail!(
                "model.predict: the component returned {} values for {n_rows} rows; refused",
                p.len()
            );
        }
        Ok(p)
    }

    /// `model.out-of-bag` for training rows `first_row..first_row + n_rows`,
    /// whose features are `features`; `sample_weight`: the model's training
    /// weights (all rows), if it was trained with some.
    pub fn out_of_bag(
        &mut self,
        model: &ModelHandle,
        features: &[f32],
        (first_row, n_rows): (u32, u32),
        sample_weight: Option<&[f64]>,
    ) -> Result<OobPredictions> {
        let oob = self
            .call("model.out-of-bag", 12 * n_rows as usize, |api, store| {
                api.model().call_out_of_bag(
                    store,
                    model.handle,
                    features,
                    first_row,
                    n_rows,
                    sample_weight,
                )
            })?
            .map_err(guest_error)?;
        let n = n_rows as usize;
        if oob.predictions.len() != n || oob.n_trees.len() != n {
            bail!(
                "model.out-of-bag: the component returned {} predictions and {} tree counts for {n_rows} rows; refused",
                oob.predictions.len(),
                oob.n_trees.len()
            );
        }
        Ok(oob)
    }

    /// `model.permutation-importance` of `columns` on held-out rows `data`
    /// (row-major features, targets, row count).
    pub fn permutation_importance(
        &mut self,
        model: &ModelHandle,
        (features, targets, n_rows): (&[f32], &[f64], u32),
        columns: &[u32],
        (n_repeats, random_state): (u32, u32),
    ) -> Result<PermutationScores> {
        let budget = 8 * columns.len() * (n_repeats as usize + 2);
        let scores = self
            .call("model.permutation-importance", budget, |api, store| {
                api.model().call_permutation_importance(
                    store,
                    model.handle,
                    features,
                    targets,
                    n_rows,
                    columns,
                    n_repeats,
                    random_state,
                )
            })?
            .map_err(guest_error)?;
        let shaped = scores.importances.len() == columns.len()
            && scores
                .importances
                .iter()
                .all(|s| s.len() == n_repeats as usize);
        if !shaped {
            bail!(
                "model.permutation-importance: the component returned scores for {} columns, not {} columns × {n_repeats} repeats; refused",
                scores.importances.len(),
                columns.len()
            );
        }
        Ok(scores)
    }

    pub fn model_info(&mut self, model: &ModelHandle) -> Result<ModelInfo> {
        self.call("model.info", 0, |api, store| {
            api.model().call_info(store, model.handle)
        })
    }

    pub fn drop_model(&mut self, model: ModelHandle) -> Result<()> {
        wasmtime_err(model.handle.resource_drop(&mut self.store))
            .context("dropping a model resource")
    }
}

/// The forest crate's form of WIT parameters (the inverse of [`to_wit`]).
pub fn from_wit(p: &Params) -> forest::Params {
    forest::Params {
        n_estimators: p.n_estimators,
        max_depth: p.max_depth,
        min_samples_split: p.min_samples_split,
        min_samples_leaf: p.min_samples_leaf,
        max_features: match p.max_features {
            MaxFeatures::All => forest::MaxFeatures::All,
            MaxFeatures::Sqrt => forest::MaxFeatures::Sqrt,
            MaxFeatures::Log2 => forest::MaxFeatures::Log2,
            MaxFeatures::Count(c) => forest::MaxFeatures::Count(c),
            MaxFeatures::Fraction(f) => forest::MaxFeatures::Fraction(f),
        },
        bootstrap: p.bootstrap,
        max_samples: p.max_samples.map(|m| match m {
            MaxSamples::Count(c) => forest::MaxSamples::Count(c),
            MaxSamples::Fraction(f) => forest::MaxSamples::Fraction(f),
        }),
        seed: p.seed,
        splitter: match p.splitter {
            Splitter::Exact => forest::SplitterKind::Exact,
            Splitter::Hist => forest::SplitterKind::Hist,
            Splitter::Auto => forest::SplitterKind::Auto,
            Splitter::Level => forest::SplitterKind::Level,
            Splitter::Sklearn => forest::SplitterKind::Sklearn,
        },
        min_weight_fraction_leaf: p.min_weight_fraction_leaf,
        max_leaf_nodes: p.max_leaf_nodes,
        min_impurity_decrease: p.min_impurity_decrease,
    }
}

/// The WIT form of the forest crate's parameters.
fn to_wit(p: &forest::Params) -> Params {
    Params {
        n_estimators: p.n_estimators,
        max_depth: p.max_depth,
        min_samples_split: p.min_samples_split,
        min_samples_leaf: p.min_samples_leaf,
        max_features: match p.max_features {
            forest::MaxFeatures::All => MaxFeatures::All,
            forest::MaxFeatures::Sqrt => MaxFeatures::Sqrt,
            forest::MaxFeatures::Log2 => MaxFeatures::Log2,
            forest::MaxFeatures::Count(c) => MaxFeatures::Count(c),
            forest::MaxFeatures::Fraction(f) => MaxFeatures::Fraction(f),
        },
        bootstrap: p.bootstrap,
        max_samples: p.max_samples.map(|m| match m {
            forest::MaxSamples::Count(c) => MaxSamples::Count(c),
            forest::MaxSamples::Fraction(f) => MaxSamples::Fraction(f),
        }),
        seed: p.seed,
        splitter: match p.splitter {
            forest::SplitterKind::Exact => Splitter::Exact,
            forest::SplitterKind::Hist => Splitter::Hist,
            forest::SplitterKind::Auto => Splitter::Auto,
            forest::SplitterKind::Level => Splitter::Level,
            forest::SplitterKind::Sklearn => Splitter::Sklearn,
        },
        min_weight_fraction_leaf: p.min_weight_fraction_leaf,
        max_leaf_nodes: p.max_leaf_nodes,
        min_impurity_decrease: p.min_impurity_decrease,
    }
}

/// Why the sandbox stopped a call: embedders react by kind (the Python
/// package raises a different exception for each); the message is the
/// command line's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The call outlived its wall-clock budget (`OnTimeout::Trap`).
    Timeout,
    /// The component asked for more linear memory than its cap.
    MemoryLimit,
    /// The call used up its fuel.
    OutOfFuel,
    /// Any other trap: a bug or a hostile component.
    Trap,
}

/// A call the sandbox stopped (see [`FaultKind`]).
#[derive(Debug)]
pub struct SandboxFault {
    pub kind: FaultKind,
    pub message: String,
}

impl std::fmt::Display for SandboxFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SandboxFault {}

/// A `forest-error` from the guest, as a host error.
#[derive(Debug)]
pub struct GuestError(pub ForestError);

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            ForestError::InvalidParams(m) => write!(f, "invalid parameters: {m}"),
            ForestError::InvalidData(m) => write!(f, "invalid data: {m}"),
            ForestError::InvalidModel(m) => write!(f, "invalid model: {m}"),
            ForestError::Gpu(e) => write!(f, "GPU: {}", gpu_error_text(e)),
        }
    }
}

impl std::error::Error for GuestError {}

fn guest_error(e: ForestError) -> anyhow::Error {
    GuestError(e).into()
}

/// "kind: message" for a `gpu-error`, kind in its WIT spelling (as the
/// component and [`gpu::GpuError`] spell it).
pub fn gpu_error_text(e: &gpu_wit::GpuError) -> String {
    use gpu_wit::GpuError as E;
    let (kind, m) = match e {
        E::NoAdapter(m) => ("no-adapter", m),
        E::OutOfMemory(m) => ("out-of-memory", m),
        E::DeviceLost(m) => ("device-lost", m),
        E::InvalidForest(m) => ("invalid-forest", m),
        E::InvalidInput(m) => ("invalid-input", m),
        E::TooLarge(m) => ("too-large", m),
        E::Timeout(m) => ("timeout", m),
        E::Internal(m) => ("internal", m),
    };
    format!("{kind}: {m}")
}
