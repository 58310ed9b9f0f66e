//! A small deterministic PRNG: SplitMix64 (Steele, Lea, Flood 2014), for seeding streams
//! and for the sampling itself. Every stream is derived from `(seed, tags…)`, never from
//! a thread, so results do not depend on scheduling.

/// SplitMix64's output function: a bijective 64-bit mixer.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// A seed derived from `seed` and a path of tags (purpose, epoch, stratum, row…).
pub(crate) fn derive(seed: u64, tags: &[u64]) -> u64 {
    tags.iter().fold(mix64(seed ^ GOLDEN), |h, &t| {
        mix64(h.wrapping_add(GOLDEN) ^ mix64(t.wrapping_add(GOLDEN)))
    })
}

/// SplitMix64 generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A stream for `(seed, tags…)`.
    pub(crate) fn derived(seed: u64, tags: &[u64]) -> Self {
        Rng::new(derive(seed, tags))
    }

    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// Uniform in `0..n`, `n > 0` (multiply-shift; its bias is below `n / 2⁶⁴`).
    #[inline]
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)` with 24 random bits.
    #[inline]
    pub(crate) fn unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_tag_and_below_stays_in_range() {
        assert_ne!(derive(1, &[0, 1]), derive(1, &[1, 0]));
        assert_ne!(derive(1, &[0]), derive(2, &[0]));
        let mut rng = Rng::derived(7, &[3]);
        let mut counts = [0usize; 5];
        for _ in 0..50_000 {
            counts[rng.below(5)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
        assert!(
            (0..1000)
                .map(|_| rng.unit_f32())
                .all(|x| (0.0..1.0).contains(&x))
        );
    }
}
