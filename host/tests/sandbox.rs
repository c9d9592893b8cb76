//! The host against a hostile component (guest/chaos): every misbehaviour
//! becomes one clear error, and the next job in the same process works.

use std::path::Path;
use std::time::Duration;

use forest::Params;
use wasm_forest::runtime::{Dataset, Limits, OnTimeout, Runtime};

/// What the chaos component's `train` does; it reads the choice from
/// `params.seed` (the table at the top of guest/chaos/src/lib.rs).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Chaos {
    /// Returns an empty model: a normal job.
    Behaves = 0,
    LoopsForever = 1,
    AllocatesWithoutBound = 2,
    RecursesWithoutBound = 3,
    Panics = 4,
    ProbesFilesAndEnvironment = 5,
    ReportsNonsenseProgress = 7,
}

fn params(chaos: Chaos) -> Params {
    Params {
        n_estimators: 10,
        seed: chaos as u64,
        ..Params::default()
    }
}

fn tiny() -> Dataset {
    Dataset {
        n_rows: 4,
        n_features: 1,
        features: vec![1.0, 2.0, 3.0, 4.0],
        targets: vec![1.0, 1.0, 2.0, 2.0],
        feature_names: None,
        target_name: None,
        sample_weight: None,
    }
}

fn chaos(limits: Limits) -> Runtime {
    Runtime::new(Some(Path::new(env!("WASM_FOREST_CHAOS_COMPONENT"))), limits).unwrap()
}

fn limits() -> Limits {
    Limits {
        max_memory: Some(64 << 20),
        timeout: Duration::from_millis(300),
        // In-process: the deadline traps, and the next job works.
        on_timeout: OnTimeout::Trap,
        fuel: None,
    }
}

#[test]
fn a_limit_below_the_components_initial_memory_refuses_to_start() {
    let rt = Runtime::new(
        None,
        Limits {
            max_memory: Some(64 << 10),
            ..limits()
        },
    )
    .unwrap();
    let err = rt.instantiate(0).err().expect("64 KiB is too little");
    assert!(
        format!("{err:#}").contains("needs more than the 64 KiB memory limit just to start"),
        "{err:#}"
    );
}

/// Runs the chaos `train` misbehaving as `chaos` on a fresh job and returns
/// the error text.
fn misbehave(rt: &Runtime, chaos: Chaos) -> String {
    let mut job = rt.instantiate(0).unwrap();
    let err = job
        .train(&tiny(), &params(chaos))
        .expect_err("the chaos guest must fail");
    let text = format!("{err:#}");
    eprintln!("{chaos:?}: {text}");
    // A normal job in the same process, on the same runtime, still works.
    let mut next = rt.instantiate(0).unwrap();
    assert_eq!(
        next.train(&tiny(), &params(Chaos::Behaves)).unwrap(),
        Vec::<u8>::new()
    );
    text
}

#[test]
fn an_endless_loop_is_stopped_by_the_deadline() {
    let rt = chaos(limits());
    let t = std::time::Instant::now();
    let err = misbehave(&rt, Chaos::LoopsForever);
    assert!(
        err.starts_with("train: the component ran out of time after 300ms"),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(30));
}

#[test]
fn an_endless_loop_is_stopped_by_fuel() {
    let rt = chaos(Limits {
        fuel: Some(5_000_000),
        ..limits()
    });
    let err = misbehave(&rt, Chaos::LoopsForever);
    assert!(
        err.starts_with("train: the component ran out of fuel after 5000000 units"),
        "{err}"
    );
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let rt = chaos(limits());
    let err = misbehave(&rt, Chaos::AllocatesWithoutBound);
    assert!(
        err.starts_with("train: the component exceeded the 64 MiB memory limit"),
        "{err}"
    );
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let rt = chaos(limits());
    let err = misbehave(&rt, Chaos::RecursesWithoutBound);
    assert!(
        err.starts_with("train: the component overflowed its 1 MiB stack"),
        "{err}"
    );
}

#[test]
fn a_panic_is_a_trap_with_the_guest_message() {
    let rt = chaos(limits());
    let err = misbehave(&rt, Chaos::Panics);
    assert!(err.starts_with("train: the component trapped: "), "{err}");
    assert!(err.contains("chaos guest: deliberate panic"), "{err}");
}

#[test]
fn the_library_component_sees_no_files_and_no_environment() {
    let rt = chaos(limits());
    let err = misbehave(&rt, Chaos::ProbesFilesAndEnvironment);
    assert!(err.contains("invalid data: file: Err("), "{err}");
    assert!(err.contains("dir: Err("), "{err}");
    assert!(err.contains("env vars: 0;"), "{err}");
    assert!(err.contains("HOME: Err("), "{err}");
}

#[test]
fn an_oversized_result_is_refused() {
    let rt = chaos(limits());
    let mut job = rt.instantiate(0).unwrap();
    let model = job.load_model(b"anything").unwrap();
    let err = format!("{:#}", job.predict(&model, &[1.0; 10], 10).unwrap_err());
    assert!(
        err.starts_with("model.predict: the component returned more than the expected"),
        "{err}"
    );
    let mut next = rt.instantiate(0).unwrap();
    assert!(next.train(&tiny(), &params(Chaos::Behaves)).is_ok());
}

#[test]
fn the_real_component_works_after_all_that() {
    let rt = chaos(limits());
    for chaos in [
        Chaos::LoopsForever,
        Chaos::AllocatesWithoutBound,
        Chaos::RecursesWithoutBound,
        Chaos::Panics,
    ] {
        misbehave(&rt, chaos);
    }
    let real = Runtime::new(None, Limits::default()).unwrap();
    let mut job = real.instantiate(0).unwrap();
    let real_params = Params {
        n_estimators: 10,
        seed: 42,
        ..Params::default()
    };
    let model = job.train(&tiny(), &real_params).unwrap();
    let handle = job.load_model(&model).unwrap();
    let p = job.predict(&handle, &[1.5, 3.5], 2).unwrap();
    assert!(p[0] < p[1], "{p:?}");
}

#[test]
fn nonsense_progress_is_clamped_and_logged() {
    let rt = chaos(limits());
    let progress = std::sync::Arc::new(wasm_forest::progress::TreeProgress::new(1, 10, None));
    progress.claim(0, 10);
    let mut job = rt.instantiate(0).unwrap();
    job.report_progress(progress.clone(), 0);
    job.train(&tiny(), &params(Chaos::ReportsNonsenseProgress))
        .unwrap();
    // Backwards and beyond-the-total reports never move the count past the
    // trees handed out.
    assert_eq!(progress.trees_done(), 10);
    assert_eq!(progress.log().len(), 5);
}
