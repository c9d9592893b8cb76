//! Missing values (NaN features), as scikit-learn >= 1.4 handles them in its
//! trees: at each split the rows missing the feature go to the side that
//! suits them best (or apart from all others, threshold +inf), and the node
//! keeps that direction; a node that saw none sends them to its larger side.
//! `python/test_sklearn_rng.py` shows the `sklearn` splitter grows
//! scikit-learn's very trees on such data.

use forest::{Dataset, Forest, LEAF, MaxFeatures, Params, SplitterKind, model};

/// `n` rows of 4 features with few distinct values (so `hist` gives every
/// value its bin), an integer target (sums exact in any order); feature 0
/// misses a `rate` of its values, feature 2 half that, feature 3 all of
/// them when `all_missing`.
fn data(n: usize, rate: u64, all_missing: bool) -> (Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(11);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let mut r: Vec<f32> = (0..4).map(|_| rng.below(40) as f32 / 4.0).collect();
        let t = 3.0 * f64::from(r[0]) + f64::from(r[1] * r[2]) + rng.below(5) as f64;
        // Missing more often where the target is high: the direction matters.
        if rng.below(100) < rate + u64::from(t > 40.0) * rate / 2 {
            r[0] = f32::NAN;
        }
        if rng.below(200) < rate {
            r[2] = f32::NAN;
        }
        if all_missing {
            r[3] = f32::NAN;
        }
        x.extend_from_slice(&r);
        y.push(t.round());
    }
    (x, y)
}

fn train(x: &[f32], y: &[f64], p: &Params) -> Forest {
    let ds = Dataset::new(y.len(), 4, x, y).unwrap();
    let f = forest::train(&ds, p, None).unwrap();
    // Written and read back: the directions survive the model file.
    let back = model::from_bytes(&model::to_bytes(&f).unwrap()).unwrap();
    assert_eq!(back, f);
    f
}

fn params(splitter: SplitterKind, bootstrap: bool) -> Params {
    Params {
        n_estimators: 5,
        bootstrap,
        max_features: MaxFeatures::Count(3),
        seed: 4,
        splitter,
        ..Params::default()
    }
}

#[test]
fn hist_and_auto_grow_exact_trees_with_missing_values() {
    for (rate, bootstrap) in [(10, true), (50, false), (50, true)] {
        let (x, y) = data(600, rate, rate == 50);
        let exact = train(&x, &y, &params(SplitterKind::Exact, bootstrap));
        assert!(exact.nodes.missing_left.contains(&true), "{rate}%");
        assert!(exact.nodes.threshold.contains(&f32::INFINITY), "{rate}%");
        for splitter in [SplitterKind::Hist, SplitterKind::Auto] {
            let other = train(&x, &y, &params(splitter, bootstrap));
            assert_eq!(other.nodes, exact.nodes, "{splitter} at {rate}%");
        }
        let max_leaves = Params {
            max_leaf_nodes: Some(20),
            ..params(SplitterKind::Exact, bootstrap)
        };
        let best_first = train(&x, &y, &max_leaves);
        let hist = train(
            &x,
            &y,
            &Params {
                splitter: SplitterKind::Hist,
                ..max_leaves
            },
        );
        assert_eq!(hist.nodes, best_first.nodes, "best first at {rate}%");
    }
}

/// The weighted squared-error decrease of splitting `rows` (targets `y`) by
/// `goes_left`.
fn decrease(rows: &[usize], y: &[f64], goes_left: impl Fn(usize) -> bool) -> f64 {
    let sse = |r: &[usize]| {
        let m = r.iter().map(|&i| y[i]).sum::<f64>() / r.len() as f64;
        r.iter().map(|&i| (y[i] - m) * (y[i] - m)).sum::<f64>()
    };
    let (l, r): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&i| goes_left(i));
    if l.is_empty() || r.is_empty() {
        return f64::NEG_INFINITY;
    }
    sse(rows) - sse(&l) - sse(&r)
}

/// 300 rows: feature 0 (30% missing) decides the target by `target(x0)`,
/// feature 1 is noise.
fn stump_data(target: impl Fn(f32) -> f64) -> (Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(3);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let x0 = if rng.below(10) < 3 {
            f32::NAN
        } else {
            rng.below(10) as f32
        };
        x.extend_from_slice(&[x0, rng.below(10) as f32, 0.0, 0.0]);
        y.push(target(x0) + rng.below(3) as f64);
    }
    (x, y)
}

#[test]
fn a_stump_splits_the_best_of_every_way_to_send_missing_rows() {
    // The best split sends the missing rows left, right, or apart.
    type Target = fn(f32) -> f64;
    let cases: [(&str, Target); 3] = [
        ("left", |x| if x.is_nan() || x < 3.0 { 10.0 } else { 0.0 }),
        ("right", |x| if x.is_nan() || x > 6.0 { 10.0 } else { 0.0 }),
        ("apart", |x| if x.is_nan() { 10.0 } else { 0.0 }),
    ];
    for (way, target) in cases {
        let (x, y) = stump_data(target);
        let rows: Vec<usize> = (0..y.len()).collect();
        let v = |i: usize, f: usize| x[i * 4 + f];
        // Every threshold between present values, with the missing rows
        // left or right, and the present rows apart from the missing ones.
        let mut best = (f64::NEG_INFINITY, None);
        for f in 0..2 {
            let mut values: Vec<f32> = rows
                .iter()
                .map(|&i| v(i, f))
                .filter(|v| !v.is_nan())
                .collect();
            values.sort_by(f32::total_cmp);
            values.dedup();
            let mut thresholds: Vec<f32> = values
                .windows(2)
                .map(|w| forest::threshold_between(w[0], w[1]))
                .collect();
            thresholds.push(f32::INFINITY);
            for t in thresholds {
                for missing_left in [false, true] {
                    let test = forest::Test {
                        feature: f as u32,
                        threshold: t,
                        missing_left,
                    };
                    let d = decrease(&rows, &y, |i| test.sends_left(v(i, f)));
                    if d > best.0 {
                        best = (d, Some(test));
                    }
                }
            }
        }
        let best_test = best.1.unwrap();
        let expected_way = match (best_test.threshold == f32::INFINITY, best_test.missing_left) {
            (true, _) => "apart",
            (false, true) => "left",
            (false, false) => "right",
        };
        assert_eq!(expected_way, way, "the data's best split");
        let stump = Params {
            n_estimators: 1,
            max_depth: Some(1),
            max_features: MaxFeatures::All,
            ..params(SplitterKind::Exact, false)
        };
        for splitter in [
            SplitterKind::Exact,
            SplitterKind::Hist,
            SplitterKind::Auto,
            SplitterKind::Level,
        ] {
            let f = train(
                &x,
                &y,
                &Params {
                    splitter,
                    ..stump.clone()
                },
            );
            let test = f.nodes.test(0);
            let got = decrease(&rows, &y, |i| test.goes_left(&x[i * 4..i * 4 + 4]));
            assert!(
                (got - best.0).abs() <= 1e-9 * best.0,
                "{splitter}, {way}: {got} vs the best {}",
                best.0
            );
            assert_eq!(test.feature, 0, "{splitter}, {way}");
        }
    }
}

/// The training rows (row ids) reaching every node of `f`'s trees.
fn reach(f: &Forest, x: &[f32], n: usize) -> Vec<Vec<usize>> {
    let mut at = vec![Vec::new(); f.nodes.len()];
    for &root in &f.roots {
        for r in 0..n {
            let row = &x[r * 4..r * 4 + 4];
            let mut i = root as usize;
            loop {
                at[i].push(r);
                if f.nodes.left[i] == LEAF {
                    break;
                }
                let test = f.nodes.test(i);
                i = if test.goes_left(row) {
                    f.nodes.left[i]
                } else {
                    f.nodes.right[i]
                } as usize;
            }
        }
    }
    at
}

#[test]
fn rows_missing_only_at_prediction_go_to_the_larger_side() {
    let (x, y) = data(500, 0, false);
    assert!(!x.iter().any(|v| v.is_nan()));
    for splitter in [
        SplitterKind::Exact,
        SplitterKind::Hist,
        SplitterKind::Auto,
        SplitterKind::Level,
        SplitterKind::Sklearn,
    ] {
        let f = train(&x, &y, &params(splitter, false));
        let at = reach(&f, &x, y.len());
        for i in (0..f.nodes.len()).filter(|&i| f.nodes.left[i] != LEAF) {
            let (l, r) = (
                at[f.nodes.left[i] as usize].len(),
                at[f.nodes.right[i] as usize].len(),
            );
            assert_eq!(
                f.nodes.missing_left[i],
                l > r,
                "{splitter}: node {i}, {l} rows left, {r} right"
            );
        }
        // Prediction follows those directions: a row missing everything
        // walks to the larger side at every node.
        let p = f.predict(&[f32::NAN; 4], 1).unwrap()[0];
        let leaves = f.roots.iter().map(|&root| {
            let mut i = root as usize;
            while f.nodes.left[i] != LEAF {
                i = if f.nodes.missing_left[i] {
                    i + 1
                } else {
                    f.nodes.right[i] as usize
                };
            }
            f.nodes.value[i]
        });
        let expected = leaves.sum::<f64>() / f.roots.len() as f64;
        assert_eq!(p, expected, "{splitter}");
    }
}

#[test]
fn prediction_of_rows_with_missing_values_follows_each_node() {
    let (x, y) = data(400, 30, false);
    let f = train(&x, &y, &params(SplitterKind::Auto, true));
    let n = y.len();
    let p = f.predict(&x, n).unwrap();
    for (r, &got) in p.iter().enumerate() {
        let row = &x[r * 4..r * 4 + 4];
        let sum: f64 = f
            .roots
            .iter()
            .map(|&t| f.nodes.value[f.nodes.leaf_of(t, row) as usize])
            .sum();
        assert_eq!(got, sum / f.roots.len() as f64, "row {r}");
    }
    // Infinity is not a missing value.
    let mut bad = x[..8].to_vec();
    bad[5] = f32::INFINITY;
    let err = f.predict(&bad, 2).unwrap_err().to_string();
    assert!(err.contains("feature 1 of row 1 is inf"), "{err}");
}

#[test]
fn a_column_missing_in_every_row_is_never_split_on() {
    let (x, y) = data(400, 10, true);
    for splitter in [SplitterKind::Exact, SplitterKind::Hist, SplitterKind::Auto] {
        let p = Params {
            max_features: MaxFeatures::All,
            ..params(splitter, true)
        };
        let f = train(&x, &y, &p);
        let splits = (0..f.nodes.len()).filter(|&i| f.nodes.left[i] != LEAF);
        assert!(
            splits.clone().all(|i| f.nodes.feature[i] != 3),
            "{splitter}"
        );
        assert!(splits.count() > 20, "{splitter}");
        assert_eq!(f.importances[3], 0.0, "{splitter}");
    }
}

#[test]
fn level_grows_trees_whose_missing_rows_go_where_they_were_sent() {
    // Level-wise growth moves a level's rows by bin code at its end: the
    // training rows reaching each node are the ones the stored tests send
    // there, missing values included.
    let (x, y) = data(500, 30, true);
    let f = train(&x, &y, &params(SplitterKind::Level, false));
    let at = reach(&f, &x, y.len());
    let n = &f.nodes;
    assert!(n.missing_left.contains(&true) && n.threshold.contains(&f32::INFINITY));
    for i in (0..n.len()).filter(|&i| n.left[i] != LEAF) {
        let (l, r) = (at[n.left[i] as usize].len(), at[n.right[i] as usize].len());
        assert_eq!(l + r, at[i].len(), "node {i}");
        assert!(l > 0 && r > 0, "node {i}: {l} rows left, {r} right");
        assert_ne!(n.feature[i], 3, "the column missing in every row");
    }
    // Every node's value is the mean target of the rows it holds.
    for (i, rows) in at.iter().enumerate() {
        let mean = rows.iter().map(|&r| y[r]).sum::<f64>() / rows.len() as f64;
        assert!(
            (n.value[i] - mean).abs() <= 1e-9 * mean.abs().max(1.0),
            "node {i}"
        );
    }
}
