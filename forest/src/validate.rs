//! What a forest must satisfy before it is used, whoever made it: checked
//! on every trained, merged and loaded forest, so that prediction can never
//! index out of bounds or loop.

use core::ops::Range;

use crate::ensemble::Forest;
use crate::error::{ForestError, Result};
use crate::params::Params;
use crate::tree::LEAF;
use alloc::{format, string::String};

/// Bytes the column names of a model may take, counting 8 more for each:
/// what `model-info` hands back stays well within what its host accepts.
pub const MAX_NAMES_BYTES: usize = 256 << 10;

/// Checks column names for training: one per feature, and all of them
/// (the target's too) within [`MAX_NAMES_BYTES`].
pub fn check_feature_names(
    names: Option<&[String]>,
    target: Option<&str>,
    n_features: usize,
) -> Result<()> {
    check_names(names, target, n_features).map_err(ForestError::InvalidData)
}

fn check_names(
    names: Option<&[String]>,
    target: Option<&str>,
    n_features: usize,
) -> Result<(), String> {
    if let Some(names) = names
        && names.len() != n_features
    {
        return Err(format!(
            "{} feature names for {n_features} features",
            names.len()
        ));
    }
    let bytes: usize = names
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .chain(target)
        .map(|n| n.len() + 8)
        .sum();
    if bytes > MAX_NAMES_BYTES {
        return Err(format!(
            "the column names take {} KiB, beyond the {} KiB a model may hold (shorter names, or fewer columns)",
            bytes >> 10,
            MAX_NAMES_BYTES >> 10
        ));
    }
    Ok(())
}

impl Forest {
    /// Checks everything prediction relies on, so that a forest from an
    /// untrusted source can never index out of bounds or loop: the recorded
    /// names and parameters, and the node arrays ([`Layout::check`]).
    pub fn validate(&self) -> Result<()> {
        let n = &self.nodes;
        check_meta(
            self.n_features,
            self.feature_names.as_deref(),
            self.target_name.as_deref(),
            &self.params,
            &self.roots,
            n.len(),
        )?;
        check_importances(&self.importances, self.n_features)?;
        Layout {
            n_features: self.n_features,
            roots: &self.roots,
            feature: &n.feature,
            threshold: &n.threshold,
            left: &n.left,
            right: &n.right,
            value: &n.value,
            missing_left: &n.missing_left,
        }
        .check()
    }
}

/// Importances are none (a model of format 4) or one per feature, each
/// within 0..=1.
pub fn check_importances(importances: &[f64], n_features: u32) -> Result<()> {
    if !importances.is_empty() && importances.len() != n_features as usize {
        return Err(ForestError::InvalidModel(format!(
            "{} feature importances for {n_features} features",
            importances.len()
        )));
    }
    if let Some(i) = importances.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(ForestError::InvalidModel(format!(
            "feature importance {i} is {}, outside 0..=1",
            importances[i]
        )));
    }
    Ok(())
}

/// A forest's node arrays in the flat layout that every holder of them
/// shares (the model file, the parts, the WIT `gpu` record and the WGSL
/// buffers), borrowed; leaf values in the holder's precision (f64 in a
/// model, f32 on a GPU).
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a, V> {
    pub n_features: u32,
    /// Tree `t` is nodes `roots[t]..roots[t + 1]` (the last one runs to the end).
    pub roots: &'a [u32],
    pub feature: &'a [u32],
    pub threshold: &'a [f32],
    pub left: &'a [u32],
    pub right: &'a [u32],
    pub value: &'a [V],
    pub missing_left: &'a [bool],
}

impl<V: Copy + Into<f64>> Layout<'_, V> {
    /// The one check of the flat layout, whoever holds it: arrays of equal
    /// length, at least one feature, roots strictly increasing from 0, and
    /// every node as [`check_node`] says (pre-order with the left child
    /// next, children within their tree, features in range, finite values,
    /// thresholds finite or +inf, leaves without a split). Errors are
    /// `invalid-model`.
    pub fn check(&self) -> Result<()> {
        let len = self.feature.len();
        let lens = [
            self.threshold.len(),
            self.left.len(),
            self.right.len(),
            self.value.len(),
            self.missing_left.len(),
        ];
        if lens.iter().any(|&l| l != len) {
            return Err(ForestError::InvalidModel(format!(
                "node arrays have different lengths (feature {len}, threshold {}, left {}, right {}, value {}, missing-left {})",
                lens[0], lens[1], lens[2], lens[3], lens[4]
            )));
        }
        if self.n_features == 0 {
            return Err(ForestError::InvalidModel(
                "the model has zero features".into(),
            ));
        }
        check_roots(self.roots, len)?;
        for t in 0..self.roots.len() {
            let start = self.roots[t] as usize;
            let range = start..self.roots.get(t + 1).map_or(len, |&r| r as usize);
            for i in range.clone() {
                let node = Node {
                    feature: self.feature[i],
                    threshold: self.threshold[i],
                    left: self.left[i],
                    right: self.right[i],
                    value: self.value[i].into(),
                    missing_left: self.missing_left[i],
                };
                check_node(i, t, &range, node, self.n_features)?;
            }
        }
        Ok(())
    }
}

/// One root per tree, strictly increasing from 0, all below `len` nodes.
fn check_roots(roots: &[u32], len: usize) -> Result<()> {
    let bad = |m: &str| Err(ForestError::InvalidModel(m.into()));
    if roots.is_empty() {
        return bad("the model has no trees");
    }
    if roots[0] != 0
        || roots.windows(2).any(|w| w[0] >= w[1])
        || *roots.last().expect("not empty") as usize >= len
    {
        return bad("tree roots are not strictly increasing node ids starting at 0");
    }
    Ok(())
}

/// One node's fields, as stored or as decoded from raw arrays.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub feature: u32,
    pub threshold: f32,
    pub left: u32,
    pub right: u32,
    pub value: f64,
    pub missing_left: bool,
}

/// A split's threshold is finite, or +inf: every present value goes left,
/// the missing ones right.
#[inline]
pub(crate) fn threshold_ok(threshold: f32) -> bool {
    threshold.is_finite() || threshold == f32::INFINITY
}

/// The checks of [`Forest::validate`] that are not about single nodes: the
/// feature count and names, the recorded parameters, and `roots` (one per
/// tree, strictly increasing from 0, all below `len` nodes).
pub(crate) fn check_meta(
    n_features: u32,
    feature_names: Option<&[String]>,
    target_name: Option<&str>,
    params: &Params,
    roots: &[u32],
    len: usize,
) -> Result<()> {
    let bad = |m: String| Err(ForestError::InvalidModel(m));
    if n_features == 0 {
        return bad("the model has zero features".into());
    }
    if let Err(m) = check_names(feature_names, target_name, n_features as usize) {
        return bad(m);
    }
    check_roots(roots, len)?;
    // The recorded parameters are shown to users: they must make sense too.
    if let Err(e) = params
        .validate()
        .and(params.resolve_max_features(n_features as usize))
    {
        return bad(format!("recorded training parameters are invalid ({e})"));
    }
    if params.n_estimators as usize != roots.len() {
        return bad(format!(
            "{} trees, but the recorded n_estimators is {}",
            roots.len(),
            params.n_estimators
        ));
    }
    Ok(())
}

/// Checks node `i` of tree `t` (whose nodes are `range`): a leaf carries no
/// split, a split's children follow it within the tree in pre-order (the
/// left one next), its feature exists and its threshold is finite.
#[inline]
pub(crate) fn check_node(
    i: usize,
    t: usize,
    range: &Range<usize>,
    node: Node,
    n_features: u32,
) -> Result<()> {
    let bad = |m: String| Err(ForestError::InvalidModel(m));
    let Node {
        feature,
        threshold,
        left: l,
        right: r,
        value,
        missing_left,
    } = node;
    if !value.is_finite() {
        return bad(format!("node {i}: value {value} is not finite"));
    }
    if l == LEAF {
        if r != LEAF {
            return bad(format!("node {i}: a leaf on the left but not on the right"));
        }
        // Leaves carry no split; anything but the canonical zeros is damage.
        if feature != 0 || threshold.to_bits() != 0 || missing_left {
            return bad(format!(
                "node {i}: a leaf with a split feature, threshold or missing-value direction"
            ));
        }
        return Ok(());
    }
    for c in [l, r] {
        if (c as usize) <= i || (c as usize) >= range.end {
            return bad(format!(
                "node {i}: child id {c} outside {}..{} (children must follow their parent within tree {t})",
                i + 1,
                range.end
            ));
        }
    }
    // Pre-order, left child first: prediction relies on it.
    if l as usize != i + 1 || r == l {
        return bad(format!(
            "node {i}: children {l} and {r}, but the left child must be node {} and the right one a later node (trees are stored in pre-order, left child first)",
            i + 1
        ));
    }
    if feature >= n_features {
        return bad(format!(
            "node {i}: feature {feature} >= n_features {n_features}"
        ));
    }
    if !threshold_ok(threshold) {
        return bad(format!(
            "node {i}: threshold {threshold} is neither finite nor +inf"
        ));
    }
    Ok(())
}
