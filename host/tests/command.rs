//! The command component (guest/cli/src/main.rs) run as the plain
//! wasmtime CLI would run it: wasi:cli/run, a preopened `data` directory, args.
//! Its model files and the host's are interchangeable.

use std::path::Path;
use std::process::Command as Process;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

struct State {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// `wasmtime run --dir <dir>::data forest-cli.wasm <args>`: (success, stdout, stderr).
fn forest_cli(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let engine = Engine::default();
    let component = Component::from_file(&engine, env!("WASM_FOREST_CLI_COMPONENT")).unwrap();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let (out, err) = (
        MemoryOutputPipe::new(1 << 20),
        MemoryOutputPipe::new(1 << 20),
    );
    let mut ctx = WasiCtx::builder();
    ctx.arg("forest-cli")
        .args(args)
        .stdout(out.clone())
        .stderr(err.clone());
    ctx.preopened_dir(dir, "data", FsPerms::ReadWrite).unwrap();
    let mut store = Store::new(
        &engine,
        State {
            ctx: ctx.build(),
            table: ResourceTable::new(),
        },
    );
    let command = Command::instantiate(&mut store, &component, &linker).unwrap();
    let ok = command.wasi_cli_run().call_run(&mut store).unwrap().is_ok();
    let text = |p: &MemoryOutputPipe| String::from_utf8_lossy(&p.contents()).into_owned();
    (ok, text(&out), text(&err))
}

fn copy_data_into(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for f in ["diabetes_train.csv", "diabetes_test.csv"] {
        std::fs::copy(repo.join("data").join(f), dir.join(f)).unwrap();
    }
}

fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_data_into(dir.path());
    dir
}

fn host(args: &[&str]) -> String {
    let out = Process::new(env!("CARGO_BIN_EXE_wasm-forest"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bench_runs_in_the_command_component() {
    let dir = data_dir();
    let (ok, out, err) = forest_cli(dir.path(), &["bench", "--n-estimators", "50"]);
    assert!(ok, "{out}\n{err}");
    for line in [
        "=== TRAINING PHASE ===",
        "[TRAINING] Creating RandomForest with 50 estimators, max_depth 16",
        "[TRAINING] Model saved to: data/model_diabetes_wasm.bin",
        "=== INFERENCE PHASE ===",
        "[INFERENCE] Samples: 89",
        "the plain wasmtime CLI lends no GPU",
    ] {
        assert!(out.contains(line), "missing {line:?}:\n{out}");
    }
    let mse: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("[INFERENCE] Mean Squared Error: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((2700.0..3400.0).contains(&mse), "{mse}");
    assert!(dir.path().join("model_diabetes_wasm.bin").exists());
}

#[test]
fn models_move_between_the_command_component_and_the_host() {
    let dir = data_dir();
    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    // The command component and the host's library component train the same bytes.
    let (ok, out, err) = forest_cli(
        d,
        &[
            "train",
            "--train",
            "data/diabetes_train.csv",
            "--out",
            "data/cli.bin",
            "--n-estimators",
            "20",
        ],
    );
    assert!(ok, "{out}\n{err}");
    host(&[
        "train",
        "--train",
        &p("diabetes_train.csv"),
        "--out",
        &p("host.bin"),
        "--n-estimators",
        "20",
    ]);
    assert_eq!(
        std::fs::read(d.join("cli.bin")).unwrap(),
        std::fs::read(d.join("host.bin")).unwrap()
    );
    // Each side loads the other's model.
    let info = host(&["info", &p("cli.bin")]);
    assert!(info.contains("Trees: 20"), "{info}");
    // Both print the importances alike.
    let (ok, theirs, _) = forest_cli(d, &["info", "data/cli.bin"]);
    assert!(ok);
    let importances = |text: &str| -> Vec<String> {
        let from = text.find("Feature importances (impurity-based").unwrap();
        text[from..].lines().map(String::from).collect()
    };
    assert_eq!(importances(&info), importances(&theirs));
    assert_eq!(importances(&info).len(), 11, "{info}");
    let (ok, out, err) = forest_cli(
        d,
        &[
            "predict",
            "--model",
            "data/host.bin",
            "--input",
            "data/diabetes_test.csv",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 90);
    assert!(err.contains("Mean Squared Error (vs 'target'): "), "{err}");
    let host_preds = host(&[
        "predict",
        "--model",
        &p("cli.bin"),
        "--input",
        &p("diabetes_test.csv"),
    ]);
    assert_eq!(out, host_preds, "both sides predict the same values");
}

/// Splitter `sklearn` (scikit-learn's own trees) under the command
/// component gives the host's bytes too.
#[test]
fn splitter_sklearn_gives_the_hosts_bytes_in_the_command_component() {
    let flags = [
        "--n-estimators",
        "10",
        "--splitter",
        "sklearn",
        "--seed",
        "3",
    ];
    assert_same_bytes_as_the_host(&flags);
}

#[test]
fn leaf_limits_give_the_hosts_bytes_in_the_command_component() {
    for splitter in ["hist", "sklearn"] {
        let flags = [
            "--n-estimators",
            "6",
            "--splitter",
            splitter,
            "--max-leaf-nodes",
            "10",
            "--min-weight-fraction-leaf",
            "0.01",
            "--min-impurity-decrease",
            "2.5",
        ];
        assert_same_bytes_as_the_host(&flags);
    }
}

#[test]
fn sample_weights_give_the_hosts_bytes_in_the_command_component() {
    // A weight column (0 to 3.5, some rows left out), with bootstrap and
    // without, on the depth-first splitters and scikit-learn's.
    let dir = data_dir();
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("diabetes_train.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{},w\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        out.push_str(&format!("{line},{}\n", (i * 3 % 8) as f64 / 2.0));
    }
    std::fs::write(d.join("weighted.csv"), out).unwrap();
    let host_train = d.join("weighted.csv");
    for flags in [
        &["--splitter", "auto"][..],
        &[
            "--splitter",
            "exact",
            "--bootstrap",
            "false",
            "--min-weight-fraction-leaf",
            "0.02",
        ],
        &["--splitter", "sklearn", "--bootstrap", "false"],
        &["--splitter", "hist", "--max-samples", "0.5"],
    ] {
        let common = [
            "--target",
            "target",
            "--weight",
            "w",
            "--n-estimators",
            "5",
            "--seed",
            "3",
        ];
        let mut args = vec![
            "train",
            "--train",
            "data/weighted.csv",
            "--out",
            "data/cli.bin",
        ];
        args.extend(common.iter().chain(flags));
        let (ok, out, err) = forest_cli(d, &args);
        assert!(ok, "{out}\n{err}");
        assert!(out.contains("x 10 features weighted by 'w'"), "{out}");
        let model = d.join("host.bin");
        let mut args = vec!["train", "--train", host_train.to_str().unwrap(), "--out"];
        args.push(model.to_str().unwrap());
        args.extend(common.iter().chain(flags));
        host(&args);
        let bytes = std::fs::read(d.join("cli.bin")).unwrap();
        assert_eq!(bytes, std::fs::read(model).unwrap(), "{flags:?}");
        let (ok, out, _) = forest_cli(d, &["info", "data/cli.bin"]);
        assert!(ok && out.contains("Sample weights: total 616\n"), "{out}");
    }
}

/// `train` with `flags` in the command component and in the host: the
/// same model bytes.
fn assert_same_bytes_as_the_host(flags: &[&str]) {
    let dir = data_dir();
    let d = dir.path();
    let mut args = vec![
        "train",
        "--train",
        "data/diabetes_train.csv",
        "--out",
        "data/cli.bin",
    ];
    args.extend(flags);
    let (ok, out, err) = forest_cli(d, &args);
    assert!(ok, "{out}\n{err}");
    let (train, model) = (d.join("diabetes_train.csv"), d.join("host.bin"));
    let mut args = vec![
        "train",
        "--train",
        train.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ];
    args.extend(flags);
    host(&args);
    assert_eq!(
        std::fs::read(d.join("cli.bin")).unwrap(),
        std::fs::read(model).unwrap(),
        "{flags:?}"
    );
}

#[test]
fn errors_are_reported_not_trapped() {
    let dir = data_dir();
    std::fs::write(dir.path().join("bad.csv"), "a,target\n1,2\n3,x\n").unwrap();
    let (ok, _, err) = forest_cli(
        dir.path(),
        &["train", "--train", "data/bad.csv", "--out", "data/m.bin"],
    );
    assert!(!ok);
    assert!(
        err.contains("data/bad.csv: line 3, column 'target' (2): cannot parse 'x' as a number"),
        "{err}"
    );
    let (ok, _, err) = forest_cli(
        dir.path(),
        &["train", "--train", "/etc/passwd", "--out", "data/m.bin"],
    );
    assert!(
        !ok && err.contains("cannot open /etc/passwd"),
        "only preopened directories are reachable: {err}"
    );
}

/// The same bench under the real `wasmtime` CLI (48.x), as docs/design.md shows.
/// Skipped with the reason when it is not on PATH, unless
/// WASM_FOREST_REQUIRE_WASMTIME_CLI=1 (CI installs it and sets that).
#[test]
fn bench_under_the_wasmtime_cli() {
    let version = Process::new("wasmtime").arg("--version").output();
    let usable =
        matches!(&version, Ok(o) if String::from_utf8_lossy(&o.stdout).starts_with("wasmtime 48."));
    if !usable {
        assert!(
            std::env::var("WASM_FOREST_REQUIRE_WASMTIME_CLI").is_err(),
            "WASM_FOREST_REQUIRE_WASMTIME_CLI is set but wasmtime 48 is not on PATH"
        );
        eprintln!(
            "SKIPPED bench_under_the_wasmtime_cli: wasmtime 48 is not on PATH (cargo install --locked wasmtime-cli@48.0.8)"
        );
        return;
    }
    // `--dir data` preopens ./data as `data`: run where `data` holds our copy.
    let work = tempfile::tempdir().unwrap();
    copy_data_into(&work.path().join("data"));
    let out = Process::new("wasmtime")
        .args([
            "run",
            "--dir",
            "data",
            env!("WASM_FOREST_CLI_COMPONENT"),
            "bench",
            "--n-estimators",
            "30",
        ])
        .current_dir(work.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    assert!(
        stdout.contains("[INFERENCE] Samples: 89")
            && stdout.contains("[INFERENCE] Mean Squared Error: "),
        "{stdout}"
    );
    // The model it wrote is a host model.
    let model = work.path().join("data/model_diabetes_wasm.bin");
    assert!(host(&["info", model.to_str().unwrap()]).contains("Trees: 30"));
}

/// `train` in the command component with `--out <out>`, 5 trees.
fn cli_train(dir: &Path, train: &str, out: &str) -> (bool, String, String) {
    forest_cli(
        dir,
        &[
            "train",
            "--train",
            train,
            "--out",
            out,
            "--n-estimators",
            "5",
        ],
    )
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// The command component shares the host's output checks (cli-common's
/// `outputs`): under WASI too, inputs are compared by file identity, from
/// the filesystem's metadata hash, not by name.
#[test]
fn outputs_never_destroy_inputs_in_the_command_component() {
    let dir = data_dir();
    let d = dir.path();
    let train_csv = std::fs::read(d.join("diabetes_train.csv")).unwrap();
    std::fs::hard_link(d.join("diabetes_train.csv"), d.join("hard.csv")).unwrap();
    std::os::unix::fs::symlink("diabetes_train.csv", d.join("soft.csv")).unwrap();
    for out in [
        "data/diabetes_train.csv",
        "data/hard.csv",
        "data/soft.csv",
        "data/./diabetes_train.csv",
    ] {
        let (ok, _, err) = cli_train(d, "data/diabetes_train.csv", out);
        assert!(!ok, "--out {out} was accepted");
        assert!(
            err.contains(&format!(
                "--out {out} is the same file as the input --train data/diabetes_train.csv"
            )),
            "--out {out}: {err}"
        );
    }
    let (ok, _, err) = cli_train(d, "data/diabetes_train.csv", "data/m.bin");
    assert!(ok, "{err}");
    let (ok, _, err) = forest_cli(
        d,
        &[
            "predict",
            "--model",
            "data/m.bin",
            "--input",
            "data/diabetes_test.csv",
            "--out",
            "data/m.bin",
        ],
    );
    assert!(
        !ok && err.contains("is the same file as the input --model"),
        "{err}"
    );
    let (ok, _, err) = forest_cli(d, &["bench", "--model-out", "data/diabetes_test.csv"]);
    assert!(
        !ok && err.contains("is the same file as the input --test"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(d.join("diabetes_train.csv")).unwrap(),
        train_csv
    );
    assert!(
        forest_cli(d, &["info", "data/m.bin"]).0,
        "the model is intact"
    );
    assert!(
        std::fs::symlink_metadata(d.join("soft.csv"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn outputs_follow_symlinks_and_dash_is_standard_output() {
    let dir = data_dir();
    let d = dir.path();
    std::fs::create_dir(d.join("real")).unwrap();
    std::os::unix::fs::symlink("real/target.bin", d.join("link.bin")).unwrap();
    let (ok, _, err) = cli_train(d, "data/diabetes_train.csv", "data/link.bin");
    assert!(ok, "{err}");
    assert!(
        std::fs::symlink_metadata(d.join("link.bin"))
            .unwrap()
            .is_symlink()
    );
    let model = std::fs::read(d.join("real/target.bin")).unwrap();
    assert_eq!(&model[..8], b"WFOREST\0");
    // `-`: the model alone on standard output, the status line on standard error.
    let (ok, out, err) = cli_train(d, "data/diabetes_train.csv", "-");
    assert!(ok, "{err}");
    assert!(
        out.starts_with("WFOREST\0"),
        "{:?}",
        &out[..out.len().min(16)]
    );
    assert!(err.contains("Trained 5 trees"), "{err}");
    assert!(!out.contains("Trained"));
    assert!(temp_files(d).is_empty() && temp_files(&d.join("real")).is_empty());
}

#[test]
fn unwritable_outputs_are_refused_before_any_work() {
    let dir = data_dir();
    let d = dir.path();
    std::os::unix::fs::symlink("loop.bin", d.join("loop.bin")).unwrap();
    for (out, says) in [
        ("data", "it is a directory"),
        (
            "data/missing/m.bin",
            "the directory data/missing does not exist",
        ),
        ("data/loop.bin", "too many levels of symbolic links"),
    ] {
        let (ok, stdout, err) = cli_train(d, "data/diabetes_train.csv", out);
        assert!(!ok && err.contains(says), "--out {out}: {err}");
        assert!(stdout.is_empty(), "no work was done: {stdout}");
    }
    let (ok, _, err) = forest_cli(d, &["bench", "--model-out", "-"]);
    assert!(!ok && err.contains("not a regular file"), "{err}");
}

/// `src` with gaps: cells of the feature columns blanked (empty, `NaN` or
/// `NA`, pandas' markers) by a fixed pattern (never in column `sex`), and
/// `sex` in every row if `all_sex`; the target column (last) kept.
fn with_gaps(src: &Path, dst: &Path, all_sex: bool) {
    let text = std::fs::read_to_string(src).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let sex = header.split(',').position(|h| h == "sex").unwrap();
    let mut out = format!("{header}\n");
    for (r, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let last = cells.len() - 1;
        let row: Vec<&str> = cells
            .iter()
            .enumerate()
            .map(|(c, &v)| match (r * 7 + c * 3) % 10 {
                _ if c == last => v,
                _ if c == sex => {
                    if all_sex {
                        ""
                    } else {
                        v
                    }
                }
                0 | 1 if c % 3 == 0 => "",
                2 if c % 3 == 0 => "NaN",
                3 if c == 2 => "NA",
                _ => v,
            })
            .collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    std::fs::write(dst, out).unwrap();
}

/// Training data with gaps gives the host's bytes in the command component
/// (`exact`, `hist`, `auto`), and rows with gaps (and a column missing in
/// every row, which training saw complete) predict alike in both, on the
/// host's CPU and on its GPU.
#[test]
fn missing_values_train_and_predict_alike_in_the_component_the_host_and_the_gpu() {
    let dir = data_dir();
    let d = dir.path();
    let p = |f: &str| d.join(f).to_str().unwrap().to_string();
    with_gaps(&d.join("diabetes_train.csv"), &d.join("gaps.csv"), false);
    with_gaps(&d.join("diabetes_test.csv"), &d.join("gaps_test.csv"), true);
    for splitter in ["exact", "hist", "auto"] {
        let flags = ["--n-estimators", "8", "--splitter", splitter, "--seed", "5"];
        let mut args = vec!["train", "--train", "data/gaps.csv", "--out", "data/cli.bin"];
        args.extend(flags);
        let (ok, out, err) = forest_cli(d, &args);
        assert!(ok, "{out}\n{err}");
        let host_args = ["train", "--train", &p("gaps.csv"), "--out", &p("host.bin")];
        host(&[&host_args[..], &flags].concat());
        let model = std::fs::read(d.join("host.bin")).unwrap();
        assert_eq!(
            std::fs::read(d.join("cli.bin")).unwrap(),
            model,
            "{splitter}"
        );
        let predict = [
            "predict",
            "--model",
            "data/host.bin",
            "--input",
            "data/gaps_test.csv",
        ];
        let (ok, theirs, err) = forest_cli(d, &predict);
        assert!(ok, "{err}");
        let on = |device: &str| {
            let args = [
                "predict",
                "--model",
                &p("host.bin"),
                "--input",
                &p("gaps_test.csv"),
            ];
            host(&[&args[..], &["--device", device]].concat())
        };
        let cpu = on("cpu");
        assert_eq!(theirs, cpu, "{splitter}: the component and the host's CPU");
        let values =
            |text: &str| -> Vec<f64> { text.lines().skip(1).map(|l| l.parse().unwrap()).collect() };
        let (cpu, gpu) = (values(&cpu), values(&on("gpu")));
        assert_eq!(cpu.len(), 89);
        for (c, g) in cpu.iter().zip(&gpu) {
            // f32 sums on the device.
            assert!(
                (c - g).abs() <= 1e-4 * c.abs(),
                "{splitter}: cpu {c}, gpu {g}"
            );
        }
    }
}
