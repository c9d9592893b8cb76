//! A small, fully specified PRNG (SplitMix64 seeding xoshiro256**).
//!
//! Written here rather than taken from `rand` on purpose: model bytes must stay
//! identical across releases, platforms (native and wasm32) and dependency
//! updates, so the exact stream of numbers is part of the model format.

/// SplitMix64 finaliser: a bijective 64-bit mix.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut s = [0u64; 4];
        for v in &mut s {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *v = mix64(z);
        }
        // xoshiro's only bad state is all zeros; SplitMix64 never yields four.
        Rng { s }
    }

    /// The generator of tree `index` in a forest seeded with `seed`. Depends on
    /// nothing else, so a tree is the same whichever worker builds it, in any order.
    pub fn for_tree(seed: u64, index: u32) -> Self {
        Rng::new(mix64(seed) ^ mix64(0xA076_1D64_78BD_642F ^ u64::from(index)))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform integer in `0..n` (Lemire's multiply-and-reject; unbiased). `n > 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_pinned() {
        // The stream is part of the model format: changing it changes every model.
        let mut r = Rng::new(42);
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut again = Rng::new(42);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        assert_ne!(
            Rng::for_tree(42, 0).next_u64(),
            Rng::for_tree(42, 1).next_u64()
        );
        assert_ne!(
            Rng::for_tree(42, 0).next_u64(),
            Rng::for_tree(43, 0).next_u64()
        );
    }

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut r = Rng::new(7);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            let v = r.below(10) as usize;
            seen[v] += 1;
        }
        for (i, &c) in seen.iter().enumerate() {
            assert!((800..1200).contains(&c), "value {i} drawn {c} times");
        }
    }
}
