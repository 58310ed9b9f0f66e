//! The validation split as trials and early stopping see it: validation-train events and
//! matrix, and the held-out validation sessions. Nothing here opens the test files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clickrec_core::{EventLog, ItemUserMatrix, TestSet, UserId, UserItemMatrix};
use clickrec_eval::{CheckedEval, Estimate, EvalConfig, EvalData, Population, Protocol, Variant};
use clickrec_models::{Model, ModelKind, TrainData};
use clickrec_prep::CheckedWeights;
use clickrec_recommend::{Candidates, RecommendRequest, recommend};

use crate::config::MetricAtK;
use crate::error::TuneError;

/// Validation-train events (with their sessions) and the matrix built from them.
#[derive(Debug)]
pub struct TrainPart {
    pub log: EventLog,
    pub sessions: Option<Vec<u32>>,
    pub matrix: UserItemMatrix,
    pub item_users: ItemUserMatrix,
}

/// The validation split of a run directory, as read by the pipeline.
#[derive(Debug)]
pub struct Validation {
    pub train: TrainPart,
    pub test: TestSet,
    events_per_user: Vec<u32>,
    /// The matrix stage's weights (`prep.weights`), for the subsamples' matrices.
    weights: CheckedWeights,
    /// For errors: the validation-train file.
    pub path: PathBuf,
}

/// What [`Validation::new`] builds from: the validation-train events of `path`, their
/// sessions, the held-out validation sessions and the split's id spaces.
#[derive(Debug)]
pub struct ValidationParts {
    pub log: EventLog,
    pub sessions: Option<Vec<u32>>,
    pub test: TestSet,
    pub n_users: usize,
    pub n_items: usize,
    /// The matrix stage's weights (`prep.weights`).
    pub weights: CheckedWeights,
    pub path: PathBuf,
}

impl Validation {
    /// The validation-train matrix and the per-user event counts, built from `parts`.
    pub fn new(parts: ValidationParts) -> Result<Self, TuneError> {
        let mut events_per_user = vec![0u32; parts.n_users];
        for (user, rows) in parts.log.user_rows() {
            events_per_user[user.0 as usize] = rows.len() as u32;
        }
        let train = TrainPart::build(
            &parts.weights,
            parts.log,
            parts.sessions,
            parts.n_users,
            parts.n_items,
            &parts.path,
        )?;
        Ok(Validation {
            train,
            test: parts.test,
            events_per_user,
            weights: parts.weights,
            path: parts.path,
        })
    }

    /// What a model fits on: the whole validation-train part, or a share of its users.
    pub fn train_data<'a>(&'a self, part: &'a TrainPart) -> TrainData<'a> {
        TrainData {
            matrix: &part.matrix,
            item_users: &part.item_users,
            log: &part.log,
            behavior_weights: self.weights.per_behavior(),
            sessions: part.sessions.as_deref(),
        }
    }

    /// The validation-train events of about `share` of the users (each user kept or not
    /// by a hash of the seed and its id), for the small budgets of successive halving.
    pub fn subsample(&self, share: f64, seed: u64) -> Result<TrainPart, TuneError> {
        let keep_user = |u: UserId| {
            let mut rng = clickrec_core::SplitMix64::new(
                seed ^ u64::from(u.0).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            rng.next_f64() < share
        };
        let keep: Vec<bool> = self
            .train
            .log
            .users()
            .iter()
            .map(|&u| keep_user(u))
            .collect();
        let sessions = self.train.sessions.as_ref().map(|s| {
            s.iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(s, _)| *s)
                .collect()
        });
        let log = clickrec_prep::retain_rows(self.train.log.clone(), &keep);
        TrainPart::build(
            &self.weights,
            log,
            sessions,
            self.train.matrix.n_users(),
            self.train.matrix.n_items(),
            &self.path,
        )
    }
}

impl TrainPart {
    fn build(
        weights: &CheckedWeights,
        log: EventLog,
        sessions: Option<Vec<u32>>,
        n_users: usize,
        n_items: usize,
        path: &std::path::Path,
    ) -> Result<Self, TuneError> {
        let matrix =
            clickrec_prep::build_matrix(&log, n_users, n_items, weights).map_err(|source| {
                TuneError::Matrix {
                    path: path.to_owned(),
                    source,
                }
            })?;
        let item_users = matrix.transpose();
        Ok(TrainPart {
            log,
            sessions,
            matrix,
            item_users,
        })
    }
}

/// Scores a model on the validation sessions: its top-K lists, then one metric at K.
#[derive(Debug)]
pub struct Scorer<'a> {
    validation: &'a Validation,
    pub metric: MetricAtK,
    exclude_seen: bool,
    /// With the run's bootstrap, for the trials' intervals.
    with_ci: CheckedEval,
    /// Without bootstrap, for early stopping's per-iteration values.
    plain: CheckedEval,
}

impl<'a> Scorer<'a> {
    /// Scores `metric` on `validation` with the run's `evaluate` settings,
    /// `bootstrap_samples` resamples for the trials' intervals (the checked
    /// `evaluate.bootstrap_samples`) and `recommend.exclude_seen`.
    pub fn new(
        validation: &'a Validation,
        metric: MetricAtK,
        evaluate: &EvalConfig,
        bootstrap_samples: usize,
        exclude_seen: bool,
    ) -> Result<Self, TuneError> {
        let eval = |bootstrap_samples| {
            EvalConfig {
                ks: vec![metric.k],
                bootstrap_samples,
                ..evaluate.clone()
            }
            .check()
            .map_err(|e| TuneError::Invalid {
                path: validation.path.clone(),
                message: e.to_string(),
            })
        };
        Ok(Scorer {
            validation,
            metric,
            exclude_seen,
            with_ci: eval(bootstrap_samples)?,
            plain: eval(0)?,
        })
    }

    fn variant(&self) -> Variant {
        Variant::headline(self.exclude_seen)
    }

    fn lists(&self, model: &Model) -> Result<clickrec_recommend::Recommendations, TuneError> {
        let request = RecommendRequest {
            n: self.metric.k,
            candidates: Candidates::All,
            // As the recommend stage does: the user's own recent items keep seen items.
            exclude_seen: self.exclude_seen && model.kind() != ModelKind::Recent,
        };
        let v = self.validation;
        recommend(model, &v.train.matrix, v.test.users(), &request).map_err(|source| {
            TuneError::ValidationRecommend {
                list: model.kind().name(),
                path: v.path.clone(),
                source,
            }
        })
    }

    fn data(&self) -> EvalData<'_> {
        let v = self.validation;
        EvalData {
            test: &v.test,
            train: &v.train.matrix,
            train_events_per_user: &v.events_per_user,
            // The best value is chosen on the users the headline ranks models on.
            population: Population::Warm,
        }
    }

    fn evaluation(
        &self,
        model: &Model,
        config: &CheckedEval,
    ) -> Result<clickrec_eval::ModelEvaluation, TuneError> {
        let recs = self.lists(model)?;
        clickrec_eval::evaluate_model(model.kind().name(), &recs, &self.data(), config).map_err(
            |source| TuneError::Evaluate {
                path: self.validation.path.clone(),
                source,
            },
        )
    }

    /// The metric's value (no interval): for early stopping.
    pub fn value(&self, model: &Model) -> Result<f64, TuneError> {
        let eval = self.evaluation(model, &self.plain)?;
        Ok(eval
            .value(self.variant(), self.metric.metric, self.metric.k)
            .unwrap_or(0.0))
    }

    /// The metric with its bootstrap interval over validation users.
    pub fn estimate(&self, model: &Model) -> Result<Estimate, TuneError> {
        let eval = self.evaluation(model, &self.with_ci)?;
        let protocol = Protocol {
            exclude_seen: self.exclude_seen,
            n_recommended: self.metric.k,
            ..Protocol::default()
        };
        let report = clickrec_eval::build_report(
            protocol,
            &self.data(),
            std::slice::from_ref(&eval),
            &BTreeMap::new(),
            &self.with_ci,
        );
        let mean = eval
            .value(self.variant(), self.metric.metric, self.metric.k)
            .unwrap_or(0.0);
        Ok(report
            .model(model.kind().name())
            .and_then(|m| m.estimate(self.variant(), self.metric.metric, self.metric.k))
            .unwrap_or(Estimate {
                mean,
                ci_low: None,
                ci_high: None,
            }))
    }
}
