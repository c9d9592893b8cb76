//! Out-of-bag estimates, scikit-learn's `oob_prediction_` and `oob_score_`:
//! each training row predicted by the trees whose bootstrap sample left it
//! out.
//!
//! The samples are drawn again from the model's params, through the same
//! functions training draws with (`trainer::bootstrap`, and
//! `sklearn::bootstrap` for splitter `sklearn`), so a model and its training
//! rows (and sample weights, which chose the draws) are all it takes:
//! nothing about the samples is stored. The model keeps a digest of its
//! sample weights, so that other weights are refused. Each row adds
//! its trees' predictions in tree order, as scikit-learn does, so the result
//! depends neither on how rows are split among calls or instances nor on how
//! the forest was trained (one call, parts, any worker count).

use crate::ensemble::Forest;
use crate::error::{ForestError, Result};
use crate::params::SplitterKind;
use crate::predict::check_batch;
use crate::sample::{Draw, TrainedWeights};
use crate::{sklearn, trainer};
use alloc::{format, vec, vec::Vec};

/// Out-of-bag predictions of consecutive training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfBag {
    /// Per row, the mean of the predictions of the trees that left it out;
    /// 0 for a row every tree drew (scikit-learn's value there).
    pub predictions: Vec<f64>,
    /// Per row, how many trees left it out.
    pub n_trees: Vec<u32>,
}

impl Forest {
    /// The out-of-bag predictions of training rows `first_row..first_row +
    /// n_rows`, given as `features` (row-major, those rows only, as in the
    /// training set). The rows must be the model's training rows, in their
    /// training order: only their count can be checked. `sample_weight`:
    /// the model's training weights, all of them (the draws depend on every
    /// row's), if it was trained with weights.
    pub fn out_of_bag(
        &self,
        features: &[f32],
        (first_row, n_rows): (u32, u32),
        sample_weight: Option<&[f64]>,
    ) -> Result<OutOfBag> {
        let params = &self.params;
        if !params.bootstrap {
            return Err(ForestError::InvalidParams(
                "out-of-bag estimation is only available with bootstrap=true: without it every tree saw every row"
                    .into(),
            ));
        }
        let total = self.n_train_rows as usize;
        let (first, n) = (first_row as usize, n_rows as usize);
        if first + n > total {
            return Err(ForestError::InvalidData(format!(
                "training rows {first}..{} asked for, but the model was trained on {total} rows",
                first + n
            )));
        }
        let nf = self.n_features as usize;
        check_batch(features, n, nf)?;
        self.check_weights(sample_weight)?;
        let weight_sum = self.sample_weight.map(|w| w.total);
        let draws = params.resolve_n_draws_weighted(total, weight_sum)?;
        let draw = Draw::new(total, sample_weight);
        let seeds = (params.splitter == SplitterKind::Sklearn)
            .then(|| sklearn::tree_seeds(params.seed as u32, self.n_trees() as u32));
        let mut sums = vec![0f64; n];
        let mut n_trees = vec![0u32; n];
        let mut in_bag = vec![false; n];
        for (t, &root) in self.roots.iter().enumerate() {
            in_bag.fill(false);
            let mark = |row: usize| {
                if let Some(slot) = row.checked_sub(first).and_then(|i| in_bag.get_mut(i)) {
                    *slot = true;
                }
            };
            match &seeds {
                Some(seeds) => sklearn::bootstrap(seeds[t], &draw, draws, mark),
                None => {
                    trainer::bootstrap(params.seed, t as u32, &draw, draws, mark);
                }
            }
            let rows = features.chunks_exact(nf).zip(&in_bag);
            for (i, (row, _)) in rows.enumerate().filter(|(_, (_, drawn))| !**drawn) {
                sums[i] += self.nodes.value[self.nodes.leaf_of(root, row) as usize];
                n_trees[i] += 1;
            }
        }
        let predictions = sums
            .iter()
            .zip(&n_trees)
            .map(|(&sum, &k)| if k == 0 { 0.0 } else { sum / f64::from(k) })
            .collect();
        Ok(OutOfBag {
            predictions,
            n_trees,
        })
    }
}

impl Forest {
    /// Refuses sample weights other than the model's training weights: the
    /// out-of-bag rows would be another sample's.
    fn check_weights(&self, given: Option<&[f64]>) -> Result<()> {
        let bad = |m: &str| Err(ForestError::InvalidData(m.into()));
        match (self.sample_weight, given) {
            (None, None) => Ok(()),
            (None, Some(_)) => bad(
                "the model was trained without sample weights: give none to draw its bootstrap samples again",
            ),
            (Some(_), None) => bad(
                "the model was trained with sample weights, which chose its bootstrap draws: give the same ones, one per training row",
            ),
            (Some(trained), Some(w)) => {
                if w.len() != self.n_train_rows as usize {
                    return Err(ForestError::InvalidData(format!(
                        "{} sample weights given, the model was trained on {} rows: give its training weights, one per row",
                        w.len(),
                        self.n_train_rows
                    )));
                }
                if TrainedWeights::of(w) != trained {
                    return bad(
                        "these sample weights differ from the ones the model was trained with: give those",
                    );
                }
                Ok(())
            }
        }
    }
}

/// The coefficient of determination R² of `predictions` against `targets`,
/// as scikit-learn's `r2_score` (and so `oob_score_`): 1 when both sums of
/// squares are 0, 0 when only the total one is.
pub fn r2_score(targets: &[f64], predictions: &[f64]) -> f64 {
    let n = targets.len() as f64;
    let mean = targets.iter().sum::<f64>() / n;
    let residual: f64 = targets
        .iter()
        .zip(predictions)
        .map(|(y, p)| (y - p) * (y - p))
        .sum();
    let total: f64 = targets.iter().map(|y| (y - mean) * (y - mean)).sum();
    match (residual == 0.0, total == 0.0) {
        (true, _) => 1.0,
        (false, true) => 0.0,
        (false, false) => 1.0 - residual / total,
    }
}
