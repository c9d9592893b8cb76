//! Depth-first tree builder (sklearn's `DepthFirstTreeBuilder`): an explicit
//! stack, nodes numbered in pre-order, left child first.

use alloc::vec;

use crate::rng::Rng;
use crate::splitter::Splitter;
use crate::tree::{LEAF, Nodes};

pub struct Limits {
    pub max_depth: u32,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
}

impl Limits {
    /// A node of `n` rows (targets all equal if `pure`) at `depth` is a leaf.
    pub fn is_leaf(&self, n: usize, depth: u32, pure: bool) -> bool {
        pure || depth >= self.max_depth
            || n < self.min_samples_split
            || n < 2 * self.min_samples_leaf
    }
}

/// Where a node hangs: its depth and its parent's child slot.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub depth: u32,
    pub parent: u32,
    pub is_left: bool,
}

impl Place {
    pub const ROOT: Place = Place {
        depth: 0,
        parent: LEAF,
        is_left: false,
    };

    /// Points the parent's child slot at `id`.
    pub fn link(&self, nodes: &mut Nodes, id: u32) {
        if self.parent != LEAF {
            let slot = if self.is_left {
                &mut nodes.left
            } else {
                &mut nodes.right
            };
            slot[self.parent as usize] = id;
        }
    }

    pub fn children(&self, id: u32) -> (Place, Place) {
        let child = |is_left| Place {
            depth: self.depth + 1,
            parent: id,
            is_left,
        };
        (child(true), child(false))
    }
}

/// Grows one tree over the rows `0..n_in_bag` the splitter was started with.
pub fn build(splitter: &mut Splitter, n_in_bag: usize, limits: &Limits, rng: &mut Rng) -> Nodes {
    let mut nodes = Nodes::default();
    grow(splitter, &mut nodes, n_in_bag, Place::ROOT, limits, rng);
    nodes
}

/// Grows the subtree of the splitter's rows `0..n` with exact splits,
/// appending its nodes (pre-order) to `nodes` and hanging it at `at`.
pub fn grow(
    splitter: &mut Splitter,
    nodes: &mut Nodes,
    n: usize,
    at: Place,
    limits: &Limits,
    rng: &mut Rng,
) {
    // A node's sums, when known before its rows are partitioned.
    let mut stack = vec![(0, n, at, None)];
    while let Some((start, end, place, known)) = stack.pop() {
        let n = end - start;
        let (sums, pure) = known.unwrap_or_else(|| splitter.node_sums(start, end));
        let split = if limits.is_leaf(n, place.depth, pure) {
            None
        } else {
            splitter.best_split(start, end, sums, rng)
        };
        let id = match &split {
            Some(s) => nodes.push(s.feature, s.threshold, LEAF, LEAF, sums.mean()),
            None => nodes.push_leaf(sums.mean()),
        };
        place.link(nodes, id);
        if let Some(s) = split {
            let mid = start + s.n_left;
            let (left, right) = place.children(id);
            if n == 2 {
                // Two one-row children, leaves whatever the limits (a node of
                // one row never splits): nothing reads their rows again, so no
                // partition. A third of all splits, the cheapest to skip.
                let [l, r] = splitter.split_pair(start, &s);
                stack.push((mid, end, right, Some((r, true))));
                stack.push((start, mid, left, Some((l, true))));
            } else {
                splitter.partition(start, end, &s);
                stack.push((mid, end, right, None));
                stack.push((start, mid, left, None));
            }
        }
    }
}
