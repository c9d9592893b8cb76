//! A port of what scikit-learn 1.9.1 does in
//! `RandomForestRegressor(random_state=S, criterion="squared_error")` with
//! the default dense `splitter="best"` trees (numpy 2.4.6's legacy
//! `RandomState` included), so that the same `S` grows the very same trees:
//! node for node, the same features, thresholds that route every float32
//! input the same way and the same leaf values.
//!
//! - [`tree_seeds`]: `_set_random_states`, each tree's `random_state` drawn
//!   in tree order as `RandomState(S).randint(np.iinfo(np.int32).max)`;

pub mod random_state;
#[allow(dead_code)] // used by the tree builder
mod sort;

use alloc::vec::Vec;

pub use random_state::RandomState;

/// `np.iinfo(np.int32).max`, `MAX_INT` of `sklearn/ensemble/_forest.py`.
const MAX_INT: i64 = i32::MAX as i64;

/// The `random_state` of each of `n_estimators` trees of a forest with
/// `random_state=random_state`, in tree order (each below `2^31 - 1`).
pub fn tree_seeds(random_state: u32, n_estimators: u32) -> Vec<u32> {
    let mut rs = RandomState::new(random_state);
    (0..n_estimators)
        .map(|_| rs.randint(0, MAX_INT) as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    //! Expected values printed by scikit-learn 1.9.1 with numpy 2.4.6.
    use alloc::vec::Vec;

    use super::*;

    #[test]
    fn tree_seeds_are_sklearns() {
        // [e.random_state for e in RandomForestRegressor(n_estimators=10,
        //  random_state=42).fit(X, y).estimators_]
        assert_eq!(
            tree_seeds(42, 10),
            [
                1608637542, 1273642419, 1935803228, 787846414, 996406378, 1201263687, 423734972,
                415968276, 670094950, 1914837113
            ]
        );
        assert_eq!(
            tree_seeds(0, 5),
            [209652396, 398764591, 924231285, 1478610112, 441365315]
        );
    }

    #[test]
    fn per_tree_streams_are_sklearns() {
        // The splitter's seed: RandomState(209652396).randint(0, RAND_R_MAX).
        let seed = 209652396;
        let mut rs = RandomState::new(seed);
        assert_eq!(
            rs.randint(0, i64::from(random_state::RAND_R_MAX)),
            2087557356
        );
        // _generate_sample_indices(209652396, 353, 20, None)
        let mut rs = RandomState::new(seed);
        let drawn: Vec<i64> = (0..20).map(|_| rs.randint(0, 353)).collect();
        assert_eq!(
            drawn,
            [
                236, 227, 32, 64, 242, 310, 41, 323, 239, 239, 201, 198, 1, 49, 245, 263, 111, 251,
                169, 167
            ]
        );
    }
}
