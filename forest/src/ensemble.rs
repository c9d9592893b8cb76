//! A trained forest: the trees of one training in one flat [`Nodes`], and
//! what produced them.

use core::ops::Range;

use crate::importance::{GrownTree, forest_importances};
use crate::params::Params;
use crate::sample::TrainedWeights;
use crate::tree::{LEAF, Nodes};
use alloc::{string::String, vec, vec::Vec};

/// A trained forest. All trees live in one [`Nodes`] (absolute child ids);
/// tree `t` occupies `roots[t]..roots[t + 1]` (the last one runs to the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    pub n_features: u32,
    pub feature_names: Option<Vec<String>>,
    /// The training target's column name, if known: prediction compares
    /// with that column.
    pub target_name: Option<String>,
    /// What produced the forest (kept for `info`).
    pub params: Params,
    pub n_train_rows: u32,
    pub roots: Vec<u32>,
    pub nodes: Nodes,
    /// Impurity-based feature importances (scikit-learn's
    /// `feature_importances_`; see `importance`), `n_features` of them;
    /// empty in a model of format 4, which did not store them.
    pub importances: Vec<f64>,
    /// The sample weights it was trained with, if any (formats before 8:
    /// none).
    pub sample_weight: Option<TrainedWeights>,
}

/// Summary of a forest's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForestInfo {
    pub n_trees: u32,
    pub n_nodes: u64,
    pub n_leaves: u64,
    /// Deepest leaf over all trees (root = depth 0).
    pub max_depth: u32,
    pub n_features: u32,
}

impl Forest {
    /// Concatenates trees (tree `t` = `trees[t]`, child ids relative to it)
    /// and computes the forest's importances from theirs.
    pub fn from_trees(
        n_features: u32,
        feature_names: Option<Vec<String>>,
        params: Params,
        n_train_rows: u32,
        trees: &[GrownTree],
    ) -> Forest {
        let mut nodes = Nodes::default();
        let mut roots = Vec::new();
        for t in trees {
            roots.push(nodes.len() as u32);
            nodes.append_shifted(&t.nodes);
        }
        let per_tree = trees.iter().map(|t| (t.nodes.len(), &t.decrease[..]));
        let importances = forest_importances(per_tree, n_features as usize);
        Forest {
            n_features,
            feature_names,
            target_name: None,
            params,
            n_train_rows,
            roots,
            nodes,
            importances,
            sample_weight: None,
        }
    }

    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    pub fn tree_range(&self, t: usize) -> Range<usize> {
        let end = self
            .roots
            .get(t + 1)
            .map_or(self.nodes.len(), |&r| r as usize);
        self.roots[t] as usize..end
    }

    pub fn info(&self) -> ForestInfo {
        let n = &self.nodes;
        let mut depth = vec![0u32; n.len()];
        let mut max_depth = 0;
        let mut n_leaves = 0;
        for i in 0..n.len() {
            if n.left[i] == LEAF {
                n_leaves += 1;
                max_depth = max_depth.max(depth[i]);
            } else {
                // Children come after parents (checked on load), so one pass suffices.
                depth[n.left[i] as usize] = depth[i] + 1;
                depth[n.right[i] as usize] = depth[i] + 1;
            }
        }
        ForestInfo {
            n_trees: self.n_trees() as u32,
            n_nodes: n.len() as u64,
            n_leaves,
            max_depth,
            n_features: self.n_features,
        }
    }
}
