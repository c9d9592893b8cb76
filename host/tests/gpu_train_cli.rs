//! GPU training as the command line offers it (`--splitter level` with
//! `--device gpu|auto`), on lavapipe in CI: the model is the CPU's bytes
//! whatever the device, the worker count or the share of nodes the device
//! serves; failures are clear errors (`gpu`) or a note and the CPU (`auto`).
//! Tests that need an adapter skip only when WASM_FOREST_SKIP_GPU_TESTS says
//! so (as in gpu.rs).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "../../forest/examples/common/mod.rs"]
mod common;
#[path = "support/gpu.rs"]
mod support;

#[path = "support/cli.rs"]
mod cli;
use cli::{p, run};

/// Runs a command that must succeed; its stdout and stderr.
fn ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(args, env);
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "wasm-forest {args:?} failed\nstdout:\n{o}\nstderr:\n{e}"
    );
    o + &e
}

/// Runs a command that must fail; its stderr.
fn fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(args, env);
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "wasm-forest {args:?} succeeded");
    e
}

/// Trains with splitter level on `device` and returns the model bytes and
/// the command's output.
fn train(
    csv: &str,
    out: &Path,
    (device, workers, trees): (&str, &str, &str),
    env: &[(&str, &str)],
) -> (Vec<u8>, String) {
    let args = [
        "train",
        "--train",
        csv,
        "--out",
        p(out),
        "--splitter",
        "level",
        "--max-depth",
        "16",
        "--n-estimators",
        trees,
        "--device",
        device,
        "--workers",
        workers,
    ];
    let text = ok(&args, env);
    (std::fs::read(out).unwrap(), text)
}

/// friedman1 with `n` rows as a CSV in `dir`.
fn friedman1_csv(dir: &Path, n: usize) -> PathBuf {
    let (x, y) = common::friedman1(&mut forest::rng::Rng::new(7), n);
    let mut csv = String::from("x0,x1,x2,x3,x4,x5,x6,x7,x8,x9,target\n");
    for (row, target) in x.chunks_exact(10).zip(&y) {
        for v in row {
            write!(csv, "{v},").unwrap();
        }
        writeln!(csv, "{target}").unwrap();
    }
    let path = dir.join("friedman1.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn gpu_training_gives_the_cpu_models_bytes() {
    if support::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.bin");
    let friedman = friedman1_csv(dir.path(), 20_000);
    let every_node = [("WASM_FOREST_GPU_NODE_MIN_ROWS", "0")];
    for (csv, trees, node_env) in [
        ("data/diabetes_train.csv", "12", &every_node[..]),
        (p(&friedman), "3", &[][..]),
    ] {
        let (cpu, _) = train(csv, &out, ("cpu", "1", trees), &[]);
        for workers in ["1", "2"] {
            for _run in 0..2 {
                let (gpu, text) = train(csv, &out, ("gpu", workers, trees), node_env);
                assert!(text.contains("GPU training (llvmpipe") || text.contains("GPU training ("));
                assert!(!text.contains(" 0 node histograms"), "{csv}: {text}");
                assert!(
                    gpu == cpu,
                    "{csv}, {workers} workers: GPU bytes differ from CPU's"
                );
            }
        }
        // The model loader validates what the GPU grew, and says which splitter.
        let info = ok(&["info", p(&out)], &[]);
        assert!(info.contains("splitter=level"), "{info}");
    }
}

#[test]
fn auto_trains_on_a_hardware_gpu_only_or_when_told() {
    if support::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.bin");
    let csv = "data/diabetes_train.csv";
    let (cpu, _) = train(csv, &out, ("cpu", "2", "8"), &[]);
    // lavapipe is a software adapter: auto stays on the CPU and says why.
    let (auto, text) = train(csv, &out, ("auto", "2", "8"), &[]);
    assert_eq!(auto, cpu);
    assert!(
        text.contains("on the CPU: the host's auto-min-train-rows for"),
        "{text}"
    );
    assert!(text.contains("is 'never' (a cpu adapter)"), "{text}");
    // A size threshold of 0 rows puts it on the GPU.
    let env = [
        ("WASM_FOREST_GPU_MIN_TRAIN_ROWS", "0"),
        ("WASM_FOREST_GPU_NODE_MIN_ROWS", "0"),
    ];
    let (auto, text) = train(csv, &out, ("auto", "2", "8"), &env);
    assert_eq!(auto, cpu);
    assert!(text.contains("GPU training ("), "{text}");
    // Above the data's rows: the CPU, with the figures.
    let env = [("WASM_FOREST_GPU_MIN_TRAIN_ROWS", "1000")];
    let (_, text) = train(csv, &out, ("auto", "1", "8"), &env);
    assert!(
        text.contains("353 rows < auto-min-train-rows 1000 of"),
        "{text}"
    );
}

#[test]
fn gpu_training_failures_are_errors_or_a_cpu_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.bin");
    let csv = "data/diabetes_train.csv";
    // No adapter (a backend this machine lacks): gpu fails naming it,
    // auto trains on the CPU and says why; the model does not change.
    let no_adapter = [("WGPU_BACKEND", "metal")];
    let (cpu, _) = train(csv, &out, ("cpu", "1", "6"), &[]);
    std::fs::remove_file(&out).unwrap();
    let args = [
        "train",
        "--train",
        csv,
        "--out",
        p(&out),
        "--splitter",
        "level",
        "--device",
        "gpu",
    ];
    let err = fails(&args, &no_adapter);
    assert!(err.contains("no-adapter"), "{err}");
    assert!(!out.exists(), "a failed training wrote {}", out.display());
    let env = [no_adapter[0], ("WASM_FOREST_GPU_MIN_TRAIN_ROWS", "0")];
    let (auto, text) = train(csv, &out, ("auto", "1", "6"), &env);
    assert_eq!(auto, cpu);
    assert!(text.contains("on the CPU: no-adapter: "), "{text}");
    // gpu with a splitter the GPU does not grow: refused before any work.
    let args = ["train", "--train", csv, "--out", p(&out), "--device", "gpu"];
    let err = fails(&args, &[]);
    assert!(
        err.contains(
            "--device gpu trains with --splitter level only (splitter auto grows on the CPU)"
        ),
        "{err}"
    );
    // The settings that steer it are checked, not ignored.
    for var in [
        "WASM_FOREST_GPU_MIN_TRAIN_ROWS",
        "WASM_FOREST_GPU_NODE_MIN_ROWS",
    ] {
        let args = [
            "train",
            "--train",
            csv,
            "--out",
            p(&out),
            "--splitter",
            "level",
        ];
        let err = fails(&args, &[(var, "many")]);
        assert!(
            err.contains(&format!("{var}=\"many\" is not a row count")),
            "{err}"
        );
    }
}

#[test]
fn bench_and_compare_show_the_gpu_training() {
    if support::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.bin");
    let json = dir.path().join("c.json");
    let env = [("WASM_FOREST_GPU_NODE_MIN_ROWS", "100")];
    let common = [
        "--splitter",
        "level",
        "--n-estimators",
        "6",
        "--repeat",
        "2",
    ];
    let mut args = vec![
        "bench",
        "--device",
        "gpu",
        "--no-native",
        "--model-out",
        p(&model),
    ];
    args.extend(common);
    let text = ok(&args, &env);
    assert!(text.contains("[TRAINING] GPU (import, "), "{text}");
    assert!(
        text.contains("model bytes identical to the CPU's"),
        "{text}"
    );
    assert!(
        text.contains("[TRAINING] device auto for 353 training rows: cpu (never"),
        "{text}"
    );
    let mut args = vec![
        "compare",
        "--no-python",
        "--model-out",
        p(&model),
        "--json",
        p(&json),
    ];
    args.extend(common);
    let text = ok(&args, &env);
    assert!(text.contains("wasm-gpu"), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let systems = report["systems"].as_array().unwrap();
    let gpu = systems.iter().find(|s| s["system"] == "wasm-gpu").unwrap();
    assert!(gpu["train_median_s"].as_f64().unwrap() > 0.0, "{gpu}");
    let rows = report["rows"].as_array().unwrap();
    let gpu_trains = rows
        .iter()
        .filter(|r| r["system"] == "wasm-gpu" && r["phase"] == "train")
        .count();
    assert_eq!(gpu_trains, 2, "one per timed round");
    // Without splitter level, compare says why there is no GPU training.
    let args = [
        "compare",
        "--no-python",
        "--n-estimators",
        "2",
        "--repeat",
        "1",
        "--model-out",
        p(&model),
        "--json",
        p(&json),
    ];
    ok(&args, &[]);
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(
        report.contains("--splitter level trains on the GPU"),
        "{report}"
    );
}

/// `train-bench` measures both devices, compares the bytes, writes its
/// table as JSON; `--device cpu` leaves the GPU out.
#[test]
fn train_bench_times_both_devices() {
    if support::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("t.json");
    let args = [
        "train-bench",
        "--sizes",
        "300,5000",
        "--n-estimators",
        "3",
        "--repeat",
        "2",
        "--device",
        "gpu",
        "--json",
        p(&json),
    ];
    let text = ok(&args, &[("WASM_FOREST_GPU_NODE_MIN_ROWS", "1000")]);
    assert!(text.contains("[RESULT] device auto trains on"), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let sizes = report["sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), 2);
    for s in sizes {
        assert!(s["cpu"]["median_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["gpu"]["median_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["mse"].as_f64().unwrap().is_finite(), "{s}");
    }
    // 5000 rows: the roots (about 3160 in-bag rows) reach the device.
    assert!(
        sizes[1]["gpu_histograms"].as_u64().unwrap() >= 3,
        "{}",
        sizes[1]
    );
    let mut args = args.to_vec();
    args[8] = "cpu";
    ok(&args, &[]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(report["sizes"][0]["gpu"].is_null());
    assert!(report["adapter"].is_null());
}
