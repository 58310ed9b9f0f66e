//! Fitting item-kNN: re-weighting, unit-normalising the item vectors and the parallel
//! all-pairs top-k cosine.

use std::cell::RefCell;

use clickrec_core::ItemId;
use rayon::prelude::*;
use thread_local::ThreadLocal;

use super::params::{CheckedItemKnn, Weighting};
use super::{ItemKnn, Neighbours};
use crate::{FitError, FitOptions, TrainData};

/// Most items per rayon job: popular items cost far more than rare ones (the work of item
/// `i` is the sum of its users' activity), so jobs stay small for work stealing to even
/// them out.
const ITEMS_PER_JOB: usize = 64;

const MODEL: &str = "item_knn";

impl ItemKnn {
    /// Computes the `k` most similar items of every item by cosine between the (re-weighted)
    /// item columns of the train matrix, in parallel over items. Each item's list is
    /// computed by one thread in a fixed order, so the model is bit-identical at any
    /// thread count.
    ///
    /// Fails on an empty train matrix, a transpose that does not match the matrix, or
    /// negative confidences with `tfidf`/`bm25` weighting.
    pub fn fit(
        params: &CheckedItemKnn,
        data: &TrainData<'_>,
        options: &FitOptions<'_>,
    ) -> Result<Self, FitError> {
        let n_items = data.n_items();
        let k = params.params().k.min(n_items);
        let threads = rayon::current_num_threads();
        // Per thread an accumulator and a touched list over all items (12 bytes an item);
        // the neighbour lists twice (collected, then packed), 8 bytes a neighbour.
        let bytes = 12 * (n_items as u128 + 1) * threads as u128 + 16 * n_items as u128 * k as u128;
        options.check_memory("item_knn", bytes, || {
            format!(
                "item-kNN with k = {k} on {n_items} items and {threads} threads (12·items·threads + 16·items·k bytes)"
            )
        })?;
        let vectors = UnitVectors::new(params, data)?;
        let neighbours = all_pairs_top_k(&vectors, params.params().k);
        Ok(ItemKnn::from_parts(
            params.clone(),
            data.n_items(),
            neighbours,
        ))
    }
}

/// The re-weighted item vectors scaled to unit length, in both layouts of the train
/// matrix: `by_item[k]` goes with `item_users` entry `k`, `by_user[k]` is `matrix` entry
/// `k` as (item, weight), interleaved so that the hot loop streams one array. Both hold
/// bit-identical weights for the same (user, item).
struct UnitVectors<'a> {
    n_items: usize,
    item_ptr: &'a [usize],
    item_users: &'a [u32],
    by_item: Vec<f32>,
    user_ptr: &'a [usize],
    by_user: Vec<(u32, f32)>,
    /// False for items whose vector is zero: they have no neighbours and are no one's.
    has_norm: Vec<bool>,
}

/// Per-user and per-item statistics of the weighting, and the weighting itself.
struct Weigher {
    weighting: Weighting,
    k1: f64,
    /// Per user: `ln(n_items) - ln(1 + items of the user)` (tfidf, bm25).
    idf: Vec<f64>,
    /// Per item: `k1 · ((1 - b) + b · item total / mean item total)` (bm25).
    k1_length_norm: Vec<f64>,
}

impl Weigher {
    /// The weight of confidence `x` of `user` on `item`, before normalisation; the same
    /// formulas as implicit's `tfidf_weight` and `bm25_weight` on the items × users matrix.
    #[inline]
    fn weight(&self, x: f32, user: usize, item: usize) -> f64 {
        let x = f64::from(x);
        match self.weighting {
            Weighting::None => x,
            Weighting::Tfidf => x.sqrt() * self.idf[user],
            Weighting::Bm25 if x == 0.0 => 0.0,
            Weighting::Bm25 => {
                x * (self.k1 + 1.0) / (self.k1_length_norm[item] + x) * self.idf[user]
            }
        }
    }
}

impl<'a> UnitVectors<'a> {
    fn new(params: &CheckedItemKnn, data: &TrainData<'a>) -> Result<Self, FitError> {
        let params = params.params();
        let (matrix, transpose) = (data.matrix.csr(), data.item_users.csr());
        let (n_users, n_items) = (data.n_users(), data.n_items());
        if matrix.nnz() == 0 {
            return Err(FitError::EmptyTrain { model: MODEL });
        }
        if (transpose.rows(), transpose.cols(), transpose.nnz()) != (n_items, n_users, matrix.nnz())
        {
            return Err(FitError::Data {
                model: MODEL,
                reason: format!(
                    "item_users is {} × {} with {} entries, not the transpose of the {n_users} × {n_items} train matrix with {} entries",
                    transpose.rows(),
                    transpose.cols(),
                    transpose.nnz(),
                    matrix.nnz()
                ),
            });
        }
        if params.weighting != Weighting::None && matrix.data().iter().any(|&x| x < 0.0) {
            return Err(FitError::Data {
                model: MODEL,
                reason: "tfidf and bm25 weighting need confidences ≥ 0".to_owned(),
            });
        }
        let user_ptr = matrix.indptr().into_raw_storage();
        let item_ptr = transpose.indptr().into_raw_storage();
        let (user_items, item_users) = (matrix.indices(), transpose.indices());
        let weigher = Weigher {
            weighting: params.weighting,
            k1: params.bm25_k1,
            idf: match params.weighting {
                Weighting::None => Vec::new(),
                Weighting::Tfidf | Weighting::Bm25 => {
                    let ln_n = (n_items as f64).ln();
                    user_ptr
                        .windows(2)
                        .map(|w| ln_n - ((w[1] - w[0]) as f64).ln_1p())
                        .collect()
                }
            },
            k1_length_norm: match params.weighting {
                Weighting::None | Weighting::Tfidf => Vec::new(),
                Weighting::Bm25 => {
                    let totals: Vec<f64> = item_ptr
                        .windows(2)
                        .map(|w| {
                            transpose.data()[w[0]..w[1]]
                                .iter()
                                .map(|&x| f64::from(x))
                                .sum()
                        })
                        .collect();
                    let mean = totals.iter().sum::<f64>() / n_items as f64;
                    let b = params.bm25_b;
                    totals
                        .iter()
                        .map(|t| {
                            let ratio = if mean > 0.0 { t / mean } else { 0.0 };
                            params.bm25_k1 * ((1.0 - b) + b * ratio)
                        })
                        .collect()
                }
            },
        };
        // Item norms, then the unit vectors in the item-major layout ...
        let inv_norm: Vec<f64> = (0..n_items)
            .into_par_iter()
            .map(|i| {
                let range = item_ptr[i]..item_ptr[i + 1];
                let norm_sq: f64 = item_users[range.clone()]
                    .iter()
                    .zip(&transpose.data()[range])
                    .map(|(&u, &x)| weigher.weight(x, u as usize, i).powi(2))
                    .sum();
                let inv = norm_sq.sqrt().recip();
                if norm_sq > 0.0 && inv.is_finite() {
                    inv
                } else {
                    0.0
                }
            })
            .collect();
        let mut by_item = vec![0f32; item_users.len()];
        by_item
            .par_chunks_mut(1 << 16)
            .enumerate()
            .for_each(|(chunk, out)| {
                let first = chunk << 16;
                // The item of the chunk's first entry, then walk the row pointers.
                let mut i = item_ptr.partition_point(|&p| p <= first) - 1;
                for (k, w) in (first..).zip(out) {
                    while item_ptr[i + 1] <= k {
                        i += 1;
                    }
                    let u = item_users[k] as usize;
                    *w = (weigher.weight(transpose.data()[k], u, i) * inv_norm[i]) as f32;
                }
            });
        // ... and in the user-major one.
        let mut by_user = vec![(0u32, 0f32); user_items.len()];
        by_user
            .par_chunks_mut(1 << 16)
            .enumerate()
            .for_each(|(chunk, out)| {
                let first = chunk << 16;
                let mut u = user_ptr.partition_point(|&p| p <= first) - 1;
                for (k, w) in (first..).zip(out) {
                    while user_ptr[u + 1] <= k {
                        u += 1;
                    }
                    let i = user_items[k];
                    let x = weigher.weight(matrix.data()[k], u, i as usize);
                    *w = (i, (x * inv_norm[i as usize]) as f32);
                }
            });
        Ok(UnitVectors {
            n_items,
            item_ptr,
            item_users,
            by_item,
            user_ptr,
            by_user,
            has_norm: inv_norm.iter().map(|&v| v > 0.0).collect(),
        })
    }
}

/// Per-thread scratch of the all-pairs pass: a dense accumulator over items with the
/// stamp of the last item that touched each entry, and the touched list.
struct Scratch {
    /// `(sum, stamp)`: together, so an update touches one cache line.
    acc: Vec<(f32, u32)>,
    /// Items touched by the current item; one spare slot for the branch-free append.
    touched: Vec<u32>,
    /// [`rank_key`]s of the items that may still be among the best `k`.
    candidates: Vec<u64>,
    k: usize,
}

impl Scratch {
    fn new(n_items: usize, k: usize) -> Self {
        Scratch {
            acc: vec![(0.0, 0); n_items],
            touched: vec![0; n_items + 1],
            candidates: Vec::new(),
            k,
        }
    }

    /// The `k` best cosines of item `i` (itself included), best first, ties by lower id.
    fn neighbours(&mut self, v: &UnitVectors<'_>, i: usize) -> Vec<(ItemId, f32)> {
        if !v.has_norm[i] {
            return Vec::new();
        }
        // Stamps are unique per item, so they never need clearing; sums are cleared as
        // they are read.
        let stamp = i as u32 + 1;
        let acc = self.acc.as_mut_slice();
        let touched = self.touched.as_mut_slice();
        let mut n_touched = 0;
        let range = v.item_ptr[i]..v.item_ptr[i + 1];
        for (&u, &w_ui) in v.item_users[range.clone()].iter().zip(&v.by_item[range]) {
            let row = v.user_ptr[u as usize]..v.user_ptr[u as usize + 1];
            for &(j, w_uj) in &v.by_user[row] {
                let entry = &mut acc[j as usize];
                entry.0 += w_ui * w_uj;
                let fresh = entry.1 != stamp;
                entry.1 = stamp;
                // Branch-free: always write the slot, keep it only on the first touch
                // (each item is kept once, so `n_touched` stays below `touched.len()`).
                touched[n_touched] = j;
                n_touched += usize::from(fresh);
            }
        }
        // Top-k by a buffer and a threshold: most candidates of a popular item fail one
        // integer comparison against the k-th best so far (a heap would pay several calls
        // per candidate).
        let (k, buffer) = (self.k, self.k.max(64) * 4);
        let candidates = &mut self.candidates;
        candidates.clear();
        // The k-th best key kept so far: a candidate must rank before it.
        let mut threshold = 0u64;
        for &j in &touched[..n_touched] {
            let entry = &mut acc[j as usize];
            let sim = entry.0;
            entry.0 = 0.0;
            let key = rank_key(sim, j);
            // NaN is never kept, as in the shared top-N.
            if key > threshold && !sim.is_nan() && v.has_norm[j as usize] {
                candidates.push(key);
                if candidates.len() >= buffer {
                    clickrec_recommend::retain_best(candidates, k, |a, b| b.cmp(a));
                    threshold = candidates[k - 1];
                }
            }
        }
        clickrec_recommend::keep_best(candidates, k, |a, b| b.cmp(a));
        candidates.iter().map(|&key| from_rank_key(key)).collect()
    }
}

/// A key in the order of the shared top-N (`clickrec_recommend::TopN`): a larger key is a
/// higher similarity by `f32::total_cmp` (the f32 bits mapped to an order-preserving
/// integer), then a lower id. Not for NaN.
#[inline]
pub(super) fn rank_key(sim: f32, item: u32) -> u64 {
    // -0.0 ties with 0.0, as in the shared top-N.
    let bits = if sim == 0.0 { 0 } else { sim.to_bits() };
    let ordered = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    };
    (u64::from(ordered) << 32) | u64::from(!item)
}

/// The `(item, similarity)` of a [`rank_key`].
pub(super) fn from_rank_key(key: u64) -> (ItemId, f32) {
    let ordered = (key >> 32) as u32;
    let bits = if ordered >> 31 == 1 {
        ordered & !(1 << 31)
    } else {
        !ordered
    };
    (ItemId(!(key as u32)), f32::from_bits(bits))
}

/// Top-`k` cosine neighbours of every item (the item itself included, as implicit's
/// `all_pairs_knn`), in parallel over items.
fn all_pairs_top_k(v: &UnitVectors<'_>, k: usize) -> Neighbours {
    let k = k.min(v.n_items);
    // One scratch per thread for the whole pass (`map_init` would build one per job of
    // at most ITEMS_PER_JOB items, allocating and zeroing an n_items accumulator each).
    let scratch: ThreadLocal<RefCell<Scratch>> = ThreadLocal::new();
    let lists: Vec<Vec<(ItemId, f32)>> = (0..v.n_items)
        .into_par_iter()
        .with_max_len(ITEMS_PER_JOB)
        .map(|i| {
            scratch
                .get_or(|| RefCell::new(Scratch::new(v.n_items, k)))
                .borrow_mut()
                .neighbours(v, i)
        })
        .collect();
    let total = lists.iter().map(Vec::len).sum();
    let mut out = Neighbours {
        offsets: Vec::with_capacity(v.n_items + 1),
        entries: Vec::with_capacity(total),
    };
    out.offsets.push(0);
    for list in lists {
        out.entries.extend_from_slice(&list);
        out.offsets.push(out.entries.len());
    }
    out
}
