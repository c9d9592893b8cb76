//! numpy's legacy `np.random.RandomState`, as far as scikit-learn's forests
//! use it: MT19937 seeded from an integer (`mt19937_seed`, Matsumoto and
//! Nishimura's `init_genrand`) and `randint` on the legacy, masked
//! rejection path (`random_bounded_uint64_fill` / `_uint32_fill` with
//! `use_masked=True`).

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `np.random.RandomState(seed)` for an integer `0 <= seed < 2**32`.
#[derive(Clone)]
pub struct RandomState {
    key: [u32; N],
    pos: usize,
}

impl core::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RandomState")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl RandomState {
    /// numpy's `_legacy_seeding` of an int: `mt19937_seed`.
    pub fn new(seed: u32) -> Self {
        let mut key = [0u32; N];
        let mut s = seed;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(pos as u32 + 1);
        }
        RandomState { key, pos: N }
    }

    fn generate(&mut self) {
        let twist = |a: u32, b: u32, far: u32| {
            let y = (a & UPPER_MASK) | (b & LOWER_MASK);
            far ^ (y >> 1) ^ (0u32.wrapping_sub(y & 1) & MATRIX_A)
        };
        for i in 0..N - M {
            self.key[i] = twist(self.key[i], self.key[i + 1], self.key[i + M]);
        }
        for i in N - M..N - 1 {
            self.key[i] = twist(self.key[i], self.key[i + 1], self.key[i + M - N]);
        }
        self.key[N - 1] = twist(self.key[N - 1], self.key[0], self.key[M - 1]);
        self.pos = 0;
    }

    /// `random_sample()` (`legacy_double`, `mt19937_next_double`): a
    /// uniform float64 in [0, 1) from two outputs, 53 bits.
    pub fn random_sample(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67108864.0 + f64::from(b)) / 9007199254740992.0
    }

    /// `mt19937_next32`: the next tempered output.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `mt19937_next64`: two outputs, the first in the high half.
    pub fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        (hi << 32) | u64::from(self.next_u32())
    }

    /// One value of `RandomState.randint(low, high)` (`low <= x < high`,
    /// `low < high`), default `int64` dtype. `dtype=np.int32` draws the very
    /// same values for ranges that fit (`random_bounded_uint32_fill` takes
    /// the same masked 32-bit path), and an array `size=n` is `n` calls.
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        assert!(low < high, "randint needs low < high");
        // The generator draws on the closed interval [off, off + rng].
        let rng = (high as u64).wrapping_sub(1).wrapping_sub(low as u64);
        let off = low as u64;
        let v = if rng == 0 {
            0
        } else if rng <= 0xFFFF_FFFF {
            if rng == 0xFFFF_FFFF {
                u64::from(self.next_u32())
            } else {
                let mask = gen_mask(rng) as u32;
                loop {
                    let v = self.next_u32() & mask;
                    if u64::from(v) <= rng {
                        break u64::from(v);
                    }
                }
            }
        } else if rng == u64::MAX {
            self.next_u64()
        } else {
            let mask = gen_mask(rng);
            loop {
                let v = self.next_u64() & mask;
                if v <= rng {
                    break v;
                }
            }
        };
        off.wrapping_add(v) as i64
    }
}

impl RandomState {
    /// `RandomState.shuffle` of a 1-d array: numpy's Fisher-Yates
    /// (`_shuffle_raw`), each swap partner drawn by `random_interval`.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u64) as usize;
            x.swap(i, j);
        }
    }

    /// numpy's `random_interval(max)`: a value of `0..=max` by masked
    /// rejection, 32 bits at a time when `max` fits.
    fn interval(&mut self, max: u64) -> u64 {
        let mask = gen_mask(max);
        loop {
            let v = match max <= 0xFFFF_FFFF {
                true => u64::from(self.next_u32()) & mask,
                false => self.next_u64() & mask,
            };
            if v <= max {
                return v;
            }
        }
    }
}

/// The smallest `2^k - 1 >= max`.
fn gen_mask(max: u64) -> u64 {
    let mut mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask | (mask >> 32)
}

/// scikit-learn's `our_rand_r` (`sklearn/utils/_random.pxd`): a 32-bit
/// xorshift whose output is reduced modulo `RAND_R_MAX + 1 = 2^31`.
pub fn our_rand_r(seed: &mut u32) -> u32 {
    if *seed == 0 {
        *seed = 1; // DEFAULT_SEED
    }
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    *seed % (RAND_R_MAX + 1)
}

/// `RAND_R_MAX` of `sklearn/tree/_utils.pxd`, `2^31 - 1`.
pub const RAND_R_MAX: u32 = 0x7fff_ffff;

/// `rand_int(low, high, state)` of `sklearn/tree/_utils.pyx`: `low + r % (high - low)`.
pub fn rand_int(low: usize, high: usize, state: &mut u32) -> usize {
    low + our_rand_r(state) as usize % (high - low)
}

#[cfg(test)]
mod tests {
    //! Expected values printed by numpy 2.4.6 and scikit-learn 1.9.1.
    use alloc::vec::Vec;

    use super::*;

    fn draws(rs: &mut RandomState, low: i64, high: i64, n: usize) -> Vec<i64> {
        (0..n).map(|_| rs.randint(low, high)).collect()
    }

    #[test]
    fn mt19937_first_outputs() {
        // np.random.MT19937()._legacy_seeding(s); .random_raw(6)
        // (the same as RandomState(s).randint(0, 2**32, 6, dtype=np.uint64)).
        let cases: [(u32, [u32; 6]); 5] = [
            (
                0,
                [
                    2357136044, 2546248239, 3071714933, 3626093760, 2588848963, 3684848379,
                ],
            ),
            (
                1,
                [
                    1791095845, 4282876139, 3093770124, 4005303368, 491263, 550290313,
                ],
            ),
            (
                42,
                [
                    1608637542, 3421126067, 4083286876, 787846414, 3143890026, 3348747335,
                ],
            ),
            (
                5489,
                [
                    3499211612, 581869302, 3890346734, 3586334585, 545404204, 4161255391,
                ],
            ),
            (
                u32::MAX,
                [
                    419326371, 479346978, 3918654476, 2416749639, 3388880820, 2260532800,
                ],
            ),
        ];
        for (seed, expected) in cases {
            let mut rs = RandomState::new(seed);
            let got: Vec<u32> = (0..6).map(|_| rs.next_u32()).collect();
            assert_eq!(got, expected, "seed {seed}");
        }
        // Across regenerations of the 624-word state.
        // a = RandomState(7).randint(0, 2**32, 1300, dtype=np.uint64)
        let mut rs = RandomState::new(7);
        let a: Vec<u32> = (0..1300).map(|_| rs.next_u32()).collect();
        let picks = [622, 623, 624, 625, 1247, 1248, 1299].map(|i| a[i]);
        assert_eq!(
            picks,
            [
                3584058812, 3222554838, 3732577367, 469411292, 1201781567, 2879337408, 2383013663
            ]
        );
    }

    #[test]
    fn randint_int64_sequences() {
        // rs = RandomState(42), then these calls in order (default dtype).
        let mut rs = RandomState::new(42);
        assert_eq!(
            draws(&mut rs, 0, 10, 12),
            [6, 3, 7, 4, 6, 9, 2, 6, 7, 4, 3, 7]
        );
        assert_eq!(
            draws(&mut rs, 7, 20, 12),
            [14, 9, 12, 11, 8, 14, 18, 12, 8, 18, 11, 7]
        );
        assert_eq!(
            draws(&mut rs, 0, (1 << 31) - 1, 5),
            [1306710475, 479546681, 106328085, 30349564, 1855189739]
        );
        assert_eq!(draws(&mut rs, 0, 16, 8), [8, 0, 10, 10, 14, 9, 15, 11]);
        assert_eq!(
            draws(&mut rs, 0, 1 << 32, 3),
            [4182248123, 1573512143, 999745294]
        );
        assert_eq!(
            draws(&mut rs, 0, (1 << 40) + 3, 4),
            [812137970621, 749980257213, 216391026539, 236151178483]
        );
        assert_eq!(draws(&mut rs, -5, 5, 8), [3, -3, -1, -3, 1, -1, 3, 1]);
        // Scalar calls draw as size-1 arrays: RandomState(123),
        // [rs.randint(2**31-1) for _ in 4], then [rs.randint(0, 5) for _ in 6].
        let mut rs = RandomState::new(123);
        assert_eq!(
            draws(&mut rs, 0, (1 << 31) - 1, 4),
            [843828734, 914636141, 1228959102, 1840268610]
        );
        assert_eq!(draws(&mut rs, 0, 5, 6), [4, 2, 1, 3, 2, 3]);
    }

    #[test]
    fn randint_int32_dtype_draws_the_same() {
        // RandomState(3).randint(0, 353, 15, dtype=np.int32), then
        // .randint(0, 1000, 10, dtype=np.int32); the int64 default gives the
        // same first 15.
        let mut rs = RandomState::new(3);
        let first = [
            152, 249, 131, 256, 277, 147, 202, 169, 138, 119, 148, 93, 26, 337, 150,
        ];
        assert_eq!(draws(&mut rs, 0, 353, 15), first);
        assert_eq!(
            draws(&mut rs, 0, 1000, 10),
            [834, 258, 959, 316, 641, 947, 858, 581, 872, 622]
        );
    }

    #[test]
    fn shuffle_is_numpys() {
        // a = np.arange(10); rs = RandomState(5); rs.shuffle(a); then again.
        let mut rs = RandomState::new(5);
        let mut a: Vec<u32> = (0..10).collect();
        rs.shuffle(&mut a);
        assert_eq!(a, [9, 5, 2, 4, 7, 1, 0, 8, 6, 3]);
        rs.shuffle(&mut a);
        assert_eq!(a, [2, 1, 0, 4, 6, 5, 7, 8, 3, 9]);
        // RandomState(123).shuffle(np.arange(1000)): its first 8 and last 4.
        let mut rs = RandomState::new(123);
        let mut a: Vec<u32> = (0..1000).collect();
        rs.shuffle(&mut a);
        assert_eq!(a[..8], [131, 203, 50, 585, 138, 632, 328, 461]);
        assert_eq!(a[996..], [322, 382, 365, 510]);
        // permutation_importance's per-column seed for random_state=42.
        let mut rs = RandomState::new(42);
        assert_eq!(rs.randint(0, i64::from(i32::MAX) + 1), 1_608_637_542);
    }

    #[test]
    fn our_rand_r_is_sklearns() {
        // sklearn.utils._random._our_rand_r_py(v) (each from a fresh seed v).
        let cases = [
            (0, 270369),
            (1, 270369),
            (2, 540738),
            (12345, 1189442682),
            (0x7fff_ffff, 761887),
            (u32::MAX, 253983),
        ];
        for (seed, expected) in cases {
            let mut s = seed;
            assert_eq!(our_rand_r(&mut s), expected, "seed {seed}");
        }
    }
}
