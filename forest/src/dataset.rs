//! Borrowed, validated training data.

use alloc::{format, string::String};

use crate::criterion;
use crate::error::{ForestError, Result};

/// A dense regression dataset: `features` is row-major `n_rows × n_features`
/// (f32, as scikit-learn trees use; NaN is a missing value), `targets` has
/// one f64 per row.
#[derive(Debug, Clone, Copy)]
pub struct Dataset<'a> {
    pub n_rows: usize,
    pub n_features: usize,
    pub features: &'a [f32],
    pub targets: &'a [f64],
    /// One weight per row (scikit-learn's `sample_weight`), or `None`: every
    /// row weighs 1. Set with [`Dataset::with_sample_weight`].
    pub sample_weight: Option<&'a [f64]>,
}

impl<'a> Dataset<'a> {
    /// Checks shapes and values; every other function may assume them.
    pub fn new(
        n_rows: usize,
        n_features: usize,
        features: &'a [f32],
        targets: &'a [f64],
    ) -> Result<Self> {
        let bad = |m: String| Err(ForestError::InvalidData(m));
        if n_rows == 0 {
            return bad("the dataset has no rows".into());
        }
        if n_features == 0 {
            return bad("the dataset has no feature columns".into());
        }
        if n_rows > u32::MAX as usize / 2 {
            return bad(format!("{n_rows} rows is more than this engine supports"));
        }
        if Some(features.len()) != n_rows.checked_mul(n_features) {
            return bad(format!(
                "features has {} values, expected n_rows × n_features = {n_rows} × {n_features}",
                features.len()
            ));
        }
        if targets.len() != n_rows {
            return bad(format!(
                "targets has {} values, expected n_rows = {n_rows}",
                targets.len()
            ));
        }
        check_features(features, n_features)?;
        if let Some(i) = targets.iter().position(|v| !v.is_finite()) {
            return bad(format!(
                "target of row {i} is {}, expected a finite number",
                targets[i]
            ));
        }
        if let Some(i) = criterion::first_target_beyond_limit(targets) {
            return bad(format!(
                "target of row {i} is {:e}; {}",
                targets[i],
                criterion::target_range_text(n_rows)
            ));
        }
        Ok(Dataset {
            n_rows,
            n_features,
            features,
            targets,
            sample_weight: None,
        })
    }

    /// The dataset with a weight per row, checked as
    /// [`crate::check_sample_weight`] says.
    pub fn with_sample_weight(self, sample_weight: &'a [f64]) -> Result<Self> {
        crate::sample::check_sample_weight(sample_weight, self.n_rows)?;
        Ok(Dataset {
            sample_weight: Some(sample_weight),
            ..self
        })
    }
}

/// Features are finite numbers or NaN (a missing value); infinity has no
/// place in a split: rejects it with its position. Returns whether a value
/// is missing.
pub(crate) fn check_features(features: &[f32], n_features: usize) -> Result<bool> {
    // Exponent all ones: infinity or NaN (one test per value on the common
    // path; only a hit looks closer).
    let exp = |v: &f32| v.to_bits() & 0x7f80_0000 == 0x7f80_0000;
    if !features.iter().any(exp) {
        return Ok(false);
    }
    match features.iter().position(|v| v.is_infinite()) {
        None => Ok(true),
        Some(i) => Err(ForestError::InvalidData(format!(
            "feature {} of row {} is {}, expected a finite number or NaN (a missing value)",
            i % n_features,
            i / n_features,
            features[i]
        ))),
    }
}
