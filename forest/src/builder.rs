//! Grows one tree depth first (sklearn's `DepthFirstTreeBuilder`): an
//! explicit stack, nodes numbered in pre-order, left child first. One loop
//! for every split strategy; `auto` is nothing but the choice of strategy
//! per node: histograms for large nodes, exact splits from a node of at most
//! [`AUTO_EXACT_ROWS`] rows down. With `max_leaf_nodes`, the loop grows best
//! first instead (sklearn's `BestFirstTreeBuilder`), over the same strategies.

use core::ops::Range;

use crate::criterion::{Sums, Weight};
use crate::exact::{Exact, ExactNode};
use crate::frontier::Frontier;
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
    /// scikit-learn's `min_weight_leaf`: each side of a split keeps at least
    /// this weight (0: no limit).
    pub min_weight_leaf: f64,
    /// A split is made only if its weighted decrease, divided by
    /// `total_weight`, reaches this (0: every split is).
    pub min_impurity_decrease: f64,
    /// A tree's total weight: its bootstrap draws, or its rows.
    pub total_weight: f64,
    /// `Some(n)`: grow best first, up to `n` leaves.
    pub max_leaf_nodes: Option<u32>,
}

impl StopRules {
    /// A node of `n` rows weighing `weight` (targets all equal if `pure`)
    /// at `depth` is a leaf.
    pub fn is_leaf(&self, n: usize, weight: f64, depth: u32, pure: bool) -> bool {
        pure || depth >= self.max_depth
            || n < self.min_samples_split
            || n < 2 * self.min_samples_leaf
            || weight < 2.0 * self.min_weight_leaf
    }

    /// The least weight each side of a split keeps, as a weight of type
    /// `W` (see [`Weight::at_least`]: in whole draws for counts).
    pub fn min_leaf_weight<W: Weight>(&self) -> W {
        W::at_least(self.min_weight_leaf)
    }

    /// Whether the rules ask for a split's decrease at all.
    pub fn weighs_decrease(&self) -> bool {
        self.min_impurity_decrease > 0.0
    }

    /// scikit-learn's test, `improvement + EPSILON < min_impurity_decrease`
    /// makes a leaf, for a split of weighted `decrease`.
    pub fn decrease_suffices(&self, decrease: f64) -> bool {
        decrease / self.total_weight + f64::EPSILON >= self.min_impurity_decrease
    }
}

/// How a builder splits the nodes of its trees.
enum Plan<'t, W> {
    /// Exact splits from the root, on the rows presorted once per forest.
    Exact { order: &'t [u32] },
    /// Histogram splits; nodes of at most `exact_rows` rows (`auto`; 0 for
    /// `hist`) grow their subtree with exact splits.
    Hist {
        hist: Hist<'t, W>,
        exact_rows: usize,
    },
}

/// One worker's tree builder: its workspace and the strategies' buffers,
/// reused from tree to tree.
pub struct TreeBuilder<'t, W = u32> {
    ws: Workspace<'t, W>,
    rules: StopRules,
    plan: Plan<'t, W>,
    exact: Exact,
    /// Under `auto`, the copy of the rows an exact subtree is grown on.
    gathered: Gathered,
}

impl<'t, W: Weight> TreeBuilder<'t, W> {
    /// Exact splits, on column-major values presorted into `order`
    /// ([`crate::exact::presort`]).
    pub fn exact(ws: Workspace<'t, W>, rules: StopRules, order: &'t [u32]) -> Self {
        Self::new(ws, rules, Plan::Exact { order })
    }

    /// Histogram splits over `binned`; nodes of at most `exact_rows` rows
    /// are split exactly (on row-major values), and so is their subtree.
    pub fn hist(
        ws: Workspace<'t, W>,
        rules: StopRules,
        binned: &'t Binned,
        exact_rows: usize,
    ) -> Self {
        let hist = Hist::new(binned);
        Self::new(ws, rules, Plan::Hist { hist, exact_rows })
    }

    fn new(ws: Workspace<'t, W>, rules: StopRules, plan: Plan<'t, W>) -> Self {
        TreeBuilder {
            ws,
            rules,
            plan,
            exact: Exact::default(),
            gathered: Gathered::default(),
        }
    }

    /// See [`crate::hist::WAIT_BYTES`]; no effect without histograms.
    pub fn set_hist_wait_bytes(&mut self, bytes: usize) {
        if let Plan::Hist { hist, .. } = &mut self.plan {
            hist.set_wait_bytes(bytes);
        }
    }

    /// The workspace, to weigh the rows of the next tree.
    pub fn workspace(&mut self) -> &mut Workspace<'t, W> {
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
        if let Some(max_leaves) = self.rules.max_leaf_nodes {
            let strategies = (&mut self.plan, &mut self.exact);
            grow_best_first(strategies, &mut self.ws, &mut tree, max_leaves);
            return GrownTree {
                nodes: tree.nodes.pre_ordered(),
                decrease: tree.decrease,
            };
        }
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
                let root = (n > small.max_rows).then(|| hist.root(&self.ws));
                tree.grow(hist, &mut self.ws, Pending::root(n, root), &mut small);
            }
        }
        GrownTree {
            nodes: tree.nodes,
            decrease: tree.decrease,
        }
    }
}

/// Grows `tree` best first over the whole tree, with exact or histogram
/// splits (`auto` comes here as exact: see `Trainer`).
fn grow_best_first<W: Weight>(
    (plan, exact): (&mut Plan<W>, &mut Exact),
    ws: &mut Workspace<W>,
    tree: &mut GrowingTree,
    max_leaves: u32,
) {
    match plan {
        Plan::Exact { order } => {
            let n = exact.start_presorted(ws, order);
            let root = ExactNode::default();
            tree.grow_best_first(exact, ws, (0..n, root), max_leaves);
        }
        Plan::Hist { hist, .. } => {
            let n = hist.start_tree(ws);
            let root = hist.root(ws);
            tree.grow_best_first(hist, ws, (0..n, root), max_leaves);
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
            nodes.set_child(self.parent, self.is_left, id);
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
type SplitOf<W> = Option<(u32, Sums<W>)>;

/// A node waiting on the stack: its rows (a range of its strategy's order),
/// where it hangs, what its strategy keeps for it (`None`: the node is
/// handed over), and for a left child, its parent's split.
struct Pending<N, W> {
    rows: Range<usize>,
    place: Place,
    node: Option<N>,
    split_of: SplitOf<W>,
}

impl<N, W> Pending<N, W> {
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
trait Handover<S, W> {
    /// Whether a node of `n` rows is handed over.
    fn takes(&self, n: usize) -> bool;

    /// Grows the subtree of `strategy`'s node `rows`, hanging at `place`
    /// (a left child of `split_of`).
    fn grow(
        &mut self,
        tree: &mut GrowingTree,
        strategy: &S,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        at: (Place, SplitOf<W>),
    );
}

/// A strategy splits all its nodes itself.
struct KeepsAll;

impl<S, W> Handover<S, W> for KeepsAll {
    fn takes(&self, _: usize) -> bool {
        false
    }

    fn grow(
        &mut self,
        _: &mut GrowingTree,
        _: &S,
        _: &mut Workspace<W>,
        _: Range<usize>,
        _: (Place, SplitOf<W>),
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

impl<W: Weight> Handover<Hist<'_, W>, W> for ExactSubtrees<'_> {
    fn takes(&self, n: usize) -> bool {
        n <= self.max_rows
    }

    fn grow(
        &mut self,
        tree: &mut GrowingTree,
        hist: &Hist<W>,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        (place, split_of): (Place, SplitOf<W>),
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

/// A node on the best-first frontier: its id, rows, place and sums, and its
/// best split with that split's left sums and what its strategy keeps for
/// it (`None`: it stays a leaf).
struct Open<N, W> {
    id: u32,
    rows: Range<usize>,
    place: Place,
    sums: Sums<W>,
    split: Option<(Split, Sums<W>, N)>,
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
    fn grow<W: Weight, S: SplitStrategy<W>>(
        &mut self,
        strategy: &mut S,
        ws: &mut Workspace<W>,
        root: Pending<S::Node, W>,
        handover: &mut impl Handover<S, W>,
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
            let split = self.best_split(strategy, ws, rows.clone(), (&node, sums, pure), place);
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

    /// The node's best split if the rules let it split (and, when they
    /// weigh the decrease, it decreases the impurity enough).
    #[inline]
    fn best_split<W: Weight, S: SplitStrategy<W>>(
        &mut self,
        strategy: &mut S,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        (node, sums, pure): (&S::Node, Sums<W>, bool),
        place: Place,
    ) -> Option<Split> {
        if self
            .rules
            .is_leaf(rows.len(), sums.weight.to_f64(), place.depth, pure)
        {
            return None;
        }
        let split = strategy.best_split(ws, rows.clone(), node, sums, self.rng)?;
        if self.rules.weighs_decrease() {
            let left = strategy.left_sums(ws, rows, node, &split);
            if !self.rules.decrease_suffices(split_decrease(sums, left)) {
                return None;
            }
        }
        Some(split)
    }

    /// Grows the tree from `root` best first (scikit-learn's
    /// `BestFirstTreeBuilder`): every node's best split is found when the
    /// node is made; the node whose split decreases the impurity most is
    /// split next, until `max_leaves` leaves or no split is left. Nodes are
    /// numbered as they are made; the caller puts them in pre-order.
    fn grow_best_first<W: Weight, S: SplitStrategy<W>>(
        &mut self,
        strategy: &mut S,
        ws: &mut Workspace<W>,
        (rows, root): (Range<usize>, S::Node),
        max_leaves: u32,
    ) {
        let mut frontier = Frontier::default();
        let (key, open) = self.open(strategy, ws, rows, Place::ROOT, root);
        frontier.push(key, open);
        let mut splits_left = max_leaves - 1;
        while let Some(open) = frontier.pop() {
            let Some((split, left, node)) = open.split else {
                continue; // a leaf: its strategy's node was given back
            };
            if splits_left == 0 {
                strategy.leaf(node);
                continue;
            }
            splits_left -= 1;
            let id = open.id as usize;
            self.nodes.feature[id] = split.feature;
            self.nodes.threshold[id] = split.threshold;
            self.nodes.missing_left[id] = split.missing_left;
            self.decrease[split.feature as usize] += split_decrease(open.sums, left);
            let rows = open.rows;
            let mid = rows.start + split.n_left;
            let sides = [rows.start..mid, mid..rows.end];
            let children = strategy.split(ws, rows, node, &split, [true; 2]);
            let (l, r) = open.place.children(open.id);
            for ((rows, place), node) in sides.into_iter().zip([l, r]).zip(children) {
                let node = node.expect("every child is kept");
                let (key, open) = self.open(strategy, ws, rows, place, node);
                frontier.push(key, open);
            }
        }
    }

    /// Makes a node of the frontier: a leaf for now, with its best split
    /// (if any) and that split's weighted decrease, its priority. A node
    /// without a split gives its strategy's node back at once; one with a
    /// split waits (`SplitStrategy::wait`: `hist` keeps a bounded number of
    /// histograms meanwhile).
    fn open<W: Weight, S: SplitStrategy<W>>(
        &mut self,
        strategy: &mut S,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        place: Place,
        node: S::Node,
    ) -> (f64, Open<S::Node, W>) {
        let (sums, pure) = strategy.node_sums(ws, rows.clone(), &node);
        let split = self.best_split(strategy, ws, rows.clone(), (&node, sums, pure), place);
        let split = match split {
            Some(s) => {
                let left = strategy.left_sums(ws, rows.clone(), &node, &s);
                Some((s, left, strategy.wait(ws, node)))
            }
            None => {
                strategy.leaf(node);
                None
            }
        };
        let key = split
            .as_ref()
            .map_or(0.0, |(_, left, _)| split_decrease(sums, *left));
        let id = self.push(place, None, sums.mean());
        let open = Open {
            id,
            rows,
            place,
            sums,
            split,
        };
        (key, open)
    }

    /// Appends a node (a split, or a leaf if `split` is `None`) at `place`.
    fn push(&mut self, place: Place, split: Option<&Split>, value: f64) -> u32 {
        let id = match split {
            Some(s) => self.nodes.push(s.test(), LEAF, LEAF, value),
            None => self.nodes.push_leaf(value),
        };
        place.link(&mut self.nodes, id);
        id
    }
}
