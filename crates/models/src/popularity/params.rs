//! `[models.popularity]` parameters.

use serde::{Deserialize, Serialize};

use crate::ParamError;

/// Seconds per day, for `window_days`.
const DAY_SECONDS: f64 = 86_400.0;

/// `[models.popularity]`: every key is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PopularityParams {
    /// Count only events at most this many days (fractions allowed) older than the latest
    /// train event. Absent (the default): all train events count. Must be finite and > 0.
    pub window_days: Option<f64>,
}

impl PopularityParams {
    /// Checks the parameters; only checked parameters can fit.
    pub fn check(&self) -> Result<CheckedPopularity, ParamError> {
        if let Some(days) = self.window_days
            && !(days.is_finite() && days > 0.0)
        {
            return Err(ParamError::new(
                "popularity",
                "window_days",
                "a finite number of days > 0 (leave the key out for all time)",
                days,
            ));
        }
        Ok(CheckedPopularity {
            params: self.clone(),
        })
    }
}

/// Valid [`PopularityParams`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedPopularity {
    params: PopularityParams,
}

impl CheckedPopularity {
    pub fn params(&self) -> &PopularityParams {
        &self.params
    }

    /// The window in seconds, if any.
    pub fn window_seconds(&self) -> Option<f64> {
        self.params.window_days.map(|days| days * DAY_SECONDS)
    }
}
