//! Hyperparameters, named and defaulted as scikit-learn's `RandomForestRegressor`
//! (criterion is always `squared_error`), with sklearn-like validation messages.

use alloc::{
    format,
    string::{String, ToString},
};

use serde::{Deserialize, Serialize};

use crate::error::{ForestError, Result};

/// Features examined per split (`max_features`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MaxFeatures {
    /// Every feature (sklearn's regressor default, `max_features=1.0`).
    All,
    /// `max(1, floor(sqrt(n_features)))`.
    Sqrt,
    /// `max(1, floor(log2(n_features)))`.
    Log2,
    /// Exactly this many, `1..=n_features`.
    Count(u32),
    /// `max(1, floor(fraction * n_features))`, fraction in `(0, 1]`.
    Fraction(f64),
}

/// Size of each bootstrap sample (`max_samples`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MaxSamples {
    /// This many draws (at least 1; more than `n_rows` is allowed).
    Count(u32),
    /// `max(1, int(fraction * n_rows))` draws (truncated, as scikit-learn
    /// 1.9 does), fraction positive (above 1 is allowed).
    Fraction(f64),
}

/// How a node's best split is searched for (`splitter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SplitterKind {
    /// Every threshold between consecutive distinct values (scikit-learn's trees).
    Exact,
    /// Features quantized once to at most 256 bins; per-node histograms.
    Hist,
    /// `Hist` for large nodes, `Exact` for small ones.
    #[default]
    Auto,
    /// Histograms as `Hist`, but trees grown a level at a time with integer
    /// sums and per-node feature draws (`levels`): the trees GPU training
    /// grows, the same bytes whether the histograms come from a device or
    /// from the CPU.
    Level,
    /// scikit-learn's own trees (`sklearn` module): its random numbers
    /// (numpy's `RandomState`), bootstrap, feature draws, sort and tie rules,
    /// so that `seed` grows the trees `RandomForestRegressor(random_state=seed)`
    /// grows, node for node. `seed` must fit in 32 bits.
    Sklearn,
}

impl core::str::FromStr for SplitterKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "exact" => Ok(SplitterKind::Exact),
            "hist" => Ok(SplitterKind::Hist),
            "auto" => Ok(SplitterKind::Auto),
            "level" => Ok(SplitterKind::Level),
            "sklearn" => Ok(SplitterKind::Sklearn),
            _ => Err(format!(
                "expected exact, hist, auto, level or sklearn, got '{s}'"
            )),
        }
    }
}

impl core::fmt::Display for SplitterKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SplitterKind::Exact => "exact",
            SplitterKind::Hist => "hist",
            SplitterKind::Auto => "auto",
            SplitterKind::Level => "level",
            SplitterKind::Sklearn => "sklearn",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub n_estimators: u32,
    /// `None`: grow until leaves are pure or too small to split.
    pub max_depth: Option<u32>,
    pub min_samples_split: u32,
    pub min_samples_leaf: u32,
    pub max_features: MaxFeatures,
    pub bootstrap: bool,
    /// `None`: each bootstrap sample has `n_rows` draws.
    pub max_samples: Option<MaxSamples>,
    pub seed: u64,
    pub splitter: SplitterKind,
    /// The least weight a leaf keeps, as a fraction of a tree's total weight
    /// (its bootstrap draws, or its rows without bootstrap), in `[0, 0.5]`.
    pub min_weight_fraction_leaf: f64,
    /// `Some(n)`: trees grow best first (the split that decreases the
    /// weighted impurity most, among all leaves, comes next) up to `n`
    /// leaves, `n >= 2`.
    pub max_leaf_nodes: Option<u32>,
    /// A split is made only if it decreases the weighted impurity by at
    /// least this much (scikit-learn's `N_t / N * (impurity - ...)`), `>= 0`.
    pub min_impurity_decrease: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            n_estimators: 100,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: MaxFeatures::All,
            bootstrap: true,
            max_samples: None,
            seed: 0,
            splitter: SplitterKind::Auto,
            min_weight_fraction_leaf: 0.0,
            max_leaf_nodes: None,
            min_impurity_decrease: 0.0,
        }
    }
}

impl core::fmt::Display for Params {
    /// `name=value` pairs, values as the command line spells them.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = |v: Option<String>| v.unwrap_or_else(|| "none".into());
        write!(
            f,
            "n_estimators={} max_depth={} min_samples_split={} min_samples_leaf={} max_features={} bootstrap={} max_samples={} seed={} splitter={} min_weight_fraction_leaf={:?} max_leaf_nodes={} min_impurity_decrease={:?}",
            self.n_estimators,
            text(self.max_depth.map(|d| d.to_string())),
            self.min_samples_split,
            self.min_samples_leaf,
            self.max_features,
            self.bootstrap,
            text(self.max_samples.map(|m| m.to_string())),
            self.seed,
            self.splitter,
            self.min_weight_fraction_leaf,
            text(self.max_leaf_nodes.map(|n| n.to_string())),
            self.min_impurity_decrease,
        )
    }
}

/// As in scikit-learn, "3" is a count and "0.3" (or "1.0") a fraction.
fn count_or_fraction(s: &str) -> Result<Result<u32, f64>, String> {
    if let Ok(c) = s.parse::<u32>() {
        return Ok(Ok(c));
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Err(f)),
        _ => Err(format!(
            "expected an integer count or a fraction like 0.5, got '{s}'"
        )),
    }
}

impl core::str::FromStr for MaxFeatures {
    type Err = String;

    /// `all`, `sqrt`, `log2`, an integer count or a fraction.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "all" => MaxFeatures::All,
            "sqrt" => MaxFeatures::Sqrt,
            "log2" => MaxFeatures::Log2,
            _ => match count_or_fraction(s)? {
                Ok(c) => MaxFeatures::Count(c),
                Err(f) => MaxFeatures::Fraction(f),
            },
        })
    }
}

impl core::fmt::Display for MaxFeatures {
    /// The text `from_str` reads back (fractions keep a decimal point).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MaxFeatures::All => f.write_str("all"),
            MaxFeatures::Sqrt => f.write_str("sqrt"),
            MaxFeatures::Log2 => f.write_str("log2"),
            MaxFeatures::Count(c) => write!(f, "{c}"),
            MaxFeatures::Fraction(x) => write!(f, "{x:?}"),
        }
    }
}

impl core::str::FromStr for MaxSamples {
    type Err = String;

    /// An integer count or a fraction.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match count_or_fraction(s)? {
            Ok(c) => MaxSamples::Count(c),
            Err(f) => MaxSamples::Fraction(f),
        })
    }
}

impl core::fmt::Display for MaxSamples {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MaxSamples::Count(c) => write!(f, "{c}"),
            MaxSamples::Fraction(x) => write!(f, "{x:?}"),
        }
    }
}

/// The most trees a forest may have: even trees of one node (a root and its
/// entry in the list of roots) would not fit a model file beyond this.
pub const MAX_ESTIMATORS: u32 =
    (crate::tree::MAX_MODEL_BYTES / (crate::tree::RAW_NODE_BYTES as u64 + 4)) as u32;

fn invalid(msg: String) -> ForestError {
    ForestError::InvalidParams(msg)
}

impl Params {
    /// Checks that need no data.
    pub fn validate(&self) -> Result<()> {
        if self.n_estimators < 1 {
            return Err(invalid(format!(
                "n_estimators must be >= 1, got {}",
                self.n_estimators
            )));
        }
        if self.n_estimators > MAX_ESTIMATORS {
            return Err(invalid(format!(
                "n_estimators must be <= {MAX_ESTIMATORS} (even one-node trees take {} bytes each of the {} MiB a model file may hold), got {}",
                crate::tree::RAW_NODE_BYTES + 4,
                crate::tree::MAX_MODEL_BYTES >> 20,
                self.n_estimators
            )));
        }
        if let Some(d) = self.max_depth
            && d < 1
        {
            return Err(invalid(format!("max_depth must be >= 1 or unset, got {d}")));
        }
        if self.min_samples_split < 2 {
            return Err(invalid(format!(
                "min_samples_split must be >= 2, got {}",
                self.min_samples_split
            )));
        }
        if self.min_samples_leaf < 1 {
            return Err(invalid(format!(
                "min_samples_leaf must be >= 1, got {}",
                self.min_samples_leaf
            )));
        }
        match self.max_features {
            MaxFeatures::Count(0) => {
                return Err(invalid(
                    "max_features must be >= 1 when an integer, got 0".into(),
                ));
            }
            MaxFeatures::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(invalid(format!(
                    "max_features must be in (0.0, 1.0] when a float, got {f}"
                )));
            }
            _ => {}
        }
        if self.splitter == SplitterKind::Sklearn && self.seed > u64::from(u32::MAX) {
            return Err(invalid(format!(
                "seed must be < 2^32 with splitter sklearn (numpy's RandomState takes 32-bit seeds), got {}",
                self.seed
            )));
        }
        self.validate_leaf_limits()?;
        match self.max_samples {
            Some(_) if !self.bootstrap => {
                return Err(invalid(
                    "max_samples cannot be set if bootstrap=false (use bootstrap=true or unset max_samples)"
                        .into(),
                ));
            }
            Some(MaxSamples::Count(0)) => {
                return Err(invalid(
                    "max_samples must be >= 1 when an integer, got 0".into(),
                ));
            }
            Some(MaxSamples::Fraction(f)) if !(f > 0.0 && f.is_finite()) => {
                return Err(invalid(format!(
                    "max_samples must be in (0.0, inf) when a float, got {f}"
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// `min_weight_fraction_leaf`, `max_leaf_nodes` and
    /// `min_impurity_decrease`, in scikit-learn's ranges.
    fn validate_leaf_limits(&self) -> Result<()> {
        let f = self.min_weight_fraction_leaf;
        if !(0.0..=0.5).contains(&f) {
            return Err(invalid(format!(
                "min_weight_fraction_leaf must be in [0.0, 0.5], got {f}"
            )));
        }
        if let Some(n) = self.max_leaf_nodes
            && n < 2
        {
            return Err(invalid(format!(
                "max_leaf_nodes must be >= 2 or unset, got {n}"
            )));
        }
        let d = self.min_impurity_decrease;
        if !(d >= 0.0 && d.is_finite()) {
            return Err(invalid(format!(
                "min_impurity_decrease must be in [0.0, inf), got {d}"
            )));
        }
        if self.max_leaf_nodes.is_some() && self.splitter == SplitterKind::Level {
            return Err(invalid(
                "max_leaf_nodes grows trees best first, splitter level a level at a time (GPU training too): use splitter exact, hist, auto or sklearn, or unset max_leaf_nodes"
                    .into(),
            ));
        }
        Ok(())
    }

    /// scikit-learn's `min_weight_leaf` for a tree whose weights add up to
    /// `total_weight`: `min_weight_fraction_leaf × total_weight`.
    pub fn min_weight_leaf(&self, total_weight: f64) -> f64 {
        self.min_weight_fraction_leaf * total_weight
    }

    /// Number of features examined per split, for `n_features` features.
    /// Integer arithmetic where sklearn uses floats, so native and wasm agree.
    pub fn resolve_max_features(&self, n_features: usize) -> Result<usize> {
        let k = match self.max_features {
            MaxFeatures::All => n_features,
            MaxFeatures::Sqrt => n_features.isqrt().max(1),
            MaxFeatures::Log2 => (n_features.max(1).ilog2() as usize).max(1),
            MaxFeatures::Count(c) => {
                let c = c as usize;
                if c > n_features {
                    return Err(invalid(format!(
                        "max_features must be in [1, n_features={n_features}], got {c}"
                    )));
                }
                c
            }
            MaxFeatures::Fraction(f) => ((f * n_features as f64) as usize).max(1),
        };
        Ok(k.min(n_features))
    }

    /// The checks that need the data's shape: [`Params::validate`], and
    /// `max_features` and `max_samples` against `n_features` and `n_rows`.
    pub fn check_for(&self, n_rows: usize, n_features: usize) -> Result<()> {
        self.validate()?;
        self.resolve_max_features(n_features)?;
        self.resolve_n_draws(n_rows).map(drop)
    }

    /// Bootstrap draws per tree for `n_rows` training rows (sklearn's
    /// `_get_n_samples_bootstrap`, including Python's round-half-to-even).
    pub fn resolve_n_draws(&self, n_rows: usize) -> Result<usize> {
        self.resolve_n_draws_weighted(n_rows, None)
    }

    /// [`Params::resolve_n_draws`] with sample weights adding up to
    /// `weight_sum` (`np.sum`): scikit-learn 1.9 takes a fraction of that.
    pub fn resolve_n_draws_weighted(
        &self,
        n_rows: usize,
        weight_sum: Option<f64>,
    ) -> Result<usize> {
        let weighted_n_samples = weight_sum.unwrap_or(n_rows as f64);
        let draws = match self.max_samples {
            None => return Ok(n_rows),
            Some(MaxSamples::Count(c)) => u64::from(c),
            // `as` truncates (and saturates): scikit-learn's int(f * n).
            Some(MaxSamples::Fraction(f)) => ((f * weighted_n_samples) as u64).max(1),
        };
        // Every draw is a step of the bootstrap loop: a count of u32 bounds it.
        if draws > u64::from(u32::MAX) {
            return Err(invalid(format!(
                "max_samples gives {draws} bootstrap draws per tree, more than {}",
                u32::MAX
            )));
        }
        Ok(draws as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sklearns() {
        let p = Params::default();
        assert_eq!(p.n_estimators, 100);
        assert_eq!(p.max_depth, None);
        assert_eq!((p.min_samples_split, p.min_samples_leaf), (2, 1));
        assert_eq!(p.max_features, MaxFeatures::All);
        assert!(p.bootstrap);
        p.validate().unwrap();
    }

    #[test]
    fn max_features_resolution() {
        let p = |m| Params {
            max_features: m,
            ..Params::default()
        };
        assert_eq!(p(MaxFeatures::All).resolve_max_features(10).unwrap(), 10);
        assert_eq!(p(MaxFeatures::Sqrt).resolve_max_features(10).unwrap(), 3);
        assert_eq!(p(MaxFeatures::Log2).resolve_max_features(10).unwrap(), 3);
        assert_eq!(p(MaxFeatures::Log2).resolve_max_features(1).unwrap(), 1);
        assert_eq!(
            p(MaxFeatures::Fraction(0.33))
                .resolve_max_features(10)
                .unwrap(),
            3
        );
        assert_eq!(
            p(MaxFeatures::Fraction(0.01))
                .resolve_max_features(10)
                .unwrap(),
            1
        );
        assert!(p(MaxFeatures::Count(11)).resolve_max_features(10).is_err());
    }

    #[test]
    fn bad_params_are_named() {
        let e = Params {
            max_depth: Some(0),
            ..Params::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            e,
            ForestError::InvalidParams("max_depth must be >= 1 or unset, got 0".into())
        );
        let e = Params {
            min_samples_split: 1,
            ..Params::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            e.to_string().contains("min_samples_split must be >= 2"),
            "{e}"
        );
        let e = Params {
            bootstrap: false,
            max_samples: Some(MaxSamples::Count(3)),
            ..Params::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("bootstrap=false"), "{e}");
        assert!(
            Params {
                max_features: MaxFeatures::Fraction(1.5),
                ..Params::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn leaf_limits_are_checked_as_scikit_learn() {
        let check = |p: Params| p.validate().map_err(|e| e.to_string());
        let p = Params::default();
        assert_eq!(
            (
                p.min_weight_fraction_leaf,
                p.max_leaf_nodes,
                p.min_impurity_decrease
            ),
            (0.0, None, 0.0)
        );
        for (f, ok) in [
            (0.0, true),
            (0.5, true),
            (0.51, false),
            (-0.1, false),
            (f64::NAN, false),
        ] {
            let r = check(Params {
                min_weight_fraction_leaf: f,
                ..Params::default()
            });
            assert_eq!(r.is_ok(), ok, "{f}: {r:?}");
        }
        let e = check(Params {
            min_weight_fraction_leaf: 0.6,
            ..Params::default()
        });
        assert_eq!(
            e.unwrap_err(),
            "invalid parameters: min_weight_fraction_leaf must be in [0.0, 0.5], got 0.6"
        );
        for (n, ok) in [(0, false), (1, false), (2, true), (1000, true)] {
            let r = check(Params {
                max_leaf_nodes: Some(n),
                ..Params::default()
            });
            assert_eq!(r.is_ok(), ok, "{n}: {r:?}");
        }
        for (d, ok) in [
            (0.0, true),
            (3.5, true),
            (-1e-9, false),
            (f64::INFINITY, false),
        ] {
            let r = check(Params {
                min_impurity_decrease: d,
                ..Params::default()
            });
            assert_eq!(r.is_ok(), ok, "{d}: {r:?}");
        }
        let e = check(Params {
            max_leaf_nodes: Some(8),
            splitter: SplitterKind::Level,
            ..Params::default()
        });
        assert!(e.unwrap_err().contains("best first"));
        let p = Params {
            min_weight_fraction_leaf: 0.1,
            ..Params::default()
        };
        assert_eq!(p.min_weight_leaf(353.0), 0.1 * 353.0);
    }

    #[test]
    fn text_forms_round_trip() {
        for t in ["all", "sqrt", "log2", "3", "0.5", "1.0"] {
            assert_eq!(t.parse::<MaxFeatures>().unwrap().to_string(), t);
        }
        assert_eq!("1".parse::<MaxFeatures>().unwrap(), MaxFeatures::Count(1));
        assert_eq!(
            "1.0".parse::<MaxFeatures>().unwrap(),
            MaxFeatures::Fraction(1.0)
        );
        assert_eq!(
            "0.25".parse::<MaxSamples>().unwrap(),
            MaxSamples::Fraction(0.25)
        );
        assert_eq!("7".parse::<MaxSamples>().unwrap().to_string(), "7");
        assert!("half".parse::<MaxFeatures>().is_err());
        assert!("nan".parse::<MaxSamples>().is_err());
    }

    #[test]
    fn bootstrap_size_as_scikit_learn_1_9() {
        let p = |m| Params {
            max_samples: Some(m),
            ..Params::default()
        };
        let draws = |m| p(m).resolve_n_draws(353).unwrap();
        // _get_n_samples_bootstrap: max(int(f * n), 1), an int as given.
        assert_eq!(draws(MaxSamples::Fraction(0.3)), 105); // 105.9
        assert_eq!(draws(MaxSamples::Fraction(0.5)), 176); // 176.5
        assert_eq!(draws(MaxSamples::Fraction(0.001)), 1);
        assert_eq!(draws(MaxSamples::Fraction(2.5)), 882);
        assert_eq!(draws(MaxSamples::Count(3)), 3);
        assert_eq!(draws(MaxSamples::Count(1000)), 1000);
        assert!(p(MaxSamples::Fraction(1e300)).resolve_n_draws(353).is_err());
        assert!(p(MaxSamples::Fraction(f64::INFINITY)).validate().is_err());
        assert!(p(MaxSamples::Fraction(0.0)).validate().is_err());
    }
}
