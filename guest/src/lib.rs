//! The library component: a thin adapter from the WIT exports to the `forest`
//! crate. No logic lives here beyond converting records.

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "forest-lib",
    });
}

use bindings::exports::wasm_forest::forest::forest as wit;
use bindings::exports::wasm_forest::forest::forest::{Guest, GuestModel, Model as ModelHandle};

struct Component;

fn to_wit_error(e: forest::ForestError) -> wit::ForestError {
    match e {
        forest::ForestError::InvalidParams(m) => wit::ForestError::InvalidParams(m),
        forest::ForestError::InvalidData(m) => wit::ForestError::InvalidData(m),
        forest::ForestError::InvalidModel(m) => wit::ForestError::InvalidModel(m),
    }
}

fn from_wit_params(p: wit::Params) -> forest::Params {
    forest::Params {
        n_estimators: p.n_estimators,
        max_depth: p.max_depth,
        min_samples_split: p.min_samples_split,
        min_samples_leaf: p.min_samples_leaf,
        max_features: match p.max_features {
            wit::MaxFeatures::All => forest::MaxFeatures::All,
            wit::MaxFeatures::Sqrt => forest::MaxFeatures::Sqrt,
            wit::MaxFeatures::Log2 => forest::MaxFeatures::Log2,
            wit::MaxFeatures::Count(c) => forest::MaxFeatures::Count(c),
            wit::MaxFeatures::Fraction(f) => forest::MaxFeatures::Fraction(f),
        },
        bootstrap: p.bootstrap,
        max_samples: p.max_samples.map(|m| match m {
            wit::MaxSamples::Count(c) => forest::MaxSamples::Count(c),
            wit::MaxSamples::Fraction(f) => forest::MaxSamples::Fraction(f),
        }),
        seed: p.seed,
    }
}

fn to_wit_params(p: &forest::Params) -> wit::Params {
    wit::Params {
        n_estimators: p.n_estimators,
        max_depth: p.max_depth,
        min_samples_split: p.min_samples_split,
        min_samples_leaf: p.min_samples_leaf,
        max_features: match p.max_features {
            forest::MaxFeatures::All => wit::MaxFeatures::All,
            forest::MaxFeatures::Sqrt => wit::MaxFeatures::Sqrt,
            forest::MaxFeatures::Log2 => wit::MaxFeatures::Log2,
            forest::MaxFeatures::Count(c) => wit::MaxFeatures::Count(c),
            forest::MaxFeatures::Fraction(f) => wit::MaxFeatures::Fraction(f),
        },
        bootstrap: p.bootstrap,
        max_samples: p.max_samples.map(|m| match m {
            forest::MaxSamples::Count(c) => wit::MaxSamples::Count(c),
            forest::MaxSamples::Fraction(f) => wit::MaxSamples::Fraction(f),
        }),
        seed: p.seed,
    }
}

impl Guest for Component {
    type Model = Model;

    fn default_params() -> wit::Params {
        to_wit_params(&forest::Params::default())
    }

    fn train(data: wit::Dataset, params: wit::Params) -> Result<Vec<u8>, wit::ForestError> {
        let dataset = forest::Dataset::new(
            data.n_rows as usize,
            data.n_features as usize,
            &data.features,
            &data.targets,
        )
        .map_err(to_wit_error)?;
        let model = forest::train(&dataset, &from_wit_params(params), data.feature_names)
            .map_err(to_wit_error)?;
        forest::model::to_bytes(&model).map_err(to_wit_error)
    }
}

pub struct Model(forest::Forest);

impl GuestModel for Model {
    fn from_bytes(bytes: Vec<u8>) -> Result<ModelHandle, wit::ForestError> {
        let forest = forest::model::from_bytes(&bytes).map_err(to_wit_error)?;
        Ok(ModelHandle::new(Model(forest)))
    }

    fn predict(&self, features: Vec<f32>, n_rows: u32) -> Result<Vec<f64>, wit::ForestError> {
        self.0
            .predict(&features, n_rows as usize)
            .map_err(to_wit_error)
    }

    fn info(&self) -> wit::ModelInfo {
        let i = self.0.info();
        wit::ModelInfo {
            n_trees: i.n_trees,
            n_nodes: i.n_nodes,
            n_leaves: i.n_leaves,
            max_depth: i.max_depth,
            n_features: i.n_features,
            feature_names: self.0.feature_names.clone(),
            params: to_wit_params(&self.0.params),
            n_train_rows: self.0.n_train_rows,
        }
    }
}

bindings::export!(Component with_types_in bindings);
