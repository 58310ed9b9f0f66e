//! External ids that look like Taobao's: dense internal indices are never visible.

use crate::rng::mix64;

/// Item and category ids are drawn from `1..=ID_SPACE` (or more if the catalogue is bigger),
/// as in the official file where both go up to about 5.16 M.
pub(crate) const ID_SPACE: u64 = 5_000_000;

/// User ids are spread over `1..=USER_ID_SPAN` (about 1 M, like the official file).
pub(crate) const USER_ID_SPAN: u64 = 1_000_000;

/// A keyed bijection of `0..domain` (4-round Feistel network with cycle walking), so dense
/// indices map to distinct ids in which popularity rank cannot be seen.
#[derive(Clone, Debug)]
pub(crate) struct Scramble {
    domain: u64,
    half_bits: u32,
    keys: [u64; 4],
}

impl Scramble {
    pub(crate) fn new(domain: u64, key: u64) -> Self {
        assert!(domain >= 1);
        let bits = 64 - (domain - 1).leading_zeros().min(63);
        let half_bits = bits.div_ceil(2).max(1);
        let mut state = clickrec_core::SplitMix64::new(key);
        let keys = std::array::from_fn(|_| state.next_u64());
        Scramble {
            domain,
            half_bits,
            keys,
        }
    }

    fn round_trip(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for key in self.keys {
            let f = mix64(right ^ key) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }

    /// The image of `x < domain`, also `< domain`.
    pub(crate) fn apply(&self, x: u64) -> u64 {
        debug_assert!(x < self.domain);
        let mut y = self.round_trip(x);
        while y >= self.domain {
            y = self.round_trip(y);
        }
        y
    }
}

/// The external id of the user with dense index `u` of `users`: strictly increasing in `u`
/// (so output sorted by dense index is sorted by id) and spread over about 1..1 M.
pub(crate) fn user_external_id(u: u32, users: u32, key: u64) -> u64 {
    let stride = (USER_ID_SPAN / u64::from(users)).max(1);
    let jitter = if stride > 1 {
        mix64(key ^ u64::from(u)) % stride
    } else {
        0
    };
    1 + u64::from(u) * stride + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scramble_is_a_bijection() {
        for domain in [1u64, 2, 3, 17, 1000, 4097] {
            let s = Scramble::new(domain, 99);
            let mut seen = vec![false; domain as usize];
            for x in 0..domain {
                let y = s.apply(x);
                assert!(y < domain);
                assert!(!seen[y as usize], "collision in domain {domain}");
                seen[y as usize] = true;
            }
        }
    }

    #[test]
    fn scramble_spreads_small_indices() {
        let s = Scramble::new(ID_SPACE, 5);
        let ids: Vec<u64> = (0..100).map(|x| s.apply(x)).collect();
        assert!(ids.iter().any(|&y| y > ID_SPACE / 2));
        assert!(ids.iter().any(|&y| y < ID_SPACE / 2));
    }

    #[test]
    fn user_ids_ascend_and_spread() {
        for users in [1u32, 815, 1000, 999_999, 2_000_000] {
            let key = 7;
            let step = (users / 1000).max(1);
            let mut prev = 0;
            let mut u = 0;
            while u < users {
                let id = user_external_id(u, users, key);
                assert!(id > prev, "users = {users}, u = {u}");
                prev = id;
                u += step;
            }
            let last = user_external_id(users - 1, users, key);
            assert!(last <= USER_ID_SPAN.max(u64::from(users)));
        }
        assert!(user_external_id(814, 815, 1) > 900_000);
    }
}
