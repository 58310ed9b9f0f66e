//! Weighted picks and exact integer allocation.

use crate::rng::{Rng, powf};

/// Weighted pick by binary search over running sums of the weights.
///
/// A Zipf table over `n` ranks is a prefix of the table over more ranks, so one table per
/// exponent serves every category size: see [`Cumulative::sample_prefix`].
#[derive(Clone, Debug)]
pub(crate) struct Cumulative {
    cum: Vec<f64>,
}

impl Cumulative {
    /// From non-negative finite weights; at least one must be positive.
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cum: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                debug_assert!(w >= 0.0 && w.is_finite());
                total += w;
                total
            })
            .collect();
        debug_assert!(total > 0.0);
        Cumulative { cum }
    }

    /// Zipf weights `1 / (rank + 1)^exponent` over `n` ranks.
    pub(crate) fn zipf(n: usize, exponent: f64) -> Self {
        Cumulative::new((1..=n).map(|r| 1.0 / powf(r as f64, exponent)))
    }

    /// Index picked with probability proportional to its weight.
    pub(crate) fn sample(&self, rng: &mut Rng) -> usize {
        self.sample_prefix(rng, self.cum.len())
    }

    /// Index in `0..n` picked by the first `n` weights only (`1 <= n <= len`).
    pub(crate) fn sample_prefix(&self, rng: &mut Rng, n: usize) -> usize {
        debug_assert!(n >= 1 && n <= self.cum.len());
        let u = rng.f64() * self.cum[n - 1];
        self.cum[..n].partition_point(|&c| c <= u).min(n - 1)
    }
}

/// Splits `total` into one part per weight, each part at least 1, the rest proportional to
/// the weights by largest remainder; the parts add up to exactly `total`.
///
/// `total` must be at least `weights.len()`; weights must be finite and non-negative (all
/// zero means equal). Ties go to the lower index, so the result is fully deterministic.
pub(crate) fn allocate(total: u64, weights: &[f64]) -> Vec<u64> {
    let mut parts = Vec::new();
    let mut scratch = Vec::new();
    allocate_into(total, weights, &mut parts, &mut scratch);
    parts
}

/// [`allocate`] into caller-owned buffers, so per-user calls do not allocate.
pub(crate) fn allocate_into(
    total: u64,
    weights: &[f64],
    parts: &mut Vec<u64>,
    scratch: &mut Vec<(f64, u32)>,
) {
    let n = weights.len();
    parts.clear();
    if n == 0 {
        return;
    }
    assert!(total >= n as u64, "allocate: total {total} < {n} parts");
    let rest = total - n as u64;
    let sum: f64 = weights.iter().sum();
    let equal = sum.is_nan() || sum <= 0.0;
    let rest_f = rest as f64;
    let mut given = 0u64;
    scratch.clear();
    for (i, &w) in weights.iter().enumerate() {
        let share = if equal { 1.0 / n as f64 } else { w / sum };
        let quota = rest_f * share;
        let whole = quota.floor();
        let whole_u = (whole as u64).min(rest);
        parts.push(1 + whole_u);
        given += whole_u;
        scratch.push((quota - whole, i as u32));
    }
    // Rounding can leave us a few units short (usual) or, in freak cases, over.
    if given < rest {
        scratch.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut left = rest - given;
        while left > 0 {
            for &(_, i) in scratch.iter() {
                if left == 0 {
                    break;
                }
                parts[i as usize] += 1;
                left -= 1;
            }
        }
    } else if given > rest {
        scratch.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut extra = given - rest;
        while extra > 0 {
            for &(_, i) in scratch.iter() {
                if extra == 0 {
                    break;
                }
                if parts[i as usize] > 1 {
                    parts[i as usize] -= 1;
                    extra -= 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use proptest::prelude::{Just, any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest};

    #[test]
    fn zipf_prefix_prefers_low_ranks() {
        let table = Cumulative::zipf(100, 1.0);
        let mut rng = Rng::new(1, Stream::User, 0);
        let mut counts = [0u32; 10];
        for _ in 0..50_000 {
            let r = table.sample_prefix(&mut rng, 10);
            counts[r] += 1;
        }
        // P(rank 0) = 1 / H(10) = 0.341; P(rank 9) = 0.034.
        assert!((16_000..18_200).contains(&counts[0]), "{counts:?}");
        assert!((1_400..2_000).contains(&counts[9]), "{counts:?}");
        assert!(counts.windows(2).all(|w| w[0] > w[1]), "{counts:?}");
    }

    #[test]
    fn zero_weights_are_never_picked() {
        let table = Cumulative::new([0.0, 1.0, 0.0, 3.0, 0.0]);
        let mut rng = Rng::new(2, Stream::User, 0);
        for _ in 0..10_000 {
            let i = table.sample(&mut rng);
            assert!(i == 1 || i == 3);
        }
    }

    #[test]
    fn allocate_is_proportional_with_floor_of_one() {
        assert_eq!(allocate(10, &[1.0, 1.0, 0.0, 2.0]), vec![3, 2, 1, 4]);
        assert_eq!(allocate(4, &[5.0, 0.0, 0.0, 1.0]), vec![1, 1, 1, 1]);
        assert_eq!(allocate(7, &[0.0, 0.0, 0.0]), vec![3, 2, 2]);
        assert_eq!(allocate(0, &[]), Vec::<u64>::new());
    }

    proptest! {
        #[test]
        fn allocate_sums_exactly_and_gives_everyone_one(
            weights in prop::collection::vec(
                prop_oneof![Just(0.0), 0.0f64..1e-6, 0.0f64..10.0, 1e6f64..1e12], 1..200),
            extra in 0u64..1_000_000,
        ) {
            let total = weights.len() as u64 + extra;
            let parts = allocate(total, &weights);
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().sum::<u64>(), total);
            prop_assert!(parts.iter().all(|&p| p >= 1));
            // Each part is within one unit of its exact proportional share.
            let sum: f64 = weights.iter().sum();
            if sum > 0.0 {
                for (p, w) in parts.iter().zip(&weights) {
                    let exact = 1.0 + extra as f64 * w / sum;
                    prop_assert!((*p as f64 - exact).abs() <= 1.0 + 1e-6 * exact, "{} vs {}", p, exact);
                }
            }
        }

        #[test]
        fn sample_prefix_stays_in_prefix(n in 1usize..50, seed in any::<u64>()) {
            let table = Cumulative::zipf(50, 0.8);
            let mut rng = Rng::new(seed, Stream::User, 0);
            for _ in 0..100 {
                prop_assert!(table.sample_prefix(&mut rng, n) < n);
            }
        }
    }
}
