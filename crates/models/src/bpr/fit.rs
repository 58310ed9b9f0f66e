//! BPR training: stratified SGD over user×item blocks (DSGD), thread-count independent.
//!
//! Users and items are each split into `B` blocks, balanced by their number of non-zeros
//! (users once, items afresh every epoch). Stratum `(a, b)` holds the positive pairs of
//! users in block `a` with items in block `b`. Epoch `e` runs `B` rounds; round `s` runs
//! the strata `(a, (a + s) mod B)` for every `a`, which share no user and no item, in
//! parallel. Each stratum draws its `(u, i, j)` triples sequentially from its own PRNG
//! stream seeded by `(seed, e, a, b)`, negatives from its own item block, and updates
//! only its own user and item rows, so every float operation happens in the same order
//! whatever the number of threads. Re-drawing the item blocks every epoch means a
//! positive meets negatives from a different random part of the catalogue each epoch,
//! rather than always the same `1/B` of it.
//!
//! Factor rows live in per-block matrices while training (so the disjoint rows of a round
//! are disjoint `&mut` borrows): user blocks for the whole fit, item blocks scattered from
//! and gathered back into the global item [`Factors`] around every epoch.

use clickrec_core::{SplitMix64, UserId};
use pulp::{Arch, Simd, WithSimd, as_arrays};
use rayon::prelude::*;

use super::params::{BprParams, CheckedBpr, NegativeSampling};
use crate::fit::{Watch, keep_going};
use crate::{Factors, FitError, FitOptions, TrainData};

/// Stream tags, so that no two uses of the seed share a PRNG stream.
const TAG_USER_BLOCKS: u64 = 1;
const TAG_ITEM_BLOCKS: u64 = 2;
const TAG_USER_INIT: u64 = 3;
const TAG_ITEM_INIT: u64 = 4;
const TAG_SGD: u64 = 5;
const TAG_LOSS: u64 = 6;

/// Fewest items per block: `blocks` is lowered on small catalogues so that negatives are
/// never drawn from only a handful of items.
pub(super) const MIN_ITEMS_PER_BLOCK: usize = 64;

/// Triples in the fixed loss sample (fewer on tiny matrices: at most 10 per non-zero).
const LOSS_SAMPLES: usize = 100_000;
/// Draws tried per loss triple to find a negative the user does not have.
const LOSS_NEGATIVE_TRIES: usize = 16;

/// What a fit produces.
#[derive(Debug)]
pub(super) struct Fitted {
    pub(super) user_factors: Factors,
    pub(super) item_factors: Factors,
    pub(super) loss: Vec<f64>,
}

/// `⌊log2 w⌋ + 1`, 0 for 0: the magnitude bucket of a weight.
fn magnitude(w: usize) -> u32 {
    usize::BITS - w.leading_zeros()
}

/// Ids split into blocks.
#[derive(Debug)]
struct Partition {
    /// Block of each id.
    block: Vec<u32>,
    /// Index of each id inside its block.
    local: Vec<u32>,
    /// Ids of each block, increasing.
    members: Vec<Vec<u32>>,
}

impl Partition {
    /// Splits ids `0..weights.len()` into `blocks` blocks of similar total weight, at
    /// random: ids in a seeded random order, heavier magnitudes (powers of two) first, each
    /// to the lighter (then smaller) of two random blocks. Popular ids spread over all
    /// blocks, contiguous id ranges do not stay together, and which ids share a block
    /// changes with the seed, even among the most popular.
    fn balanced(weights: &[usize], blocks: usize, seed: u64, tags: &[u64]) -> Self {
        let n = weights.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut rng = SplitMix64::derived(seed, tags);
        for k in (1..n).rev() {
            order.swap(k, rng.below(k + 1));
        }
        order.sort_by_key(|&id| std::cmp::Reverse(magnitude(weights[id as usize])));
        let mut load = vec![(0usize, 0usize); blocks];
        let mut block = vec![0u32; n];
        for &id in &order {
            let (a, b) = (rng.below(blocks), rng.below(blocks));
            let best = if load[b] < load[a] { b } else { a };
            load[best].0 += weights[id as usize];
            load[best].1 += 1;
            block[id as usize] = best as u32;
        }
        let mut members = vec![Vec::new(); blocks];
        let mut local = vec![0u32; n];
        for (id, &b) in block.iter().enumerate() {
            let m = &mut members[b as usize];
            local[id] = m.len() as u32;
            m.push(id as u32);
        }
        Partition {
            block,
            local,
            members,
        }
    }

    fn blocks(&self) -> usize {
        self.members.len()
    }
}

/// One positive pair, in block-local ids, packed as `user << 32 | item` so that pairs
/// sort by user then item and compare as one integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pair(u64);

impl Pair {
    #[inline]
    fn new(user: u32, item: u32) -> Self {
        Pair(u64::from(user) << 32 | u64::from(item))
    }

    #[inline]
    fn user(self) -> u32 {
        (self.0 >> 32) as u32
    }

    #[inline]
    fn item(self) -> u32 {
        self.0 as u32
    }
}

/// The positive pairs of one user block × item block, sorted by user then item, so the
/// pairs of a user (its row) sit around any one of them: "does this user have item j?"
/// searches from the sampled pair, in the cache lines just loaded.
#[derive(Debug, Default)]
struct Stratum {
    pairs: Vec<Pair>,
}

impl Stratum {
    /// True when the user of pair `k` has item `j`: a galloping search from `k` towards
    /// `(user, j)`, so a short row costs one or two probes of memory just read, and a
    /// long row a logarithmic number.
    #[inline]
    fn user_has(&self, k: usize, j: u32) -> bool {
        let pairs = &self.pairs;
        let here = pairs[k];
        let target = Pair::new(here.user(), j);
        if target == here {
            return true;
        }
        let (lo, hi) = if target > here {
            // key(pairs[lo]) < target throughout.
            let (mut lo, mut step) = (k, 1);
            loop {
                let next = lo + step;
                if next >= pairs.len() || pairs[next] >= target {
                    break (lo + 1, (next + 1).min(pairs.len()));
                }
                lo = next;
                step *= 2;
            }
        } else {
            // key(pairs[hi]) > target throughout.
            let (mut hi, mut step) = (k, 1);
            loop {
                if step > hi || pairs[hi - step] <= target {
                    break (hi.saturating_sub(step), hi);
                }
                hi -= step;
                step *= 2;
            }
        };
        pairs[lo..hi].binary_search(&target).is_ok()
    }
}

/// Fills every stratum, `strata[a][b]`, one user block per task (reusing the buffers of
/// the previous epoch).
fn build_strata(
    strata: &mut [Vec<Stratum>],
    data: &TrainData<'_>,
    users: &Partition,
    items: &Partition,
) {
    let blocks = items.blocks();
    strata
        .par_iter_mut()
        .zip(&users.members)
        .with_max_len(1)
        .for_each(|(strata, members)| {
            strata.resize_with(blocks, Stratum::default);
            strata.iter_mut().for_each(|s| s.pairs.clear());
            for (r, &u) in members.iter().enumerate() {
                for &i in data.matrix.row(UserId(u)).0 {
                    strata[items.block[i as usize] as usize]
                        .pairs
                        .push(Pair::new(r as u32, items.local[i as usize]));
                }
            }
        });
}

/// Walker's alias table (Vose's construction, in exact integer arithmetic): draws
/// `0..n` in proportion to integer weights with one random number and two adjacent
/// reads, from a table of 8 bytes per entry (small enough to stay in cache, unlike a
/// list of every non-zero).
#[derive(Clone, Debug, Default)]
struct AliasTable {
    /// `(threshold, alias)`: column `c` yields `c` when the low 32 random bits are below
    /// `threshold`, else `alias`.
    columns: Vec<(u32, u32)>,
}

impl AliasTable {
    /// `None` when every weight is 0.
    fn new(weights: impl ExactSizeIterator<Item = u64>) -> Option<Self> {
        let n = weights.len();
        // Column c holds scaled[c] / total of mass; scaled weights sum to n · total.
        let mut scaled: Vec<u128> = weights.map(|w| u128::from(w) * n as u128).collect();
        let total: u128 = scaled.iter().sum::<u128>() / n.max(1) as u128;
        if total == 0 {
            return None;
        }
        let mut columns: Vec<(u32, u32)> = (0..n as u32).map(|c| (u32::MAX, c)).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&c| scaled[c] < total);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            // scaled[s] < total, so the threshold fits in 32 bits.
            columns[s] = (((scaled[s] << 32) / total) as u32, l as u32);
            scaled[l] -= total - scaled[s];
            if scaled[l] < total {
                large.pop();
                small.push(l);
            }
        }
        // Columns left in either list hold (up to rounding) exactly `total`: themselves.
        Some(AliasTable { columns })
    }

    #[inline]
    fn sample(&self, rng: &mut SplitMix64) -> u32 {
        let x = rng.next_u64();
        let c = (((x >> 32) * self.columns.len() as u64) >> 32) as usize;
        let (threshold, alias) = self.columns[c];
        if (x as u32) < threshold {
            c as u32
        } else {
            alias
        }
    }
}

/// Where the negatives of one item block come from.
#[derive(Clone, Copy, Debug)]
enum Negatives<'a> {
    /// By popularity: local item ids weighted by their number of users.
    Popularity(&'a AliasTable),
    /// Any of the block's items.
    Uniform(usize),
}

impl Negatives<'_> {
    #[inline]
    fn sample(self, rng: &mut SplitMix64) -> u32 {
        match self {
            Negatives::Popularity(table) => table.sample(rng),
            Negatives::Uniform(n) => rng.below(n) as u32,
        }
    }
}

/// One SGD step's constants.
#[derive(Clone, Copy, Debug)]
struct Step {
    learning_rate: f32,
    regularization: f32,
}

/// `u · (p − n)` over whole rows (the last column adds the bias difference, the user's
/// column being 1), with two vector running sums in a fixed order, so it stays
/// reproducible.
#[inline(always)]
fn score_diff<S: Simd>(simd: S, u: &[f32], p: &[f32], n: &[f32]) -> f32 {
    let (uv, ut) = S::as_simd_f32s(u);
    let (pv, pt) = S::as_simd_f32s(p);
    let (nv, nt) = S::as_simd_f32s(n);
    let (u2, u1) = as_arrays::<2, _>(uv);
    let (p2, p1) = as_arrays::<2, _>(pv);
    let (n2, n1) = as_arrays::<2, _>(nv);
    let mut acc = [simd.splat_f32s(0.0); 2];
    for ((a, b), c) in u2.iter().zip(p2).zip(n2) {
        for l in 0..2 {
            acc[l] = simd.mul_add_e_f32s(a[l], simd.sub_f32s(b[l], c[l]), acc[l]);
        }
    }
    for ((&a, &b), &c) in u1.iter().zip(p1).zip(n1) {
        acc[0] = simd.mul_add_e_f32s(a, simd.sub_f32s(b, c), acc[0]);
    }
    let mut sum = simd.reduce_sum_f32s(simd.add_f32s(acc[0], acc[1]));
    for ((a, b), c) in ut.iter().zip(pt).zip(nt) {
        sum += a * (b - c);
    }
    sum
}

impl Step {
    /// One BPR SGD step on user row `u`, positive item row `p`, negative item row `n`
    /// (all `factors + 1` long), as implicit's `bpr_update`: the user's last column (the
    /// constant 1 multiplying the item bias) is not updated.
    #[inline(always)]
    fn apply<S: Simd>(&self, simd: S, u: &mut [f32], p: &mut [f32], n: &mut [f32]) {
        let x = score_diff(simd, u, p, n);
        // σ(−x): the weight of this triple's gradient.
        let z = 1.0 / (1.0 + x.exp());
        let lr = self.learning_rate;
        // u += lr (z (p − n) − reg u), p += lr (z u − reg p), n += lr (−z u − reg n),
        // with the factors folded: one multiply-add fewer per value.
        let (step, keep) = (lr * z, 1.0 - lr * self.regularization);
        let f = u.len() - 1;
        let (uf, _) = u.split_at_mut(f);
        let (pf, pb) = p.split_at_mut(f);
        let (nf, nb) = n.split_at_mut(f);
        let (sv, kv) = (simd.splat_f32s(step), simd.splat_f32s(keep));
        {
            let (uv, ut) = S::as_mut_simd_f32s(uf);
            let (pv, pt) = S::as_mut_simd_f32s(pf);
            let (nv, nt) = S::as_mut_simd_f32s(nf);
            for ((uk, pk), nk) in uv.iter_mut().zip(pv.iter_mut()).zip(nv.iter_mut()) {
                let (t, pv, nv) = (*uk, *pk, *nk);
                let su = simd.mul_f32s(sv, t);
                *uk = simd.mul_add_e_f32s(kv, t, simd.mul_f32s(sv, simd.sub_f32s(pv, nv)));
                *pk = simd.mul_add_e_f32s(kv, pv, su);
                *nk = simd.mul_add_e_f32s(kv, nv, simd.neg_f32s(su));
            }
            for ((uk, pk), nk) in ut.iter_mut().zip(pt.iter_mut()).zip(nt.iter_mut()) {
                let (t, pv, nv) = (*uk, *pk, *nk);
                *uk = keep * t + step * (pv - nv);
                *pk = keep * pv + step * t;
                *nk = keep * nv - step * t;
            }
        }
        if let (Some(pb), Some(nb)) = (pb.first_mut(), nb.first_mut()) {
            *pb = keep * *pb + step;
            *nb = keep * *nb - step;
        }
    }
}

/// Rows `a` and `b` (different) of a row-major matrix, both mutable.
#[inline]
fn two_rows(data: &mut [f32], dim: usize, a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
    if a < b {
        let (lo, hi) = data.split_at_mut(b * dim);
        (&mut lo[a * dim..(a + 1) * dim], &mut hi[..dim])
    } else {
        let (lo, hi) = data.split_at_mut(a * dim);
        (&mut hi[..dim], &mut lo[b * dim..(b + 1) * dim])
    }
}

/// One pass over a stratum: as many triples as it has pairs, positives drawn uniformly
/// with replacement (as implicit), a negative from `negatives`; a negative equal to the
/// positive, or (with `verify`) one the user has, skips the triple, as in implicit.
/// Compiled for every SIMD level ([`StratumPass::run`] picks the CPU's own at run time).
struct StratumPass<'a, 'n> {
    stratum: &'a Stratum,
    users: &'a mut Factors,
    items: &'a mut Factors,
    negatives: Negatives<'n>,
    verify: bool,
    step: Step,
    rng: &'a mut SplitMix64,
}

impl StratumPass<'_, '_> {
    fn run(self) {
        Arch::new().dispatch(self)
    }
}

impl WithSimd for StratumPass<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let StratumPass {
            stratum,
            users,
            items,
            negatives,
            verify,
            step,
            rng,
        } = self;
        let pairs = stratum.pairs.len();
        let dim = users.dim();
        if pairs == 0 {
            return;
        }
        let user_rows = users.as_mut_slice();
        let item_rows = items.as_mut_slice();
        // Software pipelining: the pair and negative of the next triple are drawn and read
        // one step ahead, so their cache misses overlap the current step's arithmetic.
        let draw = |rng: &mut SplitMix64| {
            let k = rng.below(pairs);
            (k, negatives.sample(rng))
        };
        let (mut k, mut j) = draw(rng);
        let mut pair = stratum.pairs[k];
        for _ in 0..pairs {
            let (next_k, next_j) = draw(rng);
            let next_pair = stratum.pairs[next_k];
            let (u, i) = (pair.user(), pair.item());
            if !(j == i || (verify && stratum.user_has(k, j))) {
                let u = u as usize;
                let user = &mut user_rows[u * dim..(u + 1) * dim];
                let (pos, neg) = two_rows(item_rows, dim, i as usize, j as usize);
                step.apply(simd, user, pos, neg);
            }
            (k, j, pair) = (next_k, next_j, next_pair);
        }
    }
}

/// Initial factors of row `id`, from its own seeded stream: the factor columns uniform
/// in `[−0.5, 0.5) / factors` for ids with interactions, 0 for the others (as implicit);
/// the last column `bias` (users 1, items 0).
fn init_row(row: &mut [f32], id: usize, active: bool, bias: f32, seed: u64, tag: u64) {
    let factors = row.len() - 1;
    let scale = 1.0 / factors as f32;
    if active {
        let mut rng = SplitMix64::derived(seed, &[tag, id as u64]);
        row[..factors]
            .iter_mut()
            .for_each(|v| *v = (rng.next_f32() - 0.5) * scale);
    }
    row[factors] = bias;
}

/// The rows of `members`, in that order, copied out of `all`.
fn scatter(all: &Factors, members: &[u32]) -> Factors {
    let dim = all.dim();
    let mut block = Factors::zeros(members.len(), dim);
    for (row, &id) in block.as_mut_slice().chunks_exact_mut(dim).zip(members) {
        row.copy_from_slice(all.row(id as usize));
    }
    block
}

/// Copies block rows back into `all`, in global id order.
fn gather(all: &mut Factors, blocks: &[Factors], part: &Partition) {
    for (block, members) in blocks.iter().zip(&part.members) {
        for (r, &id) in members.iter().enumerate() {
            all.row_mut(id as usize).copy_from_slice(block.row(r));
        }
    }
}

/// A fixed sample of `(user, positive, negative)` triples, in global ids, on which the
/// loss is measured after every epoch.
fn loss_sample(data: &TrainData<'_>, params: &BprParams, seed: u64) -> Vec<(u32, u32, u32)> {
    let csr = data.matrix.csr();
    let indptr = csr.indptr();
    let indptr = indptr.raw_storage();
    let indices = csr.indices();
    let nnz = indices.len();
    let n_items = data.n_items();
    let mut rng = SplitMix64::derived(seed, &[TAG_LOSS]);
    let count = LOSS_SAMPLES.min(nnz.saturating_mul(10));
    let mut triples = Vec::with_capacity(count);
    for _ in 0..count {
        let k = rng.below(nnz);
        // The row holding non-zero k: the last row starting at or before k.
        let u = indptr.partition_point(|&p| p <= k).saturating_sub(1);
        let i = indices[k];
        let row = &indices[indptr[u]..indptr[u + 1]];
        let negative = (0..LOSS_NEGATIVE_TRIES)
            .map(|_| match params.negative_sampling {
                NegativeSampling::Popularity => indices[rng.below(nnz)],
                NegativeSampling::Uniform => rng.below(n_items) as u32,
            })
            .find(|&j| {
                j != i && !(params.verify_negative_samples && row.binary_search(&j).is_ok())
            });
        if let Some(j) = negative {
            triples.push((u as u32, i, j));
        }
    }
    triples
}

/// Mean over the sample of `−ln σ(x_uij) + (λ/2)(‖w_u‖² + ‖h_i‖² + ‖h_j‖²)`, the
/// per-triple objective whose gradient the SGD step follows (`w_u` without its constant
/// column). Summed in fixed chunks, in order, so it is thread-count independent.
fn loss(
    triples: &[(u32, u32, u32)],
    users: (&[Factors], &Partition),
    items: &Factors,
    regularization: f64,
) -> f64 {
    if triples.is_empty() {
        return 0.0;
    }
    fn row<'a>((blocks, part): (&'a [Factors], &Partition), id: u32) -> &'a [f32] {
        let id = id as usize;
        blocks[part.block[id] as usize].row(part.local[id] as usize)
    }
    let sq = |v: &[f32]| v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>();
    let total: f64 = triples
        .par_chunks(4096)
        .map(|chunk| {
            chunk
                .iter()
                .map(|&(u, i, j)| {
                    let (w, p, n) = (row(users, u), items.row(i as usize), items.row(j as usize));
                    let x: f64 = w
                        .iter()
                        .zip(p.iter().zip(n))
                        .map(|(&a, (&b, &c))| f64::from(a) * (f64::from(b) - f64::from(c)))
                        .sum();
                    // −ln σ(x) = ln(1 + e^(−x)), computed without overflow.
                    let nll = if x > 0.0 {
                        (-x).exp().ln_1p()
                    } else {
                        -x + x.exp().ln_1p()
                    };
                    let f = w.len() - 1;
                    nll + 0.5 * regularization * (sq(&w[..f]) + sq(p) + sq(n))
                })
                .sum::<f64>()
        })
        .collect::<Vec<f64>>()
        .into_iter()
        .sum();
    total / triples.len() as f64
}

fn all_finite(blocks: &[Factors]) -> bool {
    blocks
        .par_iter()
        .all(|b| b.as_slice().iter().all(|v| v.is_finite()))
}

/// Fits BPR; see the module docs for the parallel scheme.
pub(super) fn fit(
    checked: &CheckedBpr,
    data: &TrainData<'_>,
    options: &FitOptions<'_>,
    watch: Watch<'_, super::Bpr>,
) -> Result<Fitted, FitError> {
    let params = checked.params();
    let matrix = data.matrix;
    if matrix.nnz() == 0 {
        return Err(FitError::EmptyTrain { model: "bpr" });
    }
    let (n_users, n_items) = (matrix.n_users(), matrix.n_items());
    let seed = options.seed;
    let factors = params.factors;
    let dim = factors + 1;
    let blocks = params.blocks.min(n_items / MIN_ITEMS_PER_BLOCK).max(1);
    // The factor blocks being trained and the assembled factors (f32, `factors + 1` per
    // item with the bias).
    let bytes = 4 * 2 * (n_users + n_items) as u128 * dim as u128;
    options.check_memory("bpr", bytes, || {
        format!(
            "BPR with {factors} factors on {n_users} users × {n_items} items (factor matrices 8·(users + items)·(factors + 1) bytes)"
        )
    })?;

    let user_counts: Vec<usize> = (0..n_users)
        .map(|u| matrix.row(UserId(u as u32)).0.len())
        .collect();
    let mut item_counts = vec![0usize; n_items];
    matrix
        .csr()
        .indices()
        .iter()
        .for_each(|&i| item_counts[i as usize] += 1);

    let user_part = Partition::balanced(&user_counts, blocks, seed, &[TAG_USER_BLOCKS]);
    let mut user_blocks: Vec<Factors> = user_part
        .members
        .par_iter()
        .map(|members| {
            let mut block = Factors::zeros(members.len(), dim);
            for (row, &u) in block.as_mut_slice().chunks_exact_mut(dim).zip(members) {
                let active = user_counts[u as usize] > 0;
                init_row(row, u as usize, active, 1.0, seed, TAG_USER_INIT);
            }
            block
        })
        .collect();
    let mut item_factors = Factors::zeros(n_items, dim);
    item_factors
        .as_mut_slice()
        .par_chunks_mut(dim)
        .enumerate()
        .for_each(|(i, row)| init_row(row, i, item_counts[i] > 0, 0.0, seed, TAG_ITEM_INIT));

    let triples = if options.record_loss {
        loss_sample(data, params, seed)
    } else {
        Vec::new()
    };
    let step = Step {
        learning_rate: params.learning_rate as f32,
        regularization: params.regularization as f32,
    };
    let mut strata: Vec<Vec<Stratum>> = (0..blocks).map(|_| Vec::new()).collect();
    let mut losses = Vec::new();
    options.progress.start(params.iterations as u64);
    for epoch in 0..params.iterations {
        let item_part =
            Partition::balanced(&item_counts, blocks, seed, &[TAG_ITEM_BLOCKS, epoch as u64]);
        build_strata(&mut strata, data, &user_part, &item_part);
        // Popularity tables per item block (a block with pairs has a positive weight).
        let tables: Vec<AliasTable> = match params.negative_sampling {
            NegativeSampling::Popularity => item_part
                .members
                .par_iter()
                .map(|members| {
                    let weights = members.iter().map(|&i| item_counts[i as usize] as u64);
                    AliasTable::new(weights).unwrap_or_default()
                })
                .collect(),
            NegativeSampling::Uniform => Vec::new(),
        };
        let mut item_blocks: Vec<Factors> = item_part
            .members
            .par_iter()
            .map(|members| scatter(&item_factors, members))
            .collect();
        for round in 0..blocks {
            // Item block (a + round) mod B goes with user block a.
            let mut round_items: Vec<&mut Factors> = item_blocks.iter_mut().collect();
            round_items.rotate_left(round);
            user_blocks
                .par_iter_mut()
                .zip(round_items)
                .enumerate()
                .with_max_len(1)
                .for_each(|(a, (users, items))| {
                    let b = (a + round) % blocks;
                    let negatives = match params.negative_sampling {
                        NegativeSampling::Popularity => Negatives::Popularity(&tables[b]),
                        NegativeSampling::Uniform => Negatives::Uniform(item_part.members[b].len()),
                    };
                    let mut rng =
                        SplitMix64::derived(seed, &[TAG_SGD, epoch as u64, a as u64, b as u64]);
                    StratumPass {
                        stratum: &strata[a][b],
                        users,
                        items,
                        negatives,
                        verify: params.verify_negative_samples,
                        step,
                        rng: &mut rng,
                    }
                    .run();
                });
        }
        gather(&mut item_factors, &item_blocks, &item_part);
        drop(item_blocks);
        let loss = options.record_loss.then(|| {
            loss(
                &triples,
                (&user_blocks, &user_part),
                &item_factors,
                params.regularization,
            )
        });
        let finite =
            all_finite(&user_blocks) && item_factors.as_slice().par_iter().all(|v| v.is_finite());
        if !finite || loss.is_some_and(|l| !l.is_finite()) {
            return Err(FitError::Diverged {
                model: "bpr",
                iteration: epoch + 1,
                loss: loss.unwrap_or(f64::NAN),
            });
        }
        losses.extend(loss);
        options.progress.advance_to(epoch as u64 + 1);
        let snapshot = || {
            let mut user_factors = Factors::zeros(n_users, dim);
            gather(&mut user_factors, &user_blocks, &user_part);
            let fitted = Fitted {
                user_factors,
                item_factors: item_factors.clone(),
                loss: losses.clone(),
            };
            super::Bpr::from_fitted(checked, fitted)
        };
        if !keep_going(watch, epoch + 1, &snapshot) {
            break;
        }
    }
    let mut user_factors = Factors::zeros(n_users, dim);
    gather(&mut user_factors, &user_blocks, &user_part);
    Ok(Fitted {
        user_factors,
        item_factors,
        loss: losses,
    })
}

/// The seed of a fold-in's draws: fixed, so the same history always folds in to the same
/// factor.
const FOLD_IN_SEED: u64 = 0x464F_4C44_2D49_4E00;

impl super::Bpr {
    /// The factor row (`factors + 1`, last column 1) of a user whose positives are `cols`
    /// (increasing), learnt by the fit's SGD step with the item factors held fixed: as many
    /// epochs as the fit ran, each of `|cols|` triples (a positive drawn from `cols`, a
    /// negative drawn uniformly from the items outside it), the user's row starting as the
    /// fit starts it. An empty row gets a zero factor, as the fit gives a user without
    /// positives.
    pub fn fold_in_user(&self, cols: &[u32]) -> Factors {
        let items = self.item_factors();
        let dim = items.dim();
        let mut user = Factors::zeros(1, dim);
        let n_items = items.rows();
        if cols.is_empty() || cols.len() >= n_items {
            return user;
        }
        let p = self.params().params();
        init_row(user.row_mut(0), 0, true, 1.0, FOLD_IN_SEED, TAG_USER_INIT);
        let (lr, reg) = (p.learning_rate as f32, p.regularization as f32);
        let mut rng = SplitMix64::new(FOLD_IN_SEED);
        let row = user.row_mut(0);
        let factors = dim - 1;
        for _ in 0..p.iterations * cols.len() {
            let positive = items.row(cols[rng.below(cols.len())] as usize);
            let j = rng.below(n_items) as u32;
            if cols.binary_search(&j).is_ok() {
                continue;
            }
            let negative = items.row(j as usize);
            let x: f32 = row
                .iter()
                .zip(positive.iter().zip(negative))
                .map(|(u, (a, b))| u * (a - b))
                .sum();
            // σ(−x), the weight of the triple's gradient, as in the fit's step.
            let z = 1.0 / (1.0 + x.exp());
            for k in 0..factors {
                row[k] += lr * (z * (positive[k] - negative[k]) - reg * row[k]);
            }
        }
        user
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn alias_table_draws_in_proportion_to_the_weights() {
        let weights = [5u64, 0, 1, 10, 4, 0, 30];
        let table = AliasTable::new(weights.iter().copied()).unwrap();
        let mut rng = SplitMix64::new(9);
        let mut counts = [0usize; 7];
        let draws = 500_000;
        for _ in 0..draws {
            counts[table.sample(&mut rng) as usize] += 1;
        }
        let total: u64 = weights.iter().sum();
        for (c, &w) in counts.iter().zip(&weights) {
            let expected = draws as f64 * w as f64 / total as f64;
            assert!(
                (*c as f64 - expected).abs() <= 5.0 * expected.sqrt() + 1.0,
                "{counts:?}"
            );
        }
        assert!(AliasTable::new([0u64, 0].into_iter()).is_none());
    }

    #[test]
    fn user_has_scans_the_row_of_the_sampled_pair() {
        let pairs = [(0, 1), (0, 4), (0, 7), (1, 2), (2, 0), (2, 4)]
            .map(|(user, item)| Pair::new(user, item))
            .to_vec();
        let s = Stratum { pairs };
        assert!(s.user_has(1, 1) && s.user_has(1, 7) && s.user_has(0, 7));
        assert!(!s.user_has(1, 2) && !s.user_has(2, 0) && !s.user_has(3, 0));
        assert!(s.user_has(4, 4) && s.user_has(5, 0) && !s.user_has(5, 2));

        // Long rows: every probe agrees with a plain search.
        let pairs: Vec<Pair> = (0..3u32)
            .flat_map(|user| (0..200u32).map(move |i| Pair::new(user, i * 3 + user)))
            .collect();
        let s = Stratum {
            pairs: pairs.clone(),
        };
        for k in (0..pairs.len()).step_by(7) {
            for j in 0..620 {
                let expected = pairs.contains(&Pair::new(pairs[k].user(), j));
                assert_eq!(s.user_has(k, j), expected, "k {k} j {j}");
            }
        }
    }

    #[test]
    fn partition_balances_weight_and_keeps_members_sorted() {
        // A heavy head and a long tail, as item popularity.
        let weights: Vec<usize> = (0..5000).map(|i| 20_000 / (i + 10)).collect();
        let part = Partition::balanced(&weights, 8, 1, &[0]);
        let loads: Vec<usize> = part
            .members
            .iter()
            .map(|m| m.iter().map(|&i| weights[i as usize]).sum())
            .collect();
        let mean = weights.iter().sum::<usize>() / 8;
        assert!(
            loads.iter().all(|&l| l.abs_diff(mean) < mean / 10),
            "{loads:?} mean {mean}"
        );
        let other = Partition::balanced(&weights, 8, 1, &[1]);
        assert_ne!(part.block[..8], other.block[..8]);
        for (b, m) in part.members.iter().enumerate() {
            assert!(m.windows(2).all(|w| w[0] < w[1]));
            for (r, &id) in m.iter().enumerate() {
                assert_eq!(
                    (
                        part.block[id as usize] as usize,
                        part.local[id as usize] as usize
                    ),
                    (b, r)
                );
            }
        }
    }
}
