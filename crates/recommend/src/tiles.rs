//! Top-N for dot-product models: scoring fused with the threshold test.
//!
//! The item factors are packed once per run into panels of `2 × lanes` items, factor-major
//! inside a panel (one vector load per factor and half-panel). A block of users is scored
//! tile by tile (a tile of panels stays in the L2 cache while every user of the block
//! passes over it); the kernel multiplies [`GROUP`] users by one panel in registers, with
//! one fused multiply-add chain per score, and tests the panel's scores against each
//! user's current k-th score with vector compares. Only panels holding a score that can
//! still enter a user's top-N are stored and offered to its [`TopN`]; no score row, tile
//! or buffer is written for the rest, and nothing is zero-filled for the kernel.
//!
//! Items are packed in order of decreasing factor norm, and a group of users stops
//! before a tile whose largest item norm cannot reach any of its users' k-th score
//! (Cauchy–Schwarz, `u·v ≤ |u|·|v|`, widened by the fused chain's rounding bound): the
//! highest-norm items hold most of a list, so most of the long tail is never scored.
//! Skipped items could not have entered, and a [`TopN`] keeps the same items whatever
//! order they come in, so the lists are those of the full scan.
//!
//! The kernel is compiled for each SIMD level and picked at run time (`pulp`), always with
//! a true fused multiply-add, in factor order from +0: every score is the same float on
//! every level, so lists do not depend on the CPU's vector width or the thread count.
//! A property test checks the lists against a full sort of such scores.

use pulp::{Arch, Simd, WithSimd};

use clickrec_core::UserId;

use crate::recommender::{FactorScores, PackedItems};
use crate::topn::{Columns, Filter, TopN, item_at};

/// Users per block of the factor path: a tile is read from cache by every user of the
/// block, so large blocks spread its load from memory.
pub(crate) const BLOCK_USERS: usize = 1024;

/// Users scored together against one panel: with two vectors per user, 12 accumulators
/// (of 16 AVX2 registers) hide the multiply-add latency.
const GROUP: usize = 6;

/// Item-factor values per tile: 64 KiB of f32 (256 items at 64 factors), read from L2
/// by every user group of a block.
const TILE_VALUES: usize = 16 * 1024;

impl PackedItems {
    pub fn new(f: &FactorScores<'_>) -> Self {
        let arch = Arch::new();
        let panel = 2 * arch.dispatch(Lanes);
        let dim = f.dim;
        let norms: Vec<f64> = f.items.chunks_exact(dim).map(norm).collect();
        let columns = norms.len();
        let mut order: Vec<u32> = (0..columns as u32).collect();
        // A NaN norm sorts first and stops no group (comparisons with NaN are false).
        order.sort_by(|&a, &b| norms[b as usize].total_cmp(&norms[a as usize]));
        let mut values = vec![0.0; columns.div_ceil(panel) * panel * dim];
        for (panel_values, panel_columns) in values
            .chunks_exact_mut(panel * dim)
            .zip(order.chunks(panel))
        {
            for (lane, &column) in panel_columns.iter().enumerate() {
                let item = &f.items[column as usize * dim..][..dim];
                for (k, &v) in item.iter().enumerate() {
                    panel_values[k * panel + lane] = v;
                }
            }
        }
        let panel_norms = order.chunks(panel).map(|p| norms[p[0] as usize]).collect();
        PackedItems {
            arch,
            dim,
            columns,
            panel,
            values,
            order,
            panel_norms,
        }
    }
}

/// The Euclidean norm of a factor row, in f64 (its rounding is far below the margin
/// of [`rounding_slack`]).
fn norm(row: &[f32]) -> f64 {
    row.iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt()
}

/// A factor over `|u|·|v|` that bounds every score the kernel computes: a chain of `dim`
/// fused multiply-adds is within `dim · 2⁻²⁴ · Σ|uₖvₖ|` of the exact dot product, and
/// `Σ|uₖvₖ| ≤ |u|·|v|`; the margin here is four times that.
fn rounding_slack(dim: usize) -> f64 {
    1.0 + 2.0 * dim as f64 * f64::from(f32::EPSILON)
}

/// The SIMD level's f32 lanes.
struct Lanes;

impl WithSimd for Lanes {
    type Output = usize;
    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) -> usize {
        S::F32_LANES
    }
}

/// A worker's buffers, reused from block to block.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The block's user factors, in groups of [`GROUP`] users, factor-major inside a
    /// group (the last group padded with zero users).
    users: Vec<f32>,
    tops: Vec<TopN>,
    /// Per user of the block: its factor norm times the rounding slack.
    reach: Vec<f64>,
    /// Per group of the block: no item of the remaining tiles can enter its lists.
    finished: Vec<bool>,
    /// (group, tile) pairs the last block scored, of `groups × tiles`.
    scored: usize,
}

/// The top-N of each user of `block`, before draining.
#[allow(clippy::too_many_arguments)]
pub(crate) fn select_block<'s, 'h>(
    f: &FactorScores<'_>,
    packed: &PackedItems,
    block: &[UserId],
    seen: impl Fn(UserId) -> &'h [u32],
    columns: Option<&Columns<'_>>,
    filter: &Filter,
    n: usize,
    scratch: &'s mut Scratch,
) -> &'s mut [TopN] {
    let dim = f.dim;
    let known_users = f.users.len() / dim;
    let Scratch {
        users,
        tops,
        reach,
        finished,
        scored,
    } = scratch;

    let groups = block.len().div_ceil(GROUP);
    users.clear();
    users.resize(groups * GROUP * dim, 0.0);
    reach.clear();
    reach.resize(block.len(), 0.0);
    let slack = rounding_slack(dim);
    for (k, user) in block.iter().enumerate() {
        let u = user.0 as usize;
        if u < known_users {
            let row = &f.users[u * dim..(u + 1) * dim];
            let group = &mut users[(k / GROUP) * GROUP * dim..][..GROUP * dim];
            for (j, &v) in row.iter().enumerate() {
                group[j * GROUP + k % GROUP] = v;
            }
            reach[k] = norm(row) * slack;
        }
    }
    // The caller drains every selector of a block, which leaves it empty for the next.
    tops.truncate(block.len());
    tops.resize_with(block.len(), || TopN::new(n));
    finished.clear();
    finished.resize(groups, false);

    *scored = packed.arch.dispatch(Kernel {
        packed,
        users,
        block,
        tops,
        reach,
        finished,
        seen: &seen,
        columns,
        filter,
    });
    tops
}

/// One block's scoring and selection, for one SIMD level.
struct Kernel<'a, F> {
    packed: &'a PackedItems,
    users: &'a [f32],
    block: &'a [UserId],
    tops: &'a mut [TopN],
    reach: &'a [f64],
    finished: &'a mut [bool],
    seen: &'a F,
    columns: Option<&'a Columns<'a>>,
    filter: &'a Filter,
}

impl<'h, F: Fn(UserId) -> &'h [u32]> WithSimd for Kernel<'_, F> {
    /// The (group, tile) pairs scored.
    type Output = usize;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> usize {
        let Kernel {
            packed,
            users,
            block,
            tops,
            reach,
            finished,
            seen,
            columns,
            filter,
        } = self;
        let (dim, panel) = (packed.dim, packed.panel);
        debug_assert_eq!(panel, 2 * S::F32_LANES, "packed for another SIMD level");
        let panel_values = panel * dim;
        let tile_panels = (TILE_VALUES / panel_values).max(1);
        let mut scored = 0;
        for (t, tile) in packed.values.chunks(tile_panels * panel_values).enumerate() {
            let tile_norm = packed.panel_norms[t * tile_panels];
            let mut open = 0;
            for (g, group) in users.chunks_exact(GROUP * dim).enumerate() {
                let first = g * GROUP;
                let members = GROUP.min(block.len() - first);
                if finished[g] {
                    continue;
                }
                // Strictly below: an equal score could still enter on a lower item id.
                let out_of_reach = |r: usize, top: &mut TopN| {
                    reach[first + r] * tile_norm < f64::from(top.settled_threshold())
                };
                if tops[first..first + members]
                    .iter_mut()
                    .enumerate()
                    .all(|(r, top)| out_of_reach(r, top))
                {
                    finished[g] = true;
                    continue;
                }
                open += 1;
                for (p, values) in tile.chunks_exact(panel_values).enumerate() {
                    let start = (t * tile_panels + p) * panel;
                    let mut thresholds = [f32::INFINITY; GROUP];
                    for (r, limit) in thresholds.iter_mut().take(members).enumerate() {
                        *limit = tops[first + r].threshold();
                    }
                    let scores = panel_scores(simd, group, values);
                    for r in 0..members {
                        if !any_at_least(simd, &scores[r], thresholds[r]) {
                            continue;
                        }
                        let k = first + r;
                        let lanes: &[f32] = pulp::bytemuck::cast_slice(&scores[r]);
                        let end = panel.min(packed.columns - start);
                        let user_seen = if filter.exclude_seen {
                            seen(block[k])
                        } else {
                            &[]
                        };
                        offer(
                            &lanes[..end],
                            &packed.order[start..start + end],
                            user_seen,
                            columns,
                            filter,
                            &mut tops[k],
                        );
                    }
                }
            }
            scored += open;
            if open == 0 {
                break;
            }
        }
        scored
    }
}

/// The scores of one group of users against one panel: two vectors per user, each
/// score one fused multiply-add chain over the factors, in order, from +0.
#[inline(always)]
fn panel_scores<S: Simd>(simd: S, group: &[f32], values: &[f32]) -> [[S::f32s; 2]; GROUP] {
    let zero = simd.splat_f32s(0.0);
    let mut acc = [[zero; 2]; GROUP];
    let lanes = S::F32_LANES;
    for (items, user) in values
        .chunks_exact(2 * lanes)
        .zip(group.chunks_exact(GROUP))
    {
        let (items, _) = S::as_simd_f32s(items);
        let (lo, hi) = (items[0], items[1]);
        for (acc, &u) in acc.iter_mut().zip(user) {
            let u = simd.splat_f32s(u);
            acc[0] = simd.mul_add_f32s(u, lo, acc[0]);
            acc[1] = simd.mul_add_f32s(u, hi, acc[1]);
        }
    }
    acc
}

/// True when a score of `scores` is at least `threshold` (NaN never is).
#[inline(always)]
fn any_at_least<S: Simd>(simd: S, scores: &[S::f32s; 2], threshold: f32) -> bool {
    let t = simd.splat_f32s(threshold);
    let (one, zero) = (simd.splat_f32s(1.0), simd.splat_f32s(0.0));
    let hit = |s| simd.select_f32s(simd.greater_than_or_equal_f32s(s, t), one, zero);
    simd.reduce_max_f32s(simd.max_f32s(hit(scores[0]), hit(scores[1]))) > 0.0
}

/// Offers the scores of `order`'s columns to `top`, skipping disallowed items and, when
/// `seen` (increasing) is given, seen ones.
#[inline(never)]
fn offer(
    scores: &[f32],
    order: &[u32],
    seen: &[u32],
    columns: Option<&Columns<'_>>,
    filter: &Filter,
    top: &mut TopN,
) {
    for (&score, &column) in scores.iter().zip(order) {
        if score.is_nan() || score < top.threshold() {
            continue;
        }
        let item = item_at(columns, column as usize);
        if seen.binary_search(&item.0).is_ok() || !filter.is_allowed(item) {
            continue;
        }
        top.push(item, score);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;
    use crate::{BlockScores, Candidates, RecommendRequest, Recommender, recommend};
    use clickrec_core::{ItemId, UserItemMatrix};

    /// A dot-product model over given factors.
    struct Dot {
        dim: usize,
        users: Vec<f32>,
        /// One row per scored column.
        items: Vec<f32>,
        scored: Option<Vec<ItemId>>,
        n_items: usize,
        tiled: bool,
    }

    impl Dot {
        /// The score of `user` for `column`: one fused multiply-add chain, in factor
        /// order, from +0 (users without factors score 0).
        fn score(&self, user: UserId, column: usize) -> f32 {
            let u = user.0 as usize;
            if u >= self.users.len() / self.dim {
                return 0.0;
            }
            let user = &self.users[u * self.dim..(u + 1) * self.dim];
            let item = &self.items[column * self.dim..(column + 1) * self.dim];
            user.iter()
                .zip(item)
                .fold(0.0, |acc, (&a, &b)| a.mul_add(b, acc))
        }
    }

    impl Recommender for Dot {
        fn n_items(&self) -> usize {
            self.n_items
        }
        fn scored_items(&self) -> Option<&[ItemId]> {
            self.scored.as_deref()
        }
        /// The plain path: a dense row of every column's score.
        fn score_block(&self, users: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
            let width = self.items.len() / self.dim;
            for (row, &user) in out.dense().chunks_mut(width).zip(users) {
                for (column, s) in row.iter_mut().enumerate() {
                    *s = self.score(user, column);
                }
            }
        }
        fn factors(&self) -> Option<FactorScores<'_>> {
            self.tiled.then_some(FactorScores {
                dim: self.dim,
                users: &self.users,
                items: &self.items,
            })
        }
    }

    /// Every allowed, unseen column's score, fully sorted (higher first, then lower item
    /// id), cut to `n`.
    fn full_sort(
        model: &Dot,
        history: &UserItemMatrix,
        user: UserId,
        request: &RecommendRequest,
    ) -> Vec<(ItemId, f32)> {
        let seen = history.row(user).0;
        let allowed = |item: ItemId| match &request.candidates {
            Candidates::All => true,
            Candidates::Only(items) => items.contains(&item),
            Candidates::Exclude(items) => !items.contains(&item),
        };
        let width = model.items.len() / model.dim;
        let mut all: Vec<(ItemId, f32)> = (0..width)
            .map(|c| {
                let item = model.scored.as_ref().map_or(ItemId(c as u32), |s| s[c]);
                (item, model.score(user, c))
            })
            .filter(|&(item, s)| {
                !s.is_nan() && allowed(item) && !(request.exclude_seen && seen.contains(&item.0))
            })
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(request.n);
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn tiled_lists_equal_a_full_sort(
            (dim, n_users, n_items) in (1usize..70, 1usize..40, 1usize..3000),
            seed in any::<u64>(),
            // Small integers (many ties) or fractions (rounding of the fused chain).
            fractions in any::<bool>(),
            subset in any::<bool>(),
            exclude_seen in any::<bool>(),
            candidates in 0u8..3,
            n in 0usize..30,
        ) {
            let mut rng = clickrec_core::SplitMix64::new(seed);
            let mut value = || if fractions {
                rng.next_f32() - 0.5
            } else {
                (rng.below(5) as f32) - 2.0
            };
            let scored: Option<Vec<ItemId>> = subset.then(|| {
                (0..n_items as u32).filter(|i| i % 3 != 1).map(ItemId).collect()
            });
            let width = scored.as_ref().map_or(n_items, Vec::len);
            // The last user has no factor row: it scores 0 everywhere.
            let users: Vec<f32> = (0..(n_users - 1) * dim).map(|_| value()).collect();
            let items: Vec<f32> = (0..width * dim).map(|_| value()).collect();
            let mut pick = clickrec_core::SplitMix64::new(seed ^ 1);
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
            prop_assert_eq!(&tiled, &plain);
            let reference = model(false);
            // Users with an empty history row get no list.
            let listed: Vec<UserId> = ids.iter().copied().filter(|&u| !history.row(u).0.is_empty()).collect();
            prop_assert_eq!(tiled.users(), &listed[..]);
            for list in tiled.iter() {
                let expected = full_sort(&reference, &history, list.user, &request);
                let items: Vec<ItemId> = expected.iter().map(|e| e.0).collect();
                prop_assert_eq!(list.items, &items[..]);
                let bits = |s: &mut dyn Iterator<Item = f32>| s.map(f32::to_bits).collect::<Vec<_>>();
                prop_assert_eq!(
                    bits(&mut list.scores.iter().copied()),
                    bits(&mut expected.iter().map(|e| e.1))
                );
            }
        }
    }

    #[test]
    fn tiles_out_of_reach_are_skipped_and_lists_stay_exact() {
        // Item norms fall geometrically, as a popularity tail does; the users point the
        // same way, so the first items fill every list and the tail cannot reach them.
        let (dim, n_items, n_users, n) = (8, 20_000, 13, 10);
        let mut rng = clickrec_core::SplitMix64::new(7);
        let items: Vec<f32> = (0..n_items)
            .flat_map(|c| std::iter::repeat_n(0.9995f32.powi(c as i32), dim))
            .map(|v| v * (0.5 + rng.next_f32()))
            .collect();
        let model = Dot {
            dim,
            users: (0..n_users * dim).map(|_| rng.next_f32()).collect(),
            items,
            scored: None,
            n_items,
            tiled: true,
        };
        let f = model.factors().unwrap();
        let packed = PackedItems::new(&f);
        let request = RecommendRequest {
            n,
            candidates: Candidates::All,
            exclude_seen: false,
        };
        let filter = Filter::new(&request, n_items).unwrap();
        let history = UserItemMatrix::from_triples(n_users, n_items, Vec::new()).unwrap();
        let block: Vec<UserId> = (0..n_users as u32).map(UserId).collect();
        let mut scratch = Scratch::default();
        let tops = select_block(&f, &packed, &block, |_| &[], None, &filter, n, &mut scratch);
        let mut out = Vec::new();
        for (top, &user) in tops.iter_mut().zip(&block) {
            top.drain_sorted(&mut out);
            let expected = full_sort(&model, &history, user, &request);
            assert_eq!(out, expected, "{user:?}");
        }
        let tiles = packed.values.len().div_ceil(TILE_VALUES);
        let groups = n_users.div_ceil(GROUP);
        assert!(
            scratch.scored * 4 < groups * tiles,
            "scored {} of {} (group, tile) pairs",
            scratch.scored,
            groups * tiles
        );
    }

    #[test]
    fn packed_panels_hold_each_item_factor_major() {
        let items: Vec<f32> = (0..3 * 2).map(|v| v as f32).collect();
        let f = FactorScores {
            dim: 2,
            users: &[],
            items: &items,
        };
        let packed = PackedItems::new(&f);
        let p = packed.panel;
        assert!(p >= 2);
        assert_eq!(packed.values.len(), 3usize.div_ceil(p) * p * 2);
        // By decreasing norm: item 2 (4, 5), item 1 (2, 3), item 0 (0, 1).
        assert_eq!(packed.order, [2, 1, 0]);
        assert_eq!(packed.panel_norms[0], 41f64.sqrt());
        // The item at position c: factor k in panel c / p, at k * p + c % p.
        for (c, &item) in packed.order.iter().enumerate() {
            for k in 0..2 {
                let (panel, lane) = (c / p, c % p);
                assert_eq!(
                    packed.values[panel * 2 * p + k * p + lane],
                    items[item as usize * 2 + k]
                );
            }
        }
    }
}
