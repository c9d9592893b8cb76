//! What the wasm-forest host (`host/`), its command component
//! (`guest/src/bin/forest-cli.rs`) and the fuzz targets share, so that they
//! read CSV files and accept flags exactly alike: the CSV loader (`data`)
//! and the hyperparameter flags (`forest_args`). Depends on the forest
//! crate, clap and csv only: no wasmtime, no I/O beyond reading a file.

pub mod data;
pub mod forest_args;
