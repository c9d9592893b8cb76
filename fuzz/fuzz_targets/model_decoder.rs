//! The model-file decoder on arbitrary bytes: it must reject or accept without
//! panicking, and an accepted model must predict without panicking or looping.
//!
//! A random file almost never has a valid CRC, so the input is tried as a
//! whole file, and as a payload behind a correct header of every version
//! the decoder reads (4, without importances; 5, without the leaf limits;
//! 6, without missing-value directions; 7), which lets the fuzzer reach the
//! payload decoding and the structure checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn exercise(bytes: &[u8]) {
    let Ok(f) = forest::model::from_bytes(bytes) else { return };
    let info = f.info();
    assert_eq!(info.n_trees as usize, f.roots.len());
    let nf = f.n_features as usize;
    if nf <= 4096 {
        // Every third value missing: both walks, with and without NaN.
        let rows: Vec<f32> = (0..3 * nf).map(|i| (i as f32 - 7.0) * 0.37).collect();
        let p = f.predict(&rows, 3).expect("a validated model predicts valid input");
        assert_eq!(p.len(), 3);
        let gaps: Vec<f32> = rows
            .iter()
            .enumerate()
            .map(|(i, &v)| if i % 3 == 0 { f32::NAN } else { v })
            .collect();
        let p = f.predict(&gaps, 3).expect("a validated model predicts missing values");
        assert_eq!(p.len(), 3);
    }
    let again = forest::model::to_bytes(&f).unwrap();
    assert_eq!(forest::model::from_bytes(&again).unwrap(), f);
}

fuzz_target!(|bytes: &[u8]| {
    exercise(bytes);
    for version in forest::model::OLDEST_READABLE_VERSION..=forest::model::FORMAT_VERSION {
        let mut file = Vec::with_capacity(forest::model::HEADER_LEN + bytes.len());
        file.extend_from_slice(&forest::model::MAGIC);
        file.extend_from_slice(&version.to_le_bytes());
        file.extend_from_slice(&0u16.to_le_bytes());
        file.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        file.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
        file.extend_from_slice(bytes);
        exercise(&file);
    }
});
