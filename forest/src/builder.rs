//! Grows one tree depth first (sklearn's `DepthFirstTreeBuilder`): an
//! explicit stack, nodes numbered in pre-order, left child first. One loop
//! for every split strategy; `auto` is nothing but the choice of strategy
//! per node: histograms for large nodes, exact splits from a node of at most
//! [`AUTO_EXACT_ROWS`] rows down.

use core::ops::Range;

use crate::criterion::Sums;
use crate::exact::{Exact, ExactNode};
use crate::hist::{Binned, Hist};
use crate::importance::{GrownTree, split_decrease};
use crate::rng::Rng;
use crate::split::{Split, SplitStrategy};
use crate::tree::{LEAF, Nodes};
use crate::workspace::{Gathered, Workspace};
use alloc::vec;
use alloc::vec::Vec;

/// Under `auto`, nodes with at most this many in-bag rows are split exactly,
/// and so is their subtree: on small nodes, scanning 256 bins per feature
/// (and subtracting histograms) costs more than an exact scan of the rows.
/// Chosen with `examples/splitter_crossover.rs` (figures in
/// docs/performance.md): 256 and 512 are equal within the noise, and 512
/// keeps exact's test MSE.
pub const AUTO_EXACT_ROWS: usize = 512;

/// When a node stops splitting: the tree's hyperparameters.
pub struct StopRules {
    pub max_depth: u32,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
}

impl StopRules {
    /// A node of `n` rows (targets all equal if `pure`) at `depth` is a leaf.
    pub fn is_leaf(&self, n: usize, depth: u32, pure: bool) -> bool {
        pure || depth >= self.max_depth
            || n < self.min_samples_split
            || n < 2 * self.min_samples_leaf
    }
}

/// How a builder splits the nodes of its trees.
enum Plan<'t> {
    /// Exact splits from the root, on the rows presorted once per forest.
    Exact { order: &'t [u32] },
    /// Histogram splits; nodes of at most `exact_rows` rows (`auto`; 0 for
    /// `hist`) grow their subtree with exact splits.
    Hist { hist: Hist<'t>, exact_rows: usize },
}

/// One worker's tree builder: its workspace and the strategies' buffers,
/// reused from tree to tree.
pub struct TreeBuilder<'t> {
    ws: Workspace<'t>,
    rules: StopRules,
    plan: Plan<'t>,
    exact: Exact,
    /// Under `auto`, the copy of the rows an exact subtree is grown on.
    gathered: Gathered,
}

impl<'t> TreeBuilder<'t> {
    /// Exact splits, on column-major values presorted into `order`
    /// ([`crate::exact::presort`]).
    pub fn exact(ws: Workspace<'t>, rules: StopRules, order: &'t [u32]) -> Self {
        Self::new(ws, rules, Plan::Exact { order })
    }

    /// Histogram splits over `binned`; nodes of at most `exact_rows` rows
    /// are split exactly (on row-major values), and so is their subtree.
    pub fn hist(
        ws: Workspace<'t>,
        rules: StopRules,
        binned: &'t Binned,
        exact_rows: usize,
    ) -> Self {
        let hist = Hist::new(binned);
        Self::new(ws, rules, Plan::Hist { hist, exact_rows })
    }

    fn new(ws: Workspace<'t>, rules: StopRules, plan: Plan<'t>) -> Self {
        TreeBuilder {
            ws,
            rules,
            plan,
            exact: Exact::default(),
            gathered: Gathered::default(),
        }
    }

    /// The workspace, to weigh the rows of the next tree.
    pub fn workspace(&mut self) -> &mut Workspace<'t> {
        &mut self.ws
    }

    /// Grows a tree over the workspace's rows as they are weighted.
    pub fn build(&mut self, rng: &mut Rng) -> GrownTree {
        self.ws.start_tree();
        let mut tree = GrowingTree {
            rules: &self.rules,
            nodes: Nodes::default(),
            decrease: vec![0.0; self.ws.n_features()],
            rng,
        };
        match &mut self.plan {
            Plan::Exact { order } => {
                let n = self.exact.start_presorted(&self.ws, order);
                let root = Pending::root(n, Some(ExactNode::default()));
                tree.grow(&mut self.exact, &mut self.ws, root, &mut KeepsAll);
            }
            Plan::Hist { hist, exact_rows } => {
                let mut small = ExactSubtrees {
                    exact: &mut self.exact,
                    gathered: &mut self.gathered,
                    max_rows: *exact_rows,
                };
                let n = hist.start_tree(&self.ws);
                let root = (!small.takes(n)).then(|| hist.root(&self.ws));
                tree.grow(hist, &mut self.ws, Pending::root(n, root), &mut small);
            }
        }
        GrownTree {
            nodes: tree.nodes,
            decrease: tree.decrease,
        }
    }
}

/// Where a node hangs: its depth and its parent's child slot.
#[derive(Debug, Clone, Copy)]
struct Place {
    depth: u32,
    parent: u32,
    is_left: bool,
}

impl Place {
    const ROOT: Place = Place {
        depth: 0,
        parent: LEAF,
        is_left: false,
    };

    /// Points the parent's child slot at `id`.
    fn link(&self, nodes: &mut Nodes, id: u32) {
        if self.parent != LEAF {
            let slot = if self.is_left {
                &mut nodes.left
            } else {
                &mut nodes.right
            };
            slot[self.parent as usize] = id;
        }
    }

    fn children(&self, id: u32) -> (Place, Place) {
        let child = |is_left| Place {
            depth: self.depth + 1,
            parent: id,
            is_left,
        };
        (child(true), child(false))
    }
}

/// A left child's parent: the split's feature and the parent's sums, from
/// which the child's own sums give the split's decrease.
type SplitOf = Option<(u32, Sums)>;

/// A node waiting on the stack: its rows (a range of its strategy's order),
/// where it hangs, what its strategy keeps for it (`None`: the node is
/// handed over), and for a left child, its parent's split.
struct Pending<N> {
    rows: Range<usize>,
    place: Place,
    node: Option<N>,
    split_of: SplitOf,
}

impl<N> Pending<N> {
    fn root(n_rows: usize, node: Option<N>) -> Self {
        Pending {
            rows: 0..n_rows,
            place: Place::ROOT,
            node,
            split_of: None,
        }
    }
}

/// Who grows the nodes a strategy does not keep.
trait Handover<S> {
    /// Whether a node of `n` rows is handed over.
    fn takes(&self, n: usize) -> bool;

    /// Grows the subtree of `strategy`'s node `rows`, hanging at `place`
    /// (a left child of `split_of`).
    fn grow(
        &mut self,
        tree: &mut GrowingTree,
        strategy: &S,
        ws: &mut Workspace,
        rows: Range<usize>,
        at: (Place, SplitOf),
    );
}

/// A strategy splits all its nodes itself.
struct KeepsAll;

impl<S> Handover<S> for KeepsAll {
    fn takes(&self, _: usize) -> bool {
        false
    }

    fn grow(
        &mut self,
        _: &mut GrowingTree,
        _: &S,
        _: &mut Workspace,
        _: Range<usize>,
        _: (Place, SplitOf),
    ) {
        unreachable!("no node is handed over")
    }
}

/// `auto`: histogram nodes of at most `max_rows` rows grow their subtree
/// with exact splits, on a copy of their rows.
struct ExactSubtrees<'a> {
    exact: &'a mut Exact,
    gathered: &'a mut Gathered,
    max_rows: usize,
}

impl Handover<Hist<'_>> for ExactSubtrees<'_> {
    fn takes(&self, n: usize) -> bool {
        n <= self.max_rows
    }

    fn grow(
        &mut self,
        tree: &mut GrowingTree,
        hist: &Hist,
        ws: &mut Workspace,
        rows: Range<usize>,
        (place, split_of): (Place, SplitOf),
    ) {
        let rows = hist.rows(rows);
        let mut copy = ws.gather(rows, self.gathered);
        self.exact.start_all(&copy);
        let root = Pending {
            rows: 0..rows.len(),
            place,
            node: Some(ExactNode::default()),
            split_of,
        };
        tree.grow(self.exact, &mut copy, root, &mut KeepsAll);
        ws.resume_draws(&copy);
    }
}

/// A tree being grown.
struct GrowingTree<'a> {
    rules: &'a StopRules,
    nodes: Nodes,
    /// Per feature, the decrease its splits bring.
    decrease: Vec<f64>,
    rng: &'a mut Rng,
}

impl GrowingTree<'_> {
    /// Grows the subtree at `root` with `strategy`, appending its nodes in
    /// pre-order; the nodes `handover` takes grow their subtree its way.
    fn grow<S: SplitStrategy>(
        &mut self,
        strategy: &mut S,
        ws: &mut Workspace,
        root: Pending<S::Node>,
        handover: &mut impl Handover<S>,
    ) {
        let mut stack = vec![root];
        while let Some(Pending {
            rows,
            place,
            node,
            split_of,
        }) = stack.pop()
        {
            let Some(node) = node else {
                handover.grow(self, strategy, ws, rows, (place, split_of));
                continue;
            };
            let (sums, pure) = strategy.node_sums(ws, rows.clone(), &node);
            if let Some((feature, parent)) = split_of {
                self.decrease[feature as usize] += split_decrease(parent, sums);
            }
            let split = if self.rules.is_leaf(rows.len(), place.depth, pure) {
                None
            } else {
                strategy.best_split(ws, rows.clone(), &node, sums, self.rng)
            };
            let id = self.push(place, split.as_ref(), sums.mean());
            let Some(split) = split else {
                strategy.leaf(node);
                continue;
            };
            let mid = rows.start + split.n_left;
            let (left, right) = (rows.start..mid, mid..rows.end);
            let kept = [left.len(), right.len()].map(|n| !handover.takes(n));
            let [left_node, right_node] = strategy.split(ws, rows, node, &split, kept);
            let (left_place, right_place) = place.children(id);
            stack.push(Pending {
                rows: right,
                place: right_place,
                node: right_node,
                split_of: None,
            });
            stack.push(Pending {
                rows: left,
                place: left_place,
                node: left_node,
                split_of: Some((split.feature, sums)),
            });
        }
    }

    /// Appends a node (a split, or a leaf if `split` is `None`) at `place`.
    fn push(&mut self, place: Place, split: Option<&Split>, value: f64) -> u32 {
        let id = match split {
            Some(s) => self.nodes.push(s.feature, s.threshold, LEAF, LEAF, value),
            None => self.nodes.push_leaf(value),
        };
        place.link(&mut self.nodes, id);
        id
    }
}
