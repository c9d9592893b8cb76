//! Typed errors. Every fallible entry point of the crate returns one of these,
//! so that the component can hand them across the WIT boundary as `forest-error`.

use alloc::string::String;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ForestError {
    /// A hyperparameter is out of range, or does not fit the data.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// The dataset (or a prediction batch) is malformed.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// Model bytes failed the header, checksum, decoding or structure checks.
    #[error("invalid model: {0}")]
    InvalidModel(String),
}

pub type Result<T, E = ForestError> = core::result::Result<T, E>;
