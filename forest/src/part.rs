//! Parts of a forest: trees `first..first + n` grown by one worker, to be
//! merged with the other workers' parts into exactly the forest (and model
//! bytes) that one `train` call produces.
//!
//! Parts only travel between a host and its own component instances, and the
//! merge is on the critical path of parallel training, so the node arrays
//! travel as raw little-endian arrays (a copy, not a varint encoding) behind a
//! small postcard header. Nothing in a part is trusted: sizes are checked on
//! decoding and the merged forest is fully validated, as any model is.
//!
//! ```text
//! magic b"WFPART8\0" | u32 LE header length | postcard(Header) | u32 LE node count N
//! | feature u32×N | threshold f32×N | right u32×N | value f64×N   (all LE)
//! ```
//!
//! The node arrays are the model file's ([`Nodes::write_raw`]): `left` is
//! implied by the pre-order layout.

use alloc::{format, string::String, vec::Vec};

use serde::{Deserialize, Serialize};

use crate::ensemble::Forest;
use crate::error::{ForestError, Result};
use crate::importance::{GrownTree, forest_importances};
use crate::model::{self, HeadRef, split_framed};
use crate::params::Params;
use crate::sample::TrainedWeights;
use crate::trainer::Trainer;
use crate::tree::{LEAF, Nodes, RAW_NODE_BYTES, implied_left, split_raw_right};
use crate::validate::{Node, check_feature_names, check_meta, check_node, threshold_ok};

const MAGIC: [u8; 8] = *b"WFPART8\0";

/// Everything of a part but its node arrays: what the forest needs, and
/// which of its trees the part holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub n_features: u32,
    pub feature_names: Option<Vec<String>>,
    pub target_name: Option<String>,
    pub params: Params,
    pub n_train_rows: u32,
    /// The part holds trees `first..first + roots.len()`.
    pub first: u32,
    pub roots: Vec<u32>,
    /// Each tree's decreases per feature ([`GrownTree::decrease`]), tree
    /// after tree: the merge makes the forest's importances from them.
    pub decrease: Vec<f64>,
    /// The sample weights the forest is trained with, if any.
    pub sample_weight: Option<TrainedWeights>,
}

/// Trees of a forest, concatenated in `nodes` as in a [`Forest`]: tree `t`
/// of the part starts at `header.roots[t]`, child ids count from the start
/// of the part.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub header: Header,
    pub nodes: Nodes,
}

fn invalid(m: String) -> ForestError {
    ForestError::InvalidModel(m)
}

impl Part {
    /// Grows trees `first..first + count` of `trainer`'s forest, calling
    /// `on_tree(done)` after each.
    pub fn grow(
        trainer: &Trainer,
        first: u32,
        count: u32,
        feature_names: Option<Vec<String>>,
        target_name: Option<String>,
        on_tree: impl FnMut(u32),
    ) -> Result<Part> {
        let mut grower = trainer.grower();
        let names = (feature_names, target_name);
        Part::grow_with(trainer, first, count, names, on_tree, |t| {
            Ok(trainer.build_tree(t, &mut grower))
        })
    }

    /// [`Part::grow`] with trees from `tree(index)`, which must be
    /// `trainer`'s trees (e.g. grown level by level on a device) and may
    /// fail with an error of the caller's.
    pub fn grow_with<E: From<ForestError>>(
        trainer: &Trainer,
        first: u32,
        count: u32,
        (feature_names, target_name): (Option<Vec<String>>, Option<String>),
        mut on_tree: impl FnMut(u32),
        mut tree: impl FnMut(u32) -> core::result::Result<GrownTree, E>,
    ) -> core::result::Result<Part, E> {
        let n = trainer.params().n_estimators;
        let end = first.checked_add(count).filter(|&e| e <= n && count > 0);
        let Some(end) = end else {
            return Err(ForestError::InvalidParams(format!(
                "trees {first}..{first}+{count} are not a non-empty part of 0..{n} (n_estimators)"
            ))
            .into());
        };
        check_feature_names(
            feature_names.as_deref(),
            target_name.as_deref(),
            trainer.n_features(),
        )?;
        // Each tree is appended as soon as it is grown (a lone tree is moved):
        // the part is the only copy of its trees.
        let (mut nodes, mut roots) = (Nodes::default(), Vec::with_capacity(count as usize));
        let mut decrease = Vec::with_capacity(count as usize * trainer.n_features());
        for t in first..end {
            let tree = tree(t)?;
            roots.push(nodes.len() as u32);
            decrease.extend_from_slice(&tree.decrease);
            if nodes.is_empty() {
                nodes = tree.nodes;
            } else {
                nodes.append_shifted(&tree.nodes);
            }
            on_tree(t + 1 - first);
        }
        let header = Header {
            n_features: trainer.n_features() as u32,
            feature_names,
            target_name,
            params: trainer.params().clone(),
            n_train_rows: trainer.n_rows() as u32,
            first,
            roots,
            decrease,
            sample_weight: trainer.trained_weights(),
        };
        Ok(Part { header, nodes })
    }

    /// Number of trees in the part.
    pub fn n_trees(&self) -> u32 {
        self.header.roots.len() as u32
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if let Some(i) = self.nodes.not_pre_order() {
            return Err(invalid(format!(
                "cannot encode a forest part: node {i} is not in pre-order, left child first"
            )));
        }
        let head = postcard::to_allocvec(&self.header)
            .map_err(|e| invalid(format!("cannot encode a forest part: {e}")))?;
        let n = &self.nodes;
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + head.len() + n.len() * RAW_NODE_BYTES);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&(n.len() as u32).to_le_bytes());
        let at = out.len();
        out.resize(at + n.len() * RAW_NODE_BYTES, 0);
        n.write_raw(&mut out[at..]);
        Ok(out)
    }

    /// Decodes a part; its child ids are checked by [`merge`], not here.
    pub fn from_bytes(bytes: &[u8]) -> Result<Part> {
        let (header, n, at) = parse(bytes)?;
        let mut nodes = Nodes::default();
        // Child ids are checked by `merge`.
        nodes.append_raw(&bytes[at..], n, 0);
        Ok(Part { header, nodes })
    }
}

/// A part's header, node count and where its arrays start, all checked
/// against the bytes' size.
fn parse(bytes: &[u8]) -> Result<(Header, usize, usize)> {
    let rest = bytes
        .strip_prefix(&MAGIC)
        .ok_or_else(|| invalid("not a wasm-forest forest part (wrong magic bytes)".into()))?;
    let (header, n, arrays) = split_framed(rest, "a forest part")?;
    Ok((header, n, bytes.len() - arrays.len()))
}

/// Joins parts that cover trees `0..n_estimators` exactly once, in any
/// order, into the forest one training call would have produced.
pub fn merge(mut parts: Vec<Part>) -> Result<Forest> {
    parts.sort_by_key(|p| p.header.first);
    let total = check_cover(parts.iter().map(|p| (&p.header, p.nodes.len())))?;
    // Ids within each part keep within the forest once shifted (the total
    // fits in u32); validation of the merged forest checks the rest.
    for (i, p) in parts.iter().enumerate() {
        let n = &p.nodes;
        if n.left
            .iter()
            .chain(&n.right)
            .any(|&c| c != LEAF && c as usize >= n.len())
        {
            return Err(ids_beyond_part(i, n.len()));
        }
    }
    let importances = importances(parts.iter().map(|p| (&p.header, p.nodes.len())));
    let mut parts = parts.into_iter();
    let Part {
        mut header,
        mut nodes,
    } = parts.next().expect("checked above");
    nodes.reserve(total - nodes.len());
    let mut roots = core::mem::take(&mut header.roots);
    for p in parts {
        let offset = nodes.len() as u32;
        roots.extend(p.header.roots.iter().map(|r| r + offset));
        nodes.append_shifted(&p.nodes);
    }
    assemble(header, roots, nodes, importances)
}

/// [`merge`] of encoded parts, straight into model file bytes: the bytes of
/// `model::to_bytes(&merge(parts)?)`, without a forest in between. Each
/// part's raw arrays are copied into place (`right` ids shifted) and every
/// node is checked as [`Forest::validate`] checks it, with the same errors.
/// This is what merging costs on the critical path of parallel training:
/// about one pass over the nodes plus the checksum.
pub fn merge_bytes(parts: Vec<Vec<u8>>) -> Result<Vec<u8>> {
    let mut parsed = parts
        .iter()
        .map(|b| parse(b).map(|(h, n, at)| (h, n, &b[at..])))
        .collect::<Result<Vec<_>>>()?;
    parsed.sort_by_key(|(h, ..)| h.first);
    let total = check_cover(parsed.iter().map(|(h, n, _)| (h, *n)))?;
    // As `merge`: ids beyond their part are refused before anything else,
    // the implied left child of a split in the last node too.
    for (i, (_, n, arrays)) in parsed.iter().enumerate() {
        let right = &arrays[8 * n..12 * n];
        // A fold, not `any`: no exit per id, so the loop vectorizes.
        let beyond_part = u32s(right)
            .map(|c| split_raw_right(c).0)
            .fold(false, |bad, c| bad | ((c != LEAF) & (c as usize >= *n)))
            || u32s(right).last().is_some_and(|c| c != LEAF);
        if beyond_part {
            return Err(ids_beyond_part(i, *n));
        }
    }
    let mut roots = Vec::with_capacity(parsed.iter().map(|(h, ..)| h.roots.len()).sum());
    let mut offset = 0;
    for (h, n, _) in &parsed {
        roots.extend(h.roots.iter().map(|r| r + offset));
        offset += *n as u32;
    }
    let importances = importances(parsed.iter().map(|(h, n, _)| (h, *n)));
    let h = &parsed[0].0;
    check_meta(
        h.n_features,
        h.feature_names.as_deref(),
        h.target_name.as_deref(),
        &h.params,
        &roots,
        total,
    )?;
    let head = HeadRef {
        n_features: h.n_features,
        feature_names: &h.feature_names,
        target_name: &h.target_name,
        params: &h.params,
        n_train_rows: h.n_train_rows,
        roots: &roots,
        importances: &importances,
        sample_weight: &h.sample_weight,
    };
    let mut at = 0; // the part's first node in the forest
    let mut tree = 0; // its first tree
    for (p, n, arrays) in &parsed {
        check_raw(arrays, *n, at, tree, &p.roots, h.n_features)?;
        at += n;
        tree += p.roots.len();
    }
    // Checked: now plain copies, array by array ("right" shifted in place).
    let sections = |k: usize, size: usize| {
        parsed
            .iter()
            .map(move |(_, n, a)| &a[k * n..(k + size) * n])
    };
    model::write(&head, total, |out| {
        sections(0, 4).for_each(|s| out.extend_from_slice(s));
        sections(4, 4).for_each(|s| out.extend_from_slice(s));
        let mut offset = 0;
        for (s, (_, n, _)) in sections(8, 4).zip(&parsed) {
            let start = out.len();
            out.extend_from_slice(s);
            if offset > 0 {
                for c in out[start..].chunks_exact_mut(4) {
                    let r = u32::from_le_bytes(c.try_into().expect("4 bytes"));
                    // A split's missing-value bit (31) rides along: ids
                    // plus offset stay below 2^31 (the model's size limit).
                    if r != LEAF {
                        c.copy_from_slice(&(r + offset).to_le_bytes());
                    }
                }
            }
            offset += *n as u32;
        }
        sections(12, 8).for_each(|s| out.extend_from_slice(s));
    })
}

/// Checks the `n` raw nodes of a part that will be nodes `at..at + n` and
/// trees `tree..` of the forest, as [`Forest::validate`] would check them
/// there (`right` ids already known to be within the part).
fn check_raw(
    arrays: &[u8],
    n: usize,
    at: usize,
    tree: usize,
    roots: &[u32],
    n_features: u32,
) -> Result<()> {
    let (f, rest) = arrays.split_at(4 * n);
    let (th, rest) = rest.split_at(4 * n);
    let (r, v) = rest.split_at(4 * n);
    let node = |k: usize| {
        let word = |b: &[u8]| u32::from_le_bytes(b[4 * k..4 * k + 4].try_into().expect("4 bytes"));
        let (right, missing_left) = split_raw_right(word(r));
        let right = if right == LEAF {
            LEAF
        } else {
            right + at as u32
        };
        Node {
            feature: word(f),
            threshold: f32::from_bits(word(th)),
            left: implied_left(at + k, right),
            right,
            value: f64::from_le_bytes(v[8 * k..8 * k + 8].try_into().expect("8 bytes")),
            missing_left,
        }
    };
    for (t, &root) in roots.iter().enumerate() {
        let end = roots.get(t + 1).map_or(n, |&r| r as usize);
        let range = at + root as usize..at + end;
        // What `check_node` accepts, without branches; the nodes are gone
        // through again with `check_node` only to name the first fault.
        let mut ok = true;
        for k in root as usize..end {
            let (node, i) = (node(k), at + k);
            ok &= node.value.is_finite()
                & if node.right == LEAF {
                    node.feature == 0 && node.threshold.to_bits() == 0
                } else {
                    (node.right as usize > i + 1)
                        & ((node.right as usize) < range.end)
                        & (node.feature < n_features)
                        & threshold_ok(node.threshold)
                };
        }
        if !ok {
            for k in root as usize..end {
                check_node(at + k, tree + t, &range, node(k), n_features)?;
            }
        }
    }
    Ok(())
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
}

/// The forest's importances from its parts' (sorted by `first`, each with
/// its node count; their decreases checked by [`check_cover`]).
fn importances<'a>(parts: impl Iterator<Item = (&'a Header, usize)>) -> Vec<f64> {
    let mut per_tree = Vec::new();
    let mut n_features = 0;
    for (h, len) in parts {
        n_features = h.n_features as usize;
        for (k, &root) in h.roots.iter().enumerate() {
            let end = h.roots.get(k + 1).map_or(len, |&r| r as usize);
            let decrease = &h.decrease[k * n_features..(k + 1) * n_features];
            per_tree.push((end - root as usize, decrease));
        }
    }
    forest_importances(per_tree, n_features)
}

/// The merged forest, fully validated.
fn assemble(head: Header, roots: Vec<u32>, nodes: Nodes, importances: Vec<f64>) -> Result<Forest> {
    let forest = Forest {
        n_features: head.n_features,
        feature_names: head.feature_names,
        target_name: head.target_name,
        params: head.params,
        n_train_rows: head.n_train_rows,
        roots,
        nodes,
        importances,
        sample_weight: head.sample_weight,
    };
    forest.validate()?;
    Ok(forest)
}

/// Refuses part `i` unless it holds one decrease per tree and feature,
/// each finite and not negative.
fn check_decrease(i: usize, p: &Header) -> Result<()> {
    let expected = p.roots.len() as u64 * u64::from(p.n_features);
    if p.decrease.len() as u64 != expected {
        return Err(invalid(format!(
            "forest part {i} holds {} impurity decreases for {} trees × {} features",
            p.decrease.len(),
            p.roots.len(),
            p.n_features
        )));
    }
    if let Some(d) = p.decrease.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
        return Err(invalid(format!(
            "forest part {i} holds an impurity decrease of {d}"
        )));
    }
    Ok(())
}

/// The error for part `i` (of `len` nodes) holding node ids beyond its nodes.
fn ids_beyond_part(i: usize, len: usize) -> ForestError {
    invalid(format!(
        "forest part {i} has node ids beyond its {len} nodes"
    ))
}

/// Checks that parts (sorted by `first`) come from one training and cover
/// its trees exactly once, with roots inside each part; returns the total
/// node count.
fn check_cover<'a>(parts: impl Iterator<Item = (&'a Header, usize)>) -> Result<usize> {
    let mut head: Option<&Header> = None;
    let (mut next, mut total, mut bad_root) = (0u32, 0usize, None);
    for (i, (p, len)) in parts.enumerate() {
        if bad_root.is_none() && p.roots.iter().any(|&r| r as usize >= len) {
            bad_root = Some(ids_beyond_part(i, len));
        }
        // Every node of a part belongs to one of its trees.
        if bad_root.is_none() && p.roots.first() != Some(&0) {
            bad_root = Some(invalid(format!(
                "forest part {i} does not start with a tree at its first node"
            )));
        }
        let h = *head.get_or_insert(p);
        let meta = |h: &'a Header| {
            (
                &h.params,
                h.n_features,
                &h.feature_names,
                &h.target_name,
                h.n_train_rows,
                h.sample_weight,
            )
        };
        if meta(p) != meta(h) {
            return Err(invalid(format!(
                "forest part {i} was trained with other data or parameters than part 0"
            )));
        }
        if p.first != next {
            return Err(invalid(format!(
                "forest parts leave trees {next}..{} uncovered or covered twice",
                p.first.max(next)
            )));
        }
        check_decrease(i, p)?;
        next = p.first.saturating_add(p.roots.len() as u32);
        total += len;
    }
    let Some(h) = head else {
        return Err(invalid("no forest parts to merge".into()));
    };
    if next != h.params.n_estimators {
        return Err(invalid(format!(
            "forest parts cover trees 0..{next}, the forest has {} (n_estimators)",
            h.params.n_estimators
        )));
    }
    if u32::try_from(total).is_err() {
        return Err(invalid(format!(
            "{total} nodes are more than a forest can hold"
        )));
    }
    bad_root.map_or(Ok(total), Err)
}
