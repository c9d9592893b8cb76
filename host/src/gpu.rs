//! GPU inference with wgpu: the host side of the component's `gpu` import.
//!
//! One instance/adapter/device/queue/pipeline per process, created lazily on
//! first use ([`shared`]); a forest is validated and uploaded once
//! ([`Gpu::upload`]) and then serves any number of batches ([`Gpu::predict`]):
//! one upload of the rows, one dispatch for all trees, one readback. Forests
//! or batches larger than the device's buffer and dispatch limits are split
//! into tree groups and row chunks transparently.
//!
//! Nothing here panics or waits forever: wgpu's uncaptured errors are
//! recorded instead of panicking, work runs inside error scopes, a lost
//! device is remembered, the readback wait has a deadline, and every failure
//! is a [`GpuError`].

use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use wgpu::util::DeviceExt;

use forest::LEAF;

/// WGSL of the prediction kernel; its bindings are documented at its top.
const SHADER: &str = include_str!("../../shaders/forest_predict.wgsl");
/// Must match `@workgroup_size` in the shader.
const WORKGROUP: u32 = 64;
/// Longest wait for one batch's results.
const WAIT: Duration = Duration::from_secs(60);
/// Batch size (rows) from which `device auto` uses a hardware GPU. NOT
/// measured: no machine of this project has one. It assumes a fixed cost of
/// about a millisecond per batch against the sandbox's ~270 000 rows/s on the
/// diabetes forest; `wasm-forest predict-bench` measures the real crossover
/// and WASM_FOREST_GPU_MIN_ROWS sets it.
pub const AUTO_MIN_ROWS: u32 = 1000;

/// Software adapters (lavapipe, WARP, SwiftShader) run on the same CPU cores
/// as the sandbox; measured on lavapipe they never win (`predict-bench`, 2
/// cores: 48 776 rows/s against 182 144 in the sandbox at 1 000 000 rows, and
/// slower at every batch size from 1 row up), so `auto` never picks them.
pub fn auto_min_rows(info: &AdapterInfo) -> u32 {
    if info.device_type == "cpu" {
        u32::MAX
    } else {
        AUTO_MIN_ROWS
    }
}

/// The `gpu-error` cases of the WIT `gpu` interface, shown with their WIT
/// names (as the component shows them too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    #[error("no-adapter: {0}")]
    NoAdapter(String),
    #[error("out-of-memory: {0}")]
    OutOfMemory(String),
    #[error("device-lost: {0}")]
    DeviceLost(String),
    #[error("invalid-forest: {0}")]
    InvalidForest(String),
    #[error("invalid-input: {0}")]
    InvalidInput(String),
    #[error("too-large: {0}")]
    TooLarge(String),
    #[error("timeout: {0}")]
    Timeout(String),
    #[error("internal: {0}")]
    Internal(String),
}

type Result<T, E = GpuError> = std::result::Result<T, E>;

/// A forest in the forest crate's one flat layout, borrowed, its values
/// already as f32 (the device's precision).
pub type FlatForest<'a> = forest::Layout<'a, f32>;

/// Borrows a trained forest's arrays; `values` is its `nodes.value` as f32.
pub fn flat_forest<'a>(forest: &'a forest::Forest, values: &'a [f32]) -> FlatForest<'a> {
    FlatForest {
        n_features: forest.n_features,
        roots: &forest.roots,
        feature: &forest.nodes.feature,
        threshold: &forest.nodes.threshold,
        left: &forest.nodes.left,
        right: &forest.nodes.right,
        value: values,
        missing_left: &forest.nodes.missing_left,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterInfo {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
}

/// Caps below the device's own limits, to force chunking (tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct ChunkLimits {
    /// Largest buffer binding, bytes.
    pub max_buffer_bytes: Option<u64>,
    /// Most rows per dispatch.
    pub max_rows_per_dispatch: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct GpuTimings {
    /// Creating and filling the row buffers.
    pub upload: Duration,
    /// Dispatches, copy to the readback buffer, wait and read.
    pub dispatch_readback: Duration,
    /// Dispatches made (tree groups × row chunks).
    pub chunks: u32,
}

/// The device, the pipeline and what went wrong with them.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    info: AdapterInfo,
    /// Effective limits: the device's, lowered by `ChunkLimits`.
    max_buffer_bytes: u64,
    max_rows_per_dispatch: u32,
    device_limits: (u64, u32),
    lost: ErrorSlot,
    uncaptured: ErrorSlot,
}

/// One group of consecutive trees whose nodes fit the buffer limit; node
/// ids rebased to the group's first node.
struct TreeGroup {
    n_trees: u32,
    max_steps: u32,
    roots: wgpu::Buffer,
    /// [`pack`]ed nodes.
    nodes: wgpu::Buffer,
}

/// Bytes of a packed node on the device.
const PACKED_NODE_BYTES: u64 = 16;

/// The nodes `range` of a validated forest as the shader reads them (see
/// the top of shaders/forest_predict.wgsl): per node, the split feature or
/// LEAF, the threshold or the leaf value (f32 bits), the right child's id
/// less `base` (the left child is the next node: pre-order), and 0.
fn pack(f: &FlatForest, range: Range<usize>, base: u32) -> Vec<[u32; 4]> {
    range
        .map(|i| {
            if f.left[i] == LEAF {
                [LEAF, f.value[i].to_bits(), 0, 0]
            } else {
                let missing_left = u32::from(f.missing_left[i]);
                [
                    f.feature[i],
                    f.threshold[i].to_bits(),
                    f.right[i] - base,
                    missing_left,
                ]
            }
        })
        .collect()
}

/// A forest on the device.
pub struct GpuForest {
    groups: Vec<TreeGroup>,
    pub n_trees: u32,
    pub n_features: u32,
    pub n_nodes: usize,
    pub upload_time: Duration,
}

impl GpuForest {
    /// Tree groups: dispatches per row chunk.
    pub fn n_groups(&self) -> usize {
        self.groups.len()
    }
}

static SHARED: OnceLock<Result<Gpu>> = OnceLock::new();

/// The process's GPU, created on first call (`WGPU_BACKEND`,
/// `WGPU_ADAPTER_NAME` and `WGPU_POWER_PREF` choose it); later calls return
/// the same device, or the same error.
pub fn shared() -> Result<&'static Gpu> {
    SHARED.get_or_init(Gpu::new).as_ref().map_err(Clone::clone)
}

fn lock_text(m: &Mutex<Option<String>>) -> Option<String> {
    m.lock().map(|g| g.clone()).unwrap_or(None)
}

impl Gpu {
    /// The adapter chosen by the environment, as wgpu's examples do, except
    /// that without `WGPU_BACKEND` only the primary backends (Vulkan, Metal,
    /// DX12) are tried: probing OpenGL prints EGL noise on headless machines,
    /// and `WGPU_BACKEND=gl` still selects it.
    pub fn new() -> Result<Gpu> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle().with_env();
        desc.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
        Gpu::with_instance(wgpu::Instance::new(desc))
    }

    /// Only these backends (tests force "no adapter" with one absent here).
    pub fn with_backends(backends: wgpu::Backends) -> Result<Gpu> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backends;
        Gpu::with_instance(wgpu::Instance::new(desc))
    }

    fn with_instance(instance: wgpu::Instance) -> Result<Gpu> {
        let adapter = pick_adapter(&instance)?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("wasm-forest"),
            required_features: wgpu::Features::empty(),
            // The adapter's own limits: the largest buffers it can give.
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::NoAdapter(format!("cannot open the device: {e}")))?;
        Gpu::from_device(adapter.get_info(), device, queue)
    }

    /// Builds the pipeline on a device the caller already has.
    pub fn from_device(
        info: wgpu::AdapterInfo,
        device: wgpu::Device,
        queue: wgpu::Queue,
    ) -> Result<Gpu> {
        let (lost, uncaptured) = watch_errors(&device);
        let (pipeline, layout) = build_pipeline(&device)?;
        let limits = device.limits();
        let max_buffer_bytes = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let max_rows = limits
            .max_compute_workgroups_per_dimension
            .saturating_mul(WORKGROUP);
        Ok(Gpu {
            info: describe(info),
            device,
            queue,
            pipeline,
            layout,
            max_buffer_bytes,
            max_rows_per_dispatch: max_rows,
            device_limits: (max_buffer_bytes, max_rows),
            lost,
            uncaptured,
        })
    }

    pub fn adapter_info(&self) -> &AdapterInfo {
        &self.info
    }

    /// Lowers the buffer and dispatch limits (never above the device's).
    pub fn set_chunk_limits(&mut self, l: ChunkLimits) {
        let (bytes, rows) = self.device_limits;
        self.max_buffer_bytes = l.max_buffer_bytes.map_or(bytes, |b| b.clamp(16, bytes));
        self.max_rows_per_dispatch = l.max_rows_per_dispatch.map_or(rows, |r| r.clamp(1, rows));
    }

    fn check_alive(&self) -> Result<()> {
        match lock_text(&self.lost) {
            Some(reason) => Err(GpuError::DeviceLost(reason)),
            None => Ok(()),
        }
    }

    /// Runs `f` inside out-of-memory and validation error scopes.
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        self.check_alive()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        self.check_alive()?;
        if let Some(e) = o {
            return Err(GpuError::OutOfMemory(format!("{what}: {e}")));
        }
        if let Some(e) = v {
            return Err(GpuError::Internal(format!("{what}: {e}")));
        }
        if let Some(e) = lock_text(&self.uncaptured) {
            return Err(GpuError::Internal(format!("{what}: {e}")));
        }
        Ok(out)
    }

    pub(crate) fn storage(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE,
            })
    }

    /// Validates the forest and uploads it, in tree groups that each fit
    /// the buffer limit.
    pub fn upload(&self, forest: &FlatForest) -> Result<GpuForest> {
        let t = Instant::now();
        let depths = validate(forest)?;
        let len = forest.feature.len();
        let max_nodes = (self.max_buffer_bytes / PACKED_NODE_BYTES).max(1) as usize;
        let max_trees = (self.max_buffer_bytes / 4).max(1) as usize;
        let ends: Vec<usize> = (0..forest.roots.len())
            .map(|t| forest.roots.get(t + 1).map_or(len, |&r| r as usize))
            .collect();
        let mut groups = Vec::new();
        let mut first = 0;
        while first < forest.roots.len() {
            let start = forest.roots[first] as usize;
            let mut last = first;
            while last + 1 < forest.roots.len()
                && ends[last + 1] - start <= max_nodes
                && last + 1 - first < max_trees
            {
                last += 1;
            }
            if ends[last] - start > max_nodes {
                return Err(GpuError::TooLarge(format!(
                    "tree {first} has {} nodes; the device's buffers hold {max_nodes}",
                    ends[last] - start
                )));
            }
            let end = ends[last];
            let roots: Vec<u32> = forest.roots[first..=last]
                .iter()
                .map(|&r| r - start as u32)
                .collect();
            let nodes = pack(forest, start..end, start as u32);
            let group = self.scoped("uploading the forest", || TreeGroup {
                n_trees: (last + 1 - first) as u32,
                max_steps: depths[first..=last].iter().max().map_or(1, |d| d + 1),
                roots: self.storage("roots", bytemuck::cast_slice(&roots)),
                nodes: self.storage("nodes", bytemuck::cast_slice(&nodes)),
            })?;
            groups.push(group);
            first = last + 1;
        }
        Ok(GpuForest {
            groups,
            n_trees: forest.roots.len() as u32,
            n_features: forest.n_features,
            n_nodes: len,
            upload_time: t.elapsed(),
        })
    }

    /// Mean over the trees of their leaf values, for each row of `features`
    /// (row-major, `n_rows × n_features`).
    pub fn predict(
        &self,
        forest: &GpuForest,
        features: &[f32],
        n_rows: u32,
    ) -> Result<(Vec<f32>, GpuTimings)> {
        let nf = forest.n_features as usize;
        if Some(features.len()) != (n_rows as usize).checked_mul(nf) {
            return Err(GpuError::InvalidInput(format!(
                "features has {} values, expected n_rows × n_features = {n_rows} × {nf}",
                features.len()
            )));
        }
        if let Some(i) = features.iter().position(|v| v.is_infinite()) {
            return Err(GpuError::InvalidInput(format!(
                "row {}, feature {}: {} is neither finite nor NaN (a missing value)",
                i / nf,
                i % nf,
                features[i]
            )));
        }
        let mut timings = GpuTimings::default();
        let mut out = Vec::with_capacity(n_rows as usize);
        if n_rows == 0 {
            return Ok((out, timings));
        }
        // Rows per chunk: the dispatch limit and the row buffer limit.
        let by_buffer = (self.max_buffer_bytes / (4 * nf as u64)).clamp(1, u64::from(u32::MAX));
        let chunk_rows = self.max_rows_per_dispatch.min(by_buffer as u32).max(1);
        for first in (0..n_rows).step_by(chunk_rows as usize) {
            let rows = chunk_rows.min(n_rows - first);
            let slice = &features[first as usize * nf..(first + rows) as usize * nf];
            out.extend(self.predict_chunk(forest, slice, rows, &mut timings)?);
        }
        let n_trees = forest.n_trees as f32;
        out.iter_mut().for_each(|v| *v /= n_trees);
        Ok((out, timings))
    }

    fn predict_chunk(
        &self,
        forest: &GpuForest,
        features: &[f32],
        n_rows: u32,
        timings: &mut GpuTimings,
    ) -> Result<Vec<f32>> {
        let t = Instant::now();
        let buffers = self.scoped("uploading the rows", || {
            self.chunk_buffers(features, n_rows)
        })?;
        timings.upload += t.elapsed();
        let t = Instant::now();
        let submission = self.scoped("dispatching", || self.dispatch(forest, &buffers, n_rows))?;
        timings.chunks += forest.groups.len() as u32;
        let values = self.read_back(&buffers.readback, submission, n_rows)?;
        timings.dispatch_readback += t.elapsed();
        Ok(values)
    }

    /// The rows of a chunk uploaded, and room for its results on the device
    /// and for reading them back.
    fn chunk_buffers(&self, features: &[f32], n_rows: u32) -> ChunkBuffers {
        let out_bytes = 4 * u64::from(n_rows);
        let buffer = |label, usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: out_bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        ChunkBuffers {
            rows: self.storage("rows", bytemuck::cast_slice(features)),
            out: buffer("out", U::STORAGE | U::COPY_SRC),
            readback: buffer("readback", U::MAP_READ | U::COPY_DST),
        }
    }

    /// One dispatch per tree group, in order (each adds to what the previous
    /// wrote), then the copy of the results into the readback buffer.
    fn dispatch(&self, forest: &GpuForest, b: &ChunkBuffers, n_rows: u32) -> wgpu::SubmissionIndex {
        let (gx, gy, row_stride) = self.grid(n_rows);
        let bind_groups: Vec<wgpu::BindGroup> = (0..forest.groups.len())
            .map(|g| self.bind_group(forest, g, b, [n_rows, row_stride]))
            .collect();
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("forest_predict"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("forest_predict"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            for bg in &bind_groups {
                pass.set_bind_group(0, bg, &[]);
                pass.dispatch_workgroups(gx, gy, 1);
            }
        }
        encoder.copy_buffer_to_buffer(&b.out, 0, &b.readback, 0, 4 * u64::from(n_rows));
        self.queue.submit([encoder.finish()])
    }

    /// Tree group `g`'s bindings (see the top of the shader); `[n_rows,
    /// row_stride]` are the chunk's rows and the rows of a grid line.
    fn bind_group(
        &self,
        forest: &GpuForest,
        g: usize,
        b: &ChunkBuffers,
        [n_rows, row_stride]: [u32; 2],
    ) -> wgpu::BindGroup {
        let group = &forest.groups[g];
        let params = [
            n_rows,
            forest.n_features,
            group.n_trees,
            u32::from(g > 0),
            group.max_steps,
            row_stride,
        ];
        let uniform = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::cast_slice(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let buffers = [&uniform, &group.roots, &group.nodes, &b.rows, &b.out];
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, buf)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: buf.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("forest_predict"),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// Waits (at most [`WAIT`]) for `submission` and reads the results.
    fn read_back(
        &self,
        readback: &wgpu::Buffer,
        submission: wgpu::SubmissionIndex,
        n_rows: u32,
    ) -> Result<Vec<f32>> {
        let what = format!("{n_rows} rows");
        let bytes = self.read_back_bytes(readback, readback.size(), submission, &what)?;
        Ok(bytemuck::pod_collect_to_vec::<u8, f32>(&bytes))
    }

    /// Waits (at most [`WAIT`]) for `submission` (`what` it computes) and
    /// reads the first `len` bytes of `readback`.
    pub(crate) fn read_back_bytes(
        &self,
        readback: &wgpu::Buffer,
        len: u64,
        submission: wgpu::SubmissionIndex,
        what: &str,
    ) -> Result<Vec<u8>> {
        if len == 0 {
            self.wait(submission, what)?;
            return Ok(Vec::new());
        }
        let (tx, rx) = mpsc::channel();
        readback.map_async(wgpu::MapMode::Read, ..len, move |r| {
            let _ = tx.send(r);
        });
        self.wait(submission, what)?;
        match rx.recv_timeout(WAIT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.check_alive()?;
                return Err(GpuError::Internal(format!("reading the results back: {e}")));
            }
            Err(_) => {
                return Err(GpuError::Timeout(
                    "the readback buffer was never mapped".into(),
                ));
            }
        }
        let bytes = {
            let view = readback
                .get_mapped_range(..len)
                .map_err(|e| GpuError::Internal(format!("reading the results back: {e}")))?;
            view.to_vec()
        };
        readback.unmap();
        Ok(bytes)
    }

    /// Waits (at most [`WAIT`]) for `submission` (`what` it does).
    pub(crate) fn wait(&self, submission: wgpu::SubmissionIndex, what: &str) -> Result<()> {
        match self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: Some(WAIT),
        }) {
            Ok(_) => self.check_alive(),
            Err(wgpu::PollError::Timeout) => Err(GpuError::Timeout(format!(
                "the device did not finish {what} within {WAIT:?}"
            ))),
            Err(e) => {
                self.check_alive()?;
                Err(GpuError::Internal(format!("waiting for the device: {e}")))
            }
        }
    }

    pub(crate) fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub(crate) fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The largest storage buffer binding the device allows (bytes).
    pub(crate) fn max_buffer_bytes(&self) -> u64 {
        self.max_buffer_bytes
    }

    /// Workgroups of [`WORKGROUP`] invocations for `n` items, laid out in 2D
    /// when one dimension is not enough: (x, y, items per grid line).
    pub(crate) fn grid(&self, n: u32) -> (u32, u32, u32) {
        let groups = n.div_ceil(WORKGROUP).max(1);
        let max_x = self
            .device
            .limits()
            .max_compute_workgroups_per_dimension
            .max(1);
        if groups <= max_x {
            (groups, 1, groups * WORKGROUP)
        } else {
            (max_x, groups.div_ceil(max_x), max_x * WORKGROUP)
        }
    }
}

/// The adapter `WGPU_ADAPTER_NAME` names (a substring, any case), else the
/// default one (`WGPU_POWER_PREF`). Unlike wgpu's helper, an unmatched name
/// is an error, not a panic.
fn pick_adapter(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
    if let Ok(wanted) = std::env::var("WGPU_ADAPTER_NAME") {
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        return adapters
            .into_iter()
            .find(|a| {
                a.get_info()
                    .name
                    .to_lowercase()
                    .contains(&wanted.to_lowercase())
            })
            .ok_or_else(|| {
                GpuError::NoAdapter(format!(
                    "no adapter name contains WGPU_ADAPTER_NAME='{wanted}' (found: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ))
            });
    }
    pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::from_env().unwrap_or_default(),
        ..Default::default()
    }))
    .map_err(|e| {
        let backend = std::env::var("WGPU_BACKEND")
            .map(|b| format!(" (WGPU_BACKEND={b})"))
            .unwrap_or_default();
        GpuError::NoAdapter(format!("{e}{backend}"))
    })
}

/// Checks everything the shader relies on; returns each tree's depth.
/// A chunk's rows on the device, its results, and where they are read back.
struct ChunkBuffers {
    rows: wgpu::Buffer,
    out: wgpu::Buffer,
    readback: wgpu::Buffer,
}

/// Where a lost device and errors nobody captured are recorded (wgpu would
/// panic on the latter), to be turned into `gpu-error`s.
type ErrorSlot = Arc<Mutex<Option<String>>>;

fn watch_errors(device: &wgpu::Device) -> (ErrorSlot, ErrorSlot) {
    let lost: ErrorSlot = Arc::new(Mutex::new(None));
    let uncaptured: ErrorSlot = Arc::new(Mutex::new(None));
    {
        let lost = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut l) = lost.lock() {
                *l = Some(format!("{reason:?}: {message}"));
            }
        });
    }
    {
        let uncaptured = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut u) = uncaptured.lock() {
                *u = Some(e.to_string());
            }
        }));
    }
    (lost, uncaptured)
}

/// The prediction kernel's pipeline and bind group layout: binding 0 the
/// parameters (uniform), 1..=3 the forest and the rows (read-only storage),
/// 4 the output (see the top of shaders/forest_predict.wgsl).
fn build_pipeline(device: &wgpu::Device) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
    build_kernel(device, "predict", SHADER, &[true, true, true, false])
}

/// A compute kernel: the pipeline of WGSL `source`'s entry point `entry`,
/// and its bind group 0's layout: binding 0 uniform parameters, binding
/// `i + 1` storage, read-only where `storage[i]`.
pub(crate) fn build_kernel(
    device: &wgpu::Device,
    entry: &str,
    source: &str,
    storage: &[bool],
) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(entry),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let buffer = |binding, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let mut entries = vec![buffer(0, wgpu::BufferBindingType::Uniform)];
    for (i, &read_only) in storage.iter().enumerate() {
        entries.push(buffer(
            i as u32 + 1,
            wgpu::BufferBindingType::Storage { read_only },
        ));
    }
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(entry),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(GpuError::Internal(format!(
            "building the {entry} pipeline: {e}"
        )));
    }
    Ok((pipeline, layout))
}

/// What `adapter()` says of a device.
fn describe(info: wgpu::AdapterInfo) -> AdapterInfo {
    AdapterInfo {
        name: info.name,
        backend: info.backend.to_string(),
        device_type: match info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete-gpu",
            wgpu::DeviceType::IntegratedGpu => "integrated-gpu",
            wgpu::DeviceType::VirtualGpu => "virtual-gpu",
            wgpu::DeviceType::Cpu => "cpu",
            wgpu::DeviceType::Other => "other",
        }
        .to_string(),
        driver: [info.driver, info.driver_info]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Checks an upload with the forest crate's one check of the flat layout
/// ([`forest::Layout::check`]: the rules every model obeys), then that the
/// trees' leaf values cannot sum beyond the f32 range of the shader's sums;
/// returns each tree's depth (the shader's bound on a walk).
fn validate(f: &FlatForest) -> Result<Vec<u32>> {
    f.check().map_err(|e| match e {
        forest::ForestError::InvalidModel(m) => GpuError::InvalidForest(m),
        other => GpuError::InvalidForest(other.to_string()),
    })?;
    let len = f.feature.len();
    let mut depth = vec![0u32; len];
    let mut depths = Vec::with_capacity(f.roots.len());
    // The largest sum of leaf values a row can reach, one leaf per tree.
    let mut reach = 0.0f64;
    for t in 0..f.roots.len() {
        let start = f.roots[t] as usize;
        let end = f.roots.get(t + 1).map_or(len, |&r| r as usize);
        let (mut deepest, mut largest) = (0, 0.0f32);
        for i in start..end {
            let (l, r) = (f.left[i], f.right[i]);
            if l == LEAF {
                deepest = deepest.max(depth[i]);
                largest = largest.max(f.value[i].abs());
            } else {
                depth[l as usize] = depth[i] + 1;
                depth[r as usize] = depth[i] + 1;
            }
        }
        depths.push(deepest);
        reach += f64::from(largest);
    }
    if reach > f64::from(f32::MAX) {
        return Err(GpuError::InvalidForest(format!(
            "the trees' leaf values can sum to {reach:e}, beyond the f32 range of the device's sums (scale them down)"
        )));
    }
    Ok(depths)
}
