//! The library component: a thin adapter from the WIT exports to the `forest`
//! crate. No logic lives here beyond converting records.
//!
//! `no_std` on wasm32: Rust's std for wasm32-wasip2 would link wasi-libc and
//! make the component import a dozen WASI interfaces (stdio and terminals for
//! panic messages, environment, exit, ...) that an embedder must then provide.
//! Without it the component imports what `wit/forest.wit` declares and nothing
//! else. (Natively, where only `cargo check --workspace` ever builds it, and in
//! its test harness, it keeps std.)

#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

#[cfg(all(target_arch = "wasm32", not(test)))]
mod rt;

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "forest-lib",
        // Bindings for the WASI monotonic clock too (wit/deps).
        generate_all,
    });
}

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use bindings::exports::wasm_forest::forest::forest as wit;
use bindings::exports::wasm_forest::forest::forest::{
    Guest, GuestModel, GuestTrainer, Model as ModelHandle, Trainer as TrainerHandle,
};
use bindings::wasi::clocks::monotonic_clock;
use bindings::wasm_forest::forest::gpu;
use bindings::wasm_forest::forest::progress;

struct Component;

fn to_wit_error(e: forest::ForestError) -> wit::ForestError {
    match e {
        forest::ForestError::InvalidParams(m) => wit::ForestError::InvalidParams(m),
        forest::ForestError::InvalidData(m) => wit::ForestError::InvalidData(m),
        forest::ForestError::InvalidModel(m) => wit::ForestError::InvalidModel(m),
    }
}

fn splitter_from_wit(s: wit::Splitter) -> forest::SplitterKind {
    match s {
        wit::Splitter::Exact => forest::SplitterKind::Exact,
        wit::Splitter::Hist => forest::SplitterKind::Hist,
        wit::Splitter::Auto => forest::SplitterKind::Auto,
        wit::Splitter::Level => forest::SplitterKind::Level,
        wit::Splitter::Sklearn => forest::SplitterKind::Sklearn,
    }
}

fn splitter_to_wit(s: forest::SplitterKind) -> wit::Splitter {
    match s {
        forest::SplitterKind::Exact => wit::Splitter::Exact,
        forest::SplitterKind::Hist => wit::Splitter::Hist,
        forest::SplitterKind::Auto => wit::Splitter::Auto,
        forest::SplitterKind::Level => wit::Splitter::Level,
        forest::SplitterKind::Sklearn => wit::Splitter::Sklearn,
    }
}

fn from_wit_params(p: wit::Params) -> forest::Params {
    forest::Params {
        n_estimators: p.n_estimators,
        max_depth: p.max_depth,
        min_samples_split: p.min_samples_split,
        min_samples_leaf: p.min_samples_leaf,
        max_features: match p.max_features {
            wit::MaxFeatures::All => forest::MaxFeatures::All,
            wit::MaxFeatures::Sqrt => forest::MaxFeatures::Sqrt,
            wit::MaxFeatures::Log2 => forest::MaxFeatures::Log2,
            wit::MaxFeatures::Count(c) => forest::MaxFeatures::Count(c),
            wit::MaxFeatures::Fraction(f) => forest::MaxFeatures::Fraction(f),
        },
        bootstrap: p.bootstrap,
        max_samples: p.max_samples.map(|m| match m {
            wit::MaxSamples::Count(c) => forest::MaxSamples::Count(c),
            wit::MaxSamples::Fraction(f) => forest::MaxSamples::Fraction(f),
        }),
        seed: p.seed,
        splitter: splitter_from_wit(p.splitter),
        min_weight_fraction_leaf: p.min_weight_fraction_leaf,
        max_leaf_nodes: p.max_leaf_nodes,
        min_impurity_decrease: p.min_impurity_decrease,
    }
}

fn to_wit_params(p: &forest::Params) -> wit::Params {
    wit::Params {
        n_estimators: p.n_estimators,
        max_depth: p.max_depth,
        min_samples_split: p.min_samples_split,
        min_samples_leaf: p.min_samples_leaf,
        max_features: match p.max_features {
            forest::MaxFeatures::All => wit::MaxFeatures::All,
            forest::MaxFeatures::Sqrt => wit::MaxFeatures::Sqrt,
            forest::MaxFeatures::Log2 => wit::MaxFeatures::Log2,
            forest::MaxFeatures::Count(c) => wit::MaxFeatures::Count(c),
            forest::MaxFeatures::Fraction(f) => wit::MaxFeatures::Fraction(f),
        },
        bootstrap: p.bootstrap,
        max_samples: p.max_samples.map(|m| match m {
            forest::MaxSamples::Count(c) => wit::MaxSamples::Count(c),
            forest::MaxSamples::Fraction(f) => wit::MaxSamples::Fraction(f),
        }),
        seed: p.seed,
        splitter: splitter_to_wit(p.splitter),
        min_weight_fraction_leaf: p.min_weight_fraction_leaf,
        max_leaf_nodes: p.max_leaf_nodes,
        min_impurity_decrease: p.min_impurity_decrease,
    }
}

/// Progress reports to the host, at most one per `EVERY` and always the last.
struct Progress {
    total: u32,
    /// `monotonic-clock.now` at the last report, in nanoseconds.
    last: u64,
}

impl Progress {
    /// 250 ms, in the clock's nanoseconds.
    const EVERY: u64 = 250_000_000;

    fn new(total: u32) -> Progress {
        Progress {
            total,
            last: monotonic_clock::now(),
        }
    }

    fn tree_done(&mut self, done: u32) {
        if done == self.total || monotonic_clock::now().saturating_sub(self.last) >= Self::EVERY {
            progress::report(done, self.total);
            self.last = monotonic_clock::now();
        }
    }
}

/// Validates the WIT dataset and runs `f` on it.
fn with_dataset<T>(
    data: &wit::Dataset,
    f: impl FnOnce(forest::Dataset) -> Result<T, forest::ForestError>,
) -> Result<T, wit::ForestError> {
    let dataset = forest::Dataset::new(
        data.n_rows as usize,
        data.n_features as usize,
        &data.features,
        &data.targets,
    )
    .and_then(|d| match &data.sample_weight {
        Some(w) => d.with_sample_weight(w),
        None => Ok(d),
    })
    .map_err(to_wit_error)?;
    f(dataset).map_err(to_wit_error)
}

fn grow(
    data: wit::Dataset,
    params: wit::Params,
    first: Option<u32>,
    count: u32,
) -> Result<forest::part::Part, wit::ForestError> {
    let params = from_wit_params(params);
    let names = data.feature_names.clone();
    let target = data.target_name.clone();
    with_dataset(&data, |ds| {
        let trainer = forest::Trainer::new(&ds, &params)?;
        let (first, count) = (
            first.unwrap_or(0),
            first.map_or(params.n_estimators, |_| count),
        );
        let mut progress = Progress::new(count);
        forest::part::Part::grow(&trainer, first, count, names, target, |d| {
            progress.tree_done(d)
        })
    })
}

impl Guest for Component {
    type Model = Model;
    type Trainer = Trainer;

    fn default_params() -> wit::Params {
        to_wit_params(&forest::Params::default())
    }

    fn train(data: wit::Dataset, params: wit::Params) -> Result<Vec<u8>, wit::ForestError> {
        let part = grow(data, params, None, 0)?;
        let forest = forest::part::merge(vec![part]).map_err(to_wit_error)?;
        forest::model::to_bytes(&forest).map_err(to_wit_error)
    }

    fn train_part(
        data: wit::Dataset,
        params: wit::Params,
        first: u32,
        count: u32,
    ) -> Result<Vec<u8>, wit::ForestError> {
        grow(data, params, Some(first), count)?
            .to_bytes()
            .map_err(to_wit_error)
    }

    fn merge_parts(parts: Vec<Vec<u8>>) -> Result<Vec<u8>, wit::ForestError> {
        forest::part::merge_bytes(parts).map_err(to_wit_error)
    }
}

/// A started training: the data is moved into the forest crate's trainer
/// (no second copy) and each `grow` hands its trees out as a part.
pub struct Trainer {
    trainer: forest::Trainer,
    names: Option<Vec<String>>,
    target: Option<String>,
    /// `auto` falls back to the CPU on a GPU failure; `gpu` fails.
    device: wit::Device,
    /// The training set on the host's GPU, while trees grow there.
    gpu: RefCell<Option<OnGpu>>,
    /// Why the trees do not grow on the GPU, when they were to.
    note: RefCell<Option<String>>,
}

struct OnGpu {
    set: gpu::GpuTrainingSet,
    /// Nodes with more rows than this get their histograms from the device.
    node_min_rows: u32,
}

/// A tree's failure: the forest crate's, or the GPU's under `device.gpu`.
enum GrowError {
    Forest(forest::ForestError),
    Gpu(gpu::GpuError),
}

impl From<forest::ForestError> for GrowError {
    fn from(e: forest::ForestError) -> Self {
        GrowError::Forest(e)
    }
}

impl From<GrowError> for wit::ForestError {
    fn from(e: GrowError) -> Self {
        match e {
            GrowError::Forest(e) => to_wit_error(e),
            GrowError::Gpu(e) => wit::ForestError::Gpu(e),
        }
    }
}

/// The host's `gpu-training-set` as the level-wise grower's device.
struct ImportLevels<'s> {
    set: &'s gpu::GpuTrainingSet,
    /// Bins per node: `n_features × MAX_BINS`.
    node_bins: usize,
}

impl forest::LevelBackend for ImportLevels<'_> {
    type Error = gpu::GpuError;

    fn start_tree(&mut self, weights: &[u32], wy: &[i64]) -> Result<(), gpu::GpuError> {
        self.set.start_tree(weights, wy)
    }

    fn histograms(
        &mut self,
        nodes: &[u32],
        ranges_of: &[u32],
        hist: &mut Vec<forest::Bin>,
        ranks: &mut Vec<[u32; 2]>,
    ) -> Result<(), gpu::GpuError> {
        let h = self.set.histograms(nodes, ranges_of)?;
        // The host is outside this component: a wrong answer is an error,
        // not a trap.
        if h.bins.len() != nodes.len() * self.node_bins * 4 || h.ranges.len() != ranges_of.len() * 2
        {
            return Err(gpu::GpuError::Internal(format!(
                "the host returned {} histogram words and {} range words for {} and {} nodes",
                h.bins.len(),
                h.ranges.len(),
                nodes.len(),
                ranges_of.len()
            )));
        }
        let bins = h.bins.chunks_exact(4);
        hist.extend(bins.map(|b| forest::Bin::from_words([b[0], b[1], b[2], b[3]])));
        ranks.extend(h.ranges.chunks_exact(2).map(|r| [r[0], r[1]]));
        Ok(())
    }

    fn next_level(&mut self, moves: &[forest::Move]) -> Result<(), gpu::GpuError> {
        let moves: Vec<gpu::RowMove> = moves
            .iter()
            .map(|m| gpu::RowMove {
                feature: m.feature,
                last_left: m.last_left,
                missing_left: m.missing_left,
                left: m.left,
                right: m.right,
            })
            .collect();
        self.set.next_level(&moves)
    }
}

impl Trainer {
    /// The training set on the GPU, or why not: `Err(Ok(note))` under
    /// `auto`, `Err(Err(error))` under `gpu`.
    fn upload(
        trainer: &forest::Trainer,
        device: wit::Device,
    ) -> Result<OnGpu, Result<String, wit::ForestError>> {
        let auto = device == wit::Device::Auto;
        let splitter = trainer.params().splitter;
        if splitter != forest::SplitterKind::Level {
            let why =
                format!("splitter {splitter} grows on the CPU (GPU training is splitter level)");
            return Err(if auto {
                Ok(why)
            } else {
                Err(wit::ForestError::InvalidParams(format!(
                    "device gpu: {why}"
                )))
            });
        }
        let gpu_failed = |e: gpu::GpuError| {
            if auto {
                Ok(gpu_error_text(&e))
            } else {
                Err(wit::ForestError::Gpu(e))
            }
        };
        let a = gpu::adapter().map_err(gpu_failed)?;
        let rows = trainer.n_rows() as u64;
        if auto && rows < u64::from(a.auto_min_train_rows) {
            return Err(Ok(match a.auto_min_train_rows {
                u32::MAX => format!(
                    "the host's auto-min-train-rows for {} is 'never' (a {} adapter)",
                    a.name, a.device_type
                ),
                min => format!("{rows} rows < auto-min-train-rows {min} of {}", a.name),
            }));
        }
        let codes = trainer.binned().expect("level bins its features").codes();
        let set = gpu::GpuTrainingSet::upload(trainer.n_features() as u32, codes, trainer.ranks())
            .map_err(gpu_failed)?;
        Ok(OnGpu {
            set,
            node_min_rows: a.node_min_rows,
        })
    }

    /// Tree `t`: on the GPU while it serves (a failure under `auto` moves
    /// this tree and the rest to the CPU: the same trees), else on the CPU.
    /// The GPU's trees are `cpu`'s level-wise ones (splitter `level`): its
    /// grower decides them and its CPU backend mirrors the device's rows.
    fn tree(&self, t: u32, cpu: &mut forest::Grower) -> Result<forest::GrownTree, GrowError> {
        let mut on_gpu = self.gpu.borrow_mut();
        if let (Some(g), forest::Grower::Levels(grower, mirror)) = (on_gpu.as_ref(), &mut *cpu) {
            let device = ImportLevels {
                set: &g.set,
                node_bins: self.trainer.n_features() * forest::MAX_BINS,
            };
            let mut both = forest::Hybrid::new(device, mirror, g.node_min_rows as usize);
            match self.trainer.build_tree_levels(t, grower, &mut both) {
                Ok(tree) => return Ok(tree),
                Err(e) if self.device == wit::Device::Auto => {
                    *self.note.borrow_mut() = Some(format!(
                        "GPU failed at tree {t}, used the CPU: {}",
                        gpu_error_text(&e)
                    ));
                    *on_gpu = None;
                }
                Err(e) => return Err(GrowError::Gpu(e)),
            }
        }
        Ok(self.trainer.build_tree(t, cpu))
    }
}

impl GuestTrainer for Trainer {
    fn start(data: wit::Dataset, params: wit::Params) -> Result<TrainerHandle, wit::ForestError> {
        Self::start_on(data, params, wit::Device::Cpu)
    }

    fn start_on(
        data: wit::Dataset,
        params: wit::Params,
        device: wit::Device,
    ) -> Result<TrainerHandle, wit::ForestError> {
        let params = from_wit_params(params);
        let wit::Dataset {
            n_rows,
            n_features,
            features,
            targets,
            feature_names,
            target_name,
            sample_weight,
        } = data;
        let trainer = forest::Trainer::from_owned(
            n_rows as usize,
            n_features as usize,
            (features, targets),
            sample_weight,
            &params,
        )
        .map_err(to_wit_error)?;
        // Checked after data and params, in `train`'s order.
        forest::check_feature_names(
            feature_names.as_deref(),
            target_name.as_deref(),
            n_features as usize,
        )
        .map_err(to_wit_error)?;
        let (gpu, note) = match device {
            wit::Device::Cpu => (None, None),
            _ => match Trainer::upload(&trainer, device) {
                Ok(g) => (Some(g), None),
                Err(Ok(note)) => (None, Some(note)),
                Err(Err(e)) => return Err(e),
            },
        };
        Ok(TrainerHandle::new(Trainer {
            trainer,
            names: feature_names,
            target: target_name,
            device,
            gpu: RefCell::new(gpu),
            note: RefCell::new(note),
        }))
    }

    fn grow(&self, first: u32, count: u32) -> Result<Vec<u8>, wit::ForestError> {
        let mut progress = Progress::new(count);
        let names = (self.names.clone(), self.target.clone());
        let mut cpu = self.trainer.grower();
        let part = forest::part::Part::grow_with(
            &self.trainer,
            first,
            count,
            names,
            |d| progress.tree_done(d),
            |t| self.tree(t, &mut cpu),
        )?;
        part.to_bytes().map_err(to_wit_error)
    }

    fn placement(&self) -> wit::Placement {
        wit::Placement {
            device: match self.gpu.borrow().is_some() {
                true => wit::Device::Gpu,
                false => wit::Device::Cpu,
            },
            note: self.note.borrow().clone(),
        }
    }
}

pub struct Model {
    forest: forest::Forest,
    /// The forest on the host's GPU, uploaded on the first GPU prediction,
    /// and the factor that turns its f32 results back into the model's units.
    gpu: RefCell<Option<(gpu::GpuForest, f64)>>,
}

/// Largest sum of tree values the GPU path may have to form: a quarter of
/// the f32 range, so rounding on the way cannot push a sum past it.
const GPU_SUM_LIMIT: f64 = (1u128 << 126) as f64;

/// 2^e exactly, for e in -1022..=1023 (a normal f64 is its exponent field
/// alone); core has no `powi` without std.
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

impl Model {
    /// The forest in the flat layout the GPU import takes, its values as f32
    /// times a power of two `scale`, and `1 / scale`.
    ///
    /// The device sums one value per tree in f32, so `n_trees × max |value|`
    /// must stay within the f32 range: training targets may reach ~1e148,
    /// far beyond it. Ordinary models keep scale 1 (values uploaded exactly as
    /// before); larger ones are scaled down by the smallest power of two that
    /// fits. Powers of two change only the exponent, so scaling here and
    /// unscaling the results in f64 add no rounding of their own. A value
    /// that becomes too small for f32 by the scaling is lost, as values
    /// below f32's range always are: the GPU's precision is that of f32
    /// relative to the forest's largest values, scaled or not.
    fn flat(&self) -> (gpu::FlatForest, f64) {
        let (f, n) = (&self.forest, &self.forest.nodes);
        let largest = n.value.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let trees = f.roots.len().max(1) as f64;
        // Halving until the sums fit: no steps for ordinary models, at most
        // about 900 for values near f64's range (so 2^-exponent stays normal).
        let mut exponent = 0i32;
        while largest * pow2(-exponent) * trees > GPU_SUM_LIMIT {
            exponent += 1;
        }
        let scale = pow2(-exponent);
        let flat = gpu::FlatForest {
            n_features: f.n_features,
            roots: f.roots.clone(),
            feature: n.feature.clone(),
            threshold: n.threshold.clone(),
            left: n.left.clone(),
            right: n.right.clone(),
            value: n.value.iter().map(|&v| (v * scale) as f32).collect(),
            missing_left: n.missing_left.clone(),
        };
        (flat, pow2(exponent))
    }

    fn predict_gpu(&self, features: &[f32], n_rows: u32) -> Result<Vec<f64>, gpu::GpuError> {
        let mut slot = self.gpu.borrow_mut();
        if slot.is_none() {
            let (flat, unscale) = self.flat();
            *slot = Some((gpu::GpuForest::upload(&flat)?, unscale));
        }
        let (uploaded, unscale) = slot.as_ref().expect("uploaded just above");
        let values = uploaded.predict(features, n_rows)?;
        Ok(values.into_iter().map(|v| f64::from(v) * unscale).collect())
    }

    /// Why `auto` should stay on the CPU for this batch, if it should.
    fn auto_stays_on_cpu(n_rows: u32) -> Option<String> {
        match gpu::adapter() {
            Err(e) => Some(gpu_error_text(&e)),
            Ok(a) if a.auto_min_rows == u32::MAX => Some(format!(
                "the host's auto-min-rows for {} is 'never' (a {} adapter)",
                a.name, a.device_type
            )),
            Ok(a) if n_rows < a.auto_min_rows => Some(format!(
                "{n_rows} rows < auto-min-rows {} of {}",
                a.auto_min_rows, a.name
            )),
            Ok(_) => None,
        }
    }
}

fn gpu_error_text(e: &gpu::GpuError) -> String {
    let (kind, m) = match e {
        gpu::GpuError::NoAdapter(m) => ("no-adapter", m),
        gpu::GpuError::OutOfMemory(m) => ("out-of-memory", m),
        gpu::GpuError::DeviceLost(m) => ("device-lost", m),
        gpu::GpuError::InvalidForest(m) => ("invalid-forest", m),
        gpu::GpuError::InvalidInput(m) => ("invalid-input", m),
        gpu::GpuError::TooLarge(m) => ("too-large", m),
        gpu::GpuError::Timeout(m) => ("timeout", m),
        gpu::GpuError::Internal(m) => ("internal", m),
    };
    format!("{kind}: {m}")
}

impl GuestModel for Model {
    fn from_bytes(bytes: Vec<u8>) -> Result<ModelHandle, wit::ForestError> {
        let forest = forest::model::from_bytes(&bytes).map_err(to_wit_error)?;
        Ok(ModelHandle::new(Model {
            forest,
            gpu: RefCell::new(None),
        }))
    }

    fn predict(&self, features: Vec<f32>, n_rows: u32) -> Result<Vec<f64>, wit::ForestError> {
        self.forest
            .predict(&features, n_rows as usize)
            .map_err(to_wit_error)
    }

    fn predict_on(
        &self,
        features: Vec<f32>,
        n_rows: u32,
        device: wit::Device,
    ) -> Result<wit::Prediction, wit::ForestError> {
        let cpu = |note| {
            Ok(wit::Prediction {
                values: self
                    .forest
                    .predict(&features, n_rows as usize)
                    .map_err(to_wit_error)?,
                device: wit::Device::Cpu,
                note,
            })
        };
        let on_gpu = |values| wit::Prediction {
            values,
            device: wit::Device::Gpu,
            note: None,
        };
        match device {
            wit::Device::Cpu => cpu(None),
            wit::Device::Gpu => {
                // The CPU path's checks first, so both devices refuse the same input.
                forest::check_batch(&features, n_rows as usize, self.forest.n_features as usize)
                    .map_err(to_wit_error)?;
                self.predict_gpu(&features, n_rows)
                    .map(on_gpu)
                    .map_err(wit::ForestError::Gpu)
            }
            wit::Device::Auto => {
                forest::check_batch(&features, n_rows as usize, self.forest.n_features as usize)
                    .map_err(to_wit_error)?;
                if let Some(why) = Model::auto_stays_on_cpu(n_rows) {
                    return cpu(Some(why));
                }
                match self.predict_gpu(&features, n_rows) {
                    Ok(values) => Ok(on_gpu(values)),
                    Err(e) => cpu(Some(format!(
                        "GPU failed, used the CPU: {}",
                        gpu_error_text(&e)
                    ))),
                }
            }
        }
    }

    fn out_of_bag(
        &self,
        features: Vec<f32>,
        first_row: u32,
        n_rows: u32,
        sample_weight: Option<Vec<f64>>,
    ) -> Result<wit::OobPredictions, wit::ForestError> {
        let oob = self
            .forest
            .out_of_bag(&features, (first_row, n_rows), sample_weight.as_deref())
            .map_err(to_wit_error)?;
        Ok(wit::OobPredictions {
            predictions: oob.predictions,
            n_trees: oob.n_trees,
        })
    }

    fn permutation_importance(
        &self,
        features: Vec<f32>,
        targets: Vec<f64>,
        n_rows: u32,
        columns: Vec<u32>,
        n_repeats: u32,
        random_state: u32,
    ) -> Result<wit::PermutationScores, wit::ForestError> {
        let data = (&features[..], &targets[..], n_rows as usize);
        let scores = self
            .forest
            .permutation_importance(data, &columns, n_repeats, random_state)
            .map_err(to_wit_error)?;
        Ok(wit::PermutationScores {
            baseline: scores.baseline,
            importances: scores.importances,
        })
    }

    fn info(&self) -> wit::ModelInfo {
        let i = self.forest.info();
        wit::ModelInfo {
            n_trees: i.n_trees,
            n_nodes: i.n_nodes,
            n_leaves: i.n_leaves,
            max_depth: i.max_depth,
            n_features: i.n_features,
            feature_names: self.forest.feature_names.clone(),
            target_name: self.forest.target_name.clone(),
            params: to_wit_params(&self.forest.params),
            n_train_rows: self.forest.n_train_rows,
            feature_importances: self.forest.importances.clone(),
            sample_weight_total: self.forest.sample_weight.map(|w| w.total),
        }
    }
}

bindings::export!(Component with_types_in bindings);
