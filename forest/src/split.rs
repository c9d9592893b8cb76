//! What a split is, and the one interface through which the builder grows
//! trees: a split strategy finds a node's best split and moves its rows to
//! the two sides.

use core::ops::Range;

use crate::criterion::{Sums, Weight};
use crate::rng::Rng;
use crate::tree::Test;
use crate::workspace::Workspace;

/// Values closer than this are treated as equal (sklearn's FEATURE_THRESHOLD).
pub const FEATURE_THRESHOLD: f64 = 1e-7;

#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub feature: u32,
    /// Number of the node's rows that go left (those missing the feature
    /// included when they go left).
    pub n_left: usize,
    pub threshold: f32,
    /// Where rows missing the feature go: the side that suits them best if
    /// the node has such rows, else the side with more rows (scikit-learn's
    /// rule for rows missing at prediction only).
    pub missing_left: bool,
}

impl Split {
    /// The split's test, as the node stores it.
    pub fn test(&self) -> Test {
        Test {
            feature: self.feature,
            threshold: self.threshold,
            missing_left: self.missing_left,
        }
    }
}

/// scikit-learn's `missing_go_to_left` for a split whose node has no row
/// missing its feature: the side with more rows, ties to the right.
#[inline]
pub fn more_rows_left(n_left: usize, n_rows: usize) -> bool {
    n_left > n_rows - n_left
}

/// The threshold between two consecutive distinct values `a < b`: sklearn's
/// midpoint, rounded *down* to f32. For every f32 `x`, `x <= t` then holds
/// exactly when `x <= midpoint` in f64, so one f32 threshold serves the CPU
/// and the GPU without changing any decision.
pub fn threshold_between(a: f32, b: f32) -> f32 {
    let mid = f64::from(a) / 2.0 + f64::from(b) / 2.0;
    let mut t = mid as f32;
    if f64::from(t) > mid {
        t = t.next_down();
    }
    if t >= b || !t.is_finite() {
        t = a;
    }
    t
}

/// A way of splitting nodes. A node is a range of positions in the
/// strategy's own order of the tree's rows (its two children the two parts
/// of the range); `Node` is what the strategy keeps for a node from its
/// parent's split until its own.
pub trait SplitStrategy<W: Weight> {
    type Node;

    /// The node's weighted target sums, and whether its targets are all equal.
    fn node_sums(
        &self,
        ws: &Workspace<W>,
        rows: Range<usize>,
        node: &Self::Node,
    ) -> (Sums<W>, bool);

    /// The best split of the node over up to `max_features` non-constant
    /// features, drawn by [`Workspace::draw`]; `None` if no valid
    /// split exists. Ties keep the first split found, so the result depends
    /// only on the rng.
    fn best_split(
        &mut self,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        node: &Self::Node,
        total: Sums<W>,
        rng: &mut Rng,
    ) -> Option<Split>;

    /// The sums of the rows `split` (of this node, the last found by
    /// `best_split`) sends left.
    fn left_sums(
        &self,
        ws: &Workspace<W>,
        rows: Range<usize>,
        node: &Self::Node,
        split: &Split,
    ) -> Sums<W>;

    /// Moves the node's rows to the split's sides: the `n_left` left rows
    /// first. `kept[i]` says whether child `i` (left, right) is split by this
    /// strategy too; the children's `Node`s are returned for those.
    fn split(
        &mut self,
        ws: &Workspace<W>,
        rows: Range<usize>,
        node: Self::Node,
        split: &Split,
        kept: [bool; 2],
    ) -> [Option<Self::Node>; 2];

    /// The node is a leaf: what it kept is given back.
    fn leaf(&mut self, node: Self::Node);

    /// The node waits on best-first growth's frontier, its best split found,
    /// until it is split or made a leaf; many nodes may wait at once. A
    /// strategy may give back (some of) what it keeps meanwhile and rebuild
    /// it in `split`; by default it keeps the node as it is.
    fn wait(&mut self, _ws: &Workspace<W>, node: Self::Node) -> Self::Node {
        node
    }
}

#[cfg(test)]
mod tests {
    use super::threshold_between;

    #[test]
    fn threshold_is_the_midpoint_rounded_down() {
        assert_eq!(threshold_between(1.0, 2.0), 1.5);
        assert_eq!(threshold_between(-1.0, 3.0), 1.0);
        // Adjacent f32 values: the midpoint is not representable, round down to a.
        let a = 1.0f32;
        let b = a.next_up();
        assert_eq!(threshold_between(a, b), a);
        // Rounding down keeps every decision of the f64 midpoint.
        let (a, b) = (0.1f32, 0.3f32);
        let t = threshold_between(a, b);
        let mid = f64::from(a) / 2.0 + f64::from(b) / 2.0;
        for x in [t, t.next_up(), t.next_down(), 0.2f32, 0.2f32.next_up()] {
            assert_eq!(x <= t, f64::from(x) <= mid, "x = {x}");
        }
    }
}
