//! The one flat node layout, shared by CPU prediction, the model file, the WIT
//! boundary and the GPU buffers: five parallel arrays indexed by node id.

use serde::{Deserialize, Serialize};

/// `left`/`right` value of a leaf.
pub const LEAF: u32 = u32::MAX;

/// Nodes of one or more trees. A node `i` is a leaf when `left[i] == LEAF`
/// (then `right[i] == LEAF` too). Otherwise rows with
/// `x[feature[i]] <= threshold[i]` go to `left[i]`, the others to `right[i]`.
/// Children always have larger ids than their parent (pre-order), so every
/// walk ends, and a loader can check that in one pass.
///
/// `value[i]` is the weighted mean target of the training rows reaching `i`;
/// for a leaf it is the prediction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Nodes {
    pub feature: Vec<u32>,
    pub threshold: Vec<f32>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub value: Vec<f64>,
}

impl Nodes {
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    pub fn push_leaf(&mut self, value: f64) -> u32 {
        self.push(0, 0.0, LEAF, LEAF, value)
    }

    pub fn push(&mut self, feature: u32, threshold: f32, left: u32, right: u32, value: f64) -> u32 {
        let id = self.len() as u32;
        self.feature.push(feature);
        self.threshold.push(threshold);
        self.left.push(left);
        self.right.push(right);
        self.value.push(value);
        id
    }

    pub fn reserve(&mut self, additional: usize) {
        self.feature.reserve(additional);
        self.threshold.reserve(additional);
        self.left.reserve(additional);
        self.right.reserve(additional);
        self.value.reserve(additional);
    }

    /// Appends `other`, shifting its child ids by the current length.
    pub fn append_shifted(&mut self, other: &Nodes) {
        let offset = self.len() as u32;
        let shift = |c: &u32| if *c == LEAF { LEAF } else { c + offset };
        self.feature.extend_from_slice(&other.feature);
        self.threshold.extend_from_slice(&other.threshold);
        self.left.extend(other.left.iter().map(shift));
        self.right.extend(other.right.iter().map(shift));
        self.value.extend_from_slice(&other.value);
    }

    /// Id of the leaf that `row` (one row of features) reaches from `root`.
    #[inline]
    pub fn leaf_of(&self, root: u32, row: &[f32]) -> u32 {
        let mut n = root as usize;
        while self.left[n] != LEAF {
            n = if row[self.feature[n] as usize] <= self.threshold[n] {
                self.left[n] as usize
            } else {
                self.right[n] as usize
            };
        }
        n as u32
    }
}
