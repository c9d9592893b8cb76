//! Parts of a forest: trees `first..first + n` grown by one worker, to be
//! merged with the other workers' parts into exactly the forest (and model
//! bytes) that one `train` call produces.
//!
//! Parts only travel between a host and its own component instances, so the
//! encoding is a magic tag plus a postcard payload; the merged forest is
//! fully validated, as any model is.

use serde::{Deserialize, Serialize};

use crate::error::{ForestError, Result};
use crate::forest::{Forest, Trainer, check_feature_names};
use crate::params::Params;
use crate::tree::Nodes;

const MAGIC: [u8; 8] = *b"WFPART1\0";

/// Trees `first..first + trees.len()` of a forest, and what the forest needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub n_features: u32,
    pub feature_names: Option<Vec<String>>,
    pub params: Params,
    pub n_train_rows: u32,
    pub first: u32,
    pub trees: Vec<Nodes>,
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
        mut on_tree: impl FnMut(u32),
    ) -> Result<Part> {
        let n = trainer.params().n_estimators;
        let end = first.checked_add(count).filter(|&e| e <= n && count > 0);
        let Some(end) = end else {
            return Err(ForestError::InvalidParams(format!(
                "trees {first}..{first}+{count} are not a non-empty part of 0..{n} (n_estimators)"
            )));
        };
        check_feature_names(feature_names.as_deref(), trainer.n_features())?;
        let mut splitter = trainer.splitter();
        let mut trees = Vec::with_capacity(count as usize);
        for t in first..end {
            trees.push(trainer.build_tree(t, &mut splitter));
            on_tree(t + 1 - first);
        }
        Ok(trainer.part(first, trees, feature_names))
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        postcard::to_extend(self, MAGIC.to_vec())
            .map_err(|e| invalid(format!("cannot encode a forest part: {e}")))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Part> {
        let payload = bytes
            .strip_prefix(&MAGIC)
            .ok_or_else(|| invalid("not a wasm-forest forest part (wrong magic bytes)".into()))?;
        match postcard::take_from_bytes(payload) {
            Ok((part, [])) => Ok(part),
            Ok((_, rest)) => Err(invalid(format!(
                "{} undecoded bytes at the end of a forest part",
                rest.len()
            ))),
            Err(e) => Err(invalid(format!("cannot decode a forest part: {e}"))),
        }
    }
}

/// Joins parts that cover trees `0..n_estimators` exactly once, in any
/// order, into the forest one training call would have produced.
pub fn merge(mut parts: Vec<Part>) -> Result<Forest> {
    parts.sort_by_key(|p| p.first);
    let Some(head) = parts.first() else {
        return Err(invalid("no forest parts to merge".into()));
    };
    let mut next = 0u32;
    for (i, p) in parts.iter().enumerate() {
        if (&p.params, p.n_features, &p.feature_names, p.n_train_rows)
            != (
                &head.params,
                head.n_features,
                &head.feature_names,
                head.n_train_rows,
            )
        {
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
        next = p.first.saturating_add(p.trees.len() as u32);
    }
    if next != head.params.n_estimators {
        return Err(invalid(format!(
            "forest parts cover trees 0..{next}, the forest has {} (n_estimators)",
            head.params.n_estimators
        )));
    }
    let trees: Vec<&Nodes> = parts.iter().flat_map(|p| &p.trees).collect();
    let forest = Forest::from_trees(
        head.n_features,
        head.feature_names.clone(),
        head.params.clone(),
        head.n_train_rows,
        trees,
    );
    forest.validate()?;
    Ok(forest)
}
