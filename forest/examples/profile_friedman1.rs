//! Trains friedman1 (100 000 rows × 10 features by default, uniform inputs,
//! no noise) natively on one thread with the default `auto` splitter: a
//! target for profilers. `cargo run --release -p wasm-forest-core --example
//! profile_friedman1 [ROWS] [TREES] [RUNS]`.
use forest::{Dataset, Params};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |s| s.parse().unwrap());
    let trees: u32 = args.next().map_or(10, |s| s.parse().unwrap());
    let runs: usize = args.next().map_or(3, |s| s.parse().unwrap());
    let mut rng = forest::rng::Rng::new(11);
    let x: Vec<f32> = (0..n * 10)
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
        .collect();
    let y: Vec<f64> = x
        .chunks(10)
        .map(|r| {
            let r: Vec<f64> = r.iter().map(|&v| f64::from(v)).collect();
            10.0 * (std::f64::consts::PI * r[0] * r[1]).sin()
                + 20.0 * (r[2] - 0.5).powi(2)
                + 10.0 * r[3]
                + 5.0 * r[4]
        })
        .collect();
    let data = Dataset::new(n, 10, &x, &y).unwrap();
    let params = Params {
        n_estimators: trees,
        max_depth: Some(16),
        seed: 42,
        ..Params::default()
    };
    for _ in 0..runs {
        let t = std::time::Instant::now();
        let f = forest::train(&data, &params, None).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        // The model's checksum: a change that should keep the trees must keep it.
        let bytes = forest::model::to_bytes(&f).unwrap();
        let crc = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
        println!(
            "{ms:.2} ms, {} nodes, model crc {crc:08x}",
            f.info().n_nodes
        );
    }
}
