//! Prediction: the mean of the trees' leaves for each row of a batch.

use crate::dataset::check_features;
use crate::ensemble::Forest;
use crate::error::{ForestError, Result};
use crate::tree::LEAF;
use alloc::{format, vec, vec::Vec};

/// Rows predicted together, tree after tree: the nodes of a tree's upper
/// levels, which most rows pass, serve many rows before they leave the cache,
/// and the more rows walk a level together, the more of their node loads
/// overlap. Chosen with `examples/predict_model.rs` on the friedman1 forests
/// of `compare` and `examples/predict_bench.rs` on diabetes (figures in
/// docs/performance.md). 65536 rows of 10 features are 2.5 MiB.
const PREDICT_BLOCK_ROWS: usize = 65536;

/// A prediction batch must be `n_rows × n_features` finite values or NaN
/// (missing); returns whether a value is missing.
pub fn check_batch(features: &[f32], n_rows: usize, n_features: usize) -> Result<bool> {
    if Some(features.len()) != n_rows.checked_mul(n_features) {
        return Err(ForestError::InvalidData(format!(
            "features has {} values, expected n_rows × n_features = {n_rows} × {n_features} (the model was trained on {n_features} features)",
            features.len()
        )));
    }
    check_features(features, n_features)
}

impl Forest {
    /// Mean of the trees' predictions for each row of `features`
    /// (row-major, `n_rows × n_features`). The forest must hold what
    /// [`Forest::validate`] checks, as every trained, merged or loaded one
    /// does.
    pub fn predict(&self, features: &[f32], n_rows: usize) -> Result<Vec<f64>> {
        let nf = self.n_features as usize;
        // Missing values need a look at each node's direction: an instance
        // of its own, so that batches without them pay nothing for it.
        Ok(if check_batch(features, n_rows, nf)? {
            self.walk::<true>(features, n_rows)
        } else {
            self.walk::<false>(features, n_rows)
        })
    }

    /// [`Forest::predict`] of a checked batch; `MISSING`: it has NaN.
    fn walk<const MISSING: bool>(&self, features: &[f32], n_rows: usize) -> Vec<f64> {
        let nf = self.n_features as usize;
        let mut out = vec![0f64; n_rows];
        // Blocks of rows against every tree: the part of a tree that the
        // block's rows reach stays in cache while they all walk it. Each row
        // still sums its trees in order 0..n, so the result depends neither on
        // the block size nor on the walk.
        let n = &self.nodes;
        // Slices of one length held in locals: the bounds check on `right`
        // covers the other two arrays, and Cranelift keeps their bases in
        // registers (faster in wasm, a little slower natively).
        let right = &n.right[..];
        let (feature, threshold) = (&n.feature[..right.len()], &n.threshold[..right.len()]);
        let missing_left = &n.missing_left[..right.len()];
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
                // unrolled). A leaf (feature 0, threshold
                // 0: checked on load) keeps its id. A left child is the next
                // node (checked on load), so `left` is never loaded: one
                // array fewer to miss in cache per level.
                macro_rules! step {
                    ($node:expr, $row:expr) => {{
                        let node: &mut u32 = $node;
                        let i = *node as usize;
                        let (left, right) = (*node + 1, right[i]);
                        let x = $row[feature[i] as usize];
                        // NaN > t is false: without the direction, a
                        // missing value would go left.
                        let go_right = if MISSING {
                            (x > threshold[i]) | (x.is_nan() & !missing_left[i])
                        } else {
                            x > threshold[i]
                        };
                        let next = core::hint::select_unpredictable(go_right, right, left);
                        let inner = right != LEAF;
                        moving |= inner;
                        *node = core::hint::select_unpredictable(inner, next, *node);
                    }};
                }
                while moving {
                    moving = false;
                    // Two rows per iteration: the loop's own counting and
                    // branch are paid once for two (Cranelift, which
                    // compiles the sandboxed engine, does not unroll loops).
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
        out
    }
}
