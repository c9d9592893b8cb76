//! Work spread over several sandboxed instances of the one pre-linked
//! component: wasip2 has no threads, so each worker thread gets its own
//! instance (store, memory, limits). Trees depend only on (data, params, tree
//! index), so the model bytes are the same for any number of workers.

use std::sync::Arc;
use std::thread;

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
    /// Sum over the instances of their peak linear memory.
    pub peak_memory: usize,
}

/// Trains `params.n_estimators` trees over `workers` instances (one instance
/// trains everything when `workers` is 1) and merges the parts in the first
/// instance. `memory_need` sizes each instance's memory cap.
pub fn train(
    rt: &Runtime,
    data: &Dataset,
    params: &forest::Params,
    workers: usize,
    memory_need: u64,
    progress: Option<Arc<TreeProgress>>,
) -> Result<Trained> {
    let shares = shares(params.n_estimators, workers);
    let instance = |w: usize| -> Result<Job> {
        let mut job = rt.instantiate(memory_need)?;
        if let Some(p) = &progress {
            job.report_progress(p.clone(), w);
        }
        Ok(job)
    };
    // One share, or none (n_estimators 0: the guest says what is wrong).
    if shares.len() <= 1 {
        let mut job = instance(0)?;
        let model = job.train(data, params)?;
        return Ok(Trained {
            model,
            workers: 1,
            peak_memory: job.peak_memory(),
        });
    }
    let mut done = run_workers(&shares, |w, (first, count)| {
        let mut job = instance(w)?;
        let part = job.train_part(data, params, first, count)?;
        Ok((job, part))
    })?;
    let parts: Vec<Vec<u8>> = done.iter_mut().map(|(_, p)| std::mem::take(p)).collect();
    let (merger, _) = &mut done[0];
    let model = merger.merge_parts(&parts).context("merging the parts")?;
    Ok(Trained {
        model,
        workers: shares.len(),
        peak_memory: done.iter().map(|(job, _)| job.peak_memory()).sum(),
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
