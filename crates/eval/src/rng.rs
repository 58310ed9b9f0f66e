//! The bootstrap's random numbers: SplitMix64 (Steele, Lea, Flood 2014), one independent
//! stream per resample derived from (seed, resample index), so a resample draws the same
//! users whichever thread runs it.

/// The SplitMix64 output function, also used to derive stream seeds.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The stream of resample `index` under `seed`.
    pub(crate) fn stream(seed: u64, index: u64) -> Self {
        SplitMix64 {
            state: mix64(seed.wrapping_add(GAMMA)) ^ mix64(index.wrapping_mul(GAMMA) ^ 0x5851_F42D),
        }
    }

    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// Uniform in `0..n` (n ≥ 1), without modulo bias (Lemire 2019, multiply-and-reject).
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut g = SplitMix64::stream(42, 7);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[g.below(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(g.below(1), 0);
    }

    #[test]
    fn streams_differ_by_seed_and_index() {
        let first = |seed, index| SplitMix64::stream(seed, index).next_u64();
        assert_ne!(first(42, 0), first(42, 1));
        assert_ne!(first(42, 0), first(43, 0));
        assert_eq!(first(42, 5), first(42, 5));
    }
}
