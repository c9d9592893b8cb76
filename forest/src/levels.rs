//! Level-wise histogram growth: the algorithm of GPU training, and the CPU
//! backend that is its reference.
//!
//! A device is worth asking only for many nodes at once, so a tree grows one
//! level at a time: the backend builds the histograms of a whole level (or
//! of a chunk of it) in one call and moves the rows of all the level's split
//! nodes in another. Everything that decides the tree stays here, in the
//! caller: which features a node draws, the best split, when to stop.
//!
//! What makes any backend grow the same trees, bit for bit:
//! - Sums are integers. Weights are bootstrap draw counts; targets are fixed
//!   point ([`FixedPoint`]), at the finest scale at which a tree's weighted
//!   sums cannot leave an i64. Integer addition gives the same sums in any
//!   order, so a device may add rows in whatever order its threads run.
//! - Purity is decided by target ranks (the index of a row's target among
//!   the distinct targets), whose minimum and maximum over a node are exact.
//! - Each node draws its features from a generator of its own, seeded from
//!   its parent's seed and its side, so no draw depends on the order in
//!   which nodes are visited.
//!
//! The trees differ from `hist`'s, which grows depth first with one
//! generator per tree and f64 sums: the split rules are the same, but the
//! feature draws are not, and sums may differ in their last bits.

use crate::builder::StopRules;
use crate::criterion::{Sums, proxy_improvement_computed};
use crate::hist::{Binned, MAX_BINS, MISSING_BIN};
use crate::importance::{GrownTree, split_decrease};
use crate::rng::{Rng, mix64};
use crate::split::{FEATURE_THRESHOLD, more_rows_left, threshold_between};
use crate::tree::{self, LEAF, Nodes, Test};
use crate::workspace::FeatureDraw;
use alloc::{vec, vec::Vec};

/// Histograms held at once at most, in bytes: a level is asked for in
/// chunks of as many nodes as fit.
const CHUNK_BYTES: usize = 32 << 20;
/// Parents' histograms kept for the next level at most, in bytes: the
/// larger child of a kept parent gets its histogram by subtraction.
const KEEP_BYTES: usize = 32 << 20;
/// A larger child gets its histogram by subtraction only beyond this many
/// in-bag rows: below, adding its rows costs less than subtracting (and
/// keeping) `n_features × MAX_BINS` bins.
const DERIVE_MIN_ROWS: usize = MAX_BINS;

/// Targets as integers: `y · 2^shift`, truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPoint {
    shift: i32,
}

impl FixedPoint {
    /// The finest scale at which `max_weight` draws of the largest target
    /// sum to less than 2^62 in magnitude.
    pub fn new(targets: &[f64], max_weight: u64) -> Self {
        let largest = targets.iter().fold(0.0f64, |m, y| m.max(y.abs()));
        let bound = largest * max_weight.max(1) as f64;
        if bound == 0.0 || !bound.is_finite() {
            return FixedPoint { shift: 0 };
        }
        // bound < 2^(exponent + 1).
        let exponent = ((bound.to_bits() >> 52) & 0x7ff) as i32 - 1023;
        FixedPoint {
            shift: (61 - exponent).clamp(-1022, 1022),
        }
    }

    pub fn quantize(&self, y: f64) -> i64 {
        (y * pow2(self.shift)) as i64
    }

    pub fn value(&self, q: i64) -> f64 {
        q as f64 * pow2(-self.shift)
    }
}

/// 2^e, exactly, for -1022 <= e <= 1023 (shifts stay within ±1022, so
/// that both 2^shift and 2^-shift are normal numbers).
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// One bin of a node's histogram: 16 bytes, as a device holds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Bin {
    /// In-bag rows.
    pub rows: u32,
    /// Their draws.
    pub w: u32,
    /// Their draws × quantized targets.
    pub wy: i64,
}

impl Bin {
    /// A bin from the four u32 words a device and the WIT hold it in:
    /// rows, weight, and the low and high words of `wy`.
    pub fn from_words(w: [u32; 4]) -> Bin {
        Bin {
            rows: w[0],
            w: w[1],
            wy: ((u64::from(w[3]) << 32) | u64::from(w[2])) as i64,
        }
    }
}

/// Where the rows of one node of a level go at the level's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// Split feature, or `LEAF`: the node's rows leave the tree.
    pub feature: u32,
    /// Rows whose bin of `feature` is at most this go left.
    pub last_left: u8,
    /// Rows missing `feature` (bin [`MISSING_BIN`] of a feature with gaps)
    /// go left too.
    pub missing_left: bool,
    /// The children's ids in the next level.
    pub left: u32,
    pub right: u32,
}

impl Move {
    /// Whether a row whose bin of the split feature is `code` goes left.
    #[inline]
    pub fn sends_left(&self, code: u8) -> bool {
        code <= self.last_left || (self.missing_left && code == MISSING_BIN)
    }

    pub const LEAF: Move = Move {
        feature: LEAF,
        last_left: 0,
        missing_left: false,
        left: LEAF,
        right: LEAF,
    };

    /// Nodes in the level after `moves`: children are numbered from 0 in
    /// the order of their parents.
    pub fn next_level_len(moves: &[Move]) -> usize {
        moves
            .iter()
            .filter(|m| m.feature != LEAF)
            .map(|m| m.left.max(m.right) as usize + 1)
            .max()
            .unwrap_or(0)
    }
}

/// What a level needs from where the rows live (the CPU, or a device, which
/// may fail: its error ends the tree).
pub trait LevelBackend {
    type Error;

    /// Starts a tree: `weights[r]` is row `r`'s draw count (0: out of bag),
    /// `wy[r]` its weight times its quantized target; every in-bag row is
    /// at node 0 of level 0.
    fn start_tree(&mut self, weights: &[u32], wy: &[i64]) -> Result<(), Self::Error>;

    /// For each node of the current level in `nodes`, in order, its
    /// histogram (`n_features × MAX_BINS` bins, appended to `hist`); for
    /// each in `ranges_of`, the smallest and largest target rank of its rows
    /// (appended to `ranks`).
    fn histograms(
        &mut self,
        nodes: &[u32],
        ranges_of: &[u32],
        hist: &mut Vec<Bin>,
        ranks: &mut Vec<[u32; 2]>,
    ) -> Result<(), Self::Error>;

    /// Ends the level: the rows of node `i` go where `moves[i]` says.
    fn next_level(&mut self, moves: &[Move]) -> Result<(), Self::Error>;
}

/// The CPU backend: the rows grouped by node, so that a histogram costs
/// the rows of its node only.
pub struct CpuLevels<'b> {
    binned: &'b Binned,
    n_features: usize,
    /// Target rank of every row.
    ranks: &'b [u32],
    weights: Vec<u32>,
    wy: Vec<i64>,
    /// The in-bag rows, grouped by their node in the current level (in
    /// increasing row order within a node).
    order: Vec<u32>,
    /// Node `n`'s rows are `order[start[n]..start[n + 1]]`.
    start: Vec<usize>,
    /// Scratch for regrouping.
    next_node: Vec<u32>,
    scratch: Vec<u32>,
}

impl<'b> CpuLevels<'b> {
    pub fn new(binned: &'b Binned, n_features: usize, ranks: &'b [u32]) -> Self {
        CpuLevels {
            binned,
            n_features,
            ranks,
            weights: Vec::new(),
            wy: Vec::new(),
            order: Vec::new(),
            start: Vec::new(),
            next_node: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// In-bag rows of node `n` of the current level.
    pub fn node_rows(&self, n: u32) -> usize {
        let n = n as usize;
        match (self.start.get(n), self.start.get(n + 1)) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        }
    }

    /// Node `n`'s rows (none for a node beyond the level).
    fn rows_of(&self, n: u32) -> &[u32] {
        let n = n as usize;
        match (self.start.get(n), self.start.get(n + 1)) {
            (Some(&a), Some(&b)) => &self.order[a..b],
            _ => &[],
        }
    }

    /// Adds node `n`'s rows to histogram `h`.
    fn add_node(&self, n: u32, h: &mut [Bin]) {
        let nf = self.n_features;
        for &r in self.rows_of(n) {
            let r = r as usize;
            for (f, &c) in self.binned.row_codes(r, nf).iter().enumerate() {
                let b = &mut h[f * MAX_BINS + c as usize];
                b.rows += 1;
                b.w += self.weights[r];
                b.wy += self.wy[r];
            }
        }
    }

    /// The smallest and largest target rank of node `n`'s rows.
    fn range(&self, n: u32) -> [u32; 2] {
        self.rows_of(n).iter().fold([u32::MAX, 0], |[lo, hi], &r| {
            let rank = self.ranks[r as usize];
            [lo.min(rank), hi.max(rank)]
        })
    }
}

impl LevelBackend for CpuLevels<'_> {
    type Error = core::convert::Infallible;

    fn start_tree(&mut self, weights: &[u32], wy: &[i64]) -> Result<(), Self::Error> {
        self.weights = weights.to_vec();
        self.wy = wy.to_vec();
        self.order.clear();
        self.order
            .extend((0..weights.len() as u32).filter(|&r| weights[r as usize] > 0));
        self.start = vec![0, self.order.len()];
        Ok(())
    }

    fn histograms(
        &mut self,
        nodes: &[u32],
        ranges_of: &[u32],
        hist: &mut Vec<Bin>,
        ranks: &mut Vec<[u32; 2]>,
    ) -> Result<(), Self::Error> {
        let size = self.n_features * MAX_BINS;
        for &n in nodes {
            let first = hist.len();
            hist.resize(first + size, Bin::default());
            self.add_node(n, &mut hist[first..]);
        }
        ranks.extend(ranges_of.iter().map(|&n| self.range(n)));
        Ok(())
    }

    /// Regroups the rows by their next node (a counting sort: stable, so
    /// rows stay in increasing order within a node).
    fn next_level(&mut self, moves: &[Move]) -> Result<(), Self::Error> {
        let nf = self.n_features;
        let n_next = Move::next_level_len(moves);
        self.next_node.clear();
        let mut count = vec![0usize; n_next + 1];
        for (n, m) in moves.iter().enumerate() {
            let rows = self
                .order
                .get(self.start[n]..self.start[n + 1])
                .unwrap_or(&[]);
            for &r in rows {
                let to = if m.feature == LEAF {
                    LEAF
                } else if m.sends_left(self.binned.row_codes(r as usize, nf)[m.feature as usize]) {
                    m.left
                } else {
                    m.right
                };
                if to != LEAF {
                    count[to as usize + 1] += 1;
                }
                self.next_node.push(to);
            }
        }
        for i in 1..count.len() {
            count[i] += count[i - 1];
        }
        self.start = count.clone();
        self.scratch.clear();
        self.scratch.resize(count[n_next], 0);
        for (&r, &to) in self.order.iter().zip(&self.next_node) {
            if to != LEAF {
                self.scratch[count[to as usize]] = r;
                count[to as usize] += 1;
            }
        }
        core::mem::swap(&mut self.order, &mut self.scratch);
        Ok(())
    }
}

/// A device for the large nodes and the CPU for the small ones: a
/// histogram read back from a device costs its full size (`n_features ×
/// 256` bins) however few rows it holds, while the CPU's costs its rows.
/// The CPU side mirrors the device's rows (same moves), and integer sums
/// make the two give the same histograms, so the trees do not change.
///
/// A node's children have no more rows than it has, so once a level has no
/// node for the device, the rest of the tree is the CPU's: the device hears
/// nothing more of it (nor of a tree whose root is small).
pub struct Hybrid<'m, 'b, D> {
    pub device: D,
    /// The caller's CPU backend (its buffers serve tree after tree).
    mirror: &'m mut CpuLevels<'b>,
    /// Nodes with more rows than this go to the device.
    min_rows: usize,
    /// Whether the device follows the current tree.
    active: bool,
}

impl<'m, 'b, D: LevelBackend> Hybrid<'m, 'b, D> {
    pub fn new(device: D, mirror: &'m mut CpuLevels<'b>, min_rows: usize) -> Self {
        Hybrid {
            device,
            mirror,
            min_rows,
            active: false,
        }
    }

    fn on_device(&self, n: u32) -> bool {
        self.active && self.mirror.node_rows(n) > self.min_rows
    }
}

impl<D: LevelBackend> LevelBackend for Hybrid<'_, '_, D> {
    type Error = D::Error;

    fn start_tree(&mut self, weights: &[u32], wy: &[i64]) -> Result<(), D::Error> {
        let Ok(()) = self.mirror.start_tree(weights, wy);
        self.active = self.mirror.node_rows(0) > self.min_rows;
        if self.active {
            self.device.start_tree(weights, wy)?;
        }
        Ok(())
    }

    fn histograms(
        &mut self,
        nodes: &[u32],
        ranges_of: &[u32],
        hist: &mut Vec<Bin>,
        ranks: &mut Vec<[u32; 2]>,
    ) -> Result<(), D::Error> {
        let large = |list: &[u32]| -> Vec<u32> {
            list.iter()
                .copied()
                .filter(|&n| self.on_device(n))
                .collect()
        };
        let (large_nodes, large_ranges) = (large(nodes), large(ranges_of));
        let (mut device_hist, mut device_ranks) = (Vec::new(), Vec::new());
        if !large_nodes.is_empty() || !large_ranges.is_empty() {
            self.device.histograms(
                &large_nodes,
                &large_ranges,
                &mut device_hist,
                &mut device_ranks,
            )?;
        }
        let size = self.mirror.n_features * MAX_BINS;
        let mut from_device = device_hist.chunks_exact(size);
        for &n in nodes {
            match self.on_device(n) {
                true => hist.extend_from_slice(from_device.next().expect("one per large node")),
                false => {
                    let Ok(()) = self.mirror.histograms(&[n], &[], hist, ranks);
                }
            }
        }
        let mut from_device = device_ranks.into_iter();
        for &n in ranges_of {
            match self.on_device(n) {
                true => ranks.push(from_device.next().expect("one per large node")),
                false => ranks.push(self.mirror.range(n)),
            }
        }
        Ok(())
    }

    fn next_level(&mut self, moves: &[Move]) -> Result<(), D::Error> {
        self.active &= (0..moves.len() as u32).any(|n| self.on_device(n));
        let Ok(()) = self.mirror.next_level(moves);
        if self.active {
            self.device.next_level(moves)?;
        }
        Ok(())
    }
}

/// Every row's rank among the distinct targets, in increasing order.
pub fn target_ranks(targets: &[f64]) -> Vec<u32> {
    let mut distinct = targets.to_vec();
    distinct.sort_unstable_by(f64::total_cmp);
    distinct.dedup();
    targets
        .iter()
        .map(|y| distinct.partition_point(|d| d.total_cmp(y).is_lt()) as u32)
        .collect()
}

/// A node of the tree being grown, in the order nodes were made (level by
/// level); `children` are indices into the same list.
#[derive(Debug, Clone, Copy)]
struct Made {
    feature: u32,
    threshold: f32,
    /// No row misses a value here: the side with more rows.
    missing_left: bool,
    value: f64,
    children: Option<(usize, usize)>,
}

/// A node of the current level.
#[derive(Debug, Clone, Copy)]
struct Pending {
    made: usize,
    depth: u32,
    seed: u64,
    /// `Some(k)`: its histogram is its parent's (the `k`-th kept) minus its
    /// sibling's (the other node of its pair: ids `2i` and `2i + 1`).
    derive: Option<usize>,
}

/// A split found by [`LevelGrower::best_split`].
#[derive(Debug, Clone, Copy)]
struct Candidate {
    feature: u32,
    last_left: u8,
    threshold: f32,
    /// Where the node sends rows missing `feature` ([`Split::missing_left`]).
    ///
    /// [`Split::missing_left`]: crate::split::Split::missing_left
    missing_left: bool,
    proxy: f64,
    /// In-bag rows going left.
    left_rows: usize,
    /// Their weight and weighted targets (fixed point).
    left: (u32, i64),
}

/// Grows trees level by level over one forest's binned features.
pub struct LevelGrower<'b> {
    binned: &'b Binned,
    fixed: FixedPoint,
    rules: StopRules,
    n_features: usize,
    max_features: usize,
    /// Nodes per histogram call.
    chunk: usize,
    /// Larger children of more rows than this derive their histograms.
    derive_min_rows: usize,
}

impl<'b> LevelGrower<'b> {
    pub fn new(
        binned: &'b Binned,
        fixed: FixedPoint,
        rules: StopRules,
        n_features: usize,
        max_features: usize,
    ) -> Self {
        let chunk = (CHUNK_BYTES / (n_features * MAX_BINS * size_of::<Bin>())).max(1);
        LevelGrower {
            binned,
            fixed,
            rules,
            n_features,
            max_features,
            chunk,
            derive_min_rows: DERIVE_MIN_ROWS,
        }
    }

    /// Asks for at most `nodes` histograms per call (tests: chunking must
    /// not change a tree).
    #[doc(hidden)]
    pub fn set_chunk(&mut self, nodes: usize) {
        self.chunk = nodes.max(1);
    }

    /// Derives the larger child's histogram only beyond `rows` in-bag rows
    /// (tests: `usize::MAX` builds every histogram, which must not change a
    /// tree).
    #[doc(hidden)]
    pub fn set_derive_min_rows(&mut self, rows: usize) {
        self.derive_min_rows = rows;
    }

    /// Grows a tree over the rows `weights` draws (targets `targets`), its
    /// nodes' seeds drawn from `rng`; the nodes in pre-order.
    pub fn grow<B: LevelBackend>(
        &self,
        backend: &mut B,
        weights: &[u32],
        targets: &[f64],
        rng: &mut Rng,
    ) -> Result<GrownTree, B::Error> {
        let wy: Vec<i64> = weights
            .iter()
            .zip(targets)
            .map(|(&w, &y)| i64::from(w) * self.fixed.quantize(y))
            .collect();
        backend.start_tree(weights, &wy)?;
        let mut made = vec![Made {
            feature: LEAF,
            threshold: 0.0,
            missing_left: false,
            value: 0.0,
            children: None,
        }];
        let mut level = vec![Pending {
            made: 0,
            depth: 0,
            seed: rng.next_u64(),
            derive: None,
        }];
        let mut buf = Buffers::default();
        let mut decrease = vec![0.0; self.n_features];
        while !level.is_empty() {
            let mut moves = Vec::with_capacity(level.len());
            let mut next = Vec::new();
            buf.next_kept.bins.clear();
            // Whole pairs of siblings per chunk.
            let chunk = (self.chunk & !1).max(2);
            for start in (0..level.len()).step_by(chunk) {
                let ids = start as u32..(start + chunk).min(level.len()) as u32;
                let c = self.chunk_histograms(backend, &level, ids.clone(), &mut buf)?;
                for (k, i) in ids.enumerate() {
                    let node = level[i as usize];
                    let range = buf.ranks[k];
                    let size = self.node_bins();
                    let bins = c.bins(i, (&buf.hist, &buf.kept), &mut buf.derived, size);
                    let to = (&mut made, &mut next, &mut decrease[..]);
                    let (m, rows) = self.decide(bins, range, node, to);
                    if m.feature != LEAF && rows[0].max(rows[1]) > self.derive_min_rows {
                        buf.next_kept.keep(bins, &mut next, rows);
                    }
                    moves.push(m);
                }
            }
            backend.next_level(&moves)?;
            level = next;
            core::mem::swap(&mut buf.kept, &mut buf.next_kept);
        }
        Ok(GrownTree {
            nodes: pre_order(&made),
            decrease,
        })
    }

    fn node_bins(&self) -> usize {
        self.n_features * MAX_BINS
    }

    /// Asks `backend` for the histograms of the level's nodes `ids` that
    /// cannot be derived (into `buf.hist`) and the rank ranges of all of
    /// them (`buf.ranks`).
    fn chunk_histograms<B: LevelBackend>(
        &self,
        backend: &mut B,
        level: &[Pending],
        ids: core::ops::Range<u32>,
        buf: &mut Buffers,
    ) -> Result<Chunk, B::Error> {
        let all: Vec<u32> = ids.clone().collect();
        let built: Vec<u32> = ids
            .filter(|&i| level[i as usize].derive.is_none())
            .collect();
        buf.hist.clear();
        buf.ranks.clear();
        backend.histograms(&built, &all, &mut buf.hist, &mut buf.ranks)?;
        let mut slot = vec![usize::MAX; all.len()];
        for (k, &i) in built.iter().enumerate() {
            slot[(i - all[0]) as usize] = k;
        }
        let derive = all.iter().map(|&i| level[i as usize].derive).collect();
        Ok(Chunk {
            first: all[0],
            slot,
            derive,
        })
    }

    /// Makes `node` a leaf or splits it (its children made and queued in
    /// `next`, the split's decrease added to its feature's); where its rows
    /// go. Also the in-bag rows of its children (none for a leaf).
    fn decide(
        &self,
        h: &[Bin],
        [lowest, highest]: [u32; 2],
        node: Pending,
        (made, next, decrease): (&mut Vec<Made>, &mut Vec<Pending>, &mut [f64]),
    ) -> (Move, [usize; 2]) {
        let (rows, w, wy) = h[..MAX_BINS].iter().fold((0usize, 0u32, 0i64), |t, b| {
            (t.0 + b.rows as usize, t.1 + b.w, t.2 + b.wy)
        });
        let total = Sums {
            weight: w,
            sum: self.fixed.value(wy),
        };
        made[node.made].value = total.mean();
        let pure = lowest >= highest;
        if self.rules.is_leaf(rows, f64::from(w), node.depth, pure) {
            return (Move::LEAF, [0; 2]);
        }
        let Some(c) = self.best_split(h, rows, (w, wy), node.seed) else {
            return (Move::LEAF, [0; 2]);
        };
        let left = Sums {
            weight: c.left.0,
            sum: self.fixed.value(c.left.1),
        };
        let gain = split_decrease(total, left);
        if self.rules.weighs_decrease() && !self.rules.decrease_suffices(gain) {
            return (Move::LEAF, [0; 2]);
        }
        decrease[c.feature as usize] += gain;
        let (l, r) = (made.len(), made.len() + 1);
        let child = |side: u64| Pending {
            made: made.len() + side as usize,
            depth: node.depth + 1,
            seed: mix64(node.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(side + 1))),
            derive: None,
        };
        let (left, right) = (child(0), child(1));
        made[node.made] = Made {
            feature: c.feature,
            threshold: c.threshold,
            missing_left: c.missing_left,
            value: total.mean(),
            children: Some((l, r)),
        };
        for _ in 0..2 {
            made.push(Made {
                feature: LEAF,
                threshold: 0.0,
                missing_left: false,
                value: 0.0,
                children: None,
            });
        }
        let ids = (next.len() as u32, next.len() as u32 + 1);
        next.extend([left, right]);
        let m = Move {
            feature: c.feature,
            last_left: c.last_left,
            // Bin MISSING_BIN holds values of a feature without gaps.
            missing_left: c.missing_left && self.binned.has_missing(c.feature as usize),
            left: ids.0,
            right: ids.1,
        };
        (m, [c.left_rows, rows - c.left_rows])
    }

    /// The best split of a node of `n` rows whose integer sums are
    /// `total`, over up to `max_features` non-constant features drawn with
    /// the node's own generator; ties keep the first found.
    fn best_split(&self, h: &[Bin], n: usize, total: (u32, i64), seed: u64) -> Option<Candidate> {
        // An instance per case, as in `hist`.
        match (
            self.rules.min_leaf_weight::<u32>() == 0,
            self.binned.any_missing(),
        ) {
            (true, false) => self.search::<false, false>(h, n, total, seed),
            (true, true) => self.search::<false, true>(h, n, total, seed),
            (false, false) => self.search::<true, false>(h, n, total, seed),
            (false, true) => self.search::<true, true>(h, n, total, seed),
        }
    }

    /// `best_split`, one instance with the `min_weight_fraction_leaf` rule
    /// (`WEIGHED`) and one without, chosen once per node, and one with the
    /// searches of missing values (`MISSING`) for data with gaps (as in
    /// `hist`). Out of line, as `exact`'s.
    #[inline(never)]
    fn search<const WEIGHED: bool, const MISSING: bool>(
        &self,
        h: &[Bin],
        n: usize,
        total: (u32, i64),
        seed: u64,
    ) -> Option<Candidate> {
        let mut rng = Rng::new(seed);
        let mut features: Vec<u32> = (0..self.n_features as u32).collect();
        let mut draw = FeatureDraw::new(&mut features, self.max_features);
        let (mut best, mut best_proxy) = (None, f64::NEG_INFINITY);
        while let Some(f) = draw.next(&mut rng) {
            let bins = &h[f * MAX_BINS..(f + 1) * MAX_BINS];
            let bounds = self.binned.bounds(f);
            let gaps = MISSING && self.binned.has_missing(f);
            let missing = if gaps {
                bins[MISSING_BIN as usize]
            } else {
                Bin::default()
            };
            let values = &bins[..MAX_BINS - usize::from(gaps)];
            let Some(lo) = values.iter().position(|b| b.rows > 0) else {
                continue; // every row misses it: constant
            };
            let hi = values.iter().rposition(|b| b.rows > 0).unwrap_or(lo);
            let m = missing.rows as usize;
            if m == 0 && f64::from(bounds.1[hi]) <= f64::from(bounds.0[lo]) + FEATURE_THRESHOLD {
                continue; // constant in this node: not worth a draw
            }
            draw.counts();
            // `bins` whole: `hi` is a value bin (as in `hist`).
            let none = Bin::default();
            let mut found =
                self.scan::<WEIGHED>(bins, bounds, (lo, hi), (n, none), total, best_proxy);
            if let Some(c) = &mut found {
                c.missing_left = m == 0 && more_rows_left(c.left_rows, n);
            }
            if MISSING && m > 0 {
                let top = found.map_or(best_proxy, |c| c.proxy);
                let apart = (n, missing);
                found = self
                    .missing_apart::<WEIGHED>(bins, bounds, (lo, hi), apart, total, top)
                    .or(found);
            }
            if let Some(c) = found {
                best_proxy = c.proxy;
                best = Some(Candidate {
                    feature: f as u32,
                    ..c
                });
            }
        }
        best
    }

    /// The searches of a feature some of whose node rows (`missing`) miss
    /// it, in `hist`'s order: the missing rows apart (threshold +inf), then
    /// on the left. Out of line, as in `hist`.
    #[inline(never)]
    fn missing_apart<const WEIGHED: bool>(
        &self,
        h: &[Bin],
        bounds: (&[f32], &[f32]),
        (lo, hi): (usize, usize),
        (n, missing): (usize, Bin),
        (tw, twy): (u32, i64),
        best_proxy: f64,
    ) -> Option<Candidate> {
        let m = missing.rows as usize;
        let (min_leaf, min_weight) = (self.rules.min_samples_leaf, self.rules.min_leaf_weight());
        let sums = |w: u32, wy: i64| Sums {
            weight: w,
            sum: self.fixed.value(wy),
        };
        let (kw, kwy) = (tw - missing.w, twy - missing.wy);
        let heavy = |w: u32| !WEIGHED || w >= min_weight;
        let mut best = None;
        let mut top = best_proxy;
        if n - m >= min_leaf && m >= min_leaf && heavy(kw) && heavy(missing.w) {
            let proxy = proxy_improvement_computed(sums(kw, kwy), sums(missing.w, missing.wy));
            if proxy > top {
                top = proxy;
                best = Some(Candidate {
                    feature: 0,
                    last_left: hi as u8,
                    threshold: f32::INFINITY,
                    missing_left: false,
                    proxy,
                    left_rows: n - m,
                    left: (kw, kwy),
                });
            }
        }
        let left = self.scan::<WEIGHED>(h, bounds, (lo, hi), (n, missing), (tw, twy), top);
        left.map(|c| Candidate {
            missing_left: true,
            ..c
        })
        .or(best)
    }

    /// `hist::scan` on integer sums: the best position between two bins
    /// with rows, `base` on the left beside the bins before it, whose proxy
    /// beats `best_proxy` (`WEIGHED`: as there).
    #[inline(always)]
    fn scan<const WEIGHED: bool>(
        &self,
        h: &[Bin],
        (bmin, bmax): (&[f32], &[f32]),
        (lo, hi): (usize, usize),
        (n, base): (usize, Bin),
        (tw, twy): (u32, i64),
        mut best_proxy: f64,
    ) -> Option<Candidate> {
        let min_leaf = self.rules.min_samples_leaf;
        let min_weight = self.rules.min_leaf_weight();
        let sums = |w: u32, wy: i64| Sums {
            weight: w,
            sum: self.fixed.value(wy),
        };
        let mut best = None;
        let (mut rows, mut w, mut wy) = (
            base.rows as usize + h[lo].rows as usize,
            base.w + h[lo].w,
            base.wy + h[lo].wy,
        );
        let mut prev = lo;
        for (b, bin) in h.iter().enumerate().take(hi + 1).skip(lo + 1) {
            if bin.rows == 0 {
                continue;
            }
            if rows > n - min_leaf {
                break;
            }
            let (a, v) = (bmax[prev], bmin[b]);
            let heavy = !WEIGHED || w >= min_weight && tw - w >= min_weight;
            if rows >= min_leaf && heavy && f64::from(v) > f64::from(a) + FEATURE_THRESHOLD {
                let proxy = proxy_improvement_computed(sums(w, wy), sums(tw - w, twy - wy));
                if proxy > best_proxy {
                    best_proxy = proxy;
                    best = Some(Candidate {
                        feature: 0,
                        last_left: prev as u8,
                        threshold: threshold_between(a, v),
                        missing_left: false,
                        proxy,
                        left_rows: rows,
                        left: (w, wy),
                    });
                }
            }
            rows += bin.rows as usize;
            w += bin.w;
            wy += bin.wy;
            prev = b;
        }
        best
    }
}

/// Histograms of a level's split nodes, kept for the next level.
#[derive(Default)]
struct Kept {
    bins: Vec<Bin>,
}

impl Kept {
    /// Keeps a split node's histogram `bins` if it fits, so that the larger
    /// of its children (the last two of `next`, of `rows` in-bag rows) gets
    /// its own by subtraction: integers, so exactly the one built from its
    /// rows.
    fn keep(&mut self, bins: &[Bin], next: &mut [Pending], rows: [usize; 2]) {
        if (self.bins.len() + bins.len()) * size_of::<Bin>() > KEEP_BYTES {
            return;
        }
        let k = self.bins.len() / bins.len();
        self.bins.extend_from_slice(bins);
        let n = next.len();
        let larger = if rows[0] > rows[1] { n - 2 } else { n - 1 };
        next[larger].derive = Some(k);
    }
}

/// A tree's working memory, reused from level to level.
#[derive(Default)]
struct Buffers {
    /// The current chunk's built histograms and rank ranges.
    hist: Vec<Bin>,
    ranks: Vec<[u32; 2]>,
    /// The last derived histogram.
    derived: Vec<Bin>,
    /// Parents' histograms for this level and, being filled, the next.
    kept: Kept,
    next_kept: Kept,
}

/// Where a chunk's histograms are.
struct Chunk {
    /// The chunk's first node id.
    first: u32,
    /// Per node of the chunk: its place among the built histograms, or
    /// `usize::MAX`.
    slot: Vec<usize>,
    /// Per node of the chunk: the kept parent histogram it derives from.
    derive: Vec<Option<usize>>,
}

impl Chunk {
    /// Node `i`'s histogram: built (in `hist`), or its parent's (in
    /// `kept`) minus its sibling's, made in `derived`.
    fn bins<'a>(
        &self,
        i: u32,
        (hist, kept): (&'a [Bin], &'a Kept),
        derived: &'a mut Vec<Bin>,
        size: usize,
    ) -> &'a [Bin] {
        let k = (i - self.first) as usize;
        let Some(parent) = self.derive[k] else {
            return &hist[self.slot[k] * size..][..size];
        };
        let parent = &kept.bins[parent * size..][..size];
        let sibling = &hist[self.slot[k ^ 1] * size..][..size];
        derived.clear();
        derived.extend(parent.iter().zip(sibling).map(|(p, s)| Bin {
            rows: p.rows - s.rows,
            w: p.w - s.w,
            wy: p.wy - s.wy,
        }));
        derived
    }
}

/// The nodes `made` level by level, renumbered in pre-order (left child
/// first), as every model stores them.
fn pre_order(made: &[Made]) -> Nodes {
    tree::pre_order(made.len(), |i| {
        let m = made[i];
        let test = Test {
            feature: m.feature,
            threshold: m.threshold,
            missing_left: m.missing_left,
        };
        let split = m.children.map(|children| (test, children));
        (m.value, split)
    })
}
