//! The wall-clock limit of guest calls when they carry no interruption
//! checks (`runtime::OnTimeout::ExitProcess`): one process-wide
//! thread watches every armed call and ends the process when one outlives
//! its deadline.
//!
//! Why not wasmtime's epoch interruption: it puts a check on every loop
//! back-edge of the guest, and on the forest's hot loops that check costs a
//! good share of the sandboxed speed (its cold path makes Cranelift spill
//! the loop's state, wasmtime #7244; see docs/performance.md). A thread cannot be stopped from outside
//! while it runs compiled wasm, so the watchdog stops the whole process —
//! which is what the command line would do with a timed-out call anyway.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// The exit status of a process stopped by the watchdog (GNU `timeout`'s).
pub const EXIT_STATUS: i32 = 124;

struct Call {
    deadline: Instant,
    /// The error, as the trap path words it.
    message: String,
    /// The guest's captured stdout/stderr, shown with the error.
    output: MemoryOutputPipe,
}

struct Armed {
    next_id: u64,
    calls: BTreeMap<u64, Call>,
}

static ARMED: Mutex<Armed> = Mutex::new(Armed {
    next_id: 0,
    calls: BTreeMap::new(),
});
/// Signalled when a call is armed (its deadline may be the nearest).
static CHANGED: Condvar = Condvar::new();

/// Disarms its call when dropped (the call returned, trapped or unwound).
pub struct Guard {
    /// `None`: the timeout lies beyond what `Instant` can represent.
    id: Option<u64>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            lock().calls.remove(&id);
        }
    }
}

fn lock() -> MutexGuard<'static, Armed> {
    // No code path panics while holding the lock; if one did, the map is
    // still consistent (every update is a single insert or remove).
    ARMED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the watch thread, once per process.
fn start() -> Result<()> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            std::thread::Builder::new()
                .name("wasm-forest-watchdog".into())
                .spawn(watch)
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(anyhow::Error::msg)
        .context("starting the watchdog thread")
}

/// Arms a deadline `timeout` from now; dropping the guard disarms it. If it
/// passes first, the process prints `message` (and the guest's `output`) and
/// exits with [`EXIT_STATUS`].
pub fn arm(message: String, timeout: Duration, output: &MemoryOutputPipe) -> Result<Guard> {
    let Some(deadline) = Instant::now().checked_add(timeout) else {
        return Ok(Guard { id: None });
    };
    start()?;
    let mut armed = lock();
    let id = armed.next_id;
    armed.next_id += 1;
    armed.calls.insert(
        id,
        Call {
            deadline,
            message,
            output: output.clone(),
        },
    );
    drop(armed);
    CHANGED.notify_one();
    Ok(Guard { id: Some(id) })
}

fn watch() -> ! {
    let mut armed = lock();
    loop {
        let now = Instant::now();
        let next = armed.calls.values().min_by_key(|c| c.deadline);
        armed = match next {
            Some(call) if call.deadline <= now => expire(call),
            Some(call) => {
                let wait = call.deadline - now;
                CHANGED
                    .wait_timeout(armed, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => CHANGED.wait(armed).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

fn expire(call: &Call) -> ! {
    let detail = output_detail(&call.output);
    let mut err = std::io::stderr().lock();
    // A progress bar may own the current terminal line.
    let lead = if err.is_terminal() { "\n" } else { "" };
    let _ = writeln!(err, "{lead}error: {}{detail}", call.message);
    let _ = err.flush();
    std::process::exit(EXIT_STATUS)
}

/// What the guest printed, as the tail of an error ("" if nothing).
pub fn output_detail(output: &MemoryOutputPipe) -> String {
    let output = String::from_utf8_lossy(&output.contents())
        .trim()
        .to_string();
    if output.is_empty() {
        String::new()
    } else {
        format!("\ncomponent output:\n{output}")
    }
}
