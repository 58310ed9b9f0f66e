//! `[models.bpr]`: BPR parameters, their defaults and checking.

use serde::{Deserialize, Serialize};

use crate::ParamError;
use crate::factors::{FACTORS_RANGE, ITERATIONS_RANGE, MAX_FACTORS, MAX_ITERATIONS};

/// How negative items are drawn for a positive pair `(u, i)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativeSampling {
    /// In proportion to item popularity (number of users who have the item), as
    /// `implicit` does: it takes the item of a random non-zero of the matrix. Popular
    /// items the user has not seen become hard negatives, and the item biases learn
    /// nothing on average (an item is drawn as often as a negative as a positive).
    Popularity,
    /// Uniformly over all items (of the block), as in Rendle et al. 2009 (the default):
    /// the item biases learn popularity, the factors what sets a user apart from it.
    #[default]
    Uniform,
}

/// `[models.bpr]`: Bayesian personalised ranking (Rendle et al. 2009) fitted with SGD.
///
/// Defaults follow Python `implicit` 0.7.3's `BayesianPersonalizedRanking` except
/// `factors` (implicit: 100; here 64, as in the benchmarks), `learning_rate` (0.1, not
/// 0.01) and `negative_sampling` (uniform, not popularity). With implicit's 0.01 and its
/// initial factors of about 0.01, the factors stay near zero, where every score
/// difference is 0 and the loss ln 2, for tens of epochs: on the quickstart
/// (`clickrec run pipelines/quickstart.toml`, `data/sample.csv`, 32 factors, 20 epochs)
/// the loss went from 0.6929 to 0.6933 and Recall@20 stayed below popularity's. `learning_rate = 0.01, negative_sampling = "popularity"` gives
/// implicit's settings back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BprParams {
    /// Latent factors (default 64). Stored factor rows have `factors + 1` columns: the
    /// last holds the item bias (items) and a constant 1 (users).
    pub factors: usize,
    /// SGD step size (default 0.1; implicit's 0.01 barely moves the factors off their
    /// small initial values in the epochs a click log affords). Constant over epochs, so
    /// the model after epoch `t` does not depend on `iterations`.
    pub learning_rate: f64,
    /// L2 regularisation applied to the three rows of every SGD step (default 0.01).
    pub regularization: f64,
    /// Epochs; each draws as many `(user, positive, negative)` triples as the train
    /// matrix has non-zeros (default 100, as implicit; the benchmarks use 15).
    pub iterations: usize,
    /// Skip a sampled negative that the user actually has (default true, as implicit).
    pub verify_negative_samples: bool,
    /// Distribution of negative items (default `uniform`, as Rendle et al.; implicit
    /// draws by `popularity`).
    pub negative_sampling: NegativeSampling,
    /// Users and items are each split into this many blocks (fewer when the catalogue
    /// has under 64 items per block); an epoch runs the `blocks × blocks` user×item
    /// strata in `blocks` rounds of `blocks` disjoint strata, in parallel (DSGD, Gemulla
    /// et al. 2011), and the negatives of a positive come from its item block, re-drawn
    /// every epoch. It bounds the parallelism and shrinks the memory each stratum
    /// touches, not the thread count: results are identical at any thread count, but
    /// change with `blocks` (default 16).
    pub blocks: usize,
}

impl Default for BprParams {
    fn default() -> Self {
        BprParams {
            factors: 64,
            learning_rate: 0.1,
            regularization: 0.01,
            iterations: 100,
            verify_negative_samples: true,
            negative_sampling: NegativeSampling::Uniform,
            blocks: 16,
        }
    }
}

/// Largest accepted `blocks`.
const MAX_BLOCKS: usize = 256;

impl BprParams {
    /// Valid parameters, or the first impossible value named by its key.
    pub fn check(&self) -> Result<CheckedBpr, ParamError> {
        let err = |param, expected, found: &dyn ToString| {
            Err(ParamError::new("bpr", param, expected, found.to_string()))
        };
        if !(1..=MAX_FACTORS).contains(&self.factors) {
            return err("factors", FACTORS_RANGE, &self.factors);
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 1e3)
        {
            return err(
                "learning_rate",
                "a positive finite number (at most 1000)",
                &self.learning_rate,
            );
        }
        if !(self.regularization.is_finite() && (0.0..=1e6).contains(&self.regularization)) {
            return err(
                "regularization",
                "a finite number from 0 to 1e6",
                &self.regularization,
            );
        }
        if !(1..=MAX_ITERATIONS).contains(&self.iterations) {
            return err("iterations", ITERATIONS_RANGE, &self.iterations);
        }
        if !(1..=MAX_BLOCKS).contains(&self.blocks) {
            return err("blocks", "an integer from 1 to 256", &self.blocks);
        }
        Ok(CheckedBpr {
            params: self.clone(),
        })
    }
}

/// Valid BPR parameters: only these can fit.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedBpr {
    params: BprParams,
}

impl CheckedBpr {
    /// The parameters as configured.
    pub fn params(&self) -> &BprParams {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bpr_param_errors_name_the_key() {
        assert!(BprParams::default().check().is_ok());
        let cases: [(&str, BprParams); 8] = [
            (
                "factors",
                BprParams {
                    factors: 0,
                    ..BprParams::default()
                },
            ),
            (
                "learning_rate",
                BprParams {
                    learning_rate: 0.0,
                    ..BprParams::default()
                },
            ),
            (
                "learning_rate",
                BprParams {
                    learning_rate: f64::NAN,
                    ..BprParams::default()
                },
            ),
            (
                "regularization",
                BprParams {
                    regularization: -0.1,
                    ..BprParams::default()
                },
            ),
            (
                "iterations",
                BprParams {
                    iterations: 0,
                    ..BprParams::default()
                },
            ),
            (
                "iterations",
                BprParams {
                    iterations: 1_000_000_000,
                    ..BprParams::default()
                },
            ),
            (
                "blocks",
                BprParams {
                    blocks: 0,
                    ..BprParams::default()
                },
            ),
            (
                "blocks",
                BprParams {
                    blocks: 1000,
                    ..BprParams::default()
                },
            ),
        ];
        for (key, params) in cases {
            let err = params.check().unwrap_err();
            assert_eq!((err.model, err.param), ("bpr", key), "{err}");
            assert!(err.to_string().starts_with(&format!("models.bpr.{key}:")));
        }
    }

    #[test]
    fn bpr_params_deserialize_with_defaults_and_refuse_unknown_keys() {
        let p: BprParams =
            serde_json::from_str(r#"{"factors": 8, "negative_sampling": "popularity"}"#).unwrap();
        assert_eq!(p.factors, 8);
        assert_eq!(p.negative_sampling, NegativeSampling::Popularity);
        assert_eq!(p.iterations, BprParams::default().iterations);
        assert!(serde_json::from_str::<BprParams>(r#"{"factor": 8}"#).is_err());
    }
}
