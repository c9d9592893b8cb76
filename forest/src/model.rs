//! The model file: a fixed header, then the forest as a postcard payload.
//!
//! ```text
//! offset size  field
//!      0    8  magic  b"WFOREST\0"
//!      8    2  format version (u16 LE), currently 2 (1: before `splitter`)
//!     10    2  reserved, 0
//!     12    8  payload length in bytes (u64 LE)
//!     20    4  CRC-32 (IEEE) of the payload (u32 LE)
//!     24    …  payload: postcard encoding of `Forest`
//! ```
//! Loading checks header, length and checksum before decoding anything, then
//! the tree structure before the forest is used.

use crate::error::{ForestError, Result};
use crate::forest::Forest;

pub const MAGIC: [u8; 8] = *b"WFOREST\0";
pub const FORMAT_VERSION: u16 = 2;
pub const HEADER_LEN: usize = 24;

fn invalid(m: String) -> ForestError {
    ForestError::InvalidModel(m)
}

/// Serialises a forest into the model file format.
pub fn to_bytes(forest: &Forest) -> Result<Vec<u8>> {
    // The header's length and checksum are filled in once the payload is
    // written after it: one buffer, sized up front for the whole payload
    // (a buffer that has to grow doubles, and a 100 MB model would then
    // briefly need 300 MB in a sandboxed instance).
    let capacity = HEADER_LEN + encoded_size_bound(forest);
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[0u8; HEADER_LEN - 10]);
    let mut out = postcard::to_extend(forest, out)
        .map_err(|e| invalid(format!("cannot encode the model: {e}")))?;
    debug_assert!(out.len() <= capacity, "the size bound is wrong");
    let payload_len = (out.len() - HEADER_LEN) as u64;
    let crc = crc32fast::hash(&out[HEADER_LEN..]);
    out[12..20].copy_from_slice(&payload_len.to_le_bytes());
    out[20..24].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Bytes of postcard's varint for `v`.
fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).max(1).div_ceil(7)
}

/// At least the postcard size of `forest`: exact for the node arrays, with
/// room to spare for the few small fields.
fn encoded_size_bound(forest: &Forest) -> usize {
    let n = &forest.nodes;
    let varints = |a: &[u32]| a.iter().map(|&v| varint_len(u64::from(v))).sum::<usize>();
    let names: usize = forest
        .feature_names
        .iter()
        .flatten()
        .map(|s| s.len() + 10)
        .sum();
    1024 + names
        + 5 * forest.roots.len()
        + varints(&n.feature)
        + varints(&n.left)
        + varints(&n.right)
        + 4 * n.threshold.len()
        + 8 * n.value.len()
        + 5 * 5
}

/// Parses and fully validates a model file.
pub fn from_bytes(bytes: &[u8]) -> Result<Forest> {
    if bytes.len() < HEADER_LEN {
        return Err(invalid(format!(
            "{} bytes is too short for a model file (the header alone is {HEADER_LEN} bytes)",
            bytes.len()
        )));
    }
    if bytes[..8] != MAGIC {
        return Err(invalid(
            "not a wasm-forest model file (wrong magic bytes)".into(),
        ));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version > FORMAT_VERSION {
        return Err(invalid(format!(
            "model format version {version} was written by a newer wasm-forest; this build reads version {FORMAT_VERSION}"
        )));
    }
    if version != FORMAT_VERSION {
        return Err(invalid(format!(
            "model format version {version} was written by an older wasm-forest (this build reads version {FORMAT_VERSION}); train the model again"
        )));
    }
    let declared = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
    let actual = (bytes.len() - HEADER_LEN) as u64;
    if actual < declared {
        return Err(invalid(format!(
            "truncated: the header announces {declared} payload bytes, the file has {actual}"
        )));
    }
    if actual > declared {
        return Err(invalid(format!(
            "{} trailing bytes after the {declared}-byte payload",
            actual - declared
        )));
    }
    let payload = &bytes[HEADER_LEN..];
    let stored = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(invalid(format!(
            "checksum mismatch (stored {stored:08x}, computed {computed:08x}): the file is corrupted"
        )));
    }
    let decoded =
        crate::tree::exact::with_limit(payload.len(), || postcard::take_from_bytes(payload));
    let (forest, rest): (Forest, _) =
        decoded.map_err(|e| invalid(format!("cannot decode the payload: {e}")))?;
    if !rest.is_empty() {
        return Err(invalid(format!(
            "{} undecoded bytes at the end of the payload",
            rest.len()
        )));
    }
    forest.validate()?;
    Ok(forest)
}

#[cfg(test)]
mod size_tests {
    use super::varint_len;

    #[test]
    fn varint_lengths_are_postcards() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let bytes = postcard::to_allocvec(&v).unwrap();
            assert_eq!(varint_len(v), bytes.len(), "{v}");
        }
    }
}
