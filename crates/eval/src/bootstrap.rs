//! Bootstrap confidence intervals over test users, and paired comparisons of models.
//!
//! **Resampling.** Resample `r` draws `n` test-set indices uniformly with replacement
//! (`n` = number of test users) from the SplitMix64 stream seeded by `(seed, r)`, and
//! keeps only how often each index was drawn (drawn block-wise so the counts stay in
//! cache; see [`draw_into`]). Every model, variant, metric and K of that
//! resample is computed from these same counts, so intervals of different models rest on
//! the same resampled users and paired differences are exact per resample. Resamples run
//! in parallel (rayon), each from its own stream, so the result does not depend on the
//! number of threads.
//!
//! **The statistic.** In a resample, a variant's mean is the count-weighted mean over its
//! evaluated users, Σ cᵢ vᵢ / Σ cᵢ (users outside the variant drawn in the resample are
//! skipped, as in the point estimate). Users without a hit contribute 0 to the numerator,
//! so beyond drawing the counts the work per resample is one streaming pass over the hits
//! plus one over the few distinct hit keys (see [`crate::evaluate`]), not over
//! users × metrics × K.
//!
//! **Intervals.** Percentile intervals: the (1 − c)/2 and (1 + c)/2 quantiles (linear
//! interpolation between order statistics) of the resample means, c = confidence. A
//! resample that draws no evaluated user of a variant is left out of that variant's
//! intervals. The paired difference of two models is mean_a − mean_b in each resample;
//! its interval is taken the same way, and `share_at_most_zero` is the share of
//! resamples in which the difference is ≤ 0 (a one-sided bootstrap p-value for "a is
//! better than b"). The two-sided p-value of "no difference" is the normal approximation
//! with the bootstrap standard error, erfc(|mean_a − mean_b| / (se √2)): unlike counting
//! resamples across 0, it does not bottom out at 1 / resamples, which a correction for
//! dozens of comparisons would otherwise never get below α.
//!
//! **Multiplicity.** A report compares many pairs; at 95% each, some "wins" are chance.
//! [`holm`] adjusts the p-values of one family of comparisons (Holm–Bonferroni: the
//! i-th smallest of m is multiplied by m − i + 1, then made monotone) and the verdicts of
//! that family follow the adjusted p-values. Comparisons outside the family keep their
//! raw interval and say that they are uncorrected.

use rayon::prelude::*;
use serde::Serialize;

use crate::config::CheckedEval;
use crate::error::EvalError;
use crate::evaluate::{ModelEvaluation, PerUser, weighted_means};
use crate::metric::{Metric, Variant};
use clickrec_core::SplitMix64;

/// A macro average with its bootstrap confidence interval (`None` when the bootstrap is
/// off or no resample drew an evaluated user).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

impl Estimate {
    pub(crate) fn new(mean: f64, ci: Option<(f64, f64)>) -> Self {
        let ci = ci.map(|c| include_point(mean, c));
        Estimate {
            mean,
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
        }
    }
}

/// The outcome of a paired comparison at the report's confidence level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval of mean_a − mean_b lies above 0.
    ABetter,
    /// The interval lies below 0.
    BBetter,
    /// The interval contains 0.
    NoSignificantDifference,
    /// No bootstrap (turned off, or nothing to resample).
    NotEstimated,
}

/// Model a against model b on one metric at one K, on the same users.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedComparison {
    pub model_a: String,
    pub model_b: String,
    pub metric: Metric,
    pub k: usize,
    pub variant: Variant,
    pub mean_a: f64,
    pub mean_b: f64,
    /// mean_a − mean_b.
    pub difference: f64,
    /// Bootstrap interval of the difference at `confidence`.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Share of resamples in which mean_a − mean_b ≤ 0.
    pub share_at_most_zero: Option<f64>,
    /// Resamples that entered the interval.
    pub resamples: usize,
    pub confidence: f64,
    /// Two-sided p-value of "no difference" from the bootstrap standard error (see the
    /// module docs).
    pub p_value: Option<f64>,
    /// Holm–Bonferroni adjusted p-value, for comparisons in the report's family.
    pub holm_p_value: Option<f64>,
    /// The verdict of the raw interval, before any correction.
    pub raw_verdict: Verdict,
    /// The verdict: after the Holm correction inside the family, the raw one outside it.
    pub verdict: Verdict,
    /// The comparison in one sentence, e.g. "als beats popularity on Recall@20 by 0.0310
    /// (95% CI 0.0240–0.0380)".
    pub sentence: String,
}

/// `confidence` as a percentage for people: 0.95 → "95%", 0.975 → "97.5%".
pub fn percent(confidence: f64) -> String {
    let text = format!("{:.2}", confidence * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

impl PairedComparison {
    pub(crate) fn new(
        (model_a, model_b): (&str, &str),
        (metric, k, variant): (Metric, usize, Variant),
        (mean_a, mean_b): (f64, f64),
        differences: Option<Vec<f64>>,
        confidence: f64,
    ) -> Self {
        let difference = mean_a - mean_b;
        let valid: Vec<f64> = differences
            .unwrap_or_default()
            .into_iter()
            .filter(|d| !d.is_nan())
            .collect();
        let resamples = valid.len();
        let share = (resamples > 0)
            .then(|| valid.iter().filter(|&&d| d <= 0.0).count() as f64 / resamples as f64);
        let p_value = (resamples > 1).then(|| {
            let n = resamples as f64;
            let mean = valid.iter().sum::<f64>() / n;
            let se = (valid.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            if se > 0.0 && se.is_finite() {
                libm::erfc(difference.abs() / (se * std::f64::consts::SQRT_2))
            } else if difference == 0.0 {
                1.0
            } else {
                0.0
            }
        });
        let ci = interval(valid, confidence).map(|c| include_point(difference, c));
        let verdict = match ci {
            None => Verdict::NotEstimated,
            Some((lo, _)) if lo > 0.0 => Verdict::ABetter,
            Some((_, hi)) if hi < 0.0 => Verdict::BBetter,
            Some(_) => Verdict::NoSignificantDifference,
        };
        let mut comparison = PairedComparison {
            model_a: model_a.to_owned(),
            model_b: model_b.to_owned(),
            metric,
            k,
            variant,
            mean_a,
            mean_b,
            difference,
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
            share_at_most_zero: share,
            resamples,
            confidence,
            p_value,
            holm_p_value: None,
            raw_verdict: verdict,
            verdict,
            sentence: String::new(),
        };
        comparison.sentence = comparison.describe();
        comparison
    }

    /// The same comparison as `b − a`: names, means and interval swapped, the verdicts
    /// turned around, the sentence said again.
    pub fn reversed(&self) -> Self {
        let flip = |v: Verdict| match v {
            Verdict::ABetter => Verdict::BBetter,
            Verdict::BBetter => Verdict::ABetter,
            other => other,
        };
        let mut c = PairedComparison {
            model_a: self.model_b.clone(),
            model_b: self.model_a.clone(),
            mean_a: self.mean_b,
            mean_b: self.mean_a,
            // 0 − x, not −x: a zero bound stays +0 and prints as 0.0000, not -0.0000.
            difference: 0.0 - self.difference,
            ci_low: self.ci_high.map(|x| 0.0 - x),
            ci_high: self.ci_low.map(|x| 0.0 - x),
            share_at_most_zero: self.share_at_most_zero.map(|s| 1.0 - s),
            raw_verdict: flip(self.raw_verdict),
            verdict: flip(self.verdict),
            ..self.clone()
        };
        c.sentence = c.describe();
        c
    }

    fn describe(&self) -> String {
        let (a, b) = (&self.model_a, &self.model_b);
        let on = format!(
            "{}@{}{}",
            self.metric,
            self.k,
            if self.variant == Variant::All {
                String::new()
            } else {
                format!(" ({})", self.variant.label())
            }
        );
        let pct = percent(self.confidence);
        let (lo, hi) = (
            self.ci_low.unwrap_or(f64::NAN),
            self.ci_high.unwrap_or(f64::NAN),
        );
        let d = self.difference;
        let text = match self.verdict {
            Verdict::ABetter => {
                format!("{a} beats {b} on {on} by {d:.4} ({pct} CI {lo:.4}–{hi:.4})")
            }
            Verdict::BBetter => format!(
                "{b} beats {a} on {on} by {:.4} ({pct} CI {:.4}–{:.4})",
                -d, -hi, -lo
            ),
            Verdict::NoSignificantDifference => format!(
                "{a} and {b} do not differ significantly on {on} (difference {d:+.4}, {pct} CI {lo:+.4} to {hi:+.4})"
            ),
            Verdict::NotEstimated => {
                format!("{a} − {b} on {on}: {d:+.4} (no bootstrap interval)")
            }
        };
        match (self.holm_p_value, self.verdict) {
            (_, Verdict::NotEstimated) => text,
            (Some(p), _) => format!("{text}; Holm-adjusted p = {p:.3}"),
            (None, _) => format!("{text}; uncorrected for multiple comparisons"),
        }
    }
}

/// Holm–Bonferroni over `family`: sets each member's adjusted p-value and turns its
/// verdict into the corrected one (significant when the adjusted p-value is at most
/// 1 − confidence, in the direction of the difference). Members without a p-value (no
/// bootstrap) are left as they are and do not count towards the family size.
pub(crate) fn holm(family: &mut [&mut PairedComparison]) {
    let mut order: Vec<usize> = (0..family.len())
        .filter(|&i| family[i].p_value.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        let p = |i: usize| family[i].p_value.unwrap_or(1.0);
        p(a).total_cmp(&p(b)).then(a.cmp(&b))
    });
    let m = order.len();
    let mut running = 0f64;
    for (rank, &i) in order.iter().enumerate() {
        let c = &mut *family[i];
        let p = c.p_value.unwrap_or(1.0);
        running = running.max(((m - rank) as f64 * p).min(1.0));
        c.holm_p_value = Some(running);
        let significant = running <= 1.0 - c.confidence;
        c.verdict = match (significant, c.difference.total_cmp(&0.0)) {
            (true, std::cmp::Ordering::Greater) => Verdict::ABetter,
            (true, std::cmp::Ordering::Less) => Verdict::BBetter,
            _ => Verdict::NoSignificantDifference,
        };
        c.sentence = c.describe();
    }
}

/// Percentile interval of the finite-or-infinite values at `confidence`; `None` when empty.
pub(crate) fn interval(mut values: Vec<f64>, confidence: f64) -> Option<(f64, f64)> {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    Some((quantile(&values, alpha), quantile(&values, 1.0 - alpha)))
}

/// Quantile `q` of sorted values, interpolating linearly between order statistics.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (h.ceil() as usize).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Rounding guard: when every resample yields the same value up to the last bits (e.g.
/// every user has HitRate 1), the interval may miss the point estimate by an ulp; widen it
/// by that much, never more.
fn include_point(point: f64, (lo, hi): (f64, f64)) -> (f64, f64) {
    let tolerance = 1e-12 * point.abs().max(1.0);
    let lo = if point < lo && lo - point <= tolerance {
        point
    } else {
        lo
    };
    let hi = if point > hi && point - hi <= tolerance {
        point
    } else {
        hi
    };
    (lo, hi)
}

/// Resample means of `models` (all evaluated on the test users described by
/// `membership`, with the same cut-offs) in `variants`: one vector per model, laid out
/// `[resample][variant][slot]`, NaN where a resample drew no evaluated user.
///
/// Resamples are processed in batches of [`BATCH`] whose counts are interleaved per user,
/// so one sweep over the hits serves the whole batch. Batches are fixed by the resample
/// index and each resample's draws come from its own stream, so the result does not
/// depend on the number of threads.
pub(crate) fn resample_means(
    models: &[&ModelEvaluation],
    membership: &[u8],
    variants: &[Variant],
    samples: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let job = Job::new(models, membership, variants, seed);
    let width = variants.len() * job.slots;
    let rows: Vec<Vec<f64>> = (0..samples.div_ceil(BATCH))
        .into_par_iter()
        .map_init(Scratch::default, |scratch, b| {
            let first = b * BATCH;
            let size = BATCH.min(samples - first);
            job.batch(first, size, scratch).unwrap_or_else(|| {
                (first..first + size)
                    .map(|r| job.single(r, scratch))
                    .collect()
            })
        })
        .flatten()
        .collect();
    by_model(&rows, models.len(), width)
}

/// Rows `[resample][model][variant][slot]` regrouped as one vector per model.
fn by_model(rows: &[Vec<f64>], n_models: usize, width: usize) -> Vec<Vec<f64>> {
    let mut per_model: Vec<Vec<f64>> = (0..n_models)
        .map(|_| Vec::with_capacity(rows.len() * width))
        .collect();
    for row in rows {
        for (m, out) in per_model.iter_mut().enumerate() {
            out.extend_from_slice(&row[m * width..(m + 1) * width]);
        }
    }
    per_model
}

/// Resamples evaluated together by one sweep over the hits.
const BATCH: usize = 8;

/// Per-thread buffers of [`resample_means`].
#[derive(Default)]
struct Scratch {
    /// Draw counts of a batch, `BATCH` per user (u16: a user drawn 65 536 times in one
    /// resample sends the batch to the u32 path).
    batch_counts: Vec<[u16; BATCH]>,
    batch_acc: Vec<[u64; BATCH]>,
    /// The u32 path, one resample at a time.
    counts: Vec<u32>,
    acc: Vec<u64>,
    weights: Vec<u64>,
    per_block: Vec<u32>,
}

/// One resampling: what [`resample_means`] draws over.
pub(crate) struct Job<'a> {
    models: &'a [&'a ModelEvaluation],
    membership: &'a [u8],
    variants: &'a [Variant],
    slots: usize,
    seed: u64,
}

/// Distinct variant memberships of a user: one bit per variant.
const MASKS: usize = 1 << Variant::ALL.len();

/// Each variant's denominator: draws of users evaluated in it.
fn denominators(by_mask: &[u64; MASKS]) -> [u64; Variant::ALL.len()] {
    let mut out = [0u64; Variant::ALL.len()];
    for (mask, &draws) in by_mask.iter().enumerate() {
        for (v, d) in out.iter_mut().enumerate() {
            if mask & (1 << v) != 0 {
                *d += draws;
            }
        }
    }
    out
}

impl<'a> Job<'a> {
    /// The resampling of `models` (which share their cut-offs, so the first one's slots
    /// serve all) over the users of `membership` in `variants`.
    pub(crate) fn new(
        models: &'a [&'a ModelEvaluation],
        membership: &'a [u8],
        variants: &'a [Variant],
        seed: u64,
    ) -> Self {
        Job {
            models,
            membership,
            variants,
            slots: models.first().map_or(0, |m| m.slots()),
            seed,
        }
    }

    fn width(&self) -> usize {
        self.variants.len() * self.slots
    }

    /// Resamples `first..first + size`, or `None` if a u16 count would overflow.
    fn batch(&self, first: usize, size: usize, s: &mut Scratch) -> Option<Vec<Vec<f64>>> {
        let n = self.membership.len();
        s.batch_counts.clear();
        s.batch_counts.resize(n, [0; BATCH]);
        let mut dens = [[0u64; Variant::ALL.len()]; BATCH];
        for (lane, den) in dens.iter_mut().enumerate().take(size) {
            let mut rng = clickrec_core::SplitMix64::stream(self.seed, (first + lane) as u64);
            let counts = &mut s.batch_counts;
            let by_mask = draw_into(&mut rng, self.membership, &mut s.per_block, |i| {
                let c = &mut counts[i][lane];
                match c.checked_add(1) {
                    Some(v) => {
                        *c = v;
                        true
                    }
                    None => false,
                }
            })?;
            *den = denominators(&by_mask);
        }
        let mut rows = vec![vec![0.0; self.models.len() * self.width()]; size];
        let mut offset = 0;
        for model in self.models {
            for &variant in self.variants {
                let per_user = &model.variant(variant).per_user;
                let n_keys = per_user.n_keys();
                s.batch_acc.clear();
                s.batch_acc.resize(n_keys, [0; BATCH]);
                for (&user, &key) in per_user.hit_user.iter().zip(&per_user.hit_key) {
                    let c = s.batch_counts[user as usize];
                    let a = &mut s.batch_acc[key as usize];
                    for b in 0..BATCH {
                        a[b] += u64::from(c[b]);
                    }
                }
                for (lane, row) in rows.iter_mut().enumerate() {
                    s.weights.clear();
                    s.weights.extend(s.batch_acc.iter().map(|a| a[lane]));
                    weighted_means(
                        &s.weights,
                        &per_user.key_values,
                        self.slots,
                        dens[lane][variant.index()],
                        &mut row[offset..offset + self.slots],
                    );
                }
                offset += self.slots;
            }
        }
        Some(rows)
    }

    /// Resample `r` alone, with u32 counts.
    fn single(&self, r: usize, s: &mut Scratch) -> Vec<f64> {
        let n = self.membership.len();
        s.counts.clear();
        s.counts.resize(n, 0);
        let mut rng = clickrec_core::SplitMix64::stream(self.seed, r as u64);
        let by_mask = draw_counts(&mut rng, &mut s.counts, self.membership, &mut s.per_block);
        let dens = denominators(&by_mask);
        let mut row = vec![0.0; self.models.len() * self.width()];
        let mut cells = row.chunks_exact_mut(self.slots.max(1));
        for model in self.models {
            for &variant in self.variants {
                let per_user = &model.variant(variant).per_user;
                let sums = hit_sums(per_user, &s.counts, &mut s.acc);
                if let Some(cell) = cells.next() {
                    weighted_means(
                        sums,
                        &per_user.key_values,
                        self.slots,
                        dens[variant.index()],
                        cell,
                    );
                }
            }
        }
        row
    }
}

/// log₂ of the users per block of [`draw_into`]: a block's counts (16 bytes per user in a
/// batch) stay in the 32 KiB L1 cache.
const BLOCK_BITS: u32 = 10;
const BLOCK: usize = 1 << BLOCK_BITS;

/// `n` uniform draws with replacement of indices `0..n` (n = `membership.len()`),
/// Multinomial(n; 1/n, …, 1/n), handed to `bump` without scattering over the whole
/// range. The range is cut into blocks of 1024 (the last one padded): each draw first
/// picks a block uniformly — only counted — and then each block's draws pick positions
/// inside it from 10 random bits; a position in the padding is rejected and drawn again
/// from the start. Accepted draws are therefore uniform over `0..n` and independent,
/// exactly like `n` direct draws, while each step touches a small range only.
///
/// Returns the number of draws per variant-membership mask (`membership[i]` of the drawn
/// `i`), or `None` as soon as `bump` refuses a draw.
fn draw_into(
    rng: &mut SplitMix64,
    membership: &[u8],
    per_block: &mut Vec<u32>,
    mut bump: impl FnMut(usize) -> bool,
) -> Option<[u64; MASKS]> {
    let n = membership.len();
    let n_blocks = n.div_ceil(BLOCK);
    let last = n_blocks.saturating_sub(1);
    let last_len = n - last * BLOCK;
    let mut by_mask = [0u64; MASKS];
    let mut pending = n;
    let mut blocks = SmallDraws::new(n_blocks as u64);
    let mut bits = Bits::default();
    while pending > 0 {
        per_block.clear();
        per_block.resize(n_blocks, 0);
        for _ in 0..pending {
            per_block[blocks.next(rng) as usize] += 1;
        }
        pending = 0;
        for (block, &draws) in per_block.iter().enumerate() {
            let start = block * BLOCK;
            for _ in 0..draws {
                let offset = bits.take(rng, BLOCK_BITS) as usize;
                if block == last && offset >= last_len {
                    pending += 1;
                    continue;
                }
                let i = start + offset;
                if !bump(i) {
                    return None;
                }
                by_mask[usize::from(membership[i]) & (MASKS - 1)] += 1;
            }
        }
    }
    Some(by_mask)
}

/// Random bits handed out a few at a time from 64-bit outputs.
#[derive(Default)]
struct Bits {
    word: u64,
    left: u32,
}

impl Bits {
    #[inline]
    fn take(&mut self, rng: &mut SplitMix64, bits: u32) -> u64 {
        if self.left < bits {
            self.word = rng.next_u64();
            self.left = 64;
        }
        let out = self.word & ((1 << bits) - 1);
        self.word >>= bits;
        self.left -= bits;
        out
    }
}

/// Uniform draws in `0..n`: four per 64-bit output when `n` ≤ 2¹⁶ (Lemire's
/// multiply-and-reject on each 16-bit quarter; a rejected quarter is replaced by a fresh
/// full draw), one per output otherwise.
struct SmallDraws {
    n: u64,
    /// 2¹⁶ mod n: products whose low 16 bits are below it are rejected.
    threshold: u64,
    word: u64,
    left: u32,
}

impl SmallDraws {
    fn new(n: u64) -> Self {
        SmallDraws {
            n,
            threshold: if n == 0 || n > 1 << 16 {
                0
            } else {
                (1u64 << 16) % n
            },
            word: 0,
            left: 0,
        }
    }

    #[inline]
    fn next(&mut self, rng: &mut SplitMix64) -> u64 {
        if self.n > 1 << 16 {
            return rng.below_exact(self.n);
        }
        if self.left == 0 {
            self.word = rng.next_u64();
            self.left = 4;
        }
        let quarter = self.word & 0xFFFF;
        self.word >>= 16;
        self.left -= 1;
        let m = quarter * self.n;
        if (m & 0xFFFF) >= self.threshold {
            m >> 16
        } else {
            rng.below_exact(self.n)
        }
    }
}

/// Adds to `counts` (one per user of `membership`) how often each user is drawn in one
/// resample; see [`draw_into`]. Returns the draws per membership mask.
pub(crate) fn draw_counts(
    rng: &mut SplitMix64,
    counts: &mut [u32],
    membership: &[u8],
    per_block: &mut Vec<u32>,
) -> [u64; MASKS] {
    draw_into(rng, membership, per_block, |i| {
        counts[i] = counts[i].saturating_add(1);
        true
    })
    .unwrap_or([0; MASKS])
}

/// Independent accumulators in [`hit_sums`]: consecutive hits often share a key, and one
/// accumulator would make every addition wait for the previous one's store.
const LANES: usize = 4;

/// Per hit key, Σ over the hits with that key of how often the hit's user was drawn.
/// Hits are read in user order, so the count lookups sweep `counts` once.
fn hit_sums<'a>(per_user: &PerUser, counts: &[u32], acc: &'a mut Vec<u64>) -> &'a [u64] {
    let n_keys = per_user.n_keys();
    acc.clear();
    acc.resize(LANES * n_keys, 0);
    let users = per_user.hit_user.chunks_exact(LANES);
    let keys = per_user.hit_key.chunks_exact(LANES);
    let (tail_users, tail_keys) = (users.remainder(), keys.remainder());
    for (users, keys) in users.zip(keys) {
        for lane in 0..LANES {
            acc[lane * n_keys + keys[lane] as usize] += u64::from(counts[users[lane] as usize]);
        }
    }
    for (&user, &key) in tail_users.iter().zip(tail_keys) {
        acc[key as usize] += u64::from(counts[user as usize]);
    }
    let (first, rest) = acc.split_at_mut(n_keys);
    for lane in rest.chunks_exact(n_keys.max(1)) {
        first.iter_mut().zip(lane).for_each(|(a, b)| *a += b);
    }
    &acc[..n_keys]
}

/// [`resample_means`] of `job` through the u32 path only (reference for the batched path
/// in tests).
#[cfg(test)]
pub(crate) fn resample_means_unbatched(job: &Job<'_>, samples: usize) -> Vec<Vec<f64>> {
    let mut scratch = Scratch::default();
    let rows: Vec<Vec<f64>> = (0..samples).map(|r| job.single(r, &mut scratch)).collect();
    by_model(&rows, job.models.len(), job.width())
}

/// Why `a` and `b` cannot be compared, if they cannot.
pub(crate) fn comparable(a: &ModelEvaluation, b: &ModelEvaluation) -> Result<(), EvalError> {
    let fail = |reason: &str| EvalError::NotComparable {
        a: a.name().to_owned(),
        b: b.name().to_owned(),
        reason: reason.to_owned(),
    };
    if a.ks() != b.ks() {
        return Err(fail("they were evaluated at different cut-offs"));
    }
    if a.membership() != b.membership() {
        return Err(fail("they were evaluated on different test users"));
    }
    Ok(())
}

/// Paired comparison from resample means laid out `[resample][…]` with `width` values
/// per resample; `column` picks the variant, metric and K.
pub(crate) fn paired_from_draws_raw(
    names: (&str, &str),
    key: (Metric, usize, Variant),
    means: (f64, f64),
    draws: Option<(&[f64], &[f64], usize, usize)>,
    confidence: f64,
) -> PairedComparison {
    let differences = draws.map(|(da, db, width, column)| {
        da.chunks_exact(width)
            .zip(db.chunks_exact(width))
            .map(|(ra, rb)| ra[column] - rb[column])
            .collect()
    });
    PairedComparison::new(names, key, means, differences, confidence)
}

/// Compares model `a` with model `b` on `metric` at `k` in `variant` by a paired
/// bootstrap over the test users (resamples and seed from `config`). The result equals
/// the comparison [`crate::Report::compare`] gives for the same settings.
///
/// Errors when the two were not evaluated on the same test users and cut-offs, or `k`
/// was not evaluated.
pub fn compare_models(
    a: &ModelEvaluation,
    b: &ModelEvaluation,
    metric: Metric,
    k: usize,
    variant: Variant,
    config: &CheckedEval,
) -> Result<PairedComparison, EvalError> {
    comparable(a, b)?;
    let slot = a.slot(metric, k).ok_or_else(|| EvalError::UnknownK {
        k,
        ks: a.ks().to_vec(),
    })?;
    let samples = config.bootstrap_samples();
    let means = (samples > 0)
        .then(|| resample_means(&[a, b], a.membership(), &[variant], samples, config.seed()));
    let draws = means
        .as_ref()
        .map(|m| (m[0].as_slice(), m[1].as_slice(), a.slots(), slot));
    let unknown = || EvalError::UnknownK {
        k,
        ks: a.ks().to_vec(),
    };
    let mean_a = a.value(variant, metric, k).ok_or_else(unknown)?;
    let mean_b = b.value(variant, metric, k).ok_or_else(unknown)?;
    Ok(paired_from_draws_raw(
        (a.name(), b.name()),
        (metric, k, variant),
        (mean_a, mean_b),
        draws,
        config.confidence(),
    ))
}

#[cfg(test)]
mod holm_tests {
    use super::*;

    fn comparison(p: f64, difference: f64) -> PairedComparison {
        // Differences all on one side: the raw verdict is significant.
        let draws = vec![difference; 99];
        let mut c = PairedComparison::new(
            ("a", "b"),
            (Metric::Recall, 20, Variant::All),
            (0.5 + difference, 0.5),
            Some(draws),
            0.95,
        );
        c.p_value = Some(p);
        c
    }

    #[test]
    fn holm_adjusts_in_order_and_turns_verdicts() {
        let mut cs = [
            comparison(0.01, 0.1),
            comparison(0.04, 0.1),
            comparison(0.03, -0.1),
        ];
        assert!(
            cs.iter()
                .all(|c| c.raw_verdict != Verdict::NoSignificantDifference)
        );
        let mut family: Vec<&mut PairedComparison> = cs.iter_mut().collect();
        holm(&mut family);
        // Sorted: 0.01 × 3 = 0.03; 0.03 × 2 = 0.06; 0.04 × 1 → max(0.06, 0.04) = 0.06.
        let adjusted: Vec<f64> = cs.iter().map(|c| c.holm_p_value.unwrap()).collect();
        for (got, want) in adjusted.iter().zip([0.03, 0.06, 0.06]) {
            assert!((got - want).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(cs[0].verdict, Verdict::ABetter);
        assert_eq!(cs[1].verdict, Verdict::NoSignificantDifference);
        assert_eq!(cs[2].verdict, Verdict::NoSignificantDifference);
        assert_eq!(cs[2].raw_verdict, Verdict::BBetter);
        assert!(
            cs[1].sentence.contains("Holm-adjusted p = 0.060"),
            "{}",
            cs[1].sentence
        );
        assert!(
            cs[1].sentence.contains("CI"),
            "the raw interval stays visible"
        );
    }

    #[test]
    fn p_value_is_the_normal_tail_at_the_bootstrap_standard_error() {
        // Differences 0.05 and 0.15 alternating: standard error ≈ 0.05, so the observed
        // 0.1 is about 2 standard errors from 0: p ≈ 0.0455.
        let draws: Vec<f64> = (0..1000)
            .map(|i| if i % 2 == 0 { 0.05 } else { 0.15 })
            .collect();
        let c = PairedComparison::new(
            ("a", "b"),
            (Metric::Recall, 20, Variant::All),
            (0.6, 0.5),
            Some(draws),
            0.95,
        );
        let p = c.p_value.unwrap();
        assert!((p - 0.0455).abs() < 0.001, "{p}");
        assert!(c.sentence.contains("uncorrected"), "{}", c.sentence);
        let flat = PairedComparison::new(
            ("a", "b"),
            (Metric::Recall, 20, Variant::All),
            (0.6, 0.5),
            Some(vec![0.1; 10]),
            0.95,
        );
        assert_eq!(flat.p_value, Some(0.0));
    }
}
