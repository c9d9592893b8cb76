//! Training split into parts (one per worker) and merged gives `train`'s bytes.

use forest::part::{Part, merge, merge_bytes};
use forest::{Dataset, ForestError, Params, Trainer, model};

fn data(n: usize, nf: usize) -> (Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(7);
    let x: Vec<f32> = (0..n * nf)
        .map(|_| rng.below(10_000) as f32 / 77.0)
        .collect();
    let y = x
        .chunks(nf)
        .map(|r| f64::from(r[0]).sin() * 10.0 + f64::from(r[1]) + rng.below(50) as f64 / 10.0)
        .collect();
    (x, y)
}

fn params() -> Params {
    Params {
        n_estimators: 7,
        max_depth: Some(6),
        seed: 3,
        ..Params::default()
    }
}

fn names() -> Option<Vec<String>> {
    Some((0..4).map(|i| format!("f{i}")).collect())
}

/// Splits 0..n into `k` contiguous parts, as the host does for `k` workers.
fn ranges(n: u32, k: u32) -> Vec<(u32, u32)> {
    (0..k)
        .map(|w| (n * w / k, n * (w + 1) / k - n * w / k))
        .filter(|&(_, c)| c > 0)
        .collect()
}

fn parts_bytes(trainer: &Trainer, k: u32) -> Vec<Vec<u8>> {
    ranges(trainer.params().n_estimators, k)
        .into_iter()
        .map(|(first, count)| {
            Part::grow(trainer, first, count, names(), Some("y".into()), |_| {})
                .unwrap()
                .to_bytes()
                .unwrap()
        })
        .collect()
}

/// Merges with `merge_bytes`, checking that `merge` of the decoded parts
/// agrees on every input, errors included, and that its bytes load back
/// as `merge`'s forest.
fn merged(parts: &[Vec<u8>]) -> Result<Vec<u8>, ForestError> {
    let decoded = parts
        .iter()
        .map(|b| Part::from_bytes(b))
        .collect::<Result<Vec<_>, _>>()
        .and_then(merge);
    let direct = merge_bytes(parts.to_vec());
    match (&decoded, &direct) {
        (Ok(a), Ok(b)) => {
            assert_eq!(&model::to_bytes(a).unwrap(), b);
            assert_eq!(&model::from_bytes(b).unwrap(), a);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("merge gave {decoded:?}, merge_bytes {direct:?}"),
    }
    direct
}

#[test]
fn any_number_of_parts_in_any_order_gives_trains_bytes() {
    let (x, y) = data(300, 4);
    let ds = Dataset::new(300, 4, &x, &y).unwrap();
    let mut forest = forest::train(&ds, &params(), names()).unwrap();
    // The parts carry the target's name into the model.
    forest.target_name = Some("y".into());
    let whole = model::to_bytes(&forest).unwrap();
    let trainer = Trainer::new(&ds, &params()).unwrap();
    for k in [1, 2, 3, 7, 9] {
        let mut parts = parts_bytes(&trainer, k);
        assert_eq!(merged(&parts).unwrap(), whole, "{k} parts");
        parts.reverse();
        assert_eq!(merged(&parts).unwrap(), whole, "{k} parts, reversed");
    }
}

#[test]
fn progress_counts_every_tree_of_the_part() {
    let (x, y) = data(50, 4);
    let ds = Dataset::new(50, 4, &x, &y).unwrap();
    let trainer = Trainer::new(&ds, &params()).unwrap();
    let mut seen = Vec::new();
    Part::grow(&trainer, 2, 4, None, None, |d| seen.push(d)).unwrap();
    assert_eq!(seen, vec![1, 2, 3, 4]);
}

#[test]
fn parts_that_do_not_fit_together_are_refused() {
    let (x, y) = data(120, 4);
    let ds = Dataset::new(120, 4, &x, &y).unwrap();
    let trainer = Trainer::new(&ds, &params()).unwrap();
    let parts = parts_bytes(&trainer, 3);
    let err = |r: Result<Vec<u8>, ForestError>| match r {
        Err(ForestError::InvalidModel(m)) => m,
        other => panic!("expected invalid-model, got {other:?}"),
    };
    // A part missing, a part twice, no parts.
    assert!(
        err(merged(&parts[..2])).contains("cover trees 0..4"),
        "missing tail"
    );
    assert!(err(merged(&[&parts[1..], &parts[..1]].concat()[1..])).contains("uncovered"));
    assert!(err(merged(&[parts.clone(), parts[..1].to_vec()].concat())).contains("covered twice"));
    assert!(err(merged(&[])).contains("no forest parts"));
    // A part from other parameters.
    let other = Trainer::new(
        &ds,
        &Params {
            seed: 4,
            ..params()
        },
    )
    .unwrap();
    let mut mixed = parts.clone();
    mixed[1] = parts_bytes(&other, 3).remove(1);
    assert!(err(merged(&mixed)).contains("other data or parameters"));
    // Damaged bytes.
    assert!(err(merged(&[b"WFOREST\0".to_vec()])).contains("wrong magic"));
    let mut cut = parts[0].clone();
    cut.truncate(cut.len() - 3);
    assert!(err(merged(&[cut])).contains("cannot decode"));
    // Child ids that would point into the next part once shifted.
    let mut bad = Part::from_bytes(&parts[0]).unwrap();
    let inner = bad
        .nodes
        .right
        .iter()
        .position(|&c| c != forest::LEAF)
        .unwrap();
    bad.nodes.right[inner] = bad.nodes.len() as u32 + 1;
    let mut mixed = parts.clone();
    mixed[0] = bad.to_bytes().unwrap();
    assert!(err(merged(&mixed)).contains("node ids beyond"));
    // A root beyond its part.
    let mut bad = Part::from_bytes(&parts[1]).unwrap();
    bad.header.roots[0] = bad.nodes.len() as u32;
    let mut mixed = parts.clone();
    mixed[1] = bad.to_bytes().unwrap();
    assert!(err(merged(&mixed)).contains("has node ids beyond its"));
    // Arrays shorter than the node count says.
    let mut short = parts[1].clone();
    short.truncate(short.len() - 8);
    assert!(err(merged(&[short])).contains("bytes of node arrays"));
    // Out-of-range parts are refused when grown.
    for (first, count) in [(0, 0), (5, 3), (u32::MAX, 2)] {
        assert!(matches!(
            Part::grow(&trainer, first, count, None, None, |_| {}),
            Err(ForestError::InvalidParams(_))
        ));
    }
}

#[test]
fn damaged_node_arrays_are_refused_by_both_merges_alike() {
    // Every node field of a part, overwritten at random: `merge_bytes`
    // checks the raw arrays itself and must accept and refuse exactly what
    // `merge` (which validates the decoded forest) does, with its message.
    let (x, y) = data(120, 4);
    let ds = Dataset::new(120, 4, &x, &y).unwrap();
    let trainer = Trainer::new(&ds, &params()).unwrap();
    let parts = parts_bytes(&trainer, 3);
    let mut rng = forest::rng::Rng::new(99);
    // Bytes per node of the raw arrays (feature, threshold, right: 4; value: 8).
    const RAW_NODE_BYTES: usize = 20;
    let (mut refused, mut accepted) = (0, 0);
    for _ in 0..3000 {
        let mut damaged = parts.clone();
        let p = rng.below(3) as usize;
        let n = Part::from_bytes(&parts[p]).unwrap().nodes.len();
        let arrays = damaged[p].len() - n * RAW_NODE_BYTES;
        // A field (feature, threshold, right or value) of a random node.
        let (field, node) = (rng.below(4) as usize, rng.below(n as u64) as usize);
        let (at, width) = match field {
            3 => (arrays + 12 * n + 8 * node, 8),
            f => (arrays + 4 * f * n + 4 * node, 4),
        };
        let values: [u64; 8] = [
            0,
            1,
            rng.below(n as u64 + 3),
            u64::from(u32::MAX),
            u64::from(f32::NAN.to_bits()),
            f64::INFINITY.to_bits(),
            rng.next_u64(),
            4,
        ];
        let v = values[rng.below(8) as usize].to_le_bytes();
        damaged[p][at..at + width].copy_from_slice(&v[..width]);
        // `merged` asserts that both merges agree.
        match merged(&damaged) {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(
        refused > 1000 && accepted > 100,
        "{refused} refused, {accepted} accepted"
    );
}

#[test]
fn transposing_in_place_gives_the_column_major_copy() {
    for (rows, cols) in [
        (1, 1),
        (1, 7),
        (7, 1),
        (2, 2),
        (3, 5),
        (5, 3),
        (10, 10),
        (353, 10),
        (97, 13),
    ] {
        let x: Vec<f32> = (0..rows * cols).map(|i| i as f32 * 0.5 - 3.0).collect();
        let mut expected = vec![0f32; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                expected[c * rows + r] = x[r * cols + c];
            }
        }
        let mut t = x.clone();
        forest::transpose_in_place(&mut t, rows, cols);
        assert_eq!(t, expected, "{rows} x {cols}");
    }
}

#[test]
fn an_owning_trainer_grows_the_borrowing_trainers_trees() {
    let (x, y) = data(300, 4);
    let ds = Dataset::new(300, 4, &x, &y).unwrap();
    for splitter in [
        forest::SplitterKind::Exact,
        forest::SplitterKind::Hist,
        forest::SplitterKind::Auto,
    ] {
        let p = Params {
            splitter,
            ..params()
        };
        let borrowed = Trainer::new(&ds, &p).unwrap();
        let owned = Trainer::from_owned(300, 4, (x.clone(), y.clone()), None, &p).unwrap();
        assert_eq!(
            parts_bytes(&borrowed, 1),
            parts_bytes(&owned, 1),
            "{splitter}"
        );
        // Pieces of any size are the same trees.
        assert_eq!(
            merged(&parts_bytes(&owned, 7)).unwrap(),
            merged(&parts_bytes(&borrowed, 1)).unwrap()
        );
    }
    // The owning trainer checks its data as Dataset::new does.
    let mut bad = x.clone();
    bad[5] = f32::INFINITY;
    let err = Trainer::from_owned(300, 4, (bad, y.clone()), None, &params())
        .err()
        .unwrap();
    assert!(err.to_string().contains("feature 1 of row 1"), "{err}");
    let err = Trainer::from_owned(300, 4, (x[..8].to_vec(), y), None, &params())
        .err()
        .unwrap();
    assert!(matches!(err, ForestError::InvalidData(_)), "{err}");
}
