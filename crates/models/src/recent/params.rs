//! `[models.recent]` parameters.

use serde::{Deserialize, Serialize};

use crate::ParamError;

/// `[models.recent]`: every key is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecentParams {
    /// Hours after which an event counts half. Default 24; finite and > 0.
    pub half_life_hours: f64,
    /// Items kept per user, best first. Default 100; at least 1.
    pub max_items: u32,
}

impl Default for RecentParams {
    fn default() -> Self {
        RecentParams {
            half_life_hours: 24.0,
            max_items: 100,
        }
    }
}

impl RecentParams {
    /// Checks the parameters; only checked parameters can fit.
    pub fn check(&self) -> Result<CheckedRecent, ParamError> {
        if !(self.half_life_hours.is_finite() && self.half_life_hours > 0.0) {
            return Err(ParamError::new(
                "recent",
                "half_life_hours",
                "a finite number of hours > 0",
                self.half_life_hours,
            ));
        }
        if self.max_items == 0 {
            return Err(ParamError::new(
                "recent",
                "max_items",
                "at least 1 item per user",
                self.max_items,
            ));
        }
        Ok(CheckedRecent {
            params: self.clone(),
        })
    }
}

/// Valid [`RecentParams`].
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedRecent {
    params: RecentParams,
}

impl CheckedRecent {
    pub fn params(&self) -> &RecentParams {
        &self.params
    }

    /// The half-life in seconds.
    pub fn half_life_seconds(&self) -> f64 {
        self.params.half_life_hours * 3600.0
    }
}
