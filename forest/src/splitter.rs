//! Exact best-split search on presorted rows (scikit-learn's `BestSplitter`
//! semantics, SLIQ-style bookkeeping).
//!
//! For each feature the in-bag rows of the tree are kept sorted by that
//! feature's value; every node owns the same range `start..end` of each
//! feature's array. Splitting a node partitions each array stably, so the
//! children's ranges stay sorted and no node ever sorts: a node costs
//! O(n_features × n_node_rows).

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

/// The in-bag rows of one node copied into dense arrays, renumbered `0..m`
/// in their order. Under `auto` an exact subtree then works on a few
/// kilobytes that stay in cache instead of on rows scattered over the whole
/// dataset (every scan and sort there was a cache miss per row and feature).
#[derive(Debug, Default)]
pub(crate) struct Dense {
    columns: Vec<f32>,
    targets: Vec<f64>,
    counts: Vec<u32>,
}

impl Dense {
    /// Copies `rows` (increasing ids, so that ties in value keep the order
    /// of the full data) of `outer`'s data.
    pub(crate) fn gather(&mut self, outer: &Splitter, rows: &[u32]) {
        debug_assert!(rows.windows(2).all(|w| w[0] < w[1]));
        self.columns.clear();
        for f in 0..outer.n_features {
            let col = outer.column(f);
            self.columns.extend(rows.iter().map(|&r| col[r as usize]));
        }
        self.targets.clear();
        self.targets
            .extend(rows.iter().map(|&r| outer.targets[r as usize]));
        self.counts.clear();
        self.counts
            .extend(rows.iter().map(|&r| outer.counts[r as usize]));
    }

    /// A splitter over the gathered rows, ready to grow their subtree: the
    /// same weights, sorted orders and feature permutation as `outer` would
    /// use, so the subtree is the one `exact` grows from this node.
    pub(crate) fn splitter(&self, outer: &Splitter) -> Splitter<'_> {
        let mut sp = Splitter::new(
            &self.columns,
            &self.targets,
            outer.n_features,
            outer.min_samples_leaf,
            outer.max_features,
        );
        sp.counts.copy_from_slice(&self.counts);
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
    /// Column-major features, `n_features × n_rows` (empty for `hist`, which
    /// needs only the bin codes).
    columns: &'t [f32],
    pub(crate) targets: &'t [f64],
    n_rows: usize,
    pub(crate) n_features: usize,
    pub(crate) min_samples_leaf: usize,
    pub(crate) max_features: usize,
    /// Bootstrap draw count of every row (0 = out of bag).
    pub counts: Vec<u32>,
    /// count × target of every row, so scans add instead of multiplying.
    pub(crate) weighted_targets: Vec<f64>,
    /// `1/k` for every possible weight `k`: the split scan multiplies by
    /// these instead of dividing (divisions dominated its cost).
    pub(crate) inverse: Vec<f64>,
    /// `n_features` arrays of `n_in_bag` rows each, each sorted by its feature within every node range.
    sorted: Vec<u32>,
    n_in_bag: usize,
    scratch: Vec<u32>,
    /// Sort keys of `start_subset`.
    keys: Vec<u64>,
    goes_left: Vec<bool>,
    /// Feature permutation drawn from (Fisher-Yates, as sklearn), kept across nodes.
    pub(crate) features: Vec<u32>,
    /// Buffers of the histogram splitter (unused by `exact`).
    pub(crate) hist: crate::hist::HistState,
}

impl<'t> Splitter<'t> {
    pub fn new(
        columns: &'t [f32],
        targets: &'t [f64],
        n_features: usize,
        min_samples_leaf: usize,
        max_features: usize,
    ) -> Self {
        let n_rows = targets.len();
        Splitter {
            columns,
            targets,
            n_rows,
            n_features,
            min_samples_leaf,
            max_features,
            counts: vec![0; n_rows],
            weighted_targets: vec![0.0; n_rows],
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
        for ((wy, &c), &y) in self
            .weighted_targets
            .iter_mut()
            .zip(&self.counts)
            .zip(self.targets)
        {
            *wy = f64::from(c) * y;
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
        let weight: usize = rows.iter().map(|&r| self.counts[r as usize] as usize).sum();
        self.cover_weights(weight);
        self.sorted.clear();
        for f in 0..self.n_features {
            let col = &self.columns[f * self.n_rows..(f + 1) * self.n_rows];
            sort_by_value(col, rows, &mut self.keys);
            self.sorted.extend(self.keys.iter().map(|&k| k as u32));
        }
        self.n_in_bag = rows.len();
    }

    /// Starts a tree: keeps the rows with a non-zero count, in each feature's
    /// global order. Returns the number of in-bag rows.
    pub fn start_tree(&mut self, global_order: &[u32]) -> usize {
        self.start_weights();
        let total: usize = self.counts.iter().map(|&c| c as usize).sum();
        self.cover_weights(total);
        let n_in_bag = self.counts.iter().filter(|&&c| c > 0).count();
        // One slot more than needed: the filter below writes every row and
        // advances past the in-bag ones only (whether a row is in the bag is
        // a coin flip, a branch on it would miss a third of the time).
        self.sorted.clear();
        // Room for any tree at once: the buffer is sized by the first tree
        // and never grows (doubling) from tree to tree.
        self.sorted.reserve_exact(self.n_rows * self.n_features + 1);
        self.sorted.resize(n_in_bag * self.n_features + 1, 0);
        for f in 0..self.n_features {
            let order = &global_order[f * self.n_rows..(f + 1) * self.n_rows];
            let out = &mut self.sorted[f * n_in_bag..(f + 1) * n_in_bag + 1];
            let mut k = 0;
            for &r in order {
                out[k] = r;
                k += usize::from(self.counts[r as usize] > 0);
            }
            debug_assert_eq!(k, n_in_bag);
        }
        self.sorted.truncate(n_in_bag * self.n_features);
        self.n_in_bag = n_in_bag;
        n_in_bag
    }

    fn rows(&self, feature: usize, start: usize, end: usize) -> &[u32] {
        let base = feature * self.n_in_bag;
        &self.sorted[base + start..base + end]
    }

    fn column(&self, feature: usize) -> &'t [f32] {
        &self.columns[feature * self.n_rows..(feature + 1) * self.n_rows]
    }

    /// Weighted target sums of a node, and whether all its targets are equal.
    pub fn node_sums(&self, start: usize, end: usize) -> (Sums, bool) {
        let mut sums = Sums::default();
        let rows = self.rows(0, start, end);
        let first = self.targets[rows[0] as usize];
        let mut pure = true;
        for &r in rows {
            let r = r as usize;
            pure &= self.targets[r] == first;
            sums.add(self.counts[r], self.weighted_targets[r]);
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
            let rows = self.rows(f, start, end);
            let col = self.column(f);
            let lo = col[rows[0] as usize];
            let hi = col[rows[n - 1] as usize];
            if f64::from(hi) <= f64::from(lo) + FEATURE_THRESHOLD {
                continue; // constant in this node: not worth a draw
            }
            visited += 1;
            // Slices of equal, known lengths: one bounds check on a row id
            // covers all three arrays, and one on the left weight covers the
            // inverse table for both sides (fewer checks and fewer live
            // lengths, which Cranelift would keep on the stack).
            let counts = &self.counts[..];
            let (weighted, col) = (&self.weighted_targets[..counts.len()], &col[..counts.len()]);
            let inverse = &self.inverse[..=total.weight as usize];
            // Splits leaving fewer than min_leaf rows on a side are never
            // evaluated: rows before the first valid position are only summed.
            let mut left = Sums::default();
            for &r in &rows[..min_leaf - 1] {
                left.add(counts[r as usize], weighted[r as usize]);
            }
            let mut prev = col[rows[min_leaf - 1] as usize];
            // Whether a position beats the best so far is unpredictable: no
            // branch on it, and the threshold is computed once, after the scan.
            let (mut top, mut top_p) = (best_key, 0);
            // Position p puts rows[..p] on the left: row rows[p - 1] joins
            // it and rows[p] is the first on the right.
            macro_rules! step {
                ($p:expr) => {{
                    let p = $p;
                    let (joins, next) = (rows[p - 1] as usize, rows[p] as usize);
                    left.add(counts[joins], weighted[joins]);
                    let v = col[next];
                    let valid = f64::from(v) > f64::from(prev) + FEATURE_THRESHOLD;
                    prev = v;
                    let proxy = proxy_improvement(left, total.minus(left), inverse);
                    // NaN (sums overflowed to inf - inf) never wins, as `>` had it.
                    let key = if valid && !proxy.is_nan() {
                        proxy.to_bits() + 1
                    } else {
                        0
                    };
                    let better = key > top;
                    top = if better { key } else { top };
                    top_p = if better { p } else { top_p };
                }};
            }
            // Two positions per iteration: in wasm every loop head checks the
            // epoch (a call on its cold path) and Cranelift spills and reloads
            // the loop's state around it; unrolled, that is paid half as often
            // (diabetes, 1 worker: 53 -> 46 ms).
            let (mut p, last) = (min_leaf, n - min_leaf);
            while p < last {
                step!(p);
                step!(p + 1);
                p += 2;
            }
            // The last position of an odd count (its `prev` is not read again).
            #[allow(unused_assignments)]
            if p == last {
                step!(p);
            }
            if top_p != 0 {
                best_key = top;
                best = Some(Split {
                    feature: f as u32,
                    n_left: top_p,
                    threshold: threshold_between(
                        col[rows[top_p - 1] as usize],
                        col[rows[top_p] as usize],
                    ),
                });
            }
        }
        best
    }

    /// Sums of the node `start..start + 2` split into its two rows (in the
    /// split feature's order: the left one first), each as `node_sums`
    /// gives it for a one-row node.
    pub fn split_pair(&self, start: usize, split: &Split) -> [Sums; 2] {
        let rows = self.rows(split.feature as usize, start, start + 2);
        [rows[0], rows[1]].map(|r| {
            let mut s = Sums::default();
            s.add(self.counts[r as usize], self.weighted_targets[r as usize]);
            s
        })
    }

    /// Partitions every feature's range `start..end` into the split's left
    /// rows then right rows, keeping each side sorted.
    pub fn partition(&mut self, start: usize, end: usize, split: &Split) {
        let bf = split.feature as usize;
        let base = bf * self.n_in_bag;
        for (i, &r) in self.sorted[base + start..base + end].iter().enumerate() {
            self.goes_left[r as usize] = i < split.n_left;
        }
        for f in 0..self.n_features {
            if f == bf {
                continue; // already in order: that is how the split was found
            }
            let base = f * self.n_in_bag;
            let seg = &mut self.sorted[base + start..base + end];
            self.scratch.resize(seg.len(), 0);
            // Branch-free: which side a row goes to is unpredictable, so every
            // row is written to both places and only one cursor advances.
            let (mut l, mut k) = (0, 0);
            let (goes_left, scratch) = (&self.goes_left, &mut self.scratch);
            macro_rules! step {
                ($i:expr) => {{
                    let r = seg[$i];
                    let g = usize::from(goes_left[r as usize]);
                    seg[l] = r;
                    scratch[k] = r;
                    l += g;
                    k += 1 - g;
                }};
            }
            // Two rows per iteration, as the scan (the epoch check's spills).
            let (mut i, n) = (0, seg.len());
            while i + 1 < n {
                step!(i);
                step!(i + 1);
                i += 2;
            }
            #[allow(unused_assignments)]
            if i < n {
                step!(i);
            }
            debug_assert_eq!(l, split.n_left);
            seg[l..].copy_from_slice(&self.scratch[..k]);
        }
    }
}

#[cfg(test)]
mod tests {
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
