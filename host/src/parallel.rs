//! Work spread over several sandboxed instances of the one pre-linked
//! component: wasip2 has no threads, so each worker thread gets its own
//! instance (store, memory, limits). Trees depend only on (data, params, tree
//! index), so the model bytes are the same for any number of workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::progress::TreeProgress;
use crate::runtime::{
    Dataset, Device, GpuStats, Job, ModelHandle, ModelInfo, NATIVE_STACK, OobPredictions,
    PermutationScores, Placement, Runtime,
};

/// The default worker count: the machine's cores.
pub fn default_workers() -> usize {
    thread::available_parallelism().map_or(1, usize::from)
}

/// `n` items split into at most `workers` contiguous, non-empty shares:
/// (first, count) each.
pub fn shares(n: u32, workers: usize) -> Vec<(u32, u32)> {
    let w = (workers.max(1) as u64).min(u64::from(n).max(1));
    (0..w)
        .map(|i| {
            let first = (u64::from(n) * i / w) as u32;
            let end = (u64::from(n) * (i + 1) / w) as u32;
            (first, end - first)
        })
        .filter(|&(_, count)| count > 0)
        .collect()
}

/// Runs `f(worker)` for workers `0..n`, each on its own thread with the
/// stack guests need; results in worker order, the first error wins.
fn run_workers<T: Send>(n: usize, f: impl Fn(usize) -> Result<T> + Sync) -> Result<Vec<T>> {
    let f = &f;
    thread::scope(|scope| {
        let handles = (0..n)
            .map(|w| {
                thread::Builder::new()
                    .name(format!("wasm-forest-worker-{w}"))
                    .stack_size(NATIVE_STACK)
                    .spawn_scoped(scope, move || f(w))
                    .context("starting a worker thread")
            })
            .collect::<Result<Vec<_>>>()?;
        handles
            .into_iter()
            .enumerate()
            .map(|(w, h)| {
                h.join()
                    .map_err(|_| anyhow!("worker {w} panicked"))?
                    .with_context(|| format!("worker {w} of {n}"))
            })
            .collect()
    })
}

/// A sandboxed training run.
pub struct Trained {
    pub model: Vec<u8>,
    pub workers: usize,
    /// Peak linear memory of the training instances, summed.
    pub peak_memory: usize,
    /// The largest peak of one training instance.
    pub peak_worker_memory: usize,
    /// `trainer.grow` calls over all workers.
    pub grow_calls: usize,
    /// How long the host took to merge the parts into the model bytes.
    pub merge: Duration,
    /// Where each worker's trees grew (`trainer.placement` at its end).
    pub placements: Vec<Placement>,
    /// Time the `gpu` import spent on training, over all workers.
    pub gpu_time: Duration,
    /// Node histograms the GPU built, over all workers.
    pub gpu_histograms: u64,
    /// Where the time went.
    pub phases: TrainPhases,
}

/// A training run's phases as the host measures them: each worker
/// instantiates its sandbox, hands it the data and grows its trees; the
/// first three are the slowest worker's (the workers run side by side).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrainPhases {
    pub instantiate: Duration,
    /// `trainer.start-on`: lifting the data into the sandbox and checking it.
    pub copy_in: Duration,
    /// The `trainer.grow` calls, their part bytes included.
    pub grow: Duration,
    /// The host merging the parts into the model bytes.
    pub merge: Duration,
}

impl Trained {
    /// `gpu` when every worker trained on the GPU, else `cpu`; and the
    /// workers' notes, each once.
    pub fn placement(&self) -> Placement {
        placement_of(&self.placements)
    }
}

/// `gpu` when every worker's trees grew on the GPU, else `cpu`; and the
/// workers' notes, each once.
pub fn placement_of(placements: &[Placement]) -> Placement {
    let on_gpu = !placements.is_empty() && placements.iter().all(|p| p.device == Device::Gpu);
    let mut notes: Vec<&str> = Vec::new();
    for n in placements.iter().filter_map(|p| p.note.as_deref()) {
        if !notes.contains(&n) {
            notes.push(n);
        }
    }
    Placement {
        device: if on_gpu { Device::Gpu } else { Device::Cpu },
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Part bytes a `trainer.grow` call aims for at most: after a worker's first
/// tree, calls ask for no more trees than fit in this, judging by the trees
/// grown so far. Trees of large data come one per call, so an instance never
/// holds more than one such tree besides its data.
pub const PART_BYTES: usize = 1 << 20;

/// Trees for a worker's next `grow` call, given the bytes of the `done` trees
/// it grew so far, the trees `left` to hand out and the number of workers:
/// one to start with (a tree's size is not known yet), then a share of what
/// is left (guided scheduling: claims shrink towards the end, so no worker
/// waits long for another), within [`PART_BYTES`].
pub fn next_chunk(done: u32, bytes: usize, left: u32, workers: usize) -> u32 {
    if done == 0 || bytes == 0 {
        return 1.min(left);
    }
    let per_tree = bytes.div_ceil(done as usize);
    let budget = (PART_BYTES / per_tree).max(1) as u32;
    let guided = left.div_ceil(2 * workers.max(1) as u32);
    budget.min(guided).clamp(1.min(left), left)
}

/// The trees of one training, handed out to workers as they ask: a worker
/// on a core that is busy with something else grows fewer of them instead
/// of holding the others up (static shares made a 2-worker run as slow as
/// its slower core). Each tree depends only on its index, so the model is
/// the same whoever grows which.
pub struct TreeQueue {
    next: AtomicU32,
    total: u32,
    workers: usize,
}

impl TreeQueue {
    pub fn new(total: u32, workers: usize) -> TreeQueue {
        TreeQueue {
            next: AtomicU32::new(0),
            total,
            workers,
        }
    }

    /// The next trees, `(first, count)`, for a worker that has grown `done`
    /// trees of `bytes` part bytes so far; `None` when all are taken.
    pub fn claim(&self, done: u32, bytes: usize) -> Option<(u32, u32)> {
        let mut first = self.next.load(Ordering::Relaxed);
        loop {
            let left = self.total.checked_sub(first).filter(|&l| l > 0)?;
            let count = next_chunk(done, bytes, left, self.workers);
            match self.next.compare_exchange_weak(
                first,
                first + count,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some((first, count)),
                Err(now) => first = now,
            }
        }
    }

    /// One worker's loop: claims trees until none are left, growing each
    /// claim with `grow(first, count, grown)` (`grown`: the worker's trees
    /// so far), which returns the piece and its size in bytes; the pieces in
    /// claim order.
    pub fn drain<P, E>(
        &self,
        mut grow: impl FnMut(u32, u32, u32) -> std::result::Result<(P, usize), E>,
    ) -> std::result::Result<Vec<P>, E> {
        let (mut pieces, mut grown, mut bytes) = (Vec::new(), 0u32, 0usize);
        while let Some((first, count)) = self.claim(grown, bytes) {
            let (piece, size) = grow(first, count, grown)?;
            pieces.push(piece);
            grown += count;
            bytes += size;
        }
        Ok(pieces)
    }
}

/// Part bytes of a training so far, over all workers: the model file they
/// merge into may not outgrow [`forest::model::MAX_MODEL_BYTES`], and a
/// forest that would is stopped as it grows, not after.
#[derive(Default)]
struct ModelBytes(std::sync::atomic::AtomicU64);

impl ModelBytes {
    fn add(&self, part: usize, trees: u32) -> Result<()> {
        let total = self.0.fetch_add(part as u64, Ordering::Relaxed) + part as u64;
        let max = forest::model::MAX_MODEL_BYTES;
        if total > max {
            anyhow::bail!(
                "the forest outgrew the {} MiB a model file may hold after about {trees} trees: fewer trees (--n-estimators), a smaller --max-depth or a larger --min-samples-leaf make it smaller",
                max >> 20
            );
        }
        Ok(())
    }
}

/// Instances (or threads) a training of `n_estimators` trees uses: no more
/// than there are trees, and one for none (the guest then says what is wrong).
pub fn training_workers(n_estimators: u32, workers: usize) -> usize {
    workers.clamp(1, (n_estimators as usize).max(1))
}

/// Guest memory a training job may need, for the default memory cap: 16× the
/// data it is handed (copies, columns, sort orders), plus the largest forest
/// the parameters allow (nodes per tree are bounded by both 2 × rows and the
/// depth), held twice (trees and their encoding), 24 bytes a node.
pub fn training_bytes(ds: &Dataset, params: &forest::Params) -> u64 {
    let data = 4 * ds.features.len() as u64 + 8 * ds.targets.len() as u64;
    let by_rows = 2 * u64::from(ds.n_rows);
    let by_depth = params.max_depth.map_or(u64::MAX, |d| {
        1u64.checked_shl(d.saturating_add(1)).unwrap_or(u64::MAX)
    });
    let nodes = u64::from(params.n_estimators).saturating_mul(by_rows.min(by_depth));
    data.saturating_mul(16)
        .saturating_add(nodes.saturating_mul(48))
}

/// Trains `params.n_estimators` trees over `workers` instances (splitter
/// `level` with its histograms on `device`), then merges
/// the parts into model bytes. Each worker hands its dataset over once
/// (`trainer.start`) and then grows trees from a [`TreeQueue`] in pieces of
/// at most about [`PART_BYTES`] (`trainer.grow`), so a worker's memory is
/// its data plus one piece; each instance's memory cap is sized for that
/// ([`training_bytes`]) unless `--max-memory` set one.
///
/// The host merges the parts itself, with the forest crate's
/// [`forest::part::merge_bytes`] (the code of the component's `merge-parts`),
/// treating them as untrusted input: every size is checked and the merged
/// forest validated as any model file is. Natively the merge is a copy and a
/// checksum; in an instance it also copied every part in and the model out
/// through the component boundary, and that instance held the whole model
/// (docs/performance.md has the figures).
pub fn train(
    rt: &Runtime,
    data: &Dataset,
    params: &forest::Params,
    device: (Device, usize),
    progress: Option<Arc<TreeProgress>>,
) -> Result<Trained> {
    let trees = (0, params.n_estimators);
    let grown = grow_range(rt, data, params, device, trees, progress)?;
    let t = Instant::now();
    let model = forest::part::merge_bytes(grown.parts)
        .map_err(|e| anyhow!("the sandboxed workers returned parts that do not merge: {e}"))?;
    let phases = TrainPhases {
        merge: t.elapsed(),
        ..grown.phases
    };
    Ok(Trained {
        model,
        workers: grown.workers,
        peak_memory: grown.peak_memory,
        peak_worker_memory: grown.peak_worker_memory,
        grow_calls: grown.grow_calls,
        merge: phases.merge,
        phases,
        placements: grown.placements,
        gpu_time: grown.gpu_time,
        gpu_histograms: grown.gpu_histograms,
    })
}

/// Trees of a training grown but not merged: what [`grow_range`] returns.
pub struct Grown {
    /// Part bytes, for [`forest::part::merge_bytes`] (with the parts of the
    /// rest of the trees, if this was a range of them).
    pub parts: Vec<Vec<u8>>,
    pub workers: usize,
    pub peak_memory: usize,
    pub peak_worker_memory: usize,
    pub grow_calls: usize,
    pub placements: Vec<Placement>,
    pub gpu_time: Duration,
    pub gpu_histograms: u64,
    /// `merge` is zero: nothing was merged.
    pub phases: TrainPhases,
}

/// Grows trees `first..first + count` of the forest `params` describes over
/// `workers` instances, as [`train`] grows all of them, and returns the
/// parts unmerged: parts of disjoint ranges, grown anywhere (another
/// process, another machine), merge into the very bytes of one [`train`].
pub fn grow_range(
    rt: &Runtime,
    data: &Dataset,
    params: &forest::Params,
    (device, workers): (Device, usize),
    (first, count): (u32, u32),
    progress: Option<Arc<TreeProgress>>,
) -> Result<Grown> {
    // Parameter errors once, before any instance starts, and not as one
    // worker's.
    params.check_for(data.n_rows as usize, data.n_features as usize)?;
    forest::check_feature_names(
        data.feature_names.as_deref(),
        data.target_name.as_deref(),
        data.n_features as usize,
    )?;
    let n_workers = training_workers(count, workers);
    let queue = TreeQueue::new(count, n_workers);
    let model_bytes = ModelBytes::default();
    let memory_need = training_bytes(data, params);
    let done = run_workers(n_workers, |w| {
        let t = Instant::now();
        let mut job = rt.instantiate(memory_need)?;
        if let Some(p) = &progress {
            job.report_progress(p.clone(), w);
        }
        let instantiate = t.elapsed();
        let trainer = job.start_trainer(data, params, device)?;
        let copy_in = t.elapsed() - instantiate;
        let parts = if count == 0 {
            // One grow call lets the guest say what is wrong.
            vec![job.grow_part(&trainer, (first, 0), 0, 0)?]
        } else {
            queue.drain(|f, c, grown| {
                if let Some(p) = &progress {
                    p.claim(w, c);
                }
                let part = job.grow_part(&trainer, (first + f, c), grown, count)?;
                let size = part.len();
                model_bytes.add(size, f + c)?;
                anyhow::Ok((part, size))
            })?
        };
        let placement = job.placement(&trainer)?;
        job.drop_trainer(trainer)?;
        let phases = TrainPhases {
            instantiate,
            copy_in,
            grow: t.elapsed() - instantiate - copy_in,
            merge: Duration::ZERO,
        };
        // The instance (and its memory) goes with this thread.
        let gpu = job.gpu_stats();
        Ok((
            job.peak_memory(),
            parts,
            placement,
            (gpu.train, gpu.histograms),
            phases,
        ))
    })?;
    Ok(Grown::from_workers(done))
}

/// What one training worker reports: its peak memory, parts, placement,
/// GPU time and histograms, and phases.
type WorkerGrown = (usize, Vec<Vec<u8>>, Placement, (Duration, u64), TrainPhases);

impl Grown {
    fn from_workers(done: Vec<WorkerGrown>) -> Grown {
        let slowest = |f: fn(&TrainPhases) -> Duration| done.iter().map(|d| f(&d.4)).max();
        let phases = TrainPhases {
            instantiate: slowest(|p| p.instantiate).unwrap_or_default(),
            copy_in: slowest(|p| p.copy_in).unwrap_or_default(),
            grow: slowest(|p| p.grow).unwrap_or_default(),
            merge: Duration::ZERO,
        };
        let peaks: Vec<usize> = done.iter().map(|d| d.0).collect();
        Grown {
            workers: done.len(),
            peak_memory: peaks.iter().sum(),
            peak_worker_memory: peaks.iter().copied().max().unwrap_or(0),
            grow_calls: done.iter().map(|d| d.1.len()).sum(),
            placements: done.iter().map(|d| d.2.clone()).collect(),
            gpu_time: done.iter().map(|d| d.3.0).sum(),
            gpu_histograms: done.iter().map(|d| d.3.1).sum(),
            phases,
            parts: done.into_iter().flat_map(|d| d.1).collect(),
        }
    }
}

/// A prediction spread over instances, and what it cost.
pub struct Predicted {
    pub values: Vec<f64>,
    /// The device each block of rows ran on (`cpu` or `gpu`).
    pub devices: Vec<Device>,
    /// Why `auto` stayed on (or fell back to) the CPU, if it did (first share's note).
    pub note: Option<String>,
    /// What the `gpu` import did for this prediction, over all instances.
    pub gpu: GpuStats,
}

/// Rows of a large prediction an instance takes at a time (the forest
/// crate's block: its level walk keeps a block's rows in cache).
pub const PREDICT_BLOCK_ROWS: u32 = 65_536;

/// Instances holding one model, reused for many predictions; a batch is
/// split into contiguous blocks of rows that the instances take in turn.
pub struct Predictor {
    jobs: Vec<(Job, ModelHandle)>,
    pub info: ModelInfo,
}

impl Predictor {
    /// `workers` instances, each with `model` loaded; `memory_need` sizes
    /// each instance's memory cap.
    pub fn new(rt: &Runtime, model: &[u8], workers: usize, memory_need: u64) -> Result<Predictor> {
        let mut jobs = run_workers(workers.max(1), |_| {
            let mut job = rt.instantiate(memory_need)?;
            let handle = job.load_model(model)?;
            Ok((job, handle))
        })?;
        let (job, handle) = &mut jobs[0];
        let info = job.model_info(handle)?;
        Ok(Predictor { jobs, info })
    }

    pub fn workers(&self) -> usize {
        self.jobs.len()
    }

    /// Peak linear memory summed over the instances.
    pub fn peak_memory(&self) -> usize {
        self.jobs.iter().map(|(j, _)| j.peak_memory()).sum()
    }

    /// Predicts `n_rows` rows. Large batches go in blocks of about
    /// [`PREDICT_BLOCK_ROWS`] that the instances take as they finish the
    /// last, as training takes trees (a busy core then predicts fewer
    /// blocks); every row's prediction is the same whichever instance makes it.
    pub fn predict(&mut self, features: &[f32], n_rows: u32, device: Device) -> Result<Predicted> {
        let nf = self.info.n_features as usize;
        let before: Vec<GpuStats> = self.jobs.iter().map(|(j, _)| j.gpu_stats()).collect();
        let outs = self.spread(n_rows, |job, model, (first, count)| {
            let rows = &features[first as usize * nf..(first + count) as usize * nf];
            job.predict_on(model, rows, count, device)
        })?;
        let mut gpu = GpuStats::default();
        for ((job, _), b) in self.jobs.iter().zip(before) {
            let s = job.gpu_stats();
            gpu.uploads += s.uploads - b.uploads;
            gpu.upload += s.upload - b.upload;
            gpu.predicts += s.predicts - b.predicts;
            gpu.predict += s.predict - b.predict;
            gpu.chunks += s.chunks - b.chunks;
        }
        let mut values = Vec::with_capacity(n_rows as usize);
        let mut devices = Vec::new();
        let mut note = None;
        for p in outs {
            values.extend(p.values);
            devices.push(p.device);
            note = note.or(p.note);
        }
        Ok(Predicted {
            values,
            devices,
            note,
            gpu,
        })
    }

    /// Out-of-bag predictions of the model's `n_rows` training rows (see
    /// `model.out-of-bag`), spread over the instances as `predict` spreads
    /// rows: the values do not depend on the split.
    pub fn out_of_bag(
        &mut self,
        features: &[f32],
        n_rows: u32,
        sample_weight: Option<&[f64]>,
    ) -> Result<OobPredictions> {
        let nf = self.info.n_features as usize;
        let outs = self.spread(n_rows, |job, model, (first, count)| {
            let rows = &features[first as usize * nf..(first + count) as usize * nf];
            job.out_of_bag(model, rows, (first, count), sample_weight)
        })?;
        let mut all = OobPredictions {
            predictions: Vec::with_capacity(n_rows as usize),
            n_trees: Vec::with_capacity(n_rows as usize),
        };
        for o in outs {
            all.predictions.extend(o.predictions);
            all.n_trees.extend(o.n_trees);
        }
        Ok(all)
    }

    /// Permutation importance of every feature on held-out rows `data`
    /// (row-major features, targets, row count), each instance scoring one
    /// contiguous share of the features in one call (so it is handed the
    /// data and predicts the baseline once; a column's scores do not depend
    /// on where it is computed): the baseline R², and per feature the
    /// importance of each of `n_repeats` shuffles.
    pub fn permutation_importance(
        &mut self,
        data: (&[f32], &[f64], u32),
        (n_repeats, random_state): (u32, u32),
    ) -> Result<PermutationScores> {
        let groups = shares(self.info.n_features, self.jobs.len());
        let outs = self.take_turns(&groups, |job, model, (first, count)| {
            let columns: Vec<u32> = (first..first + count).collect();
            job.permutation_importance(model, data, &columns, (n_repeats, random_state))
        })?;
        let baseline = outs.first().map_or(f64::NAN, |o| o.baseline);
        if outs
            .iter()
            .any(|o| o.baseline.to_bits() != baseline.to_bits())
        {
            bail!(
                "model.permutation-importance: the instances disagree on the baseline score; refused"
            );
        }
        Ok(PermutationScores {
            baseline,
            importances: outs.into_iter().flat_map(|o| o.importances).collect(),
        })
    }

    /// Runs `call` on contiguous blocks of `n_rows` rows (`(first, count)`)
    /// of about [`PREDICT_BLOCK_ROWS`], which the instances take as they
    /// finish the last (a busy core then takes fewer); the results in
    /// block order.
    fn spread<T: Send>(
        &mut self,
        n_rows: u32,
        call: impl Fn(&mut Job, &ModelHandle, (u32, u32)) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let n_blocks = (n_rows.div_ceil(PREDICT_BLOCK_ROWS) as usize).max(self.jobs.len());
        self.take_turns(&shares(n_rows, n_blocks), call)
    }

    /// Runs `call` on each of `blocks`, which the instances take in turn as
    /// they finish the last; the results in block order.
    fn take_turns<T: Send>(
        &mut self,
        blocks: &[(u32, u32)],
        call: impl Fn(&mut Job, &ModelHandle, (u32, u32)) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let n_jobs = self.jobs.len();
        if blocks.len() == 1 || n_jobs == 1 {
            let (job, model) = &mut self.jobs[0];
            return blocks.iter().map(|&b| call(job, model, b)).collect();
        }
        let workers = n_jobs.min(blocks.len());
        let slots: Vec<_> = self.jobs.iter_mut().take(workers).map(Some).collect();
        let slots = std::sync::Mutex::new(slots);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done = run_workers(workers, |w| {
            let slot = slots.lock().map_err(|_| anyhow!("poisoned"))?[w].take();
            let (job, model) = slot.context("each instance runs once")?;
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&b) = blocks.get(i) else {
                    return Ok(mine);
                };
                mine.push((i, call(job, model, b)?));
            }
        })?;
        let mut outs: Vec<(usize, T)> = done.into_iter().flatten().collect();
        outs.sort_by_key(|(i, _)| *i);
        Ok(outs.into_iter().map(|(_, o)| o).collect())
    }

    pub fn drop_models(self) -> Result<()> {
        for (mut job, model) in self.jobs {
            job.drop_model(model)?;
        }
        Ok(())
    }
}
