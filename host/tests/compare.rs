//! `wasm-forest compare` end to end: table, JSON, plot, synthetic data.

use std::path::Path;
use std::process::Command;

use wasm_forest::report::read_report;

fn run(args: &[&str]) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wasm-forest"))
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn python_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import sklearn"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var("WASM_FOREST_REQUIRE_PYTHON").is_err(),
        "CI requires python3 with scikit-learn"
    );
    ok
}

#[test]
fn compare_reports_every_system_in_table_json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("c.json");
    let svg = dir.path().join("c.svg");
    let model = dir.path().join("m.bin");
    let out = run(&[
        "compare",
        "--repeat",
        "2",
        "--n-estimators",
        "20",
        "--json",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
        "--model-out",
        model.to_str().unwrap(),
    ]);
    let python = python_available();
    let report = read_report(&json).unwrap();
    // Train and predict run in rounds of every system, not system by system.
    let rounds = if python {
        "each round runs wasm, native, sklearn-1, sklearn-all"
    } else {
        "each round runs wasm, native"
    };
    assert!(
        out.contains(&format!(
            "[ROUNDS] Training: a warm-up round, then 2 timed; {rounds}"
        )),
        "{out}"
    );
    let names: Vec<&str> = report.systems.iter().map(|s| s.system.as_str()).collect();
    // wasm-gpu: the GPU import on lavapipe in CI (predictions only).
    let mut expected = vec!["wasm", "native"];
    if python {
        expected.extend(["sklearn-1", "sklearn-all"]);
    }
    for system in &expected {
        assert!(names.contains(system), "{system} missing from {names:?}");
        let line = out
            .lines()
            .find(|l| l.starts_with(system))
            .unwrap_or_else(|| panic!("{system} not in the table:\n{out}"));
        let s = report.systems.iter().find(|s| s.system == *system).unwrap();
        assert!(line.contains(&format!("{:.4}", s.mse)), "{line}");
        assert!(s.mse > 2000.0 && s.mse < 4500.0, "{system}: {}", s.mse);
        assert!(s.train_median_s.unwrap() > 0.0 && s.predict_median_s > 0.0);
        assert!(
            s.peak_memory_bytes.unwrap() > 0,
            "{system} has no memory figure"
        );
        // Two timed iterations of train and predict per system.
        for phase in ["train", "predict"] {
            let n = report
                .rows
                .iter()
                .filter(|r| r.system == *system && r.phase == phase)
                .count();
            assert_eq!(n, 2, "{system} {phase}");
        }
    }
    // The GPU import predicts as the sandbox does (f32 sums), or is skipped
    // with its reason.
    let wasm = report.systems.iter().find(|s| s.system == "wasm").unwrap();
    match report.systems.iter().find(|s| s.system == "wasm-gpu") {
        Some(g) => {
            assert!(
                (g.mse - wasm.mse).abs() <= 1e-4 * wasm.mse,
                "{} vs {}",
                g.mse,
                wasm.mse
            );
            assert!(g.train_median_s.is_none() && g.predict_median_s > 0.0);
            assert!(out.lines().any(|l| l.starts_with("wasm-gpu")), "{out}");
        }
        None => assert!(report.skipped.iter().any(|(s, _)| s == "wasm-gpu")),
    }
    if python {
        let base = report
            .systems
            .iter()
            .find(|s| s.system == "sklearn-1")
            .unwrap();
        assert_eq!(base.train_speedup_vs_sklearn_1, Some(1.0));
        // splitter auto draws its own random numbers: not scikit-learn's model.
        let same = report
            .same_as_sklearn
            .as_ref()
            .expect("the sklearn comparison");
        assert!(!same.identical && same.max_abs_difference > 0.0 && same.rows == 89);
        assert!(
            out.contains("the sandbox's model is not scikit-learn's (max |difference| "),
            "{out}"
        );
        let cuml_listed =
            names.contains(&"cuml") || report.skipped.iter().any(|(s, _)| s == "cuml");
        assert!(cuml_listed, "cuML must be run or skipped with a reason");
    } else {
        assert!(
            out.contains("[PYTHON] Skipped:")
                && out.contains("pip install -r python/requirements.txt"),
            "{out}"
        );
    }
    for phase in [
        "compile (cold)",
        "compile (warm, precompiled)",
        "instantiate",
        "copy-in (lift + validate)",
        "save",
        "load",
    ] {
        assert!(
            report
                .rows
                .iter()
                .any(|r| r.system == "wasm" && r.phase == phase),
            "wasm {phase}"
        );
        assert!(out.contains(phase), "{phase} not printed");
    }
    assert_eq!(report.model_bytes_identical, Some(true));
    assert!(report.wasm_native_train_ratio.unwrap() > 0.0);
    assert!(report.peak_guest_memory_bytes > 512 << 10);
    // Training workers and predictors are each accounted for (a worker
    // holds its data and one piece of trees; the host merges the parts).
    assert!(report.peak_guest_memory_train_worker_bytes > 0);
    assert!(report.peak_guest_memory_train_bytes >= report.peak_guest_memory_train_worker_bytes);
    assert!(report.peak_guest_memory_inference_bytes > 0);
    let memory_line = out
        .lines()
        .find(|l| l.starts_with("wasm peak guest memory: training "))
        .expect("the memory line");
    assert_eq!(memory_line.matches(" MiB").count(), 3, "{memory_line}");
    if let Some(rss) = out
        .lines()
        .find(|l| l.starts_with("host process peak RSS: "))
    {
        assert!(rss.ends_with(" MiB"), "{rss}");
    }
    assert!(
        report
            .rows
            .iter()
            .all(|r| r.dataset == "diabetes" && r.iteration >= 1 && r.seconds > 0.0)
    );
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<svg") && svg_text.contains("diabetes: median time per phase"));
    for system in &expected {
        assert!(
            svg_text.contains(&format!(">{system}<")) || svg_text.contains(system),
            "{system} not in the legend"
        );
    }
}

/// With `--splitter sklearn` the sandbox grows scikit-learn's trees: the
/// report says every test prediction equals scikit-learn's.
#[test]
fn compare_says_splitter_sklearn_is_scikit_learns_model() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("c.json");
    let out = run(&[
        "compare",
        "--repeat",
        "1",
        "--n-estimators",
        "20",
        "--splitter",
        "sklearn",
        "--seed",
        "7",
        "--max-features",
        "sqrt",
        // The leaf limits reach the reference too: else the trees differ.
        "--max-leaf-nodes",
        "30",
        "--min-weight-fraction-leaf",
        "0.01",
        "--min-impurity-decrease",
        "1.0",
        "--no-gpu",
        "--json",
        json.to_str().unwrap(),
        "--model-out",
        dir.path().join("m.bin").to_str().unwrap(),
    ]);
    let report = read_report(&json).unwrap();
    let same = report.same_as_sklearn.expect("the sklearn comparison");
    assert!(
        same.identical && same.max_abs_difference == 0.0 && same.rows == 89,
        "{same:?}"
    );
    assert!(out.contains("the sandbox's model is scikit-learn's: every prediction equal (max |difference| 0.000e0 over 89 test rows)"), "{out}");
}

#[test]
fn compare_on_synthetic_data_writes_the_rows_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("c.json");
    run(&[
        "compare",
        "--synthetic",
        "friedman1:400",
        "--synthetic-dir",
        dir.path().to_str().unwrap(),
        "--no-python",
        "--no-gpu",
        "--repeat",
        "1",
        "--n-estimators",
        "10",
        "--json",
        json.to_str().unwrap(),
    ]);
    let report = read_report(&json).unwrap();
    assert_eq!(report.dataset, "friedman1_400");
    assert_eq!(
        (report.n_train, report.n_test, report.n_features),
        (400, 100, 10)
    );
    assert_eq!(report.train_csv, dir.path().join("friedman1_400_train.csv"));
    let text = std::fs::read_to_string(&report.train_csv).unwrap();
    assert_eq!(text.lines().count(), 401);
    assert_eq!(
        report.skipped,
        vec![
            ("python".to_string(), "--no-python".to_string()),
            ("wasm-gpu".to_string(), "--no-gpu".to_string())
        ]
    );
    let wasm = report.systems.iter().find(|s| s.system == "wasm").unwrap();
    // friedman1 has variance ~24; even 10 trees on 400 rows do far better than the mean.
    assert!(wasm.mse < 12.0, "{}", wasm.mse);
}
