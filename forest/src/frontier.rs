//! The frontier of best-first growth (`max_leaf_nodes`): a max-heap of
//! nodes by the impurity improvement of their best split, kept by the very
//! steps of the C++ standard library's `std::push_heap` / `std::pop_heap`
//! (libstdc++'s `__push_heap` and `__adjust_heap`) that scikit-learn's
//! `BestFirstTreeBuilder` uses. When two nodes tie, which one is expanded
//! first depends on those steps, so the `sklearn` splitter needs them to
//! grow scikit-learn's trees; the other splitters share them (any fixed rule
//! would do for them).

use alloc::vec::Vec;

/// A max-heap of `T` by the `f64` key given with each item; ties resolved
/// as libstdc++ resolves them with the comparison `a.key < b.key`.
#[derive(Debug)]
pub struct Frontier<T> {
    items: Vec<(f64, T)>,
}

impl<T> Default for Frontier<T> {
    fn default() -> Self {
        Frontier { items: Vec::new() }
    }
}

impl<T> Frontier<T> {
    /// `push_back` then `std::push_heap`.
    pub fn push(&mut self, key: f64, item: T) {
        self.items.push((key, item));
        let hole = self.items.len() - 1;
        self.sift_up(hole, 0);
    }

    /// `std::pop_heap` then `back()` and `pop_back()`: the item of the
    /// largest key.
    pub fn pop(&mut self) -> Option<T> {
        let last = self.items.len().checked_sub(1)?;
        // `__pop_heap`: the last item moves into the root's place, which
        // `__adjust_heap` then fills from below.
        self.items.swap(0, last);
        self.adjust(0, last);
        self.items.pop().map(|(_, item)| item)
    }

    fn less(&self, a: usize, b: usize) -> bool {
        self.items[a].0 < self.items[b].0
    }

    /// libstdc++'s `__push_heap(first, hole, top, value)`, the value being
    /// the item at `hole`: it moves up past every parent less than it.
    fn sift_up(&mut self, mut hole: usize, top: usize) {
        while hole > top {
            let parent = (hole - 1) / 2;
            if !self.less(parent, hole) {
                break;
            }
            self.items.swap(parent, hole);
            hole = parent;
        }
    }

    /// libstdc++'s `__adjust_heap(first, hole, len, value)` over the first
    /// `len` items, the value being the item at `hole`: the hole goes down
    /// to a leaf along the larger children (the right one on a tie), then
    /// the value moves up from there.
    fn adjust(&mut self, mut hole: usize, len: usize) {
        let top = hole;
        let mut child = hole;
        while len > 0 && child < (len - 1) / 2 {
            child = 2 * (child + 1);
            if self.less(child, child - 1) {
                child -= 1;
            }
            self.items.swap(hole, child);
            hole = child;
        }
        if len.is_multiple_of(2) && len >= 2 && child == (len - 2) / 2 {
            child = 2 * (child + 1);
            self.items.swap(hole, child - 1);
            hole = child - 1;
        }
        self.sift_up(hole, top);
    }
}

#[cfg(test)]
mod tests {
    use super::Frontier;
    use alloc::vec::Vec;

    #[test]
    fn pops_largest_first() {
        let mut f = Frontier::default();
        for (i, k) in [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0]
            .into_iter()
            .enumerate()
        {
            f.push(k, i);
        }
        let order: Vec<usize> = core::iter::from_fn(|| f.pop()).collect();
        assert_eq!(order, [5, 7, 4, 2, 0, 6, 3, 1]);
    }

    /// Ties come out in the order libstdc++'s `std::push_heap` /
    /// `std::pop_heap` give them: recorded from a C++ program (g++ 12.2,
    /// libstdc++) pushing these keys with their index and popping, as here.
    #[test]
    fn ties_follow_libstdcxx() {
        let mut f = Frontier::default();
        let mut out = Vec::new();
        for (i, k) in [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
            .into_iter()
            .enumerate()
        {
            f.push(k, i);
            if i % 3 == 2 {
                out.push(f.pop().unwrap());
            }
        }
        while let Some(i) = f.pop() {
            out.push(i);
        }
        assert_eq!(out, LIBSTDCXX_TIES);
    }

    const LIBSTDCXX_TIES: [usize; 8] = [2, 4, 7, 3, 5, 6, 1, 0];

    /// 2 000 random pushes (keys 0..4, many ties) and pops; the pop order's
    /// checksum `Σ (k + 1) · id_k` and length as the same C++ program printed.
    #[test]
    fn random_ties_follow_libstdcxx() {
        let (mut f, mut s, mut id) = (Frontier::default(), 12345u64, 0u64);
        let (mut n, mut sum) = (0u64, 0u64);
        for _ in 0..2000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (s >> 33) as u32;
            if r % 5 < 3 || f.items.is_empty() {
                f.push(f64::from((r >> 8) % 4), id);
                id += 1;
            } else {
                n += 1;
                sum += n * f.pop().unwrap();
            }
        }
        assert_eq!((n, sum), (844, 265_440_528));
    }
}
