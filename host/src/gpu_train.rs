//! GPU training: the device as a [`forest::LevelBackend`]. The forest's bin
//! codes and target ranks are uploaded once; a tree's weights and weighted
//! targets once per tree; then each level is one histogram dispatch per
//! chunk of nodes (kernel `shaders/level_histogram.wgsl`) and one partition
//! dispatch (`shaders/level_partition.wgsl`). Everything that decides the
//! tree stays with the caller (the forest crate's `LevelGrower`).
//!
//! The histograms are integer sums, so the trees are the same bit for bit
//! as those of the CPU backend (`forest::CpuLevels`) on any device.

use wgpu::util::DeviceExt;

use forest::{Bin, LEAF, LevelBackend, MAX_BINS, Move};

use crate::gpu::{Gpu, GpuError, build_kernel};

const HISTOGRAM: &str = include_str!("../../shaders/level_histogram.wgsl");
const PARTITION: &str = include_str!("../../shaders/level_partition.wgsl");
const SHARED: &str = include_str!("../../shaders/level_histogram_shared.wgsl");

/// On a hardware adapter, calls for at most this many nodes use the
/// workgroup-memory kernel (`level_histogram_shared.wgsl`: one pass over the
/// rows per node and group of features): the top levels, where rows contend
/// for the same bins. Not on a software adapter, where it is slower (its
/// barriers and extra passes run on the CPU; docs/performance.md).
const SHARED_MAX_NODES: usize = 4;
/// That kernel's features per workgroup and rows per workgroup (its GROUP
/// and BLOCK).
const SHARED_GROUP: u32 = 3;
const SHARED_BLOCK: u32 = 4096;

type Result<T, E = GpuError> = std::result::Result<T, E>;

/// Nodes with more rows than this get their histograms from the device
/// under [`forest::Hybrid`]; the CPU builds the others. A histogram read
/// back costs `n_features × 4 KiB` however few rows it holds; this is a
/// first choice, to be measured on a hardware GPU.
pub const DEVICE_MIN_ROWS: usize = 4096;

/// Training-set size (rows) from which `device auto` trains on a hardware
/// GPU. An estimate, not a measurement: no machine of this project has
/// one (docs/performance.md, GPU training, gives the reasoning);
/// `WASM_FOREST_GPU_MIN_TRAIN_ROWS` sets it.
pub const AUTO_MIN_TRAIN_ROWS: u32 = 200_000;

/// Software adapters run on the sandbox's own cores: `auto` never trains
/// on them (see docs/performance.md, GPU training, for lavapipe's figures).
pub fn auto_min_train_rows(info: &crate::gpu::AdapterInfo) -> u32 {
    if info.device_type == "cpu" {
        u32::MAX
    } else {
        AUTO_MIN_TRAIN_ROWS
    }
}

/// A kernel's pipeline and the layout of its bind group 0.
struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl Kernel {
    /// The kernel `entry` of WGSL `source` (see [`crate::gpu::build_kernel`]).
    fn new(gpu: &Gpu, entry: &str, source: &str, storage: &[bool]) -> Result<Kernel> {
        gpu.scoped(&format!("building the {entry} pipeline"), || {
            build_kernel(gpu.device(), entry, source, storage)
        })?
        .map(|(pipeline, layout)| Kernel { pipeline, layout })
    }

    /// Records one dispatch over `n_rows` rows with `buffers` bound in
    /// order after the parameters `[n_rows, n_features, words_per_row]`.
    fn dispatch(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        params: [u32; 3],
        buffers: &[&wgpu::Buffer],
    ) {
        let (gx, gy, pitch) = gpu.grid(params[0]);
        let uniform = [params[0], params[1], params[2], pitch];
        self.dispatch_grid(gpu, encoder, uniform, buffers, (gx, gy));
    }

    /// Records one dispatch of `groups` workgroups with the parameters
    /// `uniform` and then `buffers` bound in order.
    fn dispatch_grid(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        uniform: [u32; 4],
        buffers: &[&wgpu::Buffer],
        (gx, gy): (u32, u32),
    ) {
        let uniform = gpu
            .device()
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::cast_slice(&uniform),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(&uniform)
            .chain(buffers.iter().copied())
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let group = gpu.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.layout,
            entries: &entries,
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(gx, gy, 1);
    }
}

/// One tree's rows on the device.
struct TreeRows {
    weights: wgpu::Buffer,
    wy: wgpu::Buffer,
    node_of: wgpu::Buffer,
    /// Nodes in the current level.
    level_len: u32,
}

/// A forest's training set on the device.
pub struct GpuLevels<'g> {
    gpu: &'g Gpu,
    n_rows: u32,
    n_features: u32,
    words_per_row: u32,
    codes: wgpu::Buffer,
    ranks: wgpu::Buffer,
    histogram: Kernel,
    shared: Kernel,
    /// Calls for at most this many nodes use `shared` (0: never).
    shared_max_nodes: usize,
    partition: Kernel,
    tree: Option<TreeRows>,
}

/// A training set on the process's shared device (the `gpu-training-set`
/// resource).
pub type TrainingSet = GpuLevels<'static>;

/// Bytes of histograms one `histograms` call may ask for (the forest
/// crate asks for a level in chunks of at most 32 MiB).
pub const MAX_CALL_HIST_BYTES: u64 = 256 << 20;

impl<'g> GpuLevels<'g> {
    /// Uploads a training set: `codes` row-major `n_rows × n_features` bin
    /// codes, `ranks` one target rank per row (which gives `n_rows`).
    pub fn new(gpu: &'g Gpu, n_features: usize, codes: &[u8], ranks: &[u32]) -> Result<Self> {
        let n_rows = ranks.len();
        if n_features == 0 || n_rows == 0 || Some(codes.len()) != n_rows.checked_mul(n_features) {
            return Err(GpuError::InvalidInput(format!(
                "{} bin codes for {n_rows} rows (ranks) × {n_features} features",
                codes.len()
            )));
        }
        if n_rows > u32::MAX as usize / 2 || n_features > u32::MAX as usize / MAX_BINS {
            return Err(GpuError::TooLarge(format!(
                "{n_rows} rows × {n_features} features"
            )));
        }
        let words_per_row = n_features.div_ceil(4);
        let mut packed = vec![0u32; n_rows * words_per_row];
        for (r, row) in codes.chunks_exact(n_features).enumerate() {
            for (f, &c) in row.iter().enumerate() {
                packed[r * words_per_row + f / 4] |= u32::from(c) << (8 * (f % 4));
            }
        }
        let bytes = packed.len() as u64 * 4;
        if bytes > gpu.max_buffer_bytes() {
            return Err(GpuError::TooLarge(format!(
                "the bin codes take {bytes} bytes; the device's buffers hold {}",
                gpu.max_buffer_bytes()
            )));
        }
        let (codes, ranks) = gpu.scoped("uploading the training set", || {
            (
                gpu.storage("codes", bytemuck::cast_slice(&packed)),
                gpu.storage("ranks", bytemuck::cast_slice(ranks)),
            )
        })?;
        let histogram = Kernel::new(
            gpu,
            "histogram_rows",
            HISTOGRAM,
            &[true, true, true, true, true, true, false, false],
        )?;
        let partition = Kernel::new(gpu, "partition_rows", PARTITION, &[true, false, true])?;
        let storage = [true, true, true, true, true, false];
        let shared = Kernel::new(gpu, "histogram_shared", SHARED, &storage)?;
        Ok(GpuLevels {
            gpu,
            n_rows: n_rows as u32,
            n_features: n_features as u32,
            words_per_row: words_per_row as u32,
            codes,
            ranks,
            histogram,
            shared,
            shared_max_nodes: match gpu.adapter_info().device_type.as_str() {
                "cpu" => 0,
                _ => SHARED_MAX_NODES,
            },
            partition,
            tree: None,
        })
    }

    /// Uses the workgroup-memory kernel for calls of at most `nodes` nodes
    /// (tests: it must give the row kernel's histograms on any adapter).
    #[doc(hidden)]
    pub fn set_shared_max_nodes(&mut self, nodes: usize) {
        self.shared_max_nodes = nodes;
    }

    fn params(&self) -> [u32; 3] {
        [self.n_rows, self.n_features, self.words_per_row]
    }

    fn tree(&self) -> Result<&TreeRows> {
        self.tree
            .as_ref()
            .ok_or_else(|| GpuError::InvalidInput("no tree started".into()))
    }

    fn readback(&self, bytes: u64) -> wgpu::Buffer {
        self.gpu.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Buffers the histogram kernel writes: `n` zeroed histograms (wgpu
    /// zeroes a new buffer) and `n_ranges` empty rank ranges. Never empty:
    /// a binding needs a buffer of some size.
    fn outputs(&self, n: usize, n_ranges: usize) -> Result<(wgpu::Buffer, wgpu::Buffer)> {
        let hist_bytes = n as u64 * u64::from(self.n_features) * MAX_BINS as u64 * 16;
        let limit = MAX_CALL_HIST_BYTES.min(self.gpu.max_buffer_bytes());
        if hist_bytes > limit {
            return Err(GpuError::TooLarge(format!(
                "{n} histograms take {hist_bytes} bytes; one call may ask for {limit}"
            )));
        }
        let hist_bytes = hist_bytes.max(16);
        let device = self.gpu.device();
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        let hist = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("histograms"),
            size: hist_bytes,
            usage,
            mapped_at_creation: false,
        });
        let empty: Vec<[u32; 2]> = vec![[u32::MAX, 0]; n_ranges.max(1)];
        let ranges = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("ranges"),
            contents: bytemuck::cast_slice(&empty),
            usage,
        });
        Ok((hist, ranges))
    }

    /// Records the dispatches that fill `hist` and `ranges` for the slots
    /// `slot_of` (`n_hist` histograms): for a few nodes, the rank ranges
    /// from the row kernel and the histograms from the workgroup-memory
    /// one; else both from the row kernel.
    fn record_histograms(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        tree: &TreeRows,
        (slot_of, n_hist): (&[[u32; 2]], usize),
        (hist, ranges): (&wgpu::Buffer, &wgpu::Buffer),
    ) {
        let gpu = self.gpu;
        let n_groups = self.n_features.div_ceil(SHARED_GROUP);
        let grid = (self.n_rows.div_ceil(SHARED_BLOCK), n_hist as u32 * n_groups);
        let max = gpu.device().limits().max_compute_workgroups_per_dimension;
        let shared =
            n_hist > 0 && n_hist <= self.shared_max_nodes && grid.0 <= max && grid.1 <= max;
        let slots = gpu.storage("slot_of", bytemuck::cast_slice(slot_of));
        let row_slots = if shared {
            // The row kernel then builds the rank ranges only.
            let ranges_only: Vec<[u32; 2]> = slot_of.iter().map(|s| [LEAF, s[1]]).collect();
            gpu.storage("slot_of", bytemuck::cast_slice(&ranges_only))
        } else {
            slots.clone()
        };
        let t = tree;
        let buffers = [
            &self.codes,
            &t.node_of,
            &row_slots,
            &t.weights,
            &t.wy,
            &self.ranks,
        ];
        let buffers: Vec<&wgpu::Buffer> = buffers.into_iter().chain([hist, ranges]).collect();
        self.histogram
            .dispatch(gpu, encoder, self.params(), &buffers);
        if shared {
            let uniform = [self.n_rows, self.n_features, self.words_per_row, n_groups];
            let buffers = [&self.codes, &t.node_of, &slots, &t.weights, &t.wy, hist];
            self.shared
                .dispatch_grid(gpu, encoder, uniform, &buffers, grid);
        }
    }

    /// [`GpuLevels::level_histogram_words`] as bins and ranges.
    pub fn level_histograms(
        &self,
        nodes: &[u32],
        ranges_of: &[u32],
    ) -> Result<(Vec<Bin>, Vec<[u32; 2]>)> {
        let (bins, ranges) = self.level_histogram_words(nodes, ranges_of)?;
        let bins = bins.chunks_exact(4);
        let bins = bins.map(|b| Bin::from_words([b[0], b[1], b[2], b[3]]));
        let ranges = ranges.chunks_exact(2).map(|r| [r[0], r[1]]);
        Ok((bins.collect(), ranges.collect()))
    }

    /// The histograms of the current level's `nodes` and the target-rank
    /// ranges of its nodes `ranges_of`, as the device holds them and the
    /// `gpu-training-set.histograms` call returns them: four words per bin,
    /// two per range.
    pub fn level_histogram_words(
        &self,
        nodes: &[u32],
        ranges_of: &[u32],
    ) -> Result<(Vec<u32>, Vec<u32>)> {
        let tree = self.tree()?;
        let slot_of = slots(tree.level_len, nodes, ranges_of)?;
        if nodes.is_empty() && ranges_of.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let gpu = self.gpu;
        let (out_hist, out_ranges) = self.outputs(nodes.len(), ranges_of.len())?;
        let (hist_back, ranges_back) = (
            self.readback(out_hist.size()),
            self.readback(out_ranges.size()),
        );
        let submission = gpu.scoped("building histograms", || {
            let mut encoder = gpu
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            let out = (&out_hist, &out_ranges);
            self.record_histograms(&mut encoder, tree, (&slot_of, nodes.len()), out);
            encoder.copy_buffer_to_buffer(&out_hist, 0, &hist_back, 0, out_hist.size());
            encoder.copy_buffer_to_buffer(&out_ranges, 0, &ranges_back, 0, out_ranges.size());
            gpu.queue().submit([encoder.finish()])
        })?;
        let what = format!("{} histograms", nodes.len());
        // The buffers are never empty (a binding needs some size): only the
        // words asked for.
        let bins = gpu.read_back_bytes(&hist_back, submission.clone(), &what)?;
        let bins = &bins[..nodes.len() * self.n_features as usize * MAX_BINS * 16];
        let ranges = gpu.read_back_bytes(&ranges_back, submission, &what)?;
        let ranges = &ranges[..ranges_of.len() * 8];
        Ok((
            bytemuck::pod_collect_to_vec(bins),
            bytemuck::pod_collect_to_vec(ranges),
        ))
    }
}

/// Each node of a level of `level_len` nodes: its slot among `nodes` and
/// among `ranges_of` (LEAF: not asked for). A node asked for twice, or
/// outside the level, is refused: the kernel would fill one slot only.
fn slots(level_len: u32, nodes: &[u32], ranges_of: &[u32]) -> Result<Vec<[u32; 2]>> {
    let mut slot_of = vec![[LEAF; 2]; level_len as usize];
    for (side, list) in [nodes, ranges_of].into_iter().enumerate() {
        for (k, &n) in list.iter().enumerate() {
            let what = ["histograms", "ranges"][side];
            let slot = slot_of.get_mut(n as usize).ok_or_else(|| {
                GpuError::InvalidInput(format!(
                    "{what} of node {n} of a level of {level_len} nodes"
                ))
            })?;
            if slot[side] != LEAF {
                return Err(GpuError::InvalidInput(format!(
                    "{what} of node {n} asked for twice"
                )));
            }
            slot[side] = k as u32;
        }
    }
    Ok(slot_of)
}

/// Refuses moves that are not one per node of a level of `level_len`
/// nodes, name a feature beyond `n_features`, or a child beyond twice the
/// level (ids the next level's buffers could not hold).
fn check_moves(moves: &[Move], level_len: u32, n_features: u32) -> Result<()> {
    if moves.len() != level_len as usize {
        return Err(GpuError::InvalidInput(format!(
            "{} moves for a level of {level_len} nodes",
            moves.len()
        )));
    }
    let children = 2 * moves.len() as u64;
    for (i, m) in moves.iter().enumerate() {
        let bad = if m.feature == LEAF {
            None
        } else if m.feature >= n_features {
            Some(format!("feature {} of {n_features}", m.feature))
        } else if u64::from(m.left.max(m.right)) >= children {
            Some(format!("child {} beyond {children}", m.left.max(m.right)))
        } else {
            None
        };
        if let Some(bad) = bad {
            return Err(GpuError::InvalidInput(format!("move of node {i}: {bad}")));
        }
    }
    Ok(())
}

impl LevelBackend for GpuLevels<'_> {
    type Error = GpuError;

    fn start_tree(&mut self, weights: &[u32], wy: &[i64]) -> Result<()> {
        let n = self.n_rows as usize;
        if weights.len() != n || wy.len() != n {
            return Err(GpuError::InvalidInput(format!(
                "{} weights and {} targets for {n} rows",
                weights.len(),
                wy.len()
            )));
        }
        let node_of: Vec<u32> = weights
            .iter()
            .map(|&w| if w > 0 { 0 } else { LEAF })
            .collect();
        let gpu = self.gpu;
        let tree = gpu.scoped("uploading a tree's rows", || {
            let rw = |label, bytes: &[u8]| {
                gpu.device()
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some(label),
                        contents: bytes,
                        usage: wgpu::BufferUsages::STORAGE,
                    })
            };
            TreeRows {
                weights: rw("weights", bytemuck::cast_slice(weights)),
                wy: rw("wy", bytemuck::cast_slice(wy)),
                node_of: rw("node_of", bytemuck::cast_slice(&node_of)),
                level_len: 1,
            }
        })?;
        self.tree = Some(tree);
        Ok(())
    }

    fn histograms(
        &mut self,
        nodes: &[u32],
        ranges_of: &[u32],
        hist: &mut Vec<Bin>,
        ranks: &mut Vec<[u32; 2]>,
    ) -> Result<()> {
        let (h, r) = self.level_histograms(nodes, ranges_of)?;
        hist.extend(h);
        ranks.extend(r);
        Ok(())
    }

    fn next_level(&mut self, moves: &[Move]) -> Result<()> {
        let tree = self.tree()?;
        check_moves(moves, tree.level_len, self.n_features)?;
        let packed: Vec<[u32; 4]> = moves
            .iter()
            .map(|m| [m.feature, u32::from(m.last_left), m.left, m.right])
            .collect();
        let next_len = Move::next_level_len(moves) as u32;
        let gpu = self.gpu;
        // Not waited for: the queue runs it before the next level's
        // histograms, whose readback waits (and reports a lost device).
        gpu.scoped("moving rows to the next level", || {
            let moves = gpu.storage("moves", bytemuck::cast_slice(&packed));
            let mut encoder = gpu
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            let buffers = [&self.codes, &tree.node_of, &moves];
            self.partition
                .dispatch(gpu, &mut encoder, self.params(), &buffers);
            gpu.queue().submit([encoder.finish()]);
        })?;
        if let Some(t) = &mut self.tree {
            t.level_len = next_len;
        }
        Ok(())
    }
}
