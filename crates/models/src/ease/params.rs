//! `[models.ease]`: EASE parameters, their defaults and checking.

use serde::{Deserialize, Serialize};

use crate::ParamError;

/// `[models.ease]`: every key is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EaseParams {
    /// L2 regularisation λ added to the diagonal of the item-item Gram matrix `XᵀX`.
    /// Larger values shrink the weights towards co-occurrence counts scaled down; Steck
    /// (2019) used values in the hundreds (500 on ML-20M). Default 500; finite and > 0.
    pub lambda: f64,
    /// Largest number of trained items (items with train events) EASE accepts: the fit
    /// holds dense `items × items` f32 matrices (4 bytes per entry; two of them while
    /// fitting, one in the model). Default 20 000 (1.5 GiB per matrix); ≥ 1.
    pub max_items: usize,
}

impl Default for EaseParams {
    fn default() -> Self {
        EaseParams {
            lambda: 500.0,
            max_items: 20_000,
        }
    }
}

/// Largest `lambda`: see [`EaseParams::check`].
const MAX_LAMBDA: f64 = 1e12;

impl EaseParams {
    /// Checks the parameters; only checked parameters can fit.
    pub fn check(&self) -> Result<CheckedEase, ParamError> {
        let err = |param, expected, found: &dyn ToString| {
            Err(ParamError::new("ease", param, expected, found.to_string()))
        };
        // The fit runs in f32: a λ far above any Gram entry leaves XᵀX + λI without the
        // data in it (and above f32's range, no matrix at all).
        if !(self.lambda > 0.0 && self.lambda <= MAX_LAMBDA) {
            return err("lambda", "a number above 0, at most 1e12", &self.lambda);
        }
        if self.max_items == 0 {
            return err("max_items", "an integer ≥ 1", &self.max_items);
        }
        Ok(CheckedEase {
            params: self.clone(),
        })
    }
}

/// Valid [`EaseParams`]: only these can fit.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedEase {
    params: EaseParams,
}

impl CheckedEase {
    pub fn params(&self) -> &EaseParams {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ease_param_errors_name_the_key() {
        assert!(EaseParams::default().check().is_ok());
        for (key, params) in [
            (
                "lambda",
                EaseParams {
                    lambda: 0.0,
                    ..EaseParams::default()
                },
            ),
            (
                "lambda",
                EaseParams {
                    lambda: f64::INFINITY,
                    ..EaseParams::default()
                },
            ),
            (
                "lambda",
                EaseParams {
                    lambda: 1e308,
                    ..EaseParams::default()
                },
            ),
            (
                "max_items",
                EaseParams {
                    max_items: 0,
                    ..EaseParams::default()
                },
            ),
        ] {
            let err = params.check().unwrap_err();
            assert_eq!((err.model, err.param), ("ease", key), "{err}");
            assert!(err.to_string().starts_with(&format!("models.ease.{key}:")));
        }
        let p: EaseParams = serde_json::from_str(r#"{"lambda": 50}"#).unwrap();
        assert_eq!((p.lambda, p.max_items), (50.0, 20_000));
        assert!(serde_json::from_str::<EaseParams>(r#"{"l2": 5}"#).is_err());
    }
}
