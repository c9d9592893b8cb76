//! A random-forest regressor with scikit-learn's `RandomForestRegressor`
//! semantics (CART, squared error, bootstrap), in pure Rust: no I/O, no
//! platform dependencies, the same bytes natively and in wasm32.
//!
//! ```
//! use forest::{Dataset, Params};
//! let x = [0.0f32, 1.0, 2.0, 3.0];
//! let y = [0.0, 0.0, 1.0, 1.0];
//! let data = Dataset::new(4, 1, &x, &y).unwrap();
//! let params = Params { n_estimators: 5, bootstrap: false, ..Params::default() };
//! let model = forest::train(&data, &params, None).unwrap();
//! assert_eq!(model.predict(&[0.5, 2.5], 2).unwrap(), vec![0.0, 1.0]);
//! ```
//!
//! The crate is `forest` (its package `wasm-forest-core`). Each module uses
//! only modules listed before it:
//!
//! - `error`, `rng`, `criterion` (target sums, split proxies), `tree` (the
//!   flat node layout), `importance` (a grown tree's decreases per feature,
//!   scikit-learn's importances), `params`, `sample` (sample weights and
//!   how they weigh the bootstrap draws), `dataset`;
//! - the model: `ensemble` (the `Forest` type), `validate`, `predict`,
//!   `model` (the file);
//! - training, bottom up: `workspace` (a tree's weighted rows, the feature
//!   draw, node sums, the stable partition), `split` (what a split is; the
//!   `SplitStrategy` trait), the strategies `exact` and `hist`, `builder`
//!   (the one depth-first grow loop; `auto` picks the strategy per node),
//!   `levels` (level-wise growth over histograms, for devices: the GPU
//!   training algorithm and its CPU backend), `sklearn` (scikit-learn's own
//!   trees, random numbers included: splitter `sklearn`), `trainer` (data
//!   prepared once per forest, bootstrap, `train`);
//! - `oob`: out-of-bag predictions, from the trainer's bootstrap drawn again;
//!   `permutation`: permutation importance, with numpy's shuffles;
//! - `part`: trees grown apart, merged into one model.
//!
//! `no_std` (with `alloc`), so that the library component links no Rust standard
//! library and therefore imports no WASI interfaces it does not use; natively
//! it links into std programs as any crate does.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod builder;
mod criterion;
mod dataset;
mod ensemble;
mod error;
mod exact;
mod frontier;
mod hist;
mod importance;
mod levels;
pub mod model;
pub mod oob;
mod params;
pub mod part;
pub mod permutation;
mod predict;
pub mod rng;
mod sample;
pub mod sklearn;
mod split;
mod trainer;
mod tree;
mod validate;
mod workspace;

pub use criterion::{MAX_TARGET_SUM, first_target_beyond_limit, target_range_text};
pub use dataset::Dataset;
pub use ensemble::{Forest, ForestInfo};
pub use error::{ForestError, Result};
pub use hist::{Binned, MAX_BINS};
pub use importance::GrownTree;
pub use levels::{
    Bin, CpuLevels, FixedPoint, Hybrid, LevelBackend, LevelGrower, Move, target_ranks,
};
pub use oob::{OutOfBag, r2_score};
pub use params::{MaxFeatures, MaxSamples, Params, SplitterKind};
pub use permutation::PermutationScores;
pub use predict::check_batch;
pub use sample::{check_sample_weight, numpy_sum};
pub use split::threshold_between;
pub use trainer::{Grower, Trainer, train, transpose_in_place};
pub use tree::{LEAF, Nodes, RAW_MISSING_LEFT, RAW_NODE_BYTES, Test};
pub use validate::{Layout, check_feature_names};
