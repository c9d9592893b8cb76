//! Behaviour of the forest crate through its public API.

use forest::{Dataset, ForestError, LEAF, MaxFeatures, MaxSamples, Params, SplitterKind, model};

/// A deterministic pseudo-random dataset: y depends on features 0 and 1.
fn synthetic(n: usize, nf: usize, seed: u64) -> (Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(seed);
    let mut x = Vec::with_capacity(n * nf);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f32> = (0..nf).map(|_| (rng.below(1000) as f32) / 100.0).collect();
        y.push(
            f64::from(row[0]) * 3.0
                + if row[1] > 5.0 { 10.0 } else { 0.0 }
                + (rng.below(100) as f64) / 100.0,
        );
        x.extend(row);
    }
    (x, y)
}

fn one_tree(max_depth: Option<u32>) -> Params {
    Params {
        n_estimators: 1,
        bootstrap: false,
        max_depth,
        ..Params::default()
    }
}

#[test]
fn best_threshold_known_by_hand() {
    // Two clusters: the only sensible cut is between 4 and 10, at the midpoint 7.
    let x = [1.0f32, 2.0, 3.0, 4.0, 10.0, 11.0, 12.0, 13.0];
    let y = [0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 5.0];
    let data = Dataset::new(8, 1, &x, &y).unwrap();
    let f = forest::train(&data, &one_tree(None), None).unwrap();
    let n = &f.nodes;
    assert_eq!(n.len(), 3, "one split, two pure leaves");
    assert_eq!((n.feature[0], n.threshold[0]), (0, 7.0));
    assert_eq!((n.left[0], n.right[0]), (1, 2));
    assert_eq!((n.value[1], n.value[2]), (0.0, 5.0));
    assert_eq!(n.value[0], 2.5);
    assert_eq!(f.predict(&[7.0, 7.01], 2).unwrap(), vec![0.0, 5.0]);
}

#[test]
fn best_split_maximises_the_squared_error_decrease() {
    // Feature 0 separates y perfectly between rows 2 and 3; feature 1 is noise.
    let x = [
        0.0f32, 5.0, 1.0, 3.0, 2.0, 4.0, 3.0, 0.0, 4.0, 1.0, 5.0, 2.0,
    ];
    let y = [1.0, 1.0, 1.0, 9.0, 9.0, 9.0];
    let data = Dataset::new(6, 2, &x, &y).unwrap();
    let f = forest::train(&data, &one_tree(Some(1)), None).unwrap();
    assert_eq!((f.nodes.feature[0], f.nodes.threshold[0]), (0, 2.5));
}

#[test]
fn min_samples_leaf_and_max_depth_are_honoured() {
    let (x, y) = synthetic(500, 4, 1);
    let data = Dataset::new(500, 4, &x, &y).unwrap();
    for leaf in [1, 3, 10] {
        let p = Params {
            min_samples_leaf: leaf,
            ..one_tree(None)
        };
        let f = forest::train(&data, &p, None).unwrap();
        let mut per_leaf = vec![0u32; f.nodes.len()];
        for row in x.chunks_exact(4) {
            per_leaf[f.nodes.leaf_of(0, row) as usize] += 1;
        }
        for (i, &c) in per_leaf.iter().enumerate() {
            if f.nodes.left[i] == LEAF {
                assert!(
                    c >= leaf,
                    "leaf {i} holds {c} rows, min_samples_leaf is {leaf}"
                );
            }
        }
    }
    for depth in [1, 3, 6] {
        let p = Params {
            max_depth: Some(depth),
            n_estimators: 5,
            ..Params::default()
        };
        let info = forest::train(&data, &p, None).unwrap().info();
        assert_eq!(
            info.max_depth, depth,
            "500 noisy rows fill every level up to max_depth"
        );
    }
    let unlimited = forest::train(&data, &one_tree(None), None).unwrap().info();
    assert!(unlimited.max_depth > 6);
}

#[test]
fn min_samples_split_is_honoured() {
    let (x, y) = synthetic(300, 3, 2);
    let data = Dataset::new(300, 3, &x, &y).unwrap();
    let loose = forest::train(&data, &one_tree(None), None).unwrap().info();
    let tight = forest::train(
        &data,
        &Params {
            min_samples_split: 50,
            ..one_tree(None)
        },
        None,
    )
    .unwrap();
    assert!(tight.info().n_nodes < loose.n_nodes / 4);
    // Every internal node had at least 50 rows.
    let mut reach = vec![0u32; tight.nodes.len()];
    for row in x.chunks_exact(3) {
        let mut n = 0usize;
        loop {
            reach[n] += 1;
            if tight.nodes.left[n] == LEAF {
                break;
            }
            n = if row[tight.nodes.feature[n] as usize] <= tight.nodes.threshold[n] {
                tight.nodes.left[n] as usize
            } else {
                tight.nodes.right[n] as usize
            };
        }
    }
    for (i, &rows) in reach.iter().enumerate() {
        if tight.nodes.left[i] != LEAF {
            assert!(rows >= 50, "node {i} was split with {rows} rows");
        }
    }
}

#[test]
fn constant_features_are_never_chosen() {
    let (mut x, y) = synthetic(200, 4, 3);
    for row in x.chunks_exact_mut(4) {
        row[0] = 1.5; // constant, and it is the feature y depends on most...
        row[3] = -2.0;
    }
    let data = Dataset::new(200, 4, &x, &y).unwrap();
    let p = Params {
        n_estimators: 10,
        max_features: MaxFeatures::Count(1),
        ..Params::default()
    };
    let f = forest::train(&data, &p, None).unwrap();
    for i in 0..f.nodes.len() {
        if f.nodes.left[i] != LEAF {
            assert!(
                matches!(f.nodes.feature[i], 1 | 2),
                "node {i} splits on constant feature {}",
                f.nodes.feature[i]
            );
        }
    }
}

#[test]
fn nodes_stop_when_pure() {
    let x = [1.0f32, 2.0, 3.0, 4.0];
    let y = [7.0; 4];
    let data = Dataset::new(4, 1, &x, &y).unwrap();
    let f = forest::train(
        &data,
        &Params {
            n_estimators: 3,
            ..Params::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(f.info().n_nodes, 3, "three single-leaf trees");
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (x, y) = synthetic(300, 5, 4);
    let data = Dataset::new(300, 5, &x, &y).unwrap();
    let bytes = |seed| {
        let p = Params {
            n_estimators: 20,
            seed,
            max_features: MaxFeatures::Sqrt,
            ..Params::default()
        };
        model::to_bytes(&forest::train(&data, &p, None).unwrap()).unwrap()
    };
    assert_eq!(bytes(7), bytes(7));
    assert_ne!(bytes(7), bytes(8));
}

#[test]
fn trees_do_not_depend_on_which_worker_builds_them() {
    let (x, y) = synthetic(300, 5, 5);
    let data = Dataset::new(300, 5, &x, &y).unwrap();
    let p = Params {
        n_estimators: 9,
        max_samples: Some(MaxSamples::Fraction(0.7)),
        ..Params::default()
    };
    let whole = forest::train(&data, &p, None).unwrap();
    let trainer = forest::Trainer::new(&data, &p).unwrap();
    // Three "workers", each with its own splitter, building in reverse order.
    let mut parts: Vec<_> = [6..9, 3..6, 0..3]
        .into_iter()
        .map(|r| trainer.build_trees(r))
        .collect();
    parts.reverse();
    let trees: Vec<_> = parts.concat();
    assert_eq!(trainer.assemble(&trees, None), whole);
}

#[test]
fn bootstrap_changes_the_model_and_is_optional() {
    let (x, y) = synthetic(200, 3, 6);
    let data = Dataset::new(200, 3, &x, &y).unwrap();
    let with = forest::train(
        &data,
        &Params {
            n_estimators: 4,
            ..Params::default()
        },
        None,
    )
    .unwrap();
    let without = forest::train(
        &data,
        &Params {
            n_estimators: 4,
            bootstrap: false,
            ..Params::default()
        },
        None,
    )
    .unwrap();
    // Without bootstrap every tree fits the training data exactly.
    let pred = without.predict(&x, 200).unwrap();
    for (p, t) in pred.iter().zip(&y) {
        assert!((p - t).abs() < 1e-9);
    }
    assert_ne!(with.nodes, without.nodes);
}

#[test]
fn model_file_round_trip() {
    let (x, y) = synthetic(100, 3, 7);
    let data = Dataset::new(100, 3, &x, &y).unwrap();
    let names = Some(vec!["a".into(), "b".into(), "c".into()]);
    let f = forest::train(
        &data,
        &Params {
            n_estimators: 5,
            ..Params::default()
        },
        names,
    )
    .unwrap();
    let bytes = model::to_bytes(&f).unwrap();
    assert_eq!(&bytes[..8], b"WFOREST\0");
    let back = model::from_bytes(&bytes).unwrap();
    assert_eq!(back, f);
    assert_eq!(back.predict(&x, 100).unwrap(), f.predict(&x, 100).unwrap());
}

fn small_model() -> forest::Forest {
    let (x, y) = synthetic(60, 2, 8);
    let data = Dataset::new(60, 2, &x, &y).unwrap();
    forest::train(
        &data,
        &Params {
            n_estimators: 2,
            ..Params::default()
        },
        None,
    )
    .unwrap()
}

fn rejected(bytes: &[u8]) -> String {
    match model::from_bytes(bytes) {
        Err(ForestError::InvalidModel(m)) => m,
        other => panic!("expected invalid-model, got {other:?}"),
    }
}

#[test]
fn damaged_model_files_are_rejected() {
    let good = model::to_bytes(&small_model()).unwrap();
    assert!(rejected(&good[..good.len() - 1]).contains("truncated"));
    assert!(rejected(&good[..10]).contains("too short"));
    let mut magic = good.clone();
    magic[0] = b'X';
    assert!(rejected(&magic).contains("magic"));
    let mut flipped = good.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x10;
    assert!(rejected(&flipped).contains("checksum"));
    let mut future = good.clone();
    future[8] = model::FORMAT_VERSION as u8 + 1;
    assert!(rejected(&future).contains("newer"));
    for v in [1, 2, 3] {
        let mut old = good.clone();
        old[8] = v;
        assert!(rejected(&old).contains("older wasm-forest"));
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(rejected(&trailing).contains("trailing"));
}

#[test]
fn inconsistent_trees_are_rejected() {
    let base = small_model();
    let mut backward = base.clone();
    let internal = (0..backward.nodes.len())
        .find(|&i| backward.nodes.left[i] != LEAF)
        .unwrap();
    backward.nodes.right[internal] = internal as u32; // a cycle
    assert!(rejected(&model::to_bytes(&backward).unwrap()).contains("child id"));
    // `left` is not stored: a forest not in pre-order cannot be written.
    let mut swapped = base.clone();
    let n = &mut swapped.nodes;
    std::mem::swap(&mut n.left[internal], &mut n.right[internal]);
    let err = model::to_bytes(&swapped).unwrap_err().to_string();
    assert!(err.contains("pre-order"), "{err}");
    let mut out_of_range = base.clone();
    out_of_range.nodes.right[internal] = 1_000_000;
    assert!(rejected(&model::to_bytes(&out_of_range).unwrap()).contains("child id"));
    let mut nan = base.clone();
    nan.nodes.threshold[internal] = f32::NAN;
    assert!(rejected(&model::to_bytes(&nan).unwrap()).contains("threshold"));
    let leaf = (0..base.nodes.len())
        .find(|&i| base.nodes.left[i] == LEAF)
        .unwrap();
    let mut junk_leaf = base.clone();
    junk_leaf.nodes.threshold[leaf] = f32::NAN; // found by the model_decoder fuzzer
    assert!(rejected(&model::to_bytes(&junk_leaf).unwrap()).contains("a leaf with a split"));
    let mut params = base.clone();
    params.params.max_samples = Some(MaxSamples::Fraction(f64::NAN)); // also a fuzzer finding
    assert!(
        rejected(&model::to_bytes(&params).unwrap())
            .contains("recorded training parameters are invalid")
    );
    let mut count = base.clone();
    count.params.n_estimators = 3;
    assert!(rejected(&model::to_bytes(&count).unwrap()).contains("recorded n_estimators is 3"));
    let mut feature = base.clone();
    feature.nodes.feature[internal] = 2;
    assert!(rejected(&model::to_bytes(&feature).unwrap()).contains("n_features"));
}

#[test]
fn bad_data_is_invalid_data() {
    let x = [1.0f32, f32::NEG_INFINITY];
    assert!(
        matches!(Dataset::new(2, 1, &x, &[1.0, 2.0]), Err(ForestError::InvalidData(m)) if m.contains("row 1") && m.contains("-inf"))
    );
    // NaN is a missing value; a missing target is not.
    assert!(Dataset::new(2, 1, &[1.0, f32::NAN], &[1.0, 2.0]).is_ok());
    assert!(matches!(
        Dataset::new(2, 1, &[1.0, 2.0], &[1.0, f64::NAN]),
        Err(ForestError::InvalidData(m)) if m.contains("target of row 1")
    ));
    assert!(matches!(
        Dataset::new(2, 1, &[1.0, 2.0], &[1.0]),
        Err(ForestError::InvalidData(_))
    ));
    assert!(matches!(
        Dataset::new(0, 1, &[], &[]),
        Err(ForestError::InvalidData(_))
    ));
    let f = small_model();
    assert!(
        matches!(f.predict(&[1.0, 2.0, 3.0], 2), Err(ForestError::InvalidData(m)) if m.contains("2 features"))
    );
}

/// Targets are bounded so that no weighted sum, square or proxy overflows:
/// the split scan relies on it (it has no NaN guard). At the bound every
/// splitter still grows a valid forest of finite values that splits the
/// data as it splits the same targets scaled down; beyond it the data is
/// refused, naming the row.
#[test]
fn targets_are_bounded_so_that_split_sums_never_overflow() {
    let n = 64;
    let (x, small) = synthetic(n, 3, 9);
    let limit = forest::MAX_TARGET_SUM / n as f64;
    let max = small.iter().fold(0.0f64, |m, y| m.max(y.abs()));
    // Scaled by a power of two, so every sum scales exactly.
    let scale = 2f64.powi((limit / max).log2().floor() as i32);
    let big: Vec<f64> = small.iter().map(|y| y * scale).collect();
    assert!(big.iter().all(|y| y.abs() <= limit) && big.iter().any(|y| y.abs() > limit / 2.0));
    for splitter in [SplitterKind::Exact, SplitterKind::Hist, SplitterKind::Auto] {
        let params = Params {
            n_estimators: 4,
            splitter,
            ..Params::default()
        };
        let train =
            |y: &[f64]| forest::train(&Dataset::new(n, 3, &x, y).unwrap(), &params, None).unwrap();
        let (f, reference) = (train(&big), train(&small));
        f.validate().unwrap();
        assert_eq!(f.nodes.feature, reference.nodes.feature, "{splitter:?}");
        assert_eq!(f.nodes.threshold, reference.nodes.threshold, "{splitter:?}");
        let p = f.predict(&x, n).unwrap();
        assert!(p.iter().all(|v| v.is_finite()), "{splitter:?}");
    }
    let mut beyond = big.clone();
    beyond[5] = limit * 1.5;
    assert!(
        matches!(Dataset::new(n, 3, &x, &beyond), Err(ForestError::InvalidData(m)) if m.contains("target of row 5") && m.contains("scale the target down"))
    );
    beyond[5] = -limit * 1.5;
    assert!(Dataset::new(n, 3, &x, &beyond).is_err());
}

#[test]
fn params_that_do_not_fit_the_data_are_invalid_params() {
    let data = Dataset::new(3, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]).unwrap();
    let err = |p: Params| forest::train(&data, &p, None).unwrap_err();
    assert!(
        matches!(err(Params { max_features: MaxFeatures::Count(3), ..Params::default() }), ForestError::InvalidParams(m) if m.contains("max_features"))
    );
    assert!(
        matches!(err(Params { max_samples: Some(MaxSamples::Fraction(1e300)), ..Params::default() }), ForestError::InvalidParams(m) if m.contains("max_samples"))
    );
    assert!(matches!(
        err(Params {
            n_estimators: 0,
            ..Params::default()
        }),
        ForestError::InvalidParams(_)
    ));
    assert!(matches!(
        forest::train(&data, &Params::default(), Some(vec!["a".into()])),
        Err(ForestError::InvalidData(_))
    ));
}

/// The reference prediction: each row walks every tree in order, one by one.
fn predict_row_by_row(f: &forest::Forest, x: &[f32], n_rows: usize) -> Vec<f64> {
    let nf = f.n_features as usize;
    (0..n_rows)
        .map(|r| {
            let row = &x[r * nf..(r + 1) * nf];
            let sum: f64 = f
                .roots
                .iter()
                .map(|&root| f.nodes.value[f.nodes.leaf_of(root, row) as usize])
                .sum();
            sum / f.n_trees() as f64
        })
        .collect()
}

#[test]
fn blocked_prediction_equals_the_row_by_row_walk() {
    // Large trees (fully grown on noisy rows, leaves at many depths) and
    // small ones (depth 3), on a batch spanning two row blocks, the last one
    // partial: every prediction must be bit-identical.
    let (x, y) = synthetic(12_000, 4, 21);
    let data = Dataset::new(12_000, 4, &x, &y).unwrap();
    let (tx, _) = synthetic(140_000, 4, 22);
    for max_depth in [None, Some(3)] {
        let f = forest::train(
            &data,
            &Params {
                n_estimators: 3,
                max_depth,
                ..Params::default()
            },
            None,
        )
        .unwrap();
        let largest = (0..f.n_trees())
            .map(|t| f.tree_range(t).len())
            .max()
            .unwrap();
        if max_depth.is_none() {
            assert!(largest > 4096, "large trees expected, got {largest} nodes");
        } else {
            assert!(largest <= 15);
        }
        let got = f.predict(&tx, 140_000).unwrap();
        let want = predict_row_by_row(&f, &tx, 140_000);
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "max_depth {max_depth:?}"
        );
    }
}

#[test]
fn params_print_as_the_command_line_spells_them() {
    let p = Params {
        max_depth: Some(5),
        max_features: MaxFeatures::Fraction(0.5),
        max_samples: Some(MaxSamples::Count(100)),
        seed: 42,
        ..Params::default()
    };
    assert_eq!(
        p.to_string(),
        "n_estimators=100 max_depth=5 min_samples_split=2 min_samples_leaf=1 max_features=0.5 bootstrap=true max_samples=100 seed=42 splitter=auto min_weight_fraction_leaf=0.0 max_leaf_nodes=none min_impurity_decrease=0.0"
    );
    let d = Params::default().to_string();
    assert!(
        d.contains("max_depth=none") && d.contains("max_samples=none"),
        "{d}"
    );
}
