//! Work spread over several sandboxed instances of the one pre-linked
//! component: wasip2 has no threads, so each worker thread gets its own
//! instance (store, memory, limits). Trees depend only on (data, params, tree
//! index), so the model bytes are the same for any number of workers.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::progress::TreeProgress;
use crate::runtime::{
    Dataset, Device, GpuStats, Job, ModelHandle, ModelInfo, NATIVE_STACK, Prediction, Runtime,
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

/// Runs `f(worker, share)` for every share, each on its own thread with the
/// stack guests need; results in share order, the first error wins.
fn run_workers<T: Send>(
    shares: &[(u32, u32)],
    f: impl Fn(usize, (u32, u32)) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let f = &f;
    thread::scope(|scope| {
        let handles = shares
            .iter()
            .enumerate()
            .map(|(w, &share)| {
                thread::Builder::new()
                    .name(format!("wasm-forest-worker-{w}"))
                    .stack_size(NATIVE_STACK)
                    .spawn_scoped(scope, move || f(w, share))
                    .context("starting a worker thread")
            })
            .collect::<Result<Vec<_>>>()?;
        handles
            .into_iter()
            .enumerate()
            .map(|(w, h)| {
                h.join()
                    .map_err(|_| anyhow!("worker {w} panicked"))?
                    .with_context(|| format!("worker {w} of {}", shares.len()))
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
}

/// Part bytes a `trainer.grow` call aims for: after the first tree of a
/// share, calls ask for as many trees as fit in this, judging by the trees
/// grown so far. Small forests take a call or two per worker; trees of
/// large data come one per call, so an instance never holds more than one
/// such tree besides its data.
pub const PART_BYTES: usize = 1 << 20;

/// Trees for the next `grow` call, given the bytes of the `done` trees so far.
pub fn next_chunk(done: u32, bytes: usize, left: u32) -> u32 {
    if done == 0 || bytes == 0 {
        return 1.min(left);
    }
    let per_tree = bytes.div_ceil(done as usize);
    ((PART_BYTES / per_tree) as u32)
        .clamp(1, left.max(1))
        .min(left)
}

/// Trains `params.n_estimators` trees over `workers` instances, then merges
/// the parts into model bytes. Each worker hands its dataset over once
/// (`trainer.start`) and takes its share in pieces of about [`PART_BYTES`]
/// (`trainer.grow`), so a worker's memory is its data plus one piece.
/// `memory_need` sizes each instance's memory cap.
///
/// The host merges the parts itself, with the forest crate's
/// [`forest::part::merge_bytes`] (the code of the component's `merge-parts`),
/// treating them as untrusted input: every size is checked and the merged
/// forest validated as any model file is. Natively the merge is a copy and a
/// checksum; in an instance it also copied every part in and the model out
/// through the component boundary, and that instance held the whole model
/// (friedman1 100 000: ~300 ms and 206 MiB of guest memory).
pub fn train(
    rt: &Runtime,
    data: &Dataset,
    params: &forest::Params,
    workers: usize,
    memory_need: u64,
    progress: Option<Arc<TreeProgress>>,
) -> Result<Trained> {
    let mut shares = shares(params.n_estimators, workers);
    if shares.is_empty() {
        // n_estimators 0: one grow call lets the guest say what is wrong.
        shares.push((0, 0));
    }
    let n_shares = shares.len();
    let done = run_workers(&shares, |w, (first, count)| {
        let mut job = rt.instantiate(memory_need)?;
        if let Some(p) = &progress {
            job.report_progress(p.clone(), w);
        }
        let trainer = job.start_trainer(data, params)?;
        let (mut parts, mut grown, mut bytes) = (Vec::new(), 0u32, 0usize);
        loop {
            let n = next_chunk(grown, bytes, count - grown);
            let part = job.grow(&trainer, (first + grown, n), grown, count)?;
            bytes += part.len();
            grown += n;
            parts.push(part);
            if grown >= count {
                break;
            }
        }
        job.drop_trainer(trainer)?;
        // The instance (and its memory) goes with this thread.
        Ok((job.peak_memory(), parts))
    })?;
    let grow_calls = done.iter().map(|(_, p)| p.len()).sum();
    let peaks: Vec<usize> = done.iter().map(|(peak, _)| *peak).collect();
    let parts: Vec<Vec<u8>> = done.into_iter().flat_map(|(_, p)| p).collect();
    let t = Instant::now();
    let model = forest::part::merge_bytes(parts)
        .map_err(|e| anyhow!("the sandboxed workers returned parts that do not merge: {e}"))?;
    Ok(Trained {
        model,
        workers: n_shares,
        peak_memory: peaks.iter().sum(),
        peak_worker_memory: peaks.iter().copied().max().unwrap_or(0),
        grow_calls,
        merge: t.elapsed(),
    })
}

/// A prediction spread over instances, and what it cost.
pub struct Predicted {
    pub values: Vec<f64>,
    /// The device each share ran on (`cpu` or `gpu`).
    pub devices: Vec<Device>,
    /// Why `auto` stayed on (or fell back to) the CPU, if it did (first share's note).
    pub note: Option<String>,
    /// What the `gpu` import did for this prediction, over all instances.
    pub gpu: GpuStats,
}

/// Instances holding one model, reused for many predictions; a batch is
/// split into contiguous row shares, one per instance.
pub struct Predictor {
    jobs: Vec<(Job, ModelHandle)>,
    pub info: ModelInfo,
}

impl Predictor {
    /// `workers` instances, each with `model` loaded; `memory_need` sizes
    /// each instance's memory cap.
    pub fn new(rt: &Runtime, model: &[u8], workers: usize, memory_need: u64) -> Result<Predictor> {
        let mut jobs = run_workers(&shares(workers as u32, workers), |_, _| {
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

    pub fn predict(&mut self, features: &[f32], n_rows: u32, device: Device) -> Result<Predicted> {
        let nf = self.info.n_features as usize;
        let shares = shares(n_rows, self.jobs.len());
        let before: Vec<GpuStats> = self.jobs.iter().map(|(j, _)| j.gpu_stats()).collect();
        let jobs = &mut self.jobs[..shares.len()];
        let outs: Vec<Prediction> = if shares.len() == 1 {
            let (job, model) = &mut jobs[0];
            vec![job.predict_on(model, features, n_rows, device)?]
        } else {
            let work: Vec<_> = jobs.iter_mut().zip(&shares).collect();
            let work = std::sync::Mutex::new(work.into_iter().map(Some).collect::<Vec<_>>());
            run_workers(&shares, |w, (first, count)| {
                let slot = work.lock().map_err(|_| anyhow!("poisoned"))?[w].take();
                let ((job, model), _) = slot.context("each share runs once")?;
                let rows = &features[first as usize * nf..(first + count) as usize * nf];
                job.predict_on(model, rows, count, device)
            })?
        };
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

    pub fn drop_models(self) -> Result<()> {
        for (mut job, model) in self.jobs {
            job.drop_model(model)?;
        }
        Ok(())
    }
}
