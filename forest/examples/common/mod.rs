//! Shared by the examples and the tests (forest's and the host's GPU tests):
//! the shipped diabetes CSVs, friedman1 data and the profiling loop.
#![allow(dead_code)] // each user takes part of it

use forest::{Dataset, Params};

/// `data/<file>` (a header, then numbers; the target last): row-major
/// features and the targets.
pub fn diabetes(file: &str) -> (Vec<f32>, Vec<f64>) {
    let path = format!("{}/../data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        let (t, f) = v.split_last().unwrap();
        x.extend(f.iter().map(|&a| a as f32));
        y.push(*t);
    }
    (x, y)
}

/// `n` rows of friedman1 (10 uniform features, 5 of them used, no noise).
pub fn friedman1(rng: &mut forest::rng::Rng, n: usize) -> (Vec<f32>, Vec<f64>) {
    let x: Vec<f32> = (0..n * 10)
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
        .collect();
    let y = x
        .chunks(10)
        .map(|r| {
            let r: Vec<f64> = r.iter().map(|&v| f64::from(v)).collect();
            10.0 * (std::f64::consts::PI * r[0] * r[1]).sin()
                + 20.0 * (r[2] - 0.5).powi(2)
                + 10.0 * r[3]
                + 5.0 * r[4]
        })
        .collect();
    (x, y)
}

/// Trains `runs` times on one thread, printing the time, the node count and
/// the model's checksum (a change meant to keep the trees must keep it).
pub fn profile(data: &Dataset, params: &Params, runs: usize) {
    for _ in 0..runs {
        let t = std::time::Instant::now();
        let f = forest::train(data, params, None).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let bytes = forest::model::to_bytes(&f).unwrap();
        let crc = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
        println!(
            "{ms:.2} ms, {} nodes, model crc {crc:08x}",
            f.info().n_nodes
        );
    }
}
