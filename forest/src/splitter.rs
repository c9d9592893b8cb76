//! Exact best-split search on presorted rows (scikit-learn's `BestSplitter`
//! semantics, SLIQ-style bookkeeping).
//!
//! For each feature the in-bag rows of the tree are kept sorted by that
//! feature's value; every node owns the same range `start..end` of each
//! feature's array. Splitting a node partitions each array stably, so the
//! children's ranges stay sorted and no node ever sorts: a node costs
//! O(n_features × n_node_rows).

use alloc::{vec, vec::Vec};

use crate::criterion::{Sums, proxy_improvement};
use crate::rng::Rng;

/// Values closer than this are treated as equal (sklearn's FEATURE_THRESHOLD).
pub const FEATURE_THRESHOLD: f64 = 1e-7;

#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub feature: u32,
    /// Number of the node's rows that go left.
    pub n_left: usize,
    pub threshold: f32,
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

/// A key whose unsigned order is `f32::total_cmp`'s order of `v`.
#[inline]
fn order_bits(v: f32) -> u32 {
    let b = v.to_bits();
    if b >> 31 == 1 { !b } else { b | 1 << 31 }
}

/// Fills `keys` with `rows` sorted by (`col[row]` in total order, row id),
/// each as `order_bits(value) << 32 | row`: sorting plain integers is several
/// times faster than a comparator that looks both values up.
pub(crate) fn sort_by_value(col: &[f32], rows: &[u32], keys: &mut Vec<u64>) {
    keys.clear();
    keys.extend(
        rows.iter()
            .map(|&r| u64::from(order_bits(col[r as usize])) << 32 | u64::from(r)),
    );
    keys.sort_unstable();
}

/// A row's bootstrap weight and weighted target side by side: a scan step
/// loads both behind one bounds check and one base address.
#[derive(Debug, Clone, Copy, Default)]
pub struct Weighted {
    /// count × target, so scans add instead of multiplying.
    pub wy: f64,
    /// Bootstrap draw count (0 = out of bag).
    pub w: u32,
}

/// One row of a feature's sorted order, with its value: scans read values
/// in order instead of looking each row's up (one array, one bounds check
/// and one base fewer per step; in wasm, Cranelift spilled and reloaded
/// them on every iteration).
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    row: u32,
    x: f32,
}

/// The in-bag rows of one node copied into dense arrays, renumbered `0..m`
/// in their order. Under `auto` an exact subtree then works on a few
/// kilobytes that stay in cache instead of on rows scattered over the whole
/// dataset (every scan and sort there was a cache miss per row and feature).
#[derive(Debug, Default)]
pub(crate) struct Dense {
    columns: Vec<f32>,
    targets: Vec<f64>,
    weights: Vec<u32>,
}

impl Dense {
    /// Copies `rows` (increasing ids, so that ties in value keep the order
    /// of the full data) of `outer`'s data.
    pub(crate) fn gather(&mut self, outer: &Splitter, rows: &[u32]) {
        debug_assert!(rows.windows(2).all(|w| w[0] < w[1]));
        let nf = outer.n_features;
        self.columns.clear();
        if outer.row_major {
            self.columns.resize(nf * rows.len(), 0.0);
            let m = rows.len();
            for (i, &r) in rows.iter().enumerate() {
                let row = &outer.columns[r as usize * nf..(r as usize + 1) * nf];
                for (f, &v) in row.iter().enumerate() {
                    self.columns[f * m + i] = v;
                }
            }
        } else {
            for f in 0..nf {
                let col = outer.column(f);
                self.columns.extend(rows.iter().map(|&r| col[r as usize]));
            }
        }
        self.targets.clear();
        self.targets
            .extend(rows.iter().map(|&r| outer.targets[r as usize]));
        self.weights.clear();
        self.weights
            .extend(rows.iter().map(|&r| outer.weighted[r as usize].w));
    }

    /// A splitter over the gathered rows, ready to grow their subtree: the
    /// same weights, sorted orders and feature permutation as `outer` would
    /// use, so the subtree is the one `exact` grows from this node.
    pub(crate) fn splitter(&self, outer: &Splitter) -> Splitter<'_> {
        let mut sp = Splitter::new(
            &self.columns,
            false,
            &self.targets,
            outer.n_features,
            outer.min_samples_leaf,
            outer.max_features,
        );
        for (d, &w) in sp.weighted.iter_mut().zip(&self.weights) {
            d.w = w;
        }
        sp.start_weights();
        // The tree's feature draws go on where they were.
        sp.features.copy_from_slice(&outer.features);
        let all: Vec<u32> = (0..self.targets.len() as u32).collect();
        sp.start_subset(&all);
        sp
    }
}

/// Per-worker state for growing trees; buffers are reused from tree to tree.
pub struct Splitter<'t> {
    /// The features: column-major `n_features × n_rows`, or row-major when
    /// `row_major` (under `auto`, whose exact subtrees only copy rows; empty
    /// for `hist`, which needs only the bin codes).
    columns: &'t [f32],
    row_major: bool,
    pub(crate) targets: &'t [f64],
    n_rows: usize,
    pub(crate) n_features: usize,
    pub(crate) min_samples_leaf: usize,
    pub(crate) max_features: usize,
    /// Every row's bootstrap draw count (`w`; 0 = out of bag, set by the
    /// caller) and, from `start_weights`, count × target.
    pub weighted: Vec<Weighted>,
    /// `1/k` for every possible weight `k`: the split scan multiplies by
    /// these instead of dividing (divisions dominated its cost).
    pub(crate) inverse: Vec<f64>,
    /// `n_features` arrays of `n_in_bag` rows each, each sorted by its
    /// feature within every node range.
    sorted: Vec<Entry>,
    n_in_bag: usize,
    scratch: Vec<Entry>,
    /// Sort keys of `start_subset`.
    keys: Vec<u64>,
    goes_left: Vec<bool>,
    /// Feature permutation drawn from (Fisher-Yates, as sklearn), kept across nodes.
    pub(crate) features: Vec<u32>,
    /// Buffers of the histogram splitter (unused by `exact`).
    pub(crate) hist: crate::hist::HistState,
}

impl<'t> Splitter<'t> {
    /// `columns` is column-major, or row-major when `row_major`.
    pub fn new(
        columns: &'t [f32],
        row_major: bool,
        targets: &'t [f64],
        n_features: usize,
        min_samples_leaf: usize,
        max_features: usize,
    ) -> Self {
        let n_rows = targets.len();
        Splitter {
            columns,
            row_major,
            targets,
            n_rows,
            n_features,
            min_samples_leaf,
            max_features,
            weighted: vec![Weighted::default(); n_rows],
            inverse: Vec::new(),
            // Sized by the first tree (exact) or subtree (auto) that needs it.
            sorted: Vec::new(),
            n_in_bag: 0,
            scratch: Vec::new(),
            keys: Vec::new(),
            goes_left: vec![false; n_rows],
            features: (0..n_features as u32).collect(),
            hist: Default::default(),
        }
    }

    /// Per tree: weighted targets and the identity feature permutation.
    pub(crate) fn start_weights(&mut self) {
        for (d, &y) in self.weighted.iter_mut().zip(self.targets) {
            d.wy = f64::from(d.w) * y;
        }
        self.features
            .iter_mut()
            .enumerate()
            .for_each(|(i, f)| *f = i as u32);
    }

    /// Makes `inverse` cover every weight up to `total` (the table only grows).
    fn cover_weights(&mut self, total: usize) {
        if self.inverse.len() <= total {
            self.inverse = (0..=total)
                .map(|k| if k == 0 { 0.0 } else { 1.0 / k as f64 })
                .collect();
        }
    }

    /// Starts an exact subtree over `rows` (in-bag rows of one node): each
    /// feature's copy sorted by (value, row id), the order the global
    /// presort gives, so the subtree is the one `exact` would grow from here.
    /// Keeps the feature permutation: the tree's draws go on where they were.
    pub(crate) fn start_subset(&mut self, rows: &[u32]) {
        // Sized by the subtree, not the tree: under `auto` a worker's
        // memory stays near its data.
        let weight: usize = rows
            .iter()
            .map(|&r| self.weighted[r as usize].w as usize)
            .sum();
        self.cover_weights(weight);
        self.sorted.clear();
        for f in 0..self.n_features {
            let col = &self.columns[f * self.n_rows..(f + 1) * self.n_rows];
            sort_by_value(col, rows, &mut self.keys);
            self.sorted.extend(self.keys.iter().map(|&k| {
                let row = k as u32;
                Entry {
                    row,
                    x: col[row as usize],
                }
            }));
        }
        self.n_in_bag = rows.len();
    }

    /// Starts a tree: keeps the rows with a non-zero count, in each feature's
    /// global order. Returns the number of in-bag rows.
    pub fn start_tree(&mut self, global_order: &[u32]) -> usize {
        self.start_weights();
        let total: usize = self.weighted.iter().map(|d| d.w as usize).sum();
        self.cover_weights(total);
        let n_in_bag = self.weighted.iter().filter(|d| d.w > 0).count();
        // One slot more than needed: the filter below writes every row and
        // advances past the in-bag ones only (whether a row is in the bag is
        // a coin flip, a branch on it would miss a third of the time).
        self.sorted.clear();
        // Room for any tree at once: the buffer is sized by the first tree
        // and never grows (doubling) from tree to tree.
        self.sorted.reserve_exact(self.n_rows * self.n_features + 1);
        self.sorted
            .resize(n_in_bag * self.n_features + 1, Entry::default());
        for f in 0..self.n_features {
            let order = &global_order[f * self.n_rows..(f + 1) * self.n_rows];
            let col = &self.columns[f * self.n_rows..(f + 1) * self.n_rows];
            let out = &mut self.sorted[f * n_in_bag..(f + 1) * n_in_bag + 1];
            let mut k = 0;
            for &r in order {
                out[k] = Entry {
                    row: r,
                    x: col[r as usize],
                };
                k += usize::from(self.weighted[r as usize].w > 0);
            }
            debug_assert_eq!(k, n_in_bag);
        }
        self.sorted.truncate(n_in_bag * self.n_features);
        self.n_in_bag = n_in_bag;
        n_in_bag
    }

    fn entries(&self, feature: usize, start: usize, end: usize) -> &[Entry] {
        let base = feature * self.n_in_bag;
        &self.sorted[base + start..base + end]
    }

    fn column(&self, feature: usize) -> &'t [f32] {
        debug_assert!(!self.row_major, "columns of row-major values");
        &self.columns[feature * self.n_rows..(feature + 1) * self.n_rows]
    }

    /// Weighted target sums of a node, and whether all its targets are equal.
    pub fn node_sums(&self, start: usize, end: usize) -> (Sums, bool) {
        let mut sums = Sums::default();
        let entries = self.entries(0, start, end);
        let first = self.targets[entries[0].row as usize];
        let mut pure = true;
        for e in entries {
            let r = e.row as usize;
            pure &= self.targets[r] == first;
            let d = self.weighted[r];
            sums.add(d.w, d.wy);
        }
        (sums, pure)
    }

    /// The best split of the node `start..end` over up to `max_features`
    /// non-constant features drawn at random; `None` if no valid split exists.
    /// Ties keep the first split found, so the result depends only on the rng.
    pub fn best_split(
        &mut self,
        start: usize,
        end: usize,
        total: Sums,
        rng: &mut Rng,
    ) -> Option<Split> {
        let n = end - start;
        let min_leaf = self.min_samples_leaf;
        debug_assert!(n >= 2 * min_leaf && min_leaf >= 1);
        let mut best: Option<Split> = None;
        // The best proxy so far as a key: 0 for none, else the proxy's bits
        // plus one. Proxies are sums of squares times positive weights, never
        // negative, and such floats order as their bits do: the scan compares
        // and selects integers, which compile to branch-free moves natively
        // and in wasm alike.
        let mut best_key = 0u64;
        let mut visited = 0;
        for i in 0..self.n_features {
            if visited >= self.max_features {
                break;
            }
            let j = i + rng.below((self.n_features - i) as u64) as usize;
            self.features.swap(i, j);
            let f = self.features[i] as usize;
            let entries = self.entries(f, start, end);
            let (lo, hi) = (entries[0].x, entries[n - 1].x);
            if f64::from(hi) <= f64::from(lo) + FEATURE_THRESHOLD {
                continue; // constant in this node: not worth a draw
            }
            visited += 1;
            // One bounds check on the left weight covers the inverse table
            // for both sides.
            let weighted = &self.weighted[..];
            let inverse = &self.inverse[..=total.weight as usize];
            // Splits leaving fewer than min_leaf rows on a side are never
            // evaluated: rows before the first valid position are only summed.
            let mut left = Sums::default();
            for e in &entries[..min_leaf - 1] {
                let d = weighted[e.row as usize];
                left.add(d.w, d.wy);
            }
            // The row that joins the left side at the next position, and
            // the last value on the left.
            let (mut joins, mut prev) = (entries[min_leaf - 1].row, entries[min_leaf - 1].x);
            // Whether a position beats the best so far is unpredictable: no
            // branch on it, and the threshold is computed once, after the scan.
            let (mut top, mut top_p) = (best_key, 0);
            // Position p puts entries[..p] on the left: entry p - 1 joins it
            // and entry p is the first on the right.
            macro_rules! step {
                ($p:expr, $next:expr) => {{
                    let (p, next): (usize, Entry) = ($p, $next);
                    let d = weighted[joins as usize];
                    left.add(d.w, d.wy);
                    let valid = f64::from(next.x) > f64::from(prev) + FEATURE_THRESHOLD;
                    (joins, prev) = (next.row, next.x);
                    // Finite and never NaN: the trainer refused targets
                    // whose sums could overflow (`Dataset::new`).
                    let proxy = proxy_improvement(left, total.minus(left), inverse);
                    let key = if valid { proxy.to_bits() + 1 } else { 0 };
                    let better = key > top;
                    top = if better { key } else { top };
                    top_p = if better { p } else { top_p };
                }};
            }
            // Positions min_leaf..=n - min_leaf, four per iteration: in wasm
            // every loop head checks the epoch (a call on its cold path) and
            // Cranelift spills and reloads the loop's state around it;
            // unrolled, that is paid a quarter as often (diabetes, 1 worker:
            // one per iteration 53 ms, two 46 ms; four a further 5% fewer
            // instructions than two).
            let positions = &entries[min_leaf..=n - min_leaf];
            let mut quads = positions.chunks_exact(4);
            let mut p = min_leaf;
            for four in &mut quads {
                step!(p, four[0]);
                step!(p + 1, four[1]);
                step!(p + 2, four[2]);
                step!(p + 3, four[3]);
                p += 4;
            }
            #[allow(unused_assignments)]
            for &e in quads.remainder() {
                step!(p, e);
                p += 1;
            }
            if top_p != 0 {
                best_key = top;
                best = Some(Split {
                    feature: f as u32,
                    n_left: top_p,
                    threshold: threshold_between(entries[top_p - 1].x, entries[top_p].x),
                });
            }
        }
        best
    }

    /// Sums of the node `start..start + 2` split into its two rows (in the
    /// split feature's order: the left one first), each as `node_sums`
    /// gives it for a one-row node.
    pub fn split_pair(&self, start: usize, split: &Split) -> [Sums; 2] {
        let entries = self.entries(split.feature as usize, start, start + 2);
        [entries[0], entries[1]].map(|e| {
            let d = self.weighted[e.row as usize];
            let mut s = Sums::default();
            s.add(d.w, d.wy);
            s
        })
    }

    /// Partitions every feature's range `start..end` into the split's left
    /// rows then right rows, keeping each side sorted.
    pub fn partition(&mut self, start: usize, end: usize, split: &Split) {
        let bf = split.feature as usize;
        let base = bf * self.n_in_bag;
        for (i, e) in self.sorted[base + start..base + end].iter().enumerate() {
            self.goes_left[e.row as usize] = i < split.n_left;
        }
        for f in 0..self.n_features {
            if f == bf {
                continue; // already in order: that is how the split was found
            }
            let base = f * self.n_in_bag;
            let seg = &mut self.sorted[base + start..base + end];
            self.scratch.resize(seg.len(), Entry::default());
            // Branch-free: which side a row goes to is unpredictable, so every
            // entry is written to both places and only one cursor advances.
            let (mut l, mut k) = (0, 0);
            let (goes_left, scratch) = (&self.goes_left, &mut self.scratch);
            macro_rules! step {
                ($i:expr) => {{
                    let e = seg[$i];
                    let g = usize::from(goes_left[e.row as usize]);
                    seg[l] = e;
                    scratch[k] = e;
                    l += g;
                    k += 1 - g;
                }};
            }
            // Four entries per iteration, as the scan (the epoch check's spills).
            let (mut i, n) = (0, seg.len());
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
            debug_assert_eq!(l, split.n_left);
            seg[l..].copy_from_slice(&self.scratch[..k]);
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::{sort_by_value, threshold_between};

    #[test]
    fn integer_keys_sort_as_total_cmp_then_row() {
        let col = [
            1.5f32,
            -0.0,
            0.0,
            -2.0,
            1.5,
            f32::MAX,
            f32::MIN,
            1e-40,
            -1e-40,
            0.0,
            -2.0,
            3.0,
        ];
        let rows: Vec<u32> = (0..col.len() as u32).rev().collect();
        let mut keys = Vec::new();
        sort_by_value(&col, &rows, &mut keys);
        let got: Vec<u32> = keys.iter().map(|&k| k as u32).collect();
        let mut expected = rows.clone();
        expected.sort_by(|&a, &b| col[a as usize].total_cmp(&col[b as usize]).then(a.cmp(&b)));
        assert_eq!(got, expected);
    }

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
