//! Permutation importance, as scikit-learn's
//! `sklearn.inspection.permutation_importance(model, X, y, n_repeats=...,
//! random_state=S)` with a regressor's default scorer (R²): how much the
//! score drops when one feature's column is shuffled.
//!
//! The shuffles are numpy's: the per-column seed is
//! `RandomState(S).randint(2^31)`, and each column starts a fresh
//! `RandomState` from it and shuffles an index array once per repeat,
//! applying it to the column as already shuffled (as scikit-learn's
//! `_calculate_permutation_scores` does). So with the same predictions the
//! same rows meet the same shuffled values, and each column's scores depend
//! only on `S`: columns can be spread over calls and instances at will.

use crate::ensemble::Forest;
use crate::error::{ForestError, Result};
use crate::oob::r2_score;
use crate::predict::check_batch;
use crate::sklearn::RandomState;
use alloc::{format, vec::Vec};

/// The scores of some columns.
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationScores {
    /// R² of the predictions of the data as given.
    pub baseline: f64,
    /// Per column asked for, per repeat: `baseline` minus the R² with the
    /// column shuffled (scikit-learn's `importances`).
    pub importances: Vec<Vec<f64>>,
}

impl Forest {
    /// The permutation importances of `columns` on the `n_rows` rows of
    /// `features` (row-major) with `targets`, `n_repeats` shuffles each,
    /// from `random_state`.
    pub fn permutation_importance(
        &self,
        (features, targets, n_rows): (&[f32], &[f64], usize),
        columns: &[u32],
        n_repeats: u32,
        random_state: u32,
    ) -> Result<PermutationScores> {
        let nf = self.n_features as usize;
        check_batch(features, n_rows, nf)?;
        check_targets(targets, n_rows)?;
        if n_repeats == 0 {
            return Err(ForestError::InvalidParams(
                "n_repeats must be >= 1, got 0".into(),
            ));
        }
        if let Some(c) = columns.iter().find(|&&c| c as usize >= nf) {
            return Err(ForestError::InvalidParams(format!(
                "column {c} asked for, but the model has {nf} features"
            )));
        }
        let baseline = r2_score(targets, &self.predict(features, n_rows)?);
        let seed = RandomState::new(random_state).randint(0, i64::from(i32::MAX) + 1) as u32;
        let mut permuted = features.to_vec();
        let mut importances = Vec::with_capacity(columns.len());
        for &c in columns {
            let c = c as usize;
            let mut rs = RandomState::new(seed);
            let mut order: Vec<usize> = (0..n_rows).collect();
            let mut scores = Vec::with_capacity(n_repeats as usize);
            for _ in 0..n_repeats {
                rs.shuffle(&mut order);
                // X_permuted[:, c] = X_permuted[order, c]
                let column: Vec<f32> = order.iter().map(|&r| permuted[r * nf + c]).collect();
                for (r, v) in column.into_iter().enumerate() {
                    permuted[r * nf + c] = v;
                }
                let score = r2_score(targets, &self.predict(&permuted, n_rows)?);
                scores.push(baseline - score);
            }
            for r in 0..n_rows {
                permuted[r * nf + c] = features[r * nf + c];
            }
            importances.push(scores);
        }
        Ok(PermutationScores {
            baseline,
            importances,
        })
    }
}

/// One finite target per row, and at least two rows (R² needs a spread).
fn check_targets(targets: &[f64], n_rows: usize) -> Result<()> {
    if targets.len() != n_rows {
        return Err(ForestError::InvalidData(format!(
            "{} targets for {n_rows} rows",
            targets.len()
        )));
    }
    if n_rows < 2 {
        return Err(ForestError::InvalidData(format!(
            "permutation importance needs at least 2 rows (R² is not defined for {n_rows})"
        )));
    }
    match targets.iter().position(|y| !y.is_finite()) {
        Some(r) => Err(ForestError::InvalidData(format!(
            "target of row {r} is {}, not a finite number",
            targets[r]
        ))),
        None => Ok(()),
    }
}
