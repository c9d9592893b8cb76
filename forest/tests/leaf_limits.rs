//! `min_weight_fraction_leaf`, `min_impurity_decrease` and `max_leaf_nodes`
//! through every splitter: each tree is checked against the rule by routing
//! the training rows through it (without bootstrap every row weighs 1), and
//! each rule is shown to bind (the forest grown without it breaks it).
//! `python/test_sklearn_rng.py` shows the `sklearn` splitter grows
//! scikit-learn's very trees under these rules.

use forest::{Dataset, Forest, ForestError, LEAF, Params, SplitterKind, Trainer, model};

const ALL: [SplitterKind; 5] = [
    SplitterKind::Exact,
    SplitterKind::Hist,
    SplitterKind::Auto,
    SplitterKind::Level,
    SplitterKind::Sklearn,
];

/// 700 rows of 5 continuous features; the target a smooth function of the
/// first three plus noise.
fn data() -> (Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(5);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..700 {
        let r: Vec<f32> = (0..5).map(|_| rng.below(1_000_000) as f32 / 1e6).collect();
        let t = 10.0 * f64::from(r[0]) + 5.0 * f64::from(r[1] * r[1]) - 3.0 * f64::from(r[2]);
        y.push(t + rng.below(1000) as f64 / 1000.0);
        x.extend_from_slice(&r);
    }
    (x, y)
}

fn train(p: Params) -> Forest {
    let (x, y) = data();
    let ds = Dataset::new(y.len(), 5, &x, &y).unwrap();
    let f = forest::train(&ds, &p, None).unwrap();
    // Written and read back: every tree is in pre-order and valid.
    model::from_bytes(&model::to_bytes(&f).unwrap()).unwrap()
}

fn params(splitter: SplitterKind) -> Params {
    Params {
        n_estimators: 4,
        bootstrap: false,
        max_features: forest::MaxFeatures::Count(3),
        seed: 9,
        splitter,
        ..Params::default()
    }
}

/// Per node of every tree: the training rows reaching it, their target sum
/// and sum of squares.
#[derive(Clone, Copy, Default)]
struct Reach {
    n: f64,
    sum: f64,
    squares: f64,
}

impl Reach {
    /// n × the variance: the node's squared error.
    fn error(&self) -> f64 {
        self.squares - self.sum * self.sum / self.n
    }
}

fn reach(f: &Forest) -> Vec<Reach> {
    let (x, y) = data();
    let nodes = &f.nodes;
    let mut r = vec![Reach::default(); nodes.len()];
    for &root in &f.roots {
        for (row, &t) in y.iter().enumerate() {
            let mut i = root as usize;
            loop {
                r[i].n += 1.0;
                r[i].sum += t;
                r[i].squares += t * t;
                if nodes.left[i] == LEAF {
                    break;
                }
                let v = x[row * 5 + nodes.feature[i] as usize];
                i = if v <= nodes.threshold[i] {
                    nodes.left[i]
                } else {
                    nodes.right[i]
                } as usize;
            }
        }
    }
    r
}

/// Leaves per tree.
fn leaves(f: &Forest) -> Vec<usize> {
    let ends: Vec<usize> = f.roots[1..]
        .iter()
        .map(|&r| r as usize)
        .chain([f.nodes.len()])
        .collect();
    f.roots
        .iter()
        .zip(ends)
        .map(|(&a, b)| (a as usize..b).filter(|&i| f.nodes.left[i] == LEAF).count())
        .collect()
}

/// The least rows in a leaf of the forest.
fn lightest_leaf(f: &Forest) -> f64 {
    let r = reach(f);
    (0..f.nodes.len())
        .filter(|&i| f.nodes.left[i] == LEAF)
        .map(|i| r[i].n)
        .fold(f64::INFINITY, f64::min)
}

/// The least weighted decrease of a split, divided by the rows (scikit-learn's
/// `improvement`).
fn weakest_split(f: &Forest) -> f64 {
    let r = reach(f);
    let n_rows = data().1.len() as f64;
    (0..f.nodes.len())
        .filter(|&i| f.nodes.left[i] != LEAF)
        .map(|i| {
            let (l, rt) = (f.nodes.left[i] as usize, f.nodes.right[i] as usize);
            (r[i].error() - r[l].error() - r[rt].error()) / n_rows
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn min_weight_fraction_leaf_keeps_every_leafs_weight() {
    for s in ALL {
        // 700 rows × 0.05 = 35: every leaf keeps 35 rows.
        let limited = train(Params {
            min_weight_fraction_leaf: 0.05,
            ..params(s)
        });
        assert!(
            lightest_leaf(&limited) >= 35.0,
            "{s}: {}",
            lightest_leaf(&limited)
        );
        assert!(
            lightest_leaf(&train(params(s))) < 35.0,
            "{s}: the rule binds"
        );
    }
}

#[test]
fn min_impurity_decrease_drops_weak_splits() {
    for s in ALL {
        let limited = train(Params {
            min_impurity_decrease: 0.01,
            ..params(s)
        });
        let weakest = weakest_split(&limited);
        assert!(weakest >= 0.01 - 1e-9, "{s}: a split of {weakest}");
        assert!(
            weakest_split(&train(params(s))) < 0.01,
            "{s}: the rule binds"
        );
    }
}

#[test]
fn max_leaf_nodes_caps_every_tree() {
    for s in ALL.into_iter().filter(|&s| s != SplitterKind::Level) {
        for k in [2, 7, 40] {
            let f = train(Params {
                max_leaf_nodes: Some(k),
                ..params(s)
            });
            assert_eq!(leaves(&f), vec![k as usize; 4], "{s}, max_leaf_nodes {k}");
        }
    }
}

#[test]
fn hist_best_first_gives_back_histograms_beyond_its_budget() {
    // With no bytes to keep, every waiting node's histogram is given back
    // and built again from its rows when the node is split: the same
    // splits here (the rebuilt sums may differ from the subtracted ones in
    // their last bits, which decides nothing on this data).
    let (x, y) = data();
    let ds = Dataset::new(y.len(), 5, &x, &y).unwrap();
    let p = Params {
        max_leaf_nodes: Some(60),
        ..params(SplitterKind::Hist)
    };
    let grow = |wait_bytes: Option<usize>| {
        let mut t = Trainer::new(&ds, &p).unwrap();
        if let Some(b) = wait_bytes {
            t.set_hist_wait_bytes(b);
        }
        let trees = t.build_trees(0..p.n_estimators);
        t.assemble(&trees, None)
    };
    let shelved = grow(Some(0));
    assert_eq!(leaves(&shelved), vec![60; 4]);
    assert!(shelved.nodes == grow(None).nodes, "the same trees");
}

#[test]
fn best_first_splits_the_largest_decrease_first() {
    // The leaves a best-first tree of k leaves keeps split next are each
    // weaker than the splits made: a tree of k + 1 leaves adds the best one.
    for s in [SplitterKind::Exact, SplitterKind::Hist] {
        let small = train(Params {
            n_estimators: 1,
            max_leaf_nodes: Some(6),
            ..params(s)
        });
        let large = train(Params {
            n_estimators: 1,
            max_leaf_nodes: Some(7),
            ..params(s)
        });
        assert!(weakest_split(&large) <= weakest_split(&small), "{s}");
    }
}

#[test]
fn best_first_without_a_binding_limit_grows_the_depth_first_tree() {
    // Continuous data, every feature and nodes of 40 rows and more: no two
    // features split a node alike, so the order nodes are split in (which
    // changes the order features are drawn in) changes no split, and the
    // pre-ordered trees are the same. (In nodes of a few rows, several
    // features often make the same partition; the first drawn wins.)
    for s in [SplitterKind::Exact, SplitterKind::Hist, SplitterKind::Auto] {
        for (depth, min_split) in [(Some(5), 2), (None, 40)] {
            let base = Params {
                max_depth: depth,
                min_samples_split: min_split,
                max_features: forest::MaxFeatures::All,
                ..params(s)
            };
            // `auto` grows best first with exact splits throughout.
            let depth_first = train(Params {
                splitter: match s {
                    SplitterKind::Auto => SplitterKind::Exact,
                    s => s,
                },
                ..base.clone()
            });
            let best_first = train(Params {
                max_leaf_nodes: Some(100_000),
                ..base
            });
            let same = best_first.nodes == depth_first.nodes;
            assert!(same, "{s}, depth {depth:?}: the trees differ");
        }
    }
}

#[test]
fn level_refuses_best_first_growth() {
    let (x, y) = data();
    let ds = Dataset::new(y.len(), 5, &x, &y).unwrap();
    let p = Params {
        max_leaf_nodes: Some(8),
        ..params(SplitterKind::Level)
    };
    let e = forest::train(&ds, &p, None).unwrap_err();
    assert!(
        matches!(&e, ForestError::InvalidParams(m) if m.contains("best first")),
        "{e}"
    );
}
