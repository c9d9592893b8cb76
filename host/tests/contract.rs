//! The WIT contract, tested as an embedder uses it: bindings generated from
//! `wit/` by this test itself, its own engine and store, nothing from the host
//! crate. And the component's embedded interface must be exactly `wit/`'s.

use std::collections::BTreeMap;
use std::path::Path;

use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceAny, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wit_parser::{Resolve, Type, TypeDefKind, WorldItem};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "forest-lib",
    with: {
        "wasm-forest:forest/gpu.gpu-forest": NoForest,
        "wasm-forest:forest/gpu.gpu-training-set": NoForest,
        // The monotonic clock is wasmtime-wasi's (or, below, hand-made).
        "wasi": wasmtime_wasi::p2::bindings::sync,
    },
});

use self::wasm_forest::forest::gpu::{
    self, AdapterInfo, FlatForest, GpuError, LevelHistograms, RowMove,
};
use exports::wasm_forest::forest::forest::{
    Dataset, Device, ForestError, Guest, MaxFeatures, MaxSamples, Params, Splitter,
};

/// This embedder lends no GPU: its `gpu-forest` and `gpu-training-set`
/// never exist.
pub struct NoForest;

struct State {
    ctx: WasiCtx,
    table: ResourceTable,
    reports: Vec<(u32, u32)>,
}

impl self::wasm_forest::forest::progress::Host for State {
    fn report(&mut self, trees_done: u32, trees_total: u32) {
        self.reports.push((trees_done, trees_total));
    }
}

fn no_gpu() -> GpuError {
    GpuError::NoAdapter("this embedder lends no GPU".into())
}

impl gpu::Host for State {
    fn adapter(&mut self) -> Result<AdapterInfo, GpuError> {
        Err(no_gpu())
    }
}

impl gpu::HostGpuForest for State {
    fn upload(&mut self, _forest: FlatForest) -> Result<Resource<NoForest>, GpuError> {
        Err(no_gpu())
    }

    fn predict(
        &mut self,
        _forest: Resource<NoForest>,
        _features: Vec<f32>,
        _n_rows: u32,
    ) -> Result<Vec<f32>, GpuError> {
        Err(no_gpu())
    }

    fn drop(&mut self, _forest: Resource<NoForest>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl gpu::HostGpuTrainingSet for State {
    fn upload(
        &mut self,
        _n_features: u32,
        _codes: Vec<u8>,
        _ranks: Vec<u32>,
    ) -> Result<Resource<NoForest>, GpuError> {
        Err(no_gpu())
    }

    fn start_tree(
        &mut self,
        _set: Resource<NoForest>,
        _weights: Vec<u32>,
        _weighted_targets: Vec<i64>,
    ) -> Result<(), GpuError> {
        Err(no_gpu())
    }

    fn histograms(
        &mut self,
        _set: Resource<NoForest>,
        _nodes: Vec<u32>,
        _ranges_of: Vec<u32>,
    ) -> Result<LevelHistograms, GpuError> {
        Err(no_gpu())
    }

    fn next_level(
        &mut self,
        _set: Resource<NoForest>,
        _moves: Vec<RowMove>,
    ) -> Result<(), GpuError> {
        Err(no_gpu())
    }

    fn drop(&mut self, _set: Resource<NoForest>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

const COMPONENT: &str = env!("WASM_FOREST_COMPONENT");

/// `progress` and `gpu`; the world's monotonic clock is WASI's (or the test's).
fn add_ours_to_linker(linker: &mut Linker<State>) {
    self::wasm_forest::forest::progress::add_to_linker::<_, HasSelf<_>>(linker, |s| s).unwrap();
    gpu::add_to_linker::<_, HasSelf<_>>(linker, |s| s).unwrap();
}

fn instance() -> (Store<State>, ForestLib) {
    let engine = Engine::default();
    let component = Component::from_file(&engine, COMPONENT).unwrap();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    add_ours_to_linker(&mut linker);
    let mut store = Store::new(
        &engine,
        State {
            ctx: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            reports: Vec::new(),
        },
    );
    let lib = ForestLib::instantiate(&mut store, &component, &linker).unwrap();
    (store, lib)
}

fn api(lib: &ForestLib) -> &Guest {
    lib.wasm_forest_forest_forest()
}

fn data(n: u32) -> Dataset {
    let features: Vec<f32> = (0..n * 2).map(|i| (i % 17) as f32 * 0.5).collect();
    let targets: Vec<f64> = (0..n).map(|i| f64::from(i % 5) * 10.0).collect();
    Dataset {
        n_rows: n,
        n_features: 2,
        features,
        targets,
        feature_names: Some(vec!["a".into(), "b".into()]),
        target_name: None,
        sample_weight: None,
    }
}

fn params(lib: &ForestLib, store: &mut Store<State>) -> Params {
    Params {
        n_estimators: 5,
        seed: 1,
        ..api(lib).call_default_params(store).unwrap()
    }
}

#[test]
fn default_params_are_scikit_learns() {
    let (mut store, lib) = instance();
    let p = api(&lib).call_default_params(&mut store).unwrap();
    assert_eq!(
        (
            p.n_estimators,
            p.max_depth,
            p.min_samples_split,
            p.min_samples_leaf
        ),
        (100, None, 2, 1)
    );
    assert!(matches!(p.max_features, MaxFeatures::All));
    assert!(p.bootstrap && p.max_samples.is_none());
    assert!(matches!(p.splitter, Splitter::Auto));
}

#[test]
fn parts_merge_into_trains_bytes_and_progress_reaches_the_total() {
    let (mut store, lib) = instance();
    let p = Params {
        n_estimators: 9,
        ..params(&lib, &mut store)
    };
    let whole = api(&lib)
        .call_train(&mut store, &data(80), p)
        .unwrap()
        .unwrap();
    let reports = std::mem::take(&mut store.data_mut().reports);
    assert_eq!(reports.last(), Some(&(9, 9)), "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 == 9));
    let mut parts = Vec::new();
    for (first, count) in [(6, 3), (0, 4), (4, 2)] {
        parts.push(
            api(&lib)
                .call_train_part(&mut store, &data(80), p, first, count)
                .unwrap()
                .unwrap(),
        );
        assert_eq!(store.data().reports.last(), Some(&(count, count)));
    }
    let merged = api(&lib)
        .call_merge_parts(&mut store, &parts)
        .unwrap()
        .unwrap();
    assert_eq!(merged, whole);
    let r = api(&lib)
        .call_merge_parts(&mut store, &[parts[0].clone(), parts[2].clone()])
        .unwrap();
    assert!(
        matches!(&r, Err(ForestError::InvalidModel(m)) if m.contains("uncovered")),
        "{r:?}"
    );
    let r = api(&lib)
        .call_train_part(&mut store, &data(80), p, 8, 2)
        .unwrap();
    assert!(matches!(r, Err(ForestError::InvalidParams(m)) if m.contains("0..9")));
}

#[test]
fn without_a_gpu_auto_runs_on_the_cpu_and_gpu_is_an_error() {
    let (mut store, lib) = instance();
    let p = params(&lib, &mut store);
    let bytes = api(&lib)
        .call_train(&mut store, &data(50), p)
        .unwrap()
        .unwrap();
    let model = api(&lib)
        .model()
        .call_from_bytes(&mut store, &bytes)
        .unwrap()
        .unwrap();
    let rows = [0.5f32, 1.0, 6.0, 2.5, 3.0, 3.0];
    let cpu = api(&lib)
        .model()
        .call_predict(&mut store, model, &rows, 3)
        .unwrap()
        .unwrap();
    let on = |store: &mut Store<State>, device| {
        api(&lib)
            .model()
            .call_predict_on(store, model, &rows, 3, device)
            .unwrap()
    };
    let c = on(&mut store, Device::Cpu).unwrap();
    assert_eq!(
        (c.values.as_slice(), c.device, c.note),
        (&cpu[..], Device::Cpu, None)
    );
    let a = on(&mut store, Device::Auto).unwrap();
    assert_eq!((a.values.as_slice(), a.device), (&cpu[..], Device::Cpu));
    assert!(a.note.unwrap().contains("this embedder lends no GPU"));
    let g = on(&mut store, Device::Gpu);
    assert!(
        matches!(&g, Err(ForestError::Gpu(GpuError::NoAdapter(m))) if m.contains("lends no GPU")),
        "{g:?}"
    );
    // Bad input is invalid-data on every device, before any GPU is asked.
    for device in [Device::Cpu, Device::Gpu, Device::Auto] {
        let r = api(&lib)
            .model()
            .call_predict_on(&mut store, model, &rows[..5], 3, device)
            .unwrap();
        assert!(
            matches!(r, Err(ForestError::InvalidData(_))),
            "{device:?}: {r:?}"
        );
    }
}

#[test]
fn every_export_works_on_valid_input() {
    let (mut store, lib) = instance();
    let p = Params {
        max_features: MaxFeatures::Count(1),
        max_samples: Some(MaxSamples::Fraction(0.8)),
        ..params(&lib, &mut store)
    };
    let bytes = api(&lib)
        .call_train(&mut store, &data(60), p)
        .unwrap()
        .unwrap();
    let model = api(&lib)
        .model()
        .call_from_bytes(&mut store, &bytes)
        .unwrap()
        .unwrap();
    let info = api(&lib).model().call_info(&mut store, model).unwrap();
    assert_eq!(
        (info.n_trees, info.n_features, info.n_train_rows),
        (5, 2, 60)
    );
    assert_eq!(
        info.feature_names,
        Some(vec!["a".to_string(), "b".to_string()])
    );
    assert!(info.n_nodes >= 5 && info.n_leaves > 0);
    assert!(matches!(info.params.max_samples, Some(MaxSamples::Fraction(f)) if f == 0.8));
    assert_eq!(info.sample_weight_total, None);
    // Sample weights: their sum in the model, and the out-of-bag estimate
    // asks for them again.
    let mut weighted = data(60);
    weighted.sample_weight = Some((0..60).map(|i| f64::from(i % 4)).collect());
    let bytes = api(&lib)
        .call_train(&mut store, &weighted, p)
        .unwrap()
        .unwrap();
    let wmodel = api(&lib)
        .model()
        .call_from_bytes(&mut store, &bytes)
        .unwrap()
        .unwrap();
    let info = api(&lib).model().call_info(&mut store, wmodel).unwrap();
    assert_eq!(info.sample_weight_total, Some(90.0));
    let oob = |store: &mut Store<State>, w: Option<&[f64]>| {
        api(&lib)
            .model()
            .call_out_of_bag(store, wmodel, &weighted.features, 0, 60, w)
            .unwrap()
    };
    let weights = weighted.sample_weight.as_deref();
    assert_eq!(oob(&mut store, weights).unwrap().predictions.len(), 60);
    assert!(
        matches!(oob(&mut store, None), Err(ForestError::InvalidData(m)) if m.contains("trained with sample weights"))
    );
    let p = api(&lib)
        .model()
        .call_predict(&mut store, model, &[0.0, 0.0, 8.0, 8.0, 3.0, 1.0], 3)
        .unwrap()
        .unwrap();
    assert_eq!(p.len(), 3);
    model.resource_drop(&mut store).unwrap();
}

#[test]
fn every_forest_error_case_comes_back_as_err_not_a_trap() {
    let (mut store, lib) = instance();
    let p = params(&lib, &mut store);
    let train = |store: &mut Store<State>, d: &Dataset, p: Params| {
        api(&lib).call_train(store, d, p).unwrap()
    };
    assert!(
        matches!(train(&mut store, &data(10), Params { n_estimators: 0, ..p }), Err(ForestError::InvalidParams(m)) if m.contains("n_estimators"))
    );
    assert!(matches!(
        train(
            &mut store,
            &data(10),
            Params {
                max_depth: Some(0),
                ..p
            }
        ),
        Err(ForestError::InvalidParams(_))
    ));
    assert!(matches!(
        train(
            &mut store,
            &data(10),
            Params {
                max_features: MaxFeatures::Count(3),
                ..p
            }
        ),
        Err(ForestError::InvalidParams(_))
    ));
    assert!(matches!(
        train(
            &mut store,
            &data(10),
            Params {
                bootstrap: false,
                max_samples: Some(MaxSamples::Count(2)),
                ..p
            }
        ),
        Err(ForestError::InvalidParams(_))
    ));
    let mut short = data(10);
    short.features.pop();
    assert!(
        matches!(train(&mut store, &short, p), Err(ForestError::InvalidData(m)) if m.contains("features has 19 values"))
    );
    let mut nan = data(10);
    nan.targets[3] = f64::NAN;
    assert!(
        matches!(train(&mut store, &nan, p), Err(ForestError::InvalidData(m)) if m.contains("row 3"))
    );
    let mut weighted = data(10);
    weighted.sample_weight = Some(vec![1.0; 9]);
    assert!(
        matches!(train(&mut store, &weighted, p), Err(ForestError::InvalidData(m)) if m.contains("sample_weight has 9 values"))
    );
    weighted.sample_weight = Some([vec![1.0; 9], vec![-2.0]].concat());
    assert!(
        matches!(train(&mut store, &weighted, p), Err(ForestError::InvalidData(m)) if m.contains("sample weight of row 9 is -2.0"))
    );
    weighted.sample_weight = Some(vec![0.5; 10]);
    let level = Params {
        splitter: Splitter::Level,
        bootstrap: false,
        ..p
    };
    assert!(
        matches!(train(&mut store, &weighted, level), Err(ForestError::InvalidParams(m)) if m.contains("splitter level"))
    );
    let mut names = data(10);
    names.feature_names = Some(vec!["only-one".into()]);
    assert!(matches!(
        train(&mut store, &names, p),
        Err(ForestError::InvalidData(_))
    ));
    let empty = Dataset {
        n_rows: 0,
        n_features: 2,
        features: vec![],
        targets: vec![],
        feature_names: None,
        target_name: None,
        sample_weight: None,
    };
    assert!(matches!(
        train(&mut store, &empty, p),
        Err(ForestError::InvalidData(_))
    ));
    for bad in [
        &b""[..],
        b"WFOREST\0garbage",
        b"not a model at all, just text......",
    ] {
        let r = api(&lib).model().call_from_bytes(&mut store, bad).unwrap();
        assert!(matches!(r, Err(ForestError::InvalidModel(_))), "{bad:?}");
    }
    let bytes = train(&mut store, &data(30), p).unwrap();
    let model = api(&lib)
        .model()
        .call_from_bytes(&mut store, &bytes)
        .unwrap()
        .unwrap();
    let wrong = api(&lib)
        .model()
        .call_predict(&mut store, model, &[1.0, 2.0, 3.0], 2)
        .unwrap();
    assert!(matches!(wrong, Err(ForestError::InvalidData(m)) if m.contains("2 features")));
    let inf = api(&lib)
        .model()
        .call_predict(&mut store, model, &[1.0, f32::INFINITY], 1)
        .unwrap();
    assert!(matches!(inf, Err(ForestError::InvalidData(_))));
    // After all those errors the same instance still works.
    assert_eq!(
        api(&lib)
            .model()
            .call_predict(&mut store, model, &[1.0, 2.0], 1)
            .unwrap()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn many_models_alive_dropped_in_any_order_and_no_use_after_drop() {
    let (mut store, lib) = instance();
    let base = params(&lib, &mut store);
    let rows = [0.5f32, 1.0, 6.0, 2.5];
    let mut models: Vec<(ResourceAny, Vec<f64>)> = Vec::new();
    for seed in 0..6 {
        let bytes = api(&lib)
            .call_train(&mut store, &data(40), Params { seed, ..base })
            .unwrap()
            .unwrap();
        let m = api(&lib)
            .model()
            .call_from_bytes(&mut store, &bytes)
            .unwrap()
            .unwrap();
        let p = api(&lib)
            .model()
            .call_predict(&mut store, m, &rows, 2)
            .unwrap()
            .unwrap();
        models.push((m, p));
    }
    for i in [3, 0, 4, 1, 5, 2] {
        let (m, _) = models[i];
        m.resource_drop(&mut store).unwrap();
        // The survivors still answer exactly as before.
        for (j, (other, expected)) in models.iter().enumerate() {
            if j != i && !dropped_before(i, j) {
                assert_eq!(
                    &api(&lib)
                        .model()
                        .call_predict(&mut store, *other, &rows, 2)
                        .unwrap()
                        .unwrap(),
                    expected
                );
            }
        }
        // The dropped handle is dead: the runtime refuses it; nothing reaches the guest.
        assert!(
            api(&lib)
                .model()
                .call_predict(&mut store, m, &rows, 2)
                .is_err()
        );
        assert!(m.resource_drop(&mut store).is_err());
    }
}

/// In the drop order 3, 0, 4, 1, 5, 2: was `j` dropped before `i`?
fn dropped_before(i: usize, j: usize) -> bool {
    let order = [3, 0, 4, 1, 5, 2];
    order.iter().position(|&x| x == j) < order.iter().position(|&x| x == i)
}

/// Interface contents as comparable text: every type and function with its
/// full structure, keyed by name.
fn describe(resolve: &Resolve, iface: wit_parser::InterfaceId) -> BTreeMap<String, String> {
    let i = &resolve.interfaces[iface];
    let mut out = BTreeMap::new();
    for (name, id) in &i.types {
        out.insert(
            format!("type {name}"),
            typedef(resolve, &resolve.types[*id].kind),
        );
    }
    for (name, f) in &i.functions {
        let params: Vec<String> = f
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, ty(resolve, &p.ty)))
            .collect();
        let result = f
            .result
            .as_ref()
            .map(|t| ty(resolve, t))
            .unwrap_or_default();
        out.insert(
            format!("func {name}"),
            format!("{} ({}) -> {result}", kind(f), params.join(", ")),
        );
    }
    out
}

fn kind(f: &wit_parser::Function) -> &'static str {
    match f.kind {
        wit_parser::FunctionKind::Freestanding => "func",
        wit_parser::FunctionKind::Method(_) => "method",
        wit_parser::FunctionKind::Static(_) => "static",
        wit_parser::FunctionKind::Constructor(_) => "constructor",
        _ => "async",
    }
}

fn ty(r: &Resolve, t: &Type) -> String {
    match t {
        Type::Id(id) => {
            let def = &r.types[*id];
            match &def.name {
                Some(n) => n.clone(),
                None => typedef(r, &def.kind),
            }
        }
        other => format!("{other:?}").to_lowercase(),
    }
}

fn typedef(r: &Resolve, k: &TypeDefKind) -> String {
    match k {
        TypeDefKind::Record(rec) => {
            let f: Vec<String> = rec
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name, ty(r, &f.ty)))
                .collect();
            format!("record {{ {} }}", f.join(", "))
        }
        TypeDefKind::Variant(v) => {
            let c: Vec<String> = v
                .cases
                .iter()
                .map(|c| {
                    format!(
                        "{}({})",
                        c.name,
                        c.ty.as_ref().map(|t| ty(r, t)).unwrap_or_default()
                    )
                })
                .collect();
            format!("variant {{ {} }}", c.join(", "))
        }
        TypeDefKind::Enum(e) => {
            let c: Vec<&str> = e.cases.iter().map(|c| c.name.as_str()).collect();
            format!("enum {{ {} }}", c.join(", "))
        }
        TypeDefKind::Option(t) => format!("option<{}>", ty(r, t)),
        TypeDefKind::List(t) => format!("list<{}>", ty(r, t)),
        TypeDefKind::Result(res) => format!(
            "result<{}, {}>",
            res.ok.as_ref().map(|t| ty(r, t)).unwrap_or_default(),
            res.err.as_ref().map(|t| ty(r, t)).unwrap_or_default()
        ),
        TypeDefKind::Handle(wit_parser::Handle::Own(id)) => {
            format!("own<{}>", r.types[*id].name.clone().unwrap_or_default())
        }
        TypeDefKind::Handle(wit_parser::Handle::Borrow(id)) => {
            format!("borrow<{}>", r.types[*id].name.clone().unwrap_or_default())
        }
        TypeDefKind::Resource => "resource".into(),
        TypeDefKind::Type(t) => ty(r, t),
        other => format!("{other:?}"),
    }
}

/// The interfaces a world imports or exports, by name; any other kind of
/// world item (a bare function or type) would break the contract.
fn interfaces(
    resolve: &Resolve,
    world: wit_parser::WorldId,
    exports: bool,
) -> Vec<(String, wit_parser::InterfaceId)> {
    let w = &resolve.worlds[world];
    let items = if exports { &w.exports } else { &w.imports };
    items
        .iter()
        .map(|(key, item)| match item {
            WorldItem::Interface { id, .. } => (resolve.name_world_key(key), *id),
            _ => panic!(
                "world item {} is not an interface",
                resolve.name_world_key(key)
            ),
        })
        .collect()
}

#[test]
fn the_component_exports_exactly_the_wit_package_interface() {
    let bytes = std::fs::read(COMPONENT).unwrap();
    let (built, built_world) = match wit_parser::decoding::decode(&bytes).unwrap() {
        wit_parser::decoding::DecodedWasm::Component(r, w) => (r, w),
        _ => panic!("{COMPONENT} is not a component"),
    };
    let mut source = Resolve::default();
    let (pkg, _) = source
        .push_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit"))
        .unwrap();
    let source_world = source.select_world(&[pkg], Some("forest-lib")).unwrap();

    let built_exports = interfaces(&built, built_world, true);
    let source_exports = interfaces(&source, source_world, true);
    let names = |v: &[(String, wit_parser::InterfaceId)]| {
        v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&built_exports), names(&source_exports));
    assert_eq!(
        names(&built_exports),
        vec!["wasm-forest:forest/forest@0.1.0".to_string()]
    );
    assert_eq!(
        describe(&built, built_exports[0].1),
        describe(&source, source_exports[0].1)
    );
    // Imports: our progress and gpu interfaces, as in wit/, and WASI (from
    // Rust's standard library).
    let ours = |r: &Resolve, w| -> Vec<(String, wit_parser::InterfaceId)> {
        interfaces(r, w, false)
            .into_iter()
            .filter(|(n, _)| !n.starts_with("wasi:"))
            .collect()
    };
    let (built_imports, source_imports) = (ours(&built, built_world), ours(&source, source_world));
    assert_eq!(
        names(&built_imports),
        vec![
            "wasm-forest:forest/progress@0.1.0".to_string(),
            "wasm-forest:forest/gpu@0.1.0".to_string()
        ]
    );
    assert_eq!(names(&built_imports), names(&source_imports));
    for ((_, b), (_, s)) in built_imports.iter().zip(&source_imports) {
        assert_eq!(describe(&built, *b), describe(&source, *s));
    }
}

/// The component's own world, decoded from its bytes: what it really imports
/// and exports, whatever `wit/` says.
fn built_world() -> (Resolve, wit_parser::WorldId) {
    let bytes = std::fs::read(COMPONENT).unwrap();
    match wit_parser::decoding::decode(&bytes).unwrap() {
        wit_parser::decoding::DecodedWasm::Component(r, w) => (r, w),
        _ => panic!("{COMPONENT} is not a component"),
    }
}

/// An embedder must provide every interface the library imports, so it
/// imports only what it uses: our `progress` and `gpu`, and from WASI the
/// monotonic clock's `now` (progress throttling). Not the stdio, terminals,
/// environment or exit that Rust's std would bring.
#[test]
fn the_library_imports_only_progress_gpu_and_the_monotonic_clock() {
    let (built, world) = built_world();
    let mut imports = interfaces(&built, world, false);
    imports.sort();
    let names: Vec<&str> = imports.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "wasi:clocks/monotonic-clock@0.2.0",
            "wasm-forest:forest/gpu@0.1.0",
            "wasm-forest:forest/progress@0.1.0",
        ]
    );
    let clock = describe(&built, imports[0].1);
    assert_eq!(
        clock
            .keys()
            .filter(|k| k.starts_with("func"))
            .collect::<Vec<_>>(),
        ["func now"],
        "{clock:?}"
    );
}

/// Nanoseconds of the hand-made clock below; a second per reading.
static CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The same imports, seen from the embedder's side: a linker with no WASI
/// at all but a hand-made monotonic clock instantiates the library, and
/// progress is throttled by that clock (a second per reading: every tree is
/// reported).
#[test]
fn an_embedder_without_wasi_needs_only_a_monotonic_clock() {
    let engine = Engine::default();
    let component = Component::from_file(&engine, COMPONENT).unwrap();
    let mut linker = Linker::<State>::new(&engine);
    add_ours_to_linker(&mut linker);
    linker
        .instance("wasi:clocks/monotonic-clock@0.2.0")
        .unwrap()
        .func_wrap("now", |_, (): ()| {
            let step = 1_000_000_000;
            Ok((CLOCK.fetch_add(step, std::sync::atomic::Ordering::Relaxed) + step,))
        })
        .unwrap();
    let mut store = Store::new(
        &engine,
        State {
            ctx: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            reports: Vec::new(),
        },
    );
    let lib = ForestLib::instantiate(&mut store, &component, &linker).unwrap();
    let p = Params {
        n_estimators: 3,
        ..params(&lib, &mut store)
    };
    api(&lib)
        .call_train(&mut store, &data(40), p)
        .unwrap()
        .unwrap();
    assert_eq!(store.data().reports, [(1, 3), (2, 3), (3, 3)]);
}
