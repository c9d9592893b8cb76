//! Prediction speed of a saved model on a CSV's feature columns (header row,
//! target last, as written by `compare --synthetic`): `cargo run --release -p
//! wasm-forest-core --example predict_model MODEL CSV`. One thread; prints
//! the median of 5, rows per second and a checksum of the predictions.
fn main() {
    let mut args = std::env::args().skip(1);
    let (model, csv) = (args.next().expect("MODEL"), args.next().expect("CSV"));
    let f = forest::model::from_bytes(&std::fs::read(model).unwrap()).unwrap();
    let text = std::fs::read_to_string(csv).unwrap();
    let mut x = Vec::new();
    for line in text.lines().skip(1) {
        let v: Vec<f32> = line.split(',').map(|s| s.parse().unwrap()).collect();
        x.extend_from_slice(&v[..v.len() - 1]);
    }
    let rows = x.len() / f.n_features as usize;
    let mut times = Vec::new();
    let mut check = 0.0;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let p = f.predict(&x, rows).unwrap();
        times.push(t.elapsed().as_secs_f64());
        check = p.iter().sum::<f64>();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{rows} rows x {} trees: median {:.1} ms, {:.0} rows/s (checksum {check:.9})",
        f.n_trees(),
        times[2] * 1e3,
        rows as f64 / times[2]
    );
}
