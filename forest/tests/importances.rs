//! Impurity-based feature importances: stored in the model, checked on
//! load, the same however the trees were shared out; model files of format
//! 4 (before importances), 5 (before the leaf limits) and 6 (before missing
//! values) still load and predict as they did.
//! (Agreement with scikit-learn itself is tested in python/test_importances.py
//! and python/test_sklearn_rng.py.)

use std::path::Path;

use forest::part::{Part, merge_bytes};
use forest::{Dataset, ForestError, Params, SplitterKind, Trainer, model};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

/// The model file `name` of format `version`, loaded.
fn old_model(name: &str, version: u16) -> forest::Forest {
    let bytes = fixture(name);
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), version);
    model::from_bytes(&bytes).unwrap()
}

fn diabetes_test_rows() -> (Vec<f32>, usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/diabetes_test.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut x = Vec::new();
    let mut n = 0;
    for line in text.lines().skip(1) {
        let v: Vec<f32> = line.split(',').map(|s| s.parse().unwrap()).collect();
        x.extend_from_slice(&v[..v.len() - 1]);
        n += 1;
    }
    (x, n)
}

#[test]
fn a_format_4_model_loads_and_predicts_as_it_did() {
    // Written by wasm-forest 28d8632 (format 4): 5 trees of depth 4 on
    // diabetes, with its predictions of data/diabetes_test.csv.
    let forest = old_model("diabetes_v4.bin", 4);
    assert!(forest.importances.is_empty());
    assert_eq!(forest.n_trees(), 5);
    // Written again, it is a current file with no importances.
    predicts_as_recorded_and_rewrites(&forest, "diabetes_v4_predictions.txt");
}

#[test]
fn a_format_5_model_loads_and_predicts_as_it_did() {
    // Written by wasm-forest 3601d94 (format 5, before the leaf limits):
    // 5 trees of depth 4 on diabetes (`--splitter exact --seed 5`), with
    // its predictions of data/diabetes_test.csv.
    let forest = old_model("diabetes_v5.bin", 5);
    assert_eq!(forest.n_trees(), 5);
    assert_eq!(forest.importances.len(), 10);
    let p = &forest.params;
    assert_eq!(
        (p.max_depth, p.seed, p.splitter),
        (Some(4), 5, SplitterKind::Exact)
    );
    assert_eq!(
        (
            p.min_weight_fraction_leaf,
            p.max_leaf_nodes,
            p.min_impurity_decrease
        ),
        (0.0, None, 0.0)
    );
    predicts_as_recorded_and_rewrites(&forest, "diabetes_v5_predictions.txt");
}

#[test]
fn a_format_6_model_loads_and_predicts_as_it_did() {
    // Written by wasm-forest 9f129fe (format 6, before missing values):
    // `--splitter hist --seed 6 --n-estimators 5 --max-depth 6
    // --max-leaf-nodes 12 --min-impurity-decrease 0.5` on diabetes, with its
    // predictions of data/diabetes_test.csv.
    let forest = old_model("diabetes_v6.bin", 6);
    let p = &forest.params;
    assert_eq!((p.max_leaf_nodes, p.min_impurity_decrease), (Some(12), 0.5));
    // Grown without gaps, and without directions: missing values go right.
    assert!(!forest.nodes.missing_left.contains(&true));
    predicts_as_recorded_and_rewrites(&forest, "diabetes_v6_predictions.txt");
    // A version 6 file whose right id has bit 31 set is damaged, not a
    // direction: that bit meant nothing then.
    let split = forest
        .nodes
        .left
        .iter()
        .position(|&l| l != forest::LEAF)
        .unwrap();
    let mut forest7 = forest.clone();
    forest7.nodes.missing_left[split] = true;
    let v6 = as_format_7(&model::to_bytes(&forest7).unwrap(), 6);
    let err = model::from_bytes(&v6).unwrap_err().to_string();
    assert!(err.contains(&format!("node {split}: child id")), "{err}");
}

#[test]
fn a_format_7_model_loads_and_predicts_as_it_did() {
    // Written by wasm-forest d5084b7 (format 7, before sample weights):
    // `--splitter exact --seed 7 --n-estimators 5 --max-depth 6` on
    // diabetes_train.csv with a ninth of `bmi` and a seventh of `s5`
    // missing, with its predictions of data/diabetes_test.csv.
    let forest = old_model("diabetes_v7.bin", 7);
    assert!(forest.nodes.missing_left.contains(&true));
    assert_eq!(forest.sample_weight, None);
    predicts_as_recorded_and_rewrites(&forest, "diabetes_v7_predictions.txt");
    // Format 8 is format 7 with one more field: a format 7 file of the
    // current forest reads back as it.
    let v7 = as_format_7(&model::to_bytes(&forest).unwrap(), 7);
    assert_eq!(model::from_bytes(&v7).unwrap(), forest);
}

/// A current model file of a forest trained without sample weights, as
/// format `version` (6 or 7) wrote it: the head without its last byte
/// (format 8's sample weights, `None`), the header's version, length and
/// checksum to match.
fn as_format_7(bytes: &[u8], version: u16) -> Vec<u8> {
    let head_len = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
    assert_eq!(bytes[28 + head_len - 1], 0, "no sample weights");
    let mut out = bytes[..24].to_vec();
    out.extend_from_slice(&(head_len as u32 - 1).to_le_bytes());
    out.extend_from_slice(&bytes[28..28 + head_len - 1]);
    out.extend_from_slice(&bytes[28 + head_len..]);
    out[8..10].copy_from_slice(&version.to_le_bytes());
    let payload_len = (out.len() - model::HEADER_LEN) as u64;
    out[12..20].copy_from_slice(&payload_len.to_le_bytes());
    let crc = crc32fast::hash(&out[model::HEADER_LEN..]);
    out[20..24].copy_from_slice(&crc.to_le_bytes());
    out
}

/// `forest` predicts data/diabetes_test.csv as the build that wrote it did
/// (`recorded`, one prediction a line), to the bit; written again, it is a
/// file of the current format that reads back as the same forest.
fn predicts_as_recorded_and_rewrites(forest: &forest::Forest, recorded: &str) {
    let (x, n) = diabetes_test_rows();
    let got = forest.predict(&x, n).unwrap();
    let text = String::from_utf8(fixture(recorded)).unwrap();
    let expected: Vec<f64> = text.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.to_bits(), e.to_bits());
    }
    let again = model::to_bytes(forest).unwrap();
    assert_eq!(
        u16::from_le_bytes([again[8], again[9]]),
        model::FORMAT_VERSION
    );
    assert_eq!(&model::from_bytes(&again).unwrap(), forest);
}

/// 600 rows: feature 0 drives the target, feature 1 a little, feature 2 is
/// noise and feature 3 constant.
fn data() -> (Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(11);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..600 {
        let r: Vec<f32> = (0..3).map(|_| rng.below(100_000) as f32 / 1000.0).collect();
        y.push(f64::from(r[0]) * 10.0 + f64::from(r[1]) + rng.below(100) as f64 / 100.0);
        x.extend_from_slice(&r);
        x.push(5.0);
    }
    (x, y)
}

fn params(splitter: SplitterKind) -> Params {
    Params {
        n_estimators: 6,
        max_depth: Some(8),
        seed: 5,
        splitter,
        ..Params::default()
    }
}

#[test]
fn importances_rank_the_features_and_sum_to_one() {
    let (x, y) = data();
    let ds = Dataset::new(600, 4, &x, &y).unwrap();
    for splitter in [
        SplitterKind::Exact,
        SplitterKind::Hist,
        SplitterKind::Auto,
        SplitterKind::Level,
        SplitterKind::Sklearn,
    ] {
        let f = forest::train(&ds, &params(splitter), None).unwrap();
        let imp = &f.importances;
        assert_eq!(imp.len(), 4, "{splitter}");
        assert!(
            (imp.iter().sum::<f64>() - 1.0).abs() < 1e-12,
            "{splitter}: {imp:?}"
        );
        assert!(
            imp[0] > 0.9 && imp[0] > imp[1] && imp[1] > imp[2],
            "{splitter}: {imp:?}"
        );
        assert_eq!(imp[3], 0.0, "{splitter}: a constant feature never splits");
    }
}

#[test]
fn a_forest_of_stumps_has_zero_importances() {
    let (x, y) = data();
    let ds = Dataset::new(600, 4, &x, &y).unwrap();
    // No node has the rows to split.
    let p = Params {
        min_samples_split: 1000,
        ..params(SplitterKind::Exact)
    };
    let f = forest::train(&ds, &p, None).unwrap();
    assert_eq!(f.importances, vec![0.0; 4]);
}

#[test]
fn parts_carry_each_trees_decreases_and_are_checked() {
    let (x, y) = data();
    let ds = Dataset::new(600, 4, &x, &y).unwrap();
    let trainer = Trainer::new(&ds, &params(SplitterKind::Hist)).unwrap();
    let whole = forest::train(&ds, &params(SplitterKind::Hist), None).unwrap();
    // Three parts merged: the importances of one training, to the bit.
    let parts: Vec<Vec<u8>> = [(0, 2), (2, 1), (3, 3)]
        .into_iter()
        .map(|(first, count)| {
            let p = Part::grow(&trainer, first, count, None, None, |_| {}).unwrap();
            p.to_bytes().unwrap()
        })
        .collect();
    let merged = model::from_bytes(&merge_bytes(parts).unwrap()).unwrap();
    assert_eq!(merged.importances, whole.importances);
    // A part whose decreases do not match its trees is refused.
    let mut bad = Part::grow(&trainer, 0, 6, None, None, |_| {}).unwrap();
    bad.header.decrease.pop();
    let err = merge_bytes(vec![bad.to_bytes().unwrap()]).unwrap_err();
    assert!(
        err.to_string()
            .contains("holds 23 impurity decreases for 6 trees × 4 features"),
        "{err}"
    );
    let mut bad = Part::grow(&trainer, 0, 6, None, None, |_| {}).unwrap();
    bad.header.decrease[3] = f64::NAN;
    let err = merge_bytes(vec![bad.to_bytes().unwrap()]).unwrap_err();
    assert!(
        err.to_string().contains("an impurity decrease of NaN"),
        "{err}"
    );
}

#[test]
fn importances_that_do_not_fit_the_model_are_refused_on_load() {
    let (x, y) = data();
    let ds = Dataset::new(600, 4, &x, &y).unwrap();
    let good = forest::train(&ds, &params(SplitterKind::Exact), None).unwrap();
    let cases: [(Vec<f64>, &str); 3] = [
        (vec![0.5], "1 feature importances for 4 features"),
        (
            vec![0.5, 0.5, 1.5, 0.0],
            "feature importance 2 is 1.5, outside 0..=1",
        ),
        (vec![0.5, f64::NAN, 0.5, 0.0], "feature importance 1 is NaN"),
    ];
    for (importances, message) in cases {
        let bad = forest::Forest {
            importances,
            ..good.clone()
        };
        let bytes = model::to_bytes(&bad).unwrap();
        match model::from_bytes(&bytes) {
            Err(ForestError::InvalidModel(m)) => assert!(m.contains(message), "{m}"),
            other => panic!("expected an invalid model, got {other:?}"),
        }
    }
}
