//! The one pass over a model's recommendations: every metric at every K in the four
//! variants, list statistics (coverage, popularity, seen share), the breakdowns, and the
//! compact per-user record that the bootstrap resamples.
//!
//! Test users are processed in fixed chunks of [`CHUNK`] users, in parallel; every sum a
//! chunk hands back is an integer (counts, hit keys, popularity counts), so the
//! result does not depend on the number of threads or on the order chunks finish in.
//!
//! **Per-user record.** Every metric of a user is a sum over its hits (targets among the
//! first max-K list positions) of a term that depends only on the hit's *key*: the user's
//! target count t, the hit's rank r and its ordinal j among the user's hits (see
//! [`crate::metric`]). Users without a hit score 0 everywhere and are not stored; each hit
//! is stored as (test-set index, key id), and each distinct key's contributions to every
//! metric at every K are computed once. There are few distinct keys (t × r × j, mostly
//! small), so an average is Σ over keys of (hits with the key) × (its contributions) ÷
//! users, and the bootstrap evaluates a resample the same way with the hits re-weighted
//! by how often their user was drawn.

use std::ops::Range;
use std::sync::atomic::{AtomicU8, Ordering};

use clickrec_core::{ItemId, TestSet, TestUser, UserItemMatrix};
use clickrec_recommend::Recommendations;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::config::CheckedEval;
use crate::error::EvalError;
use crate::metric::{IdealDcg, Metric, Metrics, Segment, Variant, hit_values};
use crate::popularity::at_most_as_popular;

/// Test users per parallel work unit.
pub(crate) const CHUNK: usize = 2048;

const SEEN: u8 = 1;
const TARGET: u8 = 2;
const CONVERSION: u8 = 4;
const N_VARIANTS: usize = Variant::ALL.len();
/// Index of [`Variant::Repeat`]: targets seen in train, the list as given.
const REPEAT: usize = 4;
const N_SEGMENTS: usize = Segment::ALL.len();

/// Which test users an evaluation covers. The protocol evaluates cold users (no train
/// events) apart from warm ones: a model that needs history can only fall back for them,
/// and counting them in one average lets their share decide which model looks best.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Population {
    /// Every test user.
    #[default]
    All,
    /// Test users with train events (the headline's users).
    Warm,
    /// Test users without train events.
    Cold,
}

impl Population {
    /// Whether a test user with this cold flag belongs to the population.
    pub fn covers(self, cold: bool) -> bool {
        match self {
            Population::All => true,
            Population::Warm => !cold,
            Population::Cold => cold,
        }
    }
}

/// What every model is scored against.
#[derive(Clone, Copy, Debug)]
pub struct EvalData<'a> {
    /// Held-out targets per test user.
    pub test: &'a TestSet,
    /// The train matrix: seen items per user (new-items variants, seen share) and item
    /// popularity (column counts). Its item count is the catalogue size.
    pub train: &'a UserItemMatrix,
    /// Train events per user, indexed by user id, for the activity buckets. It must cover
    /// every row of the train matrix; users beyond it count as having no train events.
    pub train_events_per_user: &'a [u32],
    /// The test users scored; the others are left out of every count and average.
    pub population: Population,
}

impl EvalData<'_> {
    /// Test users in the population.
    pub fn covered_users(&self) -> u64 {
        self.test
            .iter()
            .filter(|tu| self.population.covers(tu.cold))
            .count() as u64
    }

    /// The same data restricted to `population`.
    pub fn with_population(&self, population: Population) -> Self {
        EvalData {
            population,
            ..*self
        }
    }

    fn check(&self) -> Result<(), EvalError> {
        if self.train_events_per_user.len() < self.train.n_users() {
            return Err(EvalError::Inconsistent(format!(
                "train events are given for {} users, but the train matrix has {} users",
                self.train_events_per_user.len(),
                self.train.n_users()
            )));
        }
        Ok(())
    }

    /// Which variants evaluate each test user (bit `v` for `Variant::ALL[v]`): the same
    /// for every model, since it depends on targets and train rows only.
    pub(crate) fn membership(&self) -> Vec<u8> {
        self.test
            .iter()
            .map(|tu| {
                if !self.population.covers(tu.cold) {
                    return 0;
                }
                let u = tu.user.0 as usize;
                let row: &[u32] = if u < self.train.n_users() {
                    self.train.row(tu.user).0
                } else {
                    &[]
                };
                let new = |items: &[ItemId]| items.iter().any(|t| row.binary_search(&t.0).is_err());
                let repeat = tu.targets.iter().any(|t| row.binary_search(&t.0).is_ok());
                u8::from(!tu.targets.is_empty())
                    | u8::from(!tu.conversion_targets.is_empty()) << 1
                    | u8::from(new(tu.targets)) << 2
                    | u8::from(new(tu.conversion_targets)) << 3
                    | u8::from(repeat) << 4
            })
            .collect()
    }
}

/// Averages at one cut-off K, over the evaluated users of one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KSummary {
    pub k: usize,
    /// The ranking metrics (macro averages; users without a list count as 0).
    #[serde(flatten)]
    pub metrics: Metrics<f64>,
    /// Distinct items in the top-K lists of the evaluated users / catalogue size.
    pub coverage: f64,
    /// The numerator of `coverage`.
    pub distinct_items: u64,
    /// Mean over evaluated users with a non-empty list of the mean train-popularity
    /// percentile of their top-K items (see [`crate::popularity_percentiles`]); `None`
    /// when no evaluated user has a list.
    pub popularity_percentile: Option<f64>,
    /// Mean over evaluated users with a non-empty list of the share of their top-K items
    /// that are in their train row; `None` when no evaluated user has a list. 0 in the
    /// new-items variants by construction.
    pub seen_share: Option<f64>,
}

/// The ranking metrics of the evaluated users of one segment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentSummary {
    pub segment: Segment,
    /// Evaluated users in the segment.
    pub users: u64,
    /// One entry per cut-off, increasing; empty when `users` is 0.
    pub at_k: Vec<SegmentAtK>,
}

/// A segment's averages at one cut-off.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SegmentAtK {
    pub k: usize,
    #[serde(flatten)]
    pub metrics: Metrics<f64>,
}

/// One variant's results for one model.
#[derive(Clone, Debug)]
pub struct VariantEvaluation {
    pub variant: Variant,
    /// Test users whose (restricted) target set is not empty.
    pub evaluated_users: u64,
    /// Test users skipped because their (restricted) target set is empty.
    pub skipped_users: u64,
    /// Evaluated users without a list, or whose list is empty after the variant's filter.
    pub users_without_recommendations: u64,
    /// One entry per cut-off, increasing.
    pub at_k: Vec<KSummary>,
    /// Every [`Segment`], in `Segment::ALL` order.
    pub segments: Vec<SegmentSummary>,
    pub(crate) per_user: PerUser,
}

impl VariantEvaluation {
    /// The averages at cut-off `k`, if it was evaluated.
    pub fn at(&self, k: usize) -> Option<&KSummary> {
        self.at_k.iter().find(|s| s.k == k)
    }

    /// The breakdown of `segment`.
    pub fn segment(&self, segment: Segment) -> &SegmentSummary {
        &self.segments[segment.index()]
    }
}

/// The compact per-user record of one variant (see the module docs).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PerUser {
    /// Test-set index of the user of every hit, non-decreasing.
    pub(crate) hit_user: Vec<u32>,
    /// Key id of every hit.
    pub(crate) hit_key: Vec<u32>,
    /// Contributions of one hit per key: `slots` values each, metric-major.
    pub(crate) key_values: Vec<f64>,
    /// Hits per key.
    pub(crate) key_hits: Vec<u64>,
}

impl PerUser {
    pub(crate) fn n_keys(&self) -> usize {
        self.key_hits.len()
    }
}

/// One model's evaluation: averages per variant, K and segment, plus the per-user record
/// that [`crate::build_report`] and [`crate::compare_models`] resample.
#[derive(Clone, Debug)]
pub struct ModelEvaluation {
    name: String,
    ks: Vec<usize>,
    n_items: usize,
    test_users: u64,
    users_without_recommendations: u64,
    ignored_lists: u64,
    variants: Vec<VariantEvaluation>,
    /// Bit `v` set when test user `k` (by index) is evaluated in `Variant::ALL[v]`.
    membership: Vec<u8>,
}

impl ModelEvaluation {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cut-offs, increasing.
    pub fn ks(&self) -> &[usize] {
        &self.ks
    }

    /// Catalogue size (items of the train matrix).
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Test users of the evaluated population.
    pub fn test_users(&self) -> u64 {
        self.test_users
    }

    /// Test users without a list in the recommendations (they score 0 everywhere).
    pub fn users_without_recommendations(&self) -> u64 {
        self.users_without_recommendations
    }

    /// Lists of users that are not in the test set (ignored).
    pub fn ignored_lists(&self) -> u64 {
        self.ignored_lists
    }

    /// The four variants, in `Variant::ALL` order.
    pub fn variants(&self) -> &[VariantEvaluation] {
        &self.variants
    }

    pub fn variant(&self, variant: Variant) -> &VariantEvaluation {
        &self.variants[variant.index()]
    }

    /// The average of `metric` at `k` in `variant`, if `k` was evaluated.
    pub fn value(&self, variant: Variant, metric: Metric, k: usize) -> Option<f64> {
        self.variant(variant).at(k).map(|s| *s.metrics.get(metric))
    }

    pub(crate) fn membership(&self) -> &[u8] {
        &self.membership
    }

    /// Values per hit key: metrics × cut-offs.
    pub(crate) fn slots(&self) -> usize {
        Metric::ALL.len() * self.ks.len()
    }

    pub(crate) fn slot(&self, metric: Metric, k: usize) -> Option<usize> {
        let ki = self.ks.iter().position(|&x| x == k)?;
        Some(metric.index() * self.ks.len() + ki)
    }
}

/// `out[s] = Σ_p (weights[p] / total) · values[p · slots + s]`, keys in order; NaN
/// when `total` is 0. Point estimates and bootstrap resamples both go through here, so
/// equal weights give bit-identical means.
pub(crate) fn weighted_means(
    weights: &[u64],
    values: &[f64],
    slots: usize,
    total: u64,
    out: &mut [f64],
) {
    if total == 0 {
        out.fill(f64::NAN);
        return;
    }
    out.fill(0.0);
    let total = total as f64;
    for (&w, row) in weights.iter().zip(values.chunks_exact(slots)) {
        if w == 0 {
            continue;
        }
        let w = w as f64 / total;
        for (o, v) in out.iter_mut().zip(row) {
            *o += w * v;
        }
    }
}

/// Scores `recs` against the test set in one pass over the test users and their lists.
///
/// Test users without a list score 0 (counted in
/// [`ModelEvaluation::users_without_recommendations`]); lists of users outside the test
/// set are ignored and counted. Positions ≤ the largest K of each list are read (for the
/// new-items variants, up to the largest K of the filtered list). Errors when a list or a
/// target names an item outside the train matrix, or when the train events do not cover
/// the train matrix.
pub fn evaluate_model(
    name: &str,
    recs: &Recommendations,
    data: &EvalData,
    config: &CheckedEval,
) -> Result<ModelEvaluation, EvalError> {
    data.check()?;
    let ks = config.ks();
    let max_k = ks.last().copied().unwrap_or(0);
    let n_items = data.train.n_items();
    let longest = recs
        .iter()
        .map(|l| l.items.len())
        .max()
        .unwrap_or(0)
        .min(max_k);
    let pass = Pass {
        name,
        recs,
        test: data.test,
        population: data.population,
        train: data.train,
        events: data.train_events_per_user,
        ks,
        max_k,
        len_slots: ks.iter().map(|&k| k.min(longest) + 1).collect(),
        at_most: at_most_as_popular(data.train),
        best_class: (0..n_items * N_VARIANTS)
            .map(|_| AtomicU8::new(u8::MAX))
            .collect(),
    };
    let n_test = data.test.len();
    let ranges: Vec<Range<usize>> = (0..n_test)
        .step_by(CHUNK)
        .map(|a| a..(a + CHUNK).min(n_test))
        .collect();
    let chunks: Vec<ChunkOut> = ranges
        .into_par_iter()
        .map_init(
            || Scratch::new(n_items),
            |scratch, range| run_chunk(&pass, range, scratch),
        )
        .collect::<Result<_, _>>()?;

    let mut membership = Vec::with_capacity(n_test);
    let mut matched = 0u64;
    let mut without_list = 0u64;
    let mut merges: [VariantMerge; N_VARIANTS] =
        std::array::from_fn(|_| VariantMerge::new(&pass.len_slots));
    for chunk in &chunks {
        membership.extend_from_slice(&chunk.membership);
        matched += chunk.matched;
        without_list += chunk.without_list;
        for (merge, part) in merges.iter_mut().zip(&chunk.variants) {
            merge.absorb(part);
        }
    }
    let covered = data.covered_users();
    let variants = merges
        .into_iter()
        .zip(Variant::ALL)
        .map(|(merge, variant)| merge.finish(variant, &pass, covered))
        .collect();
    Ok(ModelEvaluation {
        name: name.to_owned(),
        ks: ks.to_vec(),
        n_items,
        test_users: covered,
        users_without_recommendations: without_list,
        ignored_lists: recs.len() as u64 - matched,
        variants,
        membership,
    })
}

/// Read-only state of one evaluation pass.
struct Pass<'a> {
    name: &'a str,
    recs: &'a Recommendations,
    test: &'a TestSet,
    population: Population,
    train: &'a UserItemMatrix,
    events: &'a [u32],
    ks: &'a [usize],
    max_k: usize,
    /// Per K: length of the by-list-length accumulators, min(K, longest list) + 1.
    len_slots: Vec<usize>,
    /// Per item: catalogue items at most as popular (the popularity percentile × n / 100).
    at_most: Vec<u32>,
    /// Per item and variant (`item * N_VARIANTS + variant`, one byte each): the index of the
    /// smallest K whose top-K list of some evaluated user holds the item (`u8::MAX`: none).
    /// A minimum, so the order of updates does not matter; one byte keeps the table in
    /// cache.
    best_class: Vec<AtomicU8>,
}

impl Pass<'_> {
    /// Records that `item` is at `rank` (≤ the largest K) of a list in `variant`.
    #[inline]
    fn cover(&self, variant: usize, item: usize, rank: u32) {
        let cell = &self.best_class[item * N_VARIANTS + variant];
        let current = cell.load(Ordering::Relaxed);
        if current == 0 {
            return;
        }
        let class = self.ks.partition_point(|&k| k < rank as usize) as u8;
        if current > class {
            cell.fetch_min(class, Ordering::Relaxed);
        }
    }
}

/// Per-thread buffers, reused across users.
struct Scratch {
    /// SEEN | TARGET | CONVERSION per item for the current user; all zero between users.
    flags: Vec<u8>,
    /// Hit ranks per variant.
    hits: [Vec<u32>; N_VARIANTS],
    /// Prefix sums over the list (top max K) of `at_most`, and of seen items.
    pop_all: Vec<u64>,
    seen_all: Vec<u32>,
    /// Prefix sums of `at_most` over the list filtered to new items.
    pop_new: Vec<u64>,
}

impl Scratch {
    fn new(n_items: usize) -> Self {
        Scratch {
            flags: vec![0; n_items],
            hits: Default::default(),
            pop_all: Vec::new(),
            seen_all: Vec::new(),
            pop_new: Vec::new(),
        }
    }
}

/// One chunk's share of one variant.
#[derive(Default)]
struct VariantChunk {
    evaluated: u64,
    without_recs: u64,
    segment_users: [u64; N_SEGMENTS],
    hits: Vec<Hit>,
    /// Per K, per list length l (of the top-K list): Σ of the top-l `at_most` counts.
    pop_by_len: Vec<Vec<u128>>,
    /// Per K, per list length l: Σ of seen items in the top l.
    seen_by_len: Vec<Vec<u64>>,
}

/// One hit as a chunk records it.
struct Hit {
    /// Test-set index of the user.
    user: u32,
    /// (targets of the user, rank, ordinal among the user's hits).
    key: (u32, u32, u32),
    /// Activity and coldness segment of the user.
    segments: (u8, u8),
}

struct ChunkOut {
    matched: u64,
    without_list: u64,
    membership: Vec<u8>,
    variants: [VariantChunk; N_VARIANTS],
}

fn run_chunk(pass: &Pass, range: Range<usize>, s: &mut Scratch) -> Result<ChunkOut, EvalError> {
    let mut out = ChunkOut {
        matched: 0,
        without_list: 0,
        membership: Vec::with_capacity(range.len()),
        variants: std::array::from_fn(|_| VariantChunk {
            pop_by_len: pass.len_slots.iter().map(|&n| vec![0; n]).collect(),
            seen_by_len: pass.len_slots.iter().map(|&n| vec![0; n]).collect(),
            ..VariantChunk::default()
        }),
    };
    let rec_users = pass.recs.users();
    let Some(&first) = pass.test.users().get(range.start) else {
        return Ok(out);
    };
    let mut j = rec_users.partition_point(|&u| u < first);
    for idx in range {
        let tu = pass.test.get(idx);
        while j < rec_users.len() && rec_users[j] < tu.user {
            j += 1;
        }
        let list = if j < rec_users.len() && rec_users[j] == tu.user {
            out.matched += 1;
            j += 1;
            Some(pass.recs.get(j - 1).items)
        } else {
            None
        };
        // A test user of another population: its list is neither scored nor ignored.
        if !pass.population.covers(tu.cold) {
            out.membership.push(0);
            continue;
        }
        out.without_list += u64::from(list.is_none());
        let u = tu.user.0 as usize;
        let row: &[u32] = if u < pass.train.n_users() {
            pass.train.row(tu.user).0
        } else {
            &[]
        };
        let events = pass.events.get(u).copied().unwrap_or(0);
        let result = score_user(pass, s, idx, tu, row, list, events, &mut out);
        for &i in row {
            s.flags[i as usize] = 0;
        }
        for t in tu.targets.iter().chain(tu.conversion_targets) {
            if let Some(f) = s.flags.get_mut(t.0 as usize) {
                *f = 0;
            }
        }
        result?;
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn score_user(
    pass: &Pass,
    s: &mut Scratch,
    idx: usize,
    tu: TestUser<'_>,
    row: &[u32],
    list: Option<&[ItemId]>,
    events: u32,
    out: &mut ChunkOut,
) -> Result<(), EvalError> {
    let n_items = s.flags.len();
    for &i in row {
        s.flags[i as usize] |= SEEN;
    }
    let mut n_targets = [0u32; N_VARIANTS];
    for (targets, bit, all, new) in [
        (tu.targets, TARGET, 0, 2),
        (tu.conversion_targets, CONVERSION, 1, 3),
    ] {
        for t in targets {
            let Some(f) = s.flags.get_mut(t.0 as usize) else {
                return Err(EvalError::Inconsistent(format!(
                    "test user {} has target {}, outside the {n_items} items of the train matrix",
                    tu.user, t
                )));
            };
            *f |= bit;
            n_targets[all] += 1;
            n_targets[new] += u32::from(*f & SEEN == 0);
            if bit == TARGET {
                n_targets[REPEAT] += u32::from(*f & SEEN != 0);
            }
        }
    }
    let mask = n_targets
        .iter()
        .enumerate()
        .fold(0u8, |m, (v, &n)| m | u8::from(n > 0) << v);
    out.membership.push(mask);
    if mask == 0 {
        return Ok(());
    }

    s.hits.iter_mut().for_each(Vec::clear);
    for prefix in [&mut s.pop_all, &mut s.pop_new] {
        prefix.clear();
        prefix.push(0);
    }
    s.seen_all.clear();
    s.seen_all.push(0);
    let max_k = pass.max_k;
    let wants_new = mask & 0b1100 != 0;
    let (mut rank_all, mut rank_new) = (0usize, 0usize);
    for &item in list.unwrap_or(&[]) {
        let i = item.0 as usize;
        if i >= n_items {
            return Err(EvalError::ItemOutOfRange {
                model: pass.name.to_owned(),
                user: tu.user,
                item,
                n_items,
            });
        }
        let f = s.flags[i];
        let pop = u64::from(pass.at_most[i]);
        rank_all += 1;
        if rank_all <= max_k {
            let r = rank_all as u32;
            let last = s.pop_all[s.pop_all.len() - 1];
            s.pop_all.push(last + pop);
            let last = s.seen_all[s.seen_all.len() - 1];
            s.seen_all.push(last + u32::from(f & SEEN != 0));
            if f & TARGET != 0 {
                s.hits[0].push(r);
            }
            if f & CONVERSION != 0 {
                s.hits[1].push(r);
            }
            if f & TARGET != 0 && f & SEEN != 0 {
                s.hits[REPEAT].push(r);
            }
            for v in [0, 1, REPEAT] {
                if mask & (1 << v) != 0 {
                    pass.cover(v, i, r);
                }
            }
        } else if !wants_new {
            break;
        }
        if f & SEEN == 0 {
            rank_new += 1;
            if rank_new <= max_k {
                let r = rank_new as u32;
                let last = s.pop_new[s.pop_new.len() - 1];
                s.pop_new.push(last + pop);
                if f & TARGET != 0 {
                    s.hits[2].push(r);
                }
                if f & CONVERSION != 0 {
                    s.hits[3].push(r);
                }
                for v in 2..4 {
                    if mask & (1 << v) != 0 {
                        pass.cover(v, i, r);
                    }
                }
            }
            if rank_new >= max_k {
                break;
            }
        }
    }

    let activity = Segment::activity(events).index();
    let coldness = if tu.cold {
        Segment::Cold
    } else {
        Segment::Warm
    }
    .index();
    for (v, vc) in out.variants.iter_mut().enumerate() {
        if mask & (1 << v) == 0 {
            continue;
        }
        vc.evaluated += 1;
        vc.segment_users[activity] += 1;
        vc.segment_users[coldness] += 1;
        let (pop, seen) = if v < 2 || v == REPEAT {
            (&s.pop_all, Some(&s.seen_all))
        } else {
            (&s.pop_new, None)
        };
        let len = pop.len() - 1;
        if len == 0 {
            vc.without_recs += 1;
        } else {
            for (ki, &k) in pass.ks.iter().enumerate() {
                let l = k.min(len);
                vc.pop_by_len[ki][l] += u128::from(pop[l]);
                if let Some(seen) = seen {
                    vc.seen_by_len[ki][l] += u64::from(seen[l]);
                }
            }
        }
        for (j, &rank) in s.hits[v].iter().enumerate() {
            vc.hits.push(Hit {
                user: idx as u32,
                key: (n_targets[v], rank, j as u32 + 1),
                segments: (activity as u8, coldness as u8),
            });
        }
    }
    Ok(())
}

/// Chunks of one variant merged in order; keys numbered in order of first use.
struct VariantMerge {
    evaluated: u64,
    without_recs: u64,
    segment_users: [u64; N_SEGMENTS],
    pop_by_len: Vec<Vec<u128>>,
    seen_by_len: Vec<Vec<u64>>,
    ids: FxHashMap<(u32, u32, u32), u32>,
    keys: Vec<(u32, u32, u32)>,
    key_hits: Vec<u64>,
    key_segment_hits: Vec<[u64; N_SEGMENTS]>,
    hit_user: Vec<u32>,
    hit_key: Vec<u32>,
}

impl VariantMerge {
    fn new(len_slots: &[usize]) -> Self {
        VariantMerge {
            evaluated: 0,
            without_recs: 0,
            segment_users: [0; N_SEGMENTS],
            pop_by_len: len_slots.iter().map(|&n| vec![0; n]).collect(),
            seen_by_len: len_slots.iter().map(|&n| vec![0; n]).collect(),
            ids: FxHashMap::default(),
            keys: Vec::new(),
            key_hits: Vec::new(),
            key_segment_hits: Vec::new(),
            hit_user: Vec::new(),
            hit_key: Vec::new(),
        }
    }

    fn absorb(&mut self, part: &VariantChunk) {
        self.evaluated += part.evaluated;
        self.without_recs += part.without_recs;
        for (a, b) in self.segment_users.iter_mut().zip(&part.segment_users) {
            *a += b;
        }
        for (a, b) in self.pop_by_len.iter_mut().zip(&part.pop_by_len) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        for (a, b) in self.seen_by_len.iter_mut().zip(&part.seen_by_len) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self.hit_user.reserve(part.hits.len());
        self.hit_key.reserve(part.hits.len());
        for hit in &part.hits {
            let next = self.keys.len() as u32;
            let id = *self.ids.entry(hit.key).or_insert(next);
            if id == next {
                self.keys.push(hit.key);
                self.key_hits.push(0);
                self.key_segment_hits.push([0; N_SEGMENTS]);
            }
            let k = id as usize;
            self.key_hits[k] += 1;
            self.key_segment_hits[k][hit.segments.0 as usize] += 1;
            self.key_segment_hits[k][hit.segments.1 as usize] += 1;
            self.hit_user.push(hit.user);
            self.hit_key.push(id);
        }
    }

    fn finish(self, variant: Variant, pass: &Pass, test_users: u64) -> VariantEvaluation {
        let ks = pass.ks;
        let nk = ks.len();
        let slots = Metric::ALL.len() * nk;
        let mut values = vec![0.0; self.keys.len() * slots];
        let mut ideal = IdealDcg::default();
        for (&(t, r, j), out) in self.keys.iter().zip(values.chunks_exact_mut(slots)) {
            hit_values(t, r, j, ks, &mut ideal, out);
        }
        let metrics_at = |means: &[f64]| -> Vec<Metrics<f64>> {
            (0..nk)
                .map(|ki| Metrics::from_fn(|m| means[m.index() * nk + ki]))
                .collect()
        };
        let mut means = vec![0.0; slots];
        weighted_means(&self.key_hits, &values, slots, self.evaluated, &mut means);
        let overall = metrics_at(&means);
        let segments = Segment::ALL
            .iter()
            .map(|&segment| {
                let users = self.segment_users[segment.index()];
                let weights: Vec<u64> = self
                    .key_segment_hits
                    .iter()
                    .map(|w| w[segment.index()])
                    .collect();
                let at_k = if users == 0 {
                    Vec::new()
                } else {
                    weighted_means(&weights, &values, slots, users, &mut means);
                    ks.iter()
                        .zip(metrics_at(&means))
                        .map(|(&k, metrics)| SegmentAtK { k, metrics })
                        .collect()
                };
                SegmentSummary {
                    segment,
                    users,
                    at_k,
                }
            })
            .collect();

        let n_items = pass.at_most.len();
        let mut items_by_class = vec![0u64; nk];
        for cell in pass
            .best_class
            .iter()
            .skip(variant.index())
            .step_by(N_VARIANTS)
        {
            if let Some(n) = items_by_class.get_mut(cell.load(Ordering::Relaxed) as usize) {
                *n += 1;
            }
        }
        let with_list = self.evaluated - self.without_recs;
        let by_len_mean = |sums: &[f64]| -> f64 {
            sums.iter()
                .enumerate()
                .skip(1)
                .map(|(l, s)| s / l as f64)
                .sum::<f64>()
                / with_list as f64
        };
        let at_k = ks
            .iter()
            .enumerate()
            .zip(overall)
            .map(|((ki, &k), metrics)| {
                let distinct: u64 = items_by_class[..=ki].iter().sum();
                let pop: Vec<f64> = self.pop_by_len[ki].iter().map(|&x| x as f64).collect();
                let seen: Vec<f64> = self.seen_by_len[ki].iter().map(|&x| x as f64).collect();
                KSummary {
                    k,
                    metrics,
                    coverage: if n_items == 0 {
                        0.0
                    } else {
                        distinct as f64 / n_items as f64
                    },
                    distinct_items: distinct,
                    popularity_percentile: (with_list > 0)
                        .then(|| 100.0 * by_len_mean(&pop) / n_items as f64),
                    seen_share: (with_list > 0).then(|| by_len_mean(&seen)),
                }
            })
            .collect();
        VariantEvaluation {
            variant,
            evaluated_users: self.evaluated,
            skipped_users: test_users - self.evaluated,
            users_without_recommendations: self.without_recs,
            at_k,
            segments,
            per_user: PerUser {
                hit_user: self.hit_user,
                hit_key: self.hit_key,
                key_values: values,
                key_hits: self.key_hits,
            },
        }
    }
}
