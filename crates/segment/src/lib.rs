//! User segments by k-means, and the segment-popular recommender.
//!
//! Users become vectors ([`UserVectors`]): either their behaviour-weighted category
//! profile over the train log, or a model's user factors (ALS). k-means splits the users
//! with a vector into `k` segments ([`fit_segments`] → [`Segmentation`]);
//! [`summarize`] says what each segment is about, and [`SegmentPopular`] recommends each
//! user the most popular items of their segment (the global list for users without one).
//!
//! # `[segment]` defaults ([`SegmentParams`])
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `k` | 20 | number of segments (≥ 1, at most the users with a vector) |
//! | `vectors` | `"category_profile"` | or `"als_factors"` |
//! | `profile_categories` | 64 | top categories in the profile, plus one "other" dimension |
//! | `max_iterations` | 100 | Lloyd iterations at most (≥ 1) |
//! | `tolerance` | 1e-4 | stop when the centroids move less (Frobenius norm; finite, ≥ 0) |
//! | `sweep` | `[]` | extra k values whose inertia is reported |
//! | `top_n` | 10 | categories and items listed per segment in the summary |
//! | `popular_items` | 500 | items kept per segment by the segment-popular recommender |
//!
//! # k-means
//!
//! Seeding is linfa-clustering's k-means++ (seeded `Xoshiro256Plus`, one run; linfa
//! exposes it only through `fit`, so we take its centroids after one linfa iteration).
//! The Lloyd iterations are ours: linfa's own `fit` measured 3.5–6× slower end to end
//! at the size we need (its distance loop is scalar), reports no iterations, and moves
//! centroids by "m_k-means" (the old centroid counts as a member). Ours follows the
//! textbook rule (centroid = mean of its users; an empty segment keeps its centroid;
//! ties → lower segment), runs rayon over fixed chunks of 4096 rows and adds the chunks'
//! f64 partial sums in chunk order: the same seed gives the same segments at any thread
//! count. The inertia is recomputed in f64 (sum of squared distances to the assigned
//! centroid).
//!
//! Measured on the shared 2-core machine (load average ≈ 3 from other builds), release
//! build, 1M users × 64 dimensions in overlapping seeded blobs, defaults (100 iterations
//! at most, tolerance 1e-4; ours used all 100 in every run below), peak RSS 0.5 GB:
//!
//! | command (`cargo run --release -p clickrec-segment --example kmeans_speed -- …`) | result |
//! |---|---|
//! | `1000000 64 20 ours` | `fit_segments` 35.6 s, of which linfa seeding 9.0 s (54.4 s under heavier load) |
//! | `1000000 64 20 linfa` | linfa `KMeans::fit` alone: 201.9 s, same inertia to 4e-6 |
//! | `1000000 64 50 ours` | `fit_segments` 183.3 s (seeding grows with k², linfa's k-means++ recomputes every distance per pick) |
//!
//! `bench/kmeans.sh` runs both sides in one go and records them in
//! `bench/results/kmeans.md` (at commit 742d486: 31.6 s against linfa's 110.2 s).
//!
//! # Example
//!
//! ```
//! use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId, UserItemMatrix};
//! use clickrec_recommend::{RecommendRequest, recommend};
//! use clickrec_segment::{SegmentParams, SegmentPopular, UserVectors, fit_segments};
//!
//! // Users 0 and 1 shop category 0 (items 0, 1); users 2 and 3 category 1 (items 2, 3).
//! let rows = [(0, 0, 0), (0, 1, 0), (1, 0, 0), (2, 2, 1), (3, 3, 1), (3, 2, 1)];
//! let log = EventLog::from_columns(
//!     rows.iter().map(|r| UserId(r.0)).collect(),
//!     rows.iter().map(|r| ItemId(r.1)).collect(),
//!     rows.iter().map(|r| CategoryId(r.2)).collect(),
//!     vec![Behavior::Pv; rows.len()],
//!     (0..rows.len() as i64).collect(),
//! )
//! .unwrap();
//! let weights = [1.0, 2.0, 3.0, 4.0];
//! let vectors = UserVectors::category_profiles(&log, 5, weights, 64);
//! let params = SegmentParams { k: 2, ..SegmentParams::default() }.check().unwrap();
//! let seg = fit_segments(&vectors, &params, 7, None).unwrap();
//! assert_eq!(seg.segment_of(UserId(0)), seg.segment_of(UserId(1)));
//! assert_ne!(seg.segment_of(UserId(0)), seg.segment_of(UserId(2)));
//! assert_eq!(seg.segment_of(UserId(4)), None); // no events, no vector
//!
//! let popular = SegmentPopular::fit(&seg, &log, weights, 4, 500);
//! let history = UserItemMatrix::from_triples(5, 4, [(UserId(1), ItemId(0), 1.0)]).unwrap();
//! let recs = recommend(&popular, &history, &[UserId(1)], &RecommendRequest::top(2)).unwrap();
//! assert_eq!(recs.get(0).items, &[ItemId(1)]); // item 0 is seen; items 2, 3 are not its segment's
//! ```

mod counts;
mod error;
mod kmeans;
mod params;
mod popular;
mod summary;
mod vectors;

#[cfg(test)]
mod tests;

pub use error::SegmentError;
pub use kmeans::{CentroidFit, Segmentation, fit_segments, inertia_sweep};
pub use params::{CheckedSegment, SegmentParams, VectorSource};
pub use popular::SegmentPopular;
pub use summary::{SegmentInfo, SegmentSummary, summarize};
pub use vectors::UserVectors;
