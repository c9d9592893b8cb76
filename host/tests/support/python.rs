//! The Python-side tests' one way of finding python3 (WASM_FOREST_PYTHON or
//! `python3`) and of deciding whether they can run: when the modules they
//! need do not import, they are skipped with the reason printed, unless
//! WASM_FOREST_REQUIRE_PYTHON=1 (CI sets it) makes that a failure.

// Each test binary that includes this uses some of it.
#![allow(dead_code)]

use std::process::Command;

pub fn python() -> String {
    std::env::var("WASM_FOREST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Why `import {modules}` fails in [`python`], if it does.
pub fn missing(modules: &str) -> Option<String> {
    match Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .output()
    {
        Err(e) => Some(format!("{} cannot be run: {e}", python())),
        Ok(o) if !o.status.success() => Some(
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string(),
        ),
        Ok(_) => None,
    }
}

/// Whether `test` can run (`modules` import); if not, says why and how to
/// install them (`hint`), or fails when WASM_FOREST_REQUIRE_PYTHON is set.
pub fn available(test: &str, modules: &str, hint: &str) -> bool {
    let Some(reason) = missing(modules) else {
        return true;
    };
    assert!(
        std::env::var("WASM_FOREST_REQUIRE_PYTHON").is_err(),
        "WASM_FOREST_REQUIRE_PYTHON is set but {reason}"
    );
    eprintln!("SKIPPED {test}: {reason} ({hint})");
    false
}

/// Runs pytest on `file` (from the repository's root) with `envs` and
/// this build's binary as WASM_FOREST_BIN; fails unless exactly `n` tests
/// passed and none was skipped.
pub fn pytest(file: &str, envs: &[(&str, &std::ffi::OsStr)], n: usize) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", file])
        .envs(envs.iter().copied())
        .env("WASM_FOREST_BIN", env!("CARGO_BIN_EXE_wasm-forest"))
        .current_dir(root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{file} failed");
    assert!(
        text.contains(&format!("{n} passed")) && !text.contains("skipped"),
        "expected {n} tests of {file} to pass:\n{text}"
    );
}
