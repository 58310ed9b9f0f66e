//! What is measured: the ranking metrics, the four protocol variants, the user segments
//! of the breakdowns, and the per-user metric values from which every average is made.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A ranking metric at a cut-off K. For one user with target set T (|T| ≥ 1), a ranked
/// list and the 1-based ranks r₁ < r₂ < … of the list positions ≤ K that hold a target
/// ("hits"; the list holds each item once, so hits ≤ min(K, |T|)):
///
/// | metric | per-user value |
/// |---|---|
/// | Recall@K | hits / \|T\| |
/// | CappedRecall@K | hits / min(K, \|T\|) |
/// | Precision@K | hits / K (a list shorter than K is not padded: missing places are misses) |
/// | HitRate@K | 1 if hits > 0, else 0 |
/// | MRR@K | 1 / r₁, or 0 without a hit |
/// | NDCG@K | Σⱼ 1/log₂(rⱼ + 1) ÷ Σ_{i=1}^{min(K,\|T\|)} 1/log₂(i + 1) (binary gains) |
/// | MAP@K | Σⱼ (j / rⱼ) ÷ min(K, \|T\|) (precision at each hit rank) |
///
/// Only positions count: scores, and so ties of scores, play no part. A user without a
/// list scores 0. Reported values are macro averages over the evaluated users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Recall,
    CappedRecall,
    Precision,
    HitRate,
    Mrr,
    Ndcg,
    Map,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 7] = [
        Metric::Recall,
        Metric::CappedRecall,
        Metric::Precision,
        Metric::HitRate,
        Metric::Mrr,
        Metric::Ndcg,
        Metric::Map,
    ];

    /// The metrics shown with confidence intervals in compact tables.
    pub const MAIN: [Metric; 4] = [Metric::Recall, Metric::Ndcg, Metric::HitRate, Metric::Mrr];

    /// The display name ("Recall", "NDCG", …).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Recall => "Recall",
            Metric::CappedRecall => "CappedRecall",
            Metric::Precision => "Precision",
            Metric::HitRate => "HitRate",
            Metric::Mrr => "MRR",
            Metric::Ndcg => "NDCG",
            Metric::Map => "MAP",
        }
    }

    /// The JSON key ("recall", "capped_recall", …).
    pub fn key(self) -> &'static str {
        match self {
            Metric::Recall => "recall",
            Metric::CappedRecall => "capped_recall",
            Metric::Precision => "precision",
            Metric::HitRate => "hit_rate",
            Metric::Mrr => "mrr",
            Metric::Ndcg => "ndcg",
            Metric::Map => "map",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value per metric; `Metrics<f64>` for averages, `Metrics<Estimate>` with intervals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics<T> {
    pub recall: T,
    pub capped_recall: T,
    pub precision: T,
    pub hit_rate: T,
    pub mrr: T,
    pub ndcg: T,
    pub map: T,
}

impl<T> Metrics<T> {
    /// Builds the value of each metric with `f`, in [`Metric::ALL`] order.
    pub fn from_fn(mut f: impl FnMut(Metric) -> T) -> Self {
        Metrics {
            recall: f(Metric::Recall),
            capped_recall: f(Metric::CappedRecall),
            precision: f(Metric::Precision),
            hit_rate: f(Metric::HitRate),
            mrr: f(Metric::Mrr),
            ndcg: f(Metric::Ndcg),
            map: f(Metric::Map),
        }
    }

    /// The value of `metric`.
    pub fn get(&self, metric: Metric) -> &T {
        match metric {
            Metric::Recall => &self.recall,
            Metric::CappedRecall => &self.capped_recall,
            Metric::Precision => &self.precision,
            Metric::HitRate => &self.hit_rate,
            Metric::Mrr => &self.mrr,
            Metric::Ndcg => &self.ndcg,
            Metric::Map => &self.map,
        }
    }
}

/// Which targets and which recommended items count. Users whose (restricted) target set
/// is empty are skipped in that variant and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Every distinct test item is a target; the list as given. The main variant.
    All,
    /// Only cart/buy test items are targets ([`clickrec_core::TestUser::conversion_targets`]).
    Conversion,
    /// Targets and list restricted to items not in the user's train row; the list's
    /// remaining items are re-ranked 1, 2, … in their order.
    NewItems,
    /// Conversion targets not in the user's train row; the list as in `NewItems`.
    ConversionNewItems,
    /// Only targets the user already has in train ("repeat" targets); the list as given.
    /// Lists that leave out seen items cannot hit them.
    Repeat,
    /// The next-item protocol ([`crate::evaluate_next_item`]): not one of [`Variant::ALL`],
    /// which are the set-of-items variants of the lists.
    NextItem,
}

impl Variant {
    /// The five variants, main one first.
    pub const ALL: [Variant; 5] = [
        Variant::All,
        Variant::Conversion,
        Variant::NewItems,
        Variant::ConversionNewItems,
        Variant::Repeat,
    ];

    /// The JSON key ("all", "conversion", "new_items", "conversion_new_items", "repeat").
    pub fn key(self) -> &'static str {
        match self {
            Variant::All => "all",
            Variant::Conversion => "conversion",
            Variant::NewItems => "new_items",
            Variant::ConversionNewItems => "conversion_new_items",
            Variant::Repeat => "repeat",
            Variant::NextItem => "next_item",
        }
    }

    /// A label for people ("all targets / all items", …).
    pub fn label(self) -> &'static str {
        match self {
            Variant::All => "all targets / all items",
            Variant::Conversion => "conversion targets / all items",
            Variant::NewItems => "all targets / new items only",
            Variant::ConversionNewItems => "conversion targets / new items only",
            Variant::Repeat => "repeat targets (seen in train) / all items",
            Variant::NextItem => "next item after each prefix",
        }
    }

    /// Targets are the cart/buy items only.
    pub fn conversion_targets(self) -> bool {
        matches!(self, Variant::Conversion | Variant::ConversionNewItems)
    }

    /// The variant a headline table shows: with lists that leave out seen items, only
    /// targets the user had not seen can be hit, so the headline counts only those.
    pub fn headline(exclude_seen: bool) -> Variant {
        if exclude_seen {
            Variant::NewItems
        } else {
            Variant::All
        }
    }

    /// Items of the user's train row are left out of targets and list.
    pub fn new_items_only(self) -> bool {
        matches!(self, Variant::NewItems | Variant::ConversionNewItems)
    }

    /// Its position in the report's per-kind arrays (`Report::variants`, `segments`).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A group of test users for the breakdowns: by train events per user (activity
/// buckets), or by the test set's cold flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// No train events.
    #[serde(rename = "events_0")]
    Events0,
    /// 1–4 train events.
    #[serde(rename = "events_1_4")]
    Events1To4,
    /// 5–19 train events.
    #[serde(rename = "events_5_19")]
    Events5To19,
    /// 20–99 train events.
    #[serde(rename = "events_20_99")]
    Events20To99,
    /// 100 or more train events.
    #[serde(rename = "events_100_plus")]
    Events100Plus,
    /// [`clickrec_core::TestUser::cold`] set.
    Cold,
    /// [`clickrec_core::TestUser::cold`] not set.
    Warm,
}

impl Segment {
    /// The activity buckets, least active first.
    pub const ACTIVITY: [Segment; 5] = [
        Segment::Events0,
        Segment::Events1To4,
        Segment::Events5To19,
        Segment::Events20To99,
        Segment::Events100Plus,
    ];
    /// Cold, then warm.
    pub const COLDNESS: [Segment; 2] = [Segment::Cold, Segment::Warm];
    /// Every segment: the activity buckets, then cold and warm.
    pub const ALL: [Segment; 7] = [
        Segment::Events0,
        Segment::Events1To4,
        Segment::Events5To19,
        Segment::Events20To99,
        Segment::Events100Plus,
        Segment::Cold,
        Segment::Warm,
    ];

    /// The activity bucket of a user with `events` train events.
    pub fn activity(events: u32) -> Segment {
        match events {
            0 => Segment::Events0,
            1..=4 => Segment::Events1To4,
            5..=19 => Segment::Events5To19,
            20..=99 => Segment::Events20To99,
            _ => Segment::Events100Plus,
        }
    }

    /// A label for people ("0 (cold)", "1–4", …, "cold", "warm").
    pub fn label(self) -> &'static str {
        match self {
            Segment::Events0 => "0 (cold)",
            Segment::Events1To4 => "1–4",
            Segment::Events5To19 => "5–19",
            Segment::Events20To99 => "20–99",
            Segment::Events100Plus => "100+",
            Segment::Cold => "cold",
            Segment::Warm => "warm",
        }
    }

    /// Its position in the report's per-kind arrays (`Report::variants`, `segments`).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// 1 / log₂(rank + 1), the DCG discount of a 1-based rank.
pub(crate) fn discount(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// Ideal DCG of m relevant items, Σ_{i=1}^{m} 1/log₂(i + 1).
#[derive(Debug, Default)]
pub(crate) struct IdealDcg {
    prefix: Vec<f64>,
}

impl IdealDcg {
    pub(crate) fn get(&mut self, m: usize) -> f64 {
        if self.prefix.is_empty() {
            self.prefix.push(0.0);
        }
        while self.prefix.len() <= m {
            let i = self.prefix.len();
            let last = self.prefix[i - 1];
            self.prefix.push(last + discount(i));
        }
        self.prefix[m]
    }
}

/// Writes into `out` what one hit contributes to each metric at each K
/// (`Metric::ALL.len() * ks.len()` values, metric-major: `out[metric * ks.len() + k_index]`).
///
/// Every metric of a user is the sum over its hits of such contributions: a hit at rank
/// `r` that is the `j`-th hit of a user with `n_targets` targets adds, at each K ≥ r,
/// 1/|T| to Recall, 1/min(K, |T|) to CappedRecall, 1/K to Precision, 1 to HitRate and
/// 1/r to MRR when j = 1, 1/log₂(r + 1) ÷ IDCG(min(K, |T|)) to NDCG, and
/// (j / r) ÷ min(K, |T|) to MAP (j / r is the precision at rank r).
pub(crate) fn hit_values(
    n_targets: u32,
    rank: u32,
    ordinal: u32,
    ks: &[usize],
    ideal: &mut IdealDcg,
    out: &mut [f64],
) {
    let nk = ks.len();
    let t = n_targets as usize;
    let r = rank as usize;
    let first = ordinal == 1;
    for (ki, &k) in ks.iter().enumerate() {
        let slot = |m: Metric| m.index() * nk + ki;
        if r > k {
            for m in Metric::ALL {
                out[slot(m)] = 0.0;
            }
            continue;
        }
        let cap = k.min(t) as f64;
        out[slot(Metric::Recall)] = 1.0 / t as f64;
        out[slot(Metric::CappedRecall)] = 1.0 / cap;
        out[slot(Metric::Precision)] = 1.0 / k as f64;
        out[slot(Metric::HitRate)] = if first { 1.0 } else { 0.0 };
        out[slot(Metric::Mrr)] = if first { 1.0 / r as f64 } else { 0.0 };
        out[slot(Metric::Ndcg)] = discount(r) / ideal.get(k.min(t));
        out[slot(Metric::Map)] = f64::from(ordinal) / r as f64 / cap;
    }
}
