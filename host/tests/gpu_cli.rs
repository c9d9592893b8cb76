//! The GPU as the command line presents it: which adapter served a
//! prediction, models whose values exceed f32, and the settings that steer
//! `device auto`. The tests that need an adapter skip only when
//! WASM_FOREST_SKIP_GPU_TESTS says so (as in gpu.rs).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "support/gpu.rs"]
mod support;

#[path = "support/cli.rs"]
mod cli;
use cli::{p, run};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let out = run(args, env);
    let (o, e) = text(&out);
    assert!(
        out.status.success(),
        "wasm-forest {args:?} failed\nstdout:\n{o}\nstderr:\n{e}"
    );
    (o, e)
}

/// "NAME [backend, type]" of this machine's adapter, as bench prints it;
/// `None` when there is none and the GPU tests are to be skipped.
fn adapter() -> Option<String> {
    let a = support::gpu()?.adapter_info().clone();
    Some(format!("{} [{}, {}]", a.name, a.backend, a.device_type))
}

/// A 5-tree diabetes model in `dir`.
fn diabetes_model(dir: &Path) -> PathBuf {
    let model = dir.join("m.bin");
    let train = "data/diabetes_train.csv";
    ok(
        &[
            "train",
            "--train",
            train,
            "--out",
            p(&model),
            "--n-estimators",
            "5",
        ],
        &[],
    );
    model
}

fn predict<'a>(model: &'a Path, input: &'a str, device: &'a str) -> [&'a str; 9] {
    [
        "predict",
        "--model",
        p(model),
        "--input",
        input,
        "--device",
        device,
        "--workers",
        "1",
    ]
}

/// The `Predicted ...` summary line of a predict run's stderr.
fn summary(err: &str) -> &str {
    err.lines()
        .find(|l| l.starts_with("Predicted "))
        .unwrap_or_else(|| panic!("no summary line in\n{err}"))
}

#[test]
fn predict_names_the_adapter_that_served_it() {
    let Some(adapter) = adapter() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = diabetes_model(dir.path());
    let test = "data/diabetes_test.csv";
    let served = format!("(GPU import, 1 worker instance) on {adapter}");
    let (_, e) = ok(&predict(&model, test, "gpu"), &[]);
    assert!(summary(&e).ends_with(&served), "{e}");
    // auto, when it picks the GPU (89 rows >= 1).
    let (_, e) = ok(
        &predict(&model, test, "auto"),
        &[("WASM_FOREST_GPU_MIN_ROWS", "1")],
    );
    assert!(summary(&e).ends_with(&served), "{e}");
    // The CPU names no adapter, whether asked for or chosen by auto.
    for device in ["cpu", "auto"] {
        let (_, e) = ok(&predict(&model, test, device), &[]);
        assert!(
            summary(&e).ends_with("(CPU, 1 worker instance)"),
            "{device}: {e}"
        );
    }
}

/// Targets of ~1e100 train a valid model whose leaf values are far beyond
/// f32: `predict --device gpu` works and agrees with the CPU within f32
/// precision.
#[test]
fn a_model_beyond_the_f32_range_predicts_on_the_gpu() {
    if adapter().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("huge.csv");
    let mut text = String::from("a,b,c,target\n");
    let mut rng = forest::rng::Rng::new(5);
    for _ in 0..300 {
        let x: Vec<f64> = (0..3)
            .map(|_| (rng.next_u64() >> 40) as f64 / (1u64 << 24) as f64)
            .collect();
        let y = (1.0 + x[0] + 2.0 * x[1] * x[2]) * 1e100;
        writeln!(
            text,
            "{},{},{},{y:e}",
            x[0] as f32, x[1] as f32, x[2] as f32
        )
        .unwrap();
    }
    std::fs::write(&csv, text).unwrap();
    let model = dir.path().join("huge.bin");
    let train = ["train", "--train", p(&csv), "--out", p(&model)];
    ok(&[&train[..], &["--n-estimators", "7"]].concat(), &[]);
    let values = |device: &str| -> Vec<f64> {
        let (o, e) = ok(&predict(&model, p(&csv), device), &[]);
        assert!(!e.contains("not finite"), "{e}");
        o.lines().skip(1).map(|l| l.parse().unwrap()).collect()
    };
    let (gpu, cpu) = (values("gpu"), values("cpu"));
    assert_eq!(gpu.len(), 300);
    assert!(cpu.iter().all(|c| *c > 1e99), "{cpu:?}");
    for (i, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
        assert!(
            (g - c).abs() <= 1e-5 * c.abs(),
            "row {i}: gpu {g:e}, cpu {c:e}"
        );
    }
}

/// A WASM_FOREST_GPU_MIN_ROWS that is not a row count is an error naming
/// the variable and the value, for every command that may use the GPU;
/// commands that cannot use it are not bothered by it.
#[test]
fn an_unparsable_gpu_min_rows_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = diabetes_model(dir.path());
    let test = "data/diabetes_test.csv";
    let out = dir.path().join("b.bin");
    let bench = [
        "bench",
        "--repeat",
        "1",
        "--n-estimators",
        "3",
        "--no-native",
        "--model-out",
        p(&out),
    ];
    let predict_bench = [
        "predict-bench",
        "--sizes",
        "1",
        "--repeat",
        "1",
        "--n-estimators",
        "2",
    ];
    for value in ["abc", "-1", "1e3", "4294967296", "12 rows"] {
        let env = [("WASM_FOREST_GPU_MIN_ROWS", value)];
        for args in [
            &predict(&model, test, "auto")[..],
            &predict(&model, test, "gpu")[..],
            &bench[..],
            &predict_bench[..],
        ] {
            let r = run(args, &env);
            let (o, e) = text(&r);
            assert_eq!(r.status.code(), Some(1), "{value:?} {args:?}\n{o}\n{e}");
            assert_eq!(
                e.trim(),
                format!(
                    "error: WASM_FOREST_GPU_MIN_ROWS={value:?} is not a row count: \
                     expected a whole number of rows from 0 to 4294967295"
                ),
                "{args:?}"
            );
            assert!(o.is_empty(), "nothing done before the error: {o}");
        }
        // The CPU alone ignores the GPU's settings.
        ok(&predict(&model, test, "cpu"), &env);
        ok(&["info", p(&model)], &env);
    }
    // Set but empty is unset; a count with spaces around it is a count.
    for value in ["", " 100 "] {
        let (_, e) = ok(
            &predict(&model, test, "auto"),
            &[("WASM_FOREST_GPU_MIN_ROWS", value)],
        );
        assert!(summary(&e).contains("(CPU, 1 worker instance)"), "{e}");
    }
}
