//! Sample weights (scikit-learn >= 1.9): without bootstrap a row's weight
//! weighs it in every tree, so integer weights grow the trees of rows
//! repeated that often and weight 0 those of the row dropped; with
//! bootstrap, weights choose the draws and a row of weight 0 is never drawn.
//! (`python/test_sklearn_rng.py` checks the `sklearn` splitter node for node
//! against scikit-learn with weights.)

use forest::rng::Rng;
use forest::{Dataset, Forest, MaxFeatures, Params, SplitterKind};

#[path = "../examples/common/mod.rs"]
mod common;

const NF: usize = 10;

fn train(x: &[f32], y: &[f64], w: Option<&[f64]>, p: &Params) -> forest::Result<Forest> {
    let mut data = Dataset::new(y.len(), NF, x, y)?;
    if let Some(w) = w {
        data = data.with_sample_weight(w)?;
    }
    forest::train(&data, p, None)
}

fn params(splitter: SplitterKind, bootstrap: bool, max_features: MaxFeatures) -> Params {
    Params {
        n_estimators: 6,
        bootstrap,
        max_features,
        splitter,
        seed: 5,
        ..Params::default()
    }
}

/// `n` weights drawn from `0..=top`.
fn integer_weights(n: usize, top: u64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.below(top + 1) as f64).collect()
}

/// Row `i` of `x`, `y` repeated `w[i]` times, in order.
fn repeated(x: &[f32], y: &[f64], w: &[f64]) -> (Vec<f32>, Vec<f64>) {
    let (mut rx, mut ry) = (Vec::new(), Vec::new());
    for (i, &k) in w.iter().enumerate() {
        for _ in 0..k as usize {
            rx.extend_from_slice(&x[i * NF..(i + 1) * NF]);
            ry.push(y[i]);
        }
    }
    (rx, ry)
}

/// The same trees, node for node (the first difference named, not the
/// thousands of nodes); `directions`: where missing values go too.
fn assert_same_trees(a: &Forest, b: &Forest, what: &str, directions: bool) {
    let node = |f: &Forest, i: usize| {
        let n = &f.nodes;
        let t = n.test(i);
        let missing_left = directions && t.missing_left;
        (
            t.feature,
            t.threshold,
            missing_left,
            n.right[i],
            n.value[i].to_bits(),
        )
    };
    let first = (0..a.nodes.len().min(b.nodes.len())).find(|&i| node(a, i) != node(b, i));
    if let Some(i) = first {
        panic!(
            "{what}: node {i} differs: {:?} and {:?}",
            node(a, i),
            node(b, i)
        );
    }
    assert_eq!(a.roots, b.roots, "{what}: tree sizes");
    assert_eq!(a.importances, b.importances, "{what}: importances");
}

#[test]
fn integer_weights_grow_the_trees_of_repeated_rows() {
    // Diabetes targets are integers: sums of repeated rows are exact, so
    // the trees must be equal to the bit.
    let (x, y) = common::diabetes("diabetes_train.csv");
    let w = integer_weights(y.len(), 3, 1);
    assert!(w.contains(&0.0) && w.contains(&3.0));
    let (rx, ry) = repeated(&x, &y, &w);
    for splitter in [SplitterKind::Exact, SplitterKind::Sklearn] {
        for max_features in [MaxFeatures::All, MaxFeatures::Count(3)] {
            let p = params(splitter, false, max_features);
            let weighted = train(&x, &y, Some(&w), &p).unwrap();
            let plain = train(&rx, &ry, None, &p).unwrap();
            assert!(weighted.info().n_nodes > 100);
            // Not where missing values go: in a node that saw none, rows
            // missing at prediction go to the side with more *rows*
            // (scikit-learn's rule), and repeating a row adds rows.
            let what = format!("{splitter:?} {max_features:?}");
            assert_same_trees(&weighted, &plain, &what, false);
        }
    }
}

#[test]
fn zero_weights_grow_the_trees_of_dropped_rows() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    // A fifth of the rows weigh 0, the others 1.
    let w: Vec<f64> = integer_weights(y.len(), 4, 2)
        .iter()
        .map(|&k| f64::from(k != 0.0))
        .collect();
    let (kx, ky) = repeated(&x, &y, &w);
    assert!(ky.len() < y.len() * 9 / 10);
    for splitter in [
        SplitterKind::Exact,
        SplitterKind::Auto,
        SplitterKind::Sklearn,
    ] {
        let p = Params {
            min_samples_leaf: 3,
            min_weight_fraction_leaf: 0.01,
            ..params(splitter, false, MaxFeatures::Sqrt)
        };
        let weighted = train(&x, &y, Some(&w), &p).unwrap();
        let kept = train(&kx, &ky, None, &p).unwrap();
        assert_same_trees(&weighted, &kept, &format!("{splitter:?}"), true);
    }
}

#[test]
fn scaling_every_weight_by_a_power_of_two_changes_nothing() {
    // Real weights: a power of two scales every sum exactly, so every
    // comparison and every mean comes out the same.
    let (x, y) = common::diabetes("diabetes_train.csv");
    let mut rng = Rng::new(3);
    let w: Vec<f64> = (0..y.len())
        .map(|_| 0.25 + rng.below(1000) as f64 / 317.0)
        .collect();
    let w4: Vec<f64> = w.iter().map(|v| v * 4.0).collect();
    for splitter in [SplitterKind::Exact, SplitterKind::Hist, SplitterKind::Auto] {
        let p = Params {
            min_weight_fraction_leaf: 0.02,
            max_leaf_nodes: (splitter == SplitterKind::Hist).then_some(40),
            ..params(splitter, false, MaxFeatures::Sqrt)
        };
        let a = train(&x, &y, Some(&w), &p).unwrap();
        let b = train(&x, &y, Some(&w4), &p).unwrap();
        let ones = train(&x, &y, None, &p).unwrap();
        assert_same_trees(&a, &b, &format!("{splitter:?}"), true);
        assert_ne!(
            a.nodes, ones.nodes,
            "{splitter:?}: the weights changed nothing"
        );
    }
}

#[test]
fn bootstrap_never_draws_a_row_of_weight_zero() {
    // The rows of weight 0 have targets far above the others: no node of
    // any tree may average one in.
    let (x, mut y) = common::diabetes("diabetes_train.csv");
    let w = integer_weights(y.len(), 3, 4);
    for (t, &k) in y.iter_mut().zip(&w) {
        if k == 0.0 {
            *t = 1e6;
        }
    }
    for splitter in [
        SplitterKind::Exact,
        SplitterKind::Hist,
        SplitterKind::Level,
        SplitterKind::Sklearn,
    ] {
        let f = train(&x, &y, Some(&w), &params(splitter, true, MaxFeatures::All)).unwrap();
        let top = f.nodes.value.iter().cloned().fold(f64::MIN, f64::max);
        assert!(top <= 346.0, "{splitter:?}: a node's value is {top}");
        let unweighted = train(&x, &y, None, &params(splitter, true, MaxFeatures::All)).unwrap();
        let top = unweighted
            .nodes
            .value
            .iter()
            .cloned()
            .fold(f64::MIN, f64::max);
        assert!(top > 1e5, "{splitter:?}: without weights they are drawn");
    }
}

#[test]
fn bad_weights_are_refused_with_the_row() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let mut w = vec![1.0; y.len()];
    w[7] = -0.5;
    let e = train(&x, &y, Some(&w), &Params::default()).unwrap_err();
    assert!(
        e.to_string().contains("sample weight of row 7 is -0.5"),
        "{e}"
    );
    let e = train(&x, &y, Some(&w[1..]), &Params::default()).unwrap_err();
    assert!(e.to_string().contains("expected one per row (353)"), "{e}");
    // level's integer histograms hold draw counts, not real weights.
    let p = params(SplitterKind::Level, false, MaxFeatures::All);
    let e = train(&x, &y, Some(&vec![0.5; y.len()]), &p).unwrap_err();
    assert!(e.to_string().contains("splitter level"), "{e}");
    // Weights raise the sums: the target bound follows the total weight.
    let e = train(
        &x,
        &y,
        Some(&vec![1e148; y.len()]),
        &Params {
            bootstrap: false,
            ..Params::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("scale the target or the weights down"),
        "{e}"
    );
}

#[test]
fn the_model_keeps_its_weights_and_out_of_bag_asks_for_them() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let w = integer_weights(y.len(), 3, 6);
    for splitter in [SplitterKind::Exact, SplitterKind::Sklearn] {
        let p = Params {
            n_estimators: 20,
            ..params(splitter, true, MaxFeatures::All)
        };
        let f = train(&x, &y, Some(&w), &p).unwrap();
        let bytes = forest::model::to_bytes(&f).unwrap();
        let loaded = forest::model::from_bytes(&bytes).unwrap();
        assert_eq!(loaded, f);
        assert_eq!(loaded.sample_weight.unwrap().total, w.iter().sum::<f64>());
        let n = y.len() as u32;
        let oob = loaded.out_of_bag(&x, (0, n), Some(&w)).unwrap();
        // A row of weight 0 is out of every tree's bag; a heavy row is
        // drawn more often, so out of fewer bags (in expectation 20·e^-2
        // trees against 20·e^-2/3 for a row of weight 1).
        let mean_trees = |weight: f64| {
            let k: Vec<u32> = (0..w.len())
                .filter(|&i| w[i] == weight)
                .map(|i| oob.n_trees[i])
                .collect();
            f64::from(k.iter().sum::<u32>()) / k.len() as f64
        };
        assert_eq!(mean_trees(0.0), 20.0, "{splitter:?}");
        let (light, heavy) = (mean_trees(1.0), mean_trees(3.0));
        assert!(heavy < light / 2.0, "{splitter:?}: {heavy} vs {light}");
        // Rows asked for in pieces: the same figures.
        let tail = loaded
            .out_of_bag(&x[100 * NF..], (100, n - 100), Some(&w))
            .unwrap();
        assert_eq!(tail.predictions, oob.predictions[100..]);
        // Without the weights, with others, or too few: refused.
        let e = loaded.out_of_bag(&x, (0, n), None).unwrap_err().to_string();
        assert!(e.contains("trained with sample weights"), "{e}");
        let mut other = w.clone();
        other[3] += 1.0;
        let e = loaded
            .out_of_bag(&x, (0, n), Some(&other))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("differ from the ones the model was trained with"),
            "{e}"
        );
        let e = loaded
            .out_of_bag(&x, (0, n), Some(&w[1..]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("352 sample weights given"), "{e}");
        let plain = train(&x, &y, None, &p).unwrap();
        let e = plain
            .out_of_bag(&x, (0, n), Some(&w))
            .unwrap_err()
            .to_string();
        assert!(e.contains("trained without sample weights"), "{e}");
    }
}

#[test]
fn parts_grown_apart_merge_into_the_weighted_forest() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let w = integer_weights(y.len(), 3, 7);
    for bootstrap in [true, false] {
        let p = params(SplitterKind::Auto, bootstrap, MaxFeatures::Sqrt);
        let data = Dataset::new(y.len(), NF, &x, &y)
            .unwrap()
            .with_sample_weight(&w)
            .unwrap();
        let whole = forest::model::to_bytes(&forest::train(&data, &p, None).unwrap()).unwrap();
        let trainer = forest::Trainer::new(&data, &p).unwrap();
        let part = |first, count| {
            forest::part::Part::grow(&trainer, first, count, None, None, |_| {})
                .unwrap()
                .to_bytes()
                .unwrap()
        };
        let merged = forest::part::merge_bytes(vec![part(4, 2), part(0, 4)]).unwrap();
        assert_eq!(merged, whole, "bootstrap {bootstrap}");
        // A part trained without the weights does not belong.
        let plain = forest::Trainer::new(&Dataset::new(y.len(), NF, &x, &y).unwrap(), &p).unwrap();
        let other = forest::part::Part::grow(&plain, 4, 2, None, None, |_| {}).unwrap();
        let e = forest::part::merge_bytes(vec![part(0, 4), other.to_bytes().unwrap()]);
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("other data or parameters")
        );
    }
}
