//! The crate's modules depend one way: each uses only modules below it in
//! [`LAYERS`] (the order lib.rs documents), so there is no cycle.

/// Bottom first.
const LAYERS: &[&str] = &[
    "error",
    "rng",
    "frontier",
    "criterion",
    "tree",
    "importance",
    "params",
    "sample",
    "dataset",
    "ensemble",
    "validate",
    "predict",
    "model",
    "workspace",
    "split",
    "exact",
    "hist",
    "builder",
    "levels",
    "sklearn",
    "trainer",
    "oob",
    "permutation",
    "part",
];

/// The modules `source` names as `crate::module`, outside comments and
/// its `#[cfg(test)]` part.
fn uses(source: &str) -> Vec<&'static str> {
    let code = source.split("#[cfg(test)]").next().unwrap();
    let mut used = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap();
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            // `crate::{a, b::c}` names several.
            let names = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap(),
                None => rest,
            };
            for name in names.split(',') {
                let name = name
                    .trim()
                    .split(|c: char| !c.is_alphanumeric() && c != '_');
                if let Some(m) = LAYERS.iter().find(|m| Some(**m) == name.clone().next()) {
                    used.push(*m);
                }
            }
        }
    }
    used
}

#[test]
fn modules_use_only_modules_below_them() {
    let src = format!("{}/src", env!("CARGO_MANIFEST_DIR"));
    // A module is `name.rs` or a folder `name/` (all its files count).
    let mut modules: Vec<(String, Vec<std::path::PathBuf>)> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "lib.rs")
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_string();
            let files = if p.is_dir() {
                std::fs::read_dir(&p)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect()
            } else {
                vec![p]
            };
            (name, files)
        })
        .collect();
    modules.sort();
    let mut wrong = Vec::new();
    for (module, files) in &modules {
        let Some(level) = LAYERS.iter().position(|m| m == module) else {
            wrong.push(format!("{module} is not in LAYERS (nor in lib.rs's list)"));
            continue;
        };
        for file in files {
            let source = std::fs::read_to_string(file).unwrap();
            for used in uses(&source) {
                let below = LAYERS.iter().position(|m| *m == used).unwrap();
                if used != module && below > level {
                    wrong.push(format!("{module} uses {used}, a layer above it"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
