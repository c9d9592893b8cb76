//! What the wasm-forest host (`host/`), its command component (`guest/cli/`)
//! and the fuzz targets share, so that they read CSV files, accept flags and
//! treat output paths exactly alike: the CSV loader (`data`), the
//! hyperparameter flags (`forest_args`), what an output path leads to
//! (`outputs`) and how feature importances are shown (`importances`). Depends on the forest crate, clap, csv and same-file only:
//! no wasmtime, and no writing (each program writes in its own way).

pub mod data;
pub mod forest_args;
pub mod importances;
pub mod outputs;
