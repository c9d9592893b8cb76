//! Depth-first tree builder (sklearn's `DepthFirstTreeBuilder`): an explicit
//! stack, nodes numbered in pre-order, left child first.

use crate::rng::Rng;
use crate::splitter::Splitter;
use crate::tree::{LEAF, Nodes};

pub struct Limits {
    pub max_depth: u32,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
}

struct Pending {
    start: usize,
    end: usize,
    depth: u32,
    parent: u32,
    is_left: bool,
}

/// Grows one tree over the rows `0..n_in_bag` the splitter was started with.
pub fn build(splitter: &mut Splitter, n_in_bag: usize, limits: &Limits, rng: &mut Rng) -> Nodes {
    let mut nodes = Nodes::default();
    let mut stack = vec![Pending {
        start: 0,
        end: n_in_bag,
        depth: 0,
        parent: LEAF,
        is_left: false,
    }];
    while let Some(p) = stack.pop() {
        let n = p.end - p.start;
        let (sums, pure) = splitter.node_sums(p.start, p.end);
        let is_leaf = pure
            || p.depth >= limits.max_depth
            || n < limits.min_samples_split
            || n < 2 * limits.min_samples_leaf;
        let split = if is_leaf {
            None
        } else {
            splitter.best_split(p.start, p.end, sums, rng)
        };
        let id = match &split {
            Some(s) => nodes.push(s.feature, s.threshold, LEAF, LEAF, sums.mean()),
            None => nodes.push_leaf(sums.mean()),
        };
        if p.parent != LEAF {
            let slot = if p.is_left {
                &mut nodes.left
            } else {
                &mut nodes.right
            };
            slot[p.parent as usize] = id;
        }
        if let Some(s) = split {
            splitter.partition(p.start, p.end, &s);
            let mid = p.start + s.n_left;
            let depth = p.depth + 1;
            stack.push(Pending {
                start: mid,
                end: p.end,
                depth,
                parent: id,
                is_left: false,
            });
            stack.push(Pending {
                start: p.start,
                end: mid,
                depth,
                parent: id,
                is_left: true,
            });
        }
    }
    nodes
}
