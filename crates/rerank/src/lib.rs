//! The second stage of a two-stage recommender: candidates from several generators,
//! features per (user, candidate), and a logistic regression (linfa-logistic) that learns
//! which candidates to put first.
//!
//! 1. **Candidates** ([`Generator`]): the union of each generator's top-M (any fitted
//!    [`clickrec_recommend::Recommender`]: ALS, item-kNN, popularity, segment-popular, the
//!    session models, the user's recent items, scored through `clickrec_recommend::recommend`)
//!    and the user's most recent distinct items (repeat visits are common; left out when
//!    seen items are excluded).
//! 2. **Features** ([`feature_names`]), from the generators' lists and a [`History`] of
//!    the train events the generators were fit on ("now" = the log's last timestamp).
//! 3. **Training** ([`train`]) on the validation users' held-out targets: label = the
//!    candidate is a target; all positives and up to `negatives_per_positive` negatives
//!    per positive per user (seeded by (seed, user)); features standardised
//!    ([`Standardizer`]) on the training rows; L2-penalised logistic regression.
//! 4. **Re-ranking** ([`Reranker::recommend_blocks`]): score = the logit, top-N per user
//!    (ties → lower item id), blocks of users streamed in user order.
//!
//! Every random choice is seeded and each user is computed alone, so the same inputs give
//! the same re-ranker and lists at any thread count. `train` reads only what it is given
//! (generators fit on the validation-train part, the validation targets): no test data.
//!
//! # `[rerank]` defaults ([`RerankParams`])
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `generators` | `["als", "item_knn", "popularity", "segment_popular"]` | candidate generators, in feature order (non-empty, distinct) |
//! | `candidates_per_generator` | 50 | top-M taken from each generator (≥ 1) |
//! | `recent_items` | 20 | the user's latest distinct items added as candidates |
//! | `negatives_per_positive` | 10 | negatives sampled per positive per training user (≥ 1) |
//! | `l2` | 1.0 | L2 penalty (`alpha` of linfa-logistic; finite, ≥ 0) |
//! | `max_iterations` | 200 | L-BFGS iterations at most (≥ 1) |
//! | `recent_days` | 7.0 | window of `item_popularity_recent`, back from the log's end (> 0) |
//! | `max_training_users` | 200 000 | validation users sampled to train on (0 = all) |
//!
//! # Features (in column order)
//!
//! | feature | value |
//! |---|---|
//! | `{g}_score` | generator g's score (0 when g did not list the item) |
//! | `{g}_rank` | 1-based rank in g's list (M + 1 when missing) |
//! | `{g}_missing` | 1 when g did not list the item |
//! | `item_popularity` | ln(1 + behaviour-weighted event count), all time |
//! | `item_popularity_recent` | the same over the last `recent_days` |
//! | `category_share` | the item's category's share of the user's weighted history (0 without) |
//! | `user_pv`, `user_fav`, `user_cart`, `user_buy` | ln(1 + the user's own events on the item) |
//! | `hours_since_last` | ln(1 + hours since the user's last event on the item) (0 if never) |
//! | `never_interacted` | 1 when the user has no event on the item |
//! | `user_activity` | ln(1 + the user's train events) |
//!
//! # Example
//!
//! ```
//! use clickrec_core::{
//!     Behavior, CategoryId, EventLog, ItemId, NoProgress, TestSet, UserId, UserItemMatrix,
//! };
//! use clickrec_recommend::{BlockScores, Recommender};
//! use clickrec_rerank::{Generator, History, RerankParams, train};
//!
//! /// Scores item i as i for everyone: a (poor) candidate generator.
//! struct ByItem;
//! impl Recommender for ByItem {
//!     fn n_items(&self) -> usize { 4 }
//!     fn score_block(&self, _: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
//!         for row in out.dense().chunks_mut(4) {
//!             row.iter_mut().enumerate().for_each(|(i, s)| *s = i as f32);
//!         }
//!     }
//! }
//!
//! // Each user viewed one item; in validation they return to it.
//! let n = 8u32;
//! let log = EventLog::from_columns(
//!     (0..n).map(UserId).collect(),
//!     (0..n).map(|u| ItemId(u % 4)).collect(),
//!     vec![CategoryId(0); n as usize],
//!     vec![Behavior::Pv; n as usize],
//!     (0..n as i64).collect(),
//! )
//! .unwrap();
//! let matrix = UserItemMatrix::from_triples(
//!     n as usize, 4, (0..n).map(|u| (UserId(u), ItemId(u % 4), 1.0))).unwrap();
//! let mut validation = TestSet::builder(&[true; 4]);
//! for u in 0..n {
//!     validation.push_user(UserId(u), false, [(ItemId(u % 4), Behavior::Pv)]).unwrap();
//! }
//! let validation = validation.finish();
//!
//! let params = RerankParams { candidates_per_generator: 2, ..RerankParams::default() }
//!     .check()
//!     .unwrap();
//! let history = History::new(&log, &matrix, [1.0, 2.0, 3.0, 4.0], 7.0).unwrap();
//! let by_item = ByItem;
//! let generators = [Generator { name: "by_item", model: &by_item }];
//! let (reranker, report) =
//!     train(&generators, &history, &matrix, &validation, &params, false, 42, &NoProgress, None)
//!         .unwrap();
//! assert_eq!(report.candidate_recall, 1.0); // recent items bring the targets in
//!
//! // Having interacted with an item is what predicts the return visit.
//! let users: Vec<UserId> = (0..n).map(UserId).collect();
//! let recs = reranker
//!     .recommend(&generators, &history, &matrix, &users, 2, false, &params)
//!     .unwrap();
//! for list in recs.iter() {
//!     assert_eq!(list.items[0], ItemId(list.user.0 % 4));
//! }
//! ```
mod candidates;
mod error;
mod features;
mod history;
mod model;
mod params;
mod train;

#[cfg(test)]
mod tests;

pub use candidates::Generator;
pub use error::RerankError;
pub use features::{BASE_FEATURES, Standardizer, feature_names};
pub use history::History;
pub use model::Reranker;
pub use params::{CheckedRerank, RerankParams};
pub use train::{LogisticFitter, LogisticProblem, TrainReport, train};
