//! Training time of exact, hist and auto (at several crossovers) on
//! friedman1, natively on one thread: `cargo run --release -p
//! wasm-forest-core --example splitter_crossover [ROWS] [TREES]`.
//! Prints the median of 3 and the test MSE of each.
use forest::{Dataset, Params, SplitterKind, Trainer};

mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |s| s.parse().unwrap());
    let trees: u32 = args.next().map_or(20, |s| s.parse().unwrap());
    let mut rng = forest::rng::Rng::new(11);
    let mut rows = |n| common::friedman1(&mut rng, n);
    let (x, y) = rows(n);
    let (tx, ty) = rows(20_000);
    let ds = Dataset::new(n, 10, &x, &y).unwrap();
    let mut configs = vec![
        ("exact".to_string(), SplitterKind::Exact, 0),
        ("hist".to_string(), SplitterKind::Hist, 0),
    ];
    for c in [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384] {
        configs.push((format!("auto<={c}"), SplitterKind::Auto, c));
    }
    for (name, splitter, cross) in configs {
        let params = Params {
            n_estimators: trees,
            max_depth: Some(16),
            seed: 1,
            splitter,
            ..Params::default()
        };
        let mut times = Vec::new();
        let mut mse = 0.0;
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let mut trainer = Trainer::new(&ds, &params).unwrap();
            if cross > 0 {
                trainer.set_auto_exact_rows(cross);
            }
            let trees = trainer.build_trees(0..trees);
            let f = trainer.assemble(&trees, None);
            times.push(t.elapsed().as_secs_f64());
            let p = f.predict(&tx, ty.len()).unwrap();
            mse = p.iter().zip(&ty).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / ty.len() as f64;
        }
        times.sort_by(f64::total_cmp);
        println!("{name:>12}: {:8.1} ms  MSE {mse:.4}", times[1] * 1e3);
    }
}
