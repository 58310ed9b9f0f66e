//! The fitted item-kNN model: neighbour lists, scoring, similar items, save/load.

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, Recommender};

use super::params::{CheckedItemKnn, ItemKnnParams, ScoreMode};
use crate::{ModelError, ModelReader, ModelWriter};

/// Users per scoring block: each user's sparse list is as long as the items their
/// neighbours reach.
const BLOCK_USERS: usize = 128;

/// The top-k neighbours of every item, CSR-like: item `i`'s neighbours and similarities
/// are `entries[offsets[i]..offsets[i + 1]]`, best first. Interleaved, so scoring streams
/// one array.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Neighbours {
    pub(super) offsets: Vec<usize>,
    pub(super) entries: Vec<(ItemId, f32)>,
}

/// A fitted item-kNN model.
#[derive(Clone, Debug)]
pub struct ItemKnn {
    params: CheckedItemKnn,
    n_items: usize,
    neighbours: Neighbours,
}

impl ItemKnn {
    pub(super) fn from_parts(
        params: CheckedItemKnn,
        n_items: usize,
        neighbours: Neighbours,
    ) -> Self {
        debug_assert_eq!(neighbours.offsets.len(), n_items + 1);
        ItemKnn {
            params,
            n_items,
            neighbours,
        }
    }

    pub fn params(&self) -> &CheckedItemKnn {
        &self.params
    }

    /// The stored neighbours of `item` (the item itself included, normally first) with
    /// their cosine similarities, best first; empty for items outside the model.
    pub fn neighbours(&self, item: ItemId) -> &[(ItemId, f32)] {
        let i = item.0 as usize;
        if i >= self.n_items {
            return &[];
        }
        &self.neighbours.entries[self.neighbours.offsets[i]..self.neighbours.offsets[i + 1]]
    }

    /// Total number of stored neighbour entries.
    pub fn n_neighbours(&self) -> usize {
        self.neighbours.entries.len()
    }

    /// The first `n` stored neighbours of `item`, without the item itself, best first.
    pub fn similar_items(&self, item: ItemId, n: usize) -> Vec<(ItemId, f32)> {
        self.neighbours(item)
            .iter()
            .filter(|(j, _)| *j != item)
            .take(n)
            .copied()
            .collect()
    }

    /// Payload: parameters (JSON), n_items, then the neighbour offsets (u64), ids (u32)
    /// and similarities (f32).
    pub fn write(&self, w: &mut ModelWriter) -> Result<(), ModelError> {
        w.json(self.params.params())?;
        w.u64(self.n_items as u64)?;
        let offsets: Vec<u64> = self.neighbours.offsets.iter().map(|&o| o as u64).collect();
        w.u64s(&offsets)?;
        let items: Vec<u32> = self.neighbours.entries.iter().map(|e| e.0.0).collect();
        w.u32s(&items)?;
        let sims: Vec<f32> = self.neighbours.entries.iter().map(|e| e.1).collect();
        w.f32s(&sims)
    }

    /// Reads a model written by [`ItemKnn::write`], checking the neighbour arrays.
    pub fn read(r: &mut ModelReader) -> Result<Self, ModelError> {
        let params: ItemKnnParams = r.json()?;
        let params = params
            .check()
            .map_err(|e| r.corrupt(format!("bad parameters: {e}")))?;
        let n_items = r.u64()?;
        let offsets = r.u64s()?;
        let items = r.u32s()?;
        let sims = r.f32s()?;
        let n_items = usize::try_from(n_items)
            .ok()
            .filter(|&n| n <= u32::MAX as usize && offsets.len() == n + 1)
            .ok_or_else(|| {
                r.corrupt(format!(
                    "{} neighbour offsets for {n_items} items",
                    offsets.len()
                ))
            })?;
        if items.len() != sims.len() {
            return Err(r.corrupt(format!(
                "{} neighbours but {} similarities",
                items.len(),
                sims.len()
            )));
        }
        if offsets.first() != Some(&0) || offsets.last() != Some(&(items.len() as u64)) {
            return Err(r.corrupt(format!(
                "neighbour offsets must run from 0 to {}",
                items.len()
            )));
        }
        let k = params.params().k as u64;
        if let Some(i) = offsets
            .windows(2)
            .position(|w| w[1] < w[0] || w[1] - w[0] > k)
        {
            return Err(r.corrupt(format!(
                "item {i} has neighbour offsets {}..{} (at most {k} neighbours, increasing)",
                offsets[i],
                offsets[i + 1]
            )));
        }
        if let Some(j) = items.iter().find(|&&j| j as usize >= n_items) {
            return Err(r.corrupt(format!(
                "neighbour {j} is outside the model's {n_items} items"
            )));
        }
        if let Some(s) = sims.iter().find(|s| !s.is_finite()) {
            return Err(r.corrupt(format!("similarity {s} is not finite")));
        }
        let offsets: Vec<usize> = offsets.into_iter().map(|o| o as usize).collect();
        if let Some(i) = offsets
            .windows(2)
            .position(|w| !sims[w[0]..w[1]].is_sorted_by(|a, b| a >= b))
        {
            return Err(r.corrupt(format!(
                "neighbours of item {i} are not sorted by decreasing similarity"
            )));
        }
        Ok(ItemKnn::from_parts(
            params,
            n_items,
            Neighbours {
                offsets,
                entries: items.into_iter().map(ItemId).zip(sims).collect(),
            },
        ))
    }
}

impl Recommender for ItemKnn {
    fn n_items(&self) -> usize {
        self.n_items
    }

    /// Sparse scores: per user, the items reached by the neighbours of their history
    /// items, scored by the summed (confidence-weighted) similarities.
    fn score_block(&self, users: &[UserId], history: &UserItemMatrix, out: &mut BlockScores) {
        // The per-item sums belong to the worker thread: never allocated or zeroed per block.
        let (lists, sums) = out.sparse_with_sums();
        let sum = self.params.params().score == ScoreMode::Sum;
        for (user, list) in users.iter().zip(lists) {
            if user.0 as usize >= history.n_users() {
                continue;
            }
            sums.start(self.n_items);
            let (items, confidences) = history.row(*user);
            for (&s, &r) in items.iter().zip(confidences) {
                let weight = if sum { 1.0 } else { r };
                for &(j, sim) in self.neighbours(ItemId(s)) {
                    sums.add(j, sim * weight);
                }
            }
            sums.drain_into(list);
        }
    }

    fn block_size(&self) -> usize {
        BLOCK_USERS
    }
}
