//! `train`, `predict` and `info`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cli::{ImportanceArgs, InfoArgs, PredictArgs, TrainArgs};
use crate::data;
use crate::fsio::write_output;
use crate::jobs::{hint_data_dir, inference_bytes, load_training, prediction_workers};
use std::sync::Arc;

use crate::parallel::{self, Predictor};
use crate::progress::TreeProgress;
use crate::report::Importance;
use crate::runtime::{Dataset, Device, Job, ModelHandle, ModelInfo, OobPredictions, Runtime};

use crate::stats::{mb, mb_per_s, mib, ms, mse};

/// Prints a status line: on standard output, unless the command's data
/// goes there.
macro_rules! status {
    ($to_stderr:expr, $($arg:tt)*) => {
        if $to_stderr { eprintln!($($arg)*) } else { println!($($arg)*) }
    };
}

pub fn train(rt: &Runtime, args: &TrainArgs, workers: usize) -> Result<()> {
    let params = args.forest.params(100, None);
    let quiet = crate::fsio::is_stdout(&args.out);
    let t = Instant::now();
    let (xy, ds) = load_training(
        &args.train,
        (args.target.as_deref(), args.weight.as_deref()),
        rt.data_budget(),
    )?;
    let load = t.elapsed().as_secs_f64();
    status!(
        quiet,
        "Loaded {} ({} rows, {}) in {} ({}, streamed)",
        args.train.display(),
        xy.n_rows,
        mb(xy.source_bytes),
        ms(load),
        mb_per_s(xy.source_bytes, load)
    );
    let progress = Arc::new(TreeProgress::new(
        parallel::training_workers(params.n_estimators, workers),
        params.n_estimators,
        Some("training trees"),
    ));
    let t = Instant::now();
    let device = (args.device.wit(), workers);
    let trained = parallel::train(rt, &ds, &params, device, Some(progress.clone()))?;
    let elapsed = t.elapsed();
    progress.finish();
    let device_text = training_device_text(&trained, params.splitter);
    let bytes = trained.model;
    write_output(&args.out, &bytes)?;
    status!(
        quiet,
        "Trained {} trees on {} rows x {} features (target '{}'){} in {} in the sandbox ({} worker instance{}, {}){}",
        params.n_estimators,
        xy.n_rows,
        xy.n_features(),
        xy.target_name.as_deref().unwrap_or_default(),
        data::weighted_by(&xy),
        ms(elapsed.as_secs_f64()),
        trained.workers,
        if trained.workers == 1 { "" } else { "s" },
        crate::stats::trees_per_s(params.n_estimators, elapsed.as_secs_f64()),
        device_text
    );
    status!(
        quiet,
        "Peak guest memory: {} per worker instance; the host merged the parts in {}",
        mib(trained.peak_worker_memory as u64),
        ms(trained.merge.as_secs_f64())
    );
    status!(
        quiet,
        "Model saved to: {} ({} bytes)",
        if quiet {
            "standard output".into()
        } else {
            args.out.display().to_string()
        },
        bytes.len()
    );
    if args.wants_oob() {
        out_of_bag(rt, args, (&xy, &ds), &bytes, (workers, quiet))?;
    }
    Ok(())
}

/// `--oob-score` and `--oob-out`: the training rows' out-of-bag predictions,
/// made in the sandbox, their R² and, with `--oob-out`, the predictions.
fn out_of_bag(
    rt: &Runtime,
    args: &TrainArgs,
    (xy, ds): (&data::Xy, &Dataset),
    model: &[u8],
    (workers, quiet): (usize, bool),
) -> Result<()> {
    let t = Instant::now();
    let workers = prediction_workers(workers, ds.n_rows as usize);
    let need = inference_bytes(model.len(), ds.features.len() / workers);
    let mut predictor = Predictor::new(rt, model, workers, need)?;
    let oob = predictor.out_of_bag(&ds.features, ds.n_rows, ds.sample_weight.as_deref())?;
    let n_trees = predictor.info.n_trees;
    predictor.drop_models()?;
    let elapsed = t.elapsed();
    let score = forest::r2_score(&ds.targets, &oob.predictions);
    let n = oob.n_trees.len();
    let trees: u64 = oob.n_trees.iter().map(|&k| u64::from(k)).sum();
    status!(
        quiet,
        "Out-of-bag R² (scikit-learn's oob_score_): {score:.4}; each row predicted by the {:.1} of {} trees that left it out, on average; {} in the sandbox ({workers} worker instance{})",
        trees as f64 / n as f64,
        n_trees,
        ms(elapsed.as_secs_f64()),
        if workers == 1 { "" } else { "s" },
    );
    let unseen = oob.n_trees.iter().filter(|&&k| k == 0).count();
    if unseen > 0 {
        eprintln!(
            "warning: every tree drew {unseen} of the {n} rows, so they have no out-of-bag prediction: the score counts them as predicted 0, as scikit-learn does (more trees leave every row out of some)"
        );
    }
    if let Some(path) = &args.oob_out {
        write_output(
            path,
            &oob_csv(xy.target_name.as_deref(), &ds.targets, &oob)?,
        )?;
        status!(
            quiet,
            "Out-of-bag predictions written to: {}",
            path.display()
        );
    }
    Ok(())
}

/// `--oob-out`'s CSV: row, target, oob_prediction (empty for a row no tree
/// left out), oob_trees.
fn oob_csv(target: Option<&str>, targets: &[f64], oob: &OobPredictions) -> Result<Vec<u8>> {
    let mut csv = csv::Writer::from_writer(Vec::with_capacity(targets.len() * 48 + 64));
    csv.write_record([
        "row",
        target.unwrap_or("target"),
        "oob_prediction",
        "oob_trees",
    ])?;
    let rows = targets.iter().zip(&oob.predictions).zip(&oob.n_trees);
    for (row, ((y, p), &k)) in rows.enumerate() {
        // `{}` prints the shortest text that reads back as the same f64.
        let prediction = if k == 0 { String::new() } else { p.to_string() };
        csv.write_record([row.to_string(), y.to_string(), prediction, k.to_string()])?;
    }
    Ok(csv.into_inner().map_err(|e| e.into_error())?)
}

/// ", histograms on the GPU (<adapter>, <time> in the import)", or why the
/// CPU served (only when it matters: splitter level, or a GPU failure).
pub fn training_device_text(trained: &parallel::Trained, splitter: forest::SplitterKind) -> String {
    let placement = trained.placement();
    let gpu_used = trained.gpu_histograms > 0 || placement.device == Device::Gpu;
    match (placement.device, &placement.note) {
        (Device::Gpu, note) => format!(
            ", GPU training ({}: {} node histograms{}, {} in the gpu import){}",
            crate::gpu::shared().map_or_else(|_| "?".into(), |g| g.adapter_info().name.clone()),
            trained.gpu_histograms,
            if trained.gpu_histograms == 0 {
                // Every node was small enough for the CPU (Hybrid).
                let min = crate::runtime::gpu_node_min_rows().unwrap_or_default();
                format!(": no node had more than {min} rows (WASM_FOREST_GPU_NODE_MIN_ROWS)")
            } else {
                String::new()
            },
            ms(trained.gpu_time.as_secs_f64()),
            note.as_ref().map_or(String::new(), |n| format!("; {n}"))
        ),
        (_, Some(note)) if splitter == forest::SplitterKind::Level || gpu_used => {
            format!("; on the CPU: {note}")
        }
        _ => String::new(),
    }
}

/// Loads a model file's `bytes` into a fresh sandbox sized for it; `path`
/// names it in errors.
fn load_model_bytes(
    rt: &Runtime,
    bytes: &[u8],
    path: &std::path::Path,
) -> Result<(Job, ModelHandle, ModelInfo)> {
    let mut job = rt.instantiate(inference_bytes(bytes.len(), 0))?;
    let model = job
        .load_model(bytes)
        .with_context(|| format!("{} is not a usable model", path.display()))?;
    let info = job.model_info(&model)?;
    Ok((job, model, info))
}

/// What the model file `path` (its `bytes`) holds, from a sandbox that
/// loads it and lets it go again (to size the instances that will use it).
fn model_file_info(rt: &Runtime, bytes: &[u8], path: &Path) -> Result<ModelInfo> {
    let (mut job, model, info) = load_model_bytes(rt, bytes, path)?;
    job.drop_model(model)?;
    Ok(info)
}

pub fn predict(rt: &Runtime, args: &PredictArgs, workers: usize) -> Result<()> {
    let bytes = crate::fsio::read_model(&args.model)?;
    let info = model_file_info(rt, &bytes, &args.model)?;
    let xy = read_input(rt, args, &info)?;
    let workers = prediction_workers(workers, xy.n_rows);
    let need = inference_bytes(bytes.len(), xy.features.len() / workers);
    let mut predictor = Predictor::new(rt, &bytes, workers, need)
        .with_context(|| format!("{} is not a usable model", args.model.display()))?;
    let t = Instant::now();
    let predicted = predictor.predict(&xy.features, xy.n_rows as u32, args.device.wit())?;
    let elapsed = t.elapsed();
    let instances = predictor.workers();
    predictor.drop_models()?;
    if let Some(note) = &predicted.note {
        eprintln!("Predicting on the CPU: {note}");
    }
    write_predictions(args.out.as_deref(), &predicted.values)?;
    let on_gpu = predicted.devices.contains(&Device::Gpu);
    // One device entry per block of rows; the instances took the blocks in turn.
    let blocks = predicted.devices.len();
    eprintln!(
        "Predicted {} rows in {} in the sandbox ({}, {instances} worker instance{}{}){}",
        xy.n_rows,
        ms(elapsed.as_secs_f64()),
        if on_gpu { "GPU import" } else { "CPU" },
        if instances == 1 { "" } else { "s" },
        if blocks > 1 {
            format!(", {blocks} blocks of rows")
        } else {
            String::new()
        },
        if on_gpu {
            adapter_text()
        } else {
            String::new()
        }
    );
    if let (Some(targets), Some(name)) = (&xy.targets, &xy.target_name) {
        eprintln!(
            "Mean Squared Error (vs '{name}'): {:.4}",
            mse(&predicted.values, targets)
        );
    }
    Ok(())
}

/// The input CSV, reading only the columns the model needs and the target
/// (the model's, or `--target`): the others may hold anything.
fn read_input(rt: &Runtime, args: &PredictArgs, info: &ModelInfo) -> Result<data::Xy> {
    read_model_input(rt, (&args.input, args.target.as_deref()), info)
}

/// [`read_input`] of the CSV `input` with the target column `--target`.
fn read_model_input(
    rt: &Runtime,
    (input, flag_target): (&Path, Option<&str>),
    info: &ModelInfo,
) -> Result<data::Xy> {
    let target = flag_target.or(info.target_name.as_deref());
    let options = data::ReadOptions {
        budget: rt.data_budget(),
        only: info.feature_names.clone().map(|mut names| {
            names.extend(target.map(str::to_string));
            names
        }),
    };
    let table = data::read_csv(input, &options).map_err(|e| hint_data_dir(e, input))?;
    table.for_prediction(
        info.n_features as usize,
        info.feature_names.as_deref(),
        target,
        flag_target.is_some(),
    )
}

pub fn importance(rt: &Runtime, args: &ImportanceArgs, workers: usize) -> Result<()> {
    let bytes = crate::fsio::read_model(&args.model)?;
    let info = model_file_info(rt, &bytes, &args.model)?;
    let xy = read_model_input(rt, (&args.input, args.target.as_deref()), &info)?;
    let Some(targets) = &xy.targets else {
        bail!(
            "{}: no target column to score against{}: give --target COLUMN",
            args.input.display(),
            info.target_name.as_ref().map_or(String::new(), |t| format!(
                " (the model's, '{t}', is not there)"
            ))
        );
    };
    let n_features = info.n_features as usize;
    let workers = workers.clamp(1, n_features);
    let need = inference_bytes(bytes.len(), 3 * xy.features.len());
    let mut predictor = Predictor::new(rt, &bytes, workers, need)
        .with_context(|| format!("{} is not a usable model", args.model.display()))?;
    let t = Instant::now();
    let data = (&xy.features[..], &targets[..], xy.n_rows as u32);
    let scores = predictor.permutation_importance(data, (args.repeats, args.seed))?;
    let elapsed = t.elapsed();
    predictor.drop_models()?;
    let names: Vec<String> = (0..n_features)
        .map(|i| cli_common::importances::name(info.feature_names.as_deref(), i))
        .collect();
    let rows = PermutationRow::ranked(&names, &scores.importances);
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "model": args.model,
            "input": args.input,
            "n_rows": xy.n_rows,
            "baseline_r2": scores.baseline,
            "n_repeats": args.repeats,
            "seed": args.seed,
            "importances": rows,
        });
        write_output(path, serde_json::to_string_pretty(&json)?.as_bytes())?;
    }
    println!(
        "Permutation importance on {} ({} rows; R² {:.4} as given), {} repeat{} from seed {}: the drop in R² when a feature's column is shuffled, mean ± standard deviation over the repeats",
        args.input.display(),
        xy.n_rows,
        scores.baseline,
        args.repeats,
        if args.repeats == 1 { "" } else { "s" },
        args.seed
    );
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for r in &rows {
        println!("  {:<width$}  {:>8.4} ± {:.4}", r.feature, r.mean, r.std);
    }
    println!(
        "Computed in the sandbox in {} ({workers} worker instance{})",
        ms(elapsed.as_secs_f64()),
        if workers == 1 { "" } else { "s" }
    );
    Ok(())
}

/// One feature's permutation importance, as `importance` prints and
/// writes it.
#[derive(serde::Serialize)]
struct PermutationRow {
    feature: String,
    mean: f64,
    std: f64,
    /// Per repeat.
    importances: Vec<f64>,
}

impl PermutationRow {
    /// Features with their scores, the most important first (ties in
    /// feature order).
    fn ranked(names: &[String], importances: &[Vec<f64>]) -> Vec<PermutationRow> {
        let mut rows: Vec<PermutationRow> = names
            .iter()
            .zip(importances)
            .map(|(name, scores)| {
                let (mean, std) = crate::stats::mean_std(scores);
                PermutationRow {
                    feature: name.clone(),
                    mean,
                    std,
                    importances: scores.clone(),
                }
            })
            .collect();
        rows.sort_by(|a, b| b.mean.total_cmp(&a.mean));
        rows
    }
}

/// One `prediction` column, to `out` or standard output (data there,
/// diagnostics on stderr).
fn write_predictions(out: Option<&std::path::Path>, predictions: &[f64]) -> Result<()> {
    let mut csv = String::with_capacity(predictions.len() * 20 + 16);
    csv.push_str("prediction\n");
    for p in predictions {
        // `{}` prints the shortest text that reads back as the same f64.
        writeln!(csv, "{p}").unwrap();
    }
    match out {
        Some(path) => {
            write_output(path, csv.as_bytes())?;
            eprintln!("Predictions written to: {}", path.display());
        }
        None => print!("{csv}"),
    }
    Ok(())
}

/// Which device served, as bench says: the process's one GPU, already
/// created by the import when a block ran on it (so this touches no device
/// otherwise).
fn adapter_text() -> String {
    match crate::gpu::shared() {
        Ok(g) => {
            let a = g.adapter_info();
            format!(" on {} [{}, {}]", a.name, a.backend, a.device_type)
        }
        Err(_) => String::new(),
    }
}

pub fn info(rt: &Runtime, args: &InfoArgs) -> Result<()> {
    let bytes = crate::fsio::read_model(&args.model)?;
    let (mut job, model, info) = load_model_bytes(rt, &bytes, &args.model)?;
    job.drop_model(model)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&info_json(&args.model, &info))?
        );
        return Ok(());
    }
    println!("Model: {}", args.model.display());
    println!("Trees: {}", info.n_trees);
    println!("Nodes: {} ({} leaves)", info.n_nodes, info.n_leaves);
    println!("Max depth reached: {}", info.max_depth);
    println!("Features: {}", info.n_features);
    if let Some(names) = &info.feature_names {
        println!("Feature names: {}", names.join(", "));
    }
    if let Some(target) = &info.target_name {
        println!("Target: {target}");
    }
    println!("Training rows: {}", info.n_train_rows);
    if let Some(total) = info.sample_weight_total {
        println!("Sample weights: total {total}");
    }
    println!("Parameters: {}", crate::runtime::from_wit(&info.params));
    let names = info.feature_names.as_deref();
    for line in cli_common::importances::info_lines(&info.feature_importances, names) {
        println!("{line}");
    }
    Ok(())
}

/// `info --json`: what `info` prints, as one object.
fn info_json(path: &Path, info: &ModelInfo) -> serde_json::Value {
    let names = info.feature_names.as_deref();
    let importances: Vec<Importance> =
        cli_common::importances::named(&info.feature_importances, names)
            .into_iter()
            .map(Importance::from)
            .collect();
    serde_json::json!({
        "model": path,
        "n_trees": info.n_trees,
        "n_nodes": info.n_nodes,
        "n_leaves": info.n_leaves,
        "max_depth_reached": info.max_depth,
        "n_features": info.n_features,
        "feature_names": info.feature_names,
        "target_name": info.target_name,
        "n_train_rows": info.n_train_rows,
        "sample_weight_total": info.sample_weight_total,
        "params": crate::runtime::from_wit(&info.params),
        "feature_importances": importances,
    })
}
