//! scikit-learn's dense best-split tree: `BestSplitter` with its
//! `DensePartitioner` (`_splitter.pyx`, `_partitioner.pyx`), the
//! `DepthFirstTreeBuilder` and, with `max_leaf_nodes`, the
//! `BestFirstTreeBuilder` (`_tree.pyx`), for one output and data without
//! missing values or monotonic constraints.
//!
//! The splitter's arrays (`samples`, `features`, `constant_features`) carry
//! over from one node to the next exactly as in scikit-learn: the feature
//! permutation left by a node is where the next node's draw starts, and the
//! order a sort leaves tied rows in is the order the criterion sums them.

use alloc::vec;
use alloc::vec::Vec;

use super::TreeSettings;
use super::criterion::{Mse, Rows};
use super::random_state::{RAND_R_MAX, RandomState, rand_int};
use super::sort::simultaneous_sort;
use crate::frontier::Frontier;
use crate::importance::GrownTree;
use crate::tree::{LEAF, Nodes, Test};

/// `FEATURE_THRESHOLD` of `_partitioner.pxd`, a float32 constant: feature
/// values closer than this (in float32 arithmetic) count as equal.
const FEATURE_THRESHOLD: f32 = 1e-7;

/// `np.finfo('double').eps`, `EPSILON` of `_tree.pyx`.
const EPSILON: f64 = f64::EPSILON;

/// `SplitRecord`, the fields used here.
#[derive(Debug, Clone, Copy)]
struct SplitRecord {
    feature: usize,
    pos: usize,
    threshold: f64,
    improvement: f64,
    impurity_left: f64,
    impurity_right: f64,
}

impl SplitRecord {
    /// `_init_split(&record, start_pos)`.
    fn new(start_pos: usize) -> Self {
        SplitRecord {
            feature: 0,
            pos: start_pos,
            threshold: 0.0,
            improvement: f64::NEG_INFINITY,
            impurity_left: f64::INFINITY,
            impurity_right: f64::INFINITY,
        }
    }
}

/// `StackRecord` of the depth-first builder.
#[derive(Debug, Clone, Copy)]
struct StackRecord {
    start: usize,
    end: usize,
    depth: usize,
    /// The parent's node id when this is its right child.
    right_of: Option<usize>,
    impurity: f64,
    n_constant_features: usize,
}

/// `FrontierRecord` of the best-first builder, the fields used here: a
/// node's samples and depth, and its split (`None`: a leaf).
#[derive(Debug, Clone, Copy)]
struct FrontierRecord {
    node_id: usize,
    start: usize,
    end: usize,
    depth: usize,
    split: Option<SplitRecord>,
}

/// One tree's splitter state and scratch, reused from tree to tree.
#[derive(Debug, Default)]
pub(super) struct Splitter {
    samples: Vec<u32>,
    feature_values: Vec<f32>,
    features: Vec<usize>,
    constant_features: Vec<usize>,
    weighted_n_samples: f64,
    rand_r_state: u32,
    criterion: Mse,
    stack: Vec<StackRecord>,
}

/// The training data as the splitter reads it.
pub(super) struct Data<'a> {
    /// Column-major features: `columns[f * n_rows + row]`.
    pub columns: &'a [f32],
    pub n_rows: usize,
    pub n_features: usize,
    pub y: &'a [f64],
}

impl Data<'_> {
    #[inline]
    fn x(&self, row: u32, feature: usize) -> f32 {
        self.columns[feature * self.n_rows + row as usize]
    }
}

impl Splitter {
    /// `Splitter.init`: the splitter's seed is the first draw of a fresh
    /// `RandomState(tree_seed)`; the samples are the rows of nonzero weight.
    fn init(&mut self, data: &Data, weights: &[f64], tree_seed: u32) {
        let mut rs = RandomState::new(tree_seed);
        self.rand_r_state = rs.randint(0, i64::from(RAND_R_MAX)) as u32;
        self.samples.clear();
        self.weighted_n_samples = 0.0;
        for (i, &w) in weights.iter().enumerate() {
            if w != 0.0 {
                self.samples.push(i as u32);
            }
            self.weighted_n_samples += w;
        }
        self.feature_values.clear();
        self.feature_values.resize(self.samples.len(), 0.0);
        self.features.clear();
        self.features.extend(0..data.n_features);
        self.constant_features.clear();
        self.constant_features.resize(data.n_features, 0);
    }

    /// `DepthFirstTreeBuilder.build`, writing the nodes in the order
    /// scikit-learn numbers them: pre-order, left child first.
    pub fn build(
        &mut self,
        data: &Data,
        weights: &[f64],
        settings: &TreeSettings,
        tree_seed: u32,
    ) -> GrownTree {
        self.init(data, weights, tree_seed);
        if let Some(max_leaf_nodes) = settings.max_leaf_nodes {
            return self.build_best_first(data, weights, settings, max_leaf_nodes);
        }
        // scikit-learn's `compute_feature_importances`: per split,
        // `w·impurity − w_l·impurity_l − w_r·impurity_r`, i.e. the split's
        // improvement times the tree's total weight.
        let mut decrease = vec![0.0; data.n_features];
        let rows = Rows {
            y: data.y,
            w: weights,
        };
        let mut nodes = Nodes::default();
        self.stack.clear();
        self.stack.push(StackRecord {
            start: 0,
            end: self.samples.len(),
            depth: 0,
            right_of: None,
            impurity: f64::INFINITY,
            n_constant_features: 0,
        });
        let mut first = true;
        while let Some(rec) = self.stack.pop() {
            let split = self.split_or_leaf(data, rows, settings, &rec, &mut first);
            // After the split search, as scikit-learn: it leaves the node's
            // total sums as they were.
            let value = self.criterion.node_value();
            let node_id = match &split {
                None => nodes.push_leaf(value),
                // The left child is popped next, so it is node id + 1; the
                // right child sets `right` when it is created.
                Some((s, _)) => {
                    let left = nodes.len() as u32 + 1;
                    let test = Test {
                        feature: s.feature as u32,
                        threshold: f32_at_most(s.threshold),
                        missing_left: s.pos - rec.start > rec.end - s.pos,
                    };
                    nodes.push(test, left, LEAF, value)
                }
            };
            if let Some(parent) = rec.right_of {
                nodes.right[parent] = node_id;
            }
            if let Some((s, n_constant_features)) = split {
                decrease[s.feature] += s.improvement * self.weighted_n_samples;
                self.push_children(&rec, &s, node_id as usize, n_constant_features);
            }
        }
        GrownTree { nodes, decrease }
    }

    /// `BestFirstTreeBuilder.build`: nodes numbered as scikit-learn numbers
    /// them (in the order they are made), then put in pre-order.
    fn build_best_first(
        &mut self,
        data: &Data,
        weights: &[f64],
        settings: &TreeSettings,
        max_leaf_nodes: usize,
    ) -> GrownTree {
        let rows = Rows {
            y: data.y,
            w: weights,
        };
        let mut tree = (Nodes::default(), vec![0.0; data.n_features]);
        let mut frontier = Frontier::default();
        let root = (0, self.samples.len(), 0);
        let (key, record) =
            self.add_split_node(data, rows, settings, root, (None, None), &mut tree.0);
        frontier.push(key, record);
        let mut max_split_nodes = max_leaf_nodes - 1;
        while let Some(record) = frontier.pop() {
            let Some(split) = record.split.filter(|_| max_split_nodes > 0) else {
                continue; // made a leaf, as it stays
            };
            max_split_nodes -= 1;
            let (nodes, decrease) = &mut tree;
            let id = record.node_id;
            nodes.feature[id] = split.feature as u32;
            nodes.threshold[id] = f32_at_most(split.threshold);
            nodes.missing_left[id] = split.pos - record.start > record.end - split.pos;
            decrease[split.feature] += split.improvement * self.weighted_n_samples;
            let depth = record.depth + 1;
            let sides = [
                (
                    (record.start, split.pos, depth),
                    (id, true),
                    split.impurity_left,
                ),
                (
                    (split.pos, record.end, depth),
                    (id, false),
                    split.impurity_right,
                ),
            ];
            for (range, parent, impurity) in sides {
                let made = (Some(parent), Some(impurity));
                let (key, child) = self.add_split_node(data, rows, settings, range, made, nodes);
                frontier.push(key, child);
            }
        }
        GrownTree {
            nodes: tree.0.pre_ordered(),
            decrease: tree.1,
        }
    }

    /// `_add_split_node`: makes the node of samples `start..end` at `depth`
    /// (a leaf until it is split), the child of `parent` (`None`: the root,
    /// whose impurity is computed; the others' is their parent's split's),
    /// with its best split and the split's improvement, its priority.
    fn add_split_node(
        &mut self,
        data: &Data,
        rows: Rows,
        settings: &TreeSettings,
        (start, end, depth): (usize, usize, usize),
        (parent, impurity): (Option<(usize, bool)>, Option<f64>),
        nodes: &mut Nodes,
    ) -> (f64, FrontierRecord) {
        // Best-first growth forgets which features were constant.
        let mut n_constant_features = 0;
        let node = (start, end, depth);
        let split = self.node_split(
            data,
            rows,
            settings,
            node,
            impurity,
            &mut n_constant_features,
        );
        let node_id = nodes.push_leaf(self.criterion.node_value()) as usize;
        if let Some((parent, is_left)) = parent {
            nodes.set_child(parent as u32, is_left, node_id as u32);
        }
        let key = split.map_or(0.0, |s| s.improvement);
        let record = FrontierRecord {
            node_id,
            start,
            end,
            depth,
            split,
        };
        (key, record)
    }

    /// The node's best split and its constant-feature count, or `None` for
    /// a leaf: the builder's stopping rules, before and after the search.
    fn split_or_leaf(
        &mut self,
        data: &Data,
        rows: Rows,
        settings: &TreeSettings,
        rec: &StackRecord,
        first: &mut bool,
    ) -> Option<(SplitRecord, usize)> {
        let impurity = (!core::mem::take(first)).then_some(rec.impurity);
        let mut n_constant_features = rec.n_constant_features;
        let node = (rec.start, rec.end, rec.depth);
        let split = self.node_split(
            data,
            rows,
            settings,
            node,
            impurity,
            &mut n_constant_features,
        );
        split.map(|s| (s, n_constant_features))
    }

    /// Both builders' step for the node of samples `start..end` at `depth`:
    /// `node_reset`, the stopping rules, `node_split` and the rules on its
    /// result. `impurity` is the node's (`None`: the root's, computed
    /// here). `None` for a leaf.
    fn node_split(
        &mut self,
        data: &Data,
        rows: Rows,
        settings: &TreeSettings,
        (start, end, depth): (usize, usize, usize),
        impurity: Option<f64>,
        n_constant_features: &mut usize,
    ) -> Option<SplitRecord> {
        self.criterion
            .init(rows, self.weighted_n_samples, &self.samples, start, end);
        let impurity = impurity.unwrap_or_else(|| self.criterion.node_impurity());
        let n_node_samples = end - start;
        let is_leaf = depth >= settings.max_depth
            || n_node_samples < settings.min_samples_split
            || n_node_samples < 2 * settings.min_samples_leaf
            || self.criterion.weighted_n_node_samples < 2.0 * settings.min_weight_leaf
            || impurity <= EPSILON;
        if is_leaf {
            return None;
        }
        let split = self.node_split_best(
            data,
            rows,
            settings,
            start,
            end,
            impurity,
            n_constant_features,
        );
        let is_leaf =
            split.pos >= end || split.improvement + EPSILON < settings.min_impurity_decrease;
        (!is_leaf).then_some(split)
    }

    /// Pushes the children of `node_id`, the right one first so that the
    /// left one is grown (and numbered) next.
    fn push_children(
        &mut self,
        rec: &StackRecord,
        split: &SplitRecord,
        node_id: usize,
        n_constant_features: usize,
    ) {
        self.stack.push(StackRecord {
            start: split.pos,
            end: rec.end,
            depth: rec.depth + 1,
            right_of: Some(node_id),
            impurity: split.impurity_right,
            n_constant_features,
        });
        self.stack.push(StackRecord {
            start: rec.start,
            end: split.pos,
            depth: rec.depth + 1,
            right_of: None,
            impurity: split.impurity_left,
            n_constant_features,
        });
    }

    /// `node_split_best` for the `DensePartitioner` without missing values.
    #[allow(clippy::too_many_arguments)]
    fn node_split_best(
        &mut self,
        data: &Data,
        rows: Rows,
        settings: &TreeSettings,
        start: usize,
        end: usize,
        impurity: f64,
        n_constant_features: &mut usize,
    ) -> SplitRecord {
        let n_features = data.n_features;
        let max_features = settings.max_features;
        let min_samples_leaf = settings.min_samples_leaf;

        let mut best = SplitRecord::new(end);
        let mut current = SplitRecord::new(end);
        let mut best_proxy_improvement = f64::NEG_INFINITY;

        let mut f_i = n_features;
        let mut n_visited_features = 0;
        let mut n_found_constants = 0;
        let mut n_drawn_constants = 0;
        let n_known_constants = *n_constant_features;
        let mut n_total_constants = n_known_constants;

        while f_i > n_total_constants
            && (n_visited_features < max_features
                || n_visited_features <= n_found_constants + n_drawn_constants)
        {
            n_visited_features += 1;
            let mut f_j = rand_int(
                n_drawn_constants,
                f_i - n_found_constants,
                &mut self.rand_r_state,
            );
            if f_j < n_known_constants {
                self.features.swap(n_drawn_constants, f_j);
                n_drawn_constants += 1;
                continue;
            }
            f_j += n_found_constants;
            current.feature = self.features[f_j];

            self.sort_samples_and_feature_values(data, current.feature, start, end);
            let fv = &self.feature_values;
            if fv[end - 1] <= fv[start] + FEATURE_THRESHOLD {
                self.features.swap(f_j, n_total_constants);
                n_found_constants += 1;
                n_total_constants += 1;
                continue;
            }
            f_i -= 1;
            self.features.swap(f_i, f_j);

            self.scan_thresholds(
                rows,
                (min_samples_leaf, settings.min_weight_leaf),
                (start, end),
                &mut current,
                &mut best,
                &mut best_proxy_improvement,
            );
        }

        if best.pos < end {
            self.partition_samples_final(data, &best, start, end);
            self.criterion.reset();
            self.criterion.update(rows, &self.samples, best.pos);
            let (left, right) = self.criterion.children_impurity(rows, &self.samples);
            best.impurity_left = left;
            best.impurity_right = right;
            best.improvement = self.criterion.impurity_improvement(impurity, left, right);
        }

        // The known constants keep their order for the children and
        // siblings; the newly found ones are appended.
        self.features[..n_known_constants]
            .copy_from_slice(&self.constant_features[..n_known_constants]);
        self.constant_features[n_known_constants..n_known_constants + n_found_constants]
            .copy_from_slice(
                &self.features[n_known_constants..n_known_constants + n_found_constants],
            );
        *n_constant_features = n_total_constants;
        best
    }

    /// The `while p < end` loop of `node_split_best` over one sorted
    /// feature: every position between distinct values that leaves
    /// `min_samples_leaf` rows and `min_weight_leaf` weight on each side; a
    /// strictly larger proxy
    /// improvement becomes `best`.
    fn scan_thresholds(
        &mut self,
        rows: Rows,
        (min_samples_leaf, min_weight_leaf): (usize, f64),
        (start, end): (usize, usize),
        current: &mut SplitRecord,
        best: &mut SplitRecord,
        best_proxy_improvement: &mut f64,
    ) {
        let fv = &self.feature_values;
        self.criterion.reset();
        let mut p = start;
        while p < end {
            // next_p
            p += 1;
            while p < end && fv[p] <= fv[p - 1] + FEATURE_THRESHOLD {
                p += 1;
            }
            let p_prev = p - 1;
            if p == end {
                continue;
            }
            if p - start < min_samples_leaf || end - p < min_samples_leaf {
                continue;
            }
            current.pos = p;
            self.criterion.update(rows, &self.samples, p);
            if self.criterion.weighted_n_left < min_weight_leaf
                || self.criterion.weighted_n_right < min_weight_leaf
            {
                continue;
            }
            let proxy = self.criterion.proxy_impurity_improvement();
            if proxy > *best_proxy_improvement {
                *best_proxy_improvement = proxy;
                current.threshold = f64::from(fv[p_prev]) / 2.0 + f64::from(fv[p]) / 2.0;
                *best = *current;
            }
        }
    }

    /// `sort_samples_and_feature_values` without missing values: the
    /// node's values of `feature`, sorted with its samples.
    fn sort_samples_and_feature_values(
        &mut self,
        data: &Data,
        feature: usize,
        start: usize,
        end: usize,
    ) {
        let fv = &mut self.feature_values[start..end];
        for (v, &s) in fv.iter_mut().zip(&self.samples[start..end]) {
            *v = data.x(s, feature);
        }
        simultaneous_sort(fv, &mut self.samples[start..end]);
    }

    /// `DensePartitioner.partition_samples_final`: rows with
    /// `x <= threshold` (float32 widened to float64) to the front, by swaps.
    fn partition_samples_final(
        &mut self,
        data: &Data,
        best: &SplitRecord,
        start: usize,
        end: usize,
    ) {
        let (mut lo, mut hi) = (start, end);
        while lo < hi {
            let v = data.x(self.samples[lo], best.feature);
            if f64::from(v) <= best.threshold {
                lo += 1;
            } else {
                hi -= 1;
                self.samples.swap(lo, hi);
            }
        }
    }
}

/// The largest float32 not above `t`: a float32 `x` satisfies
/// `x <= result` exactly when scikit-learn's `(double) x <= t` holds.
pub(super) fn f32_at_most(t: f64) -> f32 {
    let f = t as f32;
    if f64::from(f) > t { f.next_down() } else { f }
}
