//! Where an output path leads, and the checks made before any work: shared
//! by the host and the command component, which write differently (the host
//! keeps modes and cleans up after signals; WASI has neither) but must agree
//! on what a path means and on what may never be written over.
//!
//! - `-` is standard output.
//! - A symlink is followed one hop at a time; a regular file at its end (or
//!   no file yet) is replaced atomically, so the link stays a link.
//! - Anything else (a character device such as /dev/null, a FIFO, a socket,
//!   a descriptor path such as /dev/stdout) is a stream: renaming over it
//!   would replace the device instead of writing to it.
//! - An output that is one of the command's inputs, or two outputs that are
//!   one file, are refused: the files are compared, not their names.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// As the kernel allows (Linux's MAXSYMLINKS).
const MAX_LINK_HOPS: usize = 40;

/// Where an output path leads.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// `-`.
    Stdout,
    /// Not a regular file (device, FIFO, descriptor): opened and written.
    Stream(PathBuf),
    /// A regular file, or none yet, at this path (symlinks followed):
    /// replaced atomically.
    File(PathBuf),
}

/// Whether `path` is the name for standard output.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Where writing to `path` leads, following symlinks one hop at a time (so
/// that a descriptor link such as /dev/stdout -> /proc/self/fd/1 is seen
/// for what it is, not resolved to whatever file the descriptor has open).
pub fn destination(path: &Path) -> Result<Destination> {
    if is_stdout(path) {
        return Ok(Destination::Stdout);
    }
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        if is_descriptor_path(&current) {
            return Ok(Destination::Stream(current));
        }
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Destination::File(current));
            }
            Err(e) => return Err(e).with_context(|| format!("cannot write {}", path.display())),
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&current)
                .with_context(|| format!("cannot read the symlink {}", current.display()))?;
            current = parent_dir(&current).join(target);
            continue;
        }
        return kind_of(path, current, &meta);
    }
    bail!(
        "cannot write {}: too many levels of symbolic links (a loop?)",
        path.display()
    )
}

fn kind_of(shown: &Path, real: PathBuf, meta: &Metadata) -> Result<Destination> {
    if meta.is_dir() {
        bail!(
            "cannot write {}: it is a directory (give a file name)",
            shown.display()
        );
    }
    if meta.is_file() {
        Ok(Destination::File(real))
    } else {
        Ok(Destination::Stream(real))
    }
}

/// /dev/fd/N, /proc/PID/fd/N and the like name an open descriptor: they are
/// written through, never replaced (the descriptor may be a pipe, a tty, or
/// a file that a shell opened for appending).
fn is_descriptor_path(path: &Path) -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    let dir = parent_dir(path);
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    real.starts_with("/proc")
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Refuses, before any work, an output `path` that must be a regular file
/// (`why`: what the command does with it afterwards).
pub fn require_file(path: &Path, flag: &str, why: &str) -> Result<()> {
    match destination(path).with_context(|| flag.to_string())? {
        Destination::File(_) => Ok(()),
        _ => bail!(
            "{flag} {}: not a regular file, but {why}: give a file path",
            path.display()
        ),
    }
}

/// Refuses, before any work is done, to write an output over one of the
/// command's inputs, or two outputs to one file: whatever the spelling
/// (relative or absolute, `./`, `..`, symlinks, hard links), the files are
/// compared, not the strings. Each path comes with the flag that named it.
/// Outputs whose directory is in `made_dirs` may have none yet: the command
/// makes it.
pub fn check_outputs(
    inputs: &[(&str, PathBuf)],
    outputs: &[(&str, PathBuf)],
    made_dirs: &[PathBuf],
) -> Result<()> {
    for (i, (flag, out)) in outputs.iter().enumerate() {
        check_writable(flag, out, made_dirs)?;
        if let Some(out_id) = regular_id(out) {
            for (in_flag, input) in inputs {
                if regular_id(input).as_ref() == Some(&out_id) {
                    bail!(
                        "{flag} {} is the same file as the input {in_flag} {}: writing it would destroy the input (choose another output path)",
                        out.display(),
                        input.display()
                    );
                }
            }
        }
        for (other_flag, other) in &outputs[..i] {
            if same_output(out, other) {
                bail!(
                    "{other_flag} {} and {flag} {} are the same file: one output would overwrite the other",
                    other.display(),
                    out.display()
                );
            }
        }
    }
    Ok(())
}

/// Where `out` leads must be writable at all: a symlink loop, a directory
/// or a missing directory fail here, not after the work.
fn check_writable(flag: &str, out: &Path, made_dirs: &[PathBuf]) -> Result<()> {
    if let Destination::File(real) = destination(out).with_context(|| flag.to_string())? {
        let dir = parent_dir(&real);
        if !dir.is_dir() && !made_dirs.iter().any(|d| d == dir) {
            bail!(
                "{flag} {}: the directory {} does not exist",
                out.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// Whether two outputs would land in the same regular file (existing or not).
fn same_output(a: &Path, b: &Path) -> bool {
    if let (Some(x), Some(y)) = (regular_id(a), regular_id(b)) {
        return x == y;
    }
    match (destination(a), destination(b)) {
        (Ok(Destination::File(a)), Ok(Destination::File(b))) => {
            let real = |p: &Path| Some(real_dir(parent_dir(p))?.join(p.file_name()?));
            matches!((real(&a), real(&b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

/// The identity of the regular file at `path` (symlinks followed), or
/// `None` if there is none there: nothing to destroy.
fn regular_id(path: &Path) -> Option<FileId> {
    if is_stdout(path) || !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    file_id(&final_path(path))
}

/// `path` with its symlinks followed to the end. The operating system
/// would follow them too, but wasmtime's WASI hashes a symlink's metadata
/// rather than its target's.
fn final_path(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        let is_link = std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink());
        match std::fs::read_link(&current) {
            Ok(target) if is_link => current = parent_dir(&current).join(target),
            _ => break,
        }
    }
    current
}

#[cfg(not(target_os = "wasi"))]
type FileId = same_file::Handle;

#[cfg(not(target_os = "wasi"))]
fn file_id(path: &Path) -> Option<FileId> {
    same_file::Handle::from_path(path).ok()
}

#[cfg(not(target_os = "wasi"))]
fn real_dir(dir: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(dir).ok()
}

/// Device and inode as WASI gives them (from the filesystem's metadata
/// hash), through wasi-libc's `stat`: the standard library's accessors for
/// them are unstable on WASI.
#[cfg(target_os = "wasi")]
type FileId = (u64, u64);

#[cfg(target_os = "wasi")]
fn file_id(path: &Path) -> Option<FileId> {
    let c = std::ffi::CString::new(path.to_str()?).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `c` is NUL-terminated and `st` is writable for one `stat`,
    // which `stat` fills completely when it returns 0.
    let st = unsafe {
        if libc::stat(c.as_ptr(), st.as_mut_ptr()) != 0 {
            return None;
        }
        st.assume_init()
    };
    Some((st.st_dev, st.st_ino))
}

/// WASI has no canonical paths: a directory is known by its identity.
#[cfg(target_os = "wasi")]
fn real_dir(dir: &Path) -> Option<PathBuf> {
    let (dev, ino) = file_id(dir)?;
    Some(PathBuf::from(format!("/{dev}/{ino}")))
}
