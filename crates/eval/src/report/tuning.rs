//! The report's tuning section: the trials of a parameter search on the validation
//! split, the metric against each searched parameter, and against fit time.

use serde::Serialize;

use crate::bootstrap::Estimate;

/// A parameter search, as the report shows it (the caller converts its own records).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tuning {
    /// What was maximised, e.g. `ndcg@20` (on the validation split).
    pub metric: String,
    /// `random`, `grid` or `halving`.
    pub strategy: String,
    /// Seconds spent in trials.
    pub seconds: f64,
    pub stopped_by_budget: bool,
    pub trials: Vec<TuningTrial>,
}

/// One trial of the search.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TuningTrial {
    pub model: String,
    /// The configuration's index among the model's draws.
    pub config: usize,
    /// Halving's rung (0 for random and grid).
    pub rung: usize,
    /// The searched parameters (and the budget's iterations), as written.
    pub params: Vec<(String, String)>,
    /// The same parameters where they are numbers, for the charts.
    pub numeric: Vec<(String, f64)>,
    /// The metric with its interval; `None` for a failed fit.
    pub value: Option<Estimate>,
    pub fit_seconds: f64,
    /// The winning trial of its model (its values are in the pipeline that ran).
    pub chosen: bool,
}

impl Tuning {
    /// The tuned models, in order of first appearance.
    pub fn models(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in &self.trials {
            if !out.contains(&t.model.as_str()) {
                out.push(&t.model);
            }
        }
        out
    }

    /// The names of the numeric parameters searched for `model`.
    pub fn numeric_params(&self, model: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in self.trials.iter().filter(|t| t.model == model) {
            for (name, _) in &t.numeric {
                if !out.contains(&name.as_str()) {
                    out.push(name);
                }
            }
        }
        out
    }
}
