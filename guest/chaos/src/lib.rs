//! A hostile library component for the host's sandbox tests: it exports the
//! forest-lib world, but `train` misbehaves according to `params.seed`:
//!
//! | seed | behaviour |
//! |------|-----------|
//! | 1    | loops forever |
//! | 2    | allocates without bound |
//! | 3    | recurses without bound |
//! | 4    | panics |
//! | 5    | tries to read a file, list `/` and read env vars; reports what it got as `invalid-data` |
//! | 6    | uploads a forest with an out-of-range child index through the `gpu` import; reports the import's answer as `invalid-data` |
//! | 7    | reports nonsense progress (backwards, beyond the total) |
//! | 8    | sends malformed GPU training requests through the `gpu` import (codes that do not fit, a node outside the level, a node twice, a child beyond the level, a feature out of range); reports the answers as `invalid-data` |
//! | else | returns an empty model (a "normal" job) |
//!
//! `train-part` and `trainer.grow` behave as `train`; `model.predict` and `model.predict-on`
//! return far more values than rows were asked for.

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "forest-lib",
        // Bindings for the WASI monotonic clock too (wit/deps).
        generate_all,
    });
}

use std::hint::black_box;

use bindings::exports::wasm_forest::forest::forest as wit;
use bindings::wasm_forest::forest::{gpu, progress};

struct Chaos;

fn recurse(depth: u64) -> u64 {
    // Not a tail call, and opaque to the optimiser: a real stack frame per
    // level. The exit is never taken in practice (u64 does not run out).
    if black_box(depth) == u64::MAX {
        return depth;
    }
    black_box(recurse(black_box(depth + 1))).wrapping_add(depth)
}

/// Malformed `gpu-training-set` requests, one answer per line.
fn bad_training_requests() -> String {
    let answer = |r: Result<(), gpu::GpuError>| match r {
        Ok(()) => "accepted".to_string(),
        Err(e) => format!("{e:?}"),
    };
    let mut out = vec![answer(
        gpu::GpuTrainingSet::upload(2, &[1, 2, 3], &[0, 1]).map(drop),
    )];
    let set = match gpu::GpuTrainingSet::upload(2, &[1, 2, 3, 4], &[0, 1]) {
        Ok(set) => set,
        Err(e) => return format!("{out:?}; upload: {e:?}"),
    };
    let split = |feature, left, right| gpu::RowMove {
        feature,
        last_left: 1,
        missing_left: false,
        left,
        right,
    };
    out.push(answer(set.histograms(&[0], &[]).map(drop)));
    out.push(answer(set.start_tree(&[1, 1], &[5, 6])));
    out.push(answer(set.histograms(&[3], &[]).map(drop)));
    out.push(answer(set.histograms(&[0, 0], &[]).map(drop)));
    out.push(answer(set.next_level(&[split(0, 0, 9)])));
    out.push(answer(set.next_level(&[split(5, 0, 1)])));
    out.push(answer(set.histograms(&[0], &[0]).map(drop)));
    out.join("\n")
}

impl wit::Guest for Chaos {
    type Model = Model;
    type Trainer = Trainer;

    fn default_params() -> wit::Params {
        wit::Params {
            n_estimators: 1,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: wit::MaxFeatures::All,
            bootstrap: true,
            max_samples: None,
            seed: 0,
            splitter: wit::Splitter::Auto,
            min_weight_fraction_leaf: 0.0,
            max_leaf_nodes: None,
            min_impurity_decrease: 0.0,
        }
    }

    fn train(_data: wit::Dataset, params: wit::Params) -> Result<Vec<u8>, wit::ForestError> {
        match params.seed {
            1 => {
                let mut i = 0u64;
                loop {
                    i = black_box(i.wrapping_add(1));
                }
            }
            2 => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            3 => Ok(recurse(0).to_le_bytes().to_vec()),
            4 => panic!("chaos guest: deliberate panic"),
            5 => {
                let file = std::fs::read_to_string("/etc/hostname").map_err(|e| e.to_string());
                let dir = std::fs::read_dir("/")
                    .map(|d| d.count())
                    .map_err(|e| e.to_string());
                let env: Vec<(String, String)> = std::env::vars().collect();
                let home = std::env::var("HOME").map_err(|e| e.to_string());
                Err(wit::ForestError::InvalidData(format!(
                    "file: {file:?}; dir: {dir:?}; env vars: {}; HOME: {home:?}",
                    env.len()
                )))
            }
            6 => {
                // Node 0 sends rows to node 7 of a 3-node forest.
                let bad = gpu::FlatForest {
                    n_features: 1,
                    roots: vec![0],
                    feature: vec![0, 0, 0],
                    threshold: vec![0.5, 0.0, 0.0],
                    left: vec![7, u32::MAX, u32::MAX],
                    right: vec![2, u32::MAX, u32::MAX],
                    value: vec![0.0, 1.0, 2.0],
                    missing_left: vec![false; 3],
                };
                let answer = match gpu::GpuForest::upload(&bad) {
                    Ok(_) => "uploaded".to_string(),
                    Err(e) => format!("{e:?}"),
                };
                Err(wit::ForestError::InvalidData(answer))
            }
            8 => Err(wit::ForestError::InvalidData(bad_training_requests())),
            7 => {
                for (done, total) in [(5, 10), (2, 10), (50, 10), (u32::MAX, 0), (10, 10)] {
                    progress::report(done, total);
                }
                Ok(Vec::new())
            }
            _ => Ok(Vec::new()),
        }
    }

    fn train_part(
        data: wit::Dataset,
        params: wit::Params,
        _first: u32,
        _count: u32,
    ) -> Result<Vec<u8>, wit::ForestError> {
        Self::train(data, params)
    }

    fn merge_parts(_parts: Vec<Vec<u8>>) -> Result<Vec<u8>, wit::ForestError> {
        Ok(Vec::new())
    }
}

struct Trainer {
    data: wit::Dataset,
    params: wit::Params,
}

impl wit::GuestTrainer for Trainer {
    fn start(data: wit::Dataset, params: wit::Params) -> Result<wit::Trainer, wit::ForestError> {
        Ok(wit::Trainer::new(Trainer { data, params }))
    }

    fn start_on(
        data: wit::Dataset,
        params: wit::Params,
        _device: wit::Device,
    ) -> Result<wit::Trainer, wit::ForestError> {
        Self::start(data, params)
    }

    fn placement(&self) -> wit::Placement {
        wit::Placement {
            device: wit::Device::Cpu,
            note: None,
        }
    }

    fn grow(&self, _first: u32, _count: u32) -> Result<Vec<u8>, wit::ForestError> {
        <Chaos as wit::Guest>::train(self.data.clone(), self.params)
    }
}

struct Model;

impl wit::GuestModel for Model {
    fn from_bytes(_bytes: Vec<u8>) -> Result<wit::Model, wit::ForestError> {
        Ok(wit::Model::new(Model))
    }

    fn predict(&self, _features: Vec<f32>, n_rows: u32) -> Result<Vec<f64>, wit::ForestError> {
        Ok(vec![0.0; n_rows as usize * 1000 + (1 << 20)])
    }

    fn predict_on(
        &self,
        features: Vec<f32>,
        n_rows: u32,
        _device: wit::Device,
    ) -> Result<wit::Prediction, wit::ForestError> {
        Ok(wit::Prediction {
            values: self.predict(features, n_rows)?,
            device: wit::Device::Gpu,
            note: None,
        })
    }

    fn out_of_bag(
        &self,
        _features: Vec<f32>,
        _first_row: u32,
        n_rows: u32,
        _sample_weight: Option<Vec<f64>>,
    ) -> Result<wit::OobPredictions, wit::ForestError> {
        // Too many predictions and too few counts: the host must refuse both.
        Ok(wit::OobPredictions {
            predictions: vec![f64::NAN; n_rows as usize + 7],
            n_trees: vec![u32::MAX; n_rows as usize / 2],
        })
    }

    fn permutation_importance(
        &self,
        _features: Vec<f32>,
        _targets: Vec<f64>,
        _n_rows: u32,
        columns: Vec<u32>,
        _n_repeats: u32,
        _random_state: u32,
    ) -> Result<wit::PermutationScores, wit::ForestError> {
        // One column short, and no repeats in the one given.
        Ok(wit::PermutationScores {
            baseline: f64::NAN,
            importances: vec![Vec::new(); columns.len().saturating_sub(1)],
        })
    }

    fn info(&self) -> wit::ModelInfo {
        wit::ModelInfo {
            n_trees: 0,
            n_nodes: 0,
            n_leaves: 0,
            max_depth: 0,
            n_features: 1,
            feature_names: None,
            target_name: None,
            params: <Chaos as wit::Guest>::default_params(),
            n_train_rows: 0,
            // More importances than features, one not a number: the host
            // must print them without trusting them.
            feature_importances: vec![f64::NAN, 2.0, -1.0],
            // A total no training gives.
            sample_weight_total: Some(-1.0),
        }
    }
}

bindings::export!(Chaos with_types_in bindings);
