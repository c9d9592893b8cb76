//! wasm-forest host library: everything the `wasm-forest` binary does, usable
//! in-process (tests, embedders).

// The CSV loader and the hyperparameter flags, shared with the command
// component.
pub use cli_common::{data, forest_args};

pub mod bench;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod fsio;
pub mod gpu;
pub mod gpu_train;
pub mod jobs;
pub mod memory;
pub mod parallel;
pub mod plot;
pub mod predict_bench;
pub mod progress;
pub mod python;
pub mod report;
pub mod runtime;
pub mod stats;
pub mod synthetic;
pub mod train_bench;
pub mod watchdog;
