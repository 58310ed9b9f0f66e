//! The batch loop that turns a model's scores into ranked lists: users in blocks across
//! threads, each block scored once, then filtered and cut to top-N ([`crate::topn`]), or
//! for factor models ranked straight from the packed factors ([`crate::tiles`]).

use std::cell::RefCell;

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use fixedbitset::FixedBitSet;
use rayon::prelude::*;
use thread_local::ThreadLocal;

use crate::recommender::{
    BlockScores, FactorScores, PackedItems, RecommendError, RecommendRequest, Recommendations,
    Recommender,
};
use crate::tiles;
use crate::topn::{Columns, Filter, TopN, column_of, item_at};

/// Selects one user's top-N from a dense score row (one column per item, or per item of
/// `columns`), honouring the filter.
fn select_dense(
    row: &mut [f32],
    columns: Option<&Columns<'_>>,
    seen: &[u32],
    filter: &Filter,
    top: &mut TopN,
    out: &mut Vec<(ItemId, f32)>,
) {
    if filter.exclude_seen {
        seen.iter()
            .filter_map(|&i| column_of(columns, i))
            .for_each(|c| row[c] = f32::NAN);
    }
    match (&filter.only, &filter.allowed) {
        (Some(only), _) => only.iter().for_each(|&i| {
            if let Some(c) = column_of(columns, i.0) {
                top.push(i, row[c]);
            }
        }),
        (None, Some(allowed)) => row.iter().enumerate().for_each(|(c, &s)| {
            let item = item_at(columns, c);
            if allowed[item.0 as usize] {
                top.push(item, s);
            }
        }),
        (None, None) => match columns {
            Some(c) => row
                .iter()
                .zip(c.items)
                .for_each(|(&s, &item)| top.push(item, s)),
            None => row
                .iter()
                .enumerate()
                .for_each(|(i, &s)| top.push(ItemId(i as u32), s)),
        },
    }
    top.drain_sorted(out);
}

/// Selects one user's top-N from sparse scores (items absent score nothing).
fn select_sparse(
    list: &[(ItemId, f32)],
    seen: &[u32],
    filter: &Filter,
    top: &mut TopN,
    out: &mut Vec<(ItemId, f32)>,
) {
    for &(item, score) in list {
        if filter.admits(item, seen) {
            top.push(item, score);
        }
    }
    top.drain_sorted(out);
}

/// One user's top-N from a ready ranking: its first `n` allowed, unseen items, each once.
/// The seen items are set in `marks` (clear, as long as the item space; left clear) while
/// the ranking is walked: a bit test per candidate instead of a binary search in the
/// history row.
fn select_ranked(
    ranking: &[(ItemId, f32)],
    seen: &[u32],
    filter: &Filter,
    n: usize,
    marks: &mut FixedBitSet,
    out: &mut Vec<(ItemId, f32)>,
) {
    out.clear();
    let seen = if filter.exclude_seen { seen } else { &[] };
    seen.iter().for_each(|&item| marks.insert(item as usize));
    for &(item, score) in ranking {
        if out.len() == n {
            break;
        }
        if filter.is_allowed(item) && !marks.put(item.0 as usize) {
            out.push((item, score));
        }
    }
    seen.iter().for_each(|&item| marks.remove(item as usize));
    out.iter()
        .for_each(|(item, _)| marks.remove(item.0 as usize));
}

/// Top-N lists for `users` (strictly increasing), scored by `model` against `history`.
///
/// Users are scored in blocks of [`Recommender::block_size`], blocks in parallel; each
/// user's list depends only on its own scores, so the result is identical at any thread
/// count. `on_block` receives the blocks in user order (e.g. to stream them to a file);
/// memory stays bounded by a few blocks. A model that [needs history](Recommender::needs_history)
/// gives users with an empty history row no list at all.
pub fn recommend_blocks<M: Recommender + ?Sized>(
    model: &M,
    history: &UserItemMatrix,
    users: &[UserId],
    request: &RecommendRequest,
    on_block: impl FnMut(Recommendations) -> Result<(), RecommendError>,
) -> Result<(), RecommendError> {
    recommend_blocks_with_fallback(model, None, history, users, request, on_block)
}

/// One model's view for top-N selection: the model and the items behind its columns.
struct Scorer<'a> {
    model: &'a dyn Recommender,
    columns: Option<Columns<'a>>,
    width: usize,
    /// The factors of a dot-product model, with its item factors packed once for this
    /// run: scored tile by tile ([`tiles`]).
    factors: Option<(FactorScores<'a>, std::borrow::Cow<'a, PackedItems>)>,
}

/// A worker's buffers, reused from block to block.
#[derive(Debug, Default)]
struct Buffers {
    scores: BlockScores,
    tiles: tiles::Scratch,
    out: Vec<(ItemId, f32)>,
    /// One bit per item, all clear between uses ([`select_ranked`],
    /// [`Recommendations::push_marked`]).
    marks: FixedBitSet,
}

impl<'a> Scorer<'a> {
    fn new(model: &'a dyn Recommender, n_items: usize) -> Result<Self, RecommendError> {
        let columns = model
            .scored_items()
            .map(|items| Columns::new(items, n_items));
        let width = columns.as_ref().map_or(n_items, |c| c.items.len());
        let factors = model.factors();
        if let Some(f) = &factors
            && (f.dim == 0 || f.items.len() != width * f.dim)
        {
            return Err(RecommendError::FactorShape {
                columns: width,
                dim: f.dim,
                found: f.items.len(),
            });
        }
        Ok(Scorer {
            model,
            columns,
            width,
            factors: factors.map(|f| {
                let packed = match model.packed_items() {
                    Some(kept) => std::borrow::Cow::Borrowed(kept),
                    None => std::borrow::Cow::Owned(PackedItems::new(&f)),
                };
                (f, packed)
            }),
        })
    }

    /// Users per block: large for the tiled factor path and for a model with ready
    /// rankings (no score buffer, so a block's cost is only its lists), else the model's
    /// choice, which bounds its score buffer.
    fn block_size(&self) -> usize {
        if self.factors.is_some() || self.model.ranking(UserId(0)).is_some() {
            tiles::BLOCK_USERS
        } else {
            self.scoring_block_size()
        }
    }

    /// Users per call of the model's `score_block`.
    fn scoring_block_size(&self) -> usize {
        self.model.block_size().clamp(1, 4096)
    }

    /// Scores `users` and appends each user's top-N to `lists`: through the factor tiles,
    /// a ready ranking, or the model's block scores.
    #[allow(clippy::too_many_arguments)]
    fn lists(
        &self,
        users: &[UserId],
        history: &UserItemMatrix,
        filter: &Filter,
        n: usize,
        top: &mut TopN,
        buffers: &mut Buffers,
        lists: &mut Vec<(UserId, Vec<(ItemId, f32)>)>,
    ) {
        if users.is_empty() {
            return;
        }
        let Buffers {
            scores,
            tiles,
            out,
            marks,
        } = buffers;
        if let Some((f, packed)) = &self.factors {
            let seen = |user| history_row(history, user);
            let columns = self.columns.as_ref();
            let tops = tiles::select_block(f, packed, users, seen, columns, filter, n, tiles);
            for (top, &user) in tops.iter_mut().zip(users) {
                top.drain_sorted(out);
                lists.push((user, out.clone()));
            }
            return;
        }
        if let Some(rankings) = users
            .iter()
            .map(|&user| self.model.ranking(user))
            .collect::<Option<Vec<_>>>()
        {
            marks.grow(self.model.n_items());
            for (ranking, &user) in rankings.into_iter().zip(users) {
                select_ranked(ranking, history_row(history, user), filter, n, marks, out);
                lists.push((user, out.clone()));
            }
            return;
        }
        for users in users.chunks(self.scoring_block_size()) {
            scores.reset(users.len(), self.width);
            self.model.score_block(users, history, scores);
            for (k, &user) in users.iter().enumerate() {
                let seen = history_row(history, user);
                if scores.is_sparse {
                    select_sparse(&scores.sparse[k], seen, filter, top, out);
                } else {
                    let row = &mut scores.dense[k * self.width..(k + 1) * self.width];
                    select_dense(row, self.columns.as_ref(), seen, filter, top, out);
                }
                lists.push((user, out.clone()));
            }
        }
    }
}

fn history_row(history: &UserItemMatrix, user: UserId) -> &[u32] {
    if (user.0 as usize) < history.n_users() {
        history.row(user).0
    } else {
        &[]
    }
}

/// [`recommend_blocks`], where users without history get `fallback`'s list (e.g.
/// popularity) when `model` needs history; without a fallback they get no list.
pub fn recommend_blocks_with_fallback<M: Recommender + ?Sized>(
    model: &M,
    fallback: Option<&dyn Recommender>,
    history: &UserItemMatrix,
    users: &[UserId],
    request: &RecommendRequest,
    mut on_block: impl FnMut(Recommendations) -> Result<(), RecommendError>,
) -> Result<(), RecommendError> {
    let n_items = model.n_items();
    if history.n_items() != n_items {
        return Err(RecommendError::ItemSpace {
            expected: n_items,
            found: history.n_items(),
        });
    }
    if let Some(f) = fallback
        && f.n_items() != n_items
    {
        return Err(RecommendError::FallbackItemSpace {
            expected: n_items,
            found: f.n_items(),
        });
    }
    if let Some(pair) = users.windows(2).find(|w| w[0] >= w[1]) {
        return Err(RecommendError::UserOrder {
            previous: pair[0],
            user: pair[1],
        });
    }
    let filter = Filter::new(request, n_items)?;
    // No list is longer than the catalogue: a larger `n` (from a config) sizes nothing.
    let n = request.n.min(n_items);
    let model_ref = ModelRef(model);
    let main = Scorer::new(&model_ref, n_items)?;
    let backup = fallback.map(|f| Scorer::new(f, n_items)).transpose()?;
    let needs_history = model.needs_history();
    let block = main.block_size();
    let threads = rayon::current_num_threads().max(1);
    // One worker state per thread for the whole call: rayon's `map_init` would build one
    // per job, i.e. per block, and a sparse model's per-item sums would be allocated and
    // zeroed again for every block.
    let workers: ThreadLocal<RefCell<Worker>> = ThreadLocal::new();
    // A wave of a few blocks per thread runs in parallel, then is handed out in order.
    for wave in users.chunks(block * threads * 2) {
        let lists: Vec<Recommendations> = wave
            .par_chunks(block)
            .map(|chunk| {
                let cell = workers.get_or(|| RefCell::new(Worker::new(n)));
                // A model that runs rayon inside its scoring may have this thread pick up
                // another block meanwhile: that block gets a worker of its own.
                let mut spare = None;
                let mut guard = cell.try_borrow_mut().ok();
                let worker = match guard.as_deref_mut() {
                    Some(w) => w,
                    None => spare.insert(Worker::new(n)),
                };
                let Worker {
                    buffers,
                    top,
                    warm,
                    cold,
                    ranked,
                } = worker;
                warm.clear();
                cold.clear();
                ranked.clear();
                for &user in chunk {
                    if needs_history && history_row(history, user).is_empty() {
                        cold.push(user);
                    } else {
                        warm.push(user);
                    }
                }
                main.lists(warm, history, &filter, n, top, buffers, ranked);
                if let Some(backup) = &backup {
                    backup.lists(cold, history, &filter, n, top, buffers, ranked);
                }
                ranked.sort_unstable_by_key(|(user, _)| *user);
                let mut lists = Recommendations::new();
                for (user, list) in ranked.drain(..) {
                    lists.push_marked(user, &list, &mut buffers.marks)?;
                }
                Ok(lists)
            })
            .collect::<Result<_, RecommendError>>()?;
        for list in lists {
            on_block(list)?;
        }
    }
    Ok(())
}

/// One thread's state in [`recommend_blocks_with_fallback`], reused from block to block.
#[derive(Debug)]
struct Worker {
    buffers: Buffers,
    top: TopN,
    warm: Vec<UserId>,
    cold: Vec<UserId>,
    ranked: Vec<(UserId, Vec<(ItemId, f32)>)>,
}

impl Worker {
    fn new(n: usize) -> Self {
        Worker {
            buffers: Buffers::default(),
            top: TopN::new(n),
            warm: Vec::new(),
            cold: Vec::new(),
            ranked: Vec::new(),
        }
    }
}

/// A `?Sized` model behind a sized reference, so it coerces to `&dyn Recommender`.
struct ModelRef<'a, M: ?Sized>(&'a M);

impl<M: Recommender + ?Sized> Recommender for ModelRef<'_, M> {
    fn n_items(&self) -> usize {
        self.0.n_items()
    }
    fn scored_items(&self) -> Option<&[ItemId]> {
        self.0.scored_items()
    }
    fn score_block(&self, users: &[UserId], history: &UserItemMatrix, out: &mut BlockScores) {
        self.0.score_block(users, history, out)
    }
    fn needs_history(&self) -> bool {
        self.0.needs_history()
    }
    fn block_size(&self) -> usize {
        self.0.block_size()
    }
    fn ranking(&self, user: UserId) -> Option<&[(ItemId, f32)]> {
        self.0.ranking(user)
    }
    fn factors(&self) -> Option<FactorScores<'_>> {
        self.0.factors()
    }
    fn packed_items(&self) -> Option<&PackedItems> {
        self.0.packed_items()
    }
}

/// Top-N lists for `users`, collected; see [`recommend_blocks`].
pub fn recommend<M: Recommender + ?Sized>(
    model: &M,
    history: &UserItemMatrix,
    users: &[UserId],
    request: &RecommendRequest,
) -> Result<Recommendations, RecommendError> {
    let mut all = Recommendations::new();
    recommend_blocks(model, history, users, request, |block| all.append(block))?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BlockScores, Candidates, RankedList};
    use proptest::prelude::*;

    fn top_by_full_sort(scores: &[f32], n: usize) -> Vec<(ItemId, f32)> {
        let mut all: Vec<(ItemId, f32)> = scores
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_nan())
            .map(|(i, &s)| (ItemId(i as u32), s))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    proptest! {
        #[test]
        fn top_n_matches_full_sort(
            // Few distinct values so ties are common.
            scores in prop::collection::vec(prop_oneof![
                (0i32..6).prop_map(|v| v as f32),
                Just(f32::NAN),
            ], 0..200),
            n in 0usize..30,
        ) {
            let mut top = TopN::new(n);
            scores.iter().enumerate().for_each(|(i, &s)| top.push(ItemId(i as u32), s));
            let mut out = Vec::new();
            top.drain_sorted(&mut out);
            let expected = top_by_full_sort(&scores, n);
            prop_assert_eq!(out.len(), expected.len());
            for (a, b) in out.iter().zip(&expected) {
                prop_assert_eq!(a.0, b.0);
                prop_assert_eq!(a.1.to_bits(), b.1.to_bits());
            }
        }
    }

    /// Scores item `i` as `i % 3` for everyone: many ties.
    #[derive(Debug)]
    struct Modulo {
        n_items: usize,
        sparse: bool,
    }

    impl Recommender for Modulo {
        fn n_items(&self) -> usize {
            self.n_items
        }
        fn needs_history(&self) -> bool {
            false
        }
        fn score_block(&self, users: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
            if self.sparse {
                for list in out.sparse() {
                    list.extend((0..self.n_items).map(|i| (ItemId(i as u32), (i % 3) as f32)));
                }
            } else {
                let n = self.n_items;
                for (k, row) in out.dense().chunks_mut(n).enumerate() {
                    assert!(k < users.len());
                    row.iter_mut()
                        .enumerate()
                        .for_each(|(i, s)| *s = (i % 3) as f32);
                }
            }
        }
        fn block_size(&self) -> usize {
            2
        }
    }

    fn history() -> UserItemMatrix {
        // user 0 saw items 2 and 5; user 1 nothing; user 2 saw item 8.
        UserItemMatrix::from_triples(
            3,
            9,
            [
                (UserId(0), ItemId(2), 1.0),
                (UserId(0), ItemId(5), 1.0),
                (UserId(2), ItemId(8), 1.0),
            ],
        )
        .unwrap()
    }

    fn items(list: RankedList<'_>) -> Vec<u32> {
        list.items.iter().map(|i| i.0).collect()
    }

    /// A list length from a config far above the catalogue sizes nothing by it: it was
    /// a 16 GB allocation (`n = 1000000000`) or an overflow panic (`usize::MAX`).
    #[test]
    fn absurd_list_lengths_give_the_whole_catalogue() {
        let users = [UserId(0), UserId(1), UserId(2)];
        for n in [1_000_000_000, usize::MAX] {
            for sparse in [false, true] {
                let request = RecommendRequest::top(n);
                let recs = recommend(&Modulo { n_items: 9, sparse }, &history(), &users, &request)
                    .unwrap();
                assert_eq!(recs.get(0).items.len(), 7, "9 items less 2 seen");
                assert_eq!(recs.get(1).items.len(), 9);
            }
            let mut top = TopN::new(n);
            top.push(ItemId(3), 1.0);
            let mut out = Vec::new();
            top.drain_sorted(&mut out);
            assert_eq!(out, [(ItemId(3), 1.0)]);
        }
    }

    #[test]
    fn shared_filters_apply_to_dense_and_sparse_scores() {
        let users = [UserId(0), UserId(1), UserId(2)];
        for sparse in [false, true] {
            let model = Modulo { n_items: 9, sparse };
            let recs = recommend(&model, &history(), &users, &RecommendRequest::top(4)).unwrap();
            // Ties broken by item id; seen items 2, 5 and 8 left out.
            assert_eq!(items(recs.get(0)), vec![8, 1, 4, 7]);
            assert_eq!(items(recs.get(1)), vec![2, 5, 8, 1]);
            assert_eq!(items(recs.get(2)), vec![2, 5, 1, 4]);

            let mut keep_seen = RecommendRequest::top(3);
            keep_seen.exclude_seen = false;
            keep_seen.candidates = Candidates::Only(vec![ItemId(5), ItemId(0), ItemId(4)]);
            let recs = recommend(&model, &history(), &users, &keep_seen).unwrap();
            assert_eq!(items(recs.get(0)), vec![5, 4, 0]);

            let mut exclude = RecommendRequest::top(2);
            exclude.candidates = Candidates::Exclude(vec![ItemId(2), ItemId(8)]);
            let recs = recommend(&model, &history(), &users, &exclude).unwrap();
            assert_eq!(items(recs.get(1)), vec![5, 1]);
        }
    }

    /// Scores every item 0 for everyone, like a factor model for a user without factors,
    /// but ranks from the user's history: no list for a user without one.
    struct Flat;

    impl Recommender for Flat {
        fn n_items(&self) -> usize {
            9
        }
        fn score_block(&self, _: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
            out.dense();
        }
    }

    #[test]
    fn users_without_history_get_no_list_or_the_fallback() {
        let users = [UserId(0), UserId(1), UserId(2), UserId(7)];
        let recs = recommend(&Flat, &history(), &users, &RecommendRequest::top(3)).unwrap();
        // User 1 has an empty row, user 7 none at all: no list, not items 0, 1, 2.
        assert_eq!(recs.users(), &[UserId(0), UserId(2)]);
        let fallback = Modulo {
            n_items: 9,
            sparse: true,
        };
        let mut all = Recommendations::new();
        recommend_blocks_with_fallback(
            &Flat,
            Some(&fallback),
            &history(),
            &users,
            &RecommendRequest::top(3),
            |block| all.append(block),
        )
        .unwrap();
        assert_eq!(all.users(), &users);
        assert_eq!(items(all.get(0)), vec![0, 1, 3], "the model's own list");
        assert_eq!(items(all.get(1)), vec![2, 5, 8], "the fallback's list");
        assert_eq!(items(all.get(3)), vec![2, 5, 8], "the fallback's list");
        let wrong = Modulo {
            n_items: 4,
            sparse: false,
        };
        assert_eq!(
            recommend_blocks_with_fallback(
                &Flat,
                Some(&wrong),
                &history(),
                &users,
                &RecommendRequest::top(3),
                |_| Ok(())
            ),
            Err(RecommendError::FallbackItemSpace {
                expected: 9,
                found: 4
            })
        );
    }

    /// Scores only `items` (as `i % 3`): dense over those columns, or as sparse lists.
    struct Subset {
        items: Vec<ItemId>,
        dense: bool,
    }

    impl Recommender for Subset {
        fn n_items(&self) -> usize {
            9
        }
        fn scored_items(&self) -> Option<&[ItemId]> {
            self.dense.then_some(&self.items[..])
        }
        fn score_block(&self, _: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
            let score = |i: &ItemId| (i.0 % 3) as f32;
            if self.dense {
                for row in out.dense().chunks_mut(self.items.len()) {
                    row.iter_mut()
                        .zip(&self.items)
                        .for_each(|(s, i)| *s = score(i));
                }
            } else {
                for list in out.sparse() {
                    list.extend(self.items.iter().map(|i| (*i, score(i))));
                }
            }
        }
        fn block_size(&self) -> usize {
            2
        }
    }

    #[test]
    fn dense_scores_over_scored_items_rank_like_sparse_lists_of_them() {
        let users = [UserId(0), UserId(1), UserId(2)];
        let scored = [0, 2, 4, 5, 7, 8].map(ItemId).to_vec();
        let requests = {
            let mut keep_seen = RecommendRequest::top(4);
            keep_seen.exclude_seen = false;
            let mut only = RecommendRequest::top(3);
            only.candidates = Candidates::Only(vec![ItemId(5), ItemId(1), ItemId(4)]);
            let mut exclude = RecommendRequest::top(3);
            exclude.candidates = Candidates::Exclude(vec![ItemId(4), ItemId(7)]);
            [RecommendRequest::top(4), keep_seen, only, exclude]
        };
        for request in &requests {
            let run = |dense| {
                let model = Subset {
                    items: scored.clone(),
                    dense,
                };
                recommend(&model, &history(), &users, request).unwrap()
            };
            let (dense, sparse) = (run(true), run(false));
            assert_eq!(dense, sparse, "{request:?}");
            assert!(
                dense
                    .iter()
                    .all(|l| l.items.iter().all(|i| scored.contains(i)))
            );
        }
        // User 0 saw 2 and 5: 8 scores 2, then 4 and 7 score 1, then 0; 1 is never scored.
        let model = Subset {
            items: scored,
            dense: true,
        };
        let recs = recommend(&model, &history(), &users, &RecommendRequest::top(5)).unwrap();
        assert_eq!(items(recs.get(0)), vec![8, 4, 7, 0]);
    }

    #[test]
    fn requests_outside_the_item_space_are_refused() {
        let model = Modulo {
            n_items: 9,
            sparse: false,
        };
        let mut request = RecommendRequest::top(2);
        request.candidates = Candidates::Only(vec![ItemId(9)]);
        let err = recommend(&model, &history(), &[UserId(0)], &request).unwrap_err();
        assert_eq!(
            err,
            RecommendError::CandidateOutOfRange {
                item: ItemId(9),
                n_items: 9
            }
        );
        let err = recommend(&model, &history(), &[UserId(1), UserId(0)], &request).unwrap_err();
        assert!(matches!(err, RecommendError::UserOrder { .. }));
    }

    #[test]
    fn lists_reject_repeated_items_and_unordered_users() {
        let mut recs = Recommendations::new();
        recs.push(UserId(3), [(ItemId(1), 1.0)]).unwrap();
        assert!(matches!(
            recs.push(UserId(3), []),
            Err(RecommendError::UserOrder { .. })
        ));
        assert_eq!(
            recs.push(UserId(4), [(ItemId(1), 1.0), (ItemId(1), 0.5)]),
            Err(RecommendError::DuplicateItem {
                user: UserId(4),
                item: ItemId(1)
            })
        );
        assert_eq!(recs.len(), 1);
        assert_eq!(recs.n_pairs(), 1);
    }

    #[test]
    fn marked_lists_reject_repeats_and_leave_the_marks_clear() {
        let mut marks = FixedBitSet::new();
        let mut recs = Recommendations::new();
        let list = [(ItemId(7), 3.0), (ItemId(2), 2.0), (ItemId(7), 1.0)];
        assert_eq!(
            recs.push_marked(UserId(4), &list, &mut marks),
            Err(RecommendError::DuplicateItem {
                user: UserId(4),
                item: ItemId(7)
            })
        );
        assert_eq!(marks.count_ones(..), 0);
        recs.push_marked(UserId(4), &list[..2], &mut marks).unwrap();
        assert_eq!(marks.count_ones(..), 0);
        assert!(matches!(
            recs.push_marked(UserId(4), &[], &mut marks),
            Err(RecommendError::UserOrder { .. })
        ));
        assert_eq!(items(recs.get(0)), vec![7, 2]);
        assert_eq!(recs.n_pairs(), 2);
    }

    /// One ready ranking for everyone, with a repeat: 3, 2, 3, 1, 0, 8, 4.
    #[derive(Debug)]
    struct Ranked(Vec<(ItemId, f32)>);

    impl Recommender for Ranked {
        fn n_items(&self) -> usize {
            9
        }
        fn needs_history(&self) -> bool {
            false
        }
        fn ranking(&self, _user: UserId) -> Option<&[(ItemId, f32)]> {
            Some(&self.0)
        }
        fn score_block(&self, _: &[UserId], _: &UserItemMatrix, _: &mut BlockScores) {
            unreachable!("the ranking serves every user")
        }
    }

    #[test]
    fn ranked_lists_skip_seen_excluded_and_repeated_items_user_by_user() {
        let order = [3, 2, 3, 1, 0, 8, 4];
        let model = Ranked(
            order
                .iter()
                .enumerate()
                .map(|(k, &i)| (ItemId(i), 10.0 - k as f32))
                .collect(),
        );
        let users = [UserId(0), UserId(1), UserId(2)];
        let mut request = RecommendRequest::top(4);
        request.candidates = Candidates::Exclude(vec![ItemId(0)]);
        let recs = recommend(&model, &history(), &users, &request).unwrap();
        // User 0 saw 2 and 5, user 2 saw 8; item 0 is excluded for all; 3 comes once.
        assert_eq!(items(recs.get(0)), vec![3, 1, 8, 4]);
        assert_eq!(items(recs.get(1)), vec![3, 2, 1, 8]);
        assert_eq!(items(recs.get(2)), vec![3, 2, 1, 4]);
        assert_eq!(recs.get(1).scores, &[10.0, 9.0, 7.0, 5.0]);
    }
}
