//! Files as users really pass them (the binary end to end): outputs that are
//! inputs, devices, FIFOs, symlinks, modes, interrupted saves, unbounded or
//! binary inputs, and which columns a model reads.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wasm-forest"));
    c.current_dir(repo());
    c
}

/// Runs to the end, but no longer than `limit`: a run that would hang or
/// read forever fails the test instead of stalling it.
fn run_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("{cmd:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn run(args: &[&str]) -> Output {
    let mut c = bin();
    c.args(args);
    run_within(c, Duration::from_secs(300))
}

fn ok(args: &[&str]) -> (String, String) {
    let out = run(args);
    let (o, e) = text(&out);
    assert!(
        out.status.success(),
        "{args:?} failed\nstdout:\n{o}\nstderr:\n{e}"
    );
    (o, e)
}

fn fails(args: &[&str]) -> String {
    let out = run(args);
    let (o, e) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}\nstdout:\n{o}\nstderr:\n{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const TRAIN: &str = "data/diabetes_train.csv";
const TEST: &str = "data/diabetes_test.csv";
const FEW: [&str; 4] = ["--n-estimators", "3", "--max-depth", "4"];

fn train_to(out: &Path) {
    let mut args = vec!["train", "--train", TRAIN, "--out", p(out)];
    args.extend(FEW);
    ok(&args);
}

/// Every other name for `file` a user might type: relative with `./` and
/// `..`, absolute, through a symlink, a hard link. `dir` must hold `file`.
fn spellings(dir: &Path, file: &str) -> Vec<String> {
    let abs = dir.join(file);
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let link = dir.join(format!("link-{file}"));
    let hard = dir.join(format!("hard-{file}"));
    if !link.exists() {
        std::os::unix::fs::symlink(&abs, &link).unwrap();
        std::fs::hard_link(&abs, &hard).unwrap();
    }
    vec![
        p(&abs).to_string(),
        format!("{}/./{file}", p(dir)),
        format!("{}/sub/../{file}", p(dir)),
        format!("{}//{file}", p(dir)),
        p(&link).to_string(),
        p(&hard).to_string(),
    ]
}

fn digest(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn an_output_that_is_an_input_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = d.join("a.csv");
    std::fs::copy(repo().join(TRAIN), &csv).unwrap();
    let test = d.join("t.csv");
    std::fs::copy(repo().join(TEST), &test).unwrap();
    let model = d.join("m.bin");
    train_to(&model);
    let before = [digest(&csv), digest(&test), digest(&model)];
    for out in spellings(d, "a.csv") {
        let err = fails(&["train", "--train", p(&csv), "--out", &out]);
        assert!(
            err.contains("is the same file as the input --train"),
            "{out}: {err}"
        );
        let err = fails(&[
            "bench",
            "--train",
            p(&csv),
            "--test",
            p(&test),
            "--model-out",
            &out,
        ]);
        assert!(
            err.contains("--model-out") && err.contains("the input --train"),
            "{out}: {err}"
        );
    }
    for out in spellings(d, "t.csv") {
        let err = fails(&[
            "predict",
            "--model",
            p(&model),
            "--input",
            p(&test),
            "--out",
            &out,
        ]);
        assert!(err.contains("the input --input"), "{out}: {err}");
        let err = fails(&[
            "bench",
            "--train",
            p(&csv),
            "--test",
            p(&test),
            "--json",
            &out,
        ]);
        assert!(err.contains("the input --test"), "{out}: {err}");
    }
    for out in spellings(d, "m.bin") {
        let err = fails(&[
            "predict",
            "--model",
            p(&model),
            "--input",
            p(&test),
            "--out",
            &out,
        ]);
        assert!(err.contains("the input --model"), "{out}: {err}");
        // Two outputs into one file.
        let err = fails(&[
            "bench",
            "--train",
            p(&csv),
            "--test",
            p(&test),
            "--json",
            &out,
            "--model-out",
            p(&model),
        ]);
        assert!(err.contains("are the same file"), "{out}: {err}");
    }
    // Refused before any work: nothing was even read, and nothing changed.
    assert_eq!([digest(&csv), digest(&test), digest(&model)], before);
    // Outputs that do not exist yet but are one file.
    let err = fails(&[
        "compare",
        "--no-python",
        "--json",
        p(&d.join("x.json")),
        "--plot",
        &format!("{}/sub/../x.json", p(d)),
    ]);
    assert!(err.contains("are the same file"), "{err}");
}

#[test]
fn devices_fifos_and_descriptors_are_written_to_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A FIFO: the model streams through it.
    let fifo = d.join("model.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    train_to(&fifo);
    let streamed = reader.join().unwrap();
    assert!(
        streamed.starts_with(b"WFOREST\0"),
        "{} bytes",
        streamed.len()
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(fifo.metadata().unwrap().file_type().is_fifo());
    // The streamed bytes are the model a file would hold.
    let file = d.join("model.bin");
    train_to(&file);
    assert_eq!(streamed, digest(&file));
    // A link to our standard output (as /dev/stdout is): the predictions
    // come out there, and the link stays a link.
    let to_stdout = d.join("stdout-link");
    std::os::unix::fs::symlink("/proc/self/fd/1", &to_stdout).unwrap();
    let (o, _) = ok(&[
        "predict",
        "--model",
        p(&file),
        "--input",
        TEST,
        "--out",
        p(&to_stdout),
    ]);
    assert_eq!(o.lines().count(), 90, "{o}");
    assert!(
        to_stdout
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // `-` is standard output; the status lines then go to stderr.
    let (o, e) = ok(&[
        "predict",
        "--model",
        p(&file),
        "--input",
        TEST,
        "--out",
        "-",
    ]);
    assert!(
        o.starts_with("prediction\n") && o.lines().count() == 90,
        "{o}"
    );
    assert!(e.contains("Predicted 89 rows"), "{e}");
    let mut args = vec!["train", "--train", TRAIN, "--out", "-"];
    args.extend(FEW);
    let out = run(&args);
    assert!(out.status.success());
    assert_eq!(out.stdout, streamed, "the model alone on stdout");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Model saved to: standard output"));
    // A character device (a null device made in the temp dir, as root, so
    // that the real /dev is never at stake): written to, never replaced.
    let null = d.join("null");
    let made = is_root()
        && Command::new("mknod")
            .arg(&null)
            .args(["c", "1", "3"])
            .status()
            .is_ok_and(|s| s.success());
    if made {
        let mut args = vec!["train", "--train", TRAIN, "--out", p(&null)];
        args.extend(FEW);
        ok(&args);
        assert!(null.metadata().unwrap().file_type().is_char_device());
    }
    // A missing directory is found before any work (no line on stdout).
    let missing = d.join("no/such/dir/m.bin");
    let out = run(&["train", "--train", TRAIN, "--out", p(&missing)]);
    let (o, e) = text(&out);
    assert!(!out.status.success() && o.is_empty(), "{o}");
    assert!(e.contains("no/such/dir does not exist"), "{e}");
    // A directory is no output.
    let err = fails(&[
        "predict",
        "--model",
        p(&file),
        "--input",
        TEST,
        "--out",
        p(d),
    ]);
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn a_symlinked_output_stays_a_link_and_its_target_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("models")).unwrap();
    let target = d.join("models/current.bin");
    std::fs::write(&target, b"old").unwrap();
    let link = d.join("latest.bin");
    std::os::unix::fs::symlink("models/current.bin", &link).unwrap();
    train_to(&link);
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(digest(&target).starts_with(b"WFOREST\0"));
    // No temp file is left in either directory.
    for sub in [d.to_path_buf(), d.join("models")] {
        let names: Vec<_> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }
    // A loop is a clear error, for an output and for an input.
    std::os::unix::fs::symlink(d.join("loop2"), d.join("loop1")).unwrap();
    std::os::unix::fs::symlink(d.join("loop1"), d.join("loop2")).unwrap();
    let err = fails(&["train", "--train", TRAIN, "--out", p(&d.join("loop1"))]);
    assert!(err.contains("too many levels of symbolic links"), "{err}");
    let mut c = bin();
    c.current_dir(d)
        .args(["train", "--train", "loop1", "--out", "m.bin"]);
    let out = run_within(c, Duration::from_secs(60));
    let (_, e) = text(&out);
    assert!(!out.status.success());
    assert!(!e.contains("does not exist") && e.contains("loop1"), "{e}");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().unwrap().permissions().mode() & 0o7777
}

#[test]
fn outputs_are_created_as_the_umask_says_and_keep_their_mode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (umask, expect) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let out = d.join(format!("m{umask}.bin"));
        let status = Command::new("sh")
            .current_dir(repo())
            .args([
                "-c",
                &format!(
                    "umask {umask} && exec \"$0\" train --train {TRAIN} --out {} --n-estimators 2",
                    p(&out)
                ),
                env!("CARGO_BIN_EXE_wasm-forest"),
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(mode(&out), expect, "umask {umask}");
    }
    let kept = d.join("kept.bin");
    train_to(&kept);
    use std::os::unix::fs::PermissionsExt;
    for m in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(m)).unwrap();
        train_to(&kept);
        assert_eq!(mode(&kept), m);
    }
}

/// Whether this test runs as root (as CI does).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn root_replacing_a_users_file_keeps_its_owner_and_a_user_writes_as_a_user() {
    if !is_root() {
        eprintln!("not root: the owner half of this test needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    let theirs = d.join("theirs.bin");
    std::fs::write(&theirs, b"old").unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    train_to(&theirs);
    let meta = theirs.metadata().unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    // The same binary run as an unprivileged user (nobody) creates files it
    // owns, with the umask's mode, and refuses what it may not write.
    let repo_copy = d.join("data");
    std::fs::create_dir(&repo_copy).unwrap();
    std::fs::copy(repo().join(TRAIN), repo_copy.join("train.csv")).unwrap();
    let exe = d.join("wasm-forest");
    std::fs::copy(env!("CARGO_BIN_EXE_wasm-forest"), &exe).unwrap();
    let as_nobody = |args: &str| {
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sh",
                "-c",
            ])
            .arg(format!(
                "umask 022 && cd {} && HOME={} {} {args}",
                p(d),
                p(d),
                p(&exe)
            ))
            .output()
            .unwrap()
    };
    let out = as_nobody("train --train data/train.csv --out mine.bin --n-estimators 2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = d.join("mine.bin").metadata().unwrap();
    assert_eq!((meta.uid(), mode(&d.join("mine.bin"))), (65534, 0o644));
    let out = as_nobody("train --train data/train.csv --out /root/nope.bin --n-estimators 2");
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("/root/nope.bin") && e.contains("Permission denied"),
        "{e}"
    );
}

fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".wasm-forest-") && n.ends_with(".tmp"))
        .collect()
}

/// Starts a save of large synthetic CSVs into `dir` and returns the process
/// once its temp file exists.
fn interrupted_save(dir: &Path) -> std::process::Child {
    let mut child = bin()
        .args([
            "compare",
            "--no-python",
            "--no-native",
            "--synthetic",
            "friedman1:3000000",
            "--synthetic-dir",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while temps(dir).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it was interrupted"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no temp file appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

#[test]
fn an_interrupted_save_leaves_no_temp_file_and_a_killed_one_is_cleared_later() {
    let dir = tempfile::tempdir().unwrap();
    for signal in ["-INT", "-TERM"] {
        let child = interrupted_save(dir.path());
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{signal}");
        assert_eq!(temps(dir.path()), Vec::<String>::new(), "{signal}");
    }
    let mut child = interrupted_save(dir.path());
    child.kill().unwrap(); // SIGKILL: nothing can clean up
    child.wait().unwrap();
    let left = temps(dir.path());
    assert_eq!(left.len(), 1, "{left:?}");
    train_to(&dir.path().join("model.bin"));
    assert_eq!(temps(dir.path()), Vec::<String>::new());
}

#[test]
fn unbounded_or_binary_inputs_are_refused_early() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let limit = Duration::from_secs(60);
    let refused = |args: &[&str]| {
        let mut c = bin();
        c.args(args);
        let out = run_within(c, limit);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        text(&out).1
    };
    // Endless NULs, and a 2 GB sparse file (one hole).
    let sparse = d.join("sparse.csv");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    for input in ["/dev/zero", p(&sparse)] {
        let e = refused(&["train", "--train", input, "--out", p(&d.join("m.bin"))]);
        assert!(
            e.contains(": line 1: a NUL byte (at byte 0): this is not a text CSV file"),
            "{e}"
        );
    }
    let model = d.join("m.bin");
    train_to(&model);
    let e = refused(&["predict", "--model", p(&model), "--input", "/dev/zero"]);
    assert!(e.contains("a NUL byte"), "{e}");
    // Models are refused from their header.
    for m in ["/dev/zero", TRAIN, p(&sparse)] {
        let e = refused(&["info", m]);
        assert!(
            e.contains("not a wasm-forest model file (wrong magic bytes)"),
            "{m}: {e}"
        );
        let e = refused(&["predict", "--model", m, "--input", TEST]);
        assert!(e.contains("wrong magic bytes"), "{m}: {e}");
    }
    let mut huge = digest(&model)[..24].to_vec();
    huge[12..20].copy_from_slice(&(3u64 << 30).to_le_bytes());
    let huge_path = d.join("huge.bin");
    std::fs::write(&huge_path, &huge).unwrap();
    let e = refused(&["info", p(&huge_path)]);
    assert!(
        e.contains("beyond the 1024 MiB limit of a model file"),
        "{e}"
    );
    // A line that never ends.
    let long = d.join("long.csv");
    std::fs::write(&long, vec![b'7'; 9 << 20]).unwrap();
    let e = refused(&["train", "--train", p(&long), "--out", p(&model)]);
    assert!(e.contains("line 1: a record longer than 8 MiB"), "{e}");
    // Data beyond the memory limit stops at its line.
    let big = d.join("big.csv");
    let mut text = String::from("a,b,c,target\n");
    for i in 0..40_000 {
        text.push_str(&format!("{i},1,2,3\n"));
    }
    std::fs::write(&big, text).unwrap();
    let e = refused(&[
        "train",
        "--train",
        p(&big),
        "--max-memory",
        "1",
        "--out",
        p(&model),
    ]);
    assert!(
        e.contains("big.csv: line 32770: the data read so far takes more than 1 MiB of memory"),
        "{e}"
    );
}

#[test]
fn huge_counts_and_bad_parameters_are_refused_before_the_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.bin");
    // The CSV does not exist: parameters are checked first.
    for (flag, value, message) in [
        (
            "--n-estimators",
            "4294967295",
            "n_estimators must be <= 44739242",
        ),
        ("--n-estimators", "0", "n_estimators must be >= 1"),
        ("--min-samples-split", "1", "min_samples_split must be >= 2"),
        (
            "--max-samples",
            "0.5",
            "max_samples cannot be set if bootstrap=false",
        ),
    ] {
        let e = fails(&[
            "train",
            "--train",
            "no/such.csv",
            "--out",
            p(&out),
            flag,
            value,
            "--bootstrap",
            "false",
        ]);
        assert!(e.contains(message) && !e.contains("no/such.csv"), "{e}");
    }
    // Those that need the data: after reading it, once, with no worker number.
    let e = fails(&[
        "train",
        "--train",
        TRAIN,
        "--out",
        p(&out),
        "--max-features",
        "50",
    ]);
    assert!(
        e.contains("invalid parameters: max_features must be in [1, n_features=10], got 50")
            && !e.contains("worker"),
        "{e}"
    );
    // Synthetic data that could never be loaded is not generated.
    let syn = dir.path().join("syn");
    let e = fails(&[
        "compare",
        "--no-python",
        "--synthetic",
        "friedman1:100000000",
        "--synthetic-dir",
        p(&syn),
    ]);
    assert!(e.contains("beyond the 4096 MiB limit"), "{e}");
    assert!(!syn.exists());
    // Nor are prediction batches that could not be held.
    let e = fails(&[
        "--max-memory",
        "100",
        "predict-bench",
        "--sizes",
        "10,10000000",
        "--n-estimators",
        "1",
    ]);
    assert!(
        e.contains("--sizes 10000000: 10000000 rows of 10 features take 381 MiB"),
        "{e}"
    );
    // Column names a model could not hand back are refused where the model
    // is made.
    let wide = dir.path().join("wide.csv");
    let names: Vec<String> = (0..6000)
        .map(|i| format!("feature_with_a_long_descriptive_name_{i:06}"))
        .collect();
    let row = vec!["1"; 6001].join(",");
    std::fs::write(&wide, format!("{},target\n{row}\n{row}\n", names.join(","))).unwrap();
    let e = fails(&[
        "train",
        "--train",
        p(&wide),
        "--out",
        p(&out),
        "--n-estimators",
        "1",
    ]);
    assert!(
        e.contains("beyond the 256 KiB a model may hold") && !e.contains("worker"),
        "{e}"
    );
}

#[test]
fn the_model_remembers_its_target_and_prediction_reads_only_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("age.bin");
    // Trained for 'age': the column named 'target' is a feature here.
    ok(&[
        "train",
        "--train",
        TRAIN,
        "--target",
        "age",
        "--out",
        p(&model),
        "--n-estimators",
        "20",
    ]);
    let (info, _) = ok(&["info", p(&model)]);
    assert!(info.contains("Target: age"), "{info}");
    let (_, e) = ok(&[
        "predict",
        "--model",
        p(&model),
        "--input",
        TEST,
        "--out",
        p(&d.join("p.csv")),
    ]);
    let mse: f64 = e
        .lines()
        .find_map(|l| l.strip_prefix("Mean Squared Error (vs 'age'): "))
        .unwrap_or_else(|| panic!("{e}"))
        .parse()
        .unwrap();
    // Ages are scaled to about ±0.1: against 'target' it would be ~26 000.
    assert!(mse < 0.01, "{mse}");
    // --target still overrides.
    let (_, e) = ok(&[
        "predict",
        "--model",
        p(&model),
        "--input",
        TEST,
        "--target",
        "bmi",
        "--out",
        p(&d.join("bmi.csv")),
    ]);
    assert!(e.contains("(vs 'bmi')"), "{e}");
    // Extra columns, text or empty, are passed over; the model's columns
    // are found by name in any order.
    let csv = std::fs::read_to_string(repo().join(TEST)).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let mut mixed = format!("id,note,{header},empty\n");
    for (i, l) in lines.enumerate() {
        mixed.push_str(&format!("row-{i},\"a, b\",{l},\n"));
    }
    std::fs::write(d.join("mixed.csv"), mixed).unwrap();
    let a = ok(&["predict", "--model", p(&model), "--input", TEST]).0;
    let b = ok(&[
        "predict",
        "--model",
        p(&model),
        "--input",
        p(&d.join("mixed.csv")),
    ])
    .0;
    assert_eq!(a, b);
}
