//! `train`, `predict` and `info`.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::bench::{hint_data_dir, load_training, training_bytes};
use crate::cli::{InfoArgs, PredictArgs, TrainArgs};
use crate::data;
use crate::fsio::write_atomic;
use crate::runtime::{Job, ModelHandle, ModelInfo, Runtime};
use crate::stats::{ms, mse};

pub fn train(rt: &Runtime, args: &TrainArgs) -> Result<()> {
    let params = args.forest.params(100, None);
    let (xy, ds) = load_training(&args.train, args.target.as_deref())?;
    let mut job = rt.instantiate(training_bytes(&ds, &params))?;
    let t = Instant::now();
    let bytes = job.train(&ds, &params)?;
    let elapsed = t.elapsed();
    write_atomic(&args.out, &bytes)?;
    println!(
        "Trained {} trees on {} rows x {} features (target '{}') in {} in the sandbox",
        params.n_estimators,
        xy.n_rows,
        xy.n_features(),
        xy.target_name.as_deref().unwrap_or_default(),
        ms(elapsed.as_secs_f64())
    );
    println!(
        "Model saved to: {} ({} bytes)",
        args.out.display(),
        bytes.len()
    );
    Ok(())
}

/// Loads a model file into a fresh sandbox sized for it plus `extra_bytes` of input.
fn load_model(
    rt: &Runtime,
    path: &std::path::Path,
    extra_bytes: u64,
) -> Result<(Job, ModelHandle, ModelInfo)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read model file {}", path.display()))?;
    let mut job = rt.instantiate(16 * (bytes.len() as u64 + extra_bytes))?;
    let model = job
        .load_model(&bytes)
        .with_context(|| format!("{} is not a usable model", path.display()))?;
    let info = job.model_info(&model)?;
    Ok((job, model, info))
}

pub fn predict(rt: &Runtime, args: &PredictArgs) -> Result<()> {
    let table = data::read_csv(&args.input).map_err(|e| hint_data_dir(e, &args.input))?;
    let (mut job, model, info) = load_model(rt, &args.model, 4 * table.n_values() as u64)?;
    let xy = table.for_prediction(
        info.n_features as usize,
        info.feature_names.as_deref(),
        args.target.as_deref(),
    )?;
    let t = Instant::now();
    let predictions = job.predict(&model, &xy.features, xy.n_rows as u32)?;
    let elapsed = t.elapsed();
    job.drop_model(model)?;

    let mut csv = String::with_capacity(predictions.len() * 20 + 16);
    csv.push_str("prediction\n");
    for p in &predictions {
        // `{}` prints the shortest text that reads back as the same f64.
        writeln!(csv, "{p}").unwrap();
    }
    // Data on stdout (or the file), diagnostics on stderr.
    match &args.out {
        Some(path) => {
            write_atomic(path, csv.as_bytes())?;
            eprintln!("Predictions written to: {}", path.display());
        }
        None => print!("{csv}"),
    }
    eprintln!(
        "Predicted {} rows in {} in the sandbox",
        xy.n_rows,
        ms(elapsed.as_secs_f64())
    );
    if let (Some(targets), Some(name)) = (&xy.targets, &xy.target_name) {
        eprintln!(
            "Mean Squared Error (vs '{name}'): {:.4}",
            mse(&predictions, targets)
        );
    }
    Ok(())
}

pub fn info(rt: &Runtime, args: &InfoArgs) -> Result<()> {
    let (mut job, model, info) = load_model(rt, &args.model, 0)?;
    job.drop_model(model)?;
    let p = &info.params;
    println!("Model: {}", args.model.display());
    println!("Trees: {}", info.n_trees);
    println!("Nodes: {} ({} leaves)", info.n_nodes, info.n_leaves);
    println!("Max depth reached: {}", info.max_depth);
    println!("Features: {}", info.n_features);
    if let Some(names) = &info.feature_names {
        println!("Feature names: {}", names.join(", "));
    }
    println!("Training rows: {}", info.n_train_rows);
    println!(
        "Parameters: n_estimators={} max_depth={} min_samples_split={} min_samples_leaf={} max_features={:?} bootstrap={} max_samples={:?} seed={}",
        p.n_estimators,
        p.max_depth.map_or_else(|| "none".into(), |d| d.to_string()),
        p.min_samples_split,
        p.min_samples_leaf,
        p.max_features,
        p.bootstrap,
        p.max_samples,
        p.seed
    );
    Ok(())
}
