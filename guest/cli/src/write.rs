//! Writing outputs under WASI. What a path leads to, and the checks made
//! before any work, are `cli_common::outputs`, shared with the host: `-` is
//! standard output, a device or FIFO is written as a stream, and a regular
//! file (symlinks followed) is replaced through a temp file beside it and a
//! rename, so that a failed write never leaves half a file. WASI has no
//! modes or owners to keep and no signals to clean up after: a temp file
//! left by a killed run is removed by a later save into the same directory.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

use cli_common::outputs::{Destination, destination, parent_dir};

const TEMP_PREFIX: &str = ".wasm-forest-wasi-";
const TEMP_SUFFIX: &str = ".tmp";
/// A temp file untouched for this long belongs to no running save (a save
/// writes its temp file in one go, after the work).
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Writes `bytes` to the output `path`.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    match destination(path)? {
        Destination::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .context("writing to standard output")
        }
        Destination::Stream(real) => File::options()
            .write(true)
            .open(real)
            .and_then(|mut f| f.write_all(bytes))
            .with_context(|| format!("writing {}", path.display())),
        Destination::File(real) => replace(&real, bytes),
    }
}

fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    remove_stale_temps(dir);
    let (tmp, mut file) = create_temp(dir)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot replace {}", path.display()))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A new file of ours in `dir`, never one that exists already.
fn create_temp(dir: &Path) -> Result<(std::path::PathBuf, File)> {
    for _ in 0..16 {
        let tmp = dir.join(format!("{TEMP_PREFIX}{:016x}{TEMP_SUFFIX}", random()));
        match File::options().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot create a temporary file in {}", dir.display())
                });
            }
        }
    }
    bail!("cannot create a temporary file in {}", dir.display())
}

/// 64 random bits from WASI's random source (through std's hasher keys).
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// Removes temp files of ours in `dir` that nobody has touched for an hour.
/// Best effort: anything unreadable stays.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX));
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok());
        if ours && age.is_some_and(|a| a > STALE_AFTER) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
