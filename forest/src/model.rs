//! The model file: a fixed header, then the forest.
//!
//! ```text
//! offset size  field
//!      0    8  magic  b"WFOREST\0"
//!      8    2  format version (u16 LE), currently 3
//!     10    2  reserved, 0
//!     12    8  payload length in bytes (u64 LE)
//!     20    4  CRC-32 (IEEE) of the payload (u32 LE)
//!     24    …  payload:
//!              u32 LE  length H of the head
//!              H       head: postcard encoding of n_features, feature_names,
//!                      params, n_train_rows and roots
//!              u32 LE  node count N
//!              20×N    node arrays, little-endian:
//!                      feature u32×N | threshold f32×N | right u32×N | value f64×N
//! ```
//! `left` is not stored: trees are in pre-order, left child first, so a
//! split's left child is the next node and a leaf is a node whose `right` is
//! `u32::MAX`. The node arrays are plain copies, so writing and reading a
//! model costs little more than its checksum (version 2 encoded them as
//! postcard varints, which was most of the time of merging parts in the
//! sandbox). Version 1 predates the `splitter` parameter.
//!
//! Loading checks header, length and checksum before decoding anything, then
//! the tree structure before the forest is used.

use alloc::{format, string::String, vec::Vec};

use serde::{Deserialize, Serialize};

use crate::error::{ForestError, Result};
use crate::forest::Forest;
use crate::params::Params;
use crate::tree::{Nodes, RAW_NODE_BYTES, split_framed};

pub const MAGIC: [u8; 8] = *b"WFOREST\0";
pub const FORMAT_VERSION: u16 = 3;
pub const HEADER_LEN: usize = 24;

fn invalid(m: String) -> ForestError {
    ForestError::InvalidModel(m)
}

/// Everything of a forest but its node arrays (borrowed for writing).
#[derive(Serialize)]
pub(crate) struct HeadRef<'a> {
    pub n_features: u32,
    pub feature_names: &'a Option<Vec<String>>,
    pub params: &'a Params,
    pub n_train_rows: u32,
    pub roots: &'a [u32],
}

/// [`HeadRef`], decoded: the same postcard encoding.
#[derive(Deserialize)]
struct Head {
    n_features: u32,
    feature_names: Option<Vec<String>>,
    params: Params,
    n_train_rows: u32,
    roots: Vec<u32>,
}

/// Serialises a forest into the model file format.
pub fn to_bytes(forest: &Forest) -> Result<Vec<u8>> {
    if let Some(i) = forest.nodes.not_pre_order() {
        return Err(invalid(format!(
            "cannot encode the model: node {i} is not in pre-order, left child first (the file stores no left child ids)"
        )));
    }
    let head = HeadRef {
        n_features: forest.n_features,
        feature_names: &forest.feature_names,
        params: &forest.params,
        n_train_rows: forest.n_train_rows,
        roots: &forest.roots,
    };
    write(&head, forest.nodes.len(), |out| {
        let at = out.len();
        out.resize(at + forest.nodes.len() * RAW_NODE_BYTES, 0);
        forest.nodes.write_raw(&mut out[at..]);
    })
}

/// The model file of `head` and `n` nodes whose raw arrays `fill` appends
/// (exactly `n × RAW_NODE_BYTES` bytes, into room already reserved).
pub(crate) fn write(head: &HeadRef, n: usize, fill: impl FnOnce(&mut Vec<u8>)) -> Result<Vec<u8>> {
    let head = postcard::to_allocvec(head)
        .map_err(|e| invalid(format!("cannot encode the model: {e}")))?;
    let count = u32::try_from(n)
        .map_err(|_| invalid(format!("{n} nodes are more than a model file can hold")))?;
    // One buffer, sized exactly: a buffer that has to grow doubles, and a
    // 100 MB model would then briefly need 300 MB in a sandboxed instance.
    let size = HEADER_LEN + 8 + head.len() + n * RAW_NODE_BYTES;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[0u8; HEADER_LEN - 10]);
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&count.to_le_bytes());
    fill(&mut out);
    assert_eq!(out.len(), size, "fill appends exactly the node arrays");
    // The header's length and checksum are filled in once the payload is
    // written after it.
    let payload_len = (out.len() - HEADER_LEN) as u64;
    let crc = crc32fast::hash(&out[HEADER_LEN..]);
    out[12..20].copy_from_slice(&payload_len.to_le_bytes());
    out[20..24].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes a payload whose checksum matched.
fn decode(payload: &[u8]) -> Result<Forest> {
    let (head, n, arrays): (Head, _, _) = split_framed(payload, "the payload")?;
    let mut nodes = Nodes::default();
    // Child ids out of range are reported by `validate`, with their node.
    nodes.append_raw(arrays, n, 0);
    let forest = Forest {
        n_features: head.n_features,
        feature_names: head.feature_names,
        params: head.params,
        n_train_rows: head.n_train_rows,
        roots: head.roots,
        nodes,
    };
    forest.validate()?;
    Ok(forest)
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
    decode(payload)
}
