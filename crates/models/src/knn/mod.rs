//! Item-kNN: items are similar when the same users interact with them.
//!
//! **Fit.** Each item is the column of the behaviour-weighted train matrix (its users and
//! their confidences), optionally re-weighted (`weighting`): `"none"`, `"tfidf"`
//! (`sqrt(x) · idf(user)`) or `"bm25"` (`x (k1 + 1) / (k1 · length_norm(item) + x) ·
//! idf(user)`), with `idf(user) = ln(n_items) − ln(1 + items of the user)` and
//! `length_norm(item) = 1 − b + b · item total / mean item total` — the formulas of Python
//! `implicit`'s `tfidf_weight` and `bm25_weight` applied to the items × users matrix. The
//! vectors are then scaled to unit length and the `k` largest cosines of every item are
//! kept, best first (ties by lower item id).
//!
//! **The item is its own neighbour**, as in implicit's `all_pairs_knn` (cosine 1, so it
//! normally takes the first of the `k` slots): `k = 100` keeps the item and its 99 best
//! other neighbours, like implicit's `CosineRecommender(K=100)`. This only matters for the
//! user's own items, which the shared loop excludes as seen; [`ItemKnn::similar_items`]
//! leaves the item out.
//!
//! **Scoring** (sparse): for a user with items `s` and confidences `r_us` in the history
//! matrix, `score(j) = Σ_s r_us · sim(s, j)` with `score = "weighted"` (the default; the
//! user row times the similarity matrix, as implicit's `ItemItemRecommender`), or
//! `score(j) = Σ_s sim(s, j)` with `score = "sum"`. Only items among the stored neighbours
//! of the user's items are scored and can be recommended; users without history get an
//! empty list.
//!
//! Differences from implicit: with `"bm25"` the weighted vectors are compared by cosine
//! (implicit's `BM25Recommender` takes raw dot products of the BM25 weights), and ties
//! in the top-k go to the lower item id.
//!
//! ```toml
//! [models.item_knn]
//! k = 100               # neighbours kept per item, itself included
//! weighting = "none"    # "none" | "tfidf" | "bm25"
//! bm25_k1 = 1.2         # bm25 only
//! bm25_b = 0.75         # bm25 only
//! score = "weighted"    # "weighted" | "sum"
//! ```

mod fit;
mod model;
mod params;

pub use model::ItemKnn;
pub use params::{CheckedItemKnn, ItemKnnParams, ScoreMode, Weighting};

use model::Neighbours;

#[cfg(test)]
mod tests;
