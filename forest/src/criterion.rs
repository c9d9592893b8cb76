//! Squared-error criterion (scikit-learn's `MSE` criterion, single output).

use alloc::{format, string::String};

/// Largest `max |target| × rows` training accepts (rows, or a tree's total
/// weight when sample weights or more draws than rows make it larger: the
/// trainer checks that). A tree's weights add up to at most that, so every
/// weighted sum of a node stays below this, its square below 1e300, and every proxy is a finite number: the
/// split scan needs no NaN or infinity guard (a check on every position;
/// its cost is in docs/performance.md), and no leaf mean overflows.
pub const MAX_TARGET_SUM: f64 = 1e150;

/// The largest |target| accepted with `n_rows` rows.
pub fn target_limit(n_rows: usize) -> f64 {
    MAX_TARGET_SUM / n_rows.max(1) as f64
}

/// The first row whose target is beyond [`target_limit`], if any.
pub fn first_target_beyond_limit(targets: &[f64]) -> Option<usize> {
    let limit = target_limit(targets.len());
    targets.iter().position(|y| y.abs() > limit)
}

/// Why such a target is refused (for messages that name the row their own way).
pub fn target_range_text(n_rows: usize) -> String {
    format!(
        "with {n_rows} rows, targets must lie within ±{:.3e} (beyond, squared-error sums overflow): scale the target down",
        target_limit(n_rows)
    )
}

/// A row's weight in a tree: its bootstrap draw count (`u32`: with
/// bootstrap, sample weights only choose the draws, as in scikit-learn >=
/// 1.9), or its sample weight (`f64`: `bootstrap = false` with sample
/// weights). The split searches are instantiated for each, so the integer
/// path keeps its table of inverses and pays nothing for real weights.
pub trait Weight:
    Copy
    + Default
    + PartialOrd
    + core::fmt::Debug
    + core::ops::Add<Output = Self>
    + core::ops::Sub<Output = Self>
    + core::ops::AddAssign
    + Send
    + Sync
    + 'static
{
    /// A draw's weight (what a bootstrap draw adds to its row).
    const ONE: Self;

    fn to_f64(self) -> f64;

    /// `1/self`: `table[self]` for counts (`table[k] = 1/k`, `table[0] = 0`),
    /// computed for real weights (which never meet a zero: rows of zero
    /// weight take no part in a tree).
    fn inverse(self, table: &[f64]) -> f64;

    /// The inverse table's part that weights up to `total` index (counts;
    /// cut where the scan indexes it, so that one bounds check covers both
    /// sides), or nothing (real weights need none).
    fn table_upto(table: &[f64], total: Self) -> &[f64];

    /// The size of the inverse table weights adding up to `total` need.
    fn table_len(total: Self) -> usize;

    /// The least weight `w` with `w >= limit` exactly when a weight of this
    /// type is `>= limit` (counts: ⌈limit⌉; real weights: `limit`).
    fn at_least(limit: f64) -> Self;

    /// The part of `need` not yet covered by `have` (0 if covered).
    #[inline]
    fn still_needed(need: Self, have: Self) -> Self {
        if have >= need {
            Self::default()
        } else {
            need - have
        }
    }
}

impl Weight for u32 {
    const ONE: u32 = 1;

    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    #[inline(always)]
    fn inverse(self, table: &[f64]) -> f64 {
        table[self as usize]
    }

    #[inline(always)]
    fn table_upto(table: &[f64], total: u32) -> &[f64] {
        &table[..=total as usize]
    }

    fn table_len(total: u32) -> usize {
        total as usize + 1
    }

    fn at_least(limit: f64) -> u32 {
        // `as` truncates (no `ceil` in `no_std`); at most half a tree's
        // draws, so the step up cannot overflow.
        let w = limit as u32;
        if f64::from(w) < limit { w + 1 } else { w }
    }
}

impl Weight for f64 {
    const ONE: f64 = 1.0;

    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }

    /// `1.0 / self`, as the table holds it for counts: a count given as a
    /// real weight gives the same bits.
    #[inline(always)]
    fn inverse(self, _: &[f64]) -> f64 {
        1.0 / self
    }

    #[inline(always)]
    fn table_upto(_: &[f64], _: f64) -> &[f64] {
        &[]
    }

    fn table_len(_: f64) -> usize {
        0
    }

    fn at_least(limit: f64) -> f64 {
        limit
    }
}

/// Weighted sums of the targets of a set of rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sums<W = u32> {
    /// Σ w.
    pub weight: W,
    /// Σ w·y.
    pub sum: f64,
}

impl<W: Weight> Sums<W> {
    #[inline]
    pub fn add(&mut self, w: W, wy: f64) {
        self.weight += w;
        self.sum += wy;
    }

    #[inline]
    pub fn minus(self, other: Sums<W>) -> Sums<W> {
        Sums {
            weight: self.weight - other.weight,
            sum: self.sum - other.sum,
        }
    }

    pub fn mean(self) -> f64 {
        self.sum / self.weight.to_f64()
    }

    /// The same sums with the weight as a real number.
    pub fn real(self) -> Sums<f64> {
        Sums {
            weight: self.weight.to_f64(),
            sum: self.sum,
        }
    }
}

/// sklearn's `proxy_impurity_improvement`: for a fixed parent, ranking splits by
/// `sum_l²/w_l + sum_r²/w_r` ranks them exactly as the weighted impurity
/// decrease does, at a fraction of the cost. `inverse[k]` is `1/k` (counts).
#[inline]
pub fn proxy_improvement<W: Weight>(left: Sums<W>, right: Sums<W>, inverse: &[f64]) -> f64 {
    left.sum * left.sum * left.weight.inverse(inverse)
        + right.sum * right.sum * right.weight.inverse(inverse)
}

/// [`proxy_improvement`] without the table, for the few, large nodes of the
/// histogram splitter: the same bits, since the table holds `1.0 / k`.
#[inline]
pub fn proxy_improvement_computed<W: Weight>(left: Sums<W>, right: Sums<W>) -> f64 {
    left.sum * left.sum * (1.0 / left.weight.to_f64())
        + right.sum * right.sum * (1.0 / right.weight.to_f64())
}
