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
//! Under `auto`, a node of at most [`AUTO_EXACT_ROWS`] rows grows the rest of
//! its subtree with exact splits, its rows sorted per feature once.

use alloc::{vec, vec::Vec};

use crate::builder::{self, Limits, Place};
use crate::criterion::{Sums, proxy_improvement_computed};
use crate::rng::Rng;
use crate::splitter::Dense;
use crate::splitter::{FEATURE_THRESHOLD, Split, Splitter, threshold_between};
use crate::tree::{LEAF, Nodes};

/// Bins per feature at most (codes are u8).
pub const MAX_BINS: usize = 256;

/// Under `auto`, nodes with at most this many in-bag rows use exact splits.
/// Measured with `examples/splitter_crossover.rs` (friedman1, 100 000 rows ×
/// 10 features, 20 trees of depth 16, native, one thread, median of 3; exact
/// subtrees sort integer keys):
///
/// | splitter     | time    | test MSE |
/// |--------------|---------|----------|
/// | exact        | 1340 ms | 0.5055   |
/// | hist         | 3222 ms | 0.4979   |
/// | auto ≤ 64    | 1047 ms | 0.4982   |
/// | auto ≤ 128   |  939 ms | 0.5028   |
/// | auto ≤ 256   |  911 ms | 0.5058   |
/// | auto ≤ 512   |  918 ms | 0.5055   |
/// | auto ≤ 1024  |  978 ms | 0.5056   |
/// | auto ≤ 2048  | 1046 ms | 0.5099   |
/// | auto ≤ 8192  | 1183 ms | 0.5164   |
///
/// Histograms win on large nodes; on small ones scanning 256 bins per
/// feature (and subtracting them) costs more than an exact scan of the rows.
/// 256 and 512 are equal within the noise; 512 keeps exact's test MSE.
pub const AUTO_EXACT_ROWS: usize = 512;

/// The features of one forest, quantized.
#[derive(Debug, Clone, Default)]
pub struct Binned {
    /// Row-major `n_rows × n_features` bin codes: a row's codes share a
    /// cache line when its histogram entries are added.
    pub codes: Vec<u8>,
    /// Per feature, `MAX_BINS` entries: smallest and largest training value
    /// in each bin (unused bins: +inf / -inf).
    pub bin_min: Vec<f32>,
    pub bin_max: Vec<f32>,
}

impl Binned {
    /// Quantizes row-major `values` (`n_rows × n_features`).
    pub fn new(values: &[f32], n_rows: usize, n_features: usize) -> Binned {
        let mut codes = vec![0u8; n_rows * n_features];
        let mut bin_min = vec![f32::INFINITY; MAX_BINS * n_features];
        let mut bin_max = vec![f32::NEG_INFINITY; MAX_BINS * n_features];
        let mut sorted = Vec::with_capacity(n_rows);
        for f in 0..n_features {
            let col = || values.iter().skip(f).step_by(n_features);
            sorted.clear();
            sorted.extend(col());
            sorted.sort_unstable_by(f32::total_cmp);
            // Upper bound (largest value) of every bin, in increasing order.
            let mut uppers: Vec<f32> = Vec::with_capacity(MAX_BINS);
            let distinct = 1 + sorted.windows(2).filter(|w| w[0] != w[1]).count();
            if distinct <= MAX_BINS {
                uppers.extend(
                    sorted
                        .iter()
                        .enumerate()
                        .filter(|&(i, v)| sorted.get(i + 1) != Some(v))
                        .map(|(_, &v)| v),
                );
            } else {
                // Close a bin at the end of a run of equal values once it
                // holds its share of the rows not yet binned; the last bin
                // takes whatever is left, so there are never more than 256.
                let (mut i, mut in_bin, mut remaining) = (0, 0, n_rows);
                while i < n_rows {
                    let mut j = i + 1;
                    while j < n_rows && sorted[j] == sorted[i] {
                        j += 1;
                    }
                    in_bin += j - i;
                    let share = remaining.div_ceil(MAX_BINS - uppers.len());
                    if in_bin >= share || j == n_rows {
                        uppers.push(sorted[j - 1]);
                        remaining -= in_bin;
                        in_bin = 0;
                    }
                    i = j;
                }
            }
            let (lo, hi) = (
                &mut bin_min[f * MAX_BINS..(f + 1) * MAX_BINS],
                &mut bin_max[f * MAX_BINS..(f + 1) * MAX_BINS],
            );
            for (r, &v) in col().enumerate() {
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
        }
    }
}

/// One bin of a node's histogram.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bin {
    /// In-bag rows (each counted once).
    rows: u32,
    /// Their bootstrap weights and weighted targets.
    sums: Sums,
}

/// Buffers of the histogram splitter, reused across nodes and trees.
#[derive(Debug, Default)]
pub struct HistState {
    /// In-bag row ids; a node owns a contiguous range.
    rows: Vec<u32>,
    scratch: Vec<u32>,
    /// Histograms (`n_features × MAX_BINS` bins each), by slot.
    pool: Vec<Vec<Bin>>,
    free: Vec<usize>,
}

impl HistState {
    fn take_slot(&mut self, len: usize) -> usize {
        match self.free.pop() {
            Some(s) => s,
            None => {
                self.pool.push(vec![Bin::default(); len]);
                self.pool.len() - 1
            }
        }
    }
}

struct Pending {
    start: usize,
    end: usize,
    place: Place,
    /// Histogram slot; `None` for nodes that go exact.
    hist: Option<usize>,
}

/// Fills `out` with the histogram of `rows`.
fn histogram(out: &mut [Bin], rows: &[u32], sp: &Splitter, binned: &Binned) {
    out.iter_mut().for_each(|b| *b = Bin::default());
    let nf = sp.n_features;
    for &r in rows {
        let r = r as usize;
        let (w, wy) = (sp.weighted[r].w, sp.weighted[r].wy);
        let codes = &binned.codes[r * nf..(r + 1) * nf];
        for (f, &c) in codes.iter().enumerate() {
            let b = &mut out[f * MAX_BINS + c as usize];
            b.rows += 1;
            b.sums.add(w, wy);
        }
    }
}

/// Grows one tree with histogram splits; under `auto` (`exact_rows` > 0)
/// small nodes continue with exact splits.
pub fn build(
    sp: &mut Splitter,
    binned: &Binned,
    limits: &Limits,
    rng: &mut Rng,
    exact_rows: usize,
) -> Nodes {
    sp.start_weights();
    let mut st = core::mem::take(&mut sp.hist);
    st.rows.clear();
    st.rows
        .extend((0..sp.weighted.len() as u32).filter(|&r| sp.weighted[r as usize].w > 0));
    st.free = (0..st.pool.len()).collect();
    let len = sp.n_features * MAX_BINS;
    let n = st.rows.len();
    let mut nodes = Nodes::default();
    let mut dense = Dense::default();
    let root_hist = (n > exact_rows).then(|| {
        let slot = st.take_slot(len);
        histogram(&mut st.pool[slot], &st.rows, sp, binned);
        slot
    });
    let mut stack = vec![Pending {
        start: 0,
        end: n,
        place: Place::ROOT,
        hist: root_hist,
    }];
    while let Some(p) = stack.pop() {
        let Some(slot) = p.hist else {
            // A small node under auto: exact splits from here down, on a
            // dense copy of its rows.
            let rows = &st.rows[p.start..p.end];
            dense.gather(sp, rows);
            let mut inner = dense.splitter(sp);
            builder::grow(&mut inner, &mut nodes, rows.len(), p.place, limits, rng);
            sp.features.copy_from_slice(&inner.features);
            continue;
        };
        let rows = &st.rows[p.start..p.end];
        let (sums, pure) = node_sums(sp, rows);
        let n = rows.len();
        let split = if limits.is_leaf(n, p.place.depth, pure) {
            None
        } else {
            best_split(sp, binned, &st.pool[slot], n, sums, rng)
        };
        let id = match &split {
            Some((s, _)) => nodes.push(s.feature, s.threshold, LEAF, LEAF, sums.mean()),
            None => nodes.push_leaf(sums.mean()),
        };
        p.place.link(&mut nodes, id);
        let Some((split, last_left_bin)) = split else {
            st.free.push(slot);
            continue;
        };
        let mid = p.start + split.n_left;
        partition(
            &mut st,
            binned,
            sp.weighted.len(),
            p.start,
            p.end,
            split.feature as usize,
            last_left_bin,
        );
        let (left_place, right_place) = p.place.children(id);
        let (left_n, right_n) = (mid - p.start, p.end - mid);
        let wants = |n: usize| n > exact_rows;
        let (mut left_hist, mut right_hist) = (None, None);
        if wants(left_n) || wants(right_n) {
            // The smaller child's histogram from its rows; the larger's by
            // subtraction, reusing the parent's slot.
            let small_is_left = left_n <= right_n;
            let (s0, s1) = if small_is_left {
                (p.start, mid)
            } else {
                (mid, p.end)
            };
            let small = st.take_slot(len);
            let small_rows = core::mem::take(&mut st.rows);
            histogram(&mut st.pool[small], &small_rows[s0..s1], sp, binned);
            st.rows = small_rows;
            let (parent, child) = two_mut(&mut st.pool, slot, small);
            for (pb, cb) in parent.iter_mut().zip(child.iter()) {
                pb.rows -= cb.rows;
                pb.sums = pb.sums.minus(cb.sums);
            }
            let (small_slot, large_slot) = (small, slot);
            let (small_wants, large_wants) = if small_is_left {
                (wants(left_n), wants(right_n))
            } else {
                (wants(right_n), wants(left_n))
            };
            let small_keep = small_wants.then_some(small_slot);
            let large_keep = large_wants.then_some(large_slot);
            if !small_wants {
                st.free.push(small_slot);
            }
            if !large_wants {
                st.free.push(large_slot);
            }
            if small_is_left {
                (left_hist, right_hist) = (small_keep, large_keep);
            } else {
                (left_hist, right_hist) = (large_keep, small_keep);
            }
        } else {
            st.free.push(slot);
        }
        stack.push(Pending {
            start: mid,
            end: p.end,
            place: right_place,
            hist: right_hist,
        });
        stack.push(Pending {
            start: p.start,
            end: mid,
            place: left_place,
            hist: left_hist,
        });
    }
    sp.hist = st;
    nodes
}

fn two_mut(pool: &mut [Vec<Bin>], a: usize, b: usize) -> (&mut [Bin], &mut [Bin]) {
    debug_assert_ne!(a, b);
    if a < b {
        let (x, y) = pool.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = pool.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

/// Weighted target sums of a node's rows, and whether its targets are all equal.
fn node_sums(sp: &Splitter, rows: &[u32]) -> (Sums, bool) {
    let mut sums = Sums::default();
    let first = sp.targets[rows[0] as usize];
    let mut pure = true;
    for &r in rows {
        let r = r as usize;
        pure &= sp.targets[r] == first;
        sums.add(sp.weighted[r].w, sp.weighted[r].wy);
    }
    (sums, pure)
}

/// The best split over up to `max_features` non-constant features, drawn
/// exactly as the exact splitter draws them; also the last bin going left.
fn best_split(
    sp: &mut Splitter,
    binned: &Binned,
    hist: &[Bin],
    n: usize,
    total: Sums,
    rng: &mut Rng,
) -> Option<(Split, u8)> {
    let min_leaf = sp.min_samples_leaf;
    let nf = sp.n_features;
    let mut best: Option<(Split, u8)> = None;
    let mut best_proxy = f64::NEG_INFINITY;
    let mut visited = 0;
    for i in 0..nf {
        if visited >= sp.max_features {
            break;
        }
        let j = i + rng.below((nf - i) as u64) as usize;
        sp.features.swap(i, j);
        let f = sp.features[i] as usize;
        let h = &hist[f * MAX_BINS..(f + 1) * MAX_BINS];
        let (bmin, bmax) = (
            &binned.bin_min[f * MAX_BINS..(f + 1) * MAX_BINS],
            &binned.bin_max[f * MAX_BINS..(f + 1) * MAX_BINS],
        );
        let Some(lo) = h.iter().position(|b| b.rows > 0) else {
            continue;
        };
        let hi = h.iter().rposition(|b| b.rows > 0).unwrap_or(lo);
        if f64::from(bmax[hi]) <= f64::from(bmin[lo]) + FEATURE_THRESHOLD {
            continue; // constant in this node: not worth a draw
        }
        visited += 1;
        let mut left = h[lo].sums;
        let mut left_rows = h[lo].rows as usize;
        let mut prev = lo;
        for (b, bin) in h.iter().enumerate().take(hi + 1).skip(lo + 1) {
            if bin.rows == 0 {
                continue;
            }
            if left_rows > n - min_leaf {
                break;
            }
            let (a, v) = (bmax[prev], bmin[b]);
            if left_rows >= min_leaf && f64::from(v) > f64::from(a) + FEATURE_THRESHOLD {
                let proxy = proxy_improvement_computed(left, total.minus(left));
                if proxy > best_proxy {
                    best_proxy = proxy;
                    best = Some((
                        Split {
                            feature: f as u32,
                            n_left: left_rows,
                            threshold: threshold_between(a, v),
                        },
                        prev as u8,
                    ));
                }
            }
            left_rows += bin.rows as usize;
            left.add(bin.sums.weight, bin.sums.sum);
            prev = b;
        }
    }
    best
}

/// Moves the rows with `code <= last_left` to the front of `start..end`,
/// keeping both sides in order (branch-free, as the exact partition).
fn partition(
    st: &mut HistState,
    binned: &Binned,
    n_rows: usize,
    start: usize,
    end: usize,
    feature: usize,
    last_left: u8,
) {
    let nf = binned.codes.len() / n_rows.max(1);
    let seg = &mut st.rows[start..end];
    st.scratch.resize(seg.len(), 0);
    let (mut l, mut k) = (0, 0);
    for i in 0..seg.len() {
        let r = seg[i];
        let g = usize::from(binned.codes[r as usize * nf + feature] <= last_left);
        seg[l] = r;
        st.scratch[k] = r;
        l += g;
        k += 1 - g;
    }
    seg[l..].copy_from_slice(&st.scratch[..k]);
}
