//! Training and prediction spread over several sandboxed instances, and the
//! progress the component reports while it trains.

use std::path::Path;
use std::sync::Arc;

use forest::{Params, SplitterKind};
use wasm_forest::jobs::{load_training, train_native};
use wasm_forest::parallel::{self, Predictor, shares};
use wasm_forest::progress::TreeProgress;
use wasm_forest::runtime::{Dataset, Device, Limits, Runtime};

fn diabetes() -> Dataset {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    load_training(
        &root.join("data/diabetes_train.csv"),
        (None, None),
        u64::MAX,
    )
    .unwrap()
    .1
}

fn params(n: u32, splitter: SplitterKind) -> Params {
    Params {
        n_estimators: n,
        max_depth: Some(16),
        seed: 42,
        splitter,
        ..Params::default()
    }
}

fn train(rt: &Runtime, ds: &Dataset, p: &Params, workers: usize) -> parallel::Trained {
    parallel::train(rt, ds, p, (Device::Cpu, workers), None).unwrap()
}

#[test]
fn shares_cover_every_item_once_in_order() {
    for (n, w) in [(200, 2), (200, 3), (7, 9), (1, 4), (10, 1), (5, 5)] {
        let s = shares(n, w);
        assert_eq!(s.len(), w.min(n as usize), "{n} over {w}");
        let mut next = 0;
        for (first, count) in s {
            assert!(count > 0);
            assert_eq!(first, next);
            next += count;
        }
        assert_eq!(next, n);
    }
    assert!(shares(0, 3).is_empty());
}

#[test]
fn any_worker_count_gives_the_same_model_bytes_as_native() {
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let ds = diabetes();
    for splitter in [SplitterKind::Exact, SplitterKind::Auto] {
        let p = params(30, splitter);
        let native = train_native(&ds, &p, 1).unwrap();
        for workers in [1, 2, 3] {
            let t = train(&rt, &ds, &p, workers);
            assert_eq!(t.workers, workers);
            assert!(
                t.model == native,
                "{splitter}: {workers} workers differ from native"
            );
        }
        assert_eq!(train_native(&ds, &p, 3).unwrap(), native);
    }
}

#[test]
fn progress_reports_are_monotonic_and_add_up_to_the_forest() {
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let ds = diabetes();
    // Enough trees for several 250 ms report intervals on any machine.
    let p = Params {
        max_depth: None,
        ..params(3000, SplitterKind::Exact)
    };
    let progress = Arc::new(TreeProgress::new(2, p.n_estimators, None));
    parallel::train(&rt, &ds, &p, (Device::Cpu, 2), Some(progress.clone())).unwrap();
    assert_eq!(progress.trees_done(), 3000);
    // Each worker grows what it claims from the queue: its reports rise and
    // its last one is its count; the two counts make the forest.
    let log = progress.log();
    let mut last = 0;
    for w in 0..2 {
        let mine: Vec<(u32, u32)> = log
            .iter()
            .filter(|r| r.0 == w)
            .map(|r| (r.1, r.2))
            .collect();
        assert!(mine.len() >= 2, "worker {w}: {mine:?}");
        assert!(mine.iter().all(|&(_, total)| total == 3000), "{mine:?}");
        assert!(mine.windows(2).all(|x| x[0].0 < x[1].0), "{mine:?}");
        last += mine.last().unwrap().0;
    }
    assert_eq!(last, 3000);
}

#[test]
fn prediction_shares_give_the_one_instance_answer() {
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let ds = diabetes();
    let model = train(&rt, &ds, &params(20, SplitterKind::Auto), 2).model;
    let n = ds.n_rows;
    let mut one = Predictor::new(&rt, &model, 1, 64 << 20).unwrap();
    let mut three = Predictor::new(&rt, &model, 3, 64 << 20).unwrap();
    assert_eq!(three.workers(), 3);
    let a = one.predict(&ds.features, n, Device::Cpu).unwrap();
    let b = three.predict(&ds.features, n, Device::Cpu).unwrap();
    assert_eq!(a.values, b.values);
    // The sandbox predicts what the forest crate predicts natively, to the
    // bit, for odd and even batches (prediction walks rows in pairs).
    let native = forest::model::from_bytes(&model).unwrap();
    assert_eq!(n % 2, 1);
    assert_eq!(a.values, native.predict(&ds.features, n as usize).unwrap());
    let even = &ds.features[..(n - 1) as usize * ds.n_features as usize];
    let d = one.predict(even, n - 1, Device::Cpu).unwrap();
    assert_eq!(d.values, native.predict(even, n as usize - 1).unwrap());
    assert_eq!(b.devices, vec![Device::Cpu; 3]);
    // Fewer rows than instances: only as many shares as rows.
    let c = three.predict(&ds.features[..20], 2, Device::Cpu).unwrap();
    assert_eq!(c.values, a.values[..2]);
}

#[test]
fn trainer_pieces_are_train_part_bytes() {
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let ds = diabetes();
    let p = params(9, SplitterKind::Auto);
    let mut job = rt.instantiate(64 << 20).unwrap();
    let trainer = job.start_trainer(&ds, &p, Device::Cpu).unwrap();
    for (first, count) in [(0, 9), (0, 1), (4, 3), (8, 1)] {
        let piece = job.grow_part(&trainer, (first, count), 0, count).unwrap();
        let part = job.train_part(&ds, &p, first, count).unwrap();
        assert!(piece == part, "trees {first}+{count}");
    }
    // Outside the forest: the guest's error, the trainer still usable.
    let err = job.grow_part(&trainer, (8, 2), 0, 2).unwrap_err();
    assert!(format!("{err:#}").contains("n_estimators"), "{err:#}");
    assert!(job.grow_part(&trainer, (0, 1), 0, 1).is_ok());
    job.drop_trainer(trainer).unwrap();
    // Bad parameters are refused when the trainer starts.
    let bad = Params {
        min_samples_split: 1,
        ..p
    };
    let err = job.start_trainer(&ds, &bad, Device::Cpu).err().unwrap();
    assert!(format!("{err:#}").contains("min_samples_split"), "{err:#}");
}

/// Rows with enough distinct values that unlimited-depth trees are large.
fn wide(n: u32) -> Dataset {
    let mut s = 12345u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as f32 / (1u64 << 31) as f32
    };
    let features: Vec<f32> = (0..n * 5).map(|_| next()).collect();
    let targets = features
        .chunks(5)
        .map(|r| f64::from(r[0] * 10.0 + r[1] * r[2] * 5.0 + r[3]))
        .collect();
    Dataset {
        n_rows: n,
        n_features: 5,
        features,
        targets,
        feature_names: None,
        target_name: None,
        sample_weight: None,
    }
}

#[test]
fn a_workers_memory_does_not_grow_with_the_forest() {
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let ds = wide(20_000);
    let run = |n| {
        let p = Params {
            max_depth: None,
            ..params(n, SplitterKind::Auto)
        };
        train(&rt, &ds, &p, 1)
    };
    let (few, many) = (run(2), run(16));
    let mib = |b: usize| b as f64 / f64::from(1 << 20);
    // Each tree (~25 000 nodes, ~0.5 MB as part bytes) leaves the worker in
    // a piece of at most about PART_BYTES: one or two trees, held twice while
    // they are encoded (24 bytes a node in memory, 20 encoded). 14 more trees
    // cost the worker at most that piece (the host merges the parts); a
    // worker that kept its trees would grow by over 8 MiB.
    assert!(many.grow_calls > 8, "{} grow calls", many.grow_calls);
    assert!(
        many.peak_worker_memory < few.peak_worker_memory + 3 * wasm_forest::parallel::PART_BYTES,
        "worker: {:.1} MiB for 2 trees, {:.1} MiB for 16",
        mib(few.peak_worker_memory),
        mib(many.peak_worker_memory)
    );
    assert!(
        many.model.len() > few.model.len() + (6 << 20),
        "model: {:.1} MiB for 2 trees, {:.1} MiB for 16",
        mib(few.model.len()),
        mib(many.model.len())
    );
}

#[test]
fn pieces_start_with_one_tree_then_take_a_share_of_what_is_left() {
    use wasm_forest::parallel::{PART_BYTES, TreeQueue, next_chunk};
    assert_eq!(next_chunk(0, 0, 100, 2), 1);
    assert_eq!(next_chunk(0, 0, 0, 2), 0);
    // Small trees: a quarter of what is left for 2 workers, never more than fit.
    assert_eq!(next_chunk(1, PART_BYTES / 100, 99, 1), 50);
    assert_eq!(next_chunk(1, PART_BYTES / 100, 99, 2), 25);
    assert_eq!(next_chunk(1, PART_BYTES / 100, 500, 1), 100);
    assert_eq!(next_chunk(1, 10, 1, 2), 1);
    // Trees larger than the budget: one at a time.
    assert_eq!(next_chunk(3, 3 * PART_BYTES * 2, 50, 1), 1);
    // The queue hands out every tree once, in order, from any number of threads.
    let queue = TreeQueue::new(1000, 3);
    let claims = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let (mut done, mut bytes) = (0, 0);
                while let Some((first, count)) = queue.claim(done, bytes) {
                    claims.lock().unwrap().push((first, count));
                    (done, bytes) = (done + count, bytes + 5000 * count as usize);
                }
            });
        }
    });
    let mut claims = claims.into_inner().unwrap();
    claims.sort();
    let mut next = 0;
    for (first, count) in claims {
        assert!(
            count >= 1 && first == next,
            "claim {first}+{count} after {next}"
        );
        next += count;
    }
    assert_eq!(next, 1000);
    assert_eq!(TreeQueue::new(0, 2).claim(0, 0), None);
}
