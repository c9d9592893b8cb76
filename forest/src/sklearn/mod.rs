//! A port of what scikit-learn 1.9.1 does in
//! `RandomForestRegressor(random_state=S, criterion="squared_error")` with
//! the default dense `splitter="best"` trees (numpy 2.4.6's legacy
//! `RandomState` included), so that the same `S` grows the very same trees:
//! node for node, the same features, thresholds that route every float32
//! input the same way and the same leaf values.
//!
//! - [`tree_seeds`]: `_set_random_states`, each tree's `random_state` drawn
//!   in tree order as `RandomState(S).randint(np.iinfo(np.int32).max)`;
//! - [`SklearnTreeBuilder::grow`]: one tree from its seed: the bootstrap of
//!   `_generate_sample_indices` (a fresh `RandomState(tree_seed)`, counts as
//!   sample weights), then `BaseDecisionTree._fit` with a `BestSplitter`
//!   seeded from another fresh `RandomState(tree_seed)`.
//!
//! Missing values (NaN features) are searched, sent and predicted as
//! scikit-learn 1.9.1 does.
//!
//! [`Params`] map to scikit-learn's keywords as [`TreeSettings::new`] says.
//! `Params::seed` and `Params::splitter` play no part: the forest seed is
//! `S`, and the split search is always scikit-learn's.

mod builder;
mod criterion;
pub mod random_state;
mod sort;

use alloc::{borrow::Cow, vec::Vec};

use crate::dataset::Dataset;
use crate::error::Result;
use crate::importance::GrownTree;
use crate::params::Params;
use crate::sample::{Draw, numpy_sum};

pub use random_state::RandomState;

/// `np.iinfo(np.int32).max`, `MAX_INT` of `sklearn/ensemble/_forest.py`.
const MAX_INT: i64 = i32::MAX as i64;

/// The `random_state` of each of `n_estimators` trees of a forest with
/// `random_state=random_state`, in tree order (each below `2^31 - 1`).
pub fn tree_seeds(random_state: u32, n_estimators: u32) -> Vec<u32> {
    let mut rs = RandomState::new(random_state);
    (0..n_estimators)
        .map(|_| rs.randint(0, MAX_INT) as u32)
        .collect()
}

/// `_generate_sample_indices`: the rows of a tree's `draws` bootstrap
/// draws (uniform, or in proportion to the sample weights: `draw`), in
/// draw order, each passed to `each`. Training and the out-of-bag estimate
/// (`oob`) both draw through here.
pub(crate) fn bootstrap(tree_seed: u32, draw: &Draw, draws: usize, mut each: impl FnMut(usize)) {
    let mut rs = RandomState::new(tree_seed);
    for _ in 0..draws {
        // `randint(0, n)`, or `choice(n, p=...)`: `random_sample()` looked
        // up in the weights' cdf.
        each(match draw {
            Draw::Uniform { n_rows } => rs.randint(0, *n_rows as i64) as usize,
            Draw::Weighted { cdf } => Draw::pick(cdf, rs.random_sample()),
        });
    }
}

/// What one tree is grown with, resolved as scikit-learn 1.9.1 resolves
/// its keywords for `n_rows × n_features` training data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeSettings {
    /// `max_depth`, `np.iinfo(np.int32).max` for `None`.
    pub max_depth: usize,
    /// `max(min_samples_split, 2 * min_samples_leaf)`.
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    /// `max_features_`, at most `n_features`.
    pub max_features: usize,
    /// Draws per bootstrap sample; `None` without bootstrap.
    pub n_samples_bootstrap: Option<usize>,
    /// `min_weight_fraction_leaf × Σ sample_weight`: the draws, or the rows.
    pub min_weight_leaf: f64,
    pub min_impurity_decrease: f64,
    /// `Some`: `BestFirstTreeBuilder`.
    pub max_leaf_nodes: Option<usize>,
}

impl TreeSettings {
    /// scikit-learn's meaning of each of [`Params`]' fields, which the
    /// crate's own resolution already follows: `max_features` as
    /// [`Params::resolve_max_features`] (`1.0`, `max(1, int(np.sqrt(n)))`,
    /// `max(1, int(np.log2(n)))`, a count, `max(1, int(f * n))`),
    /// `max_samples` as [`Params::resolve_n_draws`]
    /// (`_get_n_samples_bootstrap`), and the integer forms of
    /// `min_samples_split`, `min_samples_leaf` and `max_depth`;
    /// `min_weight_leaf` as `BaseDecisionTree._fit` computes it, from the
    /// bootstrap counts the forest passes as sample weights.
    pub fn new(params: &Params, n_rows: usize, n_features: usize) -> Result<Self> {
        TreeSettings::weighted(params, n_rows, n_features, None)
    }

    /// [`TreeSettings::new`] for a forest fitted with `sample_weight`:
    /// `max_samples` as a fraction counts weight, and
    /// `min_weight_leaf` is a fraction of `np.sum(sample_weight)` without
    /// bootstrap.
    pub fn weighted(
        params: &Params,
        n_rows: usize,
        n_features: usize,
        sample_weight: Option<&[f64]>,
    ) -> Result<Self> {
        params.validate()?;
        let weight_sum = sample_weight.map(numpy_sum);
        let n_samples_bootstrap = match params.bootstrap {
            true => Some(params.resolve_n_draws_weighted(n_rows, weight_sum)?),
            false => None,
        };
        let tree_weight = match (n_samples_bootstrap, weight_sum) {
            (Some(draws), _) => draws as f64,
            (None, Some(sum)) => sum,
            (None, None) => n_rows as f64,
        };
        let min_samples_leaf = params.min_samples_leaf as usize;
        Ok(TreeSettings {
            max_depth: params.max_depth.map_or(i32::MAX as usize, |d| d as usize),
            min_samples_split: (params.min_samples_split as usize).max(2 * min_samples_leaf),
            min_samples_leaf,
            max_features: params.resolve_max_features(n_features)?,
            n_samples_bootstrap,
            min_weight_leaf: params.min_weight_fraction_leaf * tree_weight,
            min_impurity_decrease: params.min_impurity_decrease,
            max_leaf_nodes: params.max_leaf_nodes.map(|n| n as usize),
        })
    }
}

/// Grows scikit-learn's trees on one dataset, one tree per call; keeps its
/// buffers from tree to tree (one builder per worker).
#[derive(Debug)]
pub struct SklearnTreeBuilder<'a> {
    /// Column-major features, `columns[f * n_rows + row]`: a copy, or the
    /// trainer's.
    columns: Cow<'a, [f32]>,
    n_rows: usize,
    n_features: usize,
    targets: &'a [f64],
    /// Per feature, whether a training row misses it (is NaN):
    /// `_compute_missing_values_in_feature_mask`, once for every tree, on
    /// all the rows as the forest computes it. The trees would be the same
    /// without it (a feature without NaN has nothing to move); it spares
    /// those features the look for them.
    missing_values_in_feature_mask: Vec<bool>,
    /// `sample_weight` as given to `fit` (`None`: every row 1).
    sample_weight: Option<&'a [f64]>,
    /// How the bootstrap draws its rows (in proportion to `sample_weight`).
    draw: Draw,
    /// The weights of the tree being grown.
    weights: Vec<f64>,
    splitter: builder::Splitter,
}

impl<'a> SklearnTreeBuilder<'a> {
    pub fn new(data: &Dataset<'a>) -> Self {
        let (n_rows, n_features) = (data.n_rows, data.n_features);
        let mut columns = Vec::with_capacity(n_rows * n_features);
        for f in 0..n_features {
            columns.extend((0..n_rows).map(|r| data.features[r * n_features + f]));
        }
        SklearnTreeBuilder::from_columns(Cow::Owned(columns), n_rows, n_features, data.targets)
    }

    /// A builder over features already column-major (`columns[f * n_rows +
    /// row]`), as the trainer keeps them.
    pub fn from_columns(
        columns: Cow<'a, [f32]>,
        n_rows: usize,
        n_features: usize,
        targets: &'a [f64],
    ) -> Self {
        let missing_values_in_feature_mask = (0..n_features)
            .map(|f| {
                columns[f * n_rows..(f + 1) * n_rows]
                    .iter()
                    .any(|v| v.is_nan())
            })
            .collect();
        SklearnTreeBuilder {
            columns,
            n_rows,
            n_features,
            targets,
            missing_values_in_feature_mask,
            sample_weight: None,
            draw: Draw::new(n_rows, None),
            weights: Vec::new(),
            splitter: builder::Splitter::default(),
        }
    }

    /// Fits with `sample_weight` (checked: one per row, see
    /// [`crate::check_sample_weight`]).
    pub fn with_sample_weight(mut self, sample_weight: &'a [f64]) -> Self {
        self.draw = Draw::new(self.n_rows, Some(sample_weight));
        self.sample_weight = Some(sample_weight);
        self
    }

    /// The tree whose `random_state` is `tree_seed` (one of [`tree_seeds`]),
    /// in the crate's layout: pre-order nodes, left child next.
    pub fn grow(&mut self, params: &Params, tree_seed: u32) -> Result<GrownTree> {
        let settings =
            TreeSettings::weighted(params, self.n_rows, self.n_features, self.sample_weight)?;
        Ok(self.grow_with(&settings, tree_seed))
    }

    /// [`SklearnTreeBuilder::grow`] with settings resolved once.
    pub fn grow_with(&mut self, settings: &TreeSettings, tree_seed: u32) -> GrownTree {
        self.weights.clear();
        match settings.n_samples_bootstrap {
            Some(draws) => {
                // np.bincount(_generate_sample_indices(...)) as float64.
                self.weights.resize(self.n_rows, 0.0);
                let weights = &mut self.weights;
                bootstrap(tree_seed, &self.draw, draws, |row| weights[row] += 1.0);
            }
            None => match self.sample_weight {
                Some(w) => self.weights.extend_from_slice(w),
                // `sample_weight=None`: every row with weight 1.
                None => self.weights.resize(self.n_rows, 1.0),
            },
        }
        let data = builder::Data {
            columns: &self.columns,
            n_rows: self.n_rows,
            n_features: self.n_features,
            y: self.targets,
            missing_values_in_feature_mask: &self.missing_values_in_feature_mask,
        };
        self.splitter
            .build(&data, &self.weights, settings, tree_seed)
    }
}

/// The trees of `RandomForestRegressor(n_estimators=params.n_estimators,
/// random_state=random_state, ...)` fitted on `data`, in order.
pub fn grow_forest(data: &Dataset, params: &Params, random_state: u32) -> Result<Vec<GrownTree>> {
    let settings = TreeSettings::new(params, data.n_rows, data.n_features)?;
    let mut builder = SklearnTreeBuilder::new(data);
    Ok(tree_seeds(random_state, params.n_estimators)
        .into_iter()
        .map(|seed| builder.grow_with(&settings, seed))
        .collect())
}

#[cfg(test)]
mod tests {
    //! Expected values printed by scikit-learn 1.9.1 with numpy 2.4.6.

    use super::*;

    #[test]
    fn tree_seeds_are_sklearns() {
        // [e.random_state for e in RandomForestRegressor(n_estimators=10,
        //  random_state=42).fit(X, y).estimators_]
        assert_eq!(
            tree_seeds(42, 10),
            [
                1608637542, 1273642419, 1935803228, 787846414, 996406378, 1201263687, 423734972,
                415968276, 670094950, 1914837113
            ]
        );
        assert_eq!(
            tree_seeds(0, 5),
            [209652396, 398764591, 924231285, 1478610112, 441365315]
        );
    }

    #[test]
    fn per_tree_streams_are_sklearns() {
        // The splitter's seed: RandomState(209652396).randint(0, RAND_R_MAX).
        let seed = 209652396;
        let mut rs = RandomState::new(seed);
        assert_eq!(
            rs.randint(0, i64::from(random_state::RAND_R_MAX)),
            2087557356
        );
        // _generate_sample_indices(209652396, 353, 20, None)
        let mut rs = RandomState::new(seed);
        let drawn: Vec<i64> = (0..20).map(|_| rs.randint(0, 353)).collect();
        assert_eq!(
            drawn,
            [
                236, 227, 32, 64, 242, 310, 41, 323, 239, 239, 201, 198, 1, 49, 245, 263, 111, 251,
                169, 167
            ]
        );
    }

    #[test]
    fn weighted_draws_are_numpys_choice() {
        // RandomState(5).random_sample(3)
        let mut rs = RandomState::new(5);
        let u: Vec<f64> = (0..3).map(|_| rs.random_sample()).collect();
        assert_eq!(
            u,
            [0.22199317108973948, 0.8707323061773764, 0.20671915533942642]
        );
        // w = [0.5, 0, 2, 1, 3.25, 0, 1]; RandomState(209652396).choice(7,
        //  12, replace=True, p=w / np.sum(w))
        let w = [0.5, 0.0, 2.0, 1.0, 3.25, 0.0, 1.0];
        let mut drawn = Vec::new();
        bootstrap(209652396, &Draw::new(7, Some(&w)), 12, |r| drawn.push(r));
        assert_eq!(drawn, [4, 4, 6, 2, 4, 6, 2, 4, 4, 4, 4, 4]);
    }
}
