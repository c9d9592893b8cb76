//! scikit-learn's `MSE` criterion (`sklearn/tree/_criterion.pyx`,
//! `RegressionCriterion` and `MSE`) for one output, with the same order of
//! floating-point operations: the split search compares these sums, so a
//! different rounding could pick a different split.

/// The rows a criterion sums over: targets and per-row weights (bootstrap
/// counts, or 1.0 for every row).
#[derive(Clone, Copy)]
pub(super) struct Rows<'a> {
    pub y: &'a [f64],
    pub w: &'a [f64],
}

#[derive(Debug, Default, Clone)]
pub(super) struct Mse {
    start: usize,
    pos: usize,
    end: usize,
    weighted_n_samples: f64,
    pub weighted_n_node_samples: f64,
    pub weighted_n_left: f64,
    pub weighted_n_right: f64,
    sq_sum_total: f64,
    sum_total: f64,
    sum_left: f64,
    sum_right: f64,
}

impl Mse {
    /// `RegressionCriterion.init` on `samples[start..end]`, then `reset`.
    pub fn init(
        &mut self,
        rows: Rows,
        weighted_n_samples: f64,
        samples: &[u32],
        start: usize,
        end: usize,
    ) {
        self.start = start;
        self.end = end;
        self.weighted_n_samples = weighted_n_samples;
        self.weighted_n_node_samples = 0.0;
        self.sq_sum_total = 0.0;
        self.sum_total = 0.0;
        for &i in &samples[start..end] {
            let (w, y) = (rows.w[i as usize], rows.y[i as usize]);
            let w_y = w * y;
            self.sum_total += w_y;
            self.sq_sum_total += w_y * y;
            self.weighted_n_node_samples += w;
        }
        self.reset();
    }

    /// Position at `start`: everything on the right.
    pub fn reset(&mut self) {
        self.pos = self.start;
        self.sum_left = 0.0;
        self.sum_right = self.sum_total;
        self.weighted_n_left = 0.0;
        self.weighted_n_right = self.weighted_n_node_samples;
    }

    /// Position at `end`: everything on the left.
    fn reverse_reset(&mut self) {
        self.pos = self.end;
        self.sum_right = 0.0;
        self.sum_left = self.sum_total;
        self.weighted_n_right = 0.0;
        self.weighted_n_left = self.weighted_n_node_samples;
    }

    /// Moves `samples[pos..new_pos]` to the left, summing from whichever
    /// side has fewer rows to visit (from `end` backwards after a
    /// `reverse_reset` when that is shorter).
    pub fn update(&mut self, rows: Rows, samples: &[u32], new_pos: usize) {
        let pos = self.pos;
        if new_pos - pos <= self.end - new_pos {
            for &i in &samples[pos..new_pos] {
                let w = rows.w[i as usize];
                self.sum_left += w * rows.y[i as usize];
                self.weighted_n_left += w;
            }
        } else {
            self.reverse_reset();
            for &i in samples[new_pos..self.end].iter().rev() {
                let w = rows.w[i as usize];
                self.sum_left -= w * rows.y[i as usize];
                self.weighted_n_left -= w;
            }
        }
        self.weighted_n_right = self.weighted_n_node_samples - self.weighted_n_left;
        self.sum_right = self.sum_total - self.sum_left;
        self.pos = new_pos;
    }

    pub fn node_impurity(&self) -> f64 {
        let mean = self.sum_total / self.weighted_n_node_samples;
        self.sq_sum_total / self.weighted_n_node_samples - mean * mean
    }

    /// `sum_left² / w_left + sum_right² / w_right`; the larger the better.
    pub fn proxy_impurity_improvement(&self) -> f64 {
        // sklearn adds each square to 0.0 first: exact, so left out.
        self.sum_left * self.sum_left / self.weighted_n_left
            + self.sum_right * self.sum_right / self.weighted_n_right
    }

    /// (left, right) impurities at the current position.
    pub fn children_impurity(&self, rows: Rows, samples: &[u32]) -> (f64, f64) {
        let mut sq_sum_left = 0.0;
        for &i in &samples[self.start..self.pos] {
            let (w, y) = (rows.w[i as usize], rows.y[i as usize]);
            sq_sum_left += w * y * y;
        }
        let sq_sum_right = self.sq_sum_total - sq_sum_left;
        let mean_left = self.sum_left / self.weighted_n_left;
        let mean_right = self.sum_right / self.weighted_n_right;
        (
            sq_sum_left / self.weighted_n_left - mean_left * mean_left,
            sq_sum_right / self.weighted_n_right - mean_right * mean_right,
        )
    }

    /// `Criterion.impurity_improvement`, the weighted decrease of impurity.
    pub fn impurity_improvement(&self, parent: f64, left: f64, right: f64) -> f64 {
        let wn = self.weighted_n_node_samples;
        (wn / self.weighted_n_samples)
            * (parent - (self.weighted_n_right / wn * right) - (self.weighted_n_left / wn * left))
    }

    /// The node's weighted mean target.
    pub fn node_value(&self) -> f64 {
        self.sum_total / self.weighted_n_node_samples
    }
}
