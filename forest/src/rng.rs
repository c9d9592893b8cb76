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

    /// Uniform `f64` in [0, 1): 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (Lemire's multiply-and-reject; unbiased). `n > 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let (mut hi, mut lo) = mul_wide(self.next_u64(), n);
        // The rejection threshold `2^64 mod n` is below `n`: a low half of at
        // least `n` is always accepted, so the division is rarely needed.
        if lo < n {
            let threshold = n.wrapping_neg() % n;
            while lo < threshold {
                (hi, lo) = mul_wide(self.next_u64(), n);
            }
        }
        hi
    }
}

/// The 128-bit product of `a` and `b` as (high, low) halves.
#[inline]
fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    if cfg!(target_pointer_width = "64") {
        let m = u128::from(a) * u128::from(b);
        ((m >> 64) as u64, m as u64)
    } else {
        mul_wide_halves(a, b)
    }
}

/// [`mul_wide`] from four 32×32 products. wasm32 has no wide multiply, and
/// `u128` there is a call to a generic 128×128 routine; this is a few
/// inline instructions.
#[inline]
fn mul_wide_halves(a: u64, b: u64) -> (u64, u64) {
    const M: u64 = 0xFFFF_FFFF;
    let (a0, a1, b0, b1) = (a & M, a >> 32, b & M, b >> 32);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 32) + (p01 & M) + (p10 & M);
    let lo = (mid << 32) | (p00 & M);
    let hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    (hi, lo)
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

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
    fn wide_multiply_from_halves_is_the_u128_product() {
        let mut r = Rng::new(3);
        let edges = [0, 1, 2, 0xFFFF_FFFF, 1 << 32, u64::MAX - 1, u64::MAX];
        let mut pairs: Vec<(u64, u64)> =
            (0..10_000).map(|_| (r.next_u64(), r.next_u64())).collect();
        for a in edges {
            for b in edges {
                pairs.push((a, b));
            }
        }
        for (a, b) in pairs {
            let m = u128::from(a) * u128::from(b);
            assert_eq!(
                mul_wide_halves(a, b),
                ((m >> 64) as u64, m as u64),
                "{a} * {b}"
            );
        }
    }

    #[test]
    fn below_is_lemires_method() {
        // The stream is part of the model format: `below` must draw exactly
        // what the plain u128 formulation draws, rejections included.
        fn reference(r: &mut Rng, n: u64) -> u64 {
            let threshold = n.wrapping_neg() % n;
            loop {
                let m = u128::from(r.next_u64()) * u128::from(n);
                if (m as u64) >= threshold {
                    return (m >> 64) as u64;
                }
            }
        }
        // Large n make rejections common (n near 2^63 rejects half the draws).
        for n in [
            1,
            2,
            3,
            10,
            353,
            1 << 20,
            (1 << 63) + 1,
            u64::MAX - 7,
            u64::MAX,
        ] {
            let (mut a, mut b) = (Rng::new(n), Rng::new(n));
            for _ in 0..2000 {
                assert_eq!(a.below(n), reference(&mut b, n), "n = {n}");
            }
        }
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
