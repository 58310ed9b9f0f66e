//! `[prep]` as written in a pipeline file, and its checked form [`CheckedPrep`].
//!
//! Every key is optional; an absent table or key takes the documented default. A step
//! whose settings are all at their "keep everything" values does not run.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::dedup::{DedupConfig, DedupParams};
use crate::error::ConfigError;
use crate::kcore::{KCoreConfig, KCoreParams};
use crate::min_events::{MinEventsConfig, MinEventsParams};
use crate::outliers::{OutlierConfig, OutlierParams};
use crate::session::SessionConfig;
use crate::split::TrainFilters;
use crate::weights::{CheckedWeights, WeightsConfig};
use crate::window::{TimeWindow, WindowConfig};

/// The `[prep]` table: one sub-table per step, in the order the steps run. Window and
/// dedup clean rows of the whole log ([`crate::prepare`]); outlier users, min events and
/// k-core learn from the data, so they run on train only ([`crate::split`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrepConfig {
    /// `[prep.window]`: keep events in `[start, end)`. Default: everything.
    pub window: WindowConfig,
    /// `[prep.dedup]`: exact duplicates (default on) and page-refresh repeats (default off).
    pub dedup: DedupConfig,
    /// `[prep.outlier_users]`: remove crawler-like users. Default: off.
    pub outlier_users: OutlierConfig,
    /// `[prep.min_events]`: one-pass minimum event counts. Default: off.
    pub min_events: MinEventsConfig,
    /// `[prep.kcore]`: iterative k-core on distinct user-item pairs. Default: off.
    pub kcore: KCoreConfig,
    /// `[prep.session]`: inactivity gap between sessions (default 1800 s).
    pub session: SessionConfig,
    /// `[prep.weights]`: confidence per behaviour, decay, log scaling for the matrix.
    pub weights: WeightsConfig,
}

impl PrepConfig {
    /// Checks every value; reads no data.
    pub fn check(&self) -> Result<CheckedPrep, ConfigError> {
        Ok(CheckedPrep {
            window: self.window.check()?,
            dedup: self.dedup.check()?,
            outlier_users: self.outlier_users.check()?,
            min_events: self.min_events.check()?,
            kcore: self.kcore.check()?,
            session_gap_s: self.session.check()?,
            weights: self.weights.check()?,
        })
    }
}

/// Valid preprocessing parameters; `None` marks a step that does not run.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedPrep {
    window: Option<TimeWindow>,
    dedup: Option<DedupParams>,
    outlier_users: Option<OutlierParams>,
    min_events: Option<MinEventsParams>,
    kcore: Option<KCoreParams>,
    session_gap_s: NonZeroU32,
    weights: CheckedWeights,
}

impl Default for CheckedPrep {
    fn default() -> Self {
        PrepConfig::default()
            .check()
            .expect("the default configuration is valid")
    }
}

impl CheckedPrep {
    pub fn window(&self) -> Option<&TimeWindow> {
        self.window.as_ref()
    }
    pub fn dedup(&self) -> Option<&DedupParams> {
        self.dedup.as_ref()
    }
    pub fn outlier_users(&self) -> Option<&OutlierParams> {
        self.outlier_users.as_ref()
    }
    pub fn min_events(&self) -> Option<&MinEventsParams> {
        self.min_events.as_ref()
    }
    pub fn kcore(&self) -> Option<&KCoreParams> {
        self.kcore.as_ref()
    }
    /// The steps that learn from the data (outlier users, min events, k-core): they run
    /// inside [`crate::split`], on train only.
    pub fn train_filters(&self) -> TrainFilters {
        TrainFilters {
            outlier_users: self.outlier_users,
            min_events: self.min_events,
            kcore: self.kcore,
        }
    }
    pub fn session_gap_s(&self) -> NonZeroU32 {
        self.session_gap_s
    }
    /// The matrix weighting, for [`crate::build_matrix`].
    pub fn weights(&self) -> &CheckedWeights {
        &self.weights
    }
}
