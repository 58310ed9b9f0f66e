//! The bootstrap's random numbers: core's SplitMix64, one independent stream per
//! resample derived from (seed, resample index), so a resample draws the same users
//! whichever thread runs it.

pub(crate) use clickrec_core::SplitMix64;
use clickrec_core::{SPLITMIX_GAMMA, mix64};

/// The stream of resample `index` under `seed`.
pub(crate) fn stream(seed: u64, index: u64) -> SplitMix64 {
    SplitMix64::new(
        mix64(seed.wrapping_add(SPLITMIX_GAMMA))
            ^ mix64(index.wrapping_mul(SPLITMIX_GAMMA) ^ 0x5851_F42D),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_seed_and_index() {
        let first = |seed, index| stream(seed, index).next_u64();
        assert_ne!(first(42, 0), first(42, 1));
        assert_ne!(first(42, 0), first(43, 0));
        assert_eq!(first(42, 5), first(42, 5));
    }
}
