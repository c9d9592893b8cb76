//! Impurity-based feature importances, as scikit-learn's
//! `feature_importances_`: each split adds the weighted squared-error
//! decrease it brings to its feature; a tree's decreases are normalised to
//! sum to 1, averaged over the trees that split, and normalised again.
//!
//! scikit-learn divides each tree's sums by its root's weight before
//! normalising; the normalisation cancels that division, so a tree keeps its
//! raw sums ([`GrownTree::decrease`]).

use alloc::vec;
use alloc::vec::Vec;

use crate::criterion::{Sums, Weight};
use crate::tree::Nodes;

/// A grown tree: its nodes, and per feature the weighted squared-error
/// decrease its splits on that feature bring.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrownTree {
    pub nodes: Nodes,
    pub decrease: Vec<f64>,
}

/// The weighted squared-error decrease of splitting a node of sums
/// `parent` into `left` and the rest: `S_l²/W_l + S_r²/W_r − S²/W`, computed
/// as `W_l·W_r/W·(m_l − m_r)²`, which neither goes negative nor cancels when
/// the targets' mean is large against their spread.
pub fn split_decrease<W: Weight>(parent: Sums<W>, left: Sums<W>) -> f64 {
    let right = parent.minus(left);
    let zero = W::default();
    if left.weight == zero || right.weight == zero {
        return 0.0;
    }
    weighted_decrease(
        (left.weight.to_f64(), left.mean()),
        (right.weight.to_f64(), right.mean()),
    )
}

/// [`split_decrease`] from each side's weight and mean.
pub fn weighted_decrease((w_l, m_l): (f64, f64), (w_r, m_r): (f64, f64)) -> f64 {
    let d = m_l - m_r;
    w_l * w_r / (w_l + w_r) * d * d
}

/// scikit-learn's forest importances from each tree's node count and
/// decreases (`n_features` each): trees of one node are left out, each
/// other tree's decreases are divided by their sum (when positive), the
/// results averaged and divided by their sum. All zeros when no tree splits.
pub fn forest_importances<'a>(
    trees: impl IntoIterator<Item = (usize, &'a [f64])>,
    n_features: usize,
) -> Vec<f64> {
    let mut mean = vec![0.0; n_features];
    let mut n_trees = 0usize;
    for (n_nodes, decrease) in trees {
        if n_nodes <= 1 {
            continue;
        }
        n_trees += 1;
        let total: f64 = decrease.iter().sum();
        let scale = if total > 0.0 { 1.0 / total } else { 1.0 };
        for (m, d) in mean.iter_mut().zip(decrease) {
            *m += d * scale;
        }
    }
    if n_trees == 0 {
        return mean;
    }
    for m in mean.iter_mut() {
        *m /= n_trees as f64;
    }
    let total: f64 = mean.iter().sum();
    if total > 0.0 {
        for m in mean.iter_mut() {
            *m /= total;
        }
    }
    mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrease_is_the_drop_in_squared_error() {
        // Targets 1, 2 (left) and 6 (right): SSE 14 → 0.5 + 0.
        let parent = Sums {
            weight: 3,
            sum: 9.0,
        };
        let left = Sums {
            weight: 2,
            sum: 3.0,
        };
        assert!((split_decrease(parent, left) - 13.5).abs() < 1e-12);
        assert_eq!(split_decrease(parent, Sums::default()), 0.0);
    }

    #[test]
    fn forest_importances_average_normalised_trees() {
        let a = [3.0, 1.0];
        let b = [0.0, 5.0];
        let stump = [7.0, 0.0];
        let imp = forest_importances([(3, &a[..]), (5, &b[..]), (1, &stump[..])], 2);
        assert_eq!(imp, vec![0.375, 0.625]);
        assert_eq!(forest_importances([(1, &stump[..])], 2), vec![0.0, 0.0]);
    }
}
