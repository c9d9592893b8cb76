//! Training: the data prepared once per forest, the bootstrap sample and
//! tree of each index, and `train`.

use core::ops::Range;

use crate::builder::{AUTO_EXACT_ROWS, StopRules, TreeBuilder};
use crate::criterion::{MAX_TARGET_SUM, Weight};
use crate::dataset::Dataset;
use crate::ensemble::Forest;
use crate::error::{ForestError, Result};
use crate::exact;
use crate::hist::Binned;
use crate::importance::GrownTree;
use crate::levels::{CpuLevels, FixedPoint, LevelBackend, LevelGrower, target_ranks};
use crate::params::{Params, SplitterKind};
use crate::rng::Rng;
use crate::sample::{Draw, TrainedWeights, check_sample_weight, numpy_sum};
use crate::sklearn::{self, SklearnTreeBuilder, TreeSettings};
use crate::validate::check_feature_names;
use crate::workspace::{MinLeaf, Workspace};
use alloc::{borrow::Cow, format, string::String, vec, vec::Vec};

/// Everything training needs that does not change from tree to tree.
pub struct Trainer {
    params: Params,
    targets: Vec<f64>,
    n_rows: usize,
    n_features: usize,
    max_features: usize,
    n_draws: usize,
    /// The sample weights given, if any: without bootstrap, each tree's
    /// weights; with, what `draw` draws in proportion to.
    sample_weight: Option<Vec<f64>>,
    /// How a bootstrap draw picks its row.
    draw: Draw,
    /// Every tree's total weight: its draws with bootstrap, else the sum of
    /// the sample weights, or the rows.
    tree_weight: f64,
    /// The feature values: column-major `n_features × n_rows` for the
    /// presorted (`exact`) path, else row-major; empty for `hist`.
    values: Vec<f32>,
    row_major: bool,
    /// `exact`: per feature, all rows sorted by (value, row id), once per forest.
    order: Vec<u32>,
    /// `hist` and `auto`: the features quantized, once per forest.
    binned: Option<Binned>,
    /// `auto`: nodes of at most this many rows use exact splits.
    auto_exact_rows: usize,
    /// `hist` growing best first: the histograms its frontier keeps.
    hist_wait_bytes: usize,
    /// `level`: every row's target rank (see `levels::target_ranks`).
    ranks: Vec<u32>,
    /// `sklearn`: each tree's seed and the resolved settings.
    sklearn: Option<(Vec<u32>, TreeSettings)>,
}

/// One worker's way of growing trees; its buffers serve every tree it grows.
pub enum Grower<'t> {
    /// Depth first: `exact`, `hist` and `auto`.
    Depth(TreeBuilder<'t>),
    /// The same, weighing rows by real sample weights (`bootstrap = false`
    /// with sample weights).
    DepthReal(TreeBuilder<'t, f64>),
    /// Level by level, histograms on the CPU: `level`.
    Levels(LevelGrower<'t>, CpuLevels<'t>),
    /// scikit-learn's trees: `sklearn`.
    Sklearn(SklearnTreeBuilder<'t>),
}

impl Trainer {
    pub fn new(data: &Dataset, params: &Params) -> Result<Self> {
        params.validate()?;
        Trainer::from_rows(
            (data.features.to_vec(), data.targets.to_vec()),
            data.sample_weight.map(<[f64]>::to_vec),
            data.n_rows,
            data.n_features,
            params,
        )
    }

    /// A trainer that owns its data: `features` (row-major) is kept, or
    /// transposed in place, and `targets` kept, so preparing costs no second
    /// copy of the matrix (what bounds a sandboxed worker's memory).
    pub fn from_owned(
        n_rows: usize,
        n_features: usize,
        (features, targets): (Vec<f32>, Vec<f64>),
        sample_weight: Option<Vec<f64>>,
        params: &Params,
    ) -> Result<Self> {
        Dataset::new(n_rows, n_features, &features, &targets)?;
        if let Some(w) = &sample_weight {
            check_sample_weight(w, n_rows)?;
        }
        params.validate()?;
        Trainer::from_rows(
            (features, targets),
            sample_weight,
            n_rows,
            n_features,
            params,
        )
    }

    /// `values` is row-major `n_rows × n_features`; it, `targets` and
    /// `sample_weight` already validated.
    fn from_rows(
        (mut values, targets): (Vec<f32>, Vec<f64>),
        sample_weight: Option<Vec<f64>>,
        n: usize,
        nf: usize,
        params: &Params,
    ) -> Result<Self> {
        let max_features = params.resolve_max_features(nf)?;
        let weight_sum = sample_weight.as_deref().map(numpy_sum);
        let n_draws = params.resolve_n_draws_weighted(n, weight_sum)?;
        let tree_weight = match (params.bootstrap, weight_sum) {
            (true, _) => n_draws as f64,
            (false, Some(sum)) => sum,
            (false, None) => n as f64,
        };
        check_weighting(params, &targets, weight_sum.is_some(), tree_weight)?;
        // `auto` on data no larger than its crossover grows exact trees from
        // the root: the presorted path does that fastest (same trees).
        let sklearn = params.splitter == SplitterKind::Sklearn;
        // So does `auto` growing best first: `auto` hands small nodes'
        // subtrees to exact splits whole, which best-first growth, choosing
        // among all leaves, cannot do.
        let exact = params.splitter == SplitterKind::Exact
            || params.splitter == SplitterKind::Auto
                && (n <= AUTO_EXACT_ROWS || params.max_leaf_nodes.is_some());
        let mut order = Vec::new();
        if sklearn {
            // scikit-learn's splitter sorts each node's values itself.
            transpose_in_place(&mut values, n, nf);
        } else if exact {
            // The presorted path reads a feature's values by row id: columns.
            transpose_in_place(&mut values, n, nf);
            order = exact::presort(&values, n, nf);
        }
        // Histogram splits read only the codes; `auto`'s exact subtrees copy
        // the rows they start with, and a row's values in one cache line
        // make that one miss a row instead of one a feature.
        let binned = (!exact && !sklearn).then(|| Binned::new(&values, n, nf));
        let level = params.splitter == SplitterKind::Level;
        let ranks = if level {
            target_ranks(&targets)
        } else {
            Vec::new()
        };
        if params.splitter == SplitterKind::Hist || level {
            // Histogram splits need only the codes: free the values.
            values = Vec::new();
        }
        let sklearn_trees = match sklearn {
            true => Some((
                sklearn::tree_seeds(params.seed as u32, params.n_estimators),
                TreeSettings::weighted(params, n, nf, sample_weight.as_deref())?,
            )),
            false => None,
        };
        Ok(Trainer {
            params: params.clone(),
            targets,
            n_rows: n,
            n_features: nf,
            max_features,
            n_draws,
            draw: Draw::new(n, sample_weight.as_deref()),
            sample_weight,
            tree_weight,
            values,
            row_major: !exact && !sklearn,
            order,
            binned,
            auto_exact_rows: AUTO_EXACT_ROWS,
            hist_wait_bytes: crate::hist::WAIT_BYTES,
            ranks,
            sklearn: sklearn_trees,
        })
    }

    /// A grower for one worker.
    pub fn grower(&self) -> Grower<'_> {
        if self.sklearn.is_some() {
            let columns = Cow::Borrowed(&self.values[..]);
            let targets = &self.targets[..];
            let builder =
                SklearnTreeBuilder::from_columns(columns, self.n_rows, self.n_features, targets);
            return Grower::Sklearn(match &self.sample_weight {
                Some(w) => builder.with_sample_weight(w),
                None => builder,
            });
        }
        match (self.params.splitter, &self.binned) {
            (SplitterKind::Level, Some(binned)) => Grower::Levels(
                self.level_grower().expect("binned"),
                CpuLevels::new(binned, self.n_features, &self.ranks),
            ),
            _ if self.real_weights().is_some() => Grower::DepthReal(self.tree_builder()),
            _ => Grower::Depth(self.tree_builder()),
        }
    }

    /// The sample weights each tree weighs its rows by (`bootstrap =
    /// false`); `None` when trees weigh rows by draw counts (or all by 1).
    fn real_weights(&self) -> Option<&[f64]> {
        match self.params.bootstrap {
            true => None,
            false => self.sample_weight.as_deref(),
        }
    }

    /// A depth-first (or best-first) builder for one worker.
    fn tree_builder<W: Weight>(&self) -> TreeBuilder<'_, W> {
        let rules = self.stop_rules();
        let ws = Workspace::new(
            &self.values,
            self.row_major,
            &self.targets,
            self.n_features,
            MinLeaf {
                rows: self.params.min_samples_leaf as usize,
                weight: rules.min_leaf_weight(),
            },
            self.max_features,
        );
        let mut builder: TreeBuilder<W> = match (&self.binned, self.params.splitter) {
            (Some(binned), SplitterKind::Hist) => TreeBuilder::hist(ws, rules, binned, 0),
            (Some(binned), SplitterKind::Auto) => {
                TreeBuilder::hist(ws, rules, binned, self.auto_exact_rows)
            }
            _ => TreeBuilder::exact(ws, rules, &self.order),
        };
        builder.set_hist_wait_bytes(self.hist_wait_bytes);
        builder
    }

    fn stop_rules(&self) -> StopRules {
        StopRules {
            max_depth: self.params.max_depth.unwrap_or(u32::MAX),
            min_samples_split: self.params.min_samples_split as usize,
            min_samples_leaf: self.params.min_samples_leaf as usize,
            min_weight_leaf: self.params.min_weight_leaf(self.tree_weight),
            min_impurity_decrease: self.params.min_impurity_decrease,
            total_weight: self.tree_weight,
            max_leaf_nodes: self.params.max_leaf_nodes,
        }
    }

    /// The level-wise grower of this forest (see `levels`), when its
    /// features are binned (`level`, `hist`, or `auto` beyond its crossover).
    pub fn level_grower(&self) -> Option<LevelGrower<'_>> {
        let binned = self.binned.as_ref()?;
        let max_weight = self.n_draws.max(self.n_rows) as u64;
        let fixed = FixedPoint::new(&self.targets, max_weight);
        let rules = self.stop_rules();
        Some(LevelGrower::new(
            binned,
            fixed,
            rules,
            self.n_features,
            self.max_features,
        ))
    }

    /// The forest's binned features (`level`, `hist`, or `auto` beyond its
    /// crossover).
    pub fn binned(&self) -> Option<&Binned> {
        self.binned.as_ref()
    }

    /// `level`: every row's target rank (what a device needs to tell pure
    /// nodes); empty for the other splitters.
    pub fn ranks(&self) -> &[u32] {
        &self.ranks
    }

    /// The targets, as given.
    pub fn targets(&self) -> &[f64] {
        &self.targets
    }

    /// Grows tree `index` level by level: the same bootstrap sample as
    /// [`Trainer::build_tree`], each node's draws from its own generator.
    pub fn build_tree_levels<B: LevelBackend>(
        &self,
        index: u32,
        grower: &LevelGrower,
        backend: &mut B,
    ) -> core::result::Result<GrownTree, B::Error> {
        let mut weights = vec![u32::from(!self.params.bootstrap); self.n_rows];
        let mut rng = self.sample(index, |row| weights[row] += 1);
        grower.grow(backend, &weights, &self.targets, &mut rng)
    }

    /// Grows tree `index`. The result depends only on the data, the params and
    /// `index` — not on which grower (worker) grows it, nor in what order.
    pub fn build_tree(&self, index: u32, grower: &mut Grower) -> GrownTree {
        match grower {
            Grower::Depth(builder) => self.build_tree_depth(index, builder),
            Grower::DepthReal(builder) => {
                let weights = self.real_weights().expect("real sample weights");
                builder.workspace().set_each_weight(weights);
                // No bootstrap: the generator as it starts, for the feature draws.
                builder.build(&mut self.sample(index, |_| unreachable!("no draws")))
            }
            Grower::Levels(levels, cpu) => match self.build_tree_levels(index, levels, cpu) {
                Ok(tree) => tree,
                Err(never) => match never {},
            },
            Grower::Sklearn(builder) => {
                let (seeds, settings) = self.sklearn.as_ref().expect("an sklearn trainer");
                builder.grow_with(settings, seeds[index as usize])
            }
        }
    }

    fn build_tree_depth(&self, index: u32, builder: &mut TreeBuilder) -> GrownTree {
        let ws = builder.workspace();
        ws.set_weights(u32::from(!self.params.bootstrap));
        let mut rng = self.sample(index, |row| ws.add_draw(row));
        builder.build(&mut rng)
    }

    /// Draws tree `index`'s bootstrap sample (none without bootstrap),
    /// calling `each` with every draw's row, and returns the tree's
    /// generator after the draws, for its feature draws.
    fn sample(&self, index: u32, each: impl FnMut(usize)) -> Rng {
        let draws = if self.params.bootstrap {
            self.n_draws
        } else {
            0
        };
        bootstrap(self.params.seed, index, &self.draw, draws, each)
    }

    /// Grows the trees `range` (in order) with one grower.
    pub fn build_trees(&self, range: Range<u32>) -> Vec<GrownTree> {
        let mut grower = self.grower();
        range.map(|t| self.build_tree(t, &mut grower)).collect()
    }

    /// Assembles trees `0..n_estimators`, given in order, into a forest.
    pub fn assemble(&self, trees: &[GrownTree], feature_names: Option<Vec<String>>) -> Forest {
        let mut forest = Forest::from_trees(
            self.n_features as u32,
            feature_names,
            self.params.clone(),
            self.n_rows as u32,
            trees,
        );
        forest.sample_weight = self.trained_weights();
        forest
    }

    /// What the forest keeps of its sample weights (`None` without).
    pub fn trained_weights(&self) -> Option<TrainedWeights> {
        self.sample_weight.as_deref().map(TrainedWeights::of)
    }

    /// Changes `auto`'s crossover (for measuring it; see
    /// `examples/splitter_crossover.rs`). Trees then differ from `train`'s.
    #[doc(hidden)]
    pub fn set_auto_exact_rows(&mut self, rows: usize) {
        self.auto_exact_rows = rows;
    }

    /// Changes [`crate::hist::WAIT_BYTES`] (tests shelve every waiting
    /// node with 0). Trees may then differ from `train`'s in the last bits
    /// of a histogram built again rather than by subtraction.
    #[doc(hidden)]
    pub fn set_hist_wait_bytes(&mut self, bytes: usize) {
        self.hist_wait_bytes = bytes;
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
}

/// Tree `index`'s bootstrap sample in a forest seeded with `seed`: calls
/// `each` with the row of each of `n_draws` draws (`draw`: uniform, or in
/// proportion to the sample weights), in draw order, and returns the tree's
/// generator after them. Training and the out-of-bag estimate (`oob`) both
/// draw through here, so they see the same samples.
pub(crate) fn bootstrap(
    seed: u64,
    index: u32,
    draw: &Draw,
    n_draws: usize,
    mut each: impl FnMut(usize),
) -> Rng {
    let mut rng = Rng::for_tree(seed, index);
    for _ in 0..n_draws {
        each(draw.next(&mut rng));
    }
    rng
}

/// Refuses real sample weights for splitter `level`, whose integer
/// histograms hold draw counts only, and targets whose sums over a tree
/// weighing `tree_weight` in all could overflow (the bound `Dataset::new`
/// applies with one weight per row; sample weights and more draws than rows
/// raise the weight).
fn check_weighting(
    params: &Params,
    targets: &[f64],
    weighted: bool,
    tree_weight: f64,
) -> Result<()> {
    if params.splitter == SplitterKind::Level && !params.bootstrap && weighted {
        return Err(ForestError::InvalidParams(
            "splitter level (and so GPU training) takes sample weights only with bootstrap=true, where they choose the draws: its integer histograms cannot hold real weights; use another splitter"
                .into(),
        ));
    }
    let n = targets.len() as f64;
    if tree_weight <= n {
        return Ok(()); // checked by `Dataset::new`
    }
    let limit = MAX_TARGET_SUM / tree_weight;
    match targets.iter().position(|y| y.abs() > limit) {
        None => Ok(()),
        Some(i) => Err(ForestError::InvalidData(format!(
            "target of row {i} is {:e}; with a tree weighing {tree_weight:e} in all (sample weights or draws), targets must lie within ±{limit:.3e} (beyond, squared-error sums overflow): scale the target or the weights down",
            targets[i]
        ))),
    }
}

/// Transposes a row-major `rows × cols` matrix into column-major order in
/// place, following each cycle of the permutation once (a bit per element
/// marks the ones already moved): no second copy of the matrix.
pub fn transpose_in_place(data: &mut [f32], rows: usize, cols: usize) {
    let len = rows * cols;
    debug_assert_eq!(data.len(), len);
    if rows <= 1 || cols <= 1 {
        return; // both orders are the same
    }
    // Row-major index i = r·cols + c goes to column-major j = c·rows + r.
    let dest = |i: usize| (i % cols) * rows + i / cols;
    let mut moved = vec![0u64; len.div_ceil(64)];
    for start in 0..len {
        if moved[start / 64] >> (start % 64) & 1 == 1 {
            continue;
        }
        let (mut i, mut carried) = (start, data[start]);
        loop {
            moved[i / 64] |= 1 << (i % 64);
            let j = dest(i);
            core::mem::swap(&mut data[j], &mut carried);
            if j == start {
                break;
            }
            i = j;
        }
    }
}

/// Trains a forest on one thread.
pub fn train(
    data: &Dataset,
    params: &Params,
    feature_names: Option<Vec<String>>,
) -> Result<Forest> {
    check_feature_names(feature_names.as_deref(), None, data.n_features)?;
    let trainer = Trainer::new(data, params)?;
    let trees = trainer.build_trees(0..params.n_estimators);
    Ok(trainer.assemble(&trees, feature_names))
}
