//! `train-bench`: training time by rows, splitter level in the sandbox on
//! the CPU against the same training with its histograms on the GPU import,
//! and the size from which the GPU wins (what `device auto` should use for
//! training on this adapter). Both must give the same model bytes.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::cli::{DeviceArg, TrainBenchArgs};
use crate::fsio::write_output;
use crate::jobs::inference_bytes;
use crate::parallel::{self, Predictor};
use crate::runtime::{Dataset, Device, Runtime};
use crate::stats::{Summary, ms, mse};
use crate::synthetic::{Friedman, Spec};

#[derive(Debug, Serialize)]
pub struct Row {
    pub rows: usize,
    pub cpu: Summary,
    pub gpu: Option<Summary>,
    /// Node histograms the GPU built per training.
    pub gpu_histograms: u64,
    /// Test MSE of the model (the same bytes on both devices).
    pub mse: f64,
    pub n_nodes: u64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub params: forest::Params,
    pub workers: usize,
    pub adapter: Option<String>,
    pub node_min_rows: u32,
    pub sizes: Vec<Row>,
    /// Smallest measured size from which the GPU is faster at every larger size.
    pub crossover_rows: Option<usize>,
}

/// friedman1 with noise 1.0: `n` training rows and their test rows.
fn data(n: usize, seed: u64) -> (Dataset, (Vec<f32>, Vec<f64>)) {
    let spec = Spec {
        kind: Friedman::One,
        n_rows: n,
        noise: 1.0,
        n_test: None,
    };
    let (features, targets) = crate::synthetic::rows(&spec, n, seed);
    let test = crate::synthetic::rows(&spec, (n / 4).clamp(1, 100_000), seed ^ 0x7E57);
    let ds = Dataset {
        n_rows: n as u32,
        n_features: 10,
        features,
        targets,
        feature_names: None,
        target_name: Some("target".into()),
        sample_weight: None,
    };
    (ds, test)
}

pub fn run(rt: &Runtime, args: &TrainBenchArgs, workers: usize) -> Result<Report> {
    let params = args.params();
    let largest = *args.sizes.iter().max().unwrap_or(&0) as u64;
    if largest * 48 > rt.data_budget() {
        bail!(
            "--sizes {largest}: {largest} rows take {} MiB, beyond the {} MiB limit of this job (--max-memory): use smaller sizes",
            (largest * 48) >> 20,
            rt.data_budget() >> 20
        );
    }
    let adapter = adapter(args)?;
    let node_min_rows = crate::runtime::gpu_node_min_rows()?;
    println!(
        "[SETUP] friedman1 (10 features), {} trees, max_depth {}, splitter level, {} worker instances, median of {}; GPU: {}",
        params.n_estimators,
        params.max_depth.map_or("none".into(), |d| d.to_string()),
        parallel::training_workers(params.n_estimators, workers),
        args.repeat,
        adapter.as_deref().unwrap_or("none"),
    );
    if adapter.is_some() {
        println!(
            "[SETUP] nodes of more than {node_min_rows} rows on the GPU (WASM_FOREST_GPU_NODE_MIN_ROWS)"
        );
    }
    println!();
    println!(
        "{:>9}  {:>11} {:>11} {:>8}  {:>12} {:>9}  faster",
        "rows", "cpu median", "gpu median", "gpu/cpu", "gpu nodes", "MSE"
    );
    let mut sizes = Vec::new();
    for &n in &args.sizes {
        let row = measure(rt, args, n as usize, workers, adapter.is_some())?;
        print_row(&row);
        sizes.push(row);
    }
    let crossover_rows = adapter.as_ref().and_then(|_| crossover(&sizes));
    let report = Report {
        params,
        workers: parallel::training_workers(args.n_estimators, workers),
        adapter,
        node_min_rows,
        sizes,
        crossover_rows,
    };
    print_result(&report)?;
    if let Some(path) = &args.json {
        write_output(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
        println!("[REPORT] JSON written to: {}", path.display());
    }
    Ok(report)
}

/// The adapter's name, if the GPU is measured.
fn adapter(args: &TrainBenchArgs) -> Result<Option<String>> {
    if args.device == DeviceArg::Cpu {
        return Ok(None);
    }
    match crate::gpu::shared() {
        Ok(g) => Ok(Some(g.adapter_info().name.clone())),
        Err(e) if args.device == DeviceArg::Gpu => bail!("--device gpu: {e}"),
        Err(e) => {
            println!("[SETUP] GPU: {e}; CPU only");
            Ok(None)
        }
    }
}

/// `--repeat` trainings of `n` rows on each device, alternated, and the
/// model's test MSE.
fn measure(
    rt: &Runtime,
    args: &TrainBenchArgs,
    n: usize,
    workers: usize,
    gpu: bool,
) -> Result<Row> {
    let params = args.params();
    let (ds, (test_x, test_y)) = data(n, args.seed);
    let (mut cpu, mut on_gpu, mut model) = (Vec::new(), Vec::new(), Vec::new());
    let mut gpu_histograms = 0;
    let devices: &[Device] = if gpu {
        &[Device::Cpu, Device::Gpu]
    } else {
        &[Device::Cpu]
    };
    for _ in 0..args.repeat {
        for &device in devices {
            let t = Instant::now();
            let trained = parallel::train(rt, &ds, &params, (device, workers), None)?;
            let elapsed: Duration = t.elapsed();
            if device == Device::Gpu {
                if trained.model != model {
                    bail!("{n} rows: the GPU gave other model bytes than the CPU: this is a bug");
                }
                on_gpu.push(elapsed);
                gpu_histograms = trained.gpu_histograms;
            } else {
                cpu.push(elapsed);
                model = trained.model;
            }
        }
    }
    let need = inference_bytes(model.len(), test_x.len());
    let mut predictor = Predictor::new(rt, &model, 1, need)?;
    let n_test = test_y.len() as u32;
    let predicted = predictor.predict(&test_x, n_test, Device::Cpu)?.values;
    let n_nodes = predictor.info.n_nodes;
    predictor.drop_models()?;
    Ok(Row {
        rows: n,
        cpu: Summary::of(&cpu),
        gpu: gpu.then(|| Summary::of(&on_gpu)),
        gpu_histograms,
        mse: mse(&predicted, &test_y),
        n_nodes,
    })
}

fn print_row(r: &Row) {
    let faster = match &r.gpu {
        Some(g) if g.median_s < r.cpu.median_s => "gpu",
        Some(_) => "cpu",
        None => "-",
    };
    println!(
        "{:>9}  {:>11} {:>11} {:>8}  {:>12} {:>9.4}  {faster}",
        r.rows,
        ms(r.cpu.median_s),
        r.gpu.as_ref().map_or("-".into(), |g| ms(g.median_s)),
        r.gpu.as_ref().map_or("-".into(), |g| format!(
            "{:.2}x",
            g.median_s / r.cpu.median_s
        )),
        if r.gpu.is_some() {
            r.gpu_histograms.to_string()
        } else {
            "-".into()
        },
        r.mse,
    );
}

/// The smallest size from which the GPU wins at every larger size.
fn crossover(sizes: &[Row]) -> Option<usize> {
    let medians = |r: &Row| (r.rows, r.cpu.median_s, r.gpu.as_ref().map(|g| g.median_s));
    crate::stats::crossover(sizes.iter().map(medians))
}

fn print_result(report: &Report) -> Result<()> {
    let Some(name) = &report.adapter else {
        return Ok(());
    };
    println!();
    match report.crossover_rows {
        Some(c) => println!("[RESULT] GPU training is faster from {c} rows on"),
        None => println!("[RESULT] GPU training was not faster at any size measured"),
    }
    let info = crate::gpu::shared()?.adapter_info().clone();
    let auto = crate::runtime::gpu_auto_min_train_rows(&info)?;
    println!(
        "[RESULT] device auto trains on {name} from {} (WASM_FOREST_GPU_MIN_TRAIN_ROWS overrides)",
        if auto == u32::MAX {
            "no size: a software adapter".to_string()
        } else {
            format!("{auto} rows")
        }
    );
    Ok(())
}
