//! Atomic file output: a temp file in the target's directory, flushed and
//! synced, then renamed over the target. A crash or error at any point leaves
//! either the old file or the new one, never a partial file.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, |_| Ok(()))
}

/// [`write_atomic`] with a hook run between the synced write and the rename
/// (tests inject failures there).
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".wasm-forest-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", tmp.path().display()))?;
    // On any error from here on, dropping `tmp` deletes the temp file.
    before_rename(tmp.path())?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), vec!["model.bin"]);
    }

    #[test]
    fn a_failure_before_the_rename_leaves_the_old_file_and_no_debris() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, b"old model").unwrap();
        let err = write_atomic_with(&path, b"new model", |tmp| {
            // The new bytes are complete and synced in the temp file by now.
            assert_eq!(std::fs::read(tmp).unwrap(), b"new model");
            anyhow::bail!("injected failure (say, the disk filled up)")
        })
        .unwrap_err();
        assert!(err.to_string().contains("injected failure"));
        assert_eq!(std::fs::read(&path).unwrap(), b"old model");
        assert_eq!(
            entries(dir.path()),
            vec!["model.bin"],
            "the temp file must be removed"
        );
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/model.bin");
        let err = format!("{:#}", write_atomic(&path, b"x").unwrap_err());
        assert!(
            err.contains("cannot create a temporary file in") && err.contains("no/such/dir"),
            "{err}"
        );
    }
}
