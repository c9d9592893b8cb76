//! The `forest::sklearn` port on data with missing values (NaN), against
//! values printed by scikit-learn 1.9.1 (numpy 2.4.6) for
//! `RandomForestRegressor` on the shipped diabetes split with holes punched
//! by [`holes`]. python/test_sklearn_rng.py compares many more cases with
//! scikit-learn itself.

use forest::sklearn::grow_forest;
use forest::{Dataset, GrownTree, MaxFeatures, Params, SplitterKind};

#[path = "../examples/common/mod.rs"]
mod common;

/// Row-major diabetes rows (`first` is the first one's number over train
/// and test together) with missing values: features 0, 2 and 8 in about
/// 10% of the rows, feature 1 (two values) in every fifth, feature 4 in
/// all (constant at every node, so never split on).
fn holes(x: &mut [f32], first: usize) {
    for (i, row) in x.chunks_mut(10).enumerate() {
        let r = first + i;
        for f in [0, 2, 8] {
            if (r * 7 + f * 3).is_multiple_of(10) {
                row[f] = f32::NAN;
            }
        }
        if r % 5 == 2 {
            row[1] = f32::NAN;
        }
        row[4] = f32::NAN;
    }
}

/// Row-major features and targets.
type Rows = (Vec<f32>, Vec<f64>);

/// The training and test split, with holes.
fn data() -> (Rows, Rows) {
    let (mut x, y) = common::diabetes("diabetes_train.csv");
    let (mut tx, ty) = common::diabetes("diabetes_test.csv");
    holes(&mut x, 0);
    holes(&mut tx, y.len());
    ((x, y), (tx, ty))
}

/// The splits of `trees` with threshold +inf (only the missing values go
/// right) and those that send missing values left.
fn count_splits(trees: &[GrownTree]) -> (usize, usize) {
    let (mut inf, mut left) = (0, 0);
    for t in trees {
        let n = &t.nodes;
        for i in (0..n.len()).filter(|&i| n.left[i] != forest::LEAF) {
            inf += usize::from(n.threshold[i] == f32::INFINITY);
            left += usize::from(n.missing_left[i]);
        }
    }
    (inf, left)
}

/// Summed in row order (numpy's `mean` sums pairwise: another last bit).
fn mse(p: &[f64], t: &[f64]) -> f64 {
    p.iter().zip(t).map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / t.len() as f64
}

/// Depth-first trees, bootstrap: both searches, the +inf splits, and the
/// partitions that put each row missing the split's feature on its side.
#[test]
fn depth_first_with_missing_values_is_sklearns_forest() {
    let ((x, y), (tx, ty)) = data();
    let data = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let params = Params {
        n_estimators: 20,
        ..Params::default()
    };
    let trees = grow_forest(&data, &params, 5).unwrap();
    let counts: Vec<usize> = trees.iter().map(|t| t.nodes.len()).collect();
    assert_eq!(
        counts,
        [
            433, 433, 447, 425, 463, 435, 433, 451, 447, 427, 417, 429, 435, 425, 441, 449, 437,
            445, 429, 439
        ]
    );
    assert_eq!(count_splits(&trees), (269, 1370));
    assert!(trees.iter().all(|t| !t.nodes.feature.contains(&4)));

    // Tree 0's first nodes, in pre-order.
    let t = &trees[0].nodes;
    assert_eq!(t.feature[..6], [2, 8, 0, 3, 3, 8]);
    let bits: Vec<u32> = t.threshold[..6].iter().map(|v| v.to_bits()).collect();
    assert_eq!(
        bits,
        [
            0x3c1a6014, 0xbc2a92ef, 0x3c317826, 0xba04aedf, 0xbd0f17a5, 0xbd05ac1f
        ]
    );
    assert_eq!(t.missing_left[..6], [true, false, true, true, true, true]);
    assert_eq!(
        t.value[..6],
        [
            148.96883852691218,
            119.07203389830508,
            94.34959349593495,
            82.72289156626506,
            87.8108108108108,
            74.57142857142857
        ]
    );

    // Every test row misses feature 4, many others too.
    let sklearn = Params {
        splitter: SplitterKind::Sklearn,
        seed: 5,
        ..params
    };
    let model = forest::train(&data, &sklearn, None).unwrap();
    let predictions = model.predict(&tx, ty.len()).unwrap();
    assert_eq!(predictions[..4], [149.95, 160.75, 163.8, 246.4]);
    assert_eq!(mse(&predictions, &ty), 2951.502921348314);

    // The model file keeps each split's direction and the +inf thresholds.
    let bytes = forest::model::to_bytes(&model).unwrap();
    let loaded = forest::model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.predict(&tx, ty.len()).unwrap(), predictions);
}

/// Best-first trees without bootstrap, `max_features="sqrt"`: the frontier
/// records carry the split's direction to the node made later.
#[test]
fn best_first_with_missing_values_is_sklearns_forest() {
    let ((x, y), (tx, ty)) = data();
    let data = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let params = Params {
        n_estimators: 20,
        max_leaf_nodes: Some(25),
        max_features: MaxFeatures::Sqrt,
        bootstrap: false,
        ..Params::default()
    };
    let trees = grow_forest(&data, &params, 6).unwrap();
    assert!(trees.iter().all(|t| t.nodes.len() == 49));
    assert_eq!(count_splits(&trees), (6, 259));

    let t = &trees[0].nodes;
    assert_eq!(t.feature[..4], [6, 9, 9, 3]);
    let bits: Vec<u32> = t.threshold[..4].iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, [0xbc815704, 0x3cd3bafc, 0xbd03a8e7, 0x3a9f4a06]);
    assert_eq!(
        t.missing_left[..6],
        [false, true, false, true, false, false]
    );
    assert_eq!(t.value[4..6], [120.17647058823529, 221.66666666666666]);

    let sklearn = Params {
        splitter: SplitterKind::Sklearn,
        seed: 6,
        ..params
    };
    let model = forest::train(&data, &sklearn, None).unwrap();
    let predictions = model.predict(&tx, ty.len()).unwrap();
    assert_eq!(
        predictions[..4],
        [
            161.8023255169985,
            162.4839553236574,
            165.31633225210584,
            254.2365402086197
        ]
    );
    assert_eq!(mse(&predictions, &ty), 3078.3282111206104);
}
