//! Level-wise training on the GPU backend (every node, or the nodes of more
//! than DEVICE_MIN_ROWS rows) against the CPU backend and the depth-first
//! `hist` splitter, natively (not yet through the component):
//! friedman1 rows × 10 features, 80/20 split, median of RUNS.
//!
//!     cargo run --release -p wasm-forest --example gpu_train_bench -- [ROWS,ROWS,...] [TREES] [DEPTH] [RUNS]
//!
//! Defaults: 1000,10000 rows, 20 trees, depth 16, 3 runs. Prints one row per
//! size: seconds and test MSE of each way of training.

use std::time::Instant;

use forest::{CpuLevels, Dataset, Forest, Hybrid, Params, SplitterKind, Trainer};
use wasm_forest::gpu::Gpu;
use wasm_forest::gpu_train::{DEVICE_MIN_ROWS, GpuLevels};

#[path = "../../forest/examples/common/mod.rs"]
mod common;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mse(f: &Forest, x: &[f32], y: &[f64]) -> f64 {
    let p = f.predict(x, y.len()).unwrap();
    p.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / y.len() as f64
}

/// Level-wise on the device: nodes of more than `min_rows` rows get their
/// histograms from it, the others from the CPU (0: every node on the device).
fn on_gpu(gpu: &Gpu, ds: &Dataset, p: &Params, min_rows: usize) -> Forest {
    let trainer = Trainer::new(ds, p).unwrap();
    let grower = trainer.level_grower().unwrap();
    let (binned, nf, ranks) = (
        trainer.binned().unwrap(),
        trainer.n_features(),
        trainer.ranks(),
    );
    let levels = GpuLevels::new(gpu, nf, binned.codes(), ranks).unwrap();
    let mut mirror = CpuLevels::new(binned, nf, ranks);
    let mut both = Hybrid::new(levels, &mut mirror, min_rows);
    let trees: Vec<_> = (0..p.n_estimators)
        .map(|t| trainer.build_tree_levels(t, &grower, &mut both).unwrap())
        .collect();
    trainer.assemble(&trees, None)
}

/// Median seconds of `runs` calls of `train`, and the test MSE of the last.
fn time(runs: usize, mut train: impl FnMut() -> Forest, test: (&[f32], &[f64])) -> (f64, f64) {
    let mut last = None;
    let secs = (0..runs)
        .map(|_| {
            let t = Instant::now();
            last = Some(train());
            t.elapsed().as_secs_f64()
        })
        .collect();
    (median(secs), mse(last.as_ref().unwrap(), test.0, test.1))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let sizes: Vec<usize> = args.next().map_or(vec![1000, 10_000], |s| {
        s.split(',').map(|n| n.parse().unwrap()).collect()
    });
    let trees: u32 = args.next().map_or(20, |s| s.parse().unwrap());
    let depth: u32 = args.next().map_or(16, |s| s.parse().unwrap());
    let runs: usize = args.next().map_or(3, |s| s.parse().unwrap());
    let gpu = Gpu::new().expect("a GPU adapter");
    println!(
        "adapter: {}; {trees} trees, max_depth {depth}, median of {runs}",
        gpu.adapter_info().name
    );
    println!(
        "{:>9} {:>9} {:>9} {:>12} {:>9} {:>12} {:>9} {:>14} {:>9}",
        "rows",
        "hist s",
        "MSE",
        "levels cpu s",
        "MSE",
        "levels gpu s",
        "MSE",
        "gpu > 4096 s",
        "MSE"
    );
    for n in sizes {
        let total = n + n / 4;
        let (x, y) = common::friedman1(&mut forest::rng::Rng::new(1), total);
        let ds = Dataset::new(n, 10, &x[..n * 10], &y[..n]).unwrap();
        let test = (&x[n * 10..], &y[n..]);
        let p = Params {
            n_estimators: trees,
            max_depth: Some(depth),
            seed: 42,
            splitter: SplitterKind::Hist,
            ..Params::default()
        };
        let hist = time(runs, || forest::train(&ds, &p, None).unwrap(), test);
        let p = Params {
            splitter: SplitterKind::Level,
            ..p
        };
        let cpu = time(runs, || forest::train(&ds, &p, None).unwrap(), test);
        let all = time(runs, || on_gpu(&gpu, &ds, &p, 0), test);
        let large = time(runs, || on_gpu(&gpu, &ds, &p, DEVICE_MIN_ROWS), test);
        println!(
            "{n:>9} {:>9.3} {:>9.4} {:>12.3} {:>9.4} {:>12.3} {:>9.4} {:>14.3} {:>9.4}",
            hist.0, hist.1, cpu.0, cpu.1, all.0, all.1, large.0, large.1
        );
    }
}
