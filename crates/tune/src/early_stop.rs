//! Early stopping of ALS and BPR on a validation metric: after each iteration the model
//! as it stands is scored on the validation sessions; the fit ends when the metric has
//! not improved by `min_delta` for `patience` iterations, and the best iteration wins.

use std::ops::ControlFlow;
use std::sync::Mutex;

use clickrec_models::{FitMonitor, Model};
use serde::{Deserialize, Serialize};

use crate::config::MetricAtK;
use crate::error::TuneError;
use crate::validation::Scorer;

/// `[train.early_stopping]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EarlyStoppingConfig {
    /// The validation metric watched, e.g. `"ndcg@20"`. Default `ndcg@20`.
    pub metric: String,
    /// Iterations without improvement before the fit stops. Default 3; must be ≥ 1.
    pub patience: usize,
    /// The least rise that counts as an improvement. Default 0; must be ≥ 0.
    pub min_delta: f64,
}

impl Default for EarlyStoppingConfig {
    fn default() -> Self {
        EarlyStoppingConfig {
            metric: "ndcg@20".into(),
            patience: 3,
            min_delta: 0.0,
        }
    }
}

/// Checked `[train.early_stopping]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckedEarlyStopping {
    pub metric: MetricAtK,
    pub patience: usize,
    pub min_delta: f64,
}

impl EarlyStoppingConfig {
    pub fn check(&self) -> Result<CheckedEarlyStopping, String> {
        let metric = MetricAtK::parse(&self.metric)
            .map_err(|e| format!("train.early_stopping.metric: {e}"))?;
        if self.patience == 0 {
            return Err("train.early_stopping.patience: must be ≥ 1".into());
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(format!(
                "train.early_stopping.min_delta: must be ≥ 0, found {}",
                self.min_delta
            ));
        }
        Ok(CheckedEarlyStopping {
            metric,
            patience: self.patience,
            min_delta: self.min_delta,
        })
    }
}

/// What early stopping saw, recorded beside the training loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopRecord {
    /// `ndcg@20`, …, on the validation split.
    pub metric: String,
    /// The metric after each iteration run.
    pub values: Vec<f64>,
    /// The iteration with the best value (1-based): the model kept.
    pub best_iteration: usize,
    pub best_value: f64,
}

/// A [`FitMonitor`] that scores each iteration and keeps the best model.
pub struct EarlyStopping<'a> {
    scorer: &'a Scorer<'a>,
    settings: CheckedEarlyStopping,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    values: Vec<f64>,
    best: Option<(usize, f64, Model)>,
    error: Option<TuneError>,
}

impl std::fmt::Debug for EarlyStopping<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarlyStopping")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<'a> EarlyStopping<'a> {
    pub fn new(scorer: &'a Scorer<'a>, settings: CheckedEarlyStopping) -> Self {
        EarlyStopping {
            scorer,
            settings,
            state: Mutex::new(State::default()),
        }
    }

    /// The best model and the record; an error when scoring failed or nothing was seen.
    pub fn finish(self) -> Result<(Model, EarlyStopRecord), TuneError> {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(e) = state.error {
            return Err(e);
        }
        let (best_iteration, best_value, model) = state.best.ok_or(TuneError::NothingScored)?;
        Ok((
            model,
            EarlyStopRecord {
                metric: self.scorer.metric.to_string(),
                values: state.values,
                best_iteration,
                best_value,
            },
        ))
    }
}

impl FitMonitor for EarlyStopping<'_> {
    fn after_iteration(&self, done: usize, model: &Model) -> ControlFlow<()> {
        let value = self.scorer.value(model);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let value = match value {
            Ok(v) => v,
            Err(e) => {
                state.error = Some(e);
                return ControlFlow::Break(());
            }
        };
        state.values.push(value);
        let improved = match &state.best {
            None => true,
            Some((_, best, _)) => value > best + self.settings.min_delta,
        };
        if improved {
            state.best = Some((done, value, model.clone()));
            return ControlFlow::Continue(());
        }
        let best_at = state.best.as_ref().map_or(0, |b| b.0);
        if done - best_at >= self.settings.patience {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}
