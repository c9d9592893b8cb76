//! The wgpu inference path, for real: on lavapipe (Vulkan on the CPU) in CI,
//! on whatever adapter the machine has elsewhere. Without an adapter these
//! tests fail, unless WASM_FOREST_SKIP_GPU_TESTS=1 says to skip them.

use std::path::Path;
use std::sync::OnceLock;

use forest::{Forest, LEAF, Params, SplitterKind};
use wasm_forest::gpu::{ChunkLimits, FlatForest, Gpu, GpuError};
use wasm_forest::jobs::{load_training, train_native};
use wasm_forest::parallel::Predictor;
use wasm_forest::runtime::{Device, Limits, Runtime};

#[path = "../../forest/examples/common/mod.rs"]
mod common;
#[path = "support/gpu.rs"]
mod support;
use support::gpu;

fn diabetes() -> (Vec<f32>, Vec<f64>, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (xy, _) = load_training(
        &root.join("data/diabetes_train.csv"),
        (None, None),
        u64::MAX,
    )
    .unwrap();
    (xy.features, xy.targets.unwrap(), xy.n_rows)
}

fn forest_of(x: &[f32], y: &[f64], n: usize, nf: usize, p: &Params) -> Forest {
    let ds = wasm_forest::runtime::Dataset {
        n_rows: n as u32,
        n_features: nf as u32,
        features: x.to_vec(),
        targets: y.to_vec(),
        feature_names: None,
        target_name: None,
        sample_weight: None,
    };
    forest::model::from_bytes(&train_native(&ds, p, 2).unwrap()).unwrap()
}

fn values(f: &Forest) -> Vec<f32> {
    f.nodes.value.iter().map(|&v| v as f32).collect()
}

fn p200(splitter: SplitterKind) -> Params {
    Params {
        n_estimators: 200,
        max_depth: Some(16),
        seed: 42,
        splitter,
        ..Params::default()
    }
}

/// |gpu - cpu| <= 1e-4 × max(1, |cpu|) for every row.
fn assert_close(gpu: &[f32], cpu: &[f64]) {
    assert_eq!(gpu.len(), cpu.len());
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let tol = 1e-4 * c.abs().max(1.0);
        assert!((f64::from(g) - c).abs() <= tol, "row {i}: gpu {g}, cpu {c}");
    }
}

/// Uniform random rows, deterministic.
fn random_rows(n: usize, nf: usize, seed: u64) -> Vec<f32> {
    let mut rng = forest::rng::Rng::new(seed);
    (0..n * nf)
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
        .collect()
}

/// friedman1-like data: 100 000 rows × 10 features, 200 trees of depth 16.
fn big() -> &'static (Forest, Vec<f32>) {
    static BIG: OnceLock<(Forest, Vec<f32>)> = OnceLock::new();
    BIG.get_or_init(|| {
        let n = 100_000;
        let (x, y) = common::friedman1(&mut forest::rng::Rng::new(7), n);
        let f = forest_of(&x, &y, n, 10, &p200(SplitterKind::Auto));
        (f, random_rows(n, 10, 8))
    })
}

#[test]
fn gpu_predictions_equal_cpu_predictions_on_diabetes() {
    let Some(gpu) = gpu() else { return };
    let (x, y, n) = diabetes();
    let f = forest_of(&x, &y, n, 10, &p200(SplitterKind::Exact));
    let v = values(&f);
    let up = gpu.upload(&wasm_forest::gpu::flat_forest(&f, &v)).unwrap();
    let (g, t) = gpu.predict(&up, &x, n as u32).unwrap();
    assert_eq!(t.chunks, 1, "one dispatch for all trees");
    assert_close(&g, &f.predict(&x, n).unwrap());
}

#[test]
fn gpu_predictions_equal_cpu_predictions_on_100k_rows() {
    let Some(gpu) = gpu() else { return };
    let (f, rows) = big();
    let v = values(f);
    let up = gpu.upload(&wasm_forest::gpu::flat_forest(f, &v)).unwrap();
    let n = rows.len() / 10;
    let (g, t) = gpu.predict(&up, rows, n as u32).unwrap();
    // 200 trees of ~120k nodes (16 bytes each) span more than one buffer of
    // lavapipe's; all rows go in one dispatch per tree group.
    assert_eq!(t.chunks as usize, up.n_groups());
    assert_close(&g, &f.predict(rows, n).unwrap());
}

/// One tree at a time, with every leaf's value replaced by its node id: the
/// GPU's prediction then names the leaf it reached.
#[test]
fn every_row_reaches_the_same_leaf_on_the_gpu() {
    let Some(gpu) = gpu() else { return };
    let (f, rows) = big();
    let sample = &rows[..2000 * 10];
    for t in [0, 1, 57, 199] {
        let range = f.tree_range(t);
        let base = range.start as u32;
        let rebase = |ids: &[u32]| -> Vec<u32> {
            ids.iter()
                .map(|&c| if c == LEAF { LEAF } else { c - base })
                .collect()
        };
        let ids: Vec<f32> = (0..range.len()).map(|i| i as f32).collect();
        let (left, right) = (
            rebase(&f.nodes.left[range.clone()]),
            rebase(&f.nodes.right[range.clone()]),
        );
        let one = FlatForest {
            n_features: 10,
            roots: &[0],
            feature: &f.nodes.feature[range.clone()],
            threshold: &f.nodes.threshold[range.clone()],
            left: &left,
            right: &right,
            value: &ids,
            missing_left: &f.nodes.missing_left[range.clone()],
        };
        let up = gpu.upload(&one).unwrap();
        let (leaves, _) = gpu.predict(&up, sample, 2000).unwrap();
        for (r, row) in sample.chunks(10).enumerate() {
            let cpu = f.nodes.leaf_of(f.roots[t], row) - base;
            assert_eq!(leaves[r], cpu as f32, "tree {t}, row {r}");
        }
    }
}

#[test]
fn forests_and_batches_beyond_the_limits_are_chunked() {
    let Some(mut gpu) = gpu() else { return };
    let (x, y, n) = diabetes();
    let f = forest_of(&x, &y, n, 10, &p200(SplitterKind::Exact));
    let v = values(&f);
    let cpu = f.predict(&x, n).unwrap();
    // Buffers of 64 KiB hold 4096 packed nodes (16 bytes each): the 86k-node
    // forest needs over 20 tree groups; 40 rows per dispatch needs 3 row
    // chunks for 89 rows.
    gpu.set_chunk_limits(ChunkLimits {
        max_buffer_bytes: Some(64 << 10),
        max_rows_per_dispatch: Some(40),
    });
    let up = gpu.upload(&wasm_forest::gpu::flat_forest(&f, &v)).unwrap();
    let groups = f.nodes.len().div_ceil(4 << 10) as u32;
    let (g, t) = gpu.predict(&up, &x, n as u32).unwrap();
    assert!(t.chunks >= 3 * groups, "{} dispatches", t.chunks);
    assert_close(&g, &cpu);
    // A single tree larger than a buffer cannot be split: too-large, clearly.
    gpu.set_chunk_limits(ChunkLimits {
        max_buffer_bytes: Some(256),
        max_rows_per_dispatch: None,
    });
    match gpu.upload(&wasm_forest::gpu::flat_forest(&f, &v)) {
        Err(GpuError::TooLarge(m)) => assert!(m.contains("tree 0 has"), "{m}"),
        other => panic!("expected too-large, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn invalid_forests_and_inputs_are_refused_not_run() {
    let Some(gpu) = gpu() else { return };
    let ok = FlatForest {
        n_features: 2,
        roots: &[0, 3],
        feature: &[1, 0, 0, 0],
        threshold: &[0.5, 0.0, 0.0, 0.0],
        left: &[1, LEAF, LEAF, LEAF],
        right: &[2, LEAF, LEAF, LEAF],
        value: &[0.0, 1.0, 2.0, 10.0],
        missing_left: &[false; 4],
    };
    let up = gpu.upload(&ok).unwrap();
    let (p, _) = gpu.predict(&up, &[0.0, 0.0, 0.0, 1.0], 2).unwrap();
    assert_eq!(p, vec![5.5, 6.0]);
    // A missing value (NaN, either sign) follows the node's direction: node
    // 0 splits feature 1; left is 1.0, right 2.0, the second tree 10.0.
    let nan = [0.0, f32::NAN, 0.0, -f32::NAN];
    let (p, _) = gpu.predict(&up, &nan, 2).unwrap();
    assert_eq!(p, vec![6.0, 6.0]);
    let left = gpu
        .upload(&FlatForest {
            missing_left: &[true, false, false, false],
            ..ok
        })
        .unwrap();
    let (p, _) = gpu.predict(&left, &nan, 2).unwrap();
    assert_eq!(p, vec![5.5, 5.5]);
    let inf = gpu.predict(&up, &[0.0, f32::INFINITY, 0.0, 0.0], 2);
    assert!(matches!(inf, Err(GpuError::InvalidInput(m)) if m.contains("row 0, feature 1")));
    let invalid = |f: FlatForest| match gpu.upload(&f) {
        Err(GpuError::InvalidForest(m)) => m,
        other => panic!("expected invalid-forest, got {:?}", other.map(|_| ())),
    };
    assert!(
        invalid(FlatForest {
            missing_left: &[false, true, false, false],
            ..ok
        })
        .contains("a leaf with a split feature, threshold or missing-value direction")
    );
    assert!(
        invalid(FlatForest {
            left: &[7, LEAF, LEAF, LEAF],
            ..ok
        })
        .contains("child id 7")
    );
    assert!(
        invalid(FlatForest {
            right: &[0, LEAF, LEAF, LEAF],
            ..ok
        })
        .contains("child id 0")
    );
    // A child in the next tree is out of its tree's range.
    assert!(
        invalid(FlatForest {
            right: &[3, LEAF, LEAF, LEAF],
            ..ok
        })
        .contains("child id 3")
    );
    assert!(
        invalid(FlatForest {
            feature: &[2, 0, 0, 0],
            ..ok
        })
        .contains("feature 2")
    );
    assert!(
        invalid(FlatForest {
            value: &[0.0, 1.0],
            ..ok
        })
        .contains("different lengths")
    );
    assert!(invalid(FlatForest { roots: &[], ..ok }).contains("no trees"));
    assert!(
        invalid(FlatForest {
            roots: &[0, 9],
            ..ok
        })
        .contains("roots")
    );
    assert!(
        invalid(FlatForest {
            value: &[0.0, f32::NAN, 2.0, 1.0],
            ..ok
        })
        .contains("not finite")
    );
    let input = |x: &[f32], n| match gpu.predict(&up, x, n) {
        Err(GpuError::InvalidInput(m)) => m,
        other => panic!("expected invalid-input, got {other:?}"),
    };
    assert!(input(&[0.0; 3], 2).contains("expected n_rows × n_features = 2 × 2"));
    assert!(input(&[0.0, f32::INFINITY], 1).contains("neither finite nor NaN"));
}

#[test]
fn a_missing_backend_is_no_adapter() {
    // Linux and Windows builds have no Metal; macOS has no DX12.
    let absent = if cfg!(target_os = "macos") {
        wgpu::Backends::DX12
    } else {
        wgpu::Backends::METAL
    };
    match Gpu::with_backends(absent) {
        Err(GpuError::NoAdapter(m)) => assert!(!m.is_empty()),
        other => panic!("expected no-adapter, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_component_predicts_through_the_import_like_on_the_cpu() {
    if gpu().is_none() {
        return;
    }
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let (x, y, n) = diabetes();
    let ds = wasm_forest::runtime::Dataset {
        n_rows: n as u32,
        n_features: 10,
        features: x.clone(),
        targets: y,
        feature_names: None,
        target_name: None,
        sample_weight: None,
    };
    let model = train_native(&ds, &p200(SplitterKind::Exact), 2).unwrap();
    let mut pred = Predictor::new(&rt, &model, 2, 256 << 20).unwrap();
    let cpu = pred.predict(&x, n as u32, Device::Cpu).unwrap();
    let gpu = pred.predict(&x, n as u32, Device::Gpu).unwrap();
    assert_eq!(gpu.devices, vec![Device::Gpu; 2]);
    assert_eq!(gpu.gpu.uploads, 2, "one upload per instance's model");
    let g32: Vec<f32> = gpu.values.iter().map(|&v| v as f32).collect();
    assert_close(&g32, &cpu.values);
    // Uploaded once: the second batch uploads nothing.
    let again = pred.predict(&x, n as u32, Device::Gpu).unwrap();
    assert_eq!((again.gpu.uploads, again.gpu.predicts), (0, 2));
    // auto with 89 rows stays on the CPU and says why.
    let auto = pred.predict(&x, n as u32, Device::Auto).unwrap();
    assert_eq!(auto.values, cpu.values);
    assert!(auto.note.unwrap().contains("auto-min-rows"));
}

/// Trains the chaos component with `seed` (its choice of misbehaviour) on
/// two rows; the error it must end with.
fn chaos_train(seed: u64) -> String {
    let chaos = Runtime::new(
        Some(Path::new(env!("WASM_FOREST_CHAOS_COMPONENT"))),
        Limits::default(),
    )
    .unwrap();
    let mut job = chaos.instantiate(0).unwrap();
    let tiny = wasm_forest::runtime::Dataset {
        n_rows: 2,
        n_features: 1,
        features: vec![0.0, 1.0],
        targets: vec![0.0, 1.0],
        feature_names: None,
        target_name: None,
        sample_weight: None,
    };
    let p = Params {
        seed,
        ..Params::default()
    };
    format!("{:#}", job.train(&tiny, &p).unwrap_err())
}

#[test]
fn an_invalid_forest_sent_through_the_import_is_invalid_forest() {
    if gpu().is_none() {
        return;
    }
    // The chaos component's choice of misbehaviour: it uploads a forest
    // with an out-of-range child through the import.
    let text = chaos_train(6);
    assert!(
        text.contains("InvalidForest") && text.contains("child id 7"),
        "{text}"
    );
}

/// A component's malformed GPU training requests are `invalid-input`
/// answers naming what is wrong; the set stays usable for good requests.
#[test]
fn malformed_training_requests_through_the_import_are_invalid_input() {
    if gpu().is_none() {
        return;
    }
    let text = chaos_train(8);
    let lines: Vec<&str> = text.lines().collect();
    let expected = [
        "3 bin codes for 2 rows (ranks) × 2 features",
        "no tree started",
        "accepted",
        "histograms of node 3 of a level of 1 nodes",
        "histograms of node 0 asked for twice",
        "move of node 0: child 9 beyond 2",
        "move of node 0: feature 5 of 2",
        "accepted",
    ];
    assert_eq!(lines.len(), expected.len(), "{text}");
    for (line, want) in lines.iter().zip(expected) {
        assert!(line.contains(want), "{line:?} should say {want:?}\n{text}");
        if want != "accepted" {
            assert!(line.contains("InvalidInput"), "{line}");
        }
    }
}

/// Leaf values beyond the f32 range (targets up to ~1e148 are valid), or
/// within it but summing beyond it over the trees, are predicted on the GPU
/// like on the CPU, within f32 precision.
#[test]
fn leaf_values_beyond_the_f32_range_are_predicted_on_the_gpu() {
    if gpu().is_none() {
        return;
    }
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let n = 1000;
    let (x, y) = common::friedman1(&mut forest::rng::Rng::new(3), n);
    // friedman1's targets lie in about 0..30, all of one sign: the f32 sums
    // then have a relative error of a few f32 epsilons per tree.
    for (scale, trees) in [(1e100, 5), (1e37, 50), (-1e140, 3), (1e30, 5)] {
        let ds = wasm_forest::runtime::Dataset {
            n_rows: n as u32,
            n_features: 10,
            features: x.clone(),
            targets: y.iter().map(|v| v * scale).collect(),
            feature_names: None,
            target_name: None,
            sample_weight: None,
        };
        let params = Params {
            n_estimators: trees,
            seed: 1,
            ..Params::default()
        };
        let model = train_native(&ds, &params, 2).unwrap();
        let mut pred = Predictor::new(&rt, &model, 1, 256 << 20).unwrap();
        let cpu = pred.predict(&x, n as u32, Device::Cpu).unwrap();
        let gpu = pred
            .predict(&x, n as u32, Device::Gpu)
            .unwrap_or_else(|e| panic!("targets x {scale:e}, {trees} trees: {e:#}"));
        assert_eq!(gpu.devices, vec![Device::Gpu]);
        assert_eq!((gpu.values.len(), cpu.values.len()), (n, n));
        for (i, (g, c)) in gpu.values.iter().zip(&cpu.values).enumerate() {
            assert!(
                (g - c).abs() <= 1e-5 * c.abs(),
                "targets x {scale:e}, {trees} trees, row {i}: gpu {g:e}, cpu {c:e}"
            );
        }
    }
}

/// A model within the f32 range goes to the device unscaled: the
/// component's GPU predictions are the host's own f32 results, bit for bit.
#[test]
fn ordinary_models_reach_the_gpu_unscaled() {
    let Some(gpu) = gpu() else { return };
    let (x, y, n) = diabetes();
    let f = forest_of(&x, &y, n, 10, &p200(SplitterKind::Exact));
    let v = values(&f);
    let (direct, _) = gpu
        .predict(
            &gpu.upload(&wasm_forest::gpu::flat_forest(&f, &v)).unwrap(),
            &x,
            n as u32,
        )
        .unwrap();
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let model = forest::model::to_bytes(&f).unwrap();
    let mut pred = Predictor::new(&rt, &model, 1, 256 << 20).unwrap();
    let through = pred.predict(&x, n as u32, Device::Gpu).unwrap();
    let direct: Vec<f64> = direct.into_iter().map(f64::from).collect();
    assert_eq!(through.values, direct);
}

/// A forest whose trees' values could sum beyond f32 (each value finite) is
/// refused, not run into infinite predictions.
#[test]
fn a_forest_whose_sums_overflow_f32_is_invalid() {
    let Some(gpu) = gpu() else { return };
    let half = f32::MAX / 2.0;
    let three = |value: &[f32]| {
        gpu.upload(&FlatForest {
            n_features: 1,
            roots: &[0, 1, 2],
            feature: &[0, 0, 0],
            threshold: &[0.0, 0.0, 0.0],
            left: &[LEAF; 3],
            right: &[LEAF; 3],
            value,
            missing_left: &[false; 3],
        })
    };
    match three(&[half, -half, half]) {
        Err(GpuError::InvalidForest(m)) => {
            assert!(m.contains("beyond the f32 range"), "{m}")
        }
        other => panic!("expected invalid-forest, got {:?}", other.map(|_| ())),
    }
    // Two of them fit.
    let up = three(&[half, half / 2.0, 0.0]).unwrap();
    let (p, _) = gpu.predict(&up, &[0.0], 1).unwrap();
    let mean = f64::from(half) * 1.5 / 3.0;
    assert!((f64::from(p[0]) - mean).abs() <= 1e-6 * mean, "{p:?}");
}
