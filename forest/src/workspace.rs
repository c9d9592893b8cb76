//! The rows one tree is grown on, and what every split strategy does with
//! them in one way: their weights (draw counts or sample weights), a node's
//! sums, the per-node feature draw and the stable partition of a node's
//! rows. Strategies keep
//! their own orders of the rows (per feature, or per node); that they share
//! these is what makes `hist` grow `exact`'s trees when every value has its
//! bin.
//!
//! Under `auto` an exact subtree gets a workspace of its own, over a copy of
//! its rows ([`Workspace::gather`]); its feature draws go on from the tree's.

use crate::criterion::{Sums, Weight};
use crate::rng::Rng;
use alloc::{vec, vec::Vec};

/// A row's bootstrap weight and weighted target side by side: a scan step
/// loads both behind one bounds check and one base address.
#[derive(Debug, Clone, Copy, Default)]
pub struct Weighted<W = u32> {
    /// weight × target, so scans add instead of multiplying.
    pub wy: f64,
    /// Bootstrap draw count (0 = out of bag), or sample weight (0: the row
    /// takes no part in the tree, as a row out of bag).
    pub w: W,
}

/// What each side of a split keeps at least: rows (`min_samples_leaf`) and
/// weight (`min_weight_fraction_leaf` of the tree's weight; in whole draws
/// for counts).
#[derive(Debug, Clone, Copy)]
pub struct MinLeaf<W = u32> {
    pub rows: usize,
    pub weight: W,
}

/// One worker's rows and draws; reused from tree to tree.
pub struct Workspace<'t, W = u32> {
    /// The features: column-major `n_features × n_rows`, or row-major when
    /// `row_major` (under `auto`, whose exact subtrees only copy rows; empty
    /// for `hist`, which needs only the bin codes).
    values: &'t [f32],
    row_major: bool,
    targets: &'t [f64],
    n_features: usize,
    min_leaf: MinLeaf<W>,
    max_features: usize,
    /// Every row's weight and, from `start_tree`, weight × target.
    weighted: Vec<Weighted<W>>,
    /// The permutation features are drawn from (Fisher-Yates, as sklearn),
    /// kept across the nodes of a tree.
    features: Vec<u32>,
}

impl<'t, W: Weight> Workspace<'t, W> {
    /// `values` is column-major, or row-major when `row_major`.
    pub fn new(
        values: &'t [f32],
        row_major: bool,
        targets: &'t [f64],
        n_features: usize,
        min_leaf: MinLeaf<W>,
        max_features: usize,
    ) -> Self {
        Workspace {
            values,
            row_major,
            targets,
            n_features,
            min_leaf,
            max_features,
            weighted: vec![Weighted::default(); targets.len()],
            features: (0..n_features as u32).collect(),
        }
    }

    pub fn n_rows(&self) -> usize {
        self.targets.len()
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    pub fn min_samples_leaf(&self) -> usize {
        self.min_leaf.rows
    }

    /// The least weight each side of a split keeps (0: no limit).
    pub fn min_leaf_weight(&self) -> W {
        self.min_leaf.weight
    }

    /// Every row's weight and weighted target, by row id.
    pub fn weighted(&self) -> &[Weighted<W>] {
        &self.weighted
    }

    /// Feature `f`'s value of every row (column-major values only).
    pub fn column(&self, f: usize) -> &'t [f32] {
        debug_assert!(!self.row_major, "columns of row-major values");
        let n = self.n_rows();
        &self.values[f * n..(f + 1) * n]
    }

    /// Gives every row the weight `w`: 1 without bootstrap, 0 before the
    /// draws of a bootstrap sample ([`Workspace::add_draw`]).
    pub fn set_weights(&mut self, w: W) {
        self.weighted.iter_mut().for_each(|d| d.w = w);
    }

    /// Gives every row its weight of `weights` (sample weights, without
    /// bootstrap).
    pub fn set_each_weight(&mut self, weights: &[W]) {
        debug_assert_eq!(weights.len(), self.weighted.len());
        for (d, &w) in self.weighted.iter_mut().zip(weights) {
            d.w = w;
        }
    }

    /// One more bootstrap draw of `row`.
    #[inline]
    pub fn add_draw(&mut self, row: usize) {
        self.weighted[row].w += W::ONE;
    }

    /// Starts a tree once its weights are set: weighted targets, and the
    /// draws from the identity permutation.
    pub fn start_tree(&mut self) {
        for (d, &y) in self.weighted.iter_mut().zip(self.targets) {
            d.wy = d.w.to_f64() * y;
        }
        self.features
            .iter_mut()
            .enumerate()
            .for_each(|(i, f)| *f = i as u32);
    }

    /// Weighted target sums of a node's `rows`, added in their order, and
    /// whether all their targets are equal.
    pub fn node_sums<I>(&self, rows: I) -> (Sums<W>, bool)
    where
        I: IntoIterator<Item = u32>,
        I::IntoIter: Clone,
    {
        let rows = rows.into_iter();
        let first = rows.clone().next().expect("a node has rows");
        let first = self.targets[first as usize];
        let mut sums = Sums::default();
        let mut pure = true;
        for r in rows {
            let r = r as usize;
            pure &= self.targets[r] == first;
            let d = self.weighted[r];
            sums.add(d.w, d.wy);
        }
        (sums, pure)
    }

    /// A node's feature draw, with the rows' weights (borrowed together: the
    /// draw moves features in the permutation while a strategy's search
    /// reads the weights).
    pub fn draw(&mut self) -> (&[Weighted<W>], FeatureDraw<'_>) {
        let draw = FeatureDraw::new(&mut self.features, self.max_features);
        (&self.weighted, draw)
    }

    /// A workspace over a copy of `rows` (increasing ids, so that ties in
    /// value keep the order of the full data), renumbered `0..rows.len()`,
    /// whose draws go on from this one's: an exact subtree grown there is
    /// the one this workspace would grow, on a few kilobytes that stay in
    /// cache instead of rows scattered over the whole dataset. Hand the
    /// draws back with [`Workspace::resume_draws`].
    pub fn gather<'g>(&self, rows: &[u32], into: &'g mut Gathered) -> Workspace<'g, W> {
        into.fill(self, rows);
        let mut ws = Workspace::new(
            &into.columns,
            false,
            &into.targets,
            self.n_features,
            self.min_leaf,
            self.max_features,
        );
        for ((d, &y), &r) in ws.weighted.iter_mut().zip(&into.targets).zip(rows) {
            d.w = self.weighted[r as usize].w;
            d.wy = d.w.to_f64() * y;
        }
        ws.features.copy_from_slice(&self.features);
        ws
    }

    /// Takes the draws back from a workspace made by [`Workspace::gather`].
    pub fn resume_draws(&mut self, gathered: &Workspace<W>) {
        self.features.copy_from_slice(&gathered.features);
    }
}

/// The per-node feature draw: features in random order, each draw going on
/// from the permutation the previous node left (Fisher-Yates, as sklearn),
/// until `max_features` of them counted. A feature constant in the node
/// does not count.
pub struct FeatureDraw<'w> {
    features: &'w mut [u32],
    max_features: usize,
    /// Position of the next draw in the permutation.
    next: usize,
    visited: usize,
}

impl<'w> FeatureDraw<'w> {
    /// A draw from the permutation `features` (sklearn's Fisher-Yates, kept
    /// across the nodes of a tree by [`Workspace::draw`]; level-wise growth
    /// starts each node from the identity).
    pub fn new(features: &'w mut [u32], max_features: usize) -> Self {
        FeatureDraw {
            features,
            max_features,
            next: 0,
            visited: 0,
        }
    }

    /// The next feature to search, or `None` once the draw is over.
    #[inline(always)]
    pub fn next(&mut self, rng: &mut Rng) -> Option<usize> {
        let (i, n) = (self.next, self.features.len());
        if i == n || self.visited >= self.max_features {
            return None;
        }
        let j = i + rng.below((n - i) as u64) as usize;
        self.features.swap(i, j);
        self.next = i + 1;
        Some(self.features[i] as usize)
    }

    /// The feature last drawn was not constant in the node: it counts
    /// toward `max_features`.
    #[inline]
    pub fn counts(&mut self) {
        self.visited += 1;
    }
}

/// The values and targets of some rows of a workspace, copied for
/// [`Workspace::gather`] (buffers reused from copy to copy).
#[derive(Debug, Default)]
pub struct Gathered {
    /// Column-major `n_features × rows`.
    columns: Vec<f32>,
    targets: Vec<f64>,
}

impl Gathered {
    fn fill<W: Weight>(&mut self, from: &Workspace<W>, rows: &[u32]) {
        debug_assert!(rows.windows(2).all(|w| w[0] < w[1]));
        let nf = from.n_features;
        self.columns.clear();
        if from.row_major {
            // A row's values share a cache line: one miss per row.
            let m = rows.len();
            self.columns.resize(nf * m, 0.0);
            for (i, &r) in rows.iter().enumerate() {
                let row = &from.values[r as usize * nf..(r as usize + 1) * nf];
                for (f, &v) in row.iter().enumerate() {
                    self.columns[f * m + i] = v;
                }
            }
        } else {
            for f in 0..nf {
                let col = from.column(f);
                self.columns.extend(rows.iter().map(|&r| col[r as usize]));
            }
        }
        self.targets.clear();
        self.targets
            .extend(rows.iter().map(|&r| from.targets[r as usize]));
    }
}

/// Moves the items of `seg` that go left to its front and the others after
/// them, each side in its order; returns how many went left. `scratch`
/// holds the right side meanwhile.
#[inline]
pub fn partition<T: Copy + Default>(
    seg: &mut [T],
    scratch: &mut Vec<T>,
    goes_left: impl Fn(T) -> bool,
) -> usize {
    let n = seg.len();
    scratch.resize(n, T::default());
    let scratch = &mut scratch[..n];
    // Branch-free: which side an item goes to is unpredictable, so every
    // item is written to both places and only one cursor advances.
    let (mut l, mut k) = (0, 0);
    macro_rules! step {
        ($i:expr) => {{
            let x = seg[$i];
            let g = usize::from(goes_left(x));
            seg[l] = x;
            scratch[k] = x;
            l += g;
            k += g ^ 1; // 1 - g, g being 0 or 1
        }};
    }
    // Four items per iteration: the loop's own counting and branch are paid
    // once for four (Cranelift, which compiles the sandboxed engine, does not
    // unroll loops).
    let mut i = 0;
    while i + 3 < n {
        step!(i);
        step!(i + 1);
        step!(i + 2);
        step!(i + 3);
        i += 4;
    }
    while i < n {
        step!(i);
        i += 1;
    }
    seg[l..].copy_from_slice(&scratch[..k]);
    l
}
