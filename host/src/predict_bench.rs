//! `predict-bench`: prediction throughput by batch size, CPU in the sandbox
//! against the GPU import, and the batch size from which the GPU wins (the
//! crossover `device auto` uses).

use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cli::PredictBenchArgs;
use crate::fsio::write_output;
use crate::jobs::{inference_bytes, load_training};
use crate::parallel::{self, Predictor};
use crate::runtime::{Device, Runtime};
use crate::stats::{Summary, ms};

#[derive(Debug, Serialize)]
pub struct Row {
    pub rows: usize,
    pub cpu: Summary,
    pub gpu: Option<Summary>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub n_trees: u32,
    pub n_nodes: u64,
    pub workers: usize,
    pub adapter: Option<String>,
    pub sizes: Vec<Row>,
    /// Smallest measured batch from which the GPU is faster at every larger size.
    pub crossover_rows: Option<usize>,
}

/// `n` rows of `nf` features, each value drawn from the same column of the
/// training rows (deterministic): realistic values, no shared rows.
fn resample(features: &[f32], nf: usize, n: usize) -> Vec<f32> {
    let n_train = (features.len() / nf) as u64;
    let mut rng = forest::rng::Rng::new(0xBA7C);
    (0..n * nf)
        .map(|i| features[rng.below(n_train) as usize * nf + i % nf])
        .collect()
}

fn rate(rows: usize, s: &Summary) -> String {
    format!("{:.0}", rows as f64 / s.median_s)
}

pub fn run(rt: &Runtime, args: &PredictBenchArgs, workers: usize) -> Result<Report> {
    let params = args.forest.params(200, Some(16));
    let (xy, ds) = load_training(
        &args.train,
        (args.target.as_deref(), None),
        rt.data_budget(),
    )?;
    let nf = xy.n_features();
    let largest = *args.sizes.iter().max().context("--sizes is empty")? as usize;
    // Checked before the forest is trained: the rows are made up front.
    let batch_bytes = (largest * nf * 4) as u64;
    if batch_bytes > rt.data_budget() {
        bail!(
            "--sizes {largest}: {largest} rows of {nf} features take {} MiB, beyond the {} MiB limit of this job (--max-memory): use smaller sizes",
            batch_bytes >> 20,
            rt.data_budget() >> 20
        );
    }
    println!(
        "[SETUP] Training {} trees (max_depth {}) on {} ({} rows) in the sandbox...",
        params.n_estimators,
        params
            .max_depth
            .map_or_else(|| "none".into(), |d| d.to_string()),
        args.train.display(),
        xy.n_rows
    );
    let model = parallel::train(rt, &ds, &params, (Device::Cpu, workers), None)?.model;
    let batch = resample(&xy.features, nf, largest);
    let need = inference_bytes(model.len(), nf * largest);
    let mut predictor = Predictor::new(rt, &model, workers, need)?;
    let adapter = gpu_adapter(args, &mut predictor, &batch[..nf])?;
    let sizes = measure(&mut predictor, adapter.is_some(), &batch, nf, args)?;
    let crossover_rows = adapter.as_ref().and_then(|_| crossover(&sizes));
    println!();
    if let Some(a) = &adapter {
        print_result(a, crossover_rows, args.repeat)?;
    }
    let report = Report {
        n_trees: predictor.info.n_trees,
        n_nodes: predictor.info.n_nodes,
        workers: predictor.workers(),
        adapter: adapter.map(|a| a.name),
        sizes,
        crossover_rows,
    };
    predictor.drop_models()?;
    if let Some(path) = &args.json {
        write_output(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
        println!("[REPORT] JSON written to: {}", path.display());
    }
    Ok(report)
}

/// The adapter the GPU rows are measured on, if any (and wanted); the
/// forest is uploaded here, outside the timings.
fn gpu_adapter(
    args: &PredictBenchArgs,
    predictor: &mut Predictor,
    one_row: &[f32],
) -> Result<Option<crate::gpu::AdapterInfo>> {
    let adapter = match crate::gpu::shared() {
        Ok(g) if args.device_gpu() => Some(g.adapter_info().clone()),
        Ok(_) => None,
        Err(e) => {
            println!("[SETUP] GPU: {e}; CPU only");
            None
        }
    };
    let info = &predictor.info;
    println!(
        "[SETUP] Model: {} trees, {} nodes; {} sandboxed worker instance{}; GPU: {}",
        info.n_trees,
        info.n_nodes,
        predictor.workers(),
        if predictor.workers() == 1 { "" } else { "s" },
        adapter.as_ref().map_or("none", |a| a.name.as_str())
    );
    if adapter.is_some() {
        predictor.predict(one_row, 1, Device::Gpu)?;
    }
    println!();
    Ok(adapter)
}

/// Medians of `--repeat` predictions of each batch size, on the CPU and,
/// with `gpu`, through the GPU import; one table line each.
fn measure(
    predictor: &mut Predictor,
    gpu: bool,
    batch: &[f32],
    nf: usize,
    args: &PredictBenchArgs,
) -> Result<Vec<Row>> {
    println!(
        "{:>9}  {:>12} {:>12}  {:>12} {:>12}  faster",
        "rows", "cpu median", "cpu rows/s", "gpu median", "gpu rows/s"
    );
    let mut sizes = Vec::new();
    for rows in args.sizes.iter().map(|&r| r as usize) {
        let x = &batch[..rows * nf];
        let mut time = |device| -> Result<Summary> {
            let mut runs = Vec::new();
            for _ in 0..args.repeat {
                let t = Instant::now();
                let p = predictor.predict(x, rows as u32, device)?;
                runs.push(t.elapsed());
                if device == Device::Gpu && p.devices.iter().any(|d| *d != Device::Gpu) {
                    bail!("the GPU prediction ran on the CPU");
                }
            }
            Ok(Summary::of(&runs))
        };
        let cpu = time(Device::Cpu)?;
        let gpu = gpu.then(|| time(Device::Gpu)).transpose()?;
        let faster = match &gpu {
            Some(g) if g.median_s < cpu.median_s => "gpu",
            Some(_) => "cpu",
            None => "-",
        };
        println!(
            "{rows:>9}  {:>12} {:>12}  {:>12} {:>12}  {faster}",
            ms(cpu.median_s),
            rate(rows, &cpu),
            gpu.as_ref().map_or("-".into(), |g| ms(g.median_s)),
            gpu.as_ref().map_or("-".into(), |g| rate(rows, g)),
        );
        sizes.push(Row { rows, cpu, gpu });
    }
    Ok(sizes)
}

/// The smallest size from which the GPU wins at every larger size.
fn crossover(sizes: &[Row]) -> Option<usize> {
    let medians = |r: &Row| (r.rows, r.cpu.median_s, r.gpu.as_ref().map(|g| g.median_s));
    crate::stats::crossover(sizes.iter().map(medians))
}

fn print_result(a: &crate::gpu::AdapterInfo, crossover: Option<usize>, repeat: u32) -> Result<()> {
    match crossover {
        Some(c) => {
            println!("[RESULT] The GPU import is faster from {c} rows on (median of {repeat})")
        }
        None => println!(
            "[RESULT] The GPU import was not faster at any batch size up to the largest measured"
        ),
    }
    let auto = crate::runtime::gpu_auto_min_rows(a)?;
    println!(
        "[RESULT] device auto uses {} from {} (WASM_FOREST_GPU_MIN_ROWS overrides)",
        a.name,
        if auto == u32::MAX {
            "no batch size: a software adapter".to_string()
        } else {
            format!("{auto} rows")
        }
    );
    Ok(())
}
