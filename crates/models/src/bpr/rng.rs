//! Seeded streams for BPR: core's [`SplitMix64`] generator, each stream seeded from
//! `(seed, tags…)`, never from a thread, so results do not depend on scheduling.

use clickrec_core::SplitMix64;

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

/// A [`SplitMix64`] stream for `(seed, tags…)`.
pub(crate) fn derived(seed: u64, tags: &[u64]) -> SplitMix64 {
    SplitMix64::new(derive(seed, tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_tag_and_below_stays_in_range() {
        assert_ne!(derive(1, &[0, 1]), derive(1, &[1, 0]));
        assert_ne!(derive(1, &[0]), derive(2, &[0]));
        let mut rng = derived(7, &[3]);
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
                .map(|_| rng.next_f32())
                .all(|x| (0.0..1.0).contains(&x))
        );
    }
}
