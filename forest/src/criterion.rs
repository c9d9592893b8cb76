//! Squared-error criterion (scikit-learn's `MSE` criterion, single output).

/// Weighted sums of the targets of a set of rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sums {
    /// Σ w (bootstrap draw counts).
    pub weight: f64,
    /// Σ w·y.
    pub sum: f64,
}

impl Sums {
    #[inline]
    pub fn add(&mut self, w: f64, y: f64) {
        self.weight += w;
        self.sum += w * y;
    }

    #[inline]
    pub fn minus(self, other: Sums) -> Sums {
        Sums {
            weight: self.weight - other.weight,
            sum: self.sum - other.sum,
        }
    }

    pub fn mean(self) -> f64 {
        self.sum / self.weight
    }
}

/// sklearn's `proxy_impurity_improvement`: for a fixed parent, ranking splits by
/// `sum_l²/w_l + sum_r²/w_r` ranks them exactly as the weighted impurity
/// decrease does, at a fraction of the cost.
#[inline]
pub fn proxy_improvement(left: Sums, right: Sums) -> f64 {
    left.sum * left.sum / left.weight + right.sum * right.sum / right.weight
}
