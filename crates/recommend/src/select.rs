//! The one top-k selection of clickrec: partial selection (`select_nth_unstable_by`),
//! then a sort of the kept part. [`crate::TopN`] streams through it, and every batch
//! "best k of these" (neighbours, segment summaries, item-kNN lists, sampled users)
//! calls it directly.

use std::cmp::Ordering;

/// Keeps the best `k` of `entries`, in no order: `better(a, b)` is `Less` when `a`
/// ranks before `b` (a total order, so which entries are kept never depends on their
/// input order). Afterwards the last entry (when `k` were kept) is the worst kept one.
pub fn retain_best<T>(entries: &mut Vec<T>, k: usize, better: impl FnMut(&T, &T) -> Ordering) {
    if k == 0 {
        entries.clear();
    } else if entries.len() >= k {
        entries.select_nth_unstable_by(k - 1, better);
        entries.truncate(k);
    }
}

/// Keeps the best `k` of `entries`, best first (see [`retain_best`]).
pub fn keep_best<T>(entries: &mut Vec<T>, k: usize, mut better: impl FnMut(&T, &T) -> Ordering) {
    retain_best(entries, k, &mut better);
    entries.sort_unstable_by(better);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keeps_the_prefix_of_the_full_sort(mut v in proptest::collection::vec(0u32..50, 0..80), k in 0usize..90) {
            let mut sorted = v.clone();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            sorted.truncate(k);
            keep_best(&mut v, k, |a, b| b.cmp(a));
            prop_assert_eq!(v, sorted);
        }
    }
}
