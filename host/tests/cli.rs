//! The `wasm-forest` binary end to end: everything here runs in the sandbox.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

#[path = "support/cli.rs"]
mod support;
use support::{p, repo};

fn wasm_forest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasm-forest"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> (String, String) {
    let out = wasm_forest(args);
    let (o, e) = text(&out);
    assert!(
        out.status.success(),
        "wasm-forest {args:?} failed\nstdout:\n{o}\nstderr:\n{e}"
    );
    (o, e)
}

/// Runs wasm-forest expecting exit status `code` without a panic; its stderr.
fn exits_with(code: i32, args: &[&str]) -> String {
    let out = wasm_forest(args);
    let (o, e) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "wasm-forest {args:?} should exit with {code}\nstdout:\n{o}\nstderr:\n{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn fails(args: &[&str]) -> String {
    exits_with(1, args)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `train` on diabetes into `model` with `extra` flags; its stdout.
fn train_diabetes(model: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "train",
        "--train",
        "data/diabetes_train.csv",
        "--out",
        p(model),
    ];
    args.extend_from_slice(extra);
    ok(&args).0
}

/// `predict` arguments: `model` on the diabetes test set, on `device`.
fn predict_diabetes<'a>(model: &'a Path, device: &'a str) -> [&'a str; 7] {
    let input = "data/diabetes_test.csv";
    [
        "predict",
        "--model",
        p(model),
        "--input",
        input,
        "--device",
        device,
    ]
}

/// A forest of `trees` trees trained on diabetes, saved as `m.bin` in `dir`.
fn diabetes_model(dir: &tempfile::TempDir, trees: u32) -> PathBuf {
    let model = dir.path().join("m.bin");
    train_diabetes(&model, &["--n-estimators", &trees.to_string()]);
    model
}

#[test]
fn shipped_diabetes_split_is_pinned() {
    for (name, lines, sha) in [
        (
            "diabetes_train.csv",
            354,
            "96fc97ead02da85177e750ff99d2f5df9d62b4901b01139a38c009b4f0aef8e6",
        ),
        (
            "diabetes_test.csv",
            90,
            "818f71925963599976c4d053d65cb14a77f344fa9142b19dfca86d1154b5645b",
        ),
    ] {
        let bytes = std::fs::read(repo().join("data").join(name)).unwrap();
        assert_eq!(
            bytes.iter().filter(|&&b| b == b'\n').count(),
            lines,
            "{name}: header + rows"
        );
        assert_eq!(
            format!("{:x}", Sha256::digest(&bytes)),
            sha,
            "{name} differs from python/export_diabetes.py's output"
        );
        assert!(bytes.starts_with(b"age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,target\n"));
    }
}

#[test]
fn bench_on_diabetes_matches_scikit_learn_and_native() {
    let dir = tmp();
    let model = dir.path().join("model.bin");
    let json = dir.path().join("bench.json");
    let (out, _) = ok(&[
        "bench",
        "--repeat",
        "1",
        "--model-out",
        p(&model),
        "--json",
        p(&json),
    ]);
    for line in [
        "=== TRAINING PHASE ===",
        "[TRAINING] Creating RandomForest with 200 estimators, max_depth 16",
        "[TRAINING] Training in the wasm sandbox (",
        "[TRAINING] Completed in ",
        "model bytes identical",
        "[TRAINING] Model saved to: ",
        "=== INFERENCE PHASE ===",
        "[INFERENCE] Samples: 89",
        "[INFERENCE] Mean Squared Error: ",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mse = report["mse"].as_f64().unwrap();
    // scikit-learn 1.9.1, same split and hyperparameters: 2967–3043 over seeds 0–4, 2976 for seed 42.
    assert!((2850.0..=3150.0).contains(&mse), "MSE {mse}");
    assert_eq!(report["model_bytes_identical_to_native"], true);
    assert_eq!(
        (report["n_train"].as_u64(), report["n_test"].as_u64()),
        (Some(353), Some(89))
    );
    assert_eq!(report["n_trees"], 200);
    assert!(report["max_depth_reached"].as_u64().unwrap() <= 16);
    assert_eq!(
        std::fs::metadata(&model).unwrap().len(),
        report["model_bytes"].as_u64().unwrap()
    );
}

#[test]
fn sandbox_and_native_models_are_byte_identical_for_other_params_too() {
    let dir = tmp();
    let json = dir.path().join("bench.json");
    let model = dir.path().join("m.bin");
    ok(&[
        "bench",
        "--repeat",
        "1",
        "--n-estimators",
        "30",
        "--max-depth",
        "none",
        "--max-features",
        "sqrt",
        "--max-samples",
        "0.5",
        "--min-samples-leaf",
        "3",
        "--min-samples-split",
        "7",
        "--seed",
        "9",
        "--model-out",
        p(&model),
        "--json",
        p(&json),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["model_bytes_identical_to_native"], true);
    assert_eq!(report["params"]["max_features"], "Sqrt");
}

#[test]
fn train_predict_info_round_trip() {
    let dir = tmp();
    let model = dir.path().join("m.bin");
    let preds = dir.path().join("p.csv");
    let out = train_diabetes(&model, &["--n-estimators", "50", "--seed", "3"]);
    assert!(
        out.contains("Trained 50 trees on 353 rows x 10 features"),
        "{out}"
    );
    assert!(
        out.contains("Peak guest memory: ") && out.contains(" MiB per worker instance"),
        "{out}"
    );
    let (_, err) = ok(&[
        "predict",
        "--model",
        p(&model),
        "--input",
        "data/diabetes_test.csv",
        "--out",
        p(&preds),
    ]);
    let mse: f64 = err
        .lines()
        .find_map(|l| l.strip_prefix("Mean Squared Error (vs 'target'): "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((2500.0..3600.0).contains(&mse), "{mse}");
    let csv = std::fs::read_to_string(&preds).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "prediction");
    assert_eq!(lines.len(), 90);
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.parse::<f64>().is_ok_and(|v| (25.0..=346.0).contains(&v)))
    );
    // Predictions go to stdout without --out.
    let (stdout, _) = ok(&[
        "predict",
        "--model",
        p(&model),
        "--input",
        "data/diabetes_test.csv",
    ]);
    assert_eq!(stdout, csv);
    let (info, _) = ok(&["info", p(&model)]);
    assert!(info.contains("Trees: 50"), "{info}");
    assert!(
        info.contains("Feature names: age, sex, bmi, bp, s1, s2, s3, s4, s5, s6"),
        "{info}"
    );
    assert!(info.contains("seed=3"), "{info}");
    // Importances: every feature, ranked, largest first, summing to 1.
    let ranked: Vec<f64> = info
        .lines()
        .skip_while(|l| !l.starts_with("Feature importances (impurity-based"))
        .skip(1)
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ranked.len(), 10, "{info}");
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{info}");
    assert!((ranked.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{info}");
    let (json, _) = ok(&["info", "--json", p(&model)]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let listed = json["feature_importances"].as_array().unwrap();
    assert_eq!(listed[2]["feature"], "bmi");
    assert_eq!(json["n_trees"], 50);
    // A model file of format 4 (written before importances were stored)
    // still loads and says why it has none.
    let old = repo().join("forest/tests/data/diabetes_v4.bin");
    let (info, _) = ok(&["info", p(&old)]);
    assert!(info.contains("Trees: 5"), "{info}");
    assert!(
        info.contains("Feature importances: not stored (a model file of format 4"),
        "{info}"
    );
}

#[test]
fn invalid_params_come_back_as_errors() {
    let dir = tmp();
    let model = dir.path().join("m.bin");
    let train = [
        "train",
        "--train",
        "data/diabetes_train.csv",
        "--out",
        p(&model),
    ];
    for (flag, value, message) in [
        (
            "--max-depth",
            "0",
            "invalid parameters: max_depth must be >= 1",
        ),
        (
            "--min-samples-split",
            "1",
            "invalid parameters: min_samples_split must be >= 2",
        ),
        (
            "--min-samples-leaf",
            "0",
            "invalid parameters: min_samples_leaf must be >= 1",
        ),
        (
            "--n-estimators",
            "0",
            "invalid parameters: n_estimators must be >= 1",
        ),
        (
            "--max-features",
            "11",
            "invalid parameters: max_features must be in [1, n_features=10]",
        ),
        (
            "--max-features",
            "1.5",
            "invalid parameters: max_features must be in (0.0, 1.0]",
        ),
        (
            "--max-samples",
            "1e300",
            "invalid parameters: max_samples gives 18446744073709551615 bootstrap draws per tree",
        ),
    ] {
        let mut args = train.to_vec();
        args.extend([flag, value]);
        let err = fails(&args);
        assert!(err.contains(message), "{flag} {value}: {err}");
        assert!(!model.exists(), "no model may be written after an error");
    }
    let err = fails(&[
        "train",
        "--train",
        "data/diabetes_train.csv",
        "--out",
        p(&model),
        "--bootstrap",
        "false",
        "--max-samples",
        "10",
    ]);
    assert!(
        err.contains("max_samples cannot be set if bootstrap=false"),
        "{err}"
    );
}

#[test]
fn an_unknown_target_column_is_named() {
    let dir = tmp();
    let csv = dir.path().join("bad.csv");
    let model = dir.path().join("m.bin");
    std::fs::write(&csv, "a,b,target\n1,2,3\n4,5,6\n").unwrap();
    let err = fails(&[
        "train",
        "--train",
        p(&csv),
        "--out",
        p(&model),
        "--target",
        "nope",
    ]);
    assert!(err.contains("no column named 'nope'"), "{err}");
}

#[test]
fn damaged_model_is_refused_by_the_component() {
    let dir = tmp();
    let model = diabetes_model(&dir, 3);
    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&model, &bytes).unwrap();
    let err = fails(&[
        "predict",
        "--model",
        p(&model),
        "--input",
        "data/diabetes_test.csv",
    ]);
    assert!(err.contains("invalid model: checksum mismatch"), "{err}");
    std::fs::write(&model, b"hello").unwrap();
    let err = fails(&["info", p(&model)]);
    assert!(
        err.contains("invalid model") && err.contains("too short"),
        "{err}"
    );
}

#[test]
fn missing_default_data_explains_itself() {
    let out = Command::new(env!("CARGO_BIN_EXE_wasm-forest"))
        .arg("bench")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("data/diabetes_train.csv") && err.contains("repository root"),
        "{err}"
    );
}

#[test]
fn sandbox_limits_give_clear_errors() {
    let dir = tmp();
    let model = dir.path().join("m.bin");
    let train = [
        "train",
        "--train",
        "data/diabetes_train.csv",
        "--out",
        p(&model),
    ];
    // The component starts in less than 1 MiB (the "just to start" error is
    // tested with a smaller limit in sandbox.rs); training needs more: 1.8
    // MiB a worker for 100 trees on 2 workers, more for 400 trees on one.
    for (mib, more) in [
        ("1", &[][..]),
        ("2", &["--n-estimators", "400", "--workers", "1"][..]),
    ] {
        let mut args = vec!["--max-memory", mib];
        args.extend(train);
        args.extend(more);
        let err = fails(&args);
        assert!(
            err.contains(&format!(
                "the component exceeded the {mib} MiB memory limit"
            )),
            "{err}"
        );
    }
    assert!(!model.exists());
    // Loading a 5000-tree model (43 MB) into the sandbox takes far more
    // than 1 ms: the deadline ends the run.
    train_diabetes(&model, &["--n-estimators", "5000", "--max-depth", "16"]);
    let err = times_out(&["--timeout", "0.001", "info", p(&model)]);
    assert!(
        err.starts_with(
            "error: model.from-bytes: the component ran out of time after 1ms (see --timeout)"
        ),
        "{err}"
    );
}

/// Runs wasm-forest expecting the watchdog to end it (status 124); its stderr.
fn times_out(args: &[&str]) -> String {
    exits_with(124, args)
}

#[test]
fn a_component_that_never_returns_is_stopped_by_the_deadline() {
    // The chaos component loops forever in `train` (seed 1) on every
    // worker; the guest code has no interruption checks, the watchdog ends
    // the process instead, and no model file appears.
    let dir = tmp();
    let csv = dir.path().join("tiny.csv");
    std::fs::write(&csv, "a,y\n1,1\n2,1\n3,2\n4,2\n").unwrap();
    let model = dir.path().join("m.bin");
    let t = std::time::Instant::now();
    let err = times_out(&[
        "--component",
        env!("WASM_FOREST_CHAOS_COMPONENT"),
        "--timeout",
        "0.3",
        "train",
        "--train",
        p(&csv),
        "--out",
        p(&model),
        // The chaos component's choice of misbehaviour: it loops forever.
        "--seed",
        "1",
    ]);
    assert!(
        err.contains(
            "error: trainer.grow: the component ran out of time after 300ms (see --timeout)"
        ),
        "{err}"
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(30));
    assert!(!model.exists());
}

#[test]
fn another_component_file_can_be_used_and_a_bad_one_is_refused() {
    let dir = tmp();
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"not wasm").unwrap();
    // The component is compiled before the model file is read.
    let err = fails(&["--component", p(&bogus), "info", "data/diabetes_train.csv"]);
    assert!(
        err.contains("compiling component") && err.contains("bogus.wasm"),
        "{err}"
    );
    let err = fails(&[
        "--component",
        p(&dir.path().join("missing.wasm")),
        "info",
        "data/diabetes_train.csv",
    ]);
    assert!(
        err.contains("--component") && err.contains("missing.wasm: no such file"),
        "{err}"
    );
    // The component file build.rs produced, loaded from disk instead of the embedded copy.
    let component = env!("WASM_FOREST_COMPONENT");
    let model = dir.path().join("m.bin");
    let (out, _) = ok(&[
        "--component",
        component,
        "bench",
        "--repeat",
        "1",
        "--n-estimators",
        "10",
        "--model-out",
        p(&model),
    ]);
    assert!(
        out.contains(&format!("[SETUP] Component: {component}")),
        "{out}"
    );
    assert!(out.contains("model bytes identical"), "{out}");
}

/// A small valid model, as the forest crate writes it.
fn small_forest() -> forest::Forest {
    let x: Vec<f32> = (0..40).map(|i| i as f32).collect();
    let y: Vec<f64> = (0..40).map(|i| f64::from(i % 7)).collect();
    let data = forest::Dataset::new(40, 1, &x, &y).unwrap();
    let params = forest::Params {
        n_estimators: 2,
        ..forest::Params::default()
    };
    forest::train(&data, &params, None).unwrap()
}

#[test]
fn every_kind_of_bad_model_file_has_its_own_message() {
    let dir = tmp();
    let path = dir.path().join("m.bin");
    let good = forest::model::to_bytes(&small_forest()).unwrap();
    let internal = {
        let f = small_forest();
        (0..f.nodes.len())
            .find(|&i| f.nodes.left[i] != forest::LEAF)
            .unwrap()
    };
    let restructured = |change: &dyn Fn(&mut forest::Forest)| {
        let mut f = small_forest();
        change(&mut f);
        forest::model::to_bytes(&f).unwrap()
    };
    let mut flipped = good.clone();
    let at = flipped.len() - 3;
    flipped[at] ^= 0x01;
    let mut magic = good.clone();
    magic[..8].copy_from_slice(b"PK\x03\x04zip!");
    let mut future = good.clone();
    future[8] = 9;
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"extra");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() - 10].to_vec(),
            "truncated: the header announces",
        ),
        ("bit-flipped", flipped, "checksum mismatch"),
        (
            "wrong magic",
            magic,
            "not a wasm-forest model file (wrong magic bytes)",
        ),
        (
            "future version",
            future,
            "model format version 9 was written by a newer wasm-forest",
        ),
        ("trailing bytes", trailing, "5 trailing bytes after the"),
        (
            "backward child",
            restructured(&|f| f.nodes.right[internal] = 0),
            "children must follow their parent",
        ),
        (
            "right child is the left one (the next node)",
            restructured(&|f| f.nodes.right[internal] = internal as u32 + 1),
            "the left child must be node",
        ),
        (
            "child out of range",
            restructured(&|f| f.nodes.right[internal] = 99_999),
            "child id 99999 outside",
        ),
        (
            "NaN threshold",
            restructured(&|f| f.nodes.threshold[internal] = f32::NAN),
            "threshold NaN is neither finite nor +inf",
        ),
        (
            "-inf threshold",
            restructured(&|f| f.nodes.threshold[internal] = f32::NEG_INFINITY),
            "threshold -inf is neither finite nor +inf",
        ),
        (
            "empty file",
            Vec::new(),
            "0 bytes is too short for a model file",
        ),
    ];
    for (name, bytes, message) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let err = fails(&["info", p(&path)]);
        assert!(
            err.contains(p(&path)) && err.contains("invalid model: ") && err.contains(message),
            "{name}: {err}"
        );
        eprintln!("{name}: {}", err.trim());
    }
}

#[test]
fn predict_input_must_have_the_models_features() {
    let dir = tmp();
    let model = diabetes_model(&dir, 2);
    let csv = dir.path().join("few.csv");
    std::fs::write(&csv, "age,sex,bmi\n0.1,0.2,0.3\n").unwrap();
    let err = fails(&["predict", "--model", p(&model), "--input", p(&csv)]);
    assert!(
        err.contains("the model needs feature column 'bp', which the file lacks"),
        "{err}"
    );
}

#[test]
fn bad_sample_weights_name_file_line_and_column() {
    let dir = tmp();
    let csv = dir.path().join("w.csv");
    let model = dir.path().join("m.bin");
    let cases: Vec<(&str, &[&str], &str)> = vec![
        (
            "a,w,target\n1,2,3\n4,,6\n",
            &["--weight", "w"],
            "line 3, column 'w' (2): the sample weight is missing",
        ),
        (
            "a,w,target\n1,-2,3\n4,1,6\n",
            &["--weight", "w"],
            "line 2, column 'w' (2): sample weight -2.0; weights must be 0 or positive",
        ),
        (
            "a,w,target\n1,0,3\n4,0,6\n",
            &["--weight", "w"],
            "every sample weight is 0",
        ),
        (
            "a,w,target\n1,1,3\n4,1,6\n",
            &["--weight", "v"],
            "no column named 'v' (columns: a, w, target)",
        ),
        (
            "a,w,target\n1,1,3\n4,1,6\n",
            &["--weight", "target"],
            "column 'target' cannot be both the target and the sample weights",
        ),
        (
            "w,target\n1,3\n1,6\n",
            &["--weight", "w"],
            "only the target and the weight columns",
        ),
        (
            "a,w,target\n1,1,3\n4,1,6\n",
            &[
                "--weight",
                "w",
                "--splitter",
                "level",
                "--bootstrap",
                "false",
            ],
            "splitter level (and so GPU training) takes sample weights only with bootstrap=true",
        ),
    ];
    for (content, flags, message) in cases {
        std::fs::write(&csv, content).unwrap();
        let mut args = vec!["train", "--train", p(&csv), "--out", p(&model)];
        args.extend_from_slice(flags);
        let err = fails(&args);
        assert!(err.contains(message), "{content:?} {flags:?}: {err}");
        eprintln!("{}", err.trim());
    }
    assert!(!model.exists());
}

#[test]
fn every_kind_of_bad_csv_names_file_line_and_column() {
    let dir = tmp();
    let csv = dir.path().join("bad.csv");
    let model = dir.path().join("m.bin");
    let long = "1".repeat(300);
    let cases: Vec<(String, &str)> = vec![
        (
            "a,b,target\n1,2,3\n4,x,6\n".into(),
            "line 3, column 'b' (2): cannot parse 'x' as a number",
        ),
        (
            "a,b,target\n1,2,3\n4,5\n".into(),
            "line 3: 2 fields, but the header has 3",
        ),
        (
            "a,b,target\n1,2,3\n4,-inf,6\n".into(),
            "line 3, column 'b' (2): '-inf' is not a finite number (a missing value is an empty cell or NaN)",
        ),
        (
            "a,b,target\n1,,3\n4,5,NA\n".into(),
            "line 3, column 'target' (3): the target is missing (only features may have missing values)",
        ),
        ("a,b,target\n".into(), "no data rows after the header"),
        (
            "a,a,target\n1,2,3\n4,5,6\n".into(),
            "column name 'a' appears twice",
        ),
        (String::new(), "the file is empty"),
        (
            "a,target\n1,2\n3,inf\n".into(),
            "line 3, column 'target' (2): 'inf' is not a finite number",
        ),
        (
            "a,target\n1e400,2\n3,4\n".into(),
            "line 2, column 'a' (1): '1e400' is not a finite number",
        ),
        (
            "a,target\n1e39,2\n3,4\n".into(),
            "line 2, column 'a' (1): 1e39 is too large for a 32-bit float feature",
        ),
        (
            "a,target\n1,2\n3,1e200\n".into(),
            "line 3, column 'target' (2): target 1e200 is too large; with 2 rows, targets must lie within ±5.000e149",
        ),
        (
            "a,target\n1,2\n".into(),
            "1 data row; training needs at least 2",
        ),
        (
            "a,target\n1,\n3,4\n".into(),
            "line 2, column 'target' (2): the target is missing",
        ),
        (
            format!("a,target\n{long},2\n3,4\n"),
            "line 2, column 'a' (1): a field of 300 bytes exceeds the 256-byte limit",
        ),
        ("target\n1\n2\n".into(), "only one column ('target')"),
        (
            "a,target,target\n1,2,3\n".into(),
            "column name 'target' appears twice",
        ),
    ];
    for (content, message) in cases {
        std::fs::write(&csv, &content).unwrap();
        let err = fails(&["train", "--train", p(&csv), "--out", p(&model)]);
        assert!(
            err.contains(p(&csv)) && err.contains(message),
            "{content:?}: {err}"
        );
        eprintln!("{}", err.trim());
    }
    assert!(!model.exists());
}

#[test]
fn train_gives_the_same_bytes_for_any_worker_count() {
    let dir = tmp();
    let mut models = Vec::new();
    for workers in ["1", "2", "3"] {
        let out = dir.path().join(format!("m{workers}.bin"));
        let (o, _) = ok(&[
            "train",
            "--train",
            "data/diabetes_train.csv",
            "--out",
            p(&out),
            "--n-estimators",
            "25",
            "--workers",
            workers,
        ]);
        assert!(o.contains(&format!("({workers} worker instance")), "{o}");
        models.push(std::fs::read(&out).unwrap());
    }
    assert!(models.windows(2).all(|w| w[0] == w[1]));
    let out = wasm_forest(&["train", "--train", "x.csv", "--out", "y", "--workers", "0"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("'--workers <N>': 0 is not in 1..=256"),
        "{err}"
    );
}

#[test]
fn the_compiled_component_is_cached_and_a_damaged_cache_is_recompiled() {
    let dir = tmp();
    let cache = dir.path().join("cache");
    let bench = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "--repeat",
            "1",
            "--n-estimators",
            "3",
            "--no-native",
            "--device",
            "cpu",
            "--model-out",
        ];
        let model = dir.path().join("m.bin");
        args.push(p(&model));
        args.extend(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_wasm-forest"))
            .args(&args)
            .env("WASM_FOREST_CACHE_DIR", &cache)
            .current_dir(repo())
            .output()
            .unwrap();
        let (o, e) = text(&out);
        assert!(out.status.success(), "{o}\n{e}");
        o.lines()
            .find(|l| l.starts_with("[SETUP] Component"))
            .unwrap()
            .to_string()
    };
    assert!(bench(&[]).contains("compiled, then cached"));
    assert!(bench(&[]).contains("loaded precompiled from the cache"));
    assert!(bench(&["--no-cache"]).contains("compiled (no cache)"));
    let files: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert_eq!(files.len(), 1);
    let file = files[0].as_ref().unwrap().path();
    std::fs::write(&file, b"not a compiled component").unwrap();
    assert!(bench(&[]).contains("compiled, then cached"));
    assert!(bench(&[]).contains("loaded precompiled from the cache"));
}

fn with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    support::run(args, env)
}

#[test]
fn without_an_adapter_bench_and_predict_fall_back_to_the_cpu() {
    let dir = tmp();
    let model = dir.path().join("m.bin");
    // No Metal on Linux or Windows: wgpu finds no adapter at all.
    let no_gpu = [("WGPU_BACKEND", "metal")];
    let out = with_env(
        &[
            "bench",
            "--repeat",
            "1",
            "--n-estimators",
            "20",
            "--model-out",
            p(&model),
        ],
        &no_gpu,
    );
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}\n{e}");
    assert!(
        o.contains("[INFERENCE] GPU: no adapter found, using CPU"),
        "{o}"
    );
    assert!(o.contains("[INFERENCE] Mean Squared Error: "), "{o}");
    let predict = |device: &str| with_env(&predict_diabetes(&model, device), &no_gpu);
    let cpu = predict("cpu");
    let auto = predict("auto");
    assert!(cpu.status.success() && auto.status.success());
    assert_eq!(
        cpu.stdout, auto.stdout,
        "auto falls back to the same CPU predictions"
    );
    let gpu = predict("gpu");
    let (_, e) = text(&gpu);
    assert_eq!(gpu.status.code(), Some(1), "{e}");
    assert!(e.contains("GPU: no-adapter: "), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn auto_uses_the_gpu_from_the_configured_batch_size() {
    let dir = tmp();
    let model = diabetes_model(&dir, 10);
    let predict = |min_rows: &str| {
        let out = with_env(
            &[
                "predict",
                "--model",
                p(&model),
                "--input",
                "data/diabetes_test.csv",
                "--device",
                "auto",
                "--workers",
                "1",
            ],
            &[("WASM_FOREST_GPU_MIN_ROWS", min_rows)],
        );
        let (o, e) = text(&out);
        assert!(out.status.success(), "{e}");
        (o, e)
    };
    // 89 rows: on the GPU from 50 rows on, on the CPU from 100 on.
    let (gpu_out, gpu_err) = predict("50");
    assert!(
        gpu_err.contains("(GPU import, 1 worker instance)"),
        "{gpu_err}"
    );
    let (cpu_out, cpu_err) = predict("100");
    assert!(cpu_err.contains("89 rows < auto-min-rows 100"), "{cpu_err}");
    assert!(cpu_err.contains("(CPU, 1 worker instance)"), "{cpu_err}");
    // The same predictions within f32 rounding: a header and 89 rows each.
    assert_eq!(gpu_out.lines().count(), 90, "{gpu_out}");
    assert_eq!(cpu_out.lines().count(), 90, "{cpu_out}");
    for (g, c) in gpu_out.lines().zip(cpu_out.lines()).skip(1) {
        let (g, c): (f64, f64) = (g.parse().unwrap(), c.parse().unwrap());
        assert!((g - c).abs() <= 1e-4 * c.abs().max(1.0), "{g} vs {c}");
    }
}

#[test]
fn headless_gpu_use_prints_no_wayland_noise() {
    let dir = tmp();
    let model = diabetes_model(&dir, 5);
    // A session without a desktop, as in CI: Mesa's device-select layer
    // would make libwayland print "error: XDG_RUNTIME_DIR ..." on stderr.
    let out = Command::new(env!("CARGO_BIN_EXE_wasm-forest"))
        .args(predict_diabetes(&model, "gpu"))
        .current_dir(repo())
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .env_remove("MESA_VK_DEVICE_SELECT")
        .output()
        .unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}\n{e}");
    assert!(e.contains("GPU import"), "{e}");
    assert!(!e.contains("XDG_RUNTIME_DIR"), "{e}");
}
