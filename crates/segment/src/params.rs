//! `[segment]` parameters: documented defaults, checked before any data is read.

use serde::{Deserialize, Serialize};

use crate::SegmentError;

/// What each user's k-means vector is built from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorSource {
    /// Behaviour-weighted share of the user's train events per top category (plus
    /// "other"): needs no model, and segments are easy to read off the categories.
    #[default]
    CategoryProfile,
    /// The user factors of the fitted ALS model: segments of users ALS sees as similar.
    AlsFactors,
}

impl VectorSource {
    /// The config value, as written in `segment.vectors`.
    pub fn name(self) -> &'static str {
        match self {
            VectorSource::CategoryProfile => "category_profile",
            VectorSource::AlsFactors => "als_factors",
        }
    }
}

/// `[segment]`: every key is optional; see the field docs for the defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentParams {
    /// Number of segments (clusters). Default 20.
    pub k: usize,
    /// Where user vectors come from. Default `category_profile`.
    pub vectors: VectorSource,
    /// Dimensions of the category profile: the most weighted categories of the train log,
    /// plus one "other" dimension. Default 64.
    pub profile_categories: usize,
    /// Upper bound on Lloyd iterations. Default 100.
    pub max_iterations: u64,
    /// Stop once the centroids move less than this (Frobenius norm of the change), or when
    /// no user changes segment. Default 1e-4.
    pub tolerance: f64,
    /// Extra k values whose inertia is reported, to help choose k. Default none.
    pub sweep: Vec<usize>,
    /// Top categories and items listed per segment in the summary. Default 10.
    pub top_n: usize,
    /// Items kept per segment for the segment-popular recommender. Default 500.
    pub popular_items: usize,
}

impl Default for SegmentParams {
    fn default() -> Self {
        SegmentParams {
            k: 20,
            vectors: VectorSource::CategoryProfile,
            profile_categories: 64,
            max_iterations: 100,
            tolerance: 1e-4,
            sweep: Vec::new(),
            top_n: 10,
            popular_items: 500,
        }
    }
}

impl SegmentParams {
    /// Checks every key; only checked parameters can fit.
    pub fn check(&self) -> Result<CheckedSegment, SegmentError> {
        if self.k == 0 {
            return Err(SegmentError::param("k", "at least 1", self.k));
        }
        if self.profile_categories == 0 {
            return Err(SegmentError::param(
                "profile_categories",
                "at least 1",
                self.profile_categories,
            ));
        }
        if self.max_iterations == 0 {
            return Err(SegmentError::param(
                "max_iterations",
                "at least 1",
                self.max_iterations,
            ));
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(SegmentError::param(
                "tolerance",
                "a finite number ≥ 0",
                self.tolerance,
            ));
        }
        if let Some(&bad) = self.sweep.iter().find(|&&k| k == 0) {
            return Err(SegmentError::param("sweep", "k values of at least 1", bad));
        }
        if self.popular_items == 0 {
            return Err(SegmentError::param(
                "popular_items",
                "at least 1",
                self.popular_items,
            ));
        }
        Ok(CheckedSegment {
            params: self.clone(),
        })
    }
}

/// Valid [`SegmentParams`], made by [`SegmentParams::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedSegment {
    params: SegmentParams,
}

impl CheckedSegment {
    pub fn params(&self) -> &SegmentParams {
        &self.params
    }

    /// The same parameters with another k (for sweeps); `None` for k = 0.
    pub fn with_k(&self, k: usize) -> Option<CheckedSegment> {
        (k > 0).then(|| {
            let mut params = self.params.clone();
            params.k = k;
            CheckedSegment { params }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn vector_source_names_are_the_config_values() {
        for source in [VectorSource::CategoryProfile, VectorSource::AlsFactors] {
            let json = serde_json::to_string(&source).unwrap();
            assert_eq!(json, format!("\"{}\"", source.name()));
        }
    }

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let p = SegmentParams::default();
        assert_eq!(
            (
                p.k,
                p.profile_categories,
                p.max_iterations,
                p.top_n,
                p.popular_items
            ),
            (20, 64, 100, 10, 500)
        );
        assert_eq!(p.vectors, VectorSource::CategoryProfile);
        assert!(p.check().is_ok());
    }

    #[test]
    fn bad_values_name_their_key() {
        type Edit = fn(&mut SegmentParams);
        let cases: [(Edit, &str); 7] = [
            (|p| p.k = 0, "segment.k: expected at least 1, found 0"),
            (
                |p| p.max_iterations = 0,
                "segment.max_iterations: expected at least 1, found 0",
            ),
            (
                |p| p.tolerance = -1.0,
                "segment.tolerance: expected a finite number ≥ 0, found -1",
            ),
            (
                |p| p.tolerance = f64::NAN,
                "segment.tolerance: expected a finite number ≥ 0, found NaN",
            ),
            (
                |p| p.profile_categories = 0,
                "segment.profile_categories: expected at least 1, found 0",
            ),
            (
                |p| p.popular_items = 0,
                "segment.popular_items: expected at least 1, found 0",
            ),
            (
                |p| p.sweep = vec![5, 0],
                "segment.sweep: expected k values of at least 1, found 0",
            ),
        ];
        for (edit, message) in cases {
            let mut p = SegmentParams::default();
            edit(&mut p);
            assert_eq!(p.check().unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn toml_style_json_uses_snake_case_and_rejects_unknown_keys() {
        let p: SegmentParams =
            serde_json::from_str(r#"{"k": 5, "vectors": "als_factors", "sweep": [2, 3]}"#).unwrap();
        assert_eq!(p.k, 5);
        assert_eq!(p.vectors, VectorSource::AlsFactors);
        assert_eq!(p.sweep, vec![2, 3]);
        assert_eq!(p.top_n, 10);
        assert!(serde_json::from_str::<SegmentParams>(r#"{"clusters": 5}"#).is_err());
    }
}
