//! The one flat node layout, shared by CPU prediction, the model file, the WIT
//! boundary and the GPU buffers: five parallel arrays indexed by node id.

use serde::{Deserialize, Serialize};

/// `left`/`right` value of a leaf.
pub const LEAF: u32 = u32::MAX;

/// Nodes of one or more trees. A node `i` is a leaf when `left[i] == LEAF`
/// (then `right[i] == LEAF` too). Otherwise rows with
/// `x[feature[i]] <= threshold[i]` go to `left[i]`, the others to `right[i]`.
/// Nodes are in pre-order, left child first: a left child is always node
/// `i + 1` and the right child comes later in the same tree, so every walk
/// ends, prediction need not load `left`, and a loader checks it in one pass.
///
/// `value[i]` is the weighted mean target of the training rows reaching `i`;
/// for a leaf it is the prediction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Nodes {
    #[serde(deserialize_with = "exact::vec")]
    pub feature: Vec<u32>,
    #[serde(deserialize_with = "exact::vec")]
    pub threshold: Vec<f32>,
    #[serde(deserialize_with = "exact::vec")]
    pub left: Vec<u32>,
    #[serde(deserialize_with = "exact::vec")]
    pub right: Vec<u32>,
    #[serde(deserialize_with = "exact::vec")]
    pub value: Vec<f64>,
}

/// Node arrays decoded into exactly their length. serde's `Vec` starts
/// small and doubles, so a 100 MB model would briefly take ~2x in a
/// sandboxed instance. The announced length is trusted only up to the
/// limit the model reader sets with [`exact::with_limit`]: the payload's
/// size (every element takes at least one byte), so a forged length cannot
/// reserve more than the file could hold.
pub(crate) mod exact {
    use std::cell::Cell;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

    thread_local! {
        static LIMIT: Cell<usize> = const { Cell::new(0) };
    }

    /// Runs `decode` with node arrays believed up to `limit` elements.
    pub(crate) fn with_limit<R>(limit: usize, decode: impl FnOnce() -> R) -> R {
        LIMIT.with(|l| l.set(limit));
        let r = decode();
        LIMIT.with(|l| l.set(0));
        r
    }

    pub(crate) fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        struct Exact<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Exact<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let cap = seq.size_hint().unwrap_or(0).min(LIMIT.with(Cell::get));
                let mut v = Vec::with_capacity(cap);
                while let Some(x) = seq.next_element()? {
                    v.push(x);
                }
                Ok(v)
            }
        }
        d.deserialize_seq(Exact(PhantomData))
    }
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

#[cfg(test)]
mod tests {
    use super::{Nodes, exact};

    fn nodes(n: usize) -> Nodes {
        let mut t = Nodes::default();
        for i in 0..n as u32 {
            t.push(i % 7, i as f32 * 0.5, i + 1, i + 2, f64::from(i) * 0.25);
        }
        t
    }

    #[test]
    fn node_arrays_decode_into_exactly_their_length() {
        let t = nodes(3000);
        let bytes = postcard::to_allocvec(&t).unwrap();
        let back: Nodes = exact::with_limit(bytes.len(), || postcard::from_bytes(&bytes)).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.feature.capacity(), 3000);
        assert_eq!(back.value.capacity(), 3000);
    }

    #[test]
    fn a_forged_length_reserves_no_more_than_the_bytes_allow() {
        // feature: "2^32 - 1 elements" followed by three bytes.
        let forged = [0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3];
        let r = exact::with_limit(forged.len(), || postcard::from_bytes::<Nodes>(&forged));
        assert!(r.is_err());
    }
}
