//! Pinned model bytes: a refactoring of the engine must grow the same trees.
//!
//! Every case trains a small forest and records the model file's length and
//! CRC-32 (which covers the payload: params, roots and every node) and the
//! CRC-32 of its predictions for a batch of rows. The expected values were
//! taken from the code as it was before the engine was split into one-way
//! layers (commit 0b921c6); any change to any tree fails this test.
//!
//! They are the figures of the model file of format 4 the forest would have
//! been then: format 5 appends the importances to the head, so the test
//! takes them out again ([`as_format_4`]) and pins everything else as it was.
//!
//! `cargo test -p wasm-forest-core --test checksums -- --nocapture` prints
//! the whole list, one line per case, in the form of [`PINNED`].

use forest::part::{Part, merge_bytes};
use forest::{Dataset, MaxFeatures, MaxSamples, Params, SplitterKind, Trainer};

#[path = "../examples/common/mod.rs"]
mod common;

struct Data {
    name: &'static str,
    n_features: usize,
    x: Vec<f32>,
    y: Vec<f64>,
}

impl Data {
    fn dataset(&self) -> Dataset<'_> {
        Dataset::new(self.y.len(), self.n_features, &self.x, &self.y).unwrap()
    }
}

fn diabetes() -> Data {
    let (x, y) = common::diabetes("diabetes_train.csv");
    Data {
        name: "diabetes",
        n_features: 10,
        x,
        y,
    }
}

fn friedman1(name: &'static str, n: usize, seed: u64) -> Data {
    let (x, y) = common::friedman1(&mut forest::rng::Rng::new(seed), n);
    Data {
        name,
        n_features: 10,
        x,
        y,
    }
}

/// Few distinct values per feature (ties everywhere, one bin per value) and
/// integer targets.
fn few_values() -> Data {
    let (n, nf) = (3000, 6);
    let mut rng = forest::rng::Rng::new(40);
    let x: Vec<f32> = (0..n * nf)
        .map(|_| rng.below(40) as f32 * 0.37 - 5.0)
        .collect();
    let y = x
        .chunks(nf)
        .map(|r| {
            (f64::from(r[0]) * 3.0).round()
                + if r[1] > 0.0 { 20.0 } else { 0.0 }
                + rng.below(7) as f64
        })
        .collect();
    Data {
        name: "few40",
        n_features: nf,
        x,
        y,
    }
}

/// How a case's forest is trained.
#[derive(Clone, Copy)]
enum Route {
    /// `forest::train`.
    Train,
    /// `Trainer::from_owned` (the sandbox's path), trees in one call.
    Owned,
    /// Three parts grown separately, merged as bytes.
    Parts,
    /// `auto` with another crossover.
    Crossover(usize),
}

struct Case<'d> {
    name: String,
    data: &'d Data,
    params: Params,
    route: Route,
}

fn params(seed: u64, splitter: SplitterKind, bootstrap: bool, mf: MaxFeatures) -> Params {
    Params {
        n_estimators: 4,
        seed,
        splitter,
        bootstrap,
        max_features: mf,
        ..Params::default()
    }
}

fn cases<'d>(small: &'d [Data], large: &'d Data) -> Vec<Case<'d>> {
    let splitters = [SplitterKind::Exact, SplitterKind::Hist, SplitterKind::Auto];
    let mfs = [
        MaxFeatures::All,
        MaxFeatures::Sqrt,
        MaxFeatures::Count(3),
        MaxFeatures::Fraction(0.7),
    ];
    let mut out = Vec::new();
    let mut add = |data: &'d Data, params: Params, route: Route, extra: &str| {
        let name = format!(
            "{} seed={} {} bootstrap={} mf={}{extra}",
            data.name, params.seed, params.splitter, params.bootstrap, params.max_features
        );
        out.push(Case {
            name,
            data,
            params,
            route,
        });
    };
    for data in small {
        for seed in [0, 42] {
            for splitter in splitters {
                for bootstrap in [true, false] {
                    for mf in mfs {
                        add(
                            data,
                            params(seed, splitter, bootstrap, mf),
                            Route::Train,
                            "",
                        );
                    }
                }
            }
        }
        for splitter in splitters {
            let limits = Params {
                max_depth: Some(7),
                min_samples_split: 12,
                min_samples_leaf: 5,
                ..params(3, splitter, true, MaxFeatures::Log2)
            };
            add(data, limits, Route::Train, " depth=7 split=12 leaf=5");
            let draws = Params {
                max_samples: Some(MaxSamples::Fraction(0.4)),
                ..params(5, splitter, true, MaxFeatures::Sqrt)
            };
            add(data, draws, Route::Train, " max_samples=0.4");
            add(
                data,
                params(9, splitter, true, MaxFeatures::All),
                Route::Owned,
                " owned",
            );
            let parts = Params {
                n_estimators: 7,
                ..params(11, splitter, true, MaxFeatures::Sqrt)
            };
            add(data, parts, Route::Parts, " trees=7 parts");
        }
    }
    for splitter in splitters {
        for mf in [MaxFeatures::All, MaxFeatures::Sqrt] {
            let p = Params {
                n_estimators: 3,
                ..params(1, splitter, true, mf)
            };
            add(large, p, Route::Train, " trees=3");
        }
    }
    for cross in [64, 4096] {
        let p = Params {
            n_estimators: 3,
            max_depth: Some(16),
            ..params(2, SplitterKind::Auto, true, MaxFeatures::All)
        };
        add(
            large,
            p,
            Route::Crossover(cross),
            &format!(" trees=3 depth=16 crossover={cross}"),
        );
    }
    out
}

/// The model file's bytes for a case.
fn model_bytes(case: &Case) -> Vec<u8> {
    let (data, params) = (case.data, &case.params);
    match case.route {
        Route::Train => {
            let f = forest::train(&data.dataset(), params, None).unwrap();
            forest::model::to_bytes(&f).unwrap()
        }
        Route::Owned => {
            let (n, nf) = (data.y.len(), data.n_features);
            let t =
                Trainer::from_owned(n, nf, (data.x.clone(), data.y.clone()), None, params).unwrap();
            let trees = t.build_trees(0..params.n_estimators);
            forest::model::to_bytes(&t.assemble(&trees, None)).unwrap()
        }
        Route::Parts => {
            let t = Trainer::new(&data.dataset(), params).unwrap();
            let n = params.n_estimators;
            let parts = [(0, 3), (3, 1), (4, n - 4)].map(|(first, count)| {
                let part = Part::grow(&t, first, count, None, None, |_| {}).unwrap();
                part.to_bytes().unwrap()
            });
            merge_bytes(parts.into()).unwrap()
        }
        Route::Crossover(rows) => {
            let mut t = Trainer::new(&data.dataset(), params).unwrap();
            t.set_auto_exact_rows(rows);
            let trees = t.build_trees(0..params.n_estimators);
            forest::model::to_bytes(&t.assemble(&trees, None)).unwrap()
        }
    }
}

/// The length and payload CRC of model file `bytes` (format 8) written as
/// format 4: the params without the leaf limits (format 6's last three
/// fields, 17 bytes of postcard when unset: two f64 zeros and `None`), the
/// head without its last two fields, the importances (postcard: a one-byte
/// length, below 128 features, and 8 bytes each) and format 8's sample
/// weights (`None`, one byte), and the splits' `right` without format 7's
/// missing-value direction (bit 31).
fn as_format_4(bytes: &[u8], params: &Params, n_features: usize) -> (usize, u32) {
    assert!(n_features < 128);
    assert_eq!(
        (
            params.min_weight_fraction_leaf,
            params.max_leaf_nodes,
            params.min_impurity_decrease
        ),
        (0.0, None, 0.0)
    );
    let limits = 17;
    let encoded = postcard::to_allocvec(params).unwrap();
    let cut = 1 + 8 * n_features + 1;
    let head_len = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
    let head = &bytes[28..28 + head_len];
    assert_eq!(head[head_len - 1], 0, "trained without sample weights");
    let at = head
        .windows(encoded.len())
        .position(|w| w == encoded)
        .expect("the params are in the head");
    let params_end = at + encoded.len();
    let mut payload = Vec::new();
    payload.extend_from_slice(&((head_len - cut - limits) as u32).to_le_bytes());
    payload.extend_from_slice(&head[..params_end - limits]);
    payload.extend_from_slice(&head[params_end..head_len - cut]);
    let nodes = &bytes[28 + head_len..];
    let n = u32::from_le_bytes(nodes[..4].try_into().unwrap()) as usize;
    let at = payload.len();
    payload.extend_from_slice(nodes);
    for word in payload[at + 4 + 8 * n..at + 4 + 12 * n].chunks_exact_mut(4) {
        let right = u32::from_le_bytes(word.try_into().unwrap());
        if right != forest::LEAF {
            word.copy_from_slice(&(right & !forest::RAW_MISSING_LEFT).to_le_bytes());
        }
    }
    (24 + payload.len(), crc32fast::hash(&payload))
}

/// (model length, model CRC, CRC of the predictions for the first 500 rows).
fn checksums(case: &Case) -> (usize, u32, u32) {
    let bytes = model_bytes(case);
    let model = forest::model::from_bytes(&bytes).unwrap();
    assert_eq!(model.importances.len(), case.data.n_features);
    let (len, crc) = as_format_4(&bytes, &model.params, case.data.n_features);
    let rows = case.data.y.len().min(500);
    let x = &case.data.x[..rows * case.data.n_features];
    let predictions: Vec<u8> = model
        .predict(x, rows)
        .unwrap()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    (len, crc, crc32fast::hash(&predictions))
}

#[test]
fn every_pinned_case_grows_the_same_model_bytes() {
    // 700 rows: under `auto`, a bootstrap sample's root (about 440 in-bag
    // rows) is below the crossover and the whole tree grows exact on a copy.
    let small = [
        diabetes(),
        friedman1("friedman1:700", 700, 13),
        friedman1("friedman1:2000", 2000, 17),
        few_values(),
    ];
    let large = friedman1("friedman1:30000", 30_000, 23);
    let cases = cases(&small, &large);
    let mut wrong = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (len, crc, pred) = checksums(case);
        println!("    ({len}, 0x{crc:08x}, 0x{pred:08x}), // {}", case.name);
        match PINNED.get(i) {
            Some(&pinned) if pinned == (len, crc, pred) => {}
            pinned => wrong.push(format!(
                "{}: {:x?} pinned, {:x?} now",
                case.name,
                pinned,
                (len, crc, pred)
            )),
        }
    }
    assert_eq!(cases.len(), PINNED.len(), "one pinned line per case");
    assert!(
        wrong.is_empty(),
        "{} cases changed:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Taken at commit 0b921c6, in the order of [`cases`].
#[rustfmt::skip]
const PINNED: &[(usize, u32, u32)] = &[
    (34454, 0x4f1fbfc7, 0x8a583071), // diabetes seed=0 exact bootstrap=true mf=all
    (34894, 0xde8b7e59, 0x82a6b266), // diabetes seed=0 exact bootstrap=true mf=sqrt
    (34895, 0x135b147e, 0x82a6b266), // diabetes seed=0 exact bootstrap=true mf=3
    (34502, 0x03c23918, 0xdaa64f6d), // diabetes seed=0 exact bootstrap=true mf=0.7
    (55334, 0xb2439a69, 0xbb5cb6b3), // diabetes seed=0 exact bootstrap=false mf=all
    (55334, 0x7e453eed, 0xbb5cb6b3), // diabetes seed=0 exact bootstrap=false mf=sqrt
    (55335, 0x960f8e3e, 0xbb5cb6b3), // diabetes seed=0 exact bootstrap=false mf=3
    (55222, 0x081a1823, 0xbb5cb6b3), // diabetes seed=0 exact bootstrap=false mf=0.7
    (34454, 0xb42205b8, 0xe61d91b2), // diabetes seed=0 hist bootstrap=true mf=all
    (34894, 0x5b8a80e0, 0x5dcf5f12), // diabetes seed=0 hist bootstrap=true mf=sqrt
    (34895, 0x965aeac7, 0x5dcf5f12), // diabetes seed=0 hist bootstrap=true mf=3
    (34542, 0xba88e07c, 0xd8540ff5), // diabetes seed=0 hist bootstrap=true mf=0.7
    (55334, 0x8d32a36d, 0xbb5cb6b3), // diabetes seed=0 hist bootstrap=false mf=all
    (55494, 0xa1d167b1, 0xbb5cb6b3), // diabetes seed=0 hist bootstrap=false mf=sqrt
    (55495, 0xd1540ca7, 0xbb5cb6b3), // diabetes seed=0 hist bootstrap=false mf=3
    (55222, 0xaab251c2, 0xbb5cb6b3), // diabetes seed=0 hist bootstrap=false mf=0.7
    (34454, 0xdaab3e41, 0x8a583071), // diabetes seed=0 auto bootstrap=true mf=all
    (34894, 0x93564e99, 0x82a6b266), // diabetes seed=0 auto bootstrap=true mf=sqrt
    (34895, 0x5e8624be, 0x82a6b266), // diabetes seed=0 auto bootstrap=true mf=3
    (34502, 0x4c43b9c1, 0xdaa64f6d), // diabetes seed=0 auto bootstrap=true mf=0.7
    (55334, 0x734470c8, 0xbb5cb6b3), // diabetes seed=0 auto bootstrap=false mf=all
    (55334, 0xbf42d44c, 0xbb5cb6b3), // diabetes seed=0 auto bootstrap=false mf=sqrt
    (55335, 0x5708649f, 0xbb5cb6b3), // diabetes seed=0 auto bootstrap=false mf=3
    (55222, 0x4d0d9927, 0xbb5cb6b3), // diabetes seed=0 auto bootstrap=false mf=0.7
    (35534, 0xc62d9147, 0x9e2d07a1), // diabetes seed=42 exact bootstrap=true mf=all
    (35854, 0x0f28a48a, 0xae80f486), // diabetes seed=42 exact bootstrap=true mf=sqrt
    (35855, 0x32be7258, 0xae80f486), // diabetes seed=42 exact bootstrap=true mf=3
    (35462, 0xd3054186, 0xaa40807c), // diabetes seed=42 exact bootstrap=true mf=0.7
    (55334, 0x31acbc63, 0xbb5cb6b3), // diabetes seed=42 exact bootstrap=false mf=all
    (55654, 0xf2e25e54, 0xbb5cb6b3), // diabetes seed=42 exact bootstrap=false mf=sqrt
    (55655, 0x4635bb42, 0xbb5cb6b3), // diabetes seed=42 exact bootstrap=false mf=3
    (55222, 0x2286e3b8, 0xbb5cb6b3), // diabetes seed=42 exact bootstrap=false mf=0.7
    (35534, 0x8ded0e08, 0x9e2d07a1), // diabetes seed=42 hist bootstrap=true mf=all
    (35854, 0x9a4d14d2, 0xae80f486), // diabetes seed=42 hist bootstrap=true mf=sqrt
    (35855, 0xa7dbc200, 0xae80f486), // diabetes seed=42 hist bootstrap=true mf=3
    (35462, 0x747e7df9, 0x8da2dfa8), // diabetes seed=42 hist bootstrap=true mf=0.7
    (55334, 0xbbb75e2e, 0xbb5cb6b3), // diabetes seed=42 hist bootstrap=false mf=all
    (55654, 0x2c056217, 0xbb5cb6b3), // diabetes seed=42 hist bootstrap=false mf=sqrt
    (55655, 0x98d28701, 0xbb5cb6b3), // diabetes seed=42 hist bootstrap=false mf=3
    (55222, 0xf776b6e0, 0xbb5cb6b3), // diabetes seed=42 hist bootstrap=false mf=0.7
    (35534, 0xe722d54e, 0x9e2d07a1), // diabetes seed=42 auto bootstrap=true mf=all
    (35854, 0x0097b05a, 0xae80f486), // diabetes seed=42 auto bootstrap=true mf=sqrt
    (35855, 0x3d016688, 0xae80f486), // diabetes seed=42 auto bootstrap=true mf=3
    (35462, 0x9f0a527d, 0xaa40807c), // diabetes seed=42 auto bootstrap=true mf=0.7
    (55334, 0xf0ab56c2, 0xbb5cb6b3), // diabetes seed=42 auto bootstrap=false mf=all
    (55654, 0xb9317f05, 0xbb5cb6b3), // diabetes seed=42 auto bootstrap=false mf=sqrt
    (55655, 0x0de69a13, 0xbb5cb6b3), // diabetes seed=42 auto bootstrap=false mf=3
    (55222, 0x679162bc, 0xbb5cb6b3), // diabetes seed=42 auto bootstrap=false mf=0.7
    (4533, 0x32038d3d, 0xfa490333), // diabetes seed=3 exact bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (18303, 0x70dd37a8, 0x91733e10), // diabetes seed=5 exact bootstrap=true mf=sqrt max_samples=0.4
    (34654, 0x326916ae, 0x970b3ccf), // diabetes seed=9 exact bootstrap=true mf=all owned
    (61600, 0xdb7c76ab, 0x07a54b0b), // diabetes seed=11 exact bootstrap=true mf=sqrt trees=7 parts
    (4533, 0x5c6a63de, 0xfa490333), // diabetes seed=3 hist bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (18303, 0x08ea8daf, 0xfd34bf08), // diabetes seed=5 hist bootstrap=true mf=sqrt max_samples=0.4
    (34654, 0x5588aeed, 0xfa03c753), // diabetes seed=9 hist bootstrap=true mf=all owned
    (61560, 0x7996497f, 0x83ea4264), // diabetes seed=11 hist bootstrap=true mf=sqrt trees=7 parts
    (4533, 0x831f7e97, 0xfa490333), // diabetes seed=3 auto bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (18303, 0x6129a296, 0x91733e10), // diabetes seed=5 auto bootstrap=true mf=sqrt max_samples=0.4
    (34654, 0x495838a6, 0x970b3ccf), // diabetes seed=9 auto bootstrap=true mf=all owned
    (61600, 0x1d63e449, 0x07a54b0b), // diabetes seed=11 auto bootstrap=true mf=sqrt trees=7 parts
    (71654, 0xc20416c1, 0xb78dcb58), // friedman1:700 seed=0 exact bootstrap=true mf=all
    (71654, 0xe72f794c, 0x5173a005), // friedman1:700 seed=0 exact bootstrap=true mf=sqrt
    (71655, 0xae40ffbf, 0x5173a005), // friedman1:700 seed=0 exact bootstrap=true mf=3
    (71662, 0x3d7170ac, 0x00a8b9cc), // friedman1:700 seed=0 exact bootstrap=true mf=0.7
    (111974, 0xf57a7989, 0x5d771d82), // friedman1:700 seed=0 exact bootstrap=false mf=all
    (111974, 0xbb51a974, 0x5d771d82), // friedman1:700 seed=0 exact bootstrap=false mf=sqrt
    (111975, 0xf10d7ec2, 0x5d771d82), // friedman1:700 seed=0 exact bootstrap=false mf=3
    (111982, 0x76591d56, 0x5d771d82), // friedman1:700 seed=0 exact bootstrap=false mf=0.7
    (71654, 0xa001cc3e, 0x6f4147e3), // friedman1:700 seed=0 hist bootstrap=true mf=all
    (71654, 0x79798324, 0x1b33a36f), // friedman1:700 seed=0 hist bootstrap=true mf=sqrt
    (71655, 0x301605d7, 0x1b33a36f), // friedman1:700 seed=0 hist bootstrap=true mf=3
    (71662, 0x3aab0723, 0x16a1fc8b), // friedman1:700 seed=0 hist bootstrap=true mf=0.7
    (111974, 0x7180fdc7, 0x5d771d82), // friedman1:700 seed=0 hist bootstrap=false mf=all
    (111974, 0x289093b7, 0x5d771d82), // friedman1:700 seed=0 hist bootstrap=false mf=sqrt
    (111975, 0x62cc4401, 0x5d771d82), // friedman1:700 seed=0 hist bootstrap=false mf=3
    (111982, 0x864b470c, 0x5d771d82), // friedman1:700 seed=0 hist bootstrap=false mf=0.7
    (71654, 0xb041730d, 0xb78dcb58), // friedman1:700 seed=0 auto bootstrap=true mf=all
    (71654, 0x956a1c80, 0x5173a005), // friedman1:700 seed=0 auto bootstrap=true mf=sqrt
    (71655, 0xdc059a73, 0x5173a005), // friedman1:700 seed=0 auto bootstrap=true mf=3
    (71662, 0x4f341560, 0x00a8b9cc), // friedman1:700 seed=0 auto bootstrap=true mf=0.7
    (111974, 0xee6ea882, 0x5d771d82), // friedman1:700 seed=0 auto bootstrap=false mf=all
    (111974, 0xf8b500fd, 0x5d771d82), // friedman1:700 seed=0 auto bootstrap=false mf=sqrt
    (111975, 0xb2e9d74b, 0x5d771d82), // friedman1:700 seed=0 auto bootstrap=false mf=3
    (111982, 0x488ad16e, 0x5d771d82), // friedman1:700 seed=0 auto bootstrap=false mf=0.7
    (70254, 0x29217aa0, 0x6eafc015), // friedman1:700 seed=42 exact bootstrap=true mf=all
    (70254, 0xfe49eb24, 0x94d10443), // friedman1:700 seed=42 exact bootstrap=true mf=sqrt
    (70255, 0x419212ef, 0x94d10443), // friedman1:700 seed=42 exact bootstrap=true mf=3
    (70262, 0x8908e844, 0x0c22891b), // friedman1:700 seed=42 exact bootstrap=true mf=0.7
    (111974, 0xc3ff3ce1, 0x5d771d82), // friedman1:700 seed=42 exact bootstrap=false mf=all
    (111974, 0x51373d41, 0x5d771d82), // friedman1:700 seed=42 exact bootstrap=false mf=sqrt
    (111975, 0x1b6beaf7, 0x5d771d82), // friedman1:700 seed=42 exact bootstrap=false mf=3
    (111982, 0x7a79c3b4, 0x5d771d82), // friedman1:700 seed=42 exact bootstrap=false mf=0.7
    (70254, 0x735cae69, 0xf98c4b1a), // friedman1:700 seed=42 hist bootstrap=true mf=all
    (70254, 0xbdf797f3, 0x5201093c), // friedman1:700 seed=42 hist bootstrap=true mf=sqrt
    (70255, 0x022c6e38, 0x5201093c), // friedman1:700 seed=42 hist bootstrap=true mf=3
    (70262, 0x684c88c3, 0x3acc806e), // friedman1:700 seed=42 hist bootstrap=true mf=0.7
    (111974, 0x478abace, 0x5d771d82), // friedman1:700 seed=42 hist bootstrap=false mf=all
    (111974, 0xf480d6d3, 0x5d771d82), // friedman1:700 seed=42 hist bootstrap=false mf=sqrt
    (111975, 0xbedc0165, 0x5d771d82), // friedman1:700 seed=42 hist bootstrap=false mf=3
    (111982, 0x143d6ad5, 0x5d771d82), // friedman1:700 seed=42 hist bootstrap=false mf=0.7
    (70254, 0x435d0504, 0x6eafc015), // friedman1:700 seed=42 auto bootstrap=true mf=all
    (70254, 0x94359480, 0x94d10443), // friedman1:700 seed=42 auto bootstrap=true mf=sqrt
    (70255, 0x2bee6d4b, 0x94d10443), // friedman1:700 seed=42 auto bootstrap=true mf=3
    (70262, 0xe37497e0, 0x0c22891b), // friedman1:700 seed=42 auto bootstrap=true mf=0.7
    (111974, 0xfad15537, 0x5d771d82), // friedman1:700 seed=42 auto bootstrap=false mf=all
    (111974, 0x301c076d, 0x5d771d82), // friedman1:700 seed=42 auto bootstrap=false mf=sqrt
    (111975, 0x7a40d0db, 0x5d771d82), // friedman1:700 seed=42 auto bootstrap=false mf=3
    (111982, 0xdbb8474d, 0x5d771d82), // friedman1:700 seed=42 auto bootstrap=false mf=0.7
    (7214, 0x8b8d0b9b, 0x96b39858), // friedman1:700 seed=3 exact bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (37623, 0xf60194f0, 0x9bd5612b), // friedman1:700 seed=5 exact bootstrap=true mf=sqrt max_samples=0.4
    (71414, 0x0d25c7a1, 0xb1fe6436), // friedman1:700 seed=9 exact bootstrap=true mf=all owned
    (122200, 0xf10adfa8, 0xb9a4a7af), // friedman1:700 seed=11 exact bootstrap=true mf=sqrt trees=7 parts
    (6974, 0xf1dbae14, 0x32169e0a), // friedman1:700 seed=3 hist bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (37623, 0x8e8f1596, 0xf55c7965), // friedman1:700 seed=5 hist bootstrap=true mf=sqrt max_samples=0.4
    (71414, 0xade7a500, 0xa1440100), // friedman1:700 seed=9 hist bootstrap=true mf=all owned
    (122200, 0xcb67690c, 0xef018336), // friedman1:700 seed=11 hist bootstrap=true mf=sqrt trees=7 parts
    (7214, 0xb8f56d24, 0x96b39858), // friedman1:700 seed=3 auto bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (37623, 0x13bacfd4, 0x9bd5612b), // friedman1:700 seed=5 auto bootstrap=true mf=sqrt max_samples=0.4
    (71414, 0x3fbd9d68, 0xb1fe6436), // friedman1:700 seed=9 auto bootstrap=true mf=all owned
    (122200, 0x2f53bcd6, 0xb9a4a7af), // friedman1:700 seed=11 auto bootstrap=true mf=sqrt trees=7 parts
    (201894, 0x86c13da0, 0xb845d3dc), // friedman1:2000 seed=0 exact bootstrap=true mf=all
    (201894, 0xed1bc32b, 0x5fa06540), // friedman1:2000 seed=0 exact bootstrap=true mf=sqrt
    (201895, 0xde3fea35, 0x5fa06540), // friedman1:2000 seed=0 exact bootstrap=true mf=3
    (201902, 0xc747997c, 0x3d59d51d), // friedman1:2000 seed=0 exact bootstrap=true mf=0.7
    (319974, 0x1084d4be, 0xa54bbc12), // friedman1:2000 seed=0 exact bootstrap=false mf=all
    (319974, 0xc8b550e3, 0xa54bbc12), // friedman1:2000 seed=0 exact bootstrap=false mf=sqrt
    (319975, 0xf03260a1, 0xa54bbc12), // friedman1:2000 seed=0 exact bootstrap=false mf=3
    (319982, 0x9c7e6e3c, 0xa54bbc12), // friedman1:2000 seed=0 exact bootstrap=false mf=0.7
    (201894, 0x47de388f, 0x55f3d248), // friedman1:2000 seed=0 hist bootstrap=true mf=all
    (201894, 0x65de21fe, 0x04ca186f), // friedman1:2000 seed=0 hist bootstrap=true mf=sqrt
    (201895, 0x56fa08e0, 0x04ca186f), // friedman1:2000 seed=0 hist bootstrap=true mf=3
    (201902, 0xc203cd36, 0x94e0b5b6), // friedman1:2000 seed=0 hist bootstrap=true mf=0.7
    (319974, 0x6e62195a, 0xa54bbc12), // friedman1:2000 seed=0 hist bootstrap=false mf=all
    (319974, 0x0f0e8681, 0xa54bbc12), // friedman1:2000 seed=0 hist bootstrap=false mf=sqrt
    (319975, 0x3789b6c3, 0xa54bbc12), // friedman1:2000 seed=0 hist bootstrap=false mf=3
    (319982, 0xdb076701, 0xa54bbc12), // friedman1:2000 seed=0 hist bootstrap=false mf=0.7
    (201894, 0x717b3c27, 0x9317b787), // friedman1:2000 seed=0 auto bootstrap=true mf=all
    (201894, 0x824c6fa1, 0xf67dbd7d), // friedman1:2000 seed=0 auto bootstrap=true mf=sqrt
    (201895, 0xb16846bf, 0xf67dbd7d), // friedman1:2000 seed=0 auto bootstrap=true mf=3
    (201902, 0x114986cc, 0xcfdf88e2), // friedman1:2000 seed=0 auto bootstrap=true mf=0.7
    (319974, 0x53dd9c15, 0xa54bbc12), // friedman1:2000 seed=0 auto bootstrap=false mf=all
    (319974, 0x09ee7ad3, 0xa54bbc12), // friedman1:2000 seed=0 auto bootstrap=false mf=sqrt
    (319975, 0x31694a91, 0xa54bbc12), // friedman1:2000 seed=0 auto bootstrap=false mf=3
    (319982, 0xcb0c3d44, 0xa54bbc12), // friedman1:2000 seed=0 auto bootstrap=false mf=0.7
    (200654, 0xd5abd90f, 0xe36f1f3c), // friedman1:2000 seed=42 exact bootstrap=true mf=all
    (200654, 0xa33deff3, 0xb4dbd906), // friedman1:2000 seed=42 exact bootstrap=true mf=sqrt
    (200655, 0xebf5ddd6, 0xb4dbd906), // friedman1:2000 seed=42 exact bootstrap=true mf=3
    (200662, 0x8d5f86a8, 0x8d17d6cf), // friedman1:2000 seed=42 exact bootstrap=true mf=0.7
    (319974, 0x00addef6, 0xa54bbc12), // friedman1:2000 seed=42 exact bootstrap=false mf=all
    (319974, 0xfadd133d, 0xa54bbc12), // friedman1:2000 seed=42 exact bootstrap=false mf=sqrt
    (319975, 0xc25a237f, 0xa54bbc12), // friedman1:2000 seed=42 exact bootstrap=false mf=3
    (319982, 0x18ef84a9, 0xa54bbc12), // friedman1:2000 seed=42 exact bootstrap=false mf=0.7
    (200654, 0xa54ff33e, 0xb3fbe939), // friedman1:2000 seed=42 hist bootstrap=true mf=all
    (200654, 0x832b9497, 0xc023d647), // friedman1:2000 seed=42 hist bootstrap=true mf=sqrt
    (200655, 0xcbe3a6b2, 0xc023d647), // friedman1:2000 seed=42 hist bootstrap=true mf=3
    (200662, 0x5f492704, 0x29292c52), // friedman1:2000 seed=42 hist bootstrap=true mf=0.7
    (319974, 0xde4397e3, 0xa54bbc12), // friedman1:2000 seed=42 hist bootstrap=false mf=all
    (319974, 0x0f3fd4e0, 0xa54bbc12), // friedman1:2000 seed=42 hist bootstrap=false mf=sqrt
    (319975, 0x37b8e4a2, 0xa54bbc12), // friedman1:2000 seed=42 hist bootstrap=false mf=3
    (319982, 0x6cbcf4c8, 0xa54bbc12), // friedman1:2000 seed=42 hist bootstrap=false mf=0.7
    (200654, 0xad1f5881, 0x96e64c2b), // friedman1:2000 seed=42 auto bootstrap=true mf=all
    (200654, 0x3b8f5fdb, 0x0c4d5406), // friedman1:2000 seed=42 auto bootstrap=true mf=sqrt
    (200655, 0x73476dfe, 0x0c4d5406), // friedman1:2000 seed=42 auto bootstrap=true mf=3
    (200662, 0x0af16f40, 0x030045a5), // friedman1:2000 seed=42 auto bootstrap=true mf=0.7
    (319974, 0xa84af446, 0xa54bbc12), // friedman1:2000 seed=42 auto bootstrap=false mf=all
    (319974, 0xd8e91ccb, 0xa54bbc12), // friedman1:2000 seed=42 auto bootstrap=false mf=sqrt
    (319975, 0xe06e2c89, 0xa54bbc12), // friedman1:2000 seed=42 auto bootstrap=false mf=3
    (319982, 0x1c19d758, 0xa54bbc12), // friedman1:2000 seed=42 auto bootstrap=false mf=0.7
    (12815, 0xa1fff199, 0xb4272406), // friedman1:2000 seed=3 exact bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (105943, 0x2e49078a, 0xba0f55ff), // friedman1:2000 seed=5 exact bootstrap=true mf=sqrt max_samples=0.4
    (203454, 0x749d6d01, 0xd22c91c5), // friedman1:2000 seed=9 exact bootstrap=true mf=all owned
    (351960, 0x9490f69e, 0xbd22569f), // friedman1:2000 seed=11 exact bootstrap=true mf=sqrt trees=7 parts
    (12935, 0xb93abbc6, 0x40de63cd), // friedman1:2000 seed=3 hist bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (105943, 0xee12c630, 0xcf9a3bbb), // friedman1:2000 seed=5 hist bootstrap=true mf=sqrt max_samples=0.4
    (203454, 0x2ce0a491, 0x26ccfe5b), // friedman1:2000 seed=9 hist bootstrap=true mf=all owned
    (351960, 0x46f0c1a8, 0x1f79aa60), // friedman1:2000 seed=11 hist bootstrap=true mf=sqrt trees=7 parts
    (12495, 0x02082e7f, 0x9a13db2a), // friedman1:2000 seed=3 auto bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (105943, 0x3d06d3db, 0xd06ac552), // friedman1:2000 seed=5 auto bootstrap=true mf=sqrt max_samples=0.4
    (203454, 0xcd58cf53, 0x9ae33791), // friedman1:2000 seed=9 auto bootstrap=true mf=all owned
    (351960, 0xa29c8d0a, 0x0650beca), // friedman1:2000 seed=11 auto bootstrap=true mf=sqrt trees=7 parts
    (207534, 0xd25a1fa4, 0xeeda9d5e), // few40 seed=0 exact bootstrap=true mf=all
    (256694, 0x50b8082a, 0xe24d4e5e), // few40 seed=0 exact bootstrap=true mf=sqrt
    (232535, 0x2ace7ec8, 0x6a6dd5be), // few40 seed=0 exact bootstrap=true mf=3
    (218102, 0x61d3b37c, 0x27a81d45), // few40 seed=0 exact bootstrap=true mf=0.7
    (316094, 0xf3d00bbc, 0x0298c312), // few40 seed=0 exact bootstrap=false mf=all
    (393734, 0xd571a8bf, 0x0298c312), // few40 seed=0 exact bootstrap=false mf=sqrt
    (365095, 0x30fbc228, 0x0298c312), // few40 seed=0 exact bootstrap=false mf=3
    (339142, 0x6ca59131, 0x0298c312), // few40 seed=0 exact bootstrap=false mf=0.7
    (207534, 0x06fb0e04, 0xeeda9d5e), // few40 seed=0 hist bootstrap=true mf=all
    (256694, 0xec114efe, 0xe24d4e5e), // few40 seed=0 hist bootstrap=true mf=sqrt
    (232535, 0xe0e362c1, 0x6a6dd5be), // few40 seed=0 hist bootstrap=true mf=3
    (218102, 0xca1eb6ba, 0x27a81d45), // few40 seed=0 hist bootstrap=true mf=0.7
    (316094, 0xa33c5f60, 0x0298c312), // few40 seed=0 hist bootstrap=false mf=all
    (393734, 0xd54ddba1, 0x0298c312), // few40 seed=0 hist bootstrap=false mf=sqrt
    (365095, 0xae981df4, 0x0298c312), // few40 seed=0 hist bootstrap=false mf=3
    (339142, 0x07a54cf5, 0x0298c312), // few40 seed=0 hist bootstrap=false mf=0.7
    (207534, 0xa0693aa5, 0xeeda9d5e), // few40 seed=0 auto bootstrap=true mf=all
    (256694, 0xf29b83c3, 0xe24d4e5e), // few40 seed=0 auto bootstrap=true mf=sqrt
    (232535, 0x65e5409b, 0x6a6dd5be), // few40 seed=0 auto bootstrap=true mf=3
    (218102, 0xed38beb1, 0x27a81d45), // few40 seed=0 auto bootstrap=true mf=0.7
    (316094, 0x5208a204, 0x0298c312), // few40 seed=0 auto bootstrap=false mf=all
    (393734, 0xd5094e83, 0x0298c312), // few40 seed=0 auto bootstrap=false mf=sqrt
    (365095, 0xd74d7bd1, 0x0298c312), // few40 seed=0 auto bootstrap=false mf=3
    (339142, 0xbaa42ab9, 0x0298c312), // few40 seed=0 auto bootstrap=false mf=0.7
    (207534, 0x8fa12ba7, 0xa668a9d7), // few40 seed=42 exact bootstrap=true mf=all
    (256334, 0x2aac5368, 0x7ffb0634), // few40 seed=42 exact bootstrap=true mf=sqrt
    (232775, 0x28902c32, 0xaead6449), // few40 seed=42 exact bootstrap=true mf=3
    (219102, 0xb8e15d44, 0x36b6321a), // few40 seed=42 exact bootstrap=true mf=0.7
    (316334, 0x5f00dcc0, 0x0298c312), // few40 seed=42 exact bootstrap=false mf=all
    (394654, 0xd00277bf, 0x0298c312), // few40 seed=42 exact bootstrap=false mf=sqrt
    (363055, 0x2c246b93, 0x0298c312), // few40 seed=42 exact bootstrap=false mf=3
    (337622, 0xb5a3e4fb, 0x0298c312), // few40 seed=42 exact bootstrap=false mf=0.7
    (207534, 0x5b003a07, 0xa668a9d7), // few40 seed=42 hist bootstrap=true mf=all
    (256334, 0x358e53de, 0x7ffb0634), // few40 seed=42 hist bootstrap=true mf=sqrt
    (232775, 0x7f2efc40, 0xaead6449), // few40 seed=42 hist bootstrap=true mf=3
    (219102, 0xbd6e3831, 0x36b6321a), // few40 seed=42 hist bootstrap=true mf=0.7
    (316334, 0xfaba5697, 0x0298c312), // few40 seed=42 hist bootstrap=false mf=all
    (394654, 0x52197d95, 0x0298c312), // few40 seed=42 hist bootstrap=false mf=sqrt
    (363055, 0x4f13b01f, 0x0298c312), // few40 seed=42 hist bootstrap=false mf=3
    (337622, 0xcbdcf8fe, 0x0298c312), // few40 seed=42 hist bootstrap=false mf=0.7
    (207534, 0xfd920ea6, 0xa668a9d7), // few40 seed=42 auto bootstrap=true mf=all
    (256334, 0x14e85204, 0x7ffb0634), // few40 seed=42 auto bootstrap=true mf=sqrt
    (232775, 0x87ed8cd6, 0xaead6449), // few40 seed=42 auto bootstrap=true mf=3
    (219102, 0xb3ff97ae, 0x36b6321a), // few40 seed=42 auto bootstrap=true mf=0.7
    (316334, 0xcf04ce2f, 0x0298c312), // few40 seed=42 auto bootstrap=false mf=all
    (394654, 0x0f4565aa, 0x0298c312), // few40 seed=42 auto bootstrap=false mf=sqrt
    (363055, 0xea4bdc8b, 0x0298c312), // few40 seed=42 auto bootstrap=false mf=3
    (337622, 0x495ddcf1, 0x0298c312), // few40 seed=42 auto bootstrap=false mf=0.7
    (12774, 0x814a118a, 0x20edb86f), // few40 seed=3 exact bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (134903, 0x49dc313d, 0xb8ac0028), // few40 seed=5 exact bootstrap=true mf=sqrt max_samples=0.4
    (204814, 0xa33664dd, 0xe07ab0cc), // few40 seed=9 exact bootstrap=true mf=all owned
    (447361, 0x6ca262af, 0xb9fc0dff), // few40 seed=11 exact bootstrap=true mf=sqrt trees=7 parts
    (12774, 0x21d05345, 0x20edb86f), // few40 seed=3 hist bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (134903, 0x53e60c4b, 0xb8ac0028), // few40 seed=5 hist bootstrap=true mf=sqrt max_samples=0.4
    (204814, 0x9652eed7, 0xe07ab0cc), // few40 seed=9 hist bootstrap=true mf=all owned
    (447361, 0x20088c6f, 0xb9fc0dff), // few40 seed=11 hist bootstrap=true mf=sqrt trees=7 parts
    (12774, 0x1b0f9255, 0x20edb86f), // few40 seed=3 auto bootstrap=true mf=log2 depth=7 split=12 leaf=5
    (134903, 0x7da84bd1, 0xb8ac0028), // few40 seed=5 auto bootstrap=true mf=sqrt max_samples=0.4
    (204814, 0xc9ff70c9, 0xe07ab0cc), // few40 seed=9 auto bootstrap=true mf=all owned
    (447361, 0xf5f7bf2f, 0xb9fc0dff), // few40 seed=11 auto bootstrap=true mf=sqrt trees=7 parts
    (2275035, 0xdb6a106c, 0x8036ebbe), // friedman1:30000 seed=1 exact bootstrap=true mf=all trees=3
    (2275035, 0xc81bd91d, 0x9b856bb0), // friedman1:30000 seed=1 exact bootstrap=true mf=sqrt trees=3
    (2275035, 0x2ba12a5c, 0x5acae00f), // friedman1:30000 seed=1 hist bootstrap=true mf=all trees=3
    (2275035, 0x4ed93b28, 0x39070273), // friedman1:30000 seed=1 hist bootstrap=true mf=sqrt trees=3
    (2275035, 0xac176055, 0xdc2ab0d1), // friedman1:30000 seed=1 auto bootstrap=true mf=all trees=3
    (2275035, 0x512bdd50, 0x0f5d87bc), // friedman1:30000 seed=1 auto bootstrap=true mf=sqrt trees=3
    (1372956, 0x95be97d8, 0xf09b6cc8), // friedman1:30000 seed=2 auto bootstrap=true mf=all trees=3 depth=16 crossover=64
    (1362036, 0xb4c1b562, 0xc1d6d6a1), // friedman1:30000 seed=2 auto bootstrap=true mf=all trees=3 depth=16 crossover=4096
];
