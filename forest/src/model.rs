//! The model file: a 24-byte header (magic, format version, payload length,
//! CRC-32 of the payload), then the payload: a postcard head (`HeadRef` /
//! `Head`) and the raw node arrays (`Nodes::write_raw`, 20 bytes a node;
//! `left` is not stored, pre-order implies it).
//!
//! The format is specified once, in docs/design.md ("The model file"): the
//! byte table, the head's fields, the limits, the load-time checks and the
//! version history. A change to the header, to `Head` or to the node arrays
//! bumps [`FORMAT_VERSION`] and updates that section.
//!
//! Loading checks header, length and checksum before decoding anything, then
//! the tree structure before the forest is used.

use alloc::{format, string::String, vec::Vec};

use serde::{Deserialize, Serialize};

use crate::ensemble::Forest;
use crate::error::{ForestError, Result};
use crate::params::Params;
use crate::sample::TrainedWeights;
use crate::tree::{Nodes, RAW_NODE_BYTES};

pub const MAGIC: [u8; 8] = *b"WFOREST\0";
pub const FORMAT_VERSION: u16 = 8;
/// The oldest format this build reads: version 7 is version 8 without the
/// sample weights' record ([`HeadV8`]), version 6 is version 7 without the
/// missing-value directions (bit 31 of a split's raw `right`; its forests
/// send missing values right), version 5 is version 6 without the leaf
/// limits in its params ([`ParamsV5`]), version 4 is version 5 without the
/// importances.
pub const OLDEST_READABLE_VERSION: u16 = 4;
pub const HEADER_LEN: usize = 24;
pub use crate::tree::MAX_MODEL_BYTES;

fn invalid(m: String) -> ForestError {
    ForestError::InvalidModel(m)
}

/// Everything of a forest but its node arrays (borrowed for writing).
#[derive(Serialize)]
pub(crate) struct HeadRef<'a> {
    pub n_features: u32,
    pub feature_names: &'a Option<Vec<String>>,
    pub target_name: &'a Option<String>,
    pub params: &'a Params,
    pub n_train_rows: u32,
    pub roots: &'a [u32],
    pub importances: &'a [f64],
    pub sample_weight: &'a Option<TrainedWeights>,
}

/// The head of a version 4 file: [`HeadRef`] without the importances
/// (`P`: the params as that version wrote them).
#[derive(Deserialize)]
struct HeadV4<P> {
    n_features: u32,
    feature_names: Option<Vec<String>>,
    target_name: Option<String>,
    params: P,
    n_train_rows: u32,
    roots: Vec<u32>,
}

/// [`HeadRef`], decoded: postcard writes a struct's fields one after the
/// other, so the version 4 head followed by the importances is the same
/// encoding.
#[derive(Deserialize)]
struct Head<P> {
    base: HeadV4<P>,
    importances: Vec<f64>,
}

/// The head of a version 8 file: the version 7 head, then what the forest
/// keeps of its sample weights.
#[derive(Deserialize)]
struct HeadV8 {
    head: Head<Params>,
    sample_weight: Option<TrainedWeights>,
}

/// [`Params`] as versions 4 and 5 wrote them: without
/// `min_weight_fraction_leaf`, `max_leaf_nodes` and `min_impurity_decrease`,
/// whose defaults (no limit) those forests were grown with.
#[derive(Deserialize)]
struct ParamsV5 {
    n_estimators: u32,
    max_depth: Option<u32>,
    min_samples_split: u32,
    min_samples_leaf: u32,
    max_features: crate::params::MaxFeatures,
    bootstrap: bool,
    max_samples: Option<crate::params::MaxSamples>,
    seed: u64,
    splitter: crate::params::SplitterKind,
}

impl From<ParamsV5> for Params {
    fn from(p: ParamsV5) -> Params {
        Params {
            n_estimators: p.n_estimators,
            max_depth: p.max_depth,
            min_samples_split: p.min_samples_split,
            min_samples_leaf: p.min_samples_leaf,
            max_features: p.max_features,
            bootstrap: p.bootstrap,
            max_samples: p.max_samples,
            seed: p.seed,
            splitter: p.splitter,
            ..Params::default()
        }
    }
}

impl<P: Into<Params>> Head<P> {
    fn upgrade(self) -> Head<Params> {
        let b = self.base;
        Head {
            base: HeadV4 {
                n_features: b.n_features,
                feature_names: b.feature_names,
                target_name: b.target_name,
                params: b.params.into(),
                n_train_rows: b.n_train_rows,
                roots: b.roots,
            },
            importances: self.importances,
        }
    }
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
        target_name: &forest.target_name,
        params: &forest.params,
        n_train_rows: forest.n_train_rows,
        roots: &forest.roots,
        importances: &forest.importances,
        sample_weight: &forest.sample_weight,
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
    check_size(size as u64, n)?;
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

/// Refuses to make a model file of `size` bytes beyond [`MAX_MODEL_BYTES`].
pub fn check_size(size: u64, nodes: usize) -> Result<()> {
    if size > MAX_MODEL_BYTES {
        return Err(invalid(format!(
            "the forest has {nodes} nodes, {} MiB as a model file, beyond the {} MiB limit of a model file (fewer trees, a smaller max_depth or a larger min_samples_leaf make it smaller)",
            size >> 20,
            MAX_MODEL_BYTES >> 20
        )));
    }
    Ok(())
}

/// Splits the framing shared by model payloads and parts,
/// `u32 LE head length H | H bytes postcard(head) | u32 LE node count N |
/// N × RAW_NODE_BYTES of raw node arrays`, into the decoded head, `N` and the
/// arrays, every size checked against the bytes. Errors name `what` ("the
/// payload", "a forest part").
pub(crate) fn split_framed<'a, H: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    what: &str,
) -> Result<(H, usize, &'a [u8])> {
    let invalid = |m: String| ForestError::InvalidModel(m);
    let take_u32 = |b: &'a [u8]| -> Option<(u32, &'a [u8])> {
        let (head, rest) = b.split_first_chunk::<4>()?;
        Some((u32::from_le_bytes(*head), rest))
    };
    let cut = || invalid(format!("cannot decode {what}: it is cut short"));
    let (len, rest) = take_u32(bytes).ok_or_else(cut)?;
    let (head, rest) = rest.split_at_checked(len as usize).ok_or_else(cut)?;
    let head = match postcard::take_from_bytes(head) {
        Ok((h, [])) => h,
        Ok((_, extra)) => {
            return Err(invalid(format!(
                "{} undecoded bytes at the end of the head of {what}",
                extra.len()
            )));
        }
        Err(e) => return Err(invalid(format!("cannot decode {what}: {e}"))),
    };
    let (n, arrays) = take_u32(rest).ok_or_else(cut)?;
    let n = n as usize;
    if arrays.len() != n * RAW_NODE_BYTES {
        return Err(invalid(format!(
            "cannot decode {what}: {n} nodes need {} bytes of node arrays, it has {}",
            n * RAW_NODE_BYTES,
            arrays.len()
        )));
    }
    Ok((head, n, arrays))
}

/// Decodes a payload of format `version` whose checksum matched.
fn decode(payload: &[u8], version: u16) -> Result<Forest> {
    let (
        HeadV8 {
            head: Head {
                base: head,
                importances,
            },
            sample_weight,
        },
        n,
        arrays,
    ) = match version {
        4 => {
            let (base, n, arrays) = split_framed::<HeadV4<ParamsV5>>(payload, "the payload")?;
            let importances = Vec::new();
            (Head { base, importances }.upgrade().into(), n, arrays)
        }
        5 => {
            let (head, n, arrays) = split_framed::<Head<ParamsV5>>(payload, "the payload")?;
            (head.upgrade().into(), n, arrays)
        }
        6 | 7 => {
            let (head, n, arrays) = split_framed::<Head<Params>>(payload, "the payload")?;
            (head.into(), n, arrays)
        }
        _ => split_framed(payload, "the payload")?,
    };
    let mut nodes = Nodes::default();
    // Child ids out of range are reported by `validate`, with their node.
    nodes.append_raw(arrays, n, 0);
    if version < 7
        && let Some(i) = nodes.missing_left.iter().position(|&m| m)
    {
        // Bit 31 meant nothing then: such an id is out of range.
        return Err(invalid(format!(
            "node {i}: child id {} out of range",
            nodes.right[i] | crate::tree::RAW_MISSING_LEFT
        )));
    }
    let forest = Forest {
        n_features: head.n_features,
        feature_names: head.feature_names,
        target_name: head.target_name,
        params: head.params,
        n_train_rows: head.n_train_rows,
        roots: head.roots,
        nodes,
        importances,
        sample_weight,
    };
    forest.validate()?;
    Ok(forest)
}

/// A head of a format before 8: no sample weights.
impl From<Head<Params>> for HeadV8 {
    fn from(head: Head<Params>) -> HeadV8 {
        HeadV8 {
            head,
            sample_weight: None,
        }
    }
}

/// The payload length a model file's header announces, after checking
/// the magic bytes, the format version and the size limit: a reader can
/// refuse a file from its first [`HEADER_LEN`] bytes.
pub fn payload_len(header: &[u8]) -> Result<u64> {
    if header.len() < HEADER_LEN {
        return Err(invalid(format!(
            "{} bytes is too short for a model file (the header alone is {HEADER_LEN} bytes)",
            header.len()
        )));
    }
    if header[..8] != MAGIC {
        return Err(invalid(
            "not a wasm-forest model file (wrong magic bytes)".into(),
        ));
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version > FORMAT_VERSION {
        return Err(invalid(format!(
            "model format version {version} was written by a newer wasm-forest; this build reads version {FORMAT_VERSION}"
        )));
    }
    if version < OLDEST_READABLE_VERSION {
        return Err(invalid(format!(
            "model format version {version} was written by an older wasm-forest (this build reads versions {OLDEST_READABLE_VERSION} to {FORMAT_VERSION}); train the model again"
        )));
    }
    let declared = u64::from_le_bytes(header[12..20].try_into().unwrap());
    if declared > MAX_MODEL_BYTES - HEADER_LEN as u64 {
        return Err(invalid(format!(
            "the header announces {declared} payload bytes, beyond the {} MiB limit of a model file",
            MAX_MODEL_BYTES >> 20
        )));
    }
    Ok(declared)
}

/// Parses and fully validates a model file.
pub fn from_bytes(bytes: &[u8]) -> Result<Forest> {
    let declared = payload_len(bytes)?;
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
    decode(payload, u16::from_le_bytes([bytes[8], bytes[9]]))
}
