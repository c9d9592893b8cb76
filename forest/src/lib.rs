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
//! `no_std` (with `alloc`), so that the library component links no Rust standard
//! library and therefore imports no WASI interfaces it does not use; natively
//! it links into std programs as any crate does.

#![no_std]

extern crate alloc;

mod builder;
mod criterion;
mod dataset;
mod error;
mod forest;
mod hist;
pub mod model;
mod params;
pub mod part;
pub mod rng;
mod splitter;
mod tree;

pub use criterion::{MAX_TARGET_SUM, first_target_beyond_limit, target_range_text};
pub use dataset::Dataset;
pub use error::{ForestError, Result};
pub use forest::{
    Forest, ForestInfo, Trainer, check_batch, check_feature_names, train, transpose_in_place,
};
pub use params::{MaxFeatures, MaxSamples, Params, SplitterKind};
pub use splitter::threshold_between;
pub use tree::{LEAF, Nodes, RAW_NODE_BYTES};
