//! `[models.item_knn]` parameters.

use serde::{Deserialize, Serialize};

use crate::ParamError;

/// How the item vectors (columns of the train matrix) are re-weighted before the cosine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weighting {
    /// The confidences as they are: implicit's `CosineRecommender`.
    #[default]
    None,
    /// `sqrt(confidence) · idf(user)`, as implicit's `tfidf_weight` (`TFIDFRecommender`).
    Tfidf,
    /// BM25 with `bm25_k1` and `bm25_b`, as implicit's `bm25_weight`. Unlike implicit's
    /// `BM25Recommender` (raw dot products), the weighted vectors are then compared by
    /// cosine like the other weightings.
    Bm25,
}

/// How a user's scores combine the neighbours of the items they have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreMode {
    /// `score(j) = Σ_s r_us · sim(s, j)` over the user's items `s` with their confidence
    /// `r_us` (user row · similarity matrix), as implicit's `ItemItemRecommender`.
    #[default]
    Weighted,
    /// `score(j) = Σ_s sim(s, j)`: the plain sum of neighbour similarities.
    Sum,
}

/// `[models.item_knn]`: every key is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ItemKnnParams {
    /// Neighbours kept per item, the item itself included (as implicit's `all_pairs_knn`).
    /// Default 100. Must be ≥ 1.
    pub k: usize,
    /// `"none"` (default), `"tfidf"` or `"bm25"`; see [`Weighting`].
    pub weighting: Weighting,
    /// BM25 term-frequency saturation (`weighting = "bm25"` only). Default 1.2; finite, ≥ 0.
    pub bm25_k1: f64,
    /// BM25 length normalisation (`weighting = "bm25"` only). Default 0.75; in [0, 1].
    pub bm25_b: f64,
    /// `"weighted"` (default) or `"sum"`; see [`ScoreMode`].
    pub score: ScoreMode,
}

impl Default for ItemKnnParams {
    fn default() -> Self {
        ItemKnnParams {
            k: 100,
            weighting: Weighting::None,
            bm25_k1: 1.2,
            bm25_b: 0.75,
            score: ScoreMode::Weighted,
        }
    }
}

impl ItemKnnParams {
    /// Checks the parameters; only checked parameters can fit.
    pub fn check(&self) -> Result<CheckedItemKnn, ParamError> {
        let error = |param, expected, found: &dyn ToString| {
            Err(ParamError::new(
                "item_knn",
                param,
                expected,
                found.to_string(),
            ))
        };
        if self.k == 0 {
            return error("k", "a number of neighbours ≥ 1", &self.k);
        }
        if !(self.bm25_k1.is_finite() && self.bm25_k1 >= 0.0) {
            return error("bm25_k1", "a finite number ≥ 0", &self.bm25_k1);
        }
        if !(0.0..=1.0).contains(&self.bm25_b) {
            return error("bm25_b", "a number in [0, 1]", &self.bm25_b);
        }
        Ok(CheckedItemKnn {
            params: self.clone(),
        })
    }
}

/// Valid [`ItemKnnParams`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedItemKnn {
    params: ItemKnnParams,
}

impl CheckedItemKnn {
    pub fn params(&self) -> &ItemKnnParams {
        &self.params
    }
}
