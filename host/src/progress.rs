//! Progress bars on stderr, drawn only when stderr is a terminal (never into
//! redirected output) and only once the work has run for over a second.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    terminal: bool,
}

impl Progress {
    pub fn new(label: &str, total: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} {elapsed} {per_sec}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        Progress {
            bar,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show_if_slow(&self) {
        if self.terminal && self.bar.is_hidden() && self.started.elapsed() > Duration::from_secs(1)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    pub fn inc(&self) {
        self.show_if_slow();
        self.bar.inc(1);
    }

    pub fn set(&self, pos: u64) {
        self.show_if_slow();
        self.bar.set_position(pos);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Trees grown so far by several sandboxed workers, fed by their `progress`
/// imports: each worker's count only moves forward and never past the trees
/// the host has handed it ([`TreeProgress::claim`]).
pub struct TreeProgress {
    claimed: Vec<AtomicU32>,
    done: Vec<AtomicU32>,
    bar: Option<Progress>,
    /// Every (worker, trees-done, trees-total) report as the guest sent it.
    log: Mutex<Vec<(usize, u32, u32)>>,
}

/// Most reports kept in the log: a hostile guest cannot grow it without bound.
const LOG_CAP: usize = 100_000;

impl TreeProgress {
    /// `total` trees over `workers` workers; a bar labelled `label` if given.
    pub fn new(workers: usize, total: u32, label: Option<&str>) -> TreeProgress {
        TreeProgress {
            claimed: (0..workers).map(|_| AtomicU32::new(0)).collect(),
            done: (0..workers).map(|_| AtomicU32::new(0)).collect(),
            bar: label.map(|l| Progress::new(l, u64::from(total))),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Worker `worker` was handed `trees` more trees.
    pub fn claim(&self, worker: usize, trees: u32) {
        if let Some(c) = self.claimed.get(worker) {
            c.fetch_add(trees, Ordering::Relaxed);
        }
    }

    pub fn report(&self, worker: usize, done: u32, total: u32) {
        if let Ok(mut log) = self.log.lock()
            && log.len() < LOG_CAP
        {
            log.push((worker, done, total));
        }
        let (Some(slot), Some(claimed)) = (self.done.get(worker), self.claimed.get(worker)) else {
            return;
        };
        slot.fetch_max(done.min(claimed.load(Ordering::Relaxed)), Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set(self.trees_done());
        }
    }

    pub fn trees_done(&self) -> u64 {
        self.done
            .iter()
            .map(|d| u64::from(d.load(Ordering::Relaxed)))
            .sum()
    }

    pub fn log(&self) -> Vec<(usize, u32, u32)> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
