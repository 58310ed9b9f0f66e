//! The recommend engine of clickrec: the [`Recommender`] trait every model implements,
//! top-N selection and the batch loop that turns scores into ranked lists.
//!
//! Models only score. Filtering of seen items, candidate restriction, batching and top-N
//! selection are written once here, so every model ranks, breaks ties and excludes in the
//! same way: higher score first, then lower item id. NaN scores are never recommended.
//!
//! Layers, bottom first: [`select`] (partial selection) → [`topn`] (a top-N stream, the
//! request's filter) → [`recommender`] types → [`tiles`] (the factor models' SIMD kernel)
//! → [`batch`] (blocks of users across threads) → [`session`] (session-model traits).

mod batch;
mod recommender;
mod select;
mod session;
mod tiles;
mod topn;

pub use batch::{recommend, recommend_blocks, recommend_blocks_with_fallback};
pub use recommender::{
    BlockScores, Candidates, FactorScores, ItemSums, PackedItems, RankedList, RecommendError,
    RecommendRequest, Recommendations, Recommender,
};
pub use select::{keep_best, retain_best};
pub use session::{SessionRecommender, SessionState, UserScoresSessions};
pub use topn::TopN;
