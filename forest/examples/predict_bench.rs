//! Prediction speed on the diabetes forest (200 trees, depth 16) for a large
//! batch of random rows: `cargo run --release -p wasm-forest-core --example
//! predict_bench [ROWS]`. Prints the median of 5 and rows per second.
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
    let f = forest::train(&data, &params, None).unwrap();
    let rows: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |s| s.parse().unwrap());
    // Rows drawn from the training rows' ranges, mixed per feature.
    let mut rng = forest::rng::Rng::new(1);
    let batch: Vec<f32> = (0..rows * 10)
        .map(|i| x[rng.below(y.len() as u64) as usize * 10 + i % 10])
        .collect();
    let mut times = Vec::new();
    let mut check = 0.0;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let p = f.predict(&batch, rows).unwrap();
        times.push(t.elapsed().as_secs_f64());
        check = p.iter().sum::<f64>();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{rows} rows x 200 trees: median {:.1} ms, {:.0} rows/s (checksum {check:.6})",
        times[2] * 1e3,
        rows as f64 / times[2]
    );
}
