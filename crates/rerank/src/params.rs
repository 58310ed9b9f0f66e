//! `[rerank]` parameters: documented defaults, checked before any data is read.

use serde::{Deserialize, Serialize};

use crate::RerankError;

/// `[rerank]`: every key is optional; see the field docs for the defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RerankParams {
    /// Names of the candidate generators, in feature order; the pipeline maps each name to
    /// a trained list source. Default `["als", "item_knn", "popularity", "segment_popular"]`.
    pub generators: Vec<String>,
    /// Top-M items taken from each generator. Default 50.
    pub candidates_per_generator: usize,
    /// The user's last distinct interacted items are candidates too (repeat visits are
    /// common in e-commerce); skipped when seen items are excluded. Default 20.
    pub recent_items: usize,
    /// Class imbalance: per training user all positive candidates are kept and at most
    /// this many negatives per positive are sampled (seeded). Default 10.
    pub negatives_per_positive: usize,
    /// L2 penalty (`alpha` of linfa-logistic) on the standardised coefficients. Default 1.
    pub l2: f64,
    /// Upper bound on L-BFGS iterations. Default 200.
    pub max_iterations: u64,
    /// Window of the "recent popularity" feature, in days back from the log's last
    /// timestamp. Default 7.
    pub recent_days: f64,
    /// Validation users sampled (seeded) to train on; 0 = all. Default 200 000.
    pub max_training_users: usize,
}

impl Default for RerankParams {
    fn default() -> Self {
        RerankParams {
            generators: ["als", "item_knn", "popularity", "segment_popular"]
                .map(String::from)
                .to_vec(),
            candidates_per_generator: 50,
            recent_items: 20,
            negatives_per_positive: 10,
            l2: 1.0,
            max_iterations: 200,
            recent_days: 7.0,
            max_training_users: 200_000,
        }
    }
}

impl RerankParams {
    /// Checks every key; only checked parameters can train or re-rank.
    pub fn check(&self) -> Result<CheckedRerank, RerankError> {
        if self.generators.is_empty() {
            return Err(RerankError::NoGenerators);
        }
        for (k, name) in self.generators.iter().enumerate() {
            if self.generators[..k].contains(name) {
                return Err(RerankError::GeneratorName {
                    name: name.clone(),
                    problem: "listed twice",
                });
            }
        }
        if self.candidates_per_generator == 0 {
            return Err(RerankError::param(
                "candidates_per_generator",
                "at least 1",
                self.candidates_per_generator,
            ));
        }
        if self.negatives_per_positive == 0 {
            return Err(RerankError::param(
                "negatives_per_positive",
                "at least 1",
                self.negatives_per_positive,
            ));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(RerankError::param("l2", "a finite value ≥ 0", self.l2));
        }
        if self.max_iterations == 0 {
            return Err(RerankError::param(
                "max_iterations",
                "at least 1",
                self.max_iterations,
            ));
        }
        check_recent_days(self.recent_days)?;
        Ok(CheckedRerank {
            params: self.clone(),
        })
    }
}

/// The recent-popularity window must be a real, non-empty span of time.
pub(crate) fn check_recent_days(days: f64) -> Result<(), RerankError> {
    if days.is_finite() && days > 0.0 {
        Ok(())
    } else {
        Err(RerankError::param(
            "recent_days",
            "a finite value > 0",
            days,
        ))
    }
}

/// Valid [`RerankParams`], made by [`RerankParams::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedRerank {
    params: RerankParams,
}

impl CheckedRerank {
    pub fn params(&self) -> &RerankParams {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let p = RerankParams::default();
        assert_eq!(
            (
                p.candidates_per_generator,
                p.recent_items,
                p.negatives_per_positive,
                p.max_iterations,
                p.max_training_users
            ),
            (50, 20, 10, 200, 200_000)
        );
        assert_eq!((p.l2, p.recent_days), (1.0, 7.0));
        assert_eq!(p.check().unwrap().params(), &p);
    }

    #[test]
    fn bad_values_name_their_key() {
        type Case = (fn(&mut RerankParams), &'static str);
        let cases: [Case; 9] = [
            (
                |p| p.generators.clear(),
                "rerank.generators: the re-ranker needs at least one candidate generator",
            ),
            (
                |p| p.generators.push("als".into()),
                "generator name \"als\" is listed twice",
            ),
            (
                |p| p.candidates_per_generator = 0,
                "rerank.candidates_per_generator: expected at least 1, found 0",
            ),
            (
                |p| p.negatives_per_positive = 0,
                "rerank.negatives_per_positive: expected at least 1, found 0",
            ),
            (
                |p| p.l2 = -1.0,
                "rerank.l2: expected a finite value ≥ 0, found -1",
            ),
            (
                |p| p.l2 = f64::INFINITY,
                "rerank.l2: expected a finite value ≥ 0, found inf",
            ),
            (
                |p| p.max_iterations = 0,
                "rerank.max_iterations: expected at least 1, found 0",
            ),
            (
                |p| p.recent_days = 0.0,
                "rerank.recent_days: expected a finite value > 0, found 0",
            ),
            (
                |p| p.recent_days = f64::NAN,
                "rerank.recent_days: expected a finite value > 0, found NaN",
            ),
        ];
        for (edit, message) in cases {
            let mut p = RerankParams::default();
            edit(&mut p);
            assert_eq!(p.check().unwrap_err().to_string(), message);
        }
        // Zero recent items and "all users" are valid choices.
        let p = RerankParams {
            recent_items: 0,
            max_training_users: 0,
            l2: 0.0,
            ..RerankParams::default()
        };
        assert!(p.check().is_ok());
    }

    #[test]
    fn json_keys_are_snake_case_and_unknown_keys_rejected() {
        let p: RerankParams =
            serde_json::from_str(r#"{"candidates_per_generator": 30, "l2": 0.5}"#).unwrap();
        assert_eq!((p.candidates_per_generator, p.l2), (30, 0.5));
        assert_eq!(p.recent_items, 20);
        let err = serde_json::from_str::<RerankParams>(r#"{"generator": ["als"]}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `generator`"),
            "{err}"
        );
    }
}
