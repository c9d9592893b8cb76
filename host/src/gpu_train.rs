//! GPU training: the device as a [`forest::LevelBackend`]. The forest's bin
//! codes and target ranks are uploaded once; a tree's weights and weighted
//! targets once per tree; then each level is one histogram dispatch per
//! chunk of nodes (kernel `shaders/level_histogram.wgsl`) and one partition
//! dispatch (`shaders/level_partition.wgsl`). Everything that decides the
//! tree stays with the caller (the forest crate's `LevelGrower`).
//!
//! The histograms are integer sums, so the trees are the same bit for bit
//! as those of the CPU backend (`forest::CpuLevels`) on any device.
//!
//! Buffers are created once per training set, not per level: a tree's rows
//! are rewritten in place, and the per-call buffers ([`Grown`]) are kept
//! and replaced only by larger ones.

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

/// A kernel's pipeline, the layout of its bind group 0 and its parameters'
/// uniform buffer.
struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    /// Rewritten by each dispatch (the write lands before the next submit):
    /// so a kernel is dispatched at most once per submission.
    uniform: wgpu::Buffer,
}

impl Kernel {
    /// The kernel `entry` of WGSL `source` (see [`crate::gpu::build_kernel`]).
    fn new(gpu: &Gpu, entry: &str, source: &str, storage: &[bool]) -> Result<Kernel> {
        gpu.scoped(&format!("building the {entry} pipeline"), || {
            let uniform = gpu.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: 16,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            build_kernel(gpu.device(), entry, source, storage).map(|(pipeline, layout)| Kernel {
                pipeline,
                layout,
                uniform,
            })
        })?
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
        gpu.queue()
            .write_buffer(&self.uniform, 0, bytemuck::cast_slice(&uniform));
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(&self.uniform)
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

/// One tree's rows on the device: created by the first tree, rewritten by
/// the next ones.
struct TreeRows {
    weights: wgpu::Buffer,
    wy: wgpu::Buffer,
    node_of: wgpu::Buffer,
    /// Nodes in the current level.
    level_len: u32,
}

/// A buffer kept from call to call and replaced only when a call needs
/// more: the per-level buffers are not created per level. It grows to a
/// power of two, so a forest replaces it a few times at most.
struct Grown {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

impl Grown {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> Grown {
        Grown {
            label,
            usage,
            buffer: None,
        }
    }

    /// The buffer, of at least `bytes` bytes (a multiple of 4; at least 16:
    /// a binding needs some size), on `gpu` whose buffers hold at most
    /// `max` bytes.
    fn at_least(&mut self, gpu: &Gpu, bytes: u64, max: u64) -> wgpu::Buffer {
        let bytes = bytes.max(16);
        match &self.buffer {
            Some(b) if b.size() >= bytes => b.clone(),
            _ => {
                let rounded = bytes.next_power_of_two();
                let size = if rounded <= max { rounded } else { bytes };
                let b = gpu.device().create_buffer(&wgpu::BufferDescriptor {
                    label: Some(self.label),
                    size,
                    usage: self.usage,
                    mapped_at_creation: false,
                });
                self.buffer = Some(b.clone());
                b
            }
        }
    }
}

/// The buffers of a `histograms` and a `next_level` call.
struct Scratch {
    /// Each node's slots (`slot_of`), and the copy the row kernel gets
    /// when the workgroup-memory kernel builds the histograms.
    slots: Grown,
    row_slots: Grown,
    hist: Grown,
    ranges: Grown,
    hist_back: Grown,
    ranges_back: Grown,
    moves: Grown,
}

impl Scratch {
    fn new() -> Scratch {
        use wgpu::BufferUsages as U;
        let input = U::STORAGE | U::COPY_DST;
        let output = U::STORAGE | U::COPY_SRC | U::COPY_DST;
        let back = U::MAP_READ | U::COPY_DST;
        Scratch {
            slots: Grown::new("slot_of", input),
            row_slots: Grown::new("slot_of", input),
            hist: Grown::new("histograms", output),
            ranges: Grown::new("ranges", output),
            hist_back: Grown::new("readback", back),
            ranges_back: Grown::new("readback", back),
            moves: Grown::new("moves", input),
        }
    }
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
    scratch: Scratch,
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
            scratch: Scratch::new(),
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

    /// Fills the histogram output for `n` histograms: zeroed by `encoder`
    /// (a buffer from an earlier call holds that call's sums). Its bytes.
    fn hist_output(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        n: usize,
    ) -> Result<(wgpu::Buffer, u64)> {
        let bytes = n as u64 * u64::from(self.n_features) * MAX_BINS as u64 * 16;
        let limit = MAX_CALL_HIST_BYTES.min(self.gpu.max_buffer_bytes());
        if bytes > limit {
            return Err(GpuError::TooLarge(format!(
                "{n} histograms take {bytes} bytes; one call may ask for {limit}"
            )));
        }
        let bytes = bytes.max(16);
        let max = self.gpu.max_buffer_bytes();
        let hist = self.scratch.hist.at_least(self.gpu, bytes, max);
        encoder.clear_buffer(&hist, 0, Some(bytes));
        Ok((hist, bytes))
    }

    /// The rank-range output for `n` ranges, each written empty (the
    /// kernel narrows it with atomic min and max). Its bytes.
    fn ranges_output(&mut self, n: usize) -> (wgpu::Buffer, u64) {
        let empty: Vec<[u32; 2]> = vec![[u32::MAX, 0]; n.max(2)];
        let bytes = empty.len() as u64 * 8;
        let max = self.gpu.max_buffer_bytes();
        let ranges = self.scratch.ranges.at_least(self.gpu, bytes, max);
        let queue = self.gpu.queue();
        queue.write_buffer(&ranges, 0, bytemuck::cast_slice(&empty));
        (ranges, bytes)
    }

    /// `words` written to the buffer `which` of the scratch set.
    fn input(&mut self, which: fn(&mut Scratch) -> &mut Grown, words: &[u32]) -> wgpu::Buffer {
        let max = self.gpu.max_buffer_bytes();
        let buffer = which(&mut self.scratch).at_least(self.gpu, words.len() as u64 * 4, max);
        if !words.is_empty() {
            let queue = self.gpu.queue();
            queue.write_buffer(&buffer, 0, bytemuck::cast_slice(words));
        }
        buffer
    }

    /// Records the dispatches that fill `hist` and `ranges` for the slots
    /// `slot_of` (`n_hist` histograms): for a few nodes, the rank ranges
    /// from the row kernel and the histograms from the workgroup-memory
    /// one; else both from the row kernel.
    fn record_histograms(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        (slot_of, n_hist): (&[[u32; 2]], usize),
        (hist, ranges): (&wgpu::Buffer, &wgpu::Buffer),
    ) -> Result<()> {
        let gpu = self.gpu;
        let n_groups = self.n_features.div_ceil(SHARED_GROUP);
        let grid = (self.n_rows.div_ceil(SHARED_BLOCK), n_hist as u32 * n_groups);
        let max = gpu.device().limits().max_compute_workgroups_per_dimension;
        let shared =
            n_hist > 0 && n_hist <= self.shared_max_nodes && grid.0 <= max && grid.1 <= max;
        let slots = self.input(|s| &mut s.slots, bytemuck::cast_slice(slot_of));
        let row_slots = if shared {
            // The row kernel then builds the rank ranges only.
            let ranges_only: Vec<[u32; 2]> = slot_of.iter().map(|s| [LEAF, s[1]]).collect();
            self.input(|s| &mut s.row_slots, bytemuck::cast_slice(&ranges_only))
        } else {
            slots.clone()
        };
        let t = self.tree()?;
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
        Ok(())
    }

    /// [`GpuLevels::level_histogram_words`] as bins and ranges.
    pub fn level_histograms(
        &mut self,
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
        &mut self,
        nodes: &[u32],
        ranges_of: &[u32],
    ) -> Result<(Vec<u32>, Vec<u32>)> {
        let slot_of = slots(self.tree()?.level_len, nodes, ranges_of)?;
        if nodes.is_empty() && ranges_of.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let gpu = self.gpu;
        let max = gpu.max_buffer_bytes();
        let (submission, hist_back, ranges_back) = gpu.scoped("building histograms", || {
            let mut encoder = gpu
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            let (hist, hist_bytes) = self.hist_output(&mut encoder, nodes.len())?;
            let (ranges, range_bytes) = self.ranges_output(ranges_of.len());
            let out = (&hist, &ranges);
            self.record_histograms(&mut encoder, (&slot_of, nodes.len()), out)?;
            let hist_back = self.scratch.hist_back.at_least(gpu, hist_bytes, max);
            let ranges_back = self.scratch.ranges_back.at_least(gpu, range_bytes, max);
            encoder.copy_buffer_to_buffer(&hist, 0, &hist_back, 0, hist_bytes);
            encoder.copy_buffer_to_buffer(&ranges, 0, &ranges_back, 0, range_bytes);
            let submission = gpu.queue().submit([encoder.finish()]);
            Ok((submission, hist_back, ranges_back))
        })??;
        let what = format!("{} histograms", nodes.len());
        // Only the words asked for: the buffers may be larger.
        let hist_bytes = nodes.len() as u64 * u64::from(self.n_features) * MAX_BINS as u64 * 16;
        let bins = gpu.read_back_bytes(&hist_back, hist_bytes, submission.clone(), &what)?;
        let ranges_bytes = ranges_of.len() as u64 * 8;
        let ranges = gpu.read_back_bytes(&ranges_back, ranges_bytes, submission, &what)?;
        Ok((
            bytemuck::pod_collect_to_vec(&bins),
            bytemuck::pod_collect_to_vec(&ranges),
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
        let rows = [
            bytemuck::cast_slice(weights),
            bytemuck::cast_slice(wy),
            bytemuck::cast_slice(&node_of),
        ];
        gpu.scoped("uploading a tree's rows", || match &mut self.tree {
            Some(tree) => {
                let buffers = [&tree.weights, &tree.wy, &tree.node_of];
                for (buffer, bytes) in buffers.into_iter().zip(rows) {
                    gpu.queue().write_buffer(buffer, 0, bytes);
                }
                tree.level_len = 1;
            }
            None => {
                let [weights, wy, node_of] = rows.map(|bytes| {
                    gpu.device()
                        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                            label: Some("tree rows"),
                            contents: bytes,
                            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                        })
                });
                self.tree = Some(TreeRows {
                    weights,
                    wy,
                    node_of,
                    level_len: 1,
                });
            }
        })
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
        check_moves(moves, self.tree()?.level_len, self.n_features)?;
        let packed: Vec<[u32; 4]> = moves
            .iter()
            .map(|m| {
                let bins = u32::from(m.last_left) | u32::from(m.missing_left) << 8;
                [m.feature, bins, m.left, m.right]
            })
            .collect();
        let next_len = Move::next_level_len(moves) as u32;
        let gpu = self.gpu;
        // Not waited for: the queue runs it before the next level's
        // histograms, whose readback waits (and reports a lost device).
        gpu.scoped("moving rows to the next level", || {
            let moves = self.input(|s| &mut s.moves, bytemuck::cast_slice(&packed));
            let mut encoder = gpu
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            let tree = self.tree()?;
            let buffers = [&self.codes, &tree.node_of, &moves];
            self.partition
                .dispatch(gpu, &mut encoder, self.params(), &buffers);
            gpu.queue().submit([encoder.finish()]);
            Ok(())
        })??;
        if let Some(t) = &mut self.tree {
            t.level_len = next_len;
        }
        Ok(())
    }
}
