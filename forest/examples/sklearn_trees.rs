//! Grows scikit-learn's random forest with the `forest::sklearn` port
//! (splitter `sklearn`) and
//! prints, as one JSON object, each tree's node count and the forest's
//! predictions (the mean of the trees) for the test rows.
//!
//! ```text
//! sklearn_trees --train train.csv --test test.csv [--seed 42]
//!     [--n-estimators 100] [--max-depth none|16] [--min-samples-split 2]
//!     [--min-samples-leaf 1] [--max-features all|sqrt|log2|3|0.5]
//!     [--bootstrap true|false] [--max-samples none|100|0.5] [--trees]
//! ```
//!
//! Both CSVs have a header row and the target in the last column (the test
//! targets give `mse`); a missing feature value is `nan`. Also printed: the
//! seconds spent growing, the resolved settings and each tree's seed.
//! `--trees` adds every node: feature, float32 threshold (as its bits),
//! right child (-1 for a leaf), value and where missing values go
//! (`missing_left`, false for a leaf).
use std::fmt::Write as _;
use std::time::Instant;

use forest::sklearn::{TreeSettings, tree_seeds};
use forest::{Dataset, LEAF, MaxSamples, Params, SplitterKind, Trainer};

/// A header row, then comma-separated numbers with the target last (`nan`,
/// which Rust reads as NaN, for a missing feature).
fn read_csv(path: &str) -> (usize, Vec<f32>, Vec<f64>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let n_features = lines.next().expect("a header row").split(',').count() - 1;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (i, line) in lines.filter(|l| !l.trim().is_empty()).enumerate() {
        let v: Vec<f64> = line
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{path}: row {i}: '{s}' is not a number"))
            })
            .collect();
        assert_eq!(
            v.len(),
            n_features + 1,
            "{path}: row {i} has {} values",
            v.len()
        );
        x.extend(v[..n_features].iter().map(|&a| a as f32));
        y.push(v[n_features]);
    }
    (n_features, x, y)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut train, mut test, mut seed, mut dump) = (None, None, 0u32, false);
    let mut weights_file = None;
    let mut params = Params::default();
    while let Some(flag) = args.next() {
        if flag == "--trees" {
            dump = true;
            continue;
        }
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        let bad = |e: &dyn std::fmt::Display| -> ! { panic!("{flag} {value}: {e}") };
        match flag.as_str() {
            "--train" => train = Some(value),
            "--test" => test = Some(value),
            "--sample-weight" => weights_file = Some(value),
            "--seed" => seed = value.parse().unwrap_or_else(|e| bad(&e)),
            "--n-estimators" => params.n_estimators = value.parse().unwrap_or_else(|e| bad(&e)),
            "--max-depth" => {
                params.max_depth = match value.as_str() {
                    "none" | "None" => None,
                    v => Some(v.parse().unwrap_or_else(|e| bad(&e))),
                }
            }
            "--min-samples-split" => {
                params.min_samples_split = value.parse().unwrap_or_else(|e| bad(&e))
            }
            "--min-samples-leaf" => {
                params.min_samples_leaf = value.parse().unwrap_or_else(|e| bad(&e))
            }
            "--max-features" => params.max_features = value.parse().unwrap_or_else(|e| bad(&e)),
            "--bootstrap" => params.bootstrap = value.parse().unwrap_or_else(|e| bad(&e)),
            "--max-samples" => {
                params.max_samples = match value.as_str() {
                    "none" | "None" => None,
                    v => Some(v.parse::<MaxSamples>().unwrap_or_else(|e| bad(&e))),
                }
            }
            "--min-weight-fraction-leaf" => {
                params.min_weight_fraction_leaf = value.parse().unwrap_or_else(|e| bad(&e))
            }
            "--min-impurity-decrease" => {
                params.min_impurity_decrease = value.parse().unwrap_or_else(|e| bad(&e))
            }
            "--max-leaf-nodes" => {
                params.max_leaf_nodes = match value.as_str() {
                    "none" | "None" => None,
                    v => Some(v.parse().unwrap_or_else(|e| bad(&e))),
                }
            }
            _ => panic!("unknown flag {flag}"),
        }
    }
    let (n_features, x, y) = read_csv(&train.expect("--train"));
    let (test_features, tx, ty) = read_csv(&test.expect("--test"));
    assert_eq!(test_features, n_features, "train and test columns differ");
    // One weight per line, as `fit(sample_weight=...)` gets them.
    let weights: Option<Vec<f64>> = weights_file.map(|path| {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        text.lines().map(|l| l.trim().parse().unwrap()).collect()
    });
    let mut data = Dataset::new(y.len(), n_features, &x, &y).unwrap();
    if let Some(w) = &weights {
        data = data.with_sample_weight(w).unwrap();
    }
    let settings =
        TreeSettings::weighted(&params, data.n_rows, n_features, weights.as_deref()).unwrap();
    let seeds = tree_seeds(seed, params.n_estimators);
    let params = Params {
        splitter: SplitterKind::Sklearn,
        seed: seed.into(),
        ..params
    };

    let started = Instant::now();
    let trainer = Trainer::new(&data, &params).unwrap();
    let trees = trainer.build_trees(0..params.n_estimators);
    let seconds = started.elapsed().as_secs_f64();
    // The crate's prediction sums the trees in order, then divides: as
    // scikit-learn does.
    let forest = trainer.assemble(&trees, None);
    let predictions = forest.predict(&tx, ty.len()).unwrap();
    let mse = predictions
        .iter()
        .zip(&ty)
        .map(|(p, t)| (p - t) * (p - t))
        .sum::<f64>()
        / ty.len() as f64;

    let list = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(",");
    let mut out = String::new();
    write!(
        out,
        "{{\"seconds\":{seconds},\"settings\":\"{settings:?}\",\"tree_seeds\":[{}],\"node_counts\":[{}],\"predictions\":[{}],\"importances\":[{}],\"mse\":{mse:?}",
        list(&mut seeds.iter().map(u32::to_string)),
        list(&mut trees.iter().map(|t| t.nodes.len().to_string())),
        list(&mut predictions.iter().map(|p| format!("{p:?}"))),
        list(&mut forest.importances.iter().map(|v| format!("{v:?}"))),
    )
    .unwrap();
    if dump {
        out.push_str(",\"trees\":[");
        for (i, t) in trees.iter().enumerate() {
            let right = |r: &u32| if *r == LEAF { -1 } else { i64::from(*r) };
            write!(
                out,
                "{}{{\"feature\":[{}],\"threshold_bits\":[{}],\"right\":[{}],\"value\":[{}],\"missing_left\":[{}]}}",
                if i == 0 { "" } else { "," },
                list(&mut t.nodes.feature.iter().map(u32::to_string)),
                list(&mut t.nodes.threshold.iter().map(|v| v.to_bits().to_string())),
                list(&mut t.nodes.right.iter().map(|r| right(r).to_string())),
                list(&mut t.nodes.value.iter().map(|v| format!("{v:?}"))),
                list(&mut t.nodes.missing_left.iter().map(bool::to_string)),
            )
            .unwrap();
        }
        out.push(']');
    }
    out.push('}');
    println!("{out}");
}
