//! Hyperparameter flags, named after scikit-learn's RandomForestRegressor.
//! Shared by the host CLI and the command component (guest/cli), so both
//! accept exactly the same flags; depends only on clap and the forest crate.

use clap::Args;
use forest::{MaxFeatures, MaxSamples, Params, SplitterKind};

#[derive(Args, Debug, Clone)]
pub struct ForestArgs {
    /// Number of trees [default: 200 for bench and compare, 100 (scikit-learn's) for train].
    #[arg(long, value_name = "N")]
    pub n_estimators: Option<u32>,
    /// Maximum tree depth, or "none" to grow until leaves are pure
    /// [default: 16 for bench and compare, none (scikit-learn's) for train].
    #[arg(long, value_name = "N|none", value_parser = parse_max_depth)]
    pub max_depth: Option<MaxDepth>,
    /// Minimum rows a node needs to be split.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub min_samples_split: u32,
    /// Minimum rows in every leaf.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_samples_leaf: u32,
    /// Features examined per split: all, sqrt, log2, an integer count, or a
    /// fraction in (0, 1] written with a decimal point (1.0 = all).
    #[arg(long, value_name = "all|sqrt|log2|INT|FLOAT", default_value = "all")]
    pub max_features: MaxFeatures,
    /// Train each tree on a bootstrap sample of the rows.
    #[arg(long, value_name = "true|false", default_value_t = true, action = clap::ArgAction::Set)]
    pub bootstrap: bool,
    /// Bootstrap sample size: an integer count, or a fraction of the rows
    /// (truncated, as scikit-learn 1.9) [default: as many draws as rows].
    #[arg(long, value_name = "INT|FLOAT")]
    pub max_samples: Option<MaxSamples>,
    /// Random seed: the same seed, data and parameters give a byte-identical model.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Split search: exact (scikit-learn's trees), hist (features binned to
    /// 256 values, per-node histograms: much faster on large data), auto
    /// (hist for large nodes, exact for small ones) or level (hist's
    /// histograms, trees grown a level at a time with integer sums: what
    /// GPU training grows, the same model bytes on the CPU and any GPU) or
    /// sklearn (scikit-learn 1.9.1's own trees: `--seed S` grows what
    /// RandomForestRegressor(random_state=S) grows, node for node; S < 2^32).
    #[arg(
        long,
        value_name = "exact|hist|auto|level|sklearn",
        default_value = "auto"
    )]
    pub splitter: SplitterKind,
    /// Every leaf keeps at least this fraction of its tree's weight (its
    /// bootstrap draws, or its rows without bootstrap), in [0, 0.5]
    /// (scikit-learn's min_weight_fraction_leaf).
    #[arg(
        long,
        value_name = "FLOAT",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub min_weight_fraction_leaf: f64,
    /// Grow each tree best first, the split that decreases the impurity
    /// most among all leaves next, up to N leaves (N >= 2; not with
    /// --splitter level or GPU training) [default: none, depth first].
    #[arg(long, value_name = "N|none", value_parser = parse_max_leaf_nodes)]
    pub max_leaf_nodes: Option<MaxLeafNodes>,
    /// Split a node only if the weighted impurity decrease, N_t / N × (impurity
    /// − N_t_R / N_t × right impurity − N_t_L / N_t × left impurity),
    /// reaches this (scikit-learn's min_impurity_decrease).
    #[arg(
        long,
        value_name = "FLOAT",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub min_impurity_decrease: f64,
}

/// `--max-leaf-nodes` value: a count or "none".
#[derive(Debug, Clone, Copy)]
pub struct MaxLeafNodes(pub Option<u32>);

/// `--max-depth` value: a depth or "none".
#[derive(Debug, Clone, Copy)]
pub struct MaxDepth(pub Option<u32>);

impl ForestArgs {
    /// The parameters, with per-command defaults for trees and depth. Range
    /// checks are the forest crate's (sklearn-like messages), run before training.
    pub fn params(&self, default_trees: u32, default_depth: Option<u32>) -> Params {
        Params {
            n_estimators: self.n_estimators.unwrap_or(default_trees),
            max_depth: self.max_depth.map_or(default_depth, |d| d.0),
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            max_features: self.max_features,
            bootstrap: self.bootstrap,
            max_samples: self.max_samples,
            seed: self.seed,
            splitter: self.splitter,
            min_weight_fraction_leaf: self.min_weight_fraction_leaf,
            max_leaf_nodes: self.max_leaf_nodes.and_then(|n| n.0),
            min_impurity_decrease: self.min_impurity_decrease,
        }
    }
}

/// Parses `--max-depth`: a depth or "none".
pub fn parse_max_depth(s: &str) -> Result<MaxDepth, String> {
    count_or_none(s).map(MaxDepth)
}

/// Parses `--max-leaf-nodes`: a count or "none".
pub fn parse_max_leaf_nodes(s: &str) -> Result<MaxLeafNodes, String> {
    count_or_none(s).map(MaxLeafNodes)
}

/// A non-negative integer, or "none" (any case) for no limit.
fn count_or_none(s: &str) -> Result<Option<u32>, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    s.parse::<u32>()
        .map(Some)
        .map_err(|_| format!("expected a non-negative integer or 'none', got '{s}'"))
}
