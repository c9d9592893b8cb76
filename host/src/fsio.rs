//! Output files, written as a careful tool writes them. What a path means
//! (`-`, symlinks, devices, FIFOs, descriptor paths) and the checks made
//! before any work (an output is never an input) are
//! [`cli_common::outputs`], shared with the command component; this module
//! writes:
//!
//! - A regular file (or a path that does not exist yet) is replaced
//!   atomically: a temp file in its directory, flushed and synced, then
//!   renamed over it. A crash or error at any point leaves either the old
//!   file or the new one, never a partial file. A replaced file keeps its
//!   mode and owner; a new one gets 0666 less the umask, as `>` in a shell
//!   would.
//! - Anything that is not a regular file is opened and written as a stream.
//!
//! Temp files are named `.wasm-forest-<pid>-<random>.tmp`. Those of a
//! process that was interrupted (SIGINT, SIGTERM: see [`remove_temps`]) are
//! removed on the way out; those of a process that was killed outright are
//! removed by the next save into the same directory.

use std::fs::{File, Metadata};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};

pub use cli_common::outputs::{
    Destination, check_outputs, destination, is_stdout, parent_dir, require_file,
};

const TEMP_PREFIX: &str = ".wasm-forest-";
const TEMP_SUFFIX: &str = ".tmp";

/// Temp files being written by this process, for [`remove_temps`].
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Writes `bytes` to the output `path` (see the module documentation).
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    write_streamed(path, |w| w.write_all(bytes))
}

/// [`write_output`] of what `fill` writes, without holding it all in memory.
pub fn write_streamed(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_output_with(path, fill, |_| Ok(()))
}

/// [`write_streamed`] with a hook run between the synced write and the
/// rename of an atomic replace (tests inject failures there).
pub fn write_output_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    before_rename: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    match destination(path)? {
        Destination::Stdout => {
            let mut out = std::io::stdout().lock();
            fill(&mut out)
                .and_then(|()| out.flush())
                .context("writing to standard output")
        }
        Destination::Stream(p) => write_stream(path, &p, fill),
        Destination::File(p) => replace_atomically(&p, fill, before_rename),
    }
}

fn write_stream(
    shown: &Path,
    real: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let f = File::options()
        .write(true)
        .open(real)
        .with_context(|| format!("cannot open {} for writing", shown.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
    fill(&mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("writing {}", shown.display()))
}

fn replace_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    before_rename: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let dir = parent_dir(path);
    remove_stale_temps(dir);
    let existing = std::fs::metadata(path).ok();
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created with 0666: the kernel takes the umask off.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let registered = Registered::new(tmp.path());
    if let Some(meta) = &existing {
        keep_mode_and_owner(tmp.as_file(), meta);
    }
    let shown = tmp.path().display().to_string();
    let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
    fill(&mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("writing {shown}"))?;
    drop(w);
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", tmp.path().display()))?;
    // On any error from here on, dropping `tmp` deletes the temp file.
    before_rename(tmp.path())?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    drop(registered);
    Ok(())
}

/// A replaced file keeps what its owner chose for it. Best effort: a file
/// we may replace but not chown stays ours.
fn keep_mode_and_owner(tmp: &File, old: &Metadata) {
    let _ = tmp.set_permissions(old.permissions());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::fchown(tmp, Some(old.uid()), Some(old.gid()));
    }
}

/// A temp file listed in [`TEMPS`] while it exists under its temp name.
struct Registered(PathBuf);

impl Registered {
    fn new(path: &Path) -> Registered {
        lock_temps().push(path.to_path_buf());
        Registered(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock_temps().retain(|p| p != &self.0);
    }
}

fn lock_temps() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temp files this process is writing: for a signal handler
/// that is about to end the process (the temp files' destructors will not
/// run then).
pub fn remove_temps() {
    for path in lock_temps().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// Removes temp files of ours in `dir` that their writer left behind when it
/// was killed (its process is gone). Best effort: anything unreadable stays.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_owner) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The writer's process id, if `name` is one of our temp files.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` exists. Where this cannot be told (no /proc), the
/// answer is yes: a temp file that might be in use is never removed.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Reads a model file: its header first, so that anything else (a CSV,
/// /dev/zero, a file too large to be a model) is refused from its first
/// bytes; then exactly the payload the header announces, no more.
pub fn read_model(path: &Path) -> Result<Vec<u8>> {
    use forest::model::{HEADER_LEN, payload_len};
    use std::io::Read;
    let shown = path.display();
    let unusable = |e: forest::ForestError| anyhow::anyhow!("{shown} is not a usable model: {e}");
    let mut file = File::open(path).with_context(|| format!("cannot read model file {shown}"))?;
    let mut bytes = Vec::with_capacity(HEADER_LEN);
    (&mut file)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read model file {shown}"))?;
    let payload = payload_len(&bytes).map_err(unusable)?;
    let want = HEADER_LEN as u64 + payload;
    if let Ok(meta) = file.metadata()
        && meta.is_file()
        && meta.len() != want
    {
        // The forest crate's words for the same faults.
        let actual = meta.len().saturating_sub(HEADER_LEN as u64);
        let fault = if actual < payload {
            format!(
                "truncated: the header announces {payload} payload bytes, the file has {actual}"
            )
        } else {
            format!(
                "{} trailing bytes after the {payload}-byte payload",
                actual - payload
            )
        };
        bail!("{shown} is not a usable model: invalid model: {fault}");
    }
    bytes.reserve_exact(payload as usize);
    // One byte more than announced: a stream that goes on is too long.
    file.take(payload + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read model file {shown}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests that write take this: `remove_temps` clears every write in
    /// flight, and one test checks the registry's exact content.
    static WRITING: Mutex<()> = Mutex::new(());

    fn writing() -> std::sync::MutexGuard<'static, ()> {
        WRITING.lock().unwrap_or_else(|e| e.into_inner())
    }

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
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, b"old").unwrap();
        write_output(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), vec!["model.bin"]);
    }

    #[test]
    fn a_failure_before_the_rename_leaves_the_old_file_and_no_debris() {
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, b"old model").unwrap();
        let err = write_output_with(
            &path,
            |w| w.write_all(b"new model"),
            |tmp| {
                // The new bytes are complete and synced in the temp file by now.
                assert_eq!(std::fs::read(tmp).unwrap(), b"new model");
                assert_eq!(lock_temps().as_slice(), [tmp.to_path_buf()]);
                anyhow::bail!("injected failure (say, the disk filled up)")
            },
        )
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
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/model.bin");
        let err = format!("{:#}", write_output(&path, b"x").unwrap_err());
        assert!(
            err.contains("cannot create a temporary file in") && err.contains("no/such/dir"),
            "{err}"
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", write_output(dir.path(), b"x").unwrap_err());
        assert!(err.contains("is a directory"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_stays_a_link() {
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("real");
        std::fs::create_dir(&sub).unwrap();
        let target = sub.join("model.bin");
        std::fs::write(&target, b"old").unwrap();
        // A relative link, resolved against the link's own directory; and a
        // link to that link.
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink("real/model.bin", &link).unwrap();
        let link2 = dir.path().join("link2.bin");
        std::os::unix::fs::symlink(&link, &link2).unwrap();
        write_output(&link2, b"new").unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert!(link2.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(entries(&sub), vec!["model.bin"]);
        // A dangling link gets its target created.
        let dangling = dir.path().join("dangling.bin");
        std::os::unix::fs::symlink("real/new.bin", &dangling).unwrap();
        write_output(&dangling, b"fresh").unwrap();
        assert_eq!(std::fs::read(sub.join("new.bin")).unwrap(), b"fresh");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_a_clear_error() {
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let err = format!("{:#}", write_output(&a, b"x").unwrap_err());
        assert!(err.contains("too many levels of symbolic links"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_as_a_stream_not_replaced() {
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_output(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        use std::os::unix::fs::FileTypeExt;
        assert!(fifo.metadata().unwrap().file_type().is_fifo());
        // Also when reached through a symlink.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert_eq!(destination(&link).unwrap(), Destination::Stream(fifo));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn descriptor_paths_are_streams() {
        let _w = writing();
        for p in ["/dev/stdout", "/dev/stderr", "/dev/fd/1", "/proc/self/fd/2"] {
            assert!(
                matches!(destination(Path::new(p)).unwrap(), Destination::Stream(_)),
                "{p}"
            );
        }
        assert_eq!(
            destination(Path::new("/dev/null")).unwrap(),
            Destination::Stream("/dev/null".into())
        );
        assert_eq!(destination(Path::new("-")).unwrap(), Destination::Stdout);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_follow_the_umask_and_replaced_files_keep_their_mode() {
        let _w = writing();
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| p.metadata().unwrap().permissions().mode() & 0o777;
        // The test process's umask (not changed here: other tests run in
        // parallel threads), read back from a file created the usual way.
        let probe = dir.path().join("probe");
        std::fs::write(&probe, b"").unwrap();
        let new = dir.path().join("new.bin");
        write_output(&new, b"x").unwrap();
        assert_eq!(mode(&new), mode(&probe));
        let kept = dir.path().join("kept.bin");
        std::fs::write(&kept, b"old").unwrap();
        for m in [0o640, 0o604, 0o755] {
            std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(m)).unwrap();
            write_output(&kept, b"new").unwrap();
            assert_eq!(mode(&kept), m);
        }
    }

    #[test]
    fn stale_temps_of_dead_writers_are_cleared_by_the_next_save() {
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        // A pid far above Linux's pid_max: no such process.
        let dead = dir.path().join(".wasm-forest-99999999-abc123.tmp");
        let mine = dir
            .path()
            .join(format!(".wasm-forest-{}-abc123.tmp", std::process::id()));
        let other = dir.path().join(".wasm-forest-notes.tmp");
        for p in [&dead, &mine, &other] {
            std::fs::write(p, b"partial").unwrap();
        }
        write_output(&dir.path().join("model.bin"), b"x").unwrap();
        let left = entries(dir.path());
        let expect_dead_gone = Path::new("/proc/self").exists();
        assert_eq!(
            left.contains(&".wasm-forest-99999999-abc123.tmp".to_string()),
            !expect_dead_gone,
            "{left:?}"
        );
        assert!(mine.exists() && other.exists(), "{left:?}");
    }

    #[test]
    fn remove_temps_removes_what_is_being_written() {
        let _w = writing();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        write_output_with(
            &path,
            |w| w.write_all(b"x"),
            |tmp| {
                remove_temps();
                assert!(!tmp.exists());
                anyhow::bail!("interrupted")
            },
        )
        .unwrap_err();
        assert_eq!(entries(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn temp_names_are_recognised() {
        assert_eq!(temp_owner(".wasm-forest-123-Ab9xYz.tmp"), Some(123));
        assert_eq!(temp_owner(".wasm-forest-123-.tmp"), None);
        assert_eq!(temp_owner(".wasm-forest-x-Ab9xYz.tmp"), None);
        assert_eq!(temp_owner("wasm-forest-123-Ab9xYz.tmp"), None);
        assert_eq!(temp_owner(".wasm-forest-123-Ab9xYz"), None);
    }

    /// Property: for random spellings of random files (relative, absolute,
    /// `./`, `..`, `//`, symlinks, chains of symlinks, hard links, files
    /// that do not exist yet), `check_outputs` refuses exactly when the
    /// output is the input's file.
    #[cfg(unix)]
    #[test]
    fn outputs_are_compared_with_inputs_by_file_not_by_name() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let d = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        let files = ["x.csv", "a/y.csv", "a/b/z.bin"];
        for f in files {
            std::fs::write(d.join(f), f).unwrap();
        }
        // Other names for them.
        std::os::unix::fs::symlink(d.join("x.csv"), d.join("a/to-x")).unwrap();
        std::os::unix::fs::symlink("../y.csv", d.join("a/b/to-y")).unwrap();
        std::os::unix::fs::symlink(d.join("a/b/to-y"), d.join("to-to-y")).unwrap();
        std::fs::hard_link(d.join("a/b/z.bin"), d.join("hard-z")).unwrap();
        let mut names: Vec<String> = [
            "x.csv",
            "a/y.csv",
            "a/b/z.bin",
            "a/to-x",
            "a/b/to-y",
            "to-to-y",
            "hard-z",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        names.extend(["new.bin", "a/new.bin"].map(String::from));
        let mut rng = forest::rng::Rng::new(7);
        let mut pick = move |n: usize| (rng.next_u64() % n as u64) as usize;
        let spellings = |name: &str| -> [PathBuf; 5] {
            [
                d.join(name),
                d.join(".").join(name),
                d.join("a/..").join(name),
                PathBuf::from(format!("{}//{name}", d.display())),
                d.join("a/b/../..").join(name),
            ]
        };
        let mut spell = || {
            let name = &names[pick(names.len())];
            spellings(name)[pick(5)].clone()
        };
        let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        let (mut refused, mut allowed) = (0, 0);
        for _ in 0..400 {
            let (input, output) = (spell(), spell());
            let same = id(&input).is_some() && id(&input) == id(&output);
            let result = check_outputs(
                &[("--in", input.clone())],
                &[("--out", output.clone())],
                &[],
            );
            assert_eq!(
                result.is_err(),
                same,
                "{} vs {}",
                input.display(),
                output.display()
            );
            if same { refused += 1 } else { allowed += 1 }
        }
        assert!(
            refused > 20 && allowed > 20,
            "{refused} refused, {allowed} allowed"
        );
    }
}
