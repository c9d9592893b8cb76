//! GPU training: the device as the level-wise grower's backend, on lavapipe
//! in CI. Its histograms are integer sums, so it grows the CPU backend's
//! trees bit for bit. Without an adapter these tests fail, unless
//! WASM_FOREST_SKIP_GPU_TESTS=1 says to skip them.

use std::path::Path;

use forest::{
    Bin, CpuLevels, Dataset, Forest, Hybrid, LevelBackend, Move, Params, SplitterKind, Trainer,
};
use wasm_forest::gpu::{Gpu, GpuError};
use wasm_forest::gpu_train::GpuLevels;
use wasm_forest::jobs::load_training;

#[path = "../../forest/examples/common/mod.rs"]
mod common;
#[path = "support/gpu.rs"]
mod support;
use support::gpu;

fn diabetes() -> (Vec<f32>, Vec<f64>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (xy, _) = load_training(
        &root.join("data/diabetes_train.csv"),
        (None, None),
        u64::MAX,
    )
    .unwrap();
    (xy.features, xy.targets.unwrap())
}

fn params(n_estimators: u32) -> Params {
    Params {
        n_estimators,
        max_depth: Some(16),
        seed: 42,
        splitter: SplitterKind::Level,
        ..Params::default()
    }
}

fn backend<'g>(gpu: &'g Gpu, trainer: &Trainer) -> GpuLevels<'g> {
    let codes = trainer.binned().unwrap().codes();
    GpuLevels::new(gpu, trainer.n_features(), codes, trainer.ranks()).unwrap()
}

/// Trains on the device alone, or (`hybrid`: a row threshold) on the device
/// for the larger nodes and the CPU for the others.
fn train_on_gpu(gpu: &Gpu, ds: &Dataset, p: &Params, hybrid: Option<usize>) -> Forest {
    let trainer = Trainer::new(ds, p).unwrap();
    let grower = trainer.level_grower().unwrap();
    let levels = backend(gpu, &trainer);
    let trees: Vec<_> = match hybrid {
        None => {
            let mut levels = levels;
            (0..p.n_estimators)
                .map(|t| trainer.build_tree_levels(t, &grower, &mut levels).unwrap())
                .collect()
        }
        Some(min_rows) => {
            let binned = trainer.binned().unwrap();
            let mut mirror = CpuLevels::new(binned, trainer.n_features(), trainer.ranks());
            let mut both = Hybrid::new(levels, &mut mirror, min_rows);
            (0..p.n_estimators)
                .map(|t| trainer.build_tree_levels(t, &grower, &mut both).unwrap())
                .collect()
        }
    };
    trainer.assemble(&trees, None)
}

/// Trains on the device alone, with the workgroup-memory kernel for calls
/// of at most `shared` nodes.
fn train_on_gpu_shared(gpu: &Gpu, ds: &Dataset, p: &Params, shared: usize) -> Forest {
    let trainer = Trainer::new(ds, p).unwrap();
    let grower = trainer.level_grower().unwrap();
    let mut levels = backend(gpu, &trainer);
    levels.set_shared_max_nodes(shared);
    let trees: Vec<_> = (0..p.n_estimators)
        .map(|t| trainer.build_tree_levels(t, &grower, &mut levels).unwrap())
        .collect();
    trainer.assemble(&trees, None)
}

fn bytes(f: &Forest) -> Vec<u8> {
    forest::model::to_bytes(f).unwrap()
}

#[test]
fn gpu_trained_forests_are_the_cpu_backends_bit_for_bit() {
    let Some(gpu) = gpu() else { return };
    let (x, y) = diabetes();
    let (fx, fy) = common::friedman1(&mut forest::rng::Rng::new(3), 20_000);
    for (name, x, y, trees) in [("diabetes", &x, &y, 20), ("friedman1", &fx, &fy, 4)] {
        let ds = Dataset::new(y.len(), 10, x, y).unwrap();
        let p = params(trees);
        let on_gpu = train_on_gpu(&gpu, &ds, &p, None);
        let on_cpu = forest::train(&ds, &p, None).unwrap();
        assert_eq!(bytes(&on_gpu), bytes(&on_cpu), "{name}");
        assert_eq!(
            bytes(&train_on_gpu(&gpu, &ds, &p, None)),
            bytes(&on_gpu),
            "{name}: two GPU runs"
        );
        // The workgroup-memory kernel for levels of up to 8 nodes.
        assert_eq!(
            bytes(&train_on_gpu_shared(&gpu, &ds, &p, 8)),
            bytes(&on_gpu),
            "{name}: workgroup memory"
        );
        // Large nodes on the device, small ones on the CPU: the same trees.
        assert_eq!(
            bytes(&train_on_gpu(&gpu, &ds, &p, Some(100))),
            bytes(&on_gpu),
            "{name}: hybrid"
        );
        // The model loader accepts it (structure validated).
        forest::model::from_bytes(&bytes(&on_gpu)).unwrap();
    }
}

#[test]
fn leaf_limits_on_the_gpu_are_the_cpus() {
    // min_weight_fraction_leaf and min_impurity_decrease are decided on the
    // CPU from the histograms, whoever built them: the same trees.
    let Some(gpu) = gpu() else { return };
    let (x, y) = diabetes();
    let ds = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let p = Params {
        min_weight_fraction_leaf: 0.01,
        min_impurity_decrease: 2.0,
        ..params(10)
    };
    let on_gpu = train_on_gpu(&gpu, &ds, &p, None);
    assert_eq!(
        bytes(&on_gpu),
        bytes(&forest::train(&ds, &p, None).unwrap())
    );
    // The rules bind: smaller trees than without them.
    let without = forest::train(&ds, &params(10), None).unwrap();
    assert!(on_gpu.nodes.len() < without.nodes.len() / 2);
}

#[test]
fn missing_values_on_the_gpu_are_the_cpus() {
    // Rows missing a feature sit in its bin 255 on the device too, and
    // follow the moves' direction: the same trees.
    let Some(gpu) = gpu() else { return };
    let (mut x, y) = diabetes();
    for (i, v) in x.iter_mut().enumerate() {
        // A third of bmi (2) and s5 (8), and every value of s1 (4).
        let (r, f) = (i / 10, i % 10);
        if (f == 2 || f == 8) && (r * 7 + f) % 3 == 0 || f == 4 {
            *v = f32::NAN;
        }
    }
    let ds = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let on_gpu = train_on_gpu(&gpu, &ds, &params(10), None);
    let on_cpu = forest::train(&ds, &params(10), None).unwrap();
    assert_eq!(bytes(&on_gpu), bytes(&on_cpu));
    // The gaps shaped the trees: splits that send them left, and apart.
    let n = &on_cpu.nodes;
    let splits = || (0..n.len()).filter(|&i| n.left[i] != forest::LEAF);
    assert!(splits().any(|i| n.missing_left[i] && [2, 8].contains(&n.feature[i])));
    assert!(splits().any(|i| n.threshold[i] == f32::INFINITY));
    assert!(splits().all(|i| n.feature[i] != 4));
}

#[test]
fn bad_requests_are_gpu_errors_not_garbage() {
    let Some(gpu) = gpu() else { return };
    let (x, y) = diabetes();
    let ds = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let trainer = Trainer::new(&ds, &params(1)).unwrap();
    let mut levels = backend(&gpu, &trainer);
    let (mut hist, mut ranks) = (Vec::<Bin>::new(), Vec::new());
    let invalid = |r: Result<(), GpuError>| match r {
        Err(GpuError::InvalidInput(m)) => m,
        other => panic!("expected invalid-input, got {other:?}"),
    };
    let m = invalid(levels.histograms(&[0], &[0], &mut hist, &mut ranks));
    assert!(m.contains("no tree started"), "{m}");
    let n = y.len();
    assert!(invalid(levels.start_tree(&[1; 3], &[0; 3])).contains("for 353 rows"));
    levels.start_tree(&vec![1; n], &vec![0; n]).unwrap();
    let m = invalid(levels.histograms(&[5], &[5], &mut hist, &mut ranks));
    assert!(m.contains("node 5 of a level of 1 nodes"), "{m}");
    let m = invalid(levels.next_level(&[Move::LEAF, Move::LEAF]));
    assert!(m.contains("2 moves for a level of 1 nodes"), "{m}");
    // A node asked for twice would leave one of its slots empty.
    let m = invalid(levels.level_histograms(&[0, 0], &[]).map(drop));
    assert!(m.contains("node 0 asked for twice"), "{m}");
    let m = invalid(levels.level_histograms(&[], &[0, 0]).map(drop));
    assert!(m.contains("ranges of node 0 asked for twice"), "{m}");
    let m = invalid(levels.level_histograms(&[], &[1]).map(drop));
    assert!(m.contains("ranges of node 1 of a level of 1 nodes"), "{m}");
    // Moves naming a feature or a child the device cannot hold.
    let split = |feature, left, right| Move {
        feature,
        last_left: 3,
        missing_left: false,
        left,
        right,
    };
    let m = invalid(levels.next_level(&[split(10, 0, 1)]));
    assert!(m.contains("move of node 0: feature 10 of 10"), "{m}");
    let m = invalid(levels.next_level(&[split(2, 0, 2)]));
    assert!(m.contains("move of node 0: child 2 beyond 2"), "{m}");
    // Bin codes that do not fit the ranks: refused at upload.
    let codes = trainer.binned().unwrap().codes();
    let m = invalid(GpuLevels::new(&gpu, 10, &codes[1..], trainer.ranks()).map(drop));
    assert!(
        m.contains("3529 bin codes for 353 rows (ranks) × 10 features"),
        "{m}"
    );
    let m = invalid(GpuLevels::new(&gpu, 0, &[], &[]).map(drop));
    assert!(m.contains("0 bin codes for 0 rows"), "{m}");
    // The root's histogram: every row once per feature.
    levels
        .histograms(&[0], &[0], &mut hist, &mut ranks)
        .unwrap();
    let rows: u32 = hist[..256].iter().map(|b| b.rows).sum();
    assert_eq!(rows as usize, n);
    assert_eq!(ranks.len(), 1);
    // Ranges alone (no histogram) are the same ranges.
    let (h, r) = levels.level_histograms(&[], &[0]).unwrap();
    assert!(h.is_empty());
    assert_eq!(r, ranks);
}

/// The workgroup-memory kernel (used on hardware adapters for the few nodes
/// of the top levels) gives the CPU backend's histograms and ranges, forced
/// on here: for the root of 100 000 rows (25 blocks), then for levels of 2
/// and 4 nodes asked for in any order, with and without ranges.
#[test]
fn the_workgroup_memory_kernel_gives_the_same_histograms() {
    let Some(gpu) = gpu() else { return };
    let (x, y) = common::friedman1(&mut forest::rng::Rng::new(3), 100_000);
    let ds = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let trainer = Trainer::new(&ds, &params(1)).unwrap();
    let mut dev = backend(&gpu, &trainer);
    dev.set_shared_max_nodes(4);
    let mut cpu = CpuLevels::new(trainer.binned().unwrap(), 10, trainer.ranks());
    // Out-of-bag rows, and weighted targets of both signs whose low words
    // carry often; their sums stay within i64, as FixedPoint keeps them.
    let w: Vec<u32> = (0..y.len()).map(|i| (i % 3) as u32).collect();
    let wy: Vec<i64> = (0..y.len())
        .map(|i| (i as i64 * 7919 % 1_000_003 - 500_000) * (1 << 24) * i64::from(w[i]))
        .collect();
    dev.start_tree(&w, &wy).unwrap();
    cpu.start_tree(&w, &wy).unwrap();
    let split = |feature, last_left, left| Move {
        feature,
        last_left,
        missing_left: false,
        left,
        right: left + 1,
    };
    let levels = [
        (vec![], vec![(vec![0u32], vec![0u32])]),
        (
            vec![split(0, 100, 0)],
            vec![
                (vec![0, 1], vec![0, 1]),
                (vec![1], vec![0, 1]),
                (vec![1, 0], vec![]),
            ],
        ),
        (
            vec![split(3, 50, 0), split(5, 200, 2)],
            vec![(vec![0, 1, 2, 3], vec![3, 1]), (vec![3, 2], vec![0])],
        ),
    ];
    for (moves, calls) in levels {
        if !moves.is_empty() {
            dev.next_level(&moves).unwrap();
            cpu.next_level(&moves).unwrap();
        }
        for (nodes, ranges) in calls {
            let (mut h1, mut r1, mut h2, mut r2) = (vec![], vec![], vec![], vec![]);
            dev.histograms(&nodes, &ranges, &mut h1, &mut r1).unwrap();
            cpu.histograms(&nodes, &ranges, &mut h2, &mut r2).unwrap();
            assert!(h1 == h2, "{nodes:?}: the histograms differ");
            assert_eq!(r1, r2, "{nodes:?}: the ranges differ");
        }
    }
}
