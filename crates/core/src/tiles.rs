//! Top-N for dot-product models, tile by tile.
//!
//! A block of users is multiplied by one tile of item factors at a time, into a score
//! tile small enough to stay in cache; each user's rows of the tile are then scanned with
//! a vectorisable maximum per run of scores, and only runs whose maximum can still enter
//! the user's top-N reach the heap. Item factors are read in place (the matrix multiply
//! packs one tile at a time), no buffer is zero-filled for a kernel that overwrites it,
//! and no row of scores over the whole catalogue is ever written out.
//!
//! Each score is the same dot product, added in the same order, as one multiply over all
//! items would give (the multiply's inner dimension is not split), so the lists equal
//! those of the plain path bit for bit; a property test checks it.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use crate::UserId;
use crate::recommend::{Columns, FactorScores, Filter, TopN, column_of, item_at};

/// Users per block of the factor path: each item tile is packed once per block, so large
/// blocks spread that cost (`examples/topn_speed`: 1024 users ran fastest of 128–2048).
pub(crate) const BLOCK_USERS: usize = 1024;

/// Item columns per tile: a 1024 × 256 tile of f32 scores is 1 MiB, read back while it is
/// still in cache.
const TILE_ITEMS: usize = 256;

/// Scores scanned per threshold test: one vector-wide maximum decides whether any of them
/// can enter the top-N.
const RUN: usize = 16;

/// A worker's buffers, reused from block to block.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    users: Vec<f32>,
    tile: Vec<f32>,
    tops: Vec<TopN>,
    /// Per user of the block: how far its seen items have been applied.
    seen_at: Vec<usize>,
}

/// The top-N of each user of `block`, before draining.
pub(crate) fn select_block<'s, 'h>(
    f: &FactorScores<'_>,
    block: &[UserId],
    seen: impl Fn(UserId) -> &'h [u32],
    columns: Option<&Columns<'_>>,
    filter: &Filter,
    n: usize,
    scratch: &'s mut Scratch,
) -> &'s mut [TopN] {
    let dim = f.dim;
    let n_columns = f.items.len() / dim;
    let known_users = f.users.len() / dim;
    let Scratch {
        users,
        tile,
        tops,
        seen_at,
    } = scratch;

    users.clear();
    for user in block {
        let u = user.0 as usize;
        if u < known_users {
            users.extend_from_slice(&f.users[u * dim..(u + 1) * dim]);
        } else {
            users.resize(users.len() + dim, 0.0);
        }
    }
    let users = ArrayView2::from_shape((block.len(), dim), users.as_slice())
        .unwrap_or_else(|_| unreachable!("block × dim user values"));
    // The caller drains every selector of a block, which leaves it empty for the next.
    tops.truncate(block.len());
    tops.resize_with(block.len(), || TopN::new(n));
    seen_at.clear();
    seen_at.resize(block.len(), 0);
    // Filled once; the multiply overwrites it (beta = 0), so it is never zeroed again.
    tile.resize(block.len() * TILE_ITEMS.min(n_columns), 0.0);

    for start in (0..n_columns).step_by(TILE_ITEMS) {
        let end = (start + TILE_ITEMS).min(n_columns);
        let width = end - start;
        let items = ArrayView2::from_shape((width, dim), &f.items[start * dim..end * dim])
            .unwrap_or_else(|_| unreachable!("tile × dim item values"));
        let mut scores =
            ArrayViewMut2::from_shape((block.len(), width), &mut tile[..block.len() * width])
                .unwrap_or_else(|_| unreachable!("block × tile scores"));
        general_mat_mul(1.0, &users, &items.t(), 0.0, &mut scores);

        for (k, &user) in block.iter().enumerate() {
            let row = &mut tile[k * width..(k + 1) * width];
            if filter.exclude_seen {
                mark_seen(row, start, end, seen(user), columns, &mut seen_at[k]);
            }
            let top = &mut tops[k];
            for (run, values) in row.chunks(RUN).enumerate() {
                if run_max(values) < top.threshold() {
                    continue;
                }
                for (offset, &score) in values.iter().enumerate() {
                    let item = item_at(columns, start + run * RUN + offset);
                    if filter.is_allowed(item) {
                        top.push(item, score);
                    }
                }
            }
        }
    }
    tops
}

/// Sets the scores of `seen` items that fall in columns `start..end` to NaN (never
/// recommended). `seen` is increasing, and so are columns, so `at` only moves forward.
fn mark_seen(
    row: &mut [f32],
    start: usize,
    end: usize,
    seen: &[u32],
    columns: Option<&Columns<'_>>,
    at: &mut usize,
) {
    while let Some(&item) = seen.get(*at) {
        match column_of(columns, item) {
            Some(c) if c >= end => return,
            Some(c) if c >= start => row[c - start] = f32::NAN,
            _ => {}
        }
        *at += 1;
    }
}

/// The largest score of a run, NaN ignored (−∞ for a run of NaN): written without
/// branches so it compiles to vector maxima.
#[inline]
fn run_max(values: &[f32]) -> f32 {
    values
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;
    use crate::{
        BlockScores, Candidates, ItemId, RecommendRequest, Recommender, UserItemMatrix, recommend,
    };

    /// Factors with small integer values, so many scores tie.
    struct Dot {
        dim: usize,
        users: Vec<f32>,
        /// One row per scored column.
        items: Vec<f32>,
        scored: Option<Vec<ItemId>>,
        n_items: usize,
        tiled: bool,
    }

    impl Recommender for Dot {
        fn n_items(&self) -> usize {
            self.n_items
        }
        fn scored_items(&self) -> Option<&[ItemId]> {
            self.scored.as_deref()
        }
        /// The plain path: one multiply over every column of the block.
        fn score_block(&self, users: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
            let f = FactorScores {
                dim: self.dim,
                users: &self.users,
                items: &self.items,
            };
            let width = self.items.len() / self.dim;
            let mut a = Vec::new();
            for u in users {
                let u = u.0 as usize;
                if u < f.users.len() / self.dim {
                    a.extend_from_slice(&f.users[u * self.dim..(u + 1) * self.dim]);
                } else {
                    a.resize(a.len() + self.dim, 0.0);
                }
            }
            let a = ArrayView2::from_shape((users.len(), self.dim), &a[..]).unwrap();
            let b = ArrayView2::from_shape((width, self.dim), &self.items[..]).unwrap();
            let mut c = ArrayViewMut2::from_shape((users.len(), width), out.dense()).unwrap();
            general_mat_mul(1.0, &a, &b.t(), 0.0, &mut c);
        }
        fn factors(&self) -> Option<FactorScores<'_>> {
            self.tiled.then_some(FactorScores {
                dim: self.dim,
                users: &self.users,
                items: &self.items,
            })
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn tiled_lists_equal_one_multiply_over_all_items(
            (dim, n_users, n_items) in (1usize..5, 1usize..40, 1usize..5000),
            seed in any::<u64>(),
            subset in any::<bool>(),
            exclude_seen in any::<bool>(),
            candidates in 0u8..3,
            n in 0usize..30,
        ) {
            let mut rng = crate::SplitMix64::new(seed);
            let mut value = || (rng.below(5) as f32) - 2.0;
            let scored: Option<Vec<ItemId>> = subset.then(|| {
                (0..n_items as u32).filter(|i| i % 3 != 1).map(ItemId).collect()
            });
            let width = scored.as_ref().map_or(n_items, Vec::len);
            // One user past the factor rows: it scores 0 everywhere.
            let users: Vec<f32> = (0..(n_users - 1) * dim).map(|_| value()).collect();
            let items: Vec<f32> = (0..width * dim).map(|_| value()).collect();
            let mut pick = crate::SplitMix64::new(seed ^ 1);
            let triples: Vec<(UserId, ItemId, f32)> = (0..n_users * 8)
                .map(|_| {
                    let u = UserId(pick.below(n_users) as u32);
                    (u, ItemId(pick.below(n_items) as u32), 1.0)
                })
                .collect();
            let history = UserItemMatrix::from_triples(n_users, n_items, triples).unwrap();
            let some: Vec<ItemId> = (0..n_items as u32).filter(|i| i % 5 == 0).map(ItemId).collect();
            let request = RecommendRequest {
                n,
                exclude_seen,
                candidates: match candidates {
                    0 => Candidates::All,
                    1 => Candidates::Only(some),
                    _ => Candidates::Exclude(some),
                },
            };
            let ids: Vec<UserId> = (0..n_users as u32).map(UserId).collect();
            let model = |tiled| Dot {
                dim,
                users: users.clone(),
                items: items.clone(),
                scored: scored.clone(),
                n_items,
                tiled,
            };
            let tiled = recommend(&model(true), &history, &ids, &request).unwrap();
            let plain = recommend(&model(false), &history, &ids, &request).unwrap();
            prop_assert_eq!(tiled.len(), plain.len());
            for (a, b) in tiled.iter().zip(plain.iter()) {
                prop_assert_eq!(a.items, b.items);
                let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(a.scores), bits(b.scores));
            }
        }
    }

    #[test]
    fn run_max_ignores_nan() {
        assert_eq!(run_max(&[f32::NAN, 1.0, -3.0]), 1.0);
        assert_eq!(run_max(&[f32::NAN]), f32::NEG_INFINITY);
    }
}
