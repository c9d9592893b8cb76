//! Training and prediction spread over several sandboxed instances, and the
//! progress the component reports while it trains.

use std::path::Path;
use std::sync::Arc;

use forest::{Params, SplitterKind};
use wasm_forest::bench::{load_training, train_native, training_bytes};
use wasm_forest::parallel::{self, Predictor, shares};
use wasm_forest::progress::TreeProgress;
use wasm_forest::runtime::{Dataset, Device, Limits, Runtime};

fn diabetes() -> Dataset {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    load_training(&root.join("data/diabetes_train.csv"), None)
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
    parallel::train(rt, ds, p, workers, training_bytes(ds, p), None).unwrap()
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
fn progress_reports_are_monotonic_and_end_at_each_share() {
    let rt = Runtime::new(None, Limits::default()).unwrap();
    let ds = diabetes();
    // Enough trees for several 250 ms report intervals on any machine.
    let p = Params {
        max_depth: None,
        ..params(3000, SplitterKind::Exact)
    };
    let s = shares(p.n_estimators, 2);
    let progress = Arc::new(TreeProgress::new(s.iter().map(|s| s.1).collect(), None));
    parallel::train(
        &rt,
        &ds,
        &p,
        2,
        training_bytes(&ds, &p),
        Some(progress.clone()),
    )
    .unwrap();
    assert_eq!(progress.trees_done(), 3000);
    let log = progress.log();
    for (w, &(_, count)) in s.iter().enumerate() {
        let mine: Vec<(u32, u32)> = log
            .iter()
            .filter(|r| r.0 == w)
            .map(|r| (r.1, r.2))
            .collect();
        assert!(mine.len() >= 2, "worker {w}: {mine:?}");
        assert!(mine.iter().all(|&(_, total)| total == count), "{mine:?}");
        assert!(mine.windows(2).all(|x| x[0].0 < x[1].0), "{mine:?}");
        assert_eq!(mine.last(), Some(&(count, count)));
    }
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
    assert_eq!(b.devices, vec![Device::Cpu; 3]);
    // Fewer rows than instances: only as many shares as rows.
    let c = three.predict(&ds.features[..20], 2, Device::Cpu).unwrap();
    assert_eq!(c.values, a.values[..2]);
}
