//! The protocol's rule for cold test users (no train events): counted and evaluated apart.
//!
//! A model that needs history can only fall back for a cold user, so averaging cold and
//! warm users together lets the cold share decide which model looks best (with no fallback,
//! popularity "beats" every personal model on a log with many cold users). [`Evaluator`]
//! scores every list on the warm users — they make the headline, the intervals, the
//! comparisons and the best model — and on the cold users separately, summarised in
//! [`ColdUsers`].

use std::collections::BTreeMap;

use clickrec_recommend::Recommendations;

use crate::config::CheckedEval;
use crate::error::EvalError;
use crate::evaluate::{EvalData, ModelEvaluation, Population, evaluate_model};
use crate::report::{ColdModel, ColdUsers, Protocol, Report, build_report};

impl ColdUsers {
    fn from_report(report: &Report) -> Self {
        let headline = report.headline_variant;
        ColdUsers {
            users: report.test_set.cold_users,
            evaluated_users: report.variants[headline.index()].evaluated_users,
            models: report
                .models
                .iter()
                .map(|m| {
                    let v = m.variant(headline);
                    ColdModel {
                        name: m.name.clone(),
                        users_without_recommendations: v.users_without_recommendations,
                        at_k: v.at_k.clone(),
                    }
                })
                .collect(),
        }
    }
}

/// Scores lists on warm and cold test users apart, then builds the report: the warm
/// users' evaluation is the report, the cold users' its [`Report::cold_users`] section.
/// On a test set without cold users it is [`evaluate_model`] and [`build_report`] as they
/// are.
#[derive(Debug)]
pub struct Evaluator<'a> {
    /// Restricted to warm users.
    data: EvalData<'a>,
    config: &'a CheckedEval,
    warm: Vec<ModelEvaluation>,
    /// `None` when the test set has no cold users.
    cold: Option<Vec<ModelEvaluation>>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator over `data` (whose population it sets itself).
    pub fn new(data: EvalData<'a>, config: &'a CheckedEval) -> Self {
        let has_cold = data.test.counts().cold_users > 0;
        Evaluator {
            data: data.with_population(Population::Warm),
            config,
            warm: Vec::new(),
            cold: has_cold.then(Vec::new),
        }
    }

    /// Scores one model's lists on both populations.
    pub fn add(&mut self, name: &str, recs: &Recommendations) -> Result<(), EvalError> {
        self.warm
            .push(evaluate_model(name, recs, &self.data, self.config)?);
        if let Some(cold) = &mut self.cold {
            let data = self.data.with_population(Population::Cold);
            cold.push(evaluate_model(name, recs, &data, self.config)?);
        }
        Ok(())
    }

    /// The models scored so far, on warm users.
    pub fn evaluations(&self) -> &[ModelEvaluation] {
        &self.warm
    }

    /// The report of the warm users, with the cold users' section.
    pub fn report(self, protocol: Protocol, training_loss: &BTreeMap<String, Vec<f64>>) -> Report {
        let cold = self.cold.map(|cold| {
            let data = self.data.with_population(Population::Cold);
            let report = build_report(
                protocol.clone(),
                &data,
                &cold,
                &BTreeMap::new(),
                self.config,
            );
            ColdUsers::from_report(&report)
        });
        let mut report = build_report(protocol, &self.data, &self.warm, training_loss, self.config);
        report.cold_users = cold;
        report
    }
}
