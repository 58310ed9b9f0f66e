//! SplitMix64 (Steele, Lea, Flood 2014): the one small seeded generator of clickrec —
//! ALS init, the re-ranker's sampling, the evaluator's bootstrap, the synthetic log's
//! seeding and test data. Ours, so seeded results never change with a dependency.

/// The generator's increment (the golden ratio in 64 bits).
pub const SPLITMIX_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective 64-bit mixer, also used on its own to
/// derive stream seeds from (seed, index) pairs.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of the stream named by `tags` under the run's `seed`: each tag folded in
/// through [`mix64`], so `(seed, [a, b])` and `(seed, [b, a])` differ. New streams derive
/// their seeds here, never from a thread, so results do not depend on scheduling.
pub fn derive_seed(seed: u64, tags: &[u64]) -> u64 {
    tags.iter().fold(mix64(seed ^ SPLITMIX_GAMMA), |h, &t| {
        mix64(h.wrapping_add(SPLITMIX_GAMMA) ^ mix64(t.wrapping_add(SPLITMIX_GAMMA)))
    })
}

/// One SplitMix64 stream; the same seed gives the same numbers everywhere.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// Stream `index` of `seed` (the bootstrap's resamples, one stream each).
    pub fn stream(seed: u64, index: u64) -> Self {
        SplitMix64(
            mix64(seed.wrapping_add(SPLITMIX_GAMMA))
                ^ mix64(index.wrapping_mul(SPLITMIX_GAMMA) ^ 0x5851_F42D),
        )
    }

    /// The stream of [`derive_seed`]`(seed, tags)`.
    pub fn derived(seed: u64, tags: &[u64]) -> Self {
        SplitMix64(derive_seed(seed, tags))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(SPLITMIX_GAMMA);
        mix64(self.0)
    }

    /// Uniform in `[0, 1)`, 24 random bits.
    #[inline]
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in `[0, 1)`, 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// In `0..n` (n > 0) by multiply-shift: a bias below n / 2⁶⁴, fine for sampling.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `0..n` (n ≥ 1) without bias (Lemire 2019, multiply-and-reject): for
    /// resampling, where a bias would shift confidence intervals.
    #[inline]
    pub fn below_exact(&mut self, n: u64) -> u64 {
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
    fn matches_the_reference_stream_and_stays_in_range() {
        // SplitMix64 from seed 0: the reference implementation's first outputs.
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(mix64(SPLITMIX_GAMMA), 0xE220_A839_7B1D_CDAF);
        let mut g = SplitMix64::new(7);
        for _ in 0..1000 {
            let x = g.next_f32();
            assert!((0.0..1.0).contains(&x));
            let y = g.next_f64();
            assert!((0.0..1.0).contains(&y));
            assert!(g.below(5) < 5);
        }
    }

    #[test]
    fn streams_differ_by_seed_and_index() {
        let first = |seed, index| SplitMix64::stream(seed, index).next_u64();
        assert_ne!(first(42, 0), first(42, 1));
        assert_ne!(first(42, 0), first(43, 0));
        assert_eq!(first(42, 5), first(42, 5));
    }

    #[test]
    fn derived_streams_differ_by_tag_order_and_seed() {
        assert_ne!(derive_seed(1, &[0, 1]), derive_seed(1, &[1, 0]));
        assert_ne!(derive_seed(1, &[0]), derive_seed(2, &[0]));
        assert_eq!(
            SplitMix64::derived(7, &[3]).next_u64(),
            SplitMix64::new(derive_seed(7, &[3])).next_u64()
        );
        let mut rng = SplitMix64::derived(7, &[3]);
        let mut counts = [0usize; 5];
        for _ in 0..50_000 {
            counts[rng.below(5)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn below_exact_is_in_range_and_roughly_uniform() {
        let mut g = SplitMix64::new(42);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[g.below_exact(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(g.below_exact(1), 0);
    }
}
