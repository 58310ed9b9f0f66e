//! The next-item protocol (session-rec's): each test session's events are revealed in
//! time order and, after each prefix, the model ranks the next item.
//!
//! For a session e₁ … eₙ there are n − 1 predictions; prediction j sees e₁ … eⱼ and its
//! target is eⱼ₊₁. At each K:
//! - HitRate@K: 1 if the target is in the top K; MRR@K: 1 / its rank there (0 if not);
//! - Recall@K of the remaining items: |top K ∩ {eⱼ₊₁ … eₙ}| / |{eⱼ₊₁ … eₙ}| (distinct).
//!
//! Each is averaged over predictions (the headline, as session-rec reports it) and, as a
//! second line, first within each session and then over sessions. Items already in the
//! prefix may be recommended unless `evaluate.next_item_prefix_items = false`.
//!
//! The loop is incremental: one [`SessionState`] per session takes one event at a time.
//! Sessions run in parallel and each session's numbers depend on it alone, so results do
//! not depend on the thread count. The bootstrap resamples sessions (the same sessions for
//! every model), so intervals and paired differences of models rest on the same draws.

use std::time::Instant;

use clickrec_core::{EventLog, ItemId, UserId};
use clickrec_recommend::{SessionRecommender, TopN};
use rayon::prelude::*;
use serde::Serialize;

use crate::bootstrap::{Estimate, PairedComparison, holm, interval};
use crate::config::CheckedEval;
use crate::error::EvalError;
use crate::metric::{Metric, Variant};

/// Test sessions for the next-item protocol, each with its events in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NextItemSessions {
    users: Vec<UserId>,
    offsets: Vec<usize>,
    items: Vec<ItemId>,
    times: Vec<i64>,
    /// Events whose item has no train event (dropped before replay).
    pub dropped_events: u64,
    /// Sessions left with fewer than two events (no prediction).
    pub short_sessions: u64,
}

impl NextItemSessions {
    /// The sessions of `test` (sorted by user, then time): one per user, or cut wherever
    /// `sessions` (one index per row, as the split stage writes) changes. Events whose item
    /// is not `in_train` are dropped and counted; sessions left with fewer than two events
    /// are counted and left out.
    pub fn from_log(test: &EventLog, sessions: Option<&[u32]>, in_train: &[bool]) -> Self {
        let mut out = NextItemSessions {
            offsets: vec![0],
            ..NextItemSessions::default()
        };
        let (users, items, times) = (test.users(), test.items(), test.timestamps());
        let mut start = 0;
        for row in 0..=test.len() {
            let cut = row == test.len()
                || (row > 0
                    && (users[row] != users[row - 1]
                        || sessions.is_some_and(|s| s.get(row) != s.get(row - 1))));
            if cut && row > start {
                out.push_session(users[start], start..row, items, times, in_train);
                start = row;
            }
        }
        out
    }

    fn push_session(
        &mut self,
        user: UserId,
        rows: std::ops::Range<usize>,
        items: &[ItemId],
        times: &[i64],
        in_train: &[bool],
    ) {
        let first = self.items.len();
        for row in rows {
            if in_train
                .get(items[row].0 as usize)
                .copied()
                .unwrap_or(false)
            {
                self.items.push(items[row]);
                self.times.push(times[row]);
            } else {
                self.dropped_events += 1;
            }
        }
        if self.items.len() - first < 2 {
            self.items.truncate(first);
            self.times.truncate(first);
            self.short_sessions += 1;
        } else {
            self.users.push(user);
            self.offsets.push(self.items.len());
        }
    }

    /// Sessions that give predictions.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Predictions over all sessions (events − 1 per session).
    pub fn predictions(&self) -> u64 {
        (self.items.len() - self.users.len()) as u64
    }

    /// Session `s`: its user, items and times (after the drops above).
    pub fn session(&self, s: usize) -> (UserId, &[ItemId], &[i64]) {
        let r = self.offsets[s]..self.offsets[s + 1];
        (self.users[s], &self.items[r.clone()], &self.times[r])
    }
}

/// The three per-prediction values, in this order within a session's sums.
const STATS: usize = 3;
const HIT: usize = 0;
const RR: usize = 1;
const REMAINING: usize = 2;

/// One model's next-item pass: per session, its prediction count and per K the sums of
/// hits, reciprocal ranks and remaining-items recall.
#[derive(Clone, Debug)]
pub struct NextItemEvaluation {
    name: String,
    ks: Vec<usize>,
    sessions: usize,
    /// Predictions per session.
    counts: Vec<u32>,
    /// `[session][k][stat]`.
    sums: Vec<f64>,
    /// Wall time of each prediction (push, score, top-K), in microseconds; not part of
    /// the metrics (it moves with the machine), for latency percentiles.
    latencies_us: Vec<f32>,
    prefix_items: bool,
}

/// Latency percentiles of one model's predictions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

impl NextItemEvaluation {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn predictions(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// Mean over predictions of `stat` at the `k`-th cut-off, weighting session s by w(s).
    fn weighted(&self, ki: usize, stat: usize, weight: impl Fn(usize) -> f64) -> (f64, f64) {
        let width = self.ks.len() * STATS;
        let (mut num, mut den) = (0.0, 0.0);
        for s in 0..self.sessions {
            let w = weight(s);
            if w > 0.0 {
                num += w * self.sums[s * width + ki * STATS + stat];
                den += w * f64::from(self.counts[s]);
            }
        }
        (num, den)
    }

    /// Mean over sessions of each session's mean, weighting session s by w(s).
    fn per_session(&self, ki: usize, stat: usize, weight: impl Fn(usize) -> f64) -> (f64, f64) {
        let width = self.ks.len() * STATS;
        let (mut num, mut den) = (0.0, 0.0);
        for s in 0..self.sessions {
            let w = weight(s);
            if w > 0.0 {
                num += w * self.sums[s * width + ki * STATS + stat] / f64::from(self.counts[s]);
                den += w;
            }
        }
        (num, den)
    }

    /// The point estimate of a metric over predictions (HitRate, MRR or Recall) at `k`.
    pub fn value(&self, metric: Metric, k: usize) -> Option<f64> {
        let ki = self.ks.iter().position(|&x| x == k)?;
        let (n, d) = self.weighted(ki, stat_of(metric)?, |_| 1.0);
        Some(if d > 0.0 { n / d } else { 0.0 })
    }

    /// Per-prediction latency percentiles.
    pub fn latency(&self) -> Latency {
        let mut v: Vec<f32> = self.latencies_us.clone();
        v.sort_unstable_by(f32::total_cmp);
        let at = |q: f64| {
            if v.is_empty() {
                0.0
            } else {
                f64::from(v[((v.len() - 1) as f64 * q).round() as usize]) / 1000.0
            }
        };
        Latency {
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            mean_ms: v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64 / 1000.0,
        }
    }
}

fn stat_of(metric: Metric) -> Option<usize> {
    match metric {
        Metric::HitRate => Some(HIT),
        Metric::Mrr => Some(RR),
        Metric::Recall => Some(REMAINING),
        _ => None,
    }
}

/// Sessions per parallel task: small enough to balance, large enough to amortise.
const CHUNK: usize = 64;

/// Runs the next-item protocol for one model over `sessions`.
pub fn evaluate_next_item(
    name: &str,
    model: &dyn SessionRecommender,
    sessions: &NextItemSessions,
    config: &CheckedEval,
) -> Result<NextItemEvaluation, EvalError> {
    let ks = config.ks().to_vec();
    let max_k = ks.last().copied().unwrap_or(0);
    let n_items = model.n_items();
    if let Some(&item) = sessions.items.iter().find(|i| i.0 as usize >= n_items) {
        return Err(EvalError::Inconsistent(format!(
            "test session item {item} is outside the {n_items} items of model {name:?}"
        )));
    }
    let prefix_items = config.next_item_prefix_items();
    let width = ks.len() * STATS;
    let chunks: Vec<(Vec<u32>, Vec<f64>, Vec<f32>)> = (0..sessions.len())
        .step_by(CHUNK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|first| {
            let mut counts = Vec::new();
            let mut sums = Vec::new();
            let mut latencies = Vec::new();
            let mut scores = Vec::new();
            let mut list = Vec::new();
            let mut top = TopN::new(max_k);
            for s in first..(first + CHUNK).min(sessions.len()) {
                let (user, items, times) = sessions.session(s);
                let mut state = model.start_session(user);
                let mut session_sums = vec![0.0; width];
                for j in 0..items.len() - 1 {
                    let started = Instant::now();
                    state.push(items[j], times[j]);
                    state.score(&mut scores);
                    let prefix = &items[..=j];
                    for &(item, score) in &scores {
                        if prefix_items || !prefix.contains(&item) {
                            top.push(item, score);
                        }
                    }
                    top.drain_sorted(&mut list);
                    latencies.push(started.elapsed().as_secs_f32() * 1e6);
                    let target = items[j + 1];
                    let rank = list.iter().position(|&(i, _)| i == target);
                    let mut remaining: Vec<ItemId> = items[j + 1..].to_vec();
                    remaining.sort_unstable();
                    remaining.dedup();
                    for (ki, &k) in ks.iter().enumerate() {
                        let at = &mut session_sums[ki * STATS..(ki + 1) * STATS];
                        if let Some(r) = rank.filter(|&r| r < k) {
                            at[HIT] += 1.0;
                            at[RR] += 1.0 / (r + 1) as f64;
                        }
                        let found = list
                            .iter()
                            .take(k)
                            .filter(|(i, _)| remaining.binary_search(i).is_ok())
                            .count();
                        at[REMAINING] += found as f64 / remaining.len() as f64;
                    }
                }
                counts.push((items.len() - 1) as u32);
                sums.extend_from_slice(&session_sums);
            }
            (counts, sums, latencies)
        })
        .collect();
    let mut out = NextItemEvaluation {
        name: name.to_owned(),
        ks,
        sessions: sessions.len(),
        counts: Vec::with_capacity(sessions.len()),
        sums: Vec::with_capacity(sessions.len() * width),
        latencies_us: Vec::new(),
        prefix_items,
    };
    for (counts, sums, latencies) in chunks {
        out.counts.extend(counts);
        out.sums.extend(sums);
        out.latencies_us.extend(latencies);
    }
    Ok(out)
}

/// Averages of one metric averaged per session first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PerSession {
    pub hit_rate: Estimate,
    pub mrr: Estimate,
    pub recall: Estimate,
}

/// One model at one K of the next-item protocol.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NextItemAtK {
    pub k: usize,
    /// Averaged over predictions.
    pub hit_rate: Estimate,
    pub mrr: Estimate,
    /// Recall@K of the session's remaining items, averaged over predictions.
    pub recall: Estimate,
    /// The same, averaged within each session first, then over sessions.
    pub per_session: PerSession,
}

/// One model's next-item results: the `next_item` entry of its `variants` in
/// `metrics.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NextItemReport {
    /// The model's name (its `metrics.json` entry names it already).
    #[serde(skip)]
    pub model: String,
    pub variant: Variant,
    pub sessions: u64,
    pub predictions: u64,
    /// Whether items already in the prefix could be recommended.
    pub prefix_items: bool,
    pub at_k: Vec<NextItemAtK>,
}

/// What every model's next-item pass shares: the sessions and the comparisons.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NextItemSummary {
    pub sessions: u64,
    pub predictions: u64,
    /// Test events dropped because their item has no train event.
    pub dropped_events: u64,
    /// Test sessions with fewer than two events left (no prediction).
    pub short_sessions: u64,
    pub prefix_items: bool,
    /// Every pair of models on HitRate and MRR (over predictions) at every K; those at the
    /// headline K form one Holm–Bonferroni family.
    pub comparisons: Vec<PairedComparison>,
}

/// Slots per model and resample: K × (3 over predictions + 3 per session).
fn slots(ks: usize) -> usize {
    ks * STATS * 2
}

/// Point estimates (`weight` ≡ 1) or one resample's means, `[k][stat]` over predictions
/// then `[k][stat]` per session; NaN where nothing was drawn.
fn means(e: &NextItemEvaluation, weight: &dyn Fn(usize) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(slots(e.ks.len()));
    for per_session in [false, true] {
        for ki in 0..e.ks.len() {
            for stat in 0..STATS {
                let (n, d) = if per_session {
                    e.per_session(ki, stat, weight)
                } else {
                    e.weighted(ki, stat, weight)
                };
                out.push(if d > 0.0 { n / d } else { f64::NAN });
            }
        }
    }
    out
}

/// Bootstrap draws: for each resample, each model's means (see [`means`]).
fn resample(evals: &[&NextItemEvaluation], samples: usize, seed: u64) -> Vec<Vec<Vec<f64>>> {
    let n = evals.first().map_or(0, |e| e.sessions);
    (0..samples)
        .into_par_iter()
        .map(|r| {
            let mut rng = clickrec_core::SplitMix64::stream(seed, r as u64);
            let mut counts = vec![0u32; n];
            for _ in 0..n {
                counts[rng.below_exact(n as u64) as usize] += 1;
            }
            let weight = |s: usize| f64::from(counts[s]);
            evals.iter().map(|e| means(e, &weight)).collect()
        })
        .collect()
}

/// Builds each model's next-item report and the paired comparisons. Every evaluation must
/// come from the same `sessions` and `config`.
pub fn next_item_reports(
    evals: &[NextItemEvaluation],
    sessions: &NextItemSessions,
    config: &CheckedEval,
) -> (Vec<NextItemReport>, NextItemSummary) {
    let refs: Vec<&NextItemEvaluation> = evals.iter().collect();
    let samples = if sessions.is_empty() {
        0
    } else {
        config.bootstrap_samples()
    };
    let draws = resample(&refs, samples, config.seed() ^ 0x4E58_5449_5445_4D00);
    let confidence = config.confidence();
    let n_k = config.ks().len();
    let estimate = |m: usize, point: f64, slot: usize| {
        let values: Vec<f64> = draws
            .iter()
            .map(|d| d[m][slot])
            .filter(|v| !v.is_nan())
            .collect();
        Estimate::new(point, interval(values, confidence))
    };
    let reports = evals
        .iter()
        .enumerate()
        .map(|(m, e)| {
            let point = means(e, &|_| 1.0);
            let at_k =
                e.ks.iter()
                    .enumerate()
                    .map(|(ki, &k)| {
                        let slot = |per_session: usize, stat: usize| {
                            let i = per_session * n_k * STATS + ki * STATS + stat;
                            estimate(m, point[i], i)
                        };
                        NextItemAtK {
                            k,
                            hit_rate: slot(0, HIT),
                            mrr: slot(0, RR),
                            recall: slot(0, REMAINING),
                            per_session: PerSession {
                                hit_rate: slot(1, HIT),
                                mrr: slot(1, RR),
                                recall: slot(1, REMAINING),
                            },
                        }
                    })
                    .collect();
            NextItemReport {
                model: e.name.clone(),
                variant: Variant::NextItem,
                sessions: e.sessions as u64,
                predictions: e.predictions(),
                prefix_items: e.prefix_items,
                at_k,
            }
        })
        .collect::<Vec<_>>();
    let mut comparisons = Vec::new();
    for a in 0..evals.len() {
        for b in a + 1..evals.len() {
            for (metric, stat) in [(Metric::HitRate, HIT), (Metric::Mrr, RR)] {
                for (ki, &k) in config.ks().iter().enumerate() {
                    let slot = ki * STATS + stat;
                    let differences = (samples > 0).then(|| {
                        draws
                            .iter()
                            .map(|d| d[a][slot] - d[b][slot])
                            .collect::<Vec<f64>>()
                    });
                    let mean = |m: usize| {
                        let at = &reports[m].at_k[ki];
                        if stat == HIT {
                            at.hit_rate.mean
                        } else {
                            at.mrr.mean
                        }
                    };
                    comparisons.push(PairedComparison::new(
                        (evals[a].name(), evals[b].name()),
                        (metric, k, Variant::NextItem),
                        (mean(a), mean(b)),
                        differences,
                        confidence,
                    ));
                }
            }
        }
    }
    // One family per report: every pair on HitRate and MRR at the headline K.
    let headline = config.headline_k();
    let mut family: Vec<&mut PairedComparison> =
        comparisons.iter_mut().filter(|c| c.k == headline).collect();
    holm(&mut family);
    let summary = NextItemSummary {
        sessions: sessions.len() as u64,
        predictions: sessions.predictions(),
        dropped_events: sessions.dropped_events,
        short_sessions: sessions.short_sessions,
        prefix_items: config.next_item_prefix_items(),
        comparisons,
    };
    (reports, summary)
}
