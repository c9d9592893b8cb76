//! Exact splits on presorted rows (`splitter = exact`, and the small nodes of
//! `auto`): scikit-learn's `BestSplitter` semantics, SLIQ-style bookkeeping.
//!
//! For each feature the in-bag rows of the tree are kept sorted by that
//! feature's value; every node owns the same range of each feature's array.
//! Splitting a node partitions each array stably, so the children's ranges
//! stay sorted and no node ever sorts: a node costs
//! O(n_features × n_node_rows).

use core::hint::select_unpredictable;
use core::ops::Range;

use crate::criterion::{Sums, Weight, proxy_improvement};
use crate::rng::Rng;
use crate::split::{FEATURE_THRESHOLD, Split, SplitStrategy, more_rows_left, threshold_between};
use crate::workspace::{self, Weighted, Workspace};
use alloc::vec::Vec;

/// Every row of each column sorted by (value in total order, missing last,
/// row id),
/// column after column: the order [`Exact::start_presorted`] starts trees
/// from. Once per forest; `columns` is column-major `n_features × n_rows`.
pub fn presort(columns: &[f32], n_rows: usize, n_features: usize) -> Vec<u32> {
    let mut order = Vec::with_capacity(n_rows * n_features);
    let mut keys = Vec::new();
    for col in columns.chunks_exact(n_rows.max(1)).take(n_features) {
        sort_by_value(col, &mut keys);
        order.extend(keys.iter().map(|&k| k as u32));
    }
    order
}

/// A key whose unsigned order is `f32::total_cmp`'s order of `v`.
#[inline]
fn order_bits(v: f32) -> u32 {
    let b = v.to_bits();
    // Missing values (NaN, of either sign) last, as scikit-learn keeps them.
    if v.is_nan() {
        u32::MAX
    } else if b >> 31 == 1 {
        !b
    } else {
        b | 1 << 31
    }
}

/// Fills `keys` with every row of `col` sorted by (`col[row]` in total
/// order, row id), each as `order_bits(value) << 32 | row`: plain integers
/// sort without looking either value up at each comparison.
fn sort_by_value(col: &[f32], keys: &mut Vec<u64>) {
    keys.clear();
    keys.extend(
        col.iter()
            .zip(0u32..)
            .map(|(&v, r)| u64::from(order_bits(v)) << 32 | u64::from(r)),
    );
    keys.sort_unstable();
}

/// The inverse table the weights `weighted` need (see [`Weight::table_len`]).
fn table_len<W: Weight>(weighted: &[Weighted<W>]) -> usize {
    W::table_len(weighted.iter().fold(W::default(), |t, d| t + d.w))
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

/// The exact strategy's buffers, reused from tree to tree (and, under
/// `auto`, from subtree to subtree).
#[derive(Debug, Default)]
pub struct Exact {
    n_features: usize,
    /// `n_features` arrays of `n_in_bag` rows each, each sorted by its
    /// feature within every node range.
    sorted: Vec<Entry>,
    n_in_bag: usize,
    scratch: Vec<Entry>,
    /// Sort keys of [`Exact::start_all`].
    keys: Vec<u64>,
    /// By row id: whether the row goes left in the split being applied.
    goes_left: Vec<bool>,
    /// `1/k` for every possible weight `k`: the split scan multiplies by
    /// these instead of dividing (divisions dominated its cost).
    inverse: Vec<f64>,
    /// Whether some row misses some feature (the search has an instance
    /// without their searches).
    missing: bool,
}

/// What an exact node keeps: its sums and purity, when known before its
/// rows are partitioned (the default: not known).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactNode<W = u32> {
    known: Option<(Sums<W>, bool)>,
}

impl Exact {
    /// Starts a tree of `ws`'s column-major rows: keeps the rows with a
    /// non-zero weight, in the order of [`presort`]. Returns their number.
    pub fn start_presorted<W: Weight>(&mut self, ws: &Workspace<W>, order: &[u32]) -> usize {
        let (n_rows, nf) = (ws.n_rows(), ws.n_features());
        let weighted = ws.weighted();
        self.start(n_rows, nf, table_len(weighted));
        let n_in_bag = weighted.iter().filter(|d| d.w > W::default()).count();
        // One slot more than needed: the filter below writes every row and
        // advances past the in-bag ones only (whether a row is in the bag is
        // a coin flip, a branch on it would miss a third of the time).
        self.sorted.clear();
        // Room for any tree at once: the buffer is sized by the first tree
        // and never grows (doubling) from tree to tree.
        self.sorted.reserve_exact(n_rows * nf + 1);
        self.sorted.resize(n_in_bag * nf + 1, Entry::default());
        for f in 0..nf {
            let order = &order[f * n_rows..(f + 1) * n_rows];
            let col = ws.column(f);
            let out = &mut self.sorted[f * n_in_bag..(f + 1) * n_in_bag + 1];
            let mut k = 0;
            for &r in order {
                out[k] = Entry {
                    row: r,
                    x: col[r as usize],
                };
                k += usize::from(weighted[r as usize].w > W::default());
            }
            debug_assert_eq!(k, n_in_bag);
        }
        self.sorted.truncate(n_in_bag * nf);
        self.n_in_bag = n_in_bag;
        // Missing values sort last: the last row of each order tells.
        let last = |f: usize| order[(f + 1) * n_rows - 1] as usize;
        self.missing = n_rows > 0 && (0..nf).any(|f| ws.column(f)[last(f)].is_nan());
        n_in_bag
    }

    /// Starts a subtree on every row of `ws` (a gathered copy of one node's
    /// in-bag rows), each feature's rows sorted by (value, row id): the
    /// order [`presort`] gives, so the subtree is the one `exact` would
    /// grow from that node.
    pub fn start_all<W: Weight>(&mut self, ws: &Workspace<W>) {
        let (n_rows, nf) = (ws.n_rows(), ws.n_features());
        self.start(n_rows, nf, table_len(ws.weighted()));
        self.sorted.clear();
        self.missing = false;
        for f in 0..nf {
            let col = ws.column(f);
            sort_by_value(col, &mut self.keys);
            self.missing |= self
                .keys
                .last()
                .is_some_and(|&k| col[k as u32 as usize].is_nan());
            self.sorted.extend(self.keys.iter().map(|&k| {
                let row = k as u32;
                Entry {
                    row,
                    x: col[row as usize],
                }
            }));
        }
        self.n_in_bag = n_rows;
    }

    /// Sizes the buffers for `n_rows` rows of `n_features` features and an
    /// inverse table of `table_len` entries (which only grows).
    fn start(&mut self, n_rows: usize, n_features: usize, table_len: usize) {
        self.n_features = n_features;
        self.goes_left.resize(n_rows, false);
        if self.inverse.len() < table_len {
            self.inverse = (0..table_len)
                .map(|k| if k == 0 { 0.0 } else { 1.0 / k as f64 })
                .collect();
        }
    }

    fn entries(&self, feature: usize, rows: Range<usize>) -> &[Entry] {
        let base = feature * self.n_in_bag;
        &self.sorted[base + rows.start..base + rows.end]
    }

    /// Sums of the two rows of a two-row node split in two (in the split
    /// feature's order: the left one first), each as
    /// [`Workspace::node_sums`] gives it for a one-row node.
    fn two_rows<W: Weight>(&self, ws: &Workspace<W>, start: usize, split: &Split) -> [Sums<W>; 2] {
        let entries = self.entries(split.feature as usize, start..start + 2);
        [entries[0], entries[1]].map(|e| {
            let d = ws.weighted()[e.row as usize];
            let mut s = Sums::default();
            s.add(d.w, d.wy);
            s
        })
    }

    /// Partitions every feature's range `rows` into the split's left rows
    /// then right rows, keeping each side sorted.
    fn partition(&mut self, rows: Range<usize>, split: &Split) {
        let bf = split.feature as usize;
        let base = bf * self.n_in_bag;
        let n_left = split.n_left;
        let node = &self.sorted[base + rows.start..base + rows.end];
        let (n, m) = (node.len(), n_missing(node));
        let missing_left = split.missing_left && m > 0;
        if missing_left {
            // The left side: the first present rows and the missing ones,
            // which end the order.
            for (i, e) in node.iter().enumerate() {
                self.goes_left[e.row as usize] = i < n_left - m || i >= n - m;
            }
        } else {
            for (i, e) in node.iter().enumerate() {
                self.goes_left[e.row as usize] = i < n_left;
            }
        }
        for f in 0..self.n_features {
            if f == bf && !missing_left {
                continue; // already in order: that is how the split was found
            }
            let base = f * self.n_in_bag;
            let seg = &mut self.sorted[base + rows.start..base + rows.end];
            let goes_left = &self.goes_left[..];
            let l = workspace::partition(seg, &mut self.scratch, |e| goes_left[e.row as usize]);
            debug_assert_eq!(l, n_left);
        }
    }
}

impl Exact {
    /// [`SplitStrategy::best_split`]; `MISSING`: the data misses values.
    /// Out of line: inlined into the builder's node step, its scan loop
    /// ran more instructions (docs/performance.md).
    #[inline(never)]
    fn search<W: Weight, const MISSING: bool>(
        &mut self,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        total: Sums<W>,
        rng: &mut Rng,
    ) -> Option<Split> {
        let n = rows.len();
        let limits = (ws.min_samples_leaf(), ws.min_leaf_weight());
        debug_assert!(n >= 2 * limits.0 && limits.0 >= 1);
        let mut best = Best {
            split: None,
            key: 0,
            total,
            inverse: &self.inverse,
        };
        let (weighted, mut draw) = ws.draw();
        while let Some(f) = draw.next(rng) {
            let entries = self.entries(f, rows.clone());
            let m = if MISSING { n_missing(entries) } else { 0 };
            let present = &entries[..n - m];
            // Constant: every value missing, or the present ones (nearly)
            // equal and none missing.
            let constant = match present.len() {
                0 => true,
                k => {
                    m == 0
                        && f64::from(present[k - 1].x)
                            <= f64::from(present[0].x) + FEATURE_THRESHOLD
                }
            };
            if constant {
                continue; // not worth a draw
            }
            draw.counts();
            let f = f as u32;
            // Missing values (if any) on the right, as scikit-learn searches
            // first: the scan of every forest without them.
            let range = match (MISSING, limits) {
                (false, (min_leaf, w)) if w == W::default() => Some((min_leaf, n - min_leaf)),
                _ => positions(entries, weighted, (0, W::default()), limits, n - m - 1),
            };
            if let Some(range) = range {
                best.scan(entries, weighted, Sums::default(), range, |p| Split {
                    feature: f,
                    n_left: p,
                    threshold: threshold_between(entries[p - 1].x, entries[p].x),
                    missing_left: m == 0 && more_rows_left(p, n),
                });
            }
            if MISSING && m > 0 {
                best.missing_apart(present, &entries[n - m..], weighted, limits, f);
            }
        }
        best.split
    }
}

impl<W: Weight> SplitStrategy<W> for Exact {
    type Node = ExactNode<W>;

    fn node_sums(
        &self,
        ws: &Workspace<W>,
        rows: Range<usize>,
        node: &ExactNode<W>,
    ) -> (Sums<W>, bool) {
        let rows = || self.entries(0, rows).iter().map(|e| e.row);
        // Feature 0's order: the order the sums are added in is part of the
        // model (floating-point addition is not associative).
        node.known.unwrap_or_else(|| ws.node_sums(rows()))
    }

    fn best_split(
        &mut self,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        _: &ExactNode<W>,
        total: Sums<W>,
        rng: &mut Rng,
    ) -> Option<Split> {
        // An instance without the searches of missing values for data
        // without any: inside the feature loop, they cost every node.
        if self.missing {
            self.search::<W, true>(ws, rows, total, rng)
        } else {
            self.search::<W, false>(ws, rows, total, rng)
        }
    }

    fn left_sums(
        &self,
        ws: &Workspace<W>,
        rows: Range<usize>,
        _: &ExactNode<W>,
        split: &Split,
    ) -> Sums<W> {
        let entries = self.entries(split.feature as usize, rows);
        let m = n_missing(entries);
        let mut left = Sums::default();
        let mut add = |e: &Entry| {
            let d = ws.weighted()[e.row as usize];
            left.add(d.w, d.wy);
        };
        if split.missing_left && m > 0 {
            // As the scan added them: the missing rows first.
            let n = entries.len();
            entries[n - m..].iter().for_each(&mut add);
            entries[..split.n_left - m].iter().for_each(add);
        } else {
            entries[..split.n_left].iter().for_each(add);
        }
        left
    }

    /// Exact keeps every child (`kept` is for strategies that hand some over).
    fn split(
        &mut self,
        ws: &Workspace<W>,
        rows: Range<usize>,
        _: ExactNode<W>,
        split: &Split,
        _kept: [bool; 2],
    ) -> [Option<ExactNode<W>>; 2] {
        if rows.len() == 2 {
            // Two one-row children, leaves whatever the stop rules (a node of
            // one row never splits): nothing reads their rows again, so no
            // partition. Common near the leaves, and the cheapest to skip.
            let [l, r] = self.two_rows(ws, rows.start, split);
            let leaf = |sums| ExactNode {
                known: Some((sums, true)),
            };
            return [Some(leaf(l)), Some(leaf(r))];
        }
        self.partition(rows, split);
        [Some(ExactNode::default()); 2]
    }

    fn leaf(&mut self, _: ExactNode<W>) {}
}

/// The number of rows at the end of a feature's sorted node `entries` whose
/// value is missing (NaN sorts last). Most features of most nodes have
/// none: one look at the last entry tells.
#[inline]
fn n_missing(entries: &[Entry]) -> usize {
    match entries.last() {
        Some(e) if e.x.is_nan() => entries.len() - entries.partition_point(|e| !e.x.is_nan()),
        _ => 0,
    }
}

/// The positions `first..=last` of a scan of `entries` (position `p` puts
/// `entries[..p]` on the left, beside the `base` rows and weight already
/// there, and `entries[p..]` on the right) that leave `min_leaf` rows and
/// `min_weight` weight on each side, with `1 <= p <= cap`; if any. The left
/// side's weight only grows with `p`, so they are one range, found from the
/// two ends: the scan itself stays the scan of forests without the weight
/// rule (a test inside its loop made the compiler trade its branch-free
/// selects for a mispredicted branch).
#[inline]
fn positions<W: Weight>(
    entries: &[Entry],
    weighted: &[Weighted<W>],
    base: (usize, W),
    (min_leaf, min_weight): (usize, W),
    cap: usize,
) -> Option<(usize, usize)> {
    let n = entries.len();
    let first = min_leaf.saturating_sub(base.0).max(1);
    let last = (n - min_leaf.min(n)).min(cap);
    if min_weight == W::default() {
        return (first <= last).then_some((first, last));
    }
    heavy_positions(
        entries,
        weighted,
        (first, last),
        (W::still_needed(min_weight, base.1), min_weight),
    )
}

/// [`positions`] narrowed to those that leave `need.0` weight on the left
/// (beyond the base) and `need.1` on the right.
#[inline(never)]
fn heavy_positions<W: Weight>(
    entries: &[Entry],
    weighted: &[Weighted<W>],
    (first, last): (usize, usize),
    need: (W, W),
) -> Option<(usize, usize)> {
    let reach = |mut rows: core::slice::Iter<'_, Entry>, back: bool, need: W| {
        let (mut w, mut taken) = (W::default(), 0usize);
        while w < need {
            let e = if back { rows.next_back() } else { rows.next() }?;
            w += weighted[e.row as usize].w;
            taken += 1;
        }
        Some(taken)
    };
    let first = reach(entries.iter(), false, need.0)?.max(first);
    let last = (entries.len() - reach(entries.iter(), true, need.1)?).min(last);
    (first <= last).then_some((first, last))
}

/// The best split of a node so far, over its features and their searches.
struct Best<'a, W> {
    split: Option<Split>,
    /// The best proxy as a key: 0 for none, else the proxy's bits plus one
    /// (see [`scan`]).
    key: u64,
    total: Sums<W>,
    /// The table of [`proxy_improvement`].
    inverse: &'a [f64],
}

impl<W: Weight> Best<'_, W> {
    /// Scans `entries` at the positions `range` with `base` already on the
    /// left; keeps `make(p)` if position `p` beats the best so far.
    #[inline(always)]
    fn scan(
        &mut self,
        entries: &[Entry],
        weighted: &[Weighted<W>],
        base: Sums<W>,
        range: (usize, usize),
        make: impl FnOnce(usize) -> Split,
    ) {
        let (key, p) = scan(
            entries,
            weighted,
            self.inverse,
            (base, self.total),
            range,
            self.key,
        );
        if p != 0 {
            self.key = key;
            self.split = Some(make(p));
        }
    }

    /// The searches of a feature whose node rows `missing` (after the
    /// `present` ones) miss it, after the one with them on the right, in
    /// scikit-learn's order: every present row left and the missing ones
    /// right (threshold +inf: NaN is not <= inf), then the missing rows on
    /// the left of every split of the present ones.
    #[inline(never)]
    fn missing_apart(
        &mut self,
        present: &[Entry],
        missing: &[Entry],
        weighted: &[Weighted<W>],
        (min_leaf, min_weight): (usize, W),
        feature: u32,
    ) {
        let sums = |entries: &[Entry]| {
            let mut s = Sums::default();
            for e in entries {
                let d = weighted[e.row as usize];
                s.add(d.w, d.wy);
            }
            s
        };
        let (lost, m) = (sums(missing), missing.len());
        let kept = self.total.minus(lost);
        if present.len() >= min_leaf
            && m >= min_leaf
            && kept.weight >= min_weight
            && lost.weight >= min_weight
        {
            let key = proxy_improvement(kept, lost, self.inverse).to_bits() + 1;
            if key > self.key {
                self.key = key;
                self.split = Some(Split {
                    feature,
                    n_left: present.len(),
                    threshold: f32::INFINITY,
                    missing_left: false,
                });
            }
        }
        let cap = present.len() - 1;
        if let Some(range) = positions(
            present,
            weighted,
            (m, lost.weight),
            (min_leaf, min_weight),
            cap,
        ) {
            self.scan(present, weighted, lost, range, |p| Split {
                feature,
                n_left: m + p,
                threshold: threshold_between(present[p - 1].x, present[p].x),
                missing_left: true,
            });
        }
    }
}

/// Scans the positions `first..=last` of one feature's sorted node
/// `entries` for the best split: position `p` puts `entries[..p]` on the
/// left, beside `base` (`1 <= first`, `last < entries.len()`: the caller's
/// rows and weights per side). Positions between values closer than
/// [`FEATURE_THRESHOLD`] are not evaluated. `inverse` is the table of
/// [`proxy_improvement`], covering `total.weight`. Returns the best key, if
/// above `top`, and its position (0: none above `top`).
///
/// Keys are a proxy's bits plus one: proxies are sums of squares times
/// positive weights, never negative, and such floats order as their bits
/// do, so the scan compares and selects integers, which compile to
/// branch-free moves natively and in wasm alike.
#[inline(always)]
fn scan<W: Weight>(
    entries: &[Entry],
    weighted: &[Weighted<W>],
    inverse: &[f64],
    (base, total): (Sums<W>, Sums<W>),
    (first, last): (usize, usize),
    top: u64,
) -> (u64, usize) {
    // Cut here, in the function that indexes it: one bounds check on the
    // left weight then covers the table for both sides.
    let inverse = W::table_upto(inverse, total.weight);
    // Rows before the first valid position are only summed.
    let mut left = base;
    for e in &entries[..first - 1] {
        let d = weighted[e.row as usize];
        left.add(d.w, d.wy);
    }
    // The row that joins the left side at the next position, and the last
    // value on the left.
    let (mut joins, mut prev) = (entries[first - 1].row, entries[first - 1].x);
    // Whether a position beats the best so far is unpredictable: no branch
    // on it, and the caller computes the threshold once, after the scan.
    let (mut top, mut top_p) = (top, 0);
    // Entry p - 1 joins the left side and entry p is the first on the right.
    macro_rules! step {
        ($p:expr, $next:expr) => {{
            let (p, next): (usize, Entry) = ($p, $next);
            let d = weighted[joins as usize];
            left.add(d.w, d.wy);
            let valid = f64::from(next.x) > f64::from(prev) + FEATURE_THRESHOLD;
            (joins, prev) = (next.row, next.x);
            // Finite and never NaN: the trainer refused targets whose sums
            // could overflow (`Dataset::new`).
            let proxy = proxy_improvement(left, total.minus(left), inverse);
            // Selects the optimiser must not turn into branches: it did
            // (for `valid`, to skip the proxy's loads) when the scan became
            // generic over the weight type, and a third of the branches
            // then missed (docs/performance.md).
            let key = select_unpredictable(valid, proxy.to_bits() + 1, 0);
            let better = key > top;
            top = select_unpredictable(better, key, top);
            top_p = select_unpredictable(better, p, top_p);
        }};
    }
    // Positions first..=last, four per iteration: the loop's own counting
    // and branch are paid once for four (Cranelift, which compiles the
    // sandboxed engine, does not unroll loops).
    let positions = &entries[first..=last];
    let mut quads = positions.chunks_exact(4);
    let mut p = first;
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
    (top, top_p)
}

#[cfg(test)]
mod tests {
    use super::sort_by_value;

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
        let mut keys = Vec::new();
        sort_by_value(&col, &mut keys);
        let got: Vec<u32> = keys.iter().map(|&k| k as u32).collect();
        let mut expected: Vec<u32> = (0..col.len() as u32).collect();
        expected.sort_by(|&a, &b| col[a as usize].total_cmp(&col[b as usize]).then(a.cmp(&b)));
        assert_eq!(got, expected);
    }
}
