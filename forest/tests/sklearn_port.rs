//! The `forest::sklearn` port on the shipped diabetes split, against values
//! printed by scikit-learn 1.9.1 (numpy 2.4.6) for
//! `RandomForestRegressor(n_estimators=200, max_depth=16, random_state=42)`.
//! python/test_sklearn_rng.py compares many more cases with scikit-learn
//! itself.

use forest::sklearn::{SklearnTreeBuilder, grow_forest, tree_seeds};
use forest::{Dataset, LEAF, Params};

#[path = "../examples/common/mod.rs"]
mod common;

fn params() -> Params {
    Params {
        n_estimators: 200,
        max_depth: Some(16),
        ..Params::default()
    }
}

#[test]
fn diabetes_seed_42_is_sklearns_forest() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let (tx, ty) = common::diabetes("diabetes_test.csv");
    let data = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let trees = grow_forest(&data, &params(), 42).unwrap();

    let counts: Vec<usize> = trees.iter().map(|t| t.nodes.len()).collect();
    assert_eq!(counts[..8], [433, 421, 409, 409, 409, 429, 447, 431]);
    assert_eq!(counts.iter().sum::<usize>(), 86268);
    assert_eq!(counts.iter().max(), Some(&465));
    assert_eq!(counts.iter().min(), Some(&377));

    // The first nodes of tree 0: features, float32 thresholds (the largest
    // not above sklearn's float64 ones), right children and values.
    let t = &trees[0];
    assert_eq!(t.nodes.feature[..5], [2, 8, 7, 8, 9]);
    let bits: Vec<u32> = t.nodes.threshold[..5].iter().map(|v| v.to_bits()).collect();
    assert_eq!(
        bits,
        [0x3ba77ac9, 0x3c603b9c, 0x3d789964, 0xbd3436ab, 0xbd9ae6da]
    );
    assert_eq!(t.nodes.right[..5], [248, 179, 174, 51, 14]);
    assert_eq!(t.nodes.left[..5], [1, 2, 3, 4, 5]);
    assert_eq!(
        t.nodes.value[..5],
        [
            157.08498583569406,
            125.61792452830188,
            102.97931034482758,
            97.94890510948905,
            72.02439024390245
        ]
    );
    assert_eq!(t.nodes.not_pre_order(), None);

    // The crate's prediction of these trees: summed in order, then divided,
    // as scikit-learn does.
    let trainer = forest::Trainer::new(&data, &params()).unwrap();
    let predictions = trainer
        .assemble(&trees, None)
        .predict(&tx, ty.len())
        .unwrap();
    assert_eq!(predictions[..4], [142.285, 175.075, 154.095, 253.14]);
    let mse = predictions
        .iter()
        .zip(&ty)
        .map(|(p, t)| (p - t) * (p - t))
        .sum::<f64>()
        / ty.len() as f64;
    assert_eq!(mse, 2975.714734922311);
}

#[test]
fn a_builder_grows_the_same_tree_again() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let data = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let seeds = tree_seeds(7, 3);
    let mut builder = SklearnTreeBuilder::new(&data);
    let params = Params {
        max_features: forest::MaxFeatures::Sqrt,
        ..params()
    };
    let first: Vec<_> = seeds
        .iter()
        .map(|&s| builder.grow(&params, s).unwrap())
        .collect();
    // Reused buffers, another order: the same trees.
    for (i, &s) in seeds.iter().enumerate().rev() {
        assert_eq!(builder.grow(&params, s).unwrap(), first[i]);
    }
    for t in &first {
        assert!(
            t.nodes
                .right
                .iter()
                .zip(&t.nodes.left)
                .all(|(r, l)| (*r == LEAF) == (*l == LEAF))
        );
    }
}

/// Splitter `sklearn` is the port behind the crate's own training: a model
/// of its trees in order, the same for any split into parts (workers), with
/// scikit-learn's MSE on the test split.
#[test]
fn splitter_sklearn_trains_the_ports_forest_in_any_parts() {
    use forest::part::{Part, merge};
    let (x, y) = common::diabetes("diabetes_train.csv");
    let (tx, ty) = common::diabetes("diabetes_test.csv");
    let data = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let params = Params {
        splitter: forest::SplitterKind::Sklearn,
        seed: 42,
        ..params()
    };
    let model = forest::train(&data, &params, None).unwrap();
    let trees = grow_forest(&data, &params, 42).unwrap();
    assert_eq!(
        model.nodes.len(),
        trees.iter().map(|t| t.nodes.len()).sum::<usize>()
    );
    let mse = |p: Vec<f64>| {
        p.iter()
            .zip(&ty)
            .map(|(p, t)| (p - t) * (p - t))
            .sum::<f64>()
            / ty.len() as f64
    };
    assert_eq!(
        mse(model.predict(&tx, ty.len()).unwrap()),
        2975.714734922311
    );

    let trainer = forest::Trainer::new(&data, &params).unwrap();
    let parts = [(0, 7), (7, 150), (157, 43)]
        .map(|(first, count)| Part::grow(&trainer, first, count, None, None, |_| {}).unwrap());
    assert_eq!(merge(parts.to_vec()).unwrap(), model);

    let too_big = Params {
        seed: 1 << 32,
        ..params
    };
    assert!(
        matches!(forest::train(&data, &too_big, None), Err(forest::ForestError::InvalidParams(m)) if m.contains("seed must be < 2^32"))
    );
}
