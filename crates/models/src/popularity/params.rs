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

/// `[models.popularity_recent]`: popularity over the last `window_days` before the
/// latest train event ("recent popularity", a baseline beside all-time popularity).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecentPopularityParams {
    /// Days counted back from the latest train event. Default 1; finite and > 0.
    pub window_days: f64,
}

impl Default for RecentPopularityParams {
    fn default() -> Self {
        RecentPopularityParams { window_days: 1.0 }
    }
}

impl RecentPopularityParams {
    /// Checks the parameters; the result fits like `[models.popularity]` with a window.
    pub fn check(&self) -> Result<CheckedPopularity, ParamError> {
        if !(self.window_days.is_finite() && self.window_days > 0.0) {
            return Err(ParamError::new(
                "popularity_recent",
                "window_days",
                "a finite number of days > 0",
                self.window_days,
            ));
        }
        PopularityParams {
            window_days: Some(self.window_days),
        }
        .check()
    }
}
