//! Level-wise growth (the GPU training algorithm) on the CPU: valid,
//! deterministic forests whose error matches `hist`'s, and trees that do
//! not depend on how a backend orders its additions or chunks a level.

use forest::{
    Bin, Dataset, FixedPoint, Forest, LEAF, LevelBackend, Move, Params, SplitterKind, Trainer,
};

#[path = "../examples/common/mod.rs"]
mod common;

fn params(n_estimators: u32, seed: u64) -> Params {
    Params {
        n_estimators,
        max_depth: Some(16),
        seed,
        splitter: SplitterKind::Level,
        ..Params::default()
    }
}

fn mse(f: &Forest, x: &[f32], y: &[f64]) -> f64 {
    let p = f.predict(x, y.len()).unwrap();
    p.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / y.len() as f64
}

fn bytes(f: &Forest) -> Vec<u8> {
    forest::model::to_bytes(f).unwrap()
}

#[test]
fn level_wise_forests_are_valid_deterministic_models() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let ds = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let a = forest::train(&ds, &params(30, 42), None).unwrap();
    let b = forest::train(&ds, &params(30, 42), None).unwrap();
    // The model loader validates the structure (pre-order, ids, values).
    let loaded = forest::model::from_bytes(&bytes(&a)).unwrap();
    assert_eq!(bytes(&loaded), bytes(&a));
    assert_eq!(bytes(&a), bytes(&b), "same seed, same bytes");
    let c = forest::train(&ds, &params(30, 43), None).unwrap();
    assert_ne!(bytes(&a), bytes(&c), "another seed, other trees");
    let info = a.info();
    assert!(info.max_depth <= 16 && info.n_leaves > 30 * 50, "{info:?}");
}

#[test]
fn test_error_matches_hist_on_diabetes_and_friedman1() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let (tx, ty) = common::diabetes("diabetes_test.csv");
    let (fx, fy) = common::friedman1(&mut forest::rng::Rng::new(3), 25_000);
    let (ftx, fty) = (fx[20_000 * 10..].to_vec(), fy[20_000..].to_vec());
    let (fx, fy) = (&fx[..20_000 * 10], &fy[..20_000]);
    for (name, x, y, tx, ty, trees) in [
        ("diabetes", &x[..], &y[..], &tx[..], &ty[..], 200),
        ("friedman1", fx, fy, &ftx[..], &fty[..], 50),
    ] {
        let ds = Dataset::new(y.len(), 10, x, y).unwrap();
        let p = params(trees, 42);
        let levels = mse(&forest::train(&ds, &p, None).unwrap(), tx, ty);
        let p = Params {
            splitter: SplitterKind::Hist,
            ..p
        };
        let hist = mse(&forest::train(&ds, &p, None).unwrap(), tx, ty);
        eprintln!("{name}: level-wise MSE {levels:.4}, hist {hist:.4}");
        assert!(
            (levels / hist - 1.0).abs() < 0.01,
            "{name}: level-wise {levels} against hist {hist}"
        );
    }
}

/// A second backend written apart from `CpuLevels`: rows in reverse order,
/// one node at a time. Integer sums make the order irrelevant.
struct Reversed<'a> {
    codes: Vec<Vec<u8>>,
    ranks: &'a [u32],
    weights: Vec<u32>,
    wy: Vec<i64>,
    node_of: Vec<u32>,
}

impl LevelBackend for Reversed<'_> {
    type Error = ();

    fn start_tree(&mut self, weights: &[u32], wy: &[i64]) -> Result<(), ()> {
        self.weights = weights.to_vec();
        self.wy = wy.to_vec();
        self.node_of = weights
            .iter()
            .map(|&w| if w > 0 { 0 } else { LEAF })
            .collect();
        Ok(())
    }

    fn histograms(
        &mut self,
        nodes: &[u32],
        ranges_of: &[u32],
        hist: &mut Vec<Bin>,
        ranks: &mut Vec<[u32; 2]>,
    ) -> Result<(), ()> {
        let node_of = &self.node_of;
        let rows_of = |node: u32| {
            (0..node_of.len())
                .rev()
                .filter(move |&r| node_of[r] == node)
        };
        for &node in nodes {
            let mut h = vec![Bin::default(); 10 * 256];
            for r in rows_of(node) {
                for (f, &c) in self.codes[r].iter().enumerate() {
                    let b = &mut h[f * 256 + c as usize];
                    b.rows += 1;
                    b.w += self.weights[r];
                    b.wy += self.wy[r];
                }
            }
            hist.extend(h);
        }
        for &node in ranges_of {
            let range = rows_of(node).fold([u32::MAX, 0], |[lo, hi], r| {
                [lo.min(self.ranks[r]), hi.max(self.ranks[r])]
            });
            ranks.push(range);
        }
        Ok(())
    }

    fn next_level(&mut self, moves: &[Move]) -> Result<(), ()> {
        for r in 0..self.node_of.len() {
            let node = self.node_of[r];
            if node == LEAF {
                continue;
            }
            let m = moves[node as usize];
            self.node_of[r] = match m.feature {
                LEAF => LEAF,
                f if self.codes[r][f as usize] <= m.last_left => m.left,
                _ => m.right,
            };
        }
        Ok(())
    }
}

#[test]
fn trees_do_not_depend_on_the_backend_order_or_chunks() {
    let (x, y) = common::diabetes("diabetes_train.csv");
    let ds = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let trainer = Trainer::new(&ds, &params(8, 5)).unwrap();
    let ranks = forest::target_ranks(&y);
    let mut grower = trainer.level_grower().unwrap();
    let binned = trainer.binned().unwrap();
    let mut reversed = Reversed {
        codes: (0..y.len())
            .map(|r| binned.row_codes(r, 10).to_vec())
            .collect(),
        ranks: &ranks,
        weights: Vec::new(),
        wy: Vec::new(),
        node_of: Vec::new(),
    };
    let reference = forest::train(&ds, &params(8, 5), None).unwrap();
    grower.set_chunk(3);
    let trees: Vec<_> = (0..8)
        .map(|t| {
            trainer
                .build_tree_levels(t, &grower, &mut reversed)
                .unwrap()
        })
        .collect();
    let other = trainer.assemble(&trees, None);
    assert_eq!(bytes(&other), bytes(&reference));
}

/// The larger child's histogram as its parent's minus its sibling's
/// (integers: exact) grows the trees that building every histogram grows,
/// whatever the threshold, on data large enough to derive many.
#[test]
fn derived_histograms_change_no_tree() {
    let (x, y) = common::friedman1(&mut forest::rng::Rng::new(5), 6000);
    let ds = Dataset::new(y.len(), 10, &x, &y).unwrap();
    let trainer = Trainer::new(&ds, &params(3, 9)).unwrap();
    let binned = trainer.binned().unwrap();
    let trees = |derive_min_rows| {
        let mut grower = trainer.level_grower().unwrap();
        grower.set_derive_min_rows(derive_min_rows);
        let mut cpu = forest::CpuLevels::new(binned, 10, trainer.ranks());
        let trees: Vec<_> = (0..3)
            .map(|t| trainer.build_tree_levels(t, &grower, &mut cpu).unwrap())
            .collect();
        bytes(&trainer.assemble(&trees, None))
    };
    let all_built = trees(usize::MAX);
    assert_eq!(trees(0), all_built, "every larger child derived");
    assert_eq!(trees(256), all_built, "the default threshold");
    assert_eq!(
        bytes(&forest::train(&ds, &params(3, 9), None).unwrap()),
        all_built
    );
}

#[test]
fn fixed_point_keeps_sums_within_i64() {
    for (targets, weight) in [
        (vec![346.0, -25.0, 0.5], 353u64),
        (vec![1e148, -1e148], 100),
        (vec![1e-300, 0.0], 1_000_000),
        (vec![0.0, 0.0], 10),
    ] {
        let fp = FixedPoint::new(&targets, weight);
        for &y in &targets {
            let q = fp.quantize(y);
            assert!((q as i128 * weight as i128).abs() < 1i128 << 62, "{y}");
            let back = fp.value(q);
            assert!(
                (back - y).abs() <= y.abs() * 1e-12 + fp.value(1),
                "{y} -> {back}"
            );
        }
    }
    // Diabetes' targets keep ~45 bits below the point: exact to ~3e-14.
    let fp = FixedPoint::new(&[346.0], 353);
    assert_eq!(fp.value(fp.quantize(151.0)), 151.0);
}
