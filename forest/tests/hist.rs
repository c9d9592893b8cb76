//! The histogram splitter against the exact one.

use forest::{Dataset, Forest, MaxFeatures, Params, SplitterKind};

#[path = "../examples/common/mod.rs"]
mod common;

fn diabetes() -> (Vec<f32>, Vec<f64>) {
    common::diabetes("diabetes_train.csv")
}

fn train(x: &[f32], y: &[f64], nf: usize, p: &Params) -> Forest {
    let ds = Dataset::new(y.len(), nf, x, y).unwrap();
    forest::train(&ds, p, None).unwrap()
}

/// Roots and node arrays: what a tree is, without the recorded params. (The
/// postcard encoding the pinned values were taken with, when `Nodes` itself
/// was serialised that way.)
fn shape(f: &Forest) -> (usize, u32) {
    #[derive(serde::Serialize)]
    struct Shape<'a> {
        roots: &'a [u32],
        feature: &'a [u32],
        threshold: &'a [f32],
        left: &'a [u32],
        right: &'a [u32],
        value: &'a [f64],
    }
    let n = &f.nodes;
    let bytes = postcard::to_allocvec(&Shape {
        roots: &f.roots,
        feature: &n.feature,
        threshold: &n.threshold,
        left: &n.left,
        right: &n.right,
        value: &n.value,
    })
    .unwrap();
    (bytes.len(), crc32fast::hash(&bytes))
}

#[test]
fn exact_still_grows_the_pinned_diabetes_trees() {
    // Node arrays of the exact splitter before `hist` existed (commit d690212).
    let (x, y) = diabetes();
    for (seed, mf, pinned) in [
        (42, MaxFeatures::All, (438_950, 0x3889_fcdf)),
        (7, MaxFeatures::Sqrt, (440_924, 0x0ec5_e507)),
    ] {
        for splitter in [SplitterKind::Exact, SplitterKind::Auto] {
            let p = Params {
                n_estimators: 50,
                max_depth: Some(16),
                seed,
                max_features: mf,
                splitter,
                ..Params::default()
            };
            // auto: 353 rows is below the crossover, so the whole tree is exact.
            assert_eq!(
                shape(&train(&x, &y, 10, &p)),
                pinned,
                "{splitter} seed {seed}"
            );
        }
    }
}

/// `n` rows, `nf` features with at most `levels` distinct values each,
/// integer targets (so every sum is exact in f64, in any order).
fn few_values(n: usize, nf: usize, levels: u64, seed: u64) -> (Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(seed);
    let x: Vec<f32> = (0..n * nf)
        .map(|_| rng.below(levels) as f32 * 0.37 - 5.0)
        .collect();
    let y = x
        .chunks(nf)
        .map(|r| {
            (f64::from(r[0]) * 3.0).round()
                + if r[1] > 0.0 { 20.0 } else { 0.0 }
                + rng.below(7) as f64
        })
        .collect();
    (x, y)
}

#[test]
fn hist_grows_exacts_trees_when_every_value_has_its_bin() {
    for (levels, n) in [(256, 3000), (40, 2500), (3, 800)] {
        let (x, y) = few_values(n, 6, levels, levels);
        for seed in [1, 2] {
            for max_features in [MaxFeatures::All, MaxFeatures::Sqrt] {
                for min_samples_leaf in [1, 5] {
                    let p = |splitter| Params {
                        n_estimators: 4,
                        seed,
                        max_features,
                        min_samples_leaf,
                        splitter,
                        ..Params::default()
                    };
                    let exact = train(&x, &y, 6, &p(SplitterKind::Exact));
                    for other in [SplitterKind::Hist, SplitterKind::Auto] {
                        let f = train(&x, &y, 6, &p(other));
                        assert!(
                            f.roots == exact.roots && f.nodes == exact.nodes,
                            "{other} differs from exact: {levels} levels, seed {seed}, {max_features}, leaf {min_samples_leaf}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn hist_stays_within_two_percent_of_exacts_mse_on_continuous_data() {
    // friedman1: 10 uniform features, many more than 256 distinct values.
    let mut rng = forest::rng::Rng::new(3);
    let n = 6000;
    let (x, y) = common::friedman1(&mut rng, n);
    let (tx, ty) = common::friedman1(&mut rng, 2000);
    let mse = |s| {
        let f = train(
            &x,
            &y,
            10,
            &Params {
                n_estimators: 30,
                seed: 5,
                splitter: s,
                ..Params::default()
            },
        );
        let p = f.predict(&tx, ty.len()).unwrap();
        p.iter().zip(&ty).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / ty.len() as f64
    };
    let exact = mse(SplitterKind::Exact);
    for s in [SplitterKind::Hist, SplitterKind::Auto] {
        let m = mse(s);
        // Never worse by more than 2% (binning may also land a little better).
        assert!(m <= 1.02 * exact, "{s}: MSE {m} vs exact {exact}");
    }
}
