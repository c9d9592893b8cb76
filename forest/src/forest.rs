//! The forest: training (bootstrap + trees), prediction, structure checks.

use alloc::{format, string::String, vec, vec::Vec};
use core::ops::Range;

use crate::builder::{self, Limits};
use crate::dataset::{Dataset, check_finite_features};
use crate::error::{ForestError, Result};
use crate::hist::{self, Binned};
use crate::params::{Params, SplitterKind};
use crate::rng::Rng;
use crate::splitter::Splitter;
use crate::tree::{LEAF, Nodes};

/// A trained forest. All trees live in one [`Nodes`] (absolute child ids);
/// tree `t` occupies `roots[t]..roots[t + 1]` (the last one runs to the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    pub n_features: u32,
    pub feature_names: Option<Vec<String>>,
    /// What produced the forest (kept for `info`).
    pub params: Params,
    pub n_train_rows: u32,
    pub roots: Vec<u32>,
    pub nodes: Nodes,
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

/// Everything training needs that does not change from tree to tree.
pub struct Trainer {
    params: Params,
    targets: Vec<f64>,
    n_rows: usize,
    n_features: usize,
    max_features: usize,
    n_draws: usize,
    /// The feature values: column-major `n_features × n_rows` for the
    /// presorted (`exact`) path, else row-major; empty for `hist`.
    values: Vec<f32>,
    row_major: bool,
    /// `exact`: per feature, all rows sorted by (value, row id), once per forest.
    order: Vec<u32>,
    /// `hist` and `auto`: the features quantized, once per forest.
    binned: Option<Binned>,
    /// `auto`: nodes of at most this many rows use exact splits.
    auto_exact_rows: usize,
}

impl Trainer {
    pub fn new(data: &Dataset, params: &Params) -> Result<Self> {
        params.validate()?;
        Trainer::from_rows(
            data.features.to_vec(),
            data.targets.to_vec(),
            data.n_rows,
            data.n_features,
            params,
        )
    }

    /// A trainer that owns its data: `features` (row-major) is kept, or
    /// transposed in place, and `targets` kept, so preparing costs no second
    /// copy of the matrix (what bounds a sandboxed worker's memory).
    pub fn from_owned(
        n_rows: usize,
        n_features: usize,
        features: Vec<f32>,
        targets: Vec<f64>,
        params: &Params,
    ) -> Result<Self> {
        Dataset::new(n_rows, n_features, &features, &targets)?;
        params.validate()?;
        Trainer::from_rows(features, targets, n_rows, n_features, params)
    }

    /// `values` is row-major `n_rows × n_features`, already validated.
    fn from_rows(
        mut values: Vec<f32>,
        targets: Vec<f64>,
        n: usize,
        nf: usize,
        params: &Params,
    ) -> Result<Self> {
        let max_features = params.resolve_max_features(nf)?;
        let n_draws = params.resolve_n_draws(n)?;
        // `auto` on data no larger than its crossover grows exact trees from
        // the root: the presorted path does that fastest (same trees).
        let exact = params.splitter == SplitterKind::Exact
            || params.splitter == SplitterKind::Auto && n <= hist::AUTO_EXACT_ROWS;
        let mut order = Vec::new();
        if exact {
            // The presorted path reads a feature's values by row id: columns.
            transpose_in_place(&mut values, n, nf);
            let columns = &values;
            order.reserve_exact(n * nf);
            let (all, mut keys): (Vec<u32>, _) = ((0..n as u32).collect(), Vec::new());
            for f in 0..nf {
                crate::splitter::sort_by_value(&columns[f * n..(f + 1) * n], &all, &mut keys);
                order.extend(keys.iter().map(|&k| k as u32));
            }
        }
        // Histogram splits read only the codes; `auto`'s exact subtrees copy
        // the rows they start with, and a row's values in one cache line
        // make that one miss a row instead of one a feature (friedman1
        // 100 000: gathering 5% of the sandboxed training before).
        let binned = (!exact).then(|| Binned::new(&values, n, nf));
        if params.splitter == SplitterKind::Hist {
            // Histogram splits need only the codes: free the values.
            values = Vec::new();
        }
        Ok(Trainer {
            params: params.clone(),
            targets,
            n_rows: n,
            n_features: nf,
            max_features,
            n_draws,
            values,
            row_major: !exact,
            order,
            binned,
            auto_exact_rows: hist::AUTO_EXACT_ROWS,
        })
    }

    pub fn splitter(&self) -> Splitter<'_> {
        Splitter::new(
            &self.values,
            self.row_major,
            &self.targets,
            self.n_features,
            self.params.min_samples_leaf as usize,
            self.max_features,
        )
    }

    /// Grows tree `index`. The result depends only on the data, the params and
    /// `index` — not on which splitter (worker) grows it, nor in what order.
    pub fn build_tree(&self, index: u32, splitter: &mut Splitter) -> Nodes {
        let mut rng = Rng::for_tree(self.params.seed, index);
        splitter.weighted.iter_mut().for_each(|d| d.w = 0);
        if self.params.bootstrap {
            for _ in 0..self.n_draws {
                splitter.weighted[rng.below(self.n_rows as u64) as usize].w += 1;
            }
        } else {
            splitter.weighted.iter_mut().for_each(|d| d.w = 1);
        }
        let limits = Limits {
            max_depth: self.params.max_depth.unwrap_or(u32::MAX),
            min_samples_split: self.params.min_samples_split as usize,
            min_samples_leaf: self.params.min_samples_leaf as usize,
        };
        match (&self.binned, self.params.splitter) {
            (Some(binned), SplitterKind::Hist) => {
                hist::build(splitter, binned, &limits, &mut rng, 0)
            }
            (Some(binned), SplitterKind::Auto) => {
                hist::build(splitter, binned, &limits, &mut rng, self.auto_exact_rows)
            }
            _ => {
                let n_in_bag = splitter.start_tree(&self.order);
                builder::build(splitter, n_in_bag, &limits, &mut rng)
            }
        }
    }

    /// Grows the trees `range` (in order) with one splitter.
    pub fn build_trees(&self, range: Range<u32>) -> Vec<Nodes> {
        let mut splitter = self.splitter();
        range.map(|t| self.build_tree(t, &mut splitter)).collect()
    }

    /// Assembles trees `0..n_estimators`, given in order, into a forest.
    pub fn assemble(&self, trees: &[Nodes], feature_names: Option<Vec<String>>) -> Forest {
        Forest::from_trees(
            self.n_features as u32,
            feature_names,
            self.params.clone(),
            self.n_rows as u32,
            trees,
        )
    }

    /// Changes `auto`'s crossover (for measuring it; see
    /// `examples/splitter_crossover.rs`). Trees then differ from `train`'s.
    #[doc(hidden)]
    pub fn set_auto_exact_rows(&mut self, rows: usize) {
        self.auto_exact_rows = rows;
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
}

/// Transposes a row-major `rows × cols` matrix into column-major order in
/// place, following each cycle of the permutation once (a bit per element
/// marks the ones already moved): no second copy of the matrix.
pub fn transpose_in_place(data: &mut [f32], rows: usize, cols: usize) {
    let len = rows * cols;
    debug_assert_eq!(data.len(), len);
    if rows <= 1 || cols <= 1 {
        return; // both orders are the same
    }
    // Row-major index i = r·cols + c goes to column-major j = c·rows + r.
    let dest = |i: usize| (i % cols) * rows + i / cols;
    let mut moved = vec![0u64; len.div_ceil(64)];
    for start in 0..len {
        if moved[start / 64] >> (start % 64) & 1 == 1 {
            continue;
        }
        let (mut i, mut carried) = (start, data[start]);
        loop {
            moved[i / 64] |= 1 << (i % 64);
            let j = dest(i);
            core::mem::swap(&mut data[j], &mut carried);
            if j == start {
                break;
            }
            i = j;
        }
    }
}

/// Rows predicted together, tree after tree: the nodes of a tree's upper
/// levels, which most rows pass, serve many rows before they leave the cache.
/// Measured natively, one thread, with `examples/predict_model.rs` on the
/// friedman1 forests of `compare` (200 trees of ~17 000 nodes, 100 000 rows;
/// 100 trees of ~49 000 nodes, 25 000 rows) and `examples/predict_bench.rs`
/// (diabetes, 200 trees of ~430 nodes, 200 000 rows), branch-free level walk:
///
/// | block rows | friedman1 20 000 | friedman1 100 000 | diabetes  |
/// |------------|------------------|-------------------|-----------|
/// | 4096       | 1425 ms          | 406 ms            | 1418 ms   |
/// | 16384      | 1057 ms          | 212 ms            | 1391 ms   |
/// | 65536      | 954 ms           | 179 ms            | 1442 ms   |
///
/// (The former walk, 64-row blocks and each row on its own with branches:
/// 2690, 2218 and 2426 ms.) 65536 rows of 10 features are 2.5 MiB.
const PREDICT_BLOCK_ROWS: usize = 65536;

/// A prediction batch must be `n_rows × n_features` finite values.
pub fn check_batch(features: &[f32], n_rows: usize, n_features: usize) -> Result<()> {
    if Some(features.len()) != n_rows.checked_mul(n_features) {
        return Err(ForestError::InvalidData(format!(
            "features has {} values, expected n_rows × n_features = {n_rows} × {n_features} (the model was trained on {n_features} features)",
            features.len()
        )));
    }
    check_finite_features(features, n_features)
}

/// Names, when given, must name every feature.
pub fn check_feature_names(names: Option<&[String]>, n_features: usize) -> Result<()> {
    match names {
        Some(names) if names.len() != n_features => Err(ForestError::InvalidData(format!(
            "{} feature names given for {n_features} features",
            names.len()
        ))),
        _ => Ok(()),
    }
}

/// Trains a forest on one thread.
pub fn train(
    data: &Dataset,
    params: &Params,
    feature_names: Option<Vec<String>>,
) -> Result<Forest> {
    check_feature_names(feature_names.as_deref(), data.n_features)?;
    let trainer = Trainer::new(data, params)?;
    let trees = trainer.build_trees(0..params.n_estimators);
    Ok(trainer.assemble(&trees, feature_names))
}

impl Forest {
    /// Concatenates trees (tree `t` = `trees[t]`, child ids relative to it).
    pub fn from_trees<'n>(
        n_features: u32,
        feature_names: Option<Vec<String>>,
        params: Params,
        n_train_rows: u32,
        trees: impl IntoIterator<Item = &'n Nodes>,
    ) -> Forest {
        let mut nodes = Nodes::default();
        let mut roots = Vec::new();
        for t in trees {
            roots.push(nodes.len() as u32);
            nodes.append_shifted(t);
        }
        Forest {
            n_features,
            feature_names,
            params,
            n_train_rows,
            roots,
            nodes,
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

    /// Mean of the trees' predictions for each row of `features`
    /// (row-major, `n_rows × n_features`). The forest must hold what
    /// [`Forest::validate`] checks, as every trained, merged or loaded one
    /// does.
    pub fn predict(&self, features: &[f32], n_rows: usize) -> Result<Vec<f64>> {
        let nf = self.n_features as usize;
        check_batch(features, n_rows, nf)?;
        let mut out = vec![0f64; n_rows];
        // Blocks of rows against every tree: the part of a tree that the
        // block's rows reach stays in cache while they all walk it. Each row
        // still sums its trees in order 0..n, so the result depends neither on
        // the block size nor on the walk.
        let n = &self.nodes;
        // Slices of one length held in locals: the bounds check on `right`
        // covers the other two arrays, and Cranelift keeps their bases in
        // registers (10% faster in wasm, 3% slower natively).
        let right = &n.right[..];
        let (feature, threshold) = (&n.feature[..right.len()], &n.threshold[..right.len()]);
        let mut at = vec![0u32; n_rows.min(PREDICT_BLOCK_ROWS)];
        for (b, block) in features.chunks(PREDICT_BLOCK_ROWS * nf).enumerate() {
            let first = b * PREDICT_BLOCK_ROWS;
            let acc = &mut out[first..first + block.len() / nf];
            for &root in &self.roots {
                // The rows descend together, one level per pass: their node
                // loads are independent, so they overlap instead of each row
                // waiting out its own cache misses.
                let at = &mut at[..acc.len()];
                at.fill(root);
                let mut moving = true;
                // One level for one row. Branch-free: which way a row goes is
                // a coin flip to the branch predictor, so both choices are
                // `select_unpredictable` (LLVM turned the same selects
                // written with masks into a branch once the loop was
                // unrolled: 3x slower natively). A leaf (feature 0, threshold
                // 0: checked on load) keeps its id. A left child is the next
                // node (checked on load), so `left` is never loaded: one
                // array fewer to miss in cache per level.
                macro_rules! step {
                    ($node:expr, $row:expr) => {{
                        let node: &mut u32 = $node;
                        let i = *node as usize;
                        let (left, right) = (*node + 1, right[i]);
                        let go_right = $row[feature[i] as usize] > threshold[i];
                        let next = core::hint::select_unpredictable(go_right, right, left);
                        let inner = right != LEAF;
                        moving |= inner;
                        *node = core::hint::select_unpredictable(inner, next, *node);
                    }};
                }
                while moving {
                    moving = false;
                    // Two rows per iteration: in wasm every loop head checks
                    // the epoch, and Cranelift spills the loop's state
                    // around that check.
                    let mut pairs = at.chunks_exact_mut(2);
                    let mut rows = block.chunks_exact(2 * nf);
                    for (nodes, two) in (&mut pairs).zip(&mut rows) {
                        let (a, b) = two.split_at(nf);
                        step!(&mut nodes[0], a);
                        step!(&mut nodes[1], b);
                    }
                    if let [node] = pairs.into_remainder() {
                        step!(node, rows.remainder());
                    }
                }
                for (slot, &leaf) in acc.iter_mut().zip(at.iter()) {
                    *slot += n.value[leaf as usize];
                }
            }
        }
        let n_trees = self.n_trees() as f64;
        out.iter_mut().for_each(|v| *v /= n_trees);
        Ok(out)
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

    /// Checks everything prediction relies on, so that a forest from an
    /// untrusted source can never index out of bounds or loop.
    pub fn validate(&self) -> Result<()> {
        let n = &self.nodes;
        let len = n.len();
        if [
            n.threshold.len(),
            n.left.len(),
            n.right.len(),
            n.value.len(),
        ]
        .iter()
        .any(|&l| l != len)
        {
            return Err(ForestError::InvalidModel(
                "node arrays have different lengths".into(),
            ));
        }
        check_meta(
            self.n_features,
            self.feature_names.as_deref(),
            &self.params,
            &self.roots,
            len,
        )?;
        for t in 0..self.roots.len() {
            let range = self.tree_range(t);
            for i in range.clone() {
                let node = Node {
                    feature: n.feature[i],
                    threshold: n.threshold[i],
                    left: n.left[i],
                    right: n.right[i],
                    value: n.value[i],
                };
                check_node(i, t, &range, node, self.n_features)?;
            }
        }
        Ok(())
    }
}

/// One node's fields, as stored or as decoded from raw arrays.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub feature: u32,
    pub threshold: f32,
    pub left: u32,
    pub right: u32,
    pub value: f64,
}

/// The checks of [`Forest::validate`] that are not about single nodes: the
/// feature count and names, the recorded parameters, and `roots` (one per
/// tree, strictly increasing from 0, all below `len` nodes).
pub(crate) fn check_meta(
    n_features: u32,
    feature_names: Option<&[String]>,
    params: &Params,
    roots: &[u32],
    len: usize,
) -> Result<()> {
    let bad = |m: String| Err(ForestError::InvalidModel(m));
    if n_features == 0 {
        return bad("the model has zero features".into());
    }
    if let Some(names) = feature_names
        && names.len() != n_features as usize
    {
        return bad(format!(
            "{} feature names for {n_features} features",
            names.len()
        ));
    }
    if roots.is_empty() {
        return bad("the model has no trees".into());
    }
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
    if roots[0] != 0
        || roots.windows(2).any(|w| w[0] >= w[1])
        || *roots.last().unwrap() as usize >= len
    {
        return bad("tree roots are not strictly increasing node ids starting at 0".into());
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
    } = node;
    if !value.is_finite() {
        return bad(format!("node {i}: value {value} is not finite"));
    }
    if l == LEAF {
        if r != LEAF {
            return bad(format!("node {i}: a leaf on the left but not on the right"));
        }
        // Leaves carry no split; anything but the canonical zeros is damage.
        if feature != 0 || threshold.to_bits() != 0 {
            return bad(format!(
                "node {i}: a leaf with a split feature or threshold"
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
    if !threshold.is_finite() {
        return bad(format!("node {i}: threshold {threshold} is not finite"));
    }
    Ok(())
}
