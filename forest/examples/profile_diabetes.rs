//! Trains the diabetes benchmark natively in a loop: a target for profilers
//! (`perf record`, `valgrind --tool=callgrind`).
use forest::{Dataset, Params};

mod common;

fn main() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let data = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let params = Params {
        n_estimators: 200,
        max_depth: Some(16),
        seed: 42,
        ..Params::default()
    };
    let runs: usize = std::env::args().nth(1).map_or(5, |s| s.parse().unwrap());
    common::profile(&data, &params, runs);
}
