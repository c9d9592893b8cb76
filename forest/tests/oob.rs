//! Out-of-bag estimates: drawn again from the model, they must name exactly
//! the rows each tree's bootstrap left out, for every splitter, and give
//! the same figures however the rows are split among calls.
//! (Agreement with scikit-learn's `oob_score_` is tested in python/test_oob.py.)

use forest::{Dataset, ForestError, MaxSamples, Params, SplitterKind, r2_score, train};

const SPLITTERS: [SplitterKind; 5] = [
    SplitterKind::Exact,
    SplitterKind::Hist,
    SplitterKind::Auto,
    SplitterKind::Level,
    SplitterKind::Sklearn,
];

#[test]
fn each_trees_sample_is_drawn_again_exactly() {
    // Row r's target is 8^r and a tree is its root alone (min_samples_split
    // beyond the rows): its value is the mean of its 4 draws' targets, whose
    // sum spells, digit by base-8 digit, how often the tree drew each row.
    let n = 12;
    let x: Vec<f32> = (0..n).map(|r| r as f32).collect();
    let y: Vec<f64> = (0..n).map(|r| 8f64.powi(r)).collect();
    let data = Dataset::new(n as usize, 1, &x, &y).unwrap();
    for splitter in SPLITTERS {
        let params = Params {
            n_estimators: 100,
            max_samples: Some(MaxSamples::Count(4)),
            min_samples_split: 1000,
            seed: 7,
            splitter,
            ..Params::default()
        };
        let forest = train(&data, &params, None).unwrap();
        let mut sums = vec![0f64; n as usize];
        let mut counts = vec![0u32; n as usize];
        for t in 0..forest.n_trees() {
            let value = forest.nodes.value[forest.roots[t] as usize];
            let mut drawn = (value * 4.0).round() as u64;
            for r in 0..n as usize {
                if drawn.is_multiple_of(8) {
                    sums[r] += value;
                    counts[r] += 1;
                }
                drawn /= 8;
            }
            assert_eq!(
                drawn, 0,
                "{splitter}: tree {t}'s value {value} is not 4 draws"
            );
        }
        let oob = forest.out_of_bag(&x, (0, n as u32), None).unwrap();
        assert_eq!(oob.n_trees, counts, "{splitter}");
        // Each tree left out 8 or more of the 12 rows.
        assert!(counts.iter().sum::<u32>() >= 800, "{splitter}: {counts:?}");
        for r in 0..n as usize {
            let expected = sums[r] / f64::from(counts[r]);
            assert_eq!(
                oob.predictions[r].to_bits(),
                expected.to_bits(),
                "{splitter} row {r}"
            );
        }
    }
}

/// 300 rows of 3 features: y = 10·x0 + 3·x1² + noise.
fn data() -> (Vec<f32>, Vec<f64>) {
    let mut rng = forest::rng::Rng::new(5);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let row = [unit(), unit(), unit()];
        x.extend(row.iter().map(|&v| v as f32));
        y.push(10.0 * row[0] + 3.0 * row[1] * row[1] + unit() - 0.5);
    }
    (x, y)
}

#[test]
fn rows_split_among_calls_give_the_same_figures() {
    let (x, y) = data();
    let ds = Dataset::new(300, 3, &x, &y).unwrap();
    for splitter in SPLITTERS {
        let params = Params {
            n_estimators: 30,
            seed: 3,
            splitter,
            ..Params::default()
        };
        let forest = train(&ds, &params, None).unwrap();
        let whole = forest.out_of_bag(&x, (0, 300), None).unwrap();
        let mut pieces = (Vec::new(), Vec::new());
        for (first, end) in [(0, 100), (100, 101), (101, 300)] {
            let rows = &x[first * 3..end * 3];
            let piece = forest
                .out_of_bag(rows, (first as u32, (end - first) as u32), None)
                .unwrap();
            pieces.0.extend(piece.predictions);
            pieces.1.extend(piece.n_trees);
        }
        let bits = |v: &[f64]| v.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&whole.predictions), bits(&pieces.0), "{splitter}");
        assert_eq!(whole.n_trees, pieces.1, "{splitter}");
        // 30 trees leave every row out of about 11 of them.
        assert!(whole.n_trees.iter().all(|&k| k > 0), "{splitter}");
        let score = r2_score(&y, &whole.predictions);
        assert!((0.8..0.99).contains(&score), "{splitter}: OOB R² {score}");
    }
}

#[test]
fn out_of_bag_refuses_what_it_cannot_answer() {
    let (x, y) = data();
    let ds = Dataset::new(300, 3, &x, &y).unwrap();
    let params = Params {
        n_estimators: 3,
        ..Params::default()
    };
    let forest = train(&ds, &params, None).unwrap();
    let e = forest.out_of_bag(&x[..30], (295, 10), None).unwrap_err();
    assert!(
        matches!(&e, ForestError::InvalidData(m) if m.contains("295..305") && m.contains("300 rows")),
        "{e}"
    );
    let e = forest.out_of_bag(&x[..29], (0, 10), None).unwrap_err();
    assert!(matches!(e, ForestError::InvalidData(_)), "{e}");
    let no_bootstrap = Params {
        bootstrap: false,
        ..params
    };
    let forest = train(&ds, &no_bootstrap, None).unwrap();
    let e = forest.out_of_bag(&x, (0, 300), None).unwrap_err();
    assert!(
        matches!(&e, ForestError::InvalidParams(m) if m.contains("bootstrap=true")),
        "{e}"
    );
}

#[test]
fn r2_score_as_scikit_learn() {
    // sklearn.metrics.r2_score's own example, and its force_finite cases.
    let score = r2_score(&[3.0, -0.5, 2.0, 7.0], &[2.5, 0.0, 2.0, 8.0]);
    assert!((score - 0.948_608_137_044_967_9).abs() < 1e-15, "{score}");
    assert_eq!(r2_score(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
    assert_eq!(r2_score(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
}
