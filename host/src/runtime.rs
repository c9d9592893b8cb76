//! The wasmtime embedding: one engine and one pre-linked component per
//! process, a fresh sandboxed store per job.
//!
//! The library component is untrusted: it gets no files, environment, network
//! or inherited stdio (stderr goes to a bounded in-memory pipe, shown when a
//! call traps), a linear-memory cap, and a wall-clock deadline enforced by
//! epoch interruption.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "forest-lib",
    });
}

use bindings::exports::wasm_forest::forest::forest as wit;
pub use wit::{Dataset, ForestError, MaxFeatures, MaxSamples, ModelInfo, Params};

/// The component built from `guest/` by build.rs.
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("WASM_FOREST_COMPONENT"));

/// How often the epoch advances; the deadline is counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Most bytes of guest stderr kept (for error reports).
const STDERR_CAP: usize = 64 * 1024;

/// Sandbox limits for every job.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory cap, bytes, over all of a job's memories.
    pub max_memory: usize,
    /// Wall-clock budget for one call into the guest.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory: 4 << 30,
            timeout: Duration::from_secs(600),
        }
    }
}

/// Caps linear memory and remembers the peak.
struct MemoryLimiter {
    max: usize,
    current: usize,
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
        let next = self.current - current.min(self.current) + desired;
        if next > self.max {
            self.refused = true;
            return Ok(false);
        }
        self.current = next;
        self.peak = self.peak.max(next);
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
    stderr: MemoryOutputPipe,
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
    pre: bindings::ForestLibPre<HostState>,
    limits: Limits,
    /// Time spent compiling the component (Cranelift), and instantiate_pre.
    pub compile_time: Duration,
    pub link_time: Duration,
    pub component_size: usize,
    /// "embedded" or the component's path, for reports.
    pub component_label: String,
}

impl Runtime {
    /// Compiles `component` (or the embedded one) and links it.
    pub fn new(component: Option<&Path>, limits: Limits) -> Result<Runtime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = wt(Engine::new(&config)).context("creating the wasmtime engine")?;
        start_epoch_ticker(&engine)?;

        let bytes = match component {
            Some(path) => std::fs::read(path)
                .with_context(|| format!("reading component {}", path.display()))?,
            None => EMBEDDED_COMPONENT.to_vec(),
        };
        let t = Instant::now();
        let compiled = wt(Component::new(&engine, &bytes)).with_context(|| match component {
            Some(path) => format!("compiling component {}", path.display()),
            None => "compiling the embedded component".to_string(),
        })?;
        let compile_time = t.elapsed();

        let t = Instant::now();
        let mut linker = Linker::<HostState>::new(&engine);
        wt(wasmtime_wasi::p2::add_to_linker_sync(&mut linker))
            .context("adding WASI to the linker")?;
        let pre = wt(linker.instantiate_pre(&compiled))
            .context("linking the component (does it export wasm-forest:forest/forest@0.1.0?)")?;
        let pre = wt(bindings::ForestLibPre::new(pre))
            .context("the component does not match the forest-lib world")?;
        let link_time = t.elapsed();
        let component_label =
            component.map_or_else(|| "embedded".to_string(), |p| p.display().to_string());
        Ok(Runtime {
            engine,
            pre,
            limits,
            compile_time,
            link_time,
            component_size: bytes.len(),
            component_label,
        })
    }

    /// A fresh sandbox: new store, new instance.
    pub fn instantiate(&self) -> Result<Job> {
        let stderr = MemoryOutputPipe::new(STDERR_CAP);
        let mut wasi = WasiCtx::builder();
        wasi.stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let state = HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max: self.limits.max_memory,
                current: 0,
                peak: 0,
                refused: false,
            },
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = match self.pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(_) if store.data().limiter.refused => bail!(
                "the component needs more than the {} MiB memory limit just to start (see --max-memory)",
                self.limits.max_memory >> 20
            ),
            Err(e) => return Err(anyhow::Error::from(e).context("instantiating the component")),
        };
        Ok(Job {
            store,
            instance,
            timeout: self.limits.timeout,
            max_memory: self.limits.max_memory,
        })
    }
}

/// wasmtime 48 has its own error type; this brings it into anyhow.
fn wt<T>(r: wasmtime::Result<T>) -> Result<T> {
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

/// One sandboxed instance of the library component.
pub struct Job {
    store: Store<HostState>,
    instance: bindings::ForestLib,
    timeout: Duration,
    max_memory: usize,
}

/// A model living inside a job's instance.
pub struct ModelHandle(ResourceAny);

impl Job {
    /// Runs one call into the guest under the deadline; turns traps into
    /// readable errors.
    fn call<R>(
        &mut self,
        what: &str,
        f: impl FnOnce(&wit::Guest, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let ticks = (self.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        self.store.set_epoch_deadline(ticks);
        let api = self.instance.wasm_forest_forest_forest().clone();
        let result = f(&api, &mut self.store);
        self.store.set_epoch_deadline(u64::MAX / 2);
        result.map_err(|e| self.explain_trap(what, e))
    }

    fn explain_trap(&mut self, what: &str, e: wasmtime::Error) -> anyhow::Error {
        let state = self.store.data();
        let stderr = String::from_utf8_lossy(&state.stderr.contents())
            .trim()
            .to_string();
        let detail = if stderr.is_empty() {
            String::new()
        } else {
            format!("\ncomponent stderr:\n{stderr}")
        };
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => {
                anyhow!(
                    "{what}: the component ran out of time after {:.0?} (see --timeout){detail}",
                    self.timeout
                )
            }
            _ if state.limiter.refused => anyhow!(
                "{what}: the component exceeded the {} MiB memory limit (see --max-memory){detail}",
                self.max_memory >> 20
            ),
            Some(trap) => anyhow!("{what}: the component trapped: {trap}{detail}"),
            None => anyhow::Error::from(e).context(format!("{what} failed{detail}")),
        }
    }

    /// Peak linear memory of this instance so far, bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().limiter.peak
    }

    /// Trains in the sandbox; returns the model file bytes.
    pub fn train(&mut self, data: &Dataset, params: &Params) -> Result<Vec<u8>> {
        self.call("train", |api, store| api.call_train(store, data, *params))?
            .map_err(guest_error)
    }

    pub fn load_model(&mut self, bytes: &[u8]) -> Result<ModelHandle> {
        let r = self.call("model.from-bytes", |api, store| {
            api.model().call_from_bytes(store, bytes)
        })?;
        Ok(ModelHandle(r.map_err(guest_error)?))
    }

    pub fn predict(
        &mut self,
        model: &ModelHandle,
        features: &[f32],
        n_rows: u32,
    ) -> Result<Vec<f64>> {
        self.call("model.predict", |api, store| {
            api.model().call_predict(store, model.0, features, n_rows)
        })?
        .map_err(guest_error)
    }

    pub fn model_info(&mut self, model: &ModelHandle) -> Result<ModelInfo> {
        self.call("model.info", |api, store| {
            api.model().call_info(store, model.0)
        })
    }

    pub fn drop_model(&mut self, model: ModelHandle) -> Result<()> {
        wt(model.0.resource_drop(&mut self.store)).context("dropping a model resource")
    }
}

/// A `forest-error` from the guest, as a host error.
#[derive(Debug)]
pub struct GuestError(pub ForestError);

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            ForestError::InvalidParams(m) => write!(f, "invalid parameters: {m}"),
            ForestError::InvalidData(m) => write!(f, "invalid data: {m}"),
            ForestError::InvalidModel(m) => write!(f, "invalid model: {m}"),
        }
    }
}

impl std::error::Error for GuestError {}

fn guest_error(e: ForestError) -> anyhow::Error {
    GuestError(e).into()
}
