//! Trains friedman1 (100 000 rows × 10 features by default, uniform inputs,
//! no noise) natively on one thread with the default `auto` splitter (or
//! another): a target for profilers. `cargo run --release -p
//! wasm-forest-core --example profile_friedman1 [ROWS] [TREES] [RUNS]
//! [SPLITTER]`.
use forest::{Dataset, Params};

mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |s| s.parse().unwrap());
    let trees: u32 = args.next().map_or(10, |s| s.parse().unwrap());
    let runs: usize = args.next().map_or(3, |s| s.parse().unwrap());
    let splitter = args
        .next()
        .map_or(Default::default(), |s| s.parse().unwrap());
    let (x, y) = common::friedman1(&mut forest::rng::Rng::new(11), n);
    let data = Dataset::new(n, 10, &x, &y).unwrap();
    let params = Params {
        n_estimators: trees,
        max_depth: Some(16),
        seed: 42,
        splitter,
        ..Params::default()
    };
    common::profile(&data, &params, runs);
}
