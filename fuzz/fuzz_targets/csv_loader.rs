//! The host's CSV loader on arbitrary bytes: errors are fine, panics are not.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

// The loader itself, from the crate the host shares (no wasmtime).
use cli_common::data;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(table) = data::parse_csv(bytes, Path::new("fuzz.csv"), &data::ReadOptions::all(1 << 30)) {
        // Without weights, and with the first column as the weights.
        let first = table.headers.first().cloned();
        for weight in [None, first.as_deref()] {
            if let Ok(xy) = table.for_training(None, weight) {
                assert_eq!(xy.features.len(), xy.n_rows * xy.n_features());
                // Missing features are NaN; infinity never, and targets are all there.
                assert!(xy.features.iter().all(|v| !v.is_infinite()));
                assert!(xy.targets.iter().flatten().all(|y| y.is_finite()));
                // Weights as the forest takes them.
                if let Some((_, w)) = &xy.weights {
                    assert!(forest::check_sample_weight(w, xy.n_rows).is_ok());
                }
            }
        }
        let _ = table.for_prediction(2, None, None, false);
        let _ = table.for_prediction(1, Some(&["a".to_string()]), Some("b"), true);
    }
});
