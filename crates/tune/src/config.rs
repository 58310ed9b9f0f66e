//! `[tune]`: what to optimise, how to search, and one search space per model.

use std::collections::BTreeMap;

use clickrec_eval::Metric;
use clickrec_models::ModelKind;
use serde::{Deserialize, Serialize};

/// A metric of the evaluator at one cut-off, written `ndcg@20`, `recall@50`, …: what the
/// tuner maximises and early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricAtK {
    pub metric: Metric,
    pub k: usize,
}

impl MetricAtK {
    /// Parses `<metric>@<K>` with a metric key of `metrics.json` (`recall`, `ndcg`,
    /// `hit_rate`, `mrr`, `map`, `precision`, `capped_recall`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let keys = || {
            Metric::ALL
                .iter()
                .map(|m| m.key())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (name, k) = text
            .split_once('@')
            .ok_or_else(|| format!("{text:?} is not <metric>@<K>, e.g. \"ndcg@20\""))?;
        let metric = Metric::ALL
            .into_iter()
            .find(|m| m.key() == name.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("unknown metric {name:?}: expected one of {}", keys()))?;
        let k = k
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&k| k >= 1)
            .ok_or_else(|| format!("the cut-off in {text:?} must be an integer ≥ 1"))?;
        Ok(MetricAtK { metric, k })
    }
}

impl std::fmt::Display for MetricAtK {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.metric.key(), self.k)
    }
}

/// How trials are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// `trials` draws from the space per model.
    #[default]
    Random,
    /// Every combination of the listed values (ranges are not allowed).
    Grid,
    /// Successive halving (Jamieson & Talwalkar 2016): `trials` draws start on a small
    /// budget, the best 1/`eta` of each rung go on with `eta` times the budget. The
    /// budget is iterations for ALS and BPR (the search range of `iterations`, or its
    /// configured value, gives the last rung's), and the share of validation-train users
    /// for every other model.
    Halving,
}

/// One searchable parameter: a list of choices, or a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Domain {
    /// `[32, 64, 128]`: one of these values, as written.
    Choices(Vec<toml::Value>),
    /// `{ log_uniform = [a, b] }`, `{ uniform = [a, b] }`, `{ int_uniform = [a, b] }`.
    Range(Range),
}

/// A range to draw from, bounds included.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Range {
    /// Uniform in log space: for scales such as regularisation and learning rates.
    LogUniform([f64; 2]),
    Uniform([f64; 2]),
    /// Integers, each equally likely.
    IntUniform([i64; 2]),
}

/// `[tune]` as written. Every table under it (`[tune.als]`, `[tune.vsknn]`, …) is the
/// search space of the model of that name: parameter → [`Domain`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuneConfig {
    /// What to maximise on the validation split, e.g. `"ndcg@20"`. Default `ndcg@20`.
    #[serde(default = "default_metric")]
    pub metric: String,
    #[serde(default)]
    pub strategy: Strategy,
    /// Configurations per model (random, and halving's first rung); the first is the
    /// pipeline's own values, the others are drawn. Default 20.
    #[serde(default = "default_trials")]
    pub trials: usize,
    /// No new trial starts after this many seconds of searching (recorded trials of an
    /// earlier, interrupted search count too).
    pub time_budget_s: Option<f64>,
    /// Seed of the draws. Default: `run.seed`.
    pub seed: Option<u64>,
    /// Halving's reduction factor. Default 3.
    #[serde(default = "default_eta")]
    pub eta: usize,
    /// Trials fitted at once. Each fit is parallel already; more at once helps with
    /// small models and costs memory (one model per trial). Default 1.
    #[serde(default = "default_parallel")]
    pub parallel: usize,
    /// The search spaces, by model name.
    #[serde(flatten)]
    pub spaces: BTreeMap<String, BTreeMap<String, Domain>>,
}

fn default_metric() -> String {
    "ndcg@20".into()
}
fn default_trials() -> usize {
    20
}
fn default_eta() -> usize {
    3
}
fn default_parallel() -> usize {
    1
}

/// A [`TuneConfig`] whose values are possible.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedTune {
    pub metric: MetricAtK,
    pub strategy: Strategy,
    pub trials: usize,
    pub time_budget_s: Option<f64>,
    pub seed: u64,
    pub eta: usize,
    pub parallel: usize,
    /// In [`ModelKind::ALL`] order.
    pub spaces: Vec<(ModelKind, Vec<(String, Domain)>)>,
}

impl TuneConfig {
    /// Checks every value; errors name the key (`tune.als.alpha: …`).
    pub fn check(&self, run_seed: u64) -> Result<CheckedTune, String> {
        let metric = MetricAtK::parse(&self.metric).map_err(|e| format!("tune.metric: {e}"))?;
        if self.trials == 0 {
            return Err("tune.trials: must be ≥ 1".into());
        }
        if self.eta < 2 {
            return Err(format!("tune.eta: must be ≥ 2, found {}", self.eta));
        }
        if self.parallel == 0 {
            return Err("tune.parallel: must be ≥ 1".into());
        }
        if let Some(b) = self.time_budget_s
            && !(b.is_finite() && b > 0.0)
        {
            return Err(format!("tune.time_budget_s: must be > 0, found {b}"));
        }
        let mut spaces = Vec::new();
        for (name, space) in &self.spaces {
            let kind = ModelKind::from_name(name).ok_or_else(|| {
                format!(
                    "tune.{name}: unknown key or model (models: {})",
                    ModelKind::ALL.map(|k| k.name()).join(", ")
                )
            })?;
            let mut dims = Vec::new();
            for (param, domain) in space {
                check_domain(domain, self.strategy)
                    .map_err(|e| format!("tune.{name}.{param}: {e}"))?;
                dims.push((param.clone(), domain.clone()));
            }
            spaces.push((kind, dims));
        }
        if spaces.is_empty() {
            return Err(
                "tune: no search space: add a table such as [tune.als] with factors = [32, 64]"
                    .into(),
            );
        }
        spaces.sort_by_key(|(kind, _)| *kind);
        Ok(CheckedTune {
            metric,
            strategy: self.strategy,
            trials: self.trials,
            time_budget_s: self.time_budget_s,
            seed: self.seed.unwrap_or(run_seed),
            eta: self.eta,
            parallel: self.parallel,
            spaces,
        })
    }
}

fn check_domain(domain: &Domain, strategy: Strategy) -> Result<(), String> {
    match domain {
        Domain::Choices(values) if values.is_empty() => Err("an empty list of choices".into()),
        Domain::Choices(_) => Ok(()),
        Domain::Range(_) if strategy == Strategy::Grid => {
            Err("grid search needs a list of values, not a range".into())
        }
        Domain::Range(Range::LogUniform([a, b])) => {
            if a.is_finite() && b.is_finite() && *a > 0.0 && a <= b {
                Ok(())
            } else {
                Err(format!("log_uniform needs 0 < a ≤ b, found [{a}, {b}]"))
            }
        }
        Domain::Range(Range::Uniform([a, b])) => {
            if a.is_finite() && b.is_finite() && a <= b {
                Ok(())
            } else {
                Err(format!("uniform needs a ≤ b, found [{a}, {b}]"))
            }
        }
        Domain::Range(Range::IntUniform([a, b])) => {
            if a <= b {
                Ok(())
            } else {
                Err(format!("int_uniform needs a ≤ b, found [{a}, {b}]"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_at_k_parses_keys_and_rejects_the_rest() {
        assert_eq!(
            MetricAtK::parse("ndcg@20"),
            Ok(MetricAtK {
                metric: Metric::Ndcg,
                k: 20
            })
        );
        assert_eq!(
            MetricAtK::parse("Recall@5").map(|m| m.metric),
            Ok(Metric::Recall)
        );
        assert!(MetricAtK::parse("ndcg").is_err());
        assert!(MetricAtK::parse("ndcg@0").is_err());
        assert!(MetricAtK::parse("auc@20").unwrap_err().contains("hit_rate"));
    }

    #[test]
    fn spaces_parse_lists_and_ranges_and_name_bad_keys() {
        let text = r#"
            metric = "recall@10"
            strategy = "halving"
            [als]
            factors = [32, 64]
            alpha = { log_uniform = [0.1, 50.0] }
            iterations = { int_uniform = [5, 30] }
        "#;
        let config: TuneConfig = toml::from_str(text).unwrap();
        let checked = config.check(7).unwrap();
        assert_eq!(checked.seed, 7);
        assert_eq!(checked.spaces[0].0, ModelKind::Als);
        assert_eq!(checked.spaces[0].1.len(), 3);

        let bad: TuneConfig = toml::from_str("[alss]\nfactors = [1]").unwrap();
        assert!(bad.check(1).unwrap_err().starts_with("tune.alss"));
        let grid: TuneConfig =
            toml::from_str("strategy = \"grid\"\n[als]\nalpha = { uniform = [1.0, 2.0] }").unwrap();
        assert!(grid.check(1).unwrap_err().contains("tune.als.alpha"));
        let reversed: TuneConfig =
            toml::from_str("[als]\nalpha = { log_uniform = [2.0, 1.0] }").unwrap();
        assert!(reversed.check(1).is_err());
    }
}
