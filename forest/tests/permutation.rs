//! Permutation importance: numpy's shuffles (the generator is tested in
//! `sklearn::random_state`), a column's scores independent of the others
//! asked with it, and what it refuses. (Agreement with scikit-learn's
//! `permutation_importance`: python-package/tests/test_permutation.py.)

use forest::{Dataset, Forest, ForestError, Params, train};

/// 400 rows: feature 0 drives the target, feature 1 a little, feature 2 is
/// constant (no tree can split on it).
fn model_and_data() -> (Forest, Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(9);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..400 {
        let (a, b) = (unit(), unit());
        x.extend([a as f32, b as f32, 1.0]);
        y.push(10.0 * a + b + 0.1 * unit());
    }
    let ds = Dataset::new(300, 3, &x[..900], &y[..300]).unwrap();
    let params = Params {
        n_estimators: 20,
        ..Params::default()
    };
    let forest = train(&ds, &params, None).unwrap();
    (forest, x[900..].to_vec(), y[300..].to_vec())
}

#[test]
fn shuffling_a_feature_costs_what_the_model_owes_it() {
    let (forest, x, y) = model_and_data();
    let all = forest
        .permutation_importance((&x, &y, 100), &[0, 1, 2], 4, 42)
        .unwrap();
    assert!(all.baseline > 0.95, "{}", all.baseline);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (driver, minor) = (mean(&all.importances[0]), mean(&all.importances[1]));
    assert!(driver > 1.0, "{driver}");
    assert!(0.0 < minor && minor < 0.2, "{minor}");
    // The constant feature: every shuffle leaves the rows as they were.
    assert_eq!(all.importances[2], [0.0; 4]);
    // Each column on its own, or in another order: the same bits.
    for (i, c) in [2u32, 0, 1].into_iter().enumerate() {
        let alone = forest
            .permutation_importance((&x, &y, 100), &[c], 4, 42)
            .unwrap();
        assert_eq!(alone.baseline.to_bits(), all.baseline.to_bits());
        assert_eq!(
            alone.importances[0], all.importances[c as usize],
            "column {c} ({i})"
        );
    }
    // Another seed, other shuffles.
    let other = forest
        .permutation_importance((&x, &y, 100), &[0], 4, 7)
        .unwrap();
    assert_ne!(other.importances[0], all.importances[0]);
}

#[test]
fn permutation_importance_refuses_what_it_cannot_score() {
    let (forest, x, y) = model_and_data();
    let params = |e: ForestError, text: &str| {
        assert!(
            matches!(&e, ForestError::InvalidParams(m) if m.contains(text)),
            "{e}"
        );
    };
    let data = |e: ForestError, text: &str| {
        assert!(
            matches!(&e, ForestError::InvalidData(m) if m.contains(text)),
            "{e}"
        );
    };
    let run = |x: &[f32], y: &[f64], n, cols: &[u32], repeats| {
        forest
            .permutation_importance((x, y, n), cols, repeats, 0)
            .unwrap_err()
    };
    params(run(&x, &y, 100, &[0], 0), "n_repeats must be >= 1");
    params(run(&x, &y, 100, &[3], 1), "column 3");
    data(run(&x, &y[..99], 100, &[0], 1), "99 targets for 100 rows");
    data(run(&x[..3], &y[..1], 1, &[0], 1), "at least 2 rows");
    let mut bad = y.clone();
    bad[5] = f64::NAN;
    data(run(&x, &bad, 100, &[0], 1), "row 5");
    data(run(&x[..10], &y, 100, &[0], 1), "features has 10 values");
}
