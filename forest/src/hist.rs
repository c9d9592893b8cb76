//! Histogram splits (`splitter = hist`, and the large nodes of `auto`).
//!
//! Every feature is quantized once per forest to at most 256 bins (u8 codes):
//! a feature with at most 256 distinct values gets one bin per value,
//! otherwise bins hold runs of consecutive distinct values of about equal row
//! counts. A node keeps, per feature and bin, its row count, bootstrap weight
//! and weighted target sum; the smaller child's histogram is built from its
//! rows and the larger child's is the parent's minus it. The best split scans
//! bins in value order with exact's rules (min_samples_leaf counted in rows,
//! near-equal values not separated, the first best split kept, the same
//! feature draws), and the threshold is `threshold_between` the largest
//! training value of the last left bin and the smallest of the first right
//! bin: with one bin per distinct value, `hist` grows `exact`'s trees.
//!
//! A feature with missing values (NaN) keeps its last bin, [`MISSING_BIN`],
//! for them (and at most 255 for its values); its splits are searched as
//! `exact` searches them: missing rows on the right, then apart (threshold
//! +inf), then on the left.

use core::ops::Range;

use crate::criterion::{Sums, Weight, proxy_improvement_computed};
use crate::rng::Rng;
use crate::split::{FEATURE_THRESHOLD, Split, SplitStrategy, more_rows_left, threshold_between};
use crate::workspace::{self, Workspace};
use alloc::{vec, vec::Vec};

/// Bins per feature at most (codes are u8).
pub const MAX_BINS: usize = 256;

/// The bin of the missing values of a feature that has some.
pub const MISSING_BIN: u8 = u8::MAX;

/// The features of one forest, quantized.
#[derive(Debug, Clone, Default)]
pub struct Binned {
    /// Row-major `n_rows × n_features` bin codes: a row's codes share a
    /// cache line when its histogram entries are added.
    codes: Vec<u8>,
    /// Per feature, `MAX_BINS` entries: smallest and largest training value
    /// in each bin (unused bins: +inf / -inf).
    bin_min: Vec<f32>,
    bin_max: Vec<f32>,
    /// Per feature: whether some rows miss it (code [`MISSING_BIN`]).
    missing: Vec<bool>,
    /// Whether `missing` holds a true: asked once per node, to choose the
    /// search's instance.
    any_missing: bool,
}

impl Binned {
    /// Quantizes row-major `values` (`n_rows × n_features`).
    pub fn new(values: &[f32], n_rows: usize, n_features: usize) -> Binned {
        let mut codes = vec![0u8; n_rows * n_features];
        let mut bin_min = vec![f32::INFINITY; MAX_BINS * n_features];
        let mut bin_max = vec![f32::NEG_INFINITY; MAX_BINS * n_features];
        let mut missing = vec![false; n_features];
        let mut sorted = Vec::with_capacity(n_rows);
        for f in 0..n_features {
            let col = || values.iter().skip(f).step_by(n_features);
            sorted.clear();
            sorted.extend(col().filter(|v| !v.is_nan()));
            sorted.sort_unstable_by(f32::total_cmp);
            missing[f] = sorted.len() < n_rows;
            let uppers = bin_uppers(&sorted, MAX_BINS - usize::from(missing[f]));
            let (lo, hi) = (
                &mut bin_min[f * MAX_BINS..(f + 1) * MAX_BINS],
                &mut bin_max[f * MAX_BINS..(f + 1) * MAX_BINS],
            );
            for (r, &v) in col().enumerate() {
                if v.is_nan() {
                    codes[r * n_features + f] = MISSING_BIN;
                    continue;
                }
                // First bin whose upper bound is >= v.
                let b = uppers.partition_point(|&u| u < v);
                codes[r * n_features + f] = b as u8;
                lo[b] = lo[b].min(v);
                hi[b] = hi[b].max(v);
            }
        }
        Binned {
            codes,
            bin_min,
            bin_max,
            any_missing: missing.contains(&true),
            missing,
        }
    }

    /// Whether some rows miss feature `f` (their code is [`MISSING_BIN`]).
    pub fn has_missing(&self, f: usize) -> bool {
        self.missing[f]
    }

    /// Whether some rows miss some feature.
    pub fn any_missing(&self) -> bool {
        self.any_missing
    }
}

impl Binned {
    /// All rows' bin codes, row-major `n_rows × n_features`.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }

    /// Row `r`'s bin codes, one per feature.
    pub fn row_codes(&self, r: usize, n_features: usize) -> &[u8] {
        &self.codes[r * n_features..(r + 1) * n_features]
    }

    /// Feature `f`'s bins: the smallest and the largest training value in
    /// each (unused bins: +inf and -inf).
    pub fn bounds(&self, f: usize) -> (&[f32], &[f32]) {
        let bins = f * MAX_BINS..(f + 1) * MAX_BINS;
        (&self.bin_min[bins.clone()], &self.bin_max[bins])
    }
}

/// The upper bound (largest value) of every bin of a feature whose values
/// are `sorted`, in increasing order: one bin per distinct value if there
/// are at most `max_bins`, else runs of about equal row counts.
fn bin_uppers(sorted: &[f32], max_bins: usize) -> Vec<f32> {
    let n_rows = sorted.len();
    let mut uppers: Vec<f32> = Vec::with_capacity(max_bins);
    let distinct = 1 + sorted.windows(2).filter(|w| w[0] != w[1]).count();
    if distinct <= max_bins {
        uppers.extend(
            sorted
                .iter()
                .enumerate()
                .filter(|&(i, v)| sorted.get(i + 1) != Some(v))
                .map(|(_, &v)| v),
        );
        return uppers;
    }
    // Close a bin at the end of a run of equal values once it holds its
    // share of the rows not yet binned; the last bin takes whatever is
    // left, so there are never more than MAX_BINS.
    let (mut i, mut in_bin, mut remaining) = (0, 0, n_rows);
    while i < n_rows {
        let mut j = i + 1;
        while j < n_rows && sorted[j] == sorted[i] {
            j += 1;
        }
        in_bin += j - i;
        let share = remaining.div_ceil(max_bins - uppers.len());
        if in_bin >= share || j == n_rows {
            uppers.push(sorted[j - 1]);
            remaining -= in_bin;
            in_bin = 0;
        }
        i = j;
    }
    uppers
}

/// One bin of a node's histogram.
#[derive(Debug, Clone, Copy, Default)]
struct Bin<W = u32> {
    /// In-bag rows (each counted once).
    rows: u32,
    /// Their weights and weighted targets.
    sums: Sums<W>,
}

/// The histogram strategy's buffers, reused from tree to tree. A node is a
/// range of `rows`; what it keeps is the slot of its histogram in `pool`,
/// or [`SHELVED`].
#[derive(Debug)]
pub struct Hist<'b, W = u32> {
    binned: &'b Binned,
    /// The tree's in-bag row ids, each node's in increasing order.
    rows: Vec<u32>,
    scratch: Vec<u32>,
    /// Histograms (`n_features × MAX_BINS` bins each), by slot.
    pool: Vec<Vec<Bin<W>>>,
    /// Slots not in use.
    free: Vec<usize>,
    /// The most bytes of histograms nodes waiting on best-first growth's
    /// frontier keep ([`WAIT_BYTES`]; a setting for tests).
    wait_bytes: usize,
}

/// The slot of a node whose histogram was given back while it waited:
/// `split` builds it again from the node's rows.
const SHELVED: usize = usize::MAX;

/// How many bytes of histograms best-first growth keeps for the nodes on
/// its frontier; beyond, a waiting node's histogram is given back and built
/// again when the node is split. Depth-first growth keeps one histogram per
/// level; best first, a frontier of up to `max_leaf_nodes` nodes would keep
/// one each (10 features: 40 KiB a node, 800 MB for 20 000 leaves).
pub const WAIT_BYTES: usize = 64 << 20;

impl<'b, W: Weight> Hist<'b, W> {
    pub fn new(binned: &'b Binned) -> Self {
        Hist {
            binned,
            rows: Vec::new(),
            scratch: Vec::new(),
            pool: Vec::new(),
            free: Vec::new(),
            wait_bytes: WAIT_BYTES,
        }
    }

    /// Sets [`WAIT_BYTES`] (tests use it to shelve every waiting node).
    pub fn set_wait_bytes(&mut self, bytes: usize) {
        self.wait_bytes = bytes;
    }

    /// Starts a tree on the rows of `ws` with a non-zero weight; returns
    /// their number.
    pub fn start_tree(&mut self, ws: &Workspace<W>) -> usize {
        self.rows.clear();
        let weighted = ws.weighted();
        self.rows
            .extend((0..weighted.len() as u32).filter(|&r| weighted[r as usize].w > W::default()));
        self.free = (0..self.pool.len()).collect();
        self.rows.len()
    }

    /// The histogram of the tree's root: its slot.
    pub fn root(&mut self, ws: &Workspace<W>) -> usize {
        let slot = self.take_slot(ws.n_features());
        self.fill(slot, 0..self.rows.len(), ws);
        slot
    }

    /// The row ids of the node `rows`, in increasing order.
    pub fn rows(&self, rows: Range<usize>) -> &[u32] {
        &self.rows[rows]
    }

    fn take_slot(&mut self, n_features: usize) -> usize {
        match self.free.pop() {
            Some(s) => s,
            None => {
                self.pool.push(vec![Bin::default(); n_features * MAX_BINS]);
                self.pool.len() - 1
            }
        }
    }

    /// Fills histogram `slot` with the node `rows`.
    fn fill(&mut self, slot: usize, rows: Range<usize>, ws: &Workspace<W>) {
        let out = &mut self.pool[slot];
        out.iter_mut().for_each(|b| *b = Bin::default());
        let nf = ws.n_features();
        let weighted = ws.weighted();
        for &r in &self.rows[rows] {
            let r = r as usize;
            let (w, wy) = (weighted[r].w, weighted[r].wy);
            let codes = &self.binned.codes[r * nf..(r + 1) * nf];
            for (f, &c) in codes.iter().enumerate() {
                let b = &mut out[f * MAX_BINS + c as usize];
                b.rows += 1;
                b.sums.add(w, wy);
            }
        }
    }

    /// Subtracts histogram `child` from histogram `parent`.
    fn subtract(&mut self, parent: usize, child: usize) {
        debug_assert_ne!(parent, child);
        let (parent, child) = if parent < child {
            let (x, y) = self.pool.split_at_mut(child);
            (&mut x[parent], &y[0])
        } else {
            let (x, y) = self.pool.split_at_mut(parent);
            (&mut y[0], &x[child])
        };
        for (pb, cb) in parent.iter_mut().zip(child.iter()) {
            pb.rows -= cb.rows;
            pb.sums = pb.sums.minus(cb.sums);
        }
    }

    /// Moves the node's rows whose bin of `feature` is at most `last_left`
    /// (and, if `missing_left`, those missing it) to the front of its range,
    /// keeping both sides in order.
    fn partition(
        &mut self,
        rows: Range<usize>,
        n_features: usize,
        (feature, last_left, missing_left): (usize, u8, bool),
    ) {
        let codes = &self.binned.codes[..];
        let seg = &mut self.rows[rows];
        if missing_left {
            workspace::partition(seg, &mut self.scratch, |r| {
                let c = codes[r as usize * n_features + feature];
                c <= last_left || c == MISSING_BIN
            });
        } else {
            workspace::partition(seg, &mut self.scratch, |r| {
                codes[r as usize * n_features + feature] <= last_left
            });
        }
    }
}

/// The last bin on the left side of a split of `n_left` rows, in the
/// histogram of the split feature `bins`: where the rows, counted in bin
/// order, reach `n_left` (the split scan ends the left side there).
fn last_left_bin<W>(bins: &[Bin<W>], n_left: usize) -> u8 {
    let mut rows = 0;
    for (b, bin) in bins.iter().enumerate() {
        rows += bin.rows as usize;
        if rows >= n_left {
            return b as u8;
        }
    }
    unreachable!("a split leaves rows on its right side")
}

/// A split position found by [`scan`].
struct Candidate {
    n_left: usize,
    threshold: f32,
    proxy: f64,
}

/// Scans the bins `lo..=hi` (the first and last with rows) of one feature's
/// histogram `h` of a node of `n` rows for the best split whose proxy
/// beats `best_proxy`: between two bins with rows, as exact's positions
/// between two rows (`bmin`, `bmax`: the feature's bin bounds), with `base`
/// on the left beside the bins before the split, each side keeping
/// `min_leaf` rows and, if `WEIGHED` (a separate instance, so that the scan
/// without the rule pays nothing for it), `min_weight` weight.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scan<W: Weight, const WEIGHED: bool>(
    h: &[Bin<W>],
    (bmin, bmax): (&[f32], &[f32]),
    (lo, hi): (usize, usize),
    n: usize,
    (min_leaf, min_weight): (usize, W),
    (base, total): (Bin<W>, Sums<W>),
    mut best_proxy: f64,
) -> Option<Candidate> {
    let mut best: Option<Candidate> = None;
    let mut left = base.sums;
    left.add(h[lo].sums.weight, h[lo].sums.sum);
    let mut left_rows = base.rows as usize + h[lo].rows as usize;
    let mut prev = lo;
    for (b, bin) in h.iter().enumerate().take(hi + 1).skip(lo + 1) {
        if bin.rows == 0 {
            continue;
        }
        if left_rows > n - min_leaf {
            break;
        }
        let (a, v) = (bmax[prev], bmin[b]);
        let heavy =
            !WEIGHED || left.weight >= min_weight && total.weight - left.weight >= min_weight;
        if left_rows >= min_leaf && heavy && f64::from(v) > f64::from(a) + FEATURE_THRESHOLD {
            let proxy = proxy_improvement_computed(left, total.minus(left));
            if proxy > best_proxy {
                best_proxy = proxy;
                best = Some(Candidate {
                    n_left: left_rows,
                    threshold: threshold_between(a, v),
                    proxy,
                });
            }
        }
        left_rows += bin.rows as usize;
        left.add(bin.sums.weight, bin.sums.sum);
        prev = b;
    }
    best
}

/// The searches of a feature some of whose node rows (`missing`) miss it,
/// after the one with them on the right, in exact's order (see
/// `exact::Best::missing_apart`): the missing rows apart (threshold +inf),
/// then on the left. Out of line: the feature loop stays the one of data
/// without gaps.
#[inline(never)]
fn missing_apart<W: Weight, const WEIGHED: bool>(
    h: &[Bin<W>],
    bounds: (&[f32], &[f32]),
    (lo, hi): (usize, usize),
    (n, mins): (usize, (usize, W)),
    (missing, total): (Bin<W>, Sums<W>),
    mut best_proxy: f64,
) -> Option<(Candidate, bool)> {
    let m = missing.rows as usize;
    let mut best = None;
    let kept = total.minus(missing.sums);
    let heavy = |s: Sums<W>| !WEIGHED || s.weight >= mins.1;
    if n - m >= mins.0 && m >= mins.0 && heavy(kept) && heavy(missing.sums) {
        let proxy = proxy_improvement_computed(kept, missing.sums);
        if proxy > best_proxy {
            best_proxy = proxy;
            let c = Candidate {
                n_left: n - m,
                threshold: f32::INFINITY,
                proxy,
            };
            best = Some((c, false));
        }
    }
    let left = (missing, total);
    scan::<W, WEIGHED>(h, bounds, (lo, hi), n, mins, left, best_proxy)
        .map(|c| (c, true))
        .or(best)
}

impl<W: Weight> Hist<'_, W> {
    /// `best_split`, one instance with the `min_weight_fraction_leaf` rule
    /// (`WEIGHED`) and one without: a choice inside the feature loop slowed
    /// the plain scan down (callgrind). Out of line, as `exact`'s.
    #[inline(never)]
    fn search<const WEIGHED: bool, const MISSING: bool>(
        &mut self,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        slot: usize,
        total: Sums<W>,
        rng: &mut Rng,
    ) -> Option<Split> {
        let (n, mins) = (rows.len(), (ws.min_samples_leaf(), ws.min_leaf_weight()));
        let (hist, binned) = (&self.pool[slot], self.binned);
        let mut best: Option<Split> = None;
        let mut best_proxy = f64::NEG_INFINITY;
        let (_, mut draw) = ws.draw();
        while let Some(f) = draw.next(rng) {
            let bins = f * MAX_BINS..(f + 1) * MAX_BINS;
            let h = &hist[bins.clone()];
            let bounds = (&binned.bin_min[bins.clone()], &binned.bin_max[bins]);
            let missing = if MISSING && binned.missing[f] {
                h[MISSING_BIN as usize]
            } else {
                Bin::default()
            };
            let values = &h[..MAX_BINS - usize::from(MISSING && binned.missing[f])];
            let Some(lo) = values.iter().position(|b| b.rows > 0) else {
                continue; // every row misses it: constant
            };
            let hi = values.iter().rposition(|b| b.rows > 0).unwrap_or(lo);
            let m = missing.rows as usize;
            if m == 0 && f64::from(bounds.1[hi]) <= f64::from(bounds.0[lo]) + FEATURE_THRESHOLD {
                continue; // constant in this node: not worth a draw
            }
            draw.counts();
            let found = |c: Candidate, missing_left| Split {
                feature: f as u32,
                n_left: c.n_left,
                threshold: c.threshold,
                missing_left,
            };
            let none = (Bin::default(), total);
            // `h` whole, not `values`: slices of MAX_BINS bins let the
            // compiler drop the loop's bounds checks (`hi` is a value bin).
            if let Some(c) = scan::<W, WEIGHED>(h, bounds, (lo, hi), n, mins, none, best_proxy) {
                best_proxy = c.proxy;
                let missing_left = m == 0 && more_rows_left(c.n_left, n);
                best = Some(found(c, missing_left));
            }
            if MISSING
                && m > 0
                && let Some((c, missing_left)) = missing_apart::<W, WEIGHED>(
                    h,
                    bounds,
                    (lo, hi),
                    (n, mins),
                    (missing, total),
                    best_proxy,
                )
            {
                best_proxy = c.proxy;
                best = Some(found(c, missing_left));
            }
        }
        best
    }
}

impl<W: Weight> SplitStrategy<W> for Hist<'_, W> {
    type Node = usize;

    fn node_sums(&self, ws: &Workspace<W>, rows: Range<usize>, _: &usize) -> (Sums<W>, bool) {
        ws.node_sums(self.rows[rows].iter().copied())
    }

    fn best_split(
        &mut self,
        ws: &mut Workspace<W>,
        rows: Range<usize>,
        &slot: &usize,
        total: Sums<W>,
        rng: &mut Rng,
    ) -> Option<Split> {
        // An instance per case: the searches of missing values inside the
        // feature loop cost forests without any (docs/performance.md).
        match (
            ws.min_leaf_weight() == W::default(),
            self.binned.any_missing,
        ) {
            (true, false) => self.search::<false, false>(ws, rows, slot, total, rng),
            (true, true) => self.search::<false, true>(ws, rows, slot, total, rng),
            (false, false) => self.search::<true, false>(ws, rows, slot, total, rng),
            (false, true) => self.search::<true, true>(ws, rows, slot, total, rng),
        }
    }

    fn left_sums(
        &self,
        _: &Workspace<W>,
        _: Range<usize>,
        &slot: &usize,
        split: &Split,
    ) -> Sums<W> {
        let f = split.feature as usize;
        let h = &self.pool[slot][f * MAX_BINS..(f + 1) * MAX_BINS];
        let (mut left, mut rows) = (Sums::default(), 0);
        if split.missing_left && self.binned.missing[f] {
            // As the scan added them: the missing rows first.
            let missing = h[MISSING_BIN as usize];
            rows = missing.rows as usize;
            left = missing.sums;
        }
        for bin in &h[..MAX_BINS - usize::from(self.binned.missing[f])] {
            if rows >= split.n_left {
                break;
            }
            rows += bin.rows as usize;
            left.add(bin.sums.weight, bin.sums.sum);
        }
        left
    }

    /// The smaller child's histogram is built from its rows, the larger's
    /// is the parent's minus it (in the parent's slot); only children split
    /// by `hist` keep one.
    fn split(
        &mut self,
        ws: &Workspace<W>,
        rows: Range<usize>,
        slot: usize,
        split: &Split,
        kept: [bool; 2],
    ) -> [Option<usize>; 2] {
        let (nf, f) = (ws.n_features(), split.feature as usize);
        let slot = match slot {
            SHELVED => {
                let slot = self.take_slot(nf);
                self.fill(slot, rows.clone(), ws);
                slot
            }
            slot => slot,
        };
        let h = &self.pool[slot][f * MAX_BINS..(f + 1) * MAX_BINS];
        let missing_left = split.missing_left && self.binned.missing[f];
        let m = if missing_left {
            h[MISSING_BIN as usize].rows
        } else {
            0
        };
        let last_left = last_left_bin(h, split.n_left - m as usize);
        self.partition(rows.clone(), nf, (f, last_left, missing_left));
        if kept == [false, false] {
            self.free.push(slot);
            return [None, None];
        }
        let mid = rows.start + split.n_left;
        let (left, right) = (rows.start..mid, mid..rows.end);
        let small_is_left = left.len() <= right.len();
        let small = self.take_slot(nf);
        self.fill(small, if small_is_left { left } else { right }, ws);
        self.subtract(slot, small);
        let [small_kept, large_kept] = if small_is_left {
            kept
        } else {
            [kept[1], kept[0]]
        };
        let mut keep = |slot: usize, kept: bool| {
            if !kept {
                self.free.push(slot);
            }
            kept.then_some(slot)
        };
        let (small, large) = (keep(small, small_kept), keep(slot, large_kept));
        if small_is_left {
            [small, large]
        } else {
            [large, small]
        }
    }

    fn leaf(&mut self, slot: usize) {
        if slot != SHELVED {
            self.free.push(slot);
        }
    }

    /// Keeps the histogram while the slots in use (the waiting nodes')
    /// stay within `wait_bytes`; else gives it back.
    fn wait(&mut self, ws: &Workspace<W>, slot: usize) -> usize {
        let slot_bytes = ws.n_features() * MAX_BINS * size_of::<Bin<W>>();
        let in_use = self.pool.len() - self.free.len();
        if in_use * slot_bytes <= self.wait_bytes {
            return slot;
        }
        self.free.push(slot);
        SHELVED
    }
}
