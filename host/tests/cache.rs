//! The compile cache end to end: whatever is found in place of a cache
//! entry, the binary never runs it. It compiles again, gives the same model
//! as without a cache, says so in one line and leaves a good entry behind.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

const NOTE: &str = "note: the compiled-code cache entry ";

/// One small bench run (3 trees, CPU only) with `cache` as the cache
/// directory (`None`: `--no-cache`): its `[SETUP] Component` line, its
/// stderr and the model it wrote.
fn bench(dir: &Path, cache: Option<&Path>) -> (String, String, Vec<u8>) {
    let model = dir.join("m.bin");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasm-forest"));
    cmd.args([
        "bench",
        "--repeat",
        "1",
        "--n-estimators",
        "3",
        "--no-native",
    ])
    .args(["--device", "cpu", "--workers", "1", "--model-out"])
    .arg(&model)
    .current_dir(repo());
    match cache {
        Some(c) => cmd.env("WASM_FOREST_CACHE_DIR", c),
        None => cmd.arg("--no-cache"),
    };
    let out = cmd.output().unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "bench failed ({:?})\nstdout:\n{o}\nstderr:\n{e}",
        out.status
    );
    let setup = o
        .lines()
        .find(|l| l.starts_with("[SETUP] Component"))
        .unwrap_or_else(|| panic!("no setup line in\n{o}"))
        .to_string();
    (setup, e, std::fs::read(&model).unwrap())
}

/// The only file in `cache`.
fn entry(cache: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one entry, no debris: {files:?}");
    files.into_iter().next().unwrap()
}

/// Ways an entry is found damaged: the entry's bytes → what to put there.
fn damages(good: &[u8]) -> Vec<(String, Option<Vec<u8>>)> {
    let n = good.len();
    let flip = |i: usize| {
        let mut b = good.to_vec();
        b[i] ^= 0x5a;
        (format!("byte {i} of {n} flipped"), Some(b))
    };
    let mut cases: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    // The header: magic, format, length, digest.
    for i in [0, 7, 8, 12, 19, 20, 35, 51] {
        cases.push(flip(i));
    }
    // The code: its start (wasmtime's ELF header), throughout, its end.
    for i in [52, 53, 100, n / 7, n / 3, n / 2, 2 * n / 3, n - 100, n - 1] {
        cases.push(flip(i));
    }
    for cut in [1, 51, 52, n / 2, n - 1] {
        cases.push((
            format!("truncated to {cut} bytes"),
            Some(good[..cut].to_vec()),
        ));
    }
    let mut longer = good.to_vec();
    longer.push(0);
    cases.push(("one byte appended".into(), Some(longer.clone())));
    longer.extend(std::iter::repeat_n(0xcc, 4095));
    cases.push(("4 KiB appended".into(), Some(longer)));
    cases.push(("an empty file".into(), Some(Vec::new())));
    cases.push(("text".into(), Some(b"not a compiled component".to_vec())));
    // `None`: a directory in the entry's place.
    cases.push(("a directory".into(), None));
    cases
}

#[test]
fn a_damaged_cache_entry_is_never_run_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (setup, _, reference) = bench(dir.path(), None);
    assert!(setup.contains("compiled (no cache)"), "{setup}");

    let (setup, err, model) = bench(dir.path(), Some(&cache));
    assert!(setup.contains("compiled, then cached"), "{setup}");
    assert!(!err.contains(NOTE), "{err}");
    assert_eq!(model, reference);
    let file = entry(&cache);
    let good = std::fs::read(&file).unwrap();
    let (setup, err, _) = bench(dir.path(), Some(&cache));
    assert!(
        setup.contains("loaded precompiled from the cache"),
        "{setup}"
    );
    assert!(!err.contains(NOTE), "{err}");

    for (what, bytes) in damages(&good) {
        eprintln!("{what}");
        match &bytes {
            Some(b) => std::fs::write(&file, b).unwrap(),
            None => {
                std::fs::remove_file(&file).unwrap();
                std::fs::create_dir(&file).unwrap();
            }
        }
        let (setup, err, model) = bench(dir.path(), Some(&cache));
        assert_eq!(model, reference, "{what}: a different model");
        let notes: Vec<&str> = err.lines().filter(|l| l.starts_with(NOTE)).collect();
        assert_eq!(notes.len(), 1, "{what}: one note expected\n{err}");
        assert!(
            notes[0].contains(&file.display().to_string())
                && notes[0].contains(" was damaged (")
                && notes[0].ends_with("); recompiled and replaced"),
            "{what}: {}",
            notes[0]
        );
        assert!(
            setup.contains("compiled, then cached (replacing a damaged entry: "),
            "{what}: {setup}"
        );
        // A good entry again: the next run loads it, silently.
        assert_eq!(entry(&cache), file);
        let (setup, err, model) = bench(dir.path(), Some(&cache));
        assert!(
            setup.contains("loaded precompiled from the cache"),
            "{what}, next run: {setup}"
        );
        assert!(!err.contains(NOTE), "{what}, next run: {err}");
        assert_eq!(model, reference, "{what}, next run");
    }
}
