//! scikit-learn's dense best-split tree: `BestSplitter` with its
//! `DensePartitioner` (`_splitter.pyx`, `_partitioner.pyx`), the
//! `DepthFirstTreeBuilder` and, with `max_leaf_nodes`, the
//! `BestFirstTreeBuilder` (`_tree.pyx`), for one output, missing values
//! (NaN) included, without monotonic constraints.
//!
//! The splitter's arrays (`samples`, `features`, `constant_features`) carry
//! over from one node to the next exactly as in scikit-learn: the feature
//! permutation left by a node is where the next node's draw starts, and the
//! order a sort leaves tied rows in is the order the criterion sums them.
//! Missing values take part in that order too: the swaps that move them
//! after the present ones, and the rotation that brings them to the front
//! for the second search, leave the samples where scikit-learn leaves them.

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
    /// `+inf` for the split that sends only the missing values right.
    threshold: f64,
    improvement: f64,
    impurity_left: f64,
    impurity_right: f64,
    /// Where rows missing `feature` go: the search's direction when the
    /// node has some, else the side with more rows.
    missing_go_to_left: bool,
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
            missing_go_to_left: false,
        }
    }
}

/// The best split of a node so far and its proxy improvement, which a
/// candidate must beat strictly.
struct Best {
    split: SplitRecord,
    proxy_improvement: f64,
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
    /// `missing_values_in_feature_mask`: whether the feature has a NaN
    /// anywhere in the training data (only those are searched for them).
    pub missing_values_in_feature_mask: &'a [bool],
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
                        missing_left: s.missing_go_to_left,
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
            nodes.missing_left[id] = split.missing_go_to_left;
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

    /// `node_split_best` with the `DensePartitioner`.
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
        let limits = (settings.min_samples_leaf, settings.min_weight_leaf);

        let mut best = Best {
            split: SplitRecord::new(end),
            proxy_improvement: f64::NEG_INFINITY,
        };

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
            let feature = self.features[f_j];

            let n_missing = self.sort_samples_and_feature_values(data, feature, start, end);
            let end_non_missing = end - n_missing;
            let fv = &self.feature_values;
            // Every value missing, or the present ones within
            // FEATURE_THRESHOLD and none missing: a feature with a single
            // present value still splits its missing values apart.
            if end_non_missing == start
                || (fv[end_non_missing - 1] <= fv[start] + FEATURE_THRESHOLD && n_missing == 0)
            {
                self.features.swap(f_j, n_total_constants);
                n_found_constants += 1;
                n_total_constants += 1;
                continue;
            }
            f_i -= 1;
            self.features.swap(f_i, f_j);

            // Missing values (if any) on the right, then on the left.
            let n_searches = if n_missing != 0 { 2 } else { 1 };
            for i in 0..n_searches {
                let missing_go_to_left = i == 1;
                if missing_go_to_left {
                    self.shift_missing_to_the_left(start, end, n_missing);
                }
                self.search(
                    rows,
                    limits,
                    (start, end, n_missing),
                    (feature, missing_go_to_left),
                    &mut best,
                );
            }
        }

        let mut best = best.split;
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

    /// One pass of the `while p < end` loop of `node_split_best` over a
    /// sorted feature with `n_missing` missing values, last
    /// (`missing_go_to_left` false) or first: every position [`next_p`]
    /// gives that leaves `min_samples_leaf` rows and `min_weight_leaf`
    /// weight on each side; a strictly larger proxy improvement becomes
    /// `best`.
    fn search(
        &mut self,
        rows: Rows,
        (min_samples_leaf, min_weight_leaf): (usize, f64),
        (start, end, n_missing): (usize, usize, usize),
        (feature, missing_go_to_left): (usize, bool),
        best: &mut Best,
    ) {
        let end_non_missing = end - n_missing;
        let fv = &self.feature_values;
        self.criterion.reset();
        let mut p = start;
        while p < end {
            let p_prev = next_p(fv, &mut p, (start, end, n_missing), missing_go_to_left);
            if p == end {
                continue;
            }
            let (n_left, n_right) = (p - start, end - p);
            if n_left < min_samples_leaf || n_right < min_samples_leaf {
                continue;
            }
            self.criterion.update(rows, &self.samples, p);
            if self.criterion.weighted_n_left < min_weight_leaf
                || self.criterion.weighted_n_right < min_weight_leaf
            {
                continue;
            }
            let proxy = self.criterion.proxy_impurity_improvement();
            if proxy > best.proxy_improvement {
                best.proxy_improvement = proxy;
                // The first pass's last position leaves only the missing
                // values on the right: every present value is below +inf,
                // and NaN is not.
                let threshold = if p == end_non_missing && !missing_go_to_left {
                    f64::INFINITY
                } else {
                    f64::from(fv[p_prev]) / 2.0 + f64::from(fv[p]) / 2.0
                };
                // Without missing values here, prediction sends them to
                // the side that had more rows.
                let missing_go_to_left = match n_missing {
                    0 => n_left > n_right,
                    _ => missing_go_to_left,
                };
                best.split = SplitRecord {
                    feature,
                    pos: p,
                    threshold,
                    missing_go_to_left,
                    ..SplitRecord::new(end)
                };
            }
        }
    }

    /// `sort_samples_and_feature_values`: the node's values of `feature`,
    /// sorted with its samples, the samples missing it after them (in the
    /// order the swaps leave them, unsorted); returns their number. Only a
    /// feature of `missing_values_in_feature_mask` is looked at for them.
    fn sort_samples_and_feature_values(
        &mut self,
        data: &Data,
        feature: usize,
        start: usize,
        end: usize,
    ) -> usize {
        let end_non_missing = if data.missing_values_in_feature_mask[feature] {
            self.move_missing_to_the_end(data, feature, start, end)
        } else {
            let fv = &mut self.feature_values[start..end];
            for (v, &s) in fv.iter_mut().zip(&self.samples[start..end]) {
                *v = data.x(s, feature);
            }
            end
        };
        simultaneous_sort(
            &mut self.feature_values[start..end_non_missing],
            &mut self.samples[start..end_non_missing],
        );
        end - end_non_missing
    }

    /// The swap loop of `sort_samples_and_feature_values`: from the front,
    /// each sample missing `feature` swaps places with the last present
    /// one not yet visited, and the present values are copied; returns
    /// where the missing ones start. Their `feature_values` are left as
    /// they were: no search reads them.
    fn move_missing_to_the_end(
        &mut self,
        data: &Data,
        feature: usize,
        start: usize,
        end: usize,
    ) -> usize {
        let samples = &mut self.samples;
        // `current_end + 1` of scikit-learn: samples[end_non_missing..end]
        // are missing.
        let (mut i, mut end_non_missing) = (start, end);
        while i < end_non_missing {
            if data.x(samples[end_non_missing - 1], feature).is_nan() {
                end_non_missing -= 1;
                continue;
            }
            if data.x(samples[i], feature).is_nan() {
                end_non_missing -= 1;
                samples.swap(i, end_non_missing);
            }
            self.feature_values[i] = data.x(samples[i], feature);
            i += 1;
        }
        end_non_missing
    }

    /// `shift_missing_to_the_left`: the node's `n_missing` last samples and
    /// values to the front, both blocks keeping their inner order
    /// (`swap_array_slices`, a rotation).
    fn shift_missing_to_the_left(&mut self, start: usize, end: usize, n_missing: usize) {
        let n_non_missing = end - start - n_missing;
        self.samples[start..end].rotate_left(n_non_missing);
        self.feature_values[start..end].rotate_left(n_non_missing);
    }

    /// `DensePartitioner.partition_samples_final`: rows with
    /// `x <= threshold` (float32 widened to float64), and the rows missing
    /// `x` if `missing_go_to_left`, to the front, by swaps.
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
            let go_to_left = match v.is_nan() {
                true => best.missing_go_to_left,
                false => f64::from(v) <= best.threshold,
            };
            if go_to_left {
                lo += 1;
            } else {
                hi -= 1;
                self.samples.swap(lo, hi);
            }
        }
    }
}

/// `DensePartitioner.next_p`: moves `p` to the next candidate position of
/// a search over `feature_values[start..end]` (`n_missing` missing values
/// last, or first if `missing_go_to_left`), past present values within
/// FEATURE_THRESHOLD of the one before; returns `p_prev`, the last position
/// left of `p`. Missing last: positions up to `end - n_missing` (all present
/// values left), then `end`. Missing first: from `start + n_missing + 1`,
/// since the missing values alone on the left would repeat the split with
/// them alone on the right.
#[inline]
fn next_p(
    feature_values: &[f32],
    p: &mut usize,
    (start, end, n_missing): (usize, usize, usize),
    missing_go_to_left: bool,
) -> usize {
    let fv = feature_values;
    let end_non_missing = if missing_go_to_left {
        end
    } else {
        end - n_missing
    };
    if *p == end_non_missing && !missing_go_to_left {
        *p = end;
        return end;
    }
    if missing_go_to_left && *p == start {
        *p = start + n_missing;
    }
    *p += 1;
    while *p < end_non_missing && fv[*p] <= fv[*p - 1] + FEATURE_THRESHOLD {
        *p += 1;
    }
    *p - 1
}

/// The largest float32 not above `t`: a float32 `x` satisfies
/// `x <= result` exactly when scikit-learn's `(double) x <= t` holds.
pub(super) fn f32_at_most(t: f64) -> f32 {
    let f = t as f32;
    if f64::from(f) > t { f.next_down() } else { f }
}
