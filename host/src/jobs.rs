//! What every command shares: loading the training and test CSVs, the
//! dataset handed to the component, native training with the sandbox's
//! scheduling, default paths, and the memory a prediction job needs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use forest::Params;

use crate::data::{self, ReadOptions, Xy};
use crate::parallel;
use crate::runtime::Dataset;

/// Rows below which another prediction instance is not worth starting.
const PREDICT_ROWS_PER_WORKER: usize = 10_000;

/// Prediction instances for `n_rows` rows: at most `workers`, one per
/// 10 000 rows started, at least one.
pub fn prediction_workers(workers: usize, n_rows: usize) -> usize {
    workers.min(n_rows.div_ceil(PREDICT_ROWS_PER_WORKER)).max(1)
}

/// Guest memory a prediction job may need, for the default memory cap: 16×
/// the model (its bytes and the decoded forest) and 16× the features it is
/// handed (4 bytes each).
pub fn inference_bytes(model_bytes: usize, feature_values: usize) -> u64 {
    16 * (model_bytes as u64 + 4 * feature_values as u64)
}

fn dataset(xy: &Xy, names: bool) -> Result<Dataset> {
    let targets = xy.targets.clone().context("no target column")?;
    Ok(Dataset {
        n_rows: u32::try_from(xy.n_rows).context("too many rows")?,
        n_features: xy.n_features() as u32,
        features: xy.features.clone(),
        targets,
        feature_names: names.then(|| xy.feature_names.clone()),
        target_name: names.then(|| xy.target_name.clone()).flatten(),
        sample_weight: xy.weights.as_ref().map(|(_, w)| w.clone()),
    })
}

/// The training CSV, read within `budget` bytes of cells (see
/// [`Runtime::data_budget`]): the target column `columns.0` (default: the
/// last), the sample weights column `columns.1` if any, the rest features.
pub fn load_training(
    path: &Path,
    columns: (Option<&str>, Option<&str>),
    budget: u64,
) -> Result<(Xy, Dataset)> {
    let table =
        data::read_csv(path, &ReadOptions::all(budget)).map_err(|e| hint_data_dir(e, path))?;
    let xy = table.for_training(columns.0, columns.1)?;
    if xy.n_rows < 2 {
        bail!(
            "{}: {} data row; training needs at least 2",
            path.display(),
            xy.n_rows
        );
    }
    let ds = dataset(&xy, true)?;
    Ok((xy, ds))
}

/// Refuses, before any work, an input that does not exist (with the hint
/// for relative paths). Each path comes with the flag that named it.
pub fn check_inputs_exist(inputs: &[(&str, PathBuf)]) -> Result<()> {
    for (flag, path) in inputs {
        let missing = std::fs::symlink_metadata(path)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        if missing {
            let e = anyhow::anyhow!("{flag} {}: no such file", path.display());
            return Err(hint_data_dir(e, path));
        }
    }
    Ok(())
}

/// Relative default paths only work from the repository root: say so when
/// such a path is missing (not when it is there but cannot be read, e.g. a
/// symlink loop).
pub fn hint_data_dir(e: anyhow::Error, path: &Path) -> anyhow::Error {
    let missing =
        std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    if path.is_relative() && missing {
        e.context(format!(
            "{} does not exist relative to {} (run from the repository root, or pass an explicit path)",
            path.display(),
            std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()
        ))
    } else {
        e
    }
}

/// Trains with the native forest crate on `workers` threads (each grows a
/// share of the trees, as the sandboxed workers do): the model file bytes.
pub fn train_native(ds: &Dataset, params: &Params, workers: usize) -> Result<Vec<u8>> {
    let mut data = forest::Dataset::new(
        ds.n_rows as usize,
        ds.n_features as usize,
        &ds.features,
        &ds.targets,
    )?;
    if let Some(w) = &ds.sample_weight {
        data = data.with_sample_weight(w)?;
    }
    let trainer = forest::Trainer::new(&data, params)?;
    // The sandbox's scheduling: trees claimed from one queue as threads ask.
    let n_threads = parallel::training_workers(params.n_estimators, workers);
    let queue = parallel::TreeQueue::new(params.n_estimators, n_threads);
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n_threads)
            .map(|_| {
                let (trainer, queue) = (&trainer, &queue);
                scope.spawn(move || {
                    queue.drain(|first, count, _| {
                        let part = forest::part::Part::grow(
                            trainer,
                            first,
                            count,
                            ds.feature_names.clone(),
                            ds.target_name.clone(),
                            |_| {},
                        )?;
                        let size = part.nodes.len() * forest::RAW_NODE_BYTES;
                        forest::Result::Ok((part, size))
                    })
                })
            })
            .collect();
        join_native(handles)
    })?
    .into_iter()
    .collect::<forest::Result<Vec<_>>>()?
    .into_iter()
    .flatten()
    .collect();
    let model = forest::part::merge(parts)?;
    Ok(forest::model::to_bytes(&model)?)
}

/// The dataset's name: the training CSV's file name without `_train.csv`.
pub fn dataset_name(train: &Path) -> String {
    let stem = train
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    stem.strip_suffix("_train").unwrap_or(&stem).to_string()
}

/// `model_<dataset>_wasm.bin` beside the training CSV.
pub fn default_model_path(train: &Path, dataset: &str) -> PathBuf {
    train.with_file_name(format!("model_{dataset}_wasm.bin"))
}

/// The test CSV, with the training set's feature columns (by name) and its
/// target column, which must be there.
pub fn load_test(path: &Path, train: &Xy, budget: u64) -> Result<Xy> {
    let target = train.target_name.as_deref();
    let mut only = train.feature_names.clone();
    only.extend(target.map(str::to_string));
    let options = ReadOptions {
        budget,
        only: Some(only),
    };
    let table = data::read_csv(path, &options).map_err(|e| hint_data_dir(e, path))?;
    let test =
        table.for_prediction(train.n_features(), Some(&train.feature_names), target, true)?;
    if test.targets.is_none() {
        bail!(
            "{}: no target column '{}'",
            path.display(),
            target.unwrap_or_default()
        );
    }
    Ok(test)
}

/// Joins native worker threads, in order; a panic is an error, not a crash.
pub fn join_native<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, T>>) -> Result<Vec<T>> {
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("a native worker panicked"))
        })
        .collect()
}
