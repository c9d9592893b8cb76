//! The one flat node layout, shared by CPU prediction, the model file, the WIT
//! boundary and the GPU buffers: six parallel arrays indexed by node id.

use alloc::vec::Vec;

/// `left`/`right` value of a leaf.
pub const LEAF: u32 = u32::MAX;

/// Bytes per node in the raw arrays of [`Nodes::write_raw`].
pub const RAW_NODE_BYTES: usize = 4 + 4 + 4 + 8;

/// In the raw arrays, bit 31 of a split node's `right` holds its
/// `missing_left` (node ids stay below 2^31: a model file holds fewer than
/// 2^31 / 20 nodes). A leaf's `right` is [`LEAF`], whatever the bit.
pub const RAW_MISSING_LEFT: u32 = 1 << 31;

/// A node's `right` and `missing_left` as the raw arrays store them.
#[inline]
pub fn raw_right(right: u32, missing_left: bool) -> u32 {
    if right == LEAF {
        LEAF
    } else {
        right | u32::from(missing_left) << 31
    }
}

/// The `right` and `missing_left` of a raw `right` word.
#[inline]
pub fn split_raw_right(raw: u32) -> (u32, bool) {
    if raw == LEAF {
        (LEAF, false)
    } else {
        (raw & !RAW_MISSING_LEFT, raw & RAW_MISSING_LEFT != 0)
    }
}

/// The largest model file, header included: the largest a sandbox can load
/// (it holds the file and the decoded forest, within a 4 GiB wasm32
/// memory). Training stops with an error rather than make a larger one.
/// (Here, below both the parameters, which bound the tree count by it, and
/// the model file.)
pub const MAX_MODEL_BYTES: u64 = 1 << 30;

/// The left child of node `i` in pre-order: the next node, or none for a
/// leaf (the node whose `right` is [`LEAF`]).
pub(crate) fn implied_left(i: usize, right: u32) -> u32 {
    if right == LEAF { LEAF } else { i as u32 + 1 }
}

/// Nodes of one or more trees. A node `i` is a leaf when `left[i] == LEAF`
/// (then `right[i] == LEAF` too). Otherwise rows with
/// `x[feature[i]] <= threshold[i]` go to `left[i]`, rows whose
/// `x[feature[i]]` is missing (NaN) to `left[i]` if `missing_left[i]`, else
/// to `right[i]`, and the others to `right[i]` (scikit-learn's rule; a
/// threshold of +inf sends every present value left). A leaf's
/// `missing_left` is false.
/// Nodes are in pre-order, left child first: a left child is always node
/// `i + 1` and the right child comes later in the same tree, so every walk
/// ends, prediction need not load `left`, and a loader checks it in one pass.
///
/// `value[i]` is the weighted mean target of the training rows reaching `i`;
/// for a leaf it is the prediction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nodes {
    pub feature: Vec<u32>,
    pub threshold: Vec<f32>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub value: Vec<f64>,
    pub missing_left: Vec<bool>,
}

impl Nodes {
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    pub fn push_leaf(&mut self, value: f64) -> u32 {
        self.push(Test::LEAF, LEAF, LEAF, value)
    }

    /// Appends a node with the split `test` ([`Test::LEAF`] for a leaf).
    pub fn push(&mut self, test: Test, left: u32, right: u32, value: f64) -> u32 {
        let id = self.len() as u32;
        self.feature.push(test.feature);
        self.threshold.push(test.threshold);
        self.left.push(left);
        self.right.push(right);
        self.value.push(value);
        self.missing_left.push(test.missing_left);
        id
    }

    /// Node `i`'s split test (of a leaf: [`Test::LEAF`]).
    pub fn test(&self, i: usize) -> Test {
        Test {
            feature: self.feature[i],
            threshold: self.threshold[i],
            missing_left: self.missing_left[i],
        }
    }

    pub fn reserve(&mut self, additional: usize) {
        self.feature.reserve(additional);
        self.threshold.reserve(additional);
        self.left.reserve(additional);
        self.right.reserve(additional);
        self.value.reserve(additional);
        self.missing_left.reserve(additional);
    }

    /// The tree rooted at node 0, renumbered in pre-order, left child
    /// first (the order every other use of the layout expects), from nodes
    /// numbered in any order (best-first growth numbers them as it makes
    /// them).
    pub fn pre_ordered(&self) -> Nodes {
        pre_order(self.len(), |i| {
            let split = (self.left[i] != LEAF).then(|| {
                let children = (self.left[i] as usize, self.right[i] as usize);
                (self.test(i), children)
            });
            (self.value[i], split)
        })
    }

    /// Points `parent`'s left (or right) child slot at `id`.
    pub fn set_child(&mut self, parent: u32, is_left: bool, id: u32) {
        let slot = if is_left {
            &mut self.left
        } else {
            &mut self.right
        };
        slot[parent as usize] = id;
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
        self.missing_left.extend_from_slice(&other.missing_left);
    }

    /// The first node whose `left` is not what pre-order implies (the next
    /// node for a split, [`LEAF`] for a leaf), if any.
    pub fn not_pre_order(&self) -> Option<usize> {
        (0..self.len()).find(|&i| self.left[i] != implied_left(i, self.right[i]))
    }

    /// Writes the raw little-endian arrays of the model and part formats
    /// into `out` (exactly `len() × RAW_NODE_BYTES` bytes):
    /// `feature u32×N | threshold f32×N | right u32×N | value f64×N`, each
    /// split's `missing_left` in bit 31 of its `right` ([`raw_right`]).
    /// `left` is not written: in pre-order it is the next node for a split
    /// and [`LEAF`] for a leaf (whose `right` is [`LEAF`]), and
    /// [`Nodes::append_raw`] restores it. Callers check
    /// [`Nodes::not_pre_order`] first (the model and part writers refuse such
    /// nodes with an error).
    pub fn write_raw(&self, out: &mut [u8]) {
        let n = self.len();
        assert_eq!(out.len(), n * RAW_NODE_BYTES, "sized by the caller");
        // Plain stores into a sized buffer: no capacity check per value, as a
        // push would make.
        let (feature, rest) = out.split_at_mut(4 * n);
        let (threshold, rest) = rest.split_at_mut(4 * n);
        let (right, value) = rest.split_at_mut(4 * n);
        for (d, v) in feature.chunks_exact_mut(4).zip(&self.feature) {
            d.copy_from_slice(&v.to_le_bytes());
        }
        for (d, v) in threshold.chunks_exact_mut(4).zip(&self.threshold) {
            d.copy_from_slice(&v.to_le_bytes());
        }
        for ((d, &r), &m) in right
            .chunks_exact_mut(4)
            .zip(&self.right)
            .zip(&self.missing_left)
        {
            d.copy_from_slice(&raw_right(r, m).to_le_bytes());
        }
        for (d, v) in value.chunks_exact_mut(8).zip(&self.value) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Appends `n` nodes from raw arrays written by [`Nodes::write_raw`]
    /// (exactly `n * RAW_NODE_BYTES` bytes), their `right` ids shifted by
    /// `offset` (the nodes already here, for merged parts) and `left`
    /// restored. False if a `right` id is not within the `n` nodes: shifted,
    /// it would point into other trees. Nothing else is checked here; a
    /// forest is validated as a whole.
    pub fn append_raw(&mut self, arrays: &[u8], n: usize, offset: u32) -> bool {
        assert_eq!(arrays.len(), n * RAW_NODE_BYTES, "checked by the caller");
        let (feature, rest) = arrays.split_at(4 * n);
        let (threshold, rest) = rest.split_at(4 * n);
        let (right, value) = rest.split_at(4 * n);
        fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        }
        self.reserve(n);
        self.feature.extend(u32s(feature));
        self.threshold.extend(u32s(threshold).map(f32::from_bits));
        let first = self.right.len();
        let mut inside = true;
        self.missing_left
            .extend(u32s(right).map(|c| split_raw_right(c).1));
        self.right.extend(u32s(right).map(|c| {
            let c = split_raw_right(c).0;
            inside &= c == LEAF || (c as usize) < n;
            if c == LEAF {
                LEAF
            } else {
                c.wrapping_add(offset)
            }
        }));
        let restored = (first..first + n).map(|i| implied_left(i, self.right[i]));
        self.left.extend(restored);
        self.value.extend(
            value
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))),
        );
        inside
    }

    /// Id of the leaf that `row` (one row of features) reaches from `root`.
    #[inline]
    pub fn leaf_of(&self, root: u32, row: &[f32]) -> u32 {
        let mut n = root as usize;
        while self.left[n] != LEAF {
            n = if self.test(n).goes_left(row) {
                self.left[n] as usize
            } else {
                self.right[n] as usize
            };
        }
        n as u32
    }
}

/// A split node's test: rows whose `feature` is at most `threshold` go
/// left, rows missing it (NaN) go left if `missing_left`, the others right.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    pub feature: u32,
    pub threshold: f32,
    pub missing_left: bool,
}

impl Test {
    /// What a leaf stores in the split fields.
    pub const LEAF: Test = Test {
        feature: 0,
        threshold: 0.0,
        missing_left: false,
    };

    /// Whether `row` (one row of features) goes to the left child.
    #[inline]
    pub fn goes_left(&self, row: &[f32]) -> bool {
        self.sends_left(row[self.feature as usize])
    }

    /// Whether a row whose split feature is `x` goes to the left child.
    #[inline]
    pub fn sends_left(&self, x: f32) -> bool {
        if x.is_nan() {
            self.missing_left
        } else {
            x <= self.threshold
        }
    }
}

/// A tree of `n` nodes rooted at node 0, given node by node by `node(i)`:
/// its value and, for a split, its test and children (left, right); as
/// [`Nodes`] in pre-order, left child first.
pub(crate) fn pre_order<F>(n: usize, node: F) -> Nodes
where
    F: Fn(usize) -> (f64, Option<(Test, (usize, usize))>),
{
    let mut out = Nodes::default();
    out.reserve(n);
    // (node, its parent's new id, whether it is the parent's left child)
    let mut stack = alloc::vec![(0usize, LEAF, false)];
    while let Some((i, parent, is_left)) = stack.pop() {
        let (value, split) = node(i);
        let id = match split {
            Some((test, _)) => out.push(test, LEAF, LEAF, value),
            None => out.push_leaf(value),
        };
        if parent != LEAF {
            out.set_child(parent, is_left, id);
        }
        if let Some((_, (l, r))) = split {
            stack.push((r, id, false));
            stack.push((l, id, true));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{LEAF, Nodes, RAW_NODE_BYTES, Test};

    fn test(feature: u32, threshold: f32, missing_left: bool) -> Test {
        Test {
            feature,
            threshold,
            missing_left,
        }
    }

    /// A pre-order tree: 0 splits into 1 (leaf) and 2, which splits into 3
    /// and 4 (leaves); missing values go right at 0, left at 2.
    fn tree() -> Nodes {
        let mut t = Nodes::default();
        t.push(test(1, 0.5, false), 1, 2, 3.0);
        t.push_leaf(-1.25);
        t.push(test(0, -2.0, true), 3, 4, 7.0);
        t.push_leaf(f64::MIN_POSITIVE);
        t.push_leaf(1e300);
        t
    }

    #[test]
    fn raw_arrays_round_trip_with_left_restored() {
        let t = tree();
        let mut bytes = [0xAA; 1 + 5 * RAW_NODE_BYTES];
        t.write_raw(&mut bytes[1..]);
        let mut back = Nodes::default();
        assert!(back.append_raw(&bytes[1..], 5, 0));
        assert_eq!(back, t);
        // Appended after other nodes: right ids shift, left ids follow.
        let mut two = t.clone();
        assert!(two.append_raw(&bytes[1..], 5, 5));
        let mut expected = t.clone();
        expected.append_shifted(&t);
        assert_eq!(two, expected);
        assert_eq!(two.left[5..], [6, LEAF, 8, LEAF, LEAF]);
        assert_eq!(two.missing_left[5..], [false, false, true, false, false]);
    }

    #[test]
    fn missing_values_follow_the_stored_direction() {
        let t = tree();
        let nan = f32::NAN;
        // Node 0 sends NaN right (to 2), node 2 sends it left (to 3).
        assert_eq!(t.leaf_of(0, &[nan, nan]), 3);
        assert_eq!(t.leaf_of(0, &[5.0, nan]), 4);
        assert_eq!(t.leaf_of(0, &[nan, 0.5]), 1);
        assert_eq!(t.leaf_of(0, &[-3.0, 0.7]), 3);
        // +inf sends every present value left, and NaN its own way.
        let inf = test(0, f32::INFINITY, false);
        assert!(inf.sends_left(f32::MAX) && !inf.sends_left(nan));
    }

    #[test]
    fn a_right_id_beyond_the_arrays_is_reported() {
        let mut t = tree();
        t.right[2] = 5;
        let mut bytes = [0; 5 * RAW_NODE_BYTES];
        t.write_raw(&mut bytes);
        assert!(!Nodes::default().append_raw(&bytes, 5, 0));
    }
}
