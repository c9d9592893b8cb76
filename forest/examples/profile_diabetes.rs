//! Trains the diabetes benchmark natively in a loop: a target for profilers
//! (`perf record`, `valgrind --tool=callgrind`).
use forest::{Dataset, Params};

mod common;

fn main() {
    let path = format!("{}/../data/diabetes_train.csv", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        x.extend(v[..v.len() - 1].iter().map(|&a| a as f32));
        y.push(v[v.len() - 1]);
    }
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
