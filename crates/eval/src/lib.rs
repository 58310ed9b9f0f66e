//! clickrec's offline evaluator: ranking metrics of recommendation lists against held-out
//! test targets, with bootstrap confidence intervals, paired model comparisons and the
//! [`Report`] they make (`metrics.json`; `clickrec-report` renders it for people).
//!
//! It depends on `clickrec-core` and `clickrec-recommend` alone, so it scores any model's
//! lists, or any other system's, given as [`clickrec_recommend::Recommendations`].
//!
//! - [`EvalConfig`] → [`CheckedEval`]: cut-offs K (default 5, 10, 20, 50, 100), bootstrap
//!   resamples (1000), confidence (0.95), seed (42).
//! - [`evaluate_model`]: one pass over one model's lists. Recall, CappedRecall, Precision,
//!   HitRate, MRR, NDCG and MAP at every K (definitions on [`Metric`]), coverage,
//!   popularity percentile ([`popularity_percentiles`]) and seen share, in four
//!   [`Variant`]s (all or conversion targets × all or new-to-user items), broken down by
//!   [`Segment`] (train activity, cold/warm). Users with an empty target set are skipped
//!   and counted; test users without a list score 0; lists of non-test users are ignored.
//!   [`EvalData::population`] restricts the pass to warm or cold users.
//! - [`Evaluator`]: the protocol's rule for cold users (no train events) — the headline,
//!   intervals and comparisons on warm users, the cold users apart in
//!   [`Report::cold_users`].
//! - [`build_report`]: bootstrap intervals (the same resampled users for every model),
//!   paired comparisons of every pair on Recall and NDCG, and the [`Report`].
//!   [`compare_models`] / [`Report::compare`] compare any two models on any
//!   metric.
//!
//! ```
//! use std::collections::BTreeMap;
//! use clickrec_core::{Behavior, ItemId, TestSet, UserId, UserItemMatrix};
//! use clickrec_recommend::Recommendations;
//! use clickrec_eval::{
//!     EvalConfig, EvalData, Metric, Population, Protocol, Variant, build_report, evaluate_model,
//! };
//!
//! // Two users and three items; user 0 had item 0 in train.
//! let train = UserItemMatrix::from_triples(
//!     2, 3, [(UserId(0), ItemId(0), 1.0), (UserId(1), ItemId(1), 1.0), (UserId(1), ItemId(2), 1.0)],
//! ).unwrap();
//! let mut test = TestSet::builder(&[true, true, true]);
//! test.push_user(UserId(0), false, [(ItemId(1), Behavior::Pv)]).unwrap();
//! test.push_user(UserId(1), false, [(ItemId(0), Behavior::Buy)]).unwrap();
//! let test = test.finish();
//! let mut recs = Recommendations::new();
//! recs.push(UserId(0), [(ItemId(2), 0.9), (ItemId(1), 0.5)]).unwrap();
//! recs.push(UserId(1), [(ItemId(0), 0.7)]).unwrap();
//!
//! let config = EvalConfig { ks: vec![1, 2], ..EvalConfig::default() }.check().unwrap();
//! let data = EvalData {
//!     test: &test,
//!     train: &train,
//!     train_events_per_user: &[1, 2],
//!     population: Population::All,
//! };
//! let eval = evaluate_model("toy", &recs, &data, &config).unwrap();
//! // Recall@1: user 0 misses (item 2 first), user 1 hits → 0.5.
//! assert_eq!(eval.value(Variant::All, Metric::Recall, 1), Some(0.5));
//! let protocol = Protocol {
//!     split: "toy".into(),
//!     exclude_seen: false,
//!     n_recommended: 2,
//!     ..Protocol::default()
//! };
//! let report = build_report(protocol, &data, &[eval], &BTreeMap::new(), &config);
//! assert!(report.to_json().contains("\"recall\""));
//! assert!(report.to_json().contains("\"ndcg\""));
//! ```

mod bootstrap;
mod cold;
mod config;
mod error;
mod evaluate;
mod metric;
mod next_item;
mod popularity;
mod report;

pub use bootstrap::{Estimate, PairedComparison, Verdict, compare_models, percent};
pub use cold::Evaluator;
pub use config::{CheckedEval, EvalConfig, EvalProtocol, MAX_BOOTSTRAP_SAMPLES, MAX_CUT_OFFS};
pub use error::EvalError;
pub use evaluate::{
    EvalData, KSummary, ModelEvaluation, Population, SegmentAtK, SegmentSummary, VariantEvaluation,
    evaluate_model,
};
pub use metric::{Metric, Metrics, Segment, Variant};
pub use next_item::{
    Latency, NextItemAtK, NextItemEvaluation, NextItemReport, NextItemSessions, NextItemSummary,
    PerSession, evaluate_next_item, next_item_reports,
};
pub use popularity::popularity_percentiles;
pub use report::{
    AtK, ColdModel, ColdUsers, ModelReport, Protocol, Report, Settings, TargetKinds, Tuning,
    TuningTrial, VariantCounts, VariantReport, build_report,
};

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
