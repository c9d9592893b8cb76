//! Out-of-bag estimates through the sandbox: `train --oob-score` and
//! `--oob-out`, the `model.out-of-bag` call spread over instances, and a
//! component that answers it with the wrong lengths.
//! (Agreement with scikit-learn: python-package/tests/test_oob.py.)

use std::path::Path;

use wasm_forest::parallel::Predictor;
use wasm_forest::runtime::{Job, Limits, ModelHandle, Runtime};

#[path = "support/cli.rs"]
mod support;
use support::{p, repo, run};

/// The diabetes training rows, row-major, and their targets.
fn diabetes() -> (Vec<f32>, Vec<f64>) {
    let text = std::fs::read_to_string(repo().join("data/diabetes_train.csv")).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        x.extend(v[..10].iter().map(|&f| f as f32));
        y.push(v[10]);
    }
    (x, y)
}

fn train(model: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--train",
        "data/diabetes_train.csv",
        "--out",
        p(model),
        "--n-estimators",
        "40",
    ];
    args.extend_from_slice(extra);
    run(&args, &[])
}

fn stdout_of(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn oob_score_and_oob_out_are_the_models_own_and_the_same_for_any_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = diabetes();
    let mut seen = Vec::new();
    for workers in ["1", "2", "3"] {
        let model = dir.path().join(format!("m{workers}.bin"));
        let csv = dir.path().join(format!("oob{workers}.csv"));
        let out = train(&model, &["--workers", workers, "--oob-out", p(&csv)]);
        let text = stdout_of(&out);
        let line = text
            .lines()
            .find(|l| l.starts_with("Out-of-bag R² (scikit-learn's oob_score_): "))
            .unwrap_or_else(|| panic!("no OOB line in\n{text}"))
            .to_string();
        // The figures, computed natively from the saved model.
        let forest = forest::model::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
        let oob = forest.out_of_bag(&x, (0, 353), None).unwrap();
        let score = forest::r2_score(&y, &oob.predictions);
        assert!(
            line.contains(&format!(": {score:.4};")),
            "{line} vs {score}"
        );
        // Score and trees per row, without the time it took.
        let line: String = line.split(';').take(2).collect();
        assert!((0.3..0.6).contains(&score), "{score}");
        let written = std::fs::read_to_string(&csv).unwrap();
        let mut lines = written.lines();
        assert_eq!(lines.next(), Some("row,target,oob_prediction,oob_trees"));
        for (r, l) in lines.enumerate() {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells[0], r.to_string());
            assert_eq!(cells[1].parse::<f64>().unwrap(), y[r]);
            assert_eq!(cells[2].parse::<f64>().unwrap(), oob.predictions[r]);
            assert_eq!(cells[3], oob.n_trees[r].to_string());
        }
        assert_eq!(written.lines().count(), 354);
        seen.push((line, written));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn rows_spread_over_instances_give_the_native_figures() {
    // 353 rows over 3 instances: three blocks of rows, each its own call.
    let (x, _) = diabetes();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    stdout_of(&train(&model, &["--splitter", "sklearn"]));
    let bytes = std::fs::read(&model).unwrap();
    let forest = forest::model::from_bytes(&bytes).unwrap();
    let native = forest.out_of_bag(&x, (0, 353), None).unwrap();
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let need = wasm_forest::jobs::inference_bytes(bytes.len(), x.len());
    let mut predictor = Predictor::new(&rt, &bytes, 3, need).unwrap();
    let sandboxed = predictor.out_of_bag(&x, 353, None).unwrap();
    assert_eq!(sandboxed.n_trees, native.n_trees);
    let bits = |v: &[f64]| v.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&sandboxed.predictions), bits(&native.predictions));
    // A row the model never saw is the component's `invalid-data`.
    let e = predictor
        .out_of_bag(&[x.clone(), x].concat(), 706, None)
        .unwrap_err();
    assert!(format!("{e:#}").contains("trained on 353 rows"), "{e:#}");
}

#[test]
fn weighted_draws_are_drawn_again_in_every_instance() {
    // A weight column: the CLI trains on it (not a feature) and the OOB
    // estimate, spread over 3 instances, hands each the weights again.
    let (x, y) = diabetes();
    let w: Vec<f64> = (0..y.len())
        .map(|i| f64::from((i * 7 % 5) as u32) * 0.75)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("weighted.csv");
    let text = std::fs::read_to_string(repo().join("data/diabetes_train.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{},w\n", lines.next().unwrap());
    for (line, w) in lines.zip(&w) {
        out.push_str(&format!("{line},{w}\n"));
    }
    std::fs::write(&csv, out).unwrap();
    let model = dir.path().join("m.bin");
    let flags = [
        "--target",
        "target",
        "--weight",
        "w",
        "--workers",
        "3",
        "--oob-score",
    ];
    let mut args = vec!["train", "--train", p(&csv), "--out", p(&model)];
    args.extend_from_slice(&flags);
    let text = stdout_of(&run(&args, &[]));
    assert!(
        text.contains("x 10 features (target 'target') weighted by 'w'"),
        "{text}"
    );
    let bytes = std::fs::read(&model).unwrap();
    let forest = forest::model::from_bytes(&bytes).unwrap();
    assert_eq!(forest.n_features, 10);
    let native = forest.out_of_bag(&x, (0, 353), Some(&w)).unwrap();
    let score = forest::r2_score(&y, &native.predictions);
    assert!(
        text.contains(&format!("oob_score_): {score:.4};")),
        "{text} vs {score}"
    );
    // A row of weight 0 is never drawn: out of every tree's bag.
    assert!(
        (0..353)
            .filter(|&i| w[i] == 0.0)
            .all(|i| native.n_trees[i] == 100)
    );
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let need = wasm_forest::jobs::inference_bytes(bytes.len(), x.len());
    let mut predictor = Predictor::new(&rt, &bytes, 3, need).unwrap();
    let sandboxed = predictor.out_of_bag(&x, 353, Some(&w)).unwrap();
    assert_eq!(sandboxed.n_trees, native.n_trees);
    assert_eq!(sandboxed.predictions, native.predictions);
    // Without the weights, or with others: the component's `invalid-data`.
    let e = predictor.out_of_bag(&x, 353, None).unwrap_err();
    assert!(
        format!("{e:#}").contains("trained with sample weights"),
        "{e:#}"
    );
    let other: Vec<f64> = w.iter().map(|v| v + 1.0).collect();
    let e = predictor.out_of_bag(&x, 353, Some(&other)).unwrap_err();
    assert!(format!("{e:#}").contains("differ from the ones"), "{e:#}");
}

#[test]
fn oob_without_bootstrap_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    for flags in [
        &["--bootstrap", "false", "--oob-score"][..],
        &["--bootstrap", "false", "--oob-out", "o.csv"][..],
    ] {
        let out = train(&model, flags);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("{} needs --bootstrap true", flags[2])),
            "{err}"
        );
        assert!(!model.exists());
    }
    let out = train(Path::new("-"), &["--oob-out", "-"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--out and --oob-out cannot both be standard output"),
        "{err}"
    );
    // --oob-out over the training CSV is refused like any output over an input.
    let out = train(&model, &["--oob-out", "data/diabetes_train.csv"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--oob-out"), "{err}");
    assert!(!model.exists());
}

/// An instance of the chaos component (which misbehaves on purpose) with a
/// "model" loaded.
fn chaos_model() -> (Job, ModelHandle) {
    let chaos = Runtime::new(
        Some(Path::new(env!("WASM_FOREST_CHAOS_COMPONENT"))),
        Limits::default(),
    )
    .unwrap();
    let mut job = chaos.instantiate(0).unwrap();
    let model = job.load_model(b"anything").unwrap();
    (job, model)
}

#[test]
fn a_component_answering_with_wrong_lengths_is_refused() {
    let (mut job, model) = chaos_model();
    let e = job.out_of_bag(&model, &[0.0; 4], (0, 4), None).unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.contains("model.out-of-bag") && text.contains("refused"),
        "{text}"
    );
}

#[test]
fn importance_explains_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    stdout_of(&train(&model, &[]));
    let fails = |extra: &[&str], expected: &str| {
        let mut args = vec!["importance", "--model", p(&model)];
        args.extend_from_slice(extra);
        let out = run(&args, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expected),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    };
    // A CSV without the model's target column.
    let no_target = dir.path().join("x.csv");
    let text = std::fs::read_to_string(repo().join("data/diabetes_test.csv")).unwrap();
    let cut: String = text
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    std::fs::write(&no_target, cut).unwrap();
    fails(
        &["--input", p(&no_target)],
        "no target column to score against (the model's, 'target', is not there): give --target COLUMN",
    );
    fails(
        &["--input", "data/diabetes_test.csv", "--repeats", "0"],
        "0 is not in 1..=10000",
    );
    fails(
        &[
            "--input",
            "data/diabetes_test.csv",
            "--json",
            "data/diabetes_test.csv",
        ],
        "--json",
    );
    // Two workers or one, the same figures.
    let json = |workers: &str| {
        let out = dir.path().join(format!("i{workers}.json"));
        let args = [
            "importance",
            "--model",
            p(&model),
            "--input",
            "data/diabetes_test.csv",
            "--json",
            p(&out),
            "--workers",
            workers,
        ];
        stdout_of(&run(&args, &[]));
        std::fs::read_to_string(&out).unwrap()
    };
    let one = json("1");
    assert_eq!(one, json("2"));
    let report: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(report["importances"].as_array().unwrap().len(), 10);
    assert_eq!(report["n_repeats"], 5);
}

#[test]
fn a_component_scoring_the_wrong_columns_is_refused() {
    let (mut job, model) = chaos_model();
    let data = (&[0.0f32; 4][..], &[1.0, 2.0, 3.0, 4.0][..], 4);
    let e = job
        .permutation_importance(&model, data, &[0, 1], (3, 0))
        .unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.contains("model.permutation-importance") && text.contains("refused"),
        "{text}"
    );
}
