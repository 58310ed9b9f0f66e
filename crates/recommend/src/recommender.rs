//! The [`Recommender`] trait every model implements, its typed requests and the ranked
//! lists it returns.

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use fixedbitset::FixedBitSet;
use thiserror::Error;

/// Which items may be recommended, before exclusion of seen items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Candidates {
    /// Every item of the model.
    #[default]
    All,
    /// Only these items (any order; duplicates ignored).
    Only(Vec<ItemId>),
    /// Every item but these.
    Exclude(Vec<ItemId>),
}

/// A batch recommendation request; see [`recommend`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecommendRequest {
    /// Length of each list (shorter when fewer items are allowed or scored).
    pub n: usize,
    pub candidates: Candidates,
    /// Leave out items the user has in the history matrix.
    pub exclude_seen: bool,
}

impl RecommendRequest {
    /// Top-`n` over all items, excluding seen items.
    pub fn top(n: usize) -> Self {
        RecommendRequest {
            n,
            candidates: Candidates::All,
            exclude_seen: true,
        }
    }
}

/// Scores of one block of users, written by [`Recommender::score_block`] in one of two
/// shapes: dense rows over all items, or over [`Recommender::scored_items`] when the model
/// names them (factor models), or sparse `(item, score)` lists (neighbourhood models, where
/// most items score nothing). Items absent from a sparse list or from the scored items are
/// not recommended.
#[derive(Debug, Default)]
pub struct BlockScores {
    n_items: usize,
    n_users: usize,
    pub(crate) dense: Vec<f32>,
    pub(crate) sparse: Vec<Vec<(ItemId, f32)>>,
    pub(crate) is_sparse: bool,
    sums: ItemSums,
}

/// A per-item sum that lives as long as its worker thread and is never zeroed between
/// users: each entry carries the stamp of the user that last wrote it, and a stale stamp
/// reads as 0. Sparse models (item-kNN) accumulate one user at a time in it.
#[derive(Debug, Default)]
pub struct ItemSums {
    entries: Vec<(f32, u32)>,
    stamp: u32,
    touched: Vec<ItemId>,
}

impl ItemSums {
    /// Starts a new user over `n_items` items: every sum reads 0 again.
    pub fn start(&mut self, n_items: usize) {
        if self.entries.len() != n_items || self.stamp == u32::MAX {
            self.entries.clear();
            self.entries.resize(n_items, (0.0, 0));
            self.stamp = 0;
        }
        self.stamp += 1;
        self.touched.clear();
    }

    /// Adds `value` to `item`'s sum.
    #[inline]
    pub fn add(&mut self, item: ItemId, value: f32) {
        let entry = &mut self.entries[item.0 as usize];
        if entry.1 == self.stamp {
            entry.0 += value;
        } else {
            *entry = (0.0 + value, self.stamp);
            self.touched.push(item);
        }
    }

    /// The items added to since [`Self::start`], in first-touch order, with their sums.
    pub fn drain_into(&self, list: &mut Vec<(ItemId, f32)>) {
        list.extend(
            self.touched
                .iter()
                .map(|&j| (j, self.entries[j.0 as usize].0)),
        );
    }
}

impl BlockScores {
    pub(crate) fn reset(&mut self, n_users: usize, n_items: usize) {
        self.n_users = n_users;
        self.n_items = n_items;
        self.is_sparse = false;
    }

    /// Dense scores: `users × n_items` (or `users × scored_items`), row-major, zero-filled.
    pub fn dense(&mut self) -> &mut [f32] {
        self.is_sparse = false;
        let len = self.n_users * self.n_items;
        self.dense.clear();
        self.dense.resize(len, 0.0);
        &mut self.dense
    }

    /// Row `row` of the block as `(item, score)` pairs: a sparse list as written, a dense
    /// row with every column that is a number (columns map to `scored_items` when given).
    pub(crate) fn take_list(
        &mut self,
        row: usize,
        scored_items: Option<&[ItemId]>,
    ) -> Vec<(ItemId, f32)> {
        if self.is_sparse {
            return std::mem::take(&mut self.sparse[row]);
        }
        let width = self.dense.len() / self.n_users.max(1);
        let values = &self.dense[row * width..(row + 1) * width];
        let item = |c: usize| scored_items.map_or(ItemId(c as u32), |items| items[c]);
        values
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_nan())
            .map(|(c, &s)| (item(c), s))
            .collect()
    }

    /// Sparse scores: one empty list per user of the block.
    pub fn sparse(&mut self) -> &mut [Vec<(ItemId, f32)>] {
        self.sparse_with_sums().0
    }

    /// Sparse scores and this worker's [`ItemSums`], reused from block to block.
    pub fn sparse_with_sums(&mut self) -> (&mut [Vec<(ItemId, f32)>], &mut ItemSums) {
        self.is_sparse = true;
        self.sparse.resize_with(self.n_users, Vec::new);
        self.sparse.truncate(self.n_users);
        self.sparse.iter_mut().for_each(Vec::clear);
        (&mut self.sparse, &mut self.sums)
    }
}

/// A fitted model, as far as recommending goes: it scores items for users.
///
/// `history` is the matrix the user rows come from (usually the train matrix); models that
/// score from a user's own items (item-kNN) read it, factor models use their fitted factors.
pub trait Recommender: Send + Sync {
    /// Size of the item-id space the model scores.
    fn n_items(&self) -> usize;

    /// The only items the model can rank (increasing, each `< n_items`), when it knows
    /// that the others carry no information (e.g. items never seen in training): dense
    /// rows then have one column per listed item, so neither scoring nor top-N selection
    /// visits the rest. `None` (the default): every item.
    fn scored_items(&self) -> Option<&[ItemId]> {
        None
    }

    /// Scores every item for each user of `users`, into `out` (dense or sparse). Users
    /// outside the model's user space must get scores that do not depend on them
    /// (e.g. all zero), never a panic.
    fn score_block(&self, users: &[UserId], history: &UserItemMatrix, out: &mut BlockScores);

    /// True (the default) when the model ranks from the user's own history: a user with
    /// an empty history row then gets no list from it, since its scores would carry no
    /// information and top-N would return items in id order. Non-personal models
    /// (popularity) return false and serve everyone; see [`recommend_blocks_with_fallback`].
    fn needs_history(&self) -> bool {
        true
    }

    /// Users per scoring block; factor models prefer large blocks for the matrix multiply.
    /// The default keeps a dense block near 32 MiB.
    fn block_size(&self) -> usize {
        (8 << 20) / self.n_items().max(1)
    }

    /// A ready ranking for `user` (best first, ties by lower item id, no NaN, no repeats)
    /// when the model's list needs no scoring, e.g. popularity's one list for everyone.
    /// The shared loop then walks it, skipping seen and disallowed items, and stops after
    /// `n`: no work per item of the catalogue. `None` (the default): [`Self::score_block`].
    fn ranking(&self, _user: UserId) -> Option<&[(ItemId, f32)]> {
        None
    }

    /// Dot-product models (ALS, BPR) expose their factors: the shared loop then multiplies
    /// blocks of users by tiles of items small enough to stay in cache and selects each
    /// user's top-N tile by tile, so no row of scores over the whole catalogue is ever
    /// written out. Their [`Self::score_block`] stays the plain reference. `None` (the
    /// default): [`Self::score_block`].
    fn factors(&self) -> Option<FactorScores<'_>> {
        None
    }

    /// The item side of [`Self::factors`] packed for the kernel, when the model keeps it
    /// packed: a server asking for one user's list at a time then packs once, not per
    /// request (packing a 50k-item catalogue costs more than scoring one user against
    /// it). `None` (the default): packed for each call.
    fn packed_items(&self) -> Option<&PackedItems> {
        None
    }
}

/// Item factors packed for the top-N kernel: once per `recommend` call, or once for a
/// model's life when it keeps them ([`Recommender::packed_items`]). Made and read by
/// the kernel (`tiles.rs`); declared here so the trait names it without importing the
/// kernel.
#[derive(Clone, Debug)]
pub struct PackedItems {
    pub(crate) arch: pulp::Arch,
    pub(crate) dim: usize,
    pub(crate) columns: usize,
    /// Items per panel: two vectors of the SIMD level picked at run time.
    pub(crate) panel: usize,
    /// Panel after panel; inside a panel, factor `k` of its items at `k * panel..`.
    /// Columns past the last item (in the last panel) are 0 and never offered.
    pub(crate) values: Vec<f32>,
    /// Packed position → column: columns by decreasing factor norm (ties by column).
    pub(crate) order: Vec<u32>,
    /// Per panel, the largest factor norm of its items (its first item's).
    pub(crate) panel_norms: Vec<f64>,
}

/// Scores as dot products: `score(u, column) = users[u] · items[column]`, both row-major
/// with `dim` columns. `items` has one row per column of the dense rows, i.e. per item of
/// [`Recommender::scored_items`] when the model names them, else per item. Users at or
/// past `users.len() / dim` score 0 everywhere.
#[derive(Clone, Copy, Debug)]
pub struct FactorScores<'a> {
    pub dim: usize,
    pub users: &'a [f32],
    pub items: &'a [f32],
}

/// A request that cannot be served.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecommendError {
    #[error("candidate item {item} is outside the model's {n_items} items")]
    CandidateOutOfRange { item: ItemId, n_items: usize },
    #[error("history matrix has {found} items but the model has {expected}")]
    ItemSpace { expected: usize, found: usize },
    #[error("users must be strictly increasing: user {user} follows {previous}")]
    UserOrder { previous: UserId, user: UserId },
    #[error("recommendation list for user {user} repeats item {item}")]
    DuplicateItem { user: UserId, item: ItemId },
    #[error("the fallback model has {found} items but the model has {expected}")]
    FallbackItemSpace { expected: usize, found: usize },
    #[error("factor model has {found} item factor values, expected {columns} columns × {dim}")]
    FactorShape {
        columns: usize,
        dim: usize,
        found: usize,
    },
}

/// Ranked lists for many users, CSR-style: users strictly increasing, each with its items
/// best first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recommendations {
    users: Vec<UserId>,
    offsets: Vec<usize>,
    items: Vec<ItemId>,
    scores: Vec<f32>,
}

/// One user's ranked list.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankedList<'a> {
    pub user: UserId,
    /// Best first.
    pub items: &'a [ItemId],
    /// Same length as `items`; NaN where the source gave ranks only.
    pub scores: &'a [f32],
}

impl Recommendations {
    pub fn new() -> Self {
        Recommendations {
            offsets: vec![0],
            ..Recommendations::default()
        }
    }

    /// Appends `user`'s list, best first. Users must strictly increase and a list must not
    /// repeat an item.
    pub fn push(
        &mut self,
        user: UserId,
        list: impl IntoIterator<Item = (ItemId, f32)>,
    ) -> Result<(), RecommendError> {
        self.check_next(user)?;
        let start = self.items.len();
        for (item, score) in list {
            self.items.push(item);
            self.scores.push(score);
        }
        let mut seen: Vec<ItemId> = self.items[start..].to_vec();
        seen.sort_unstable();
        if let Some(pair) = seen.windows(2).find(|w| w[0] == w[1]) {
            let item = pair[0];
            self.items.truncate(start);
            self.scores.truncate(start);
            return Err(RecommendError::DuplicateItem { user, item });
        }
        self.users.push(user);
        self.offsets.push(self.items.len());
        Ok(())
    }

    /// Refuses a `user` that does not follow the last one; makes sure the offsets start.
    fn check_next(&mut self, user: UserId) -> Result<(), RecommendError> {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        match self.users.last() {
            Some(&previous) if previous >= user => {
                Err(RecommendError::UserOrder { previous, user })
            }
            _ => Ok(()),
        }
    }

    /// [`Self::push`] for a list in a slice, its repeats found with `marks` (clear, grown to
    /// the items as needed, left clear) instead of sorting a copy.
    pub(crate) fn push_marked(
        &mut self,
        user: UserId,
        list: &[(ItemId, f32)],
        marks: &mut FixedBitSet,
    ) -> Result<(), RecommendError> {
        self.check_next(user)?;
        let repeat = list.iter().position(|&(item, _)| {
            let i = item.0 as usize;
            if i >= marks.len() {
                marks.grow(i + 1);
            }
            marks.put(i)
        });
        let marked = &list[..repeat.unwrap_or(list.len())];
        marked
            .iter()
            .for_each(|(item, _)| marks.remove(item.0 as usize));
        if let Some(k) = repeat {
            return Err(RecommendError::DuplicateItem {
                user,
                item: list[k].0,
            });
        }
        self.items.extend(list.iter().map(|&(item, _)| item));
        self.scores.extend(list.iter().map(|&(_, score)| score));
        self.users.push(user);
        self.offsets.push(self.items.len());
        Ok(())
    }

    /// Appends all lists of `other`, whose users must all follow ours.
    pub fn append(&mut self, other: Recommendations) -> Result<(), RecommendError> {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        if let (Some(&previous), Some(&user)) = (self.users.last(), other.users.first())
            && previous >= user
        {
            return Err(RecommendError::UserOrder { previous, user });
        }
        let base = self.items.len();
        self.users.extend_from_slice(&other.users);
        self.offsets
            .extend(other.offsets.iter().skip(1).map(|o| o + base));
        self.items.extend_from_slice(&other.items);
        self.scores.extend_from_slice(&other.scores);
        Ok(())
    }

    /// Number of users with a list (possibly empty).
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Users, increasing.
    pub fn users(&self) -> &[UserId] {
        &self.users
    }

    /// Total number of recommended `(user, item)` pairs.
    pub fn n_pairs(&self) -> usize {
        self.items.len()
    }

    /// The `k`-th list. Panics if `k >= len()`.
    pub fn get(&self, k: usize) -> RankedList<'_> {
        let range = self.offsets[k]..self.offsets[k + 1];
        RankedList {
            user: self.users[k],
            items: &self.items[range.clone()],
            scores: &self.scores[range],
        }
    }

    /// The list of `user`, if it has one.
    pub fn find(&self, user: UserId) -> Option<RankedList<'_>> {
        self.users.binary_search(&user).ok().map(|k| self.get(k))
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = RankedList<'_>> + '_ {
        (0..self.len()).map(|k| self.get(k))
    }
}
