//! The report: every number of every model with its K, variant and interval, the
//! protocol and the counts (`metrics.json`). `clickrec-report` renders it for people.

mod tuning;

pub use tuning::{Tuning, TuningTrial};

use std::collections::BTreeMap;
use std::sync::Arc;

use clickrec_core::{Leakage, TestSetCounts};
use serde::{Deserialize, Serialize};

use crate::bootstrap::{
    Estimate, PairedComparison, holm, interval, paired_from_draws_raw, resample_means,
};
use crate::config::{CheckedEval, headline_k};
use crate::error::EvalError;
use crate::evaluate::{EvalData, ModelEvaluation, Population, SegmentSummary};
use crate::metric::{Metric, Metrics, Variant};
use crate::next_item::{NextItemReport, NextItemSummary};

/// How the lists were made and the test set was cut, as the caller describes it; the
/// report prints it next to the numbers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// The split, in words (e.g. "last session per user, 30 min gap").
    pub split: String,
    /// Whether the lists leave out items the user has in train.
    pub exclude_seen: bool,
    /// Length of the lists as produced.
    pub n_recommended: usize,
    /// How much of train comes after test users' first test events, when the caller
    /// measured it (the split stage does).
    #[serde(default)]
    pub leakage: Option<Leakage>,
    /// The test items were drawn at random from each user's items (`[split] kind =
    /// "random"`, for logs without time), not cut in time: the split is not time-aware
    /// and leakage is not measurable, which every report says instead of a leakage line.
    #[serde(default)]
    pub random_split: bool,
    /// What users without train history got from models that need it, in words (e.g.
    /// "no list" or "the popularity list"), when the caller knows.
    #[serde(default)]
    pub without_history: Option<String>,
    /// Names of the lists that are simple baselines (popularity, recent popularity, the
    /// user's recent items); the headline table marks the best of them.
    #[serde(default)]
    pub baselines: Vec<String>,
}

/// The evaluation settings, echoed in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    pub ks: Vec<usize>,
    /// The K that charts and summary sentences single out.
    pub headline_k: usize,
    pub bootstrap_samples: usize,
    pub confidence: f64,
    pub seed: u64,
    /// How intervals are computed, in words.
    pub interval_method: String,
}

/// Users evaluated and skipped in one variant (the same for every model).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantCounts {
    pub variant: Variant,
    pub label: String,
    pub evaluated_users: u64,
    /// Test users whose target set in this variant is empty.
    pub skipped_users: u64,
}

/// One model at one K of one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AtK {
    pub k: usize,
    /// The ranking metrics with bootstrap intervals.
    #[serde(flatten)]
    pub metrics: Metrics<Estimate>,
    /// Distinct items in the top-K lists of the evaluated users / catalogue size.
    pub coverage: f64,
    pub distinct_items: u64,
    /// Mean train-popularity percentile of the top-K items (0–100, 100 = most popular).
    pub popularity_percentile: Option<f64>,
    /// Share of the top-K items the user already had in train.
    pub seen_share: Option<f64>,
}

/// One model in one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantReport {
    pub variant: Variant,
    pub evaluated_users: u64,
    pub skipped_users: u64,
    /// Evaluated users without a list, or with an empty list after the variant's filter.
    pub users_without_recommendations: u64,
    pub at_k: Vec<AtK>,
    /// Activity buckets, then cold and warm (point estimates).
    pub segments: Vec<SegmentSummary>,
}

/// One model. In `metrics.json` its `variants` list ends with the `next_item` entry
/// when the next-item protocol ran.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelReport {
    pub name: String,
    /// Test users without a list (scored 0).
    pub users_without_recommendations: u64,
    /// Lists of users outside the test set (ignored).
    pub ignored_lists: u64,
    /// Whether intervals and comparisons were computed for this model.
    pub bootstrapped: bool,
    /// The five variants, main one first.
    pub variants: Vec<VariantReport>,
    /// The next-item protocol's results, when it ran for this model.
    pub next_item: Option<NextItemReport>,
}

/// A `variants` entry of `metrics.json`: a set-of-items variant or the next-item one.
#[derive(Serialize)]
#[serde(untagged)]
enum VariantEntry<'a> {
    Items(&'a VariantReport),
    NextItem(&'a NextItemReport),
}

impl Serialize for ModelReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let variants: Vec<VariantEntry<'_>> = self
            .variants
            .iter()
            .map(VariantEntry::Items)
            .chain(self.next_item.iter().map(VariantEntry::NextItem))
            .collect();
        let mut s = serializer.serialize_struct("ModelReport", 5)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field(
            "users_without_recommendations",
            &self.users_without_recommendations,
        )?;
        s.serialize_field("ignored_lists", &self.ignored_lists)?;
        s.serialize_field("bootstrapped", &self.bootstrapped)?;
        s.serialize_field("variants", &variants)?;
        s.end()
    }
}

impl ModelReport {
    pub fn variant(&self, variant: Variant) -> &VariantReport {
        &self.variants[variant.index()]
    }

    /// The estimate of `metric` at `k` in `variant`.
    pub fn estimate(&self, variant: Variant, metric: Metric, k: usize) -> Option<Estimate> {
        self.variant(variant)
            .at_k
            .iter()
            .find(|a| a.k == k)
            .map(|a| *a.metrics.get(metric))
    }
}

/// Resample means kept for [`Report::compare`] (not serialized).
#[derive(Debug)]
struct Draws {
    /// Per model (`None`: not bootstrapped): `[resample][variant][slot]`.
    per_model: Vec<Option<Vec<f64>>>,
    /// Values per resample: variants × slots.
    width: usize,
    /// Values per variant: metrics × cut-offs.
    slots: usize,
}

/// How the kept targets divide under the user's train row: new to the user, or
/// "repeat" targets the user already had (only lists that allow seen items can hit them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TargetKinds {
    pub new_to_user: u64,
    pub repeat: u64,
}

/// The cold test users' results: every model in the headline variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColdUsers {
    /// Test users without train events.
    pub users: u64,
    /// Of them, those with targets in the headline variant (the others are skipped).
    pub evaluated_users: u64,
    /// Per model, in the order evaluated.
    pub models: Vec<ColdModel>,
}

/// One model on the cold users.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColdModel {
    pub name: String,
    /// Evaluated cold users without a list (they score 0).
    pub users_without_recommendations: u64,
    /// The headline variant at every K, with intervals over cold users.
    pub at_k: Vec<AtK>,
}

/// Everything the evaluator found; see the module docs. Serialize it for `metrics.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub protocol: Protocol,
    pub settings: Settings,
    /// The variant headline tables show: new-to-user targets when the lists leave out
    /// seen items, all targets otherwise.
    pub headline_variant: Variant,
    /// Targets new to their user vs. repeat targets.
    pub target_kinds: TargetKinds,
    /// The simple baseline with the best Recall at the headline K in the headline
    /// variant, if the report has any.
    pub best_baseline: Option<String>,
    /// Which comparisons the Holm–Bonferroni correction covers, in words.
    pub comparison_family: String,
    /// Items of the train matrix (the denominator of coverage).
    pub catalogue_items: usize,
    /// Test users, cold users, kept and dropped targets, users without targets.
    pub test_set: TestSetCounts,
    /// The test users every number above and below covers (warm ones when cold users are
    /// evaluated apart, see [`crate::Evaluator`]).
    pub population: Population,
    /// The cold test users' results, when they were evaluated apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_users: Option<ColdUsers>,
    /// Evaluated and skipped users per variant.
    pub variants: Vec<VariantCounts>,
    pub models: Vec<ModelReport>,
    /// Every pair of bootstrapped models on Recall and NDCG at every K, in the headline
    /// variant; those at the headline K form the Holm–Bonferroni family.
    pub comparisons: Vec<PairedComparison>,
    /// Training loss per iteration, by model name (as given).
    pub training_loss: BTreeMap<String, Vec<f64>>,
    /// Fitted coefficients by model name, for models that have them (the re-ranker's
    /// logistic regression): (feature, coefficient) in the model's order. Empty unless
    /// the caller adds some.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub coefficients: BTreeMap<String, Vec<(String, f64)>>,
    /// The next-item protocol's sessions and paired comparisons, when it ran (each
    /// model's numbers are in its `variants`, entry `next_item`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_item: Option<NextItemSummary>,
    /// The parameter search that chose the models' values, when `clickrec tune` ran it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuning: Option<Tuning>,
    /// Anything that limits the report (models evaluated on other data, repeated names).
    pub warnings: Vec<String>,
    #[serde(skip)]
    draws: Option<Arc<Draws>>,
}

/// Builds the report: bootstrap intervals for every metric, K and variant of every
/// model, and paired comparisons of every pair of models on Recall and NDCG at every K
/// (all targets / all items).
///
/// Models must have been evaluated on `data` with `config`'s cut-offs; a model that was
/// not is reported with its averages only, and a warning says why.
pub fn build_report(
    protocol: Protocol,
    data: &EvalData,
    models: &[ModelEvaluation],
    training_loss: &BTreeMap<String, Vec<f64>>,
    config: &CheckedEval,
) -> Report {
    let membership = data.membership();
    let n_test = data.covered_users();
    let mut warnings = Vec::new();
    let usable: Vec<bool> = models
        .iter()
        .map(|m| {
            if m.ks() != config.ks() {
                warnings.push(format!(
                    "model {:?} was evaluated at K = {:?}, not at the configured {:?}: it has no intervals or comparisons",
                    m.name(),
                    m.ks(),
                    config.ks()
                ));
                false
            } else if m.membership() != membership.as_slice() {
                warnings.push(format!(
                    "model {:?} was evaluated on other test users or another train matrix: it has no intervals or comparisons",
                    m.name()
                ));
                false
            } else {
                true
            }
        })
        .collect();
    for (i, m) in models.iter().enumerate() {
        if models[..i].iter().any(|o| o.name() == m.name()) {
            warnings.push(format!(
                "two models are named {:?}: comparisons by name use the first",
                m.name()
            ));
        }
    }
    let chosen: Vec<&ModelEvaluation> = models
        .iter()
        .zip(&usable)
        .filter(|(_, ok)| **ok)
        .map(|(m, _)| m)
        .collect();
    let samples = config.bootstrap_samples();
    let slots = Metric::ALL.len() * config.ks().len();
    let width = Variant::ALL.len() * slots;
    let mut means = if samples > 0 && !chosen.is_empty() {
        resample_means(&chosen, &membership, &Variant::ALL, samples, config.seed())
    } else {
        Vec::new()
    }
    .into_iter();
    let per_model: Vec<Option<Vec<f64>>> = usable
        .iter()
        .map(|&ok| if ok { means.next() } else { None })
        .collect();

    let model_reports = models
        .iter()
        .zip(&per_model)
        .map(|(m, draws)| model_report(m, draws.as_deref(), width, config.confidence()))
        .collect::<Vec<_>>();

    let draws = Draws {
        per_model,
        width,
        slots,
    };
    let headline_variant = Variant::headline(protocol.exclude_seen);
    let headline_k = config.headline_k();
    let mut comparisons = Vec::new();
    for i in 0..models.len() {
        for j in i + 1..models.len() {
            if !(usable[i] && usable[j]) {
                continue;
            }
            for metric in [Metric::Recall, Metric::Ndcg] {
                for &k in config.ks() {
                    if let Ok(c) = compare_indices(
                        &model_reports,
                        &draws,
                        (i, j),
                        (metric, k, headline_variant),
                        config.confidence(),
                    ) {
                        comparisons.push(c);
                    }
                }
            }
        }
    }
    let mut family: Vec<&mut PairedComparison> = comparisons
        .iter_mut()
        .filter(|c| c.k == headline_k)
        .collect();
    let family_size = family.iter().filter(|c| c.p_value.is_some()).count();
    holm(&mut family);
    let comparison_family = format!(
        "every pair of models on Recall@{headline_k} and NDCG@{headline_k} ({}): {family_size} tests, Holm–Bonferroni at α = {:.3}; comparisons at other K are uncorrected",
        headline_variant.label(),
        1.0 - config.confidence()
    );
    let best_baseline = protocol
        .baselines
        .iter()
        .filter_map(|name| {
            let m = model_reports.iter().find(|m| &m.name == name)?;
            let recall = m
                .estimate(headline_variant, Metric::Recall, headline_k)?
                .mean;
            Some((name.clone(), recall))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(name, _)| name);
    if protocol.baselines.is_empty() {
        warnings.push(
            "no simple baseline (popularity, popularity_recent, recent) among the lists: nothing shows how much better than trivial the models are".into(),
        );
    }

    let variants = Variant::ALL
        .iter()
        .map(|&variant| {
            let evaluated = membership
                .iter()
                .filter(|&&m| m & (1 << variant.index()) != 0)
                .count() as u64;
            VariantCounts {
                variant,
                label: variant.label().to_owned(),
                evaluated_users: evaluated,
                skipped_users: n_test - evaluated,
            }
        })
        .collect::<Vec<VariantCounts>>();
    let headline_users = variants[headline_variant.index()].evaluated_users;
    warnings.extend(too_small(headline_users, data.train.n_items(), headline_k));
    Report {
        headline_variant,
        target_kinds: target_kinds(data),
        best_baseline,
        comparison_family,
        protocol,
        settings: Settings {
            ks: config.ks().to_vec(),
            headline_k: config.headline_k(),
            bootstrap_samples: samples,
            confidence: config.confidence(),
            seed: config.seed(),
            interval_method: format!(
                "percentile bootstrap over test users: {samples} resamples (seed {}), the same resampled users for every model; paired comparisons bootstrap the per-user difference",
                config.seed()
            ),
        },
        catalogue_items: data.train.n_items(),
        test_set: *data.test.counts(),
        population: data.population,
        cold_users: None,
        variants,
        models: model_reports,
        comparisons,
        training_loss: training_loss.clone(),
        coefficients: BTreeMap::new(),
        next_item: None,
        tuning: None,
        warnings,
        draws: Some(Arc::new(draws)),
    }
}

/// Fewer evaluated users than this make the headline's intervals too wide to rank on.
pub const MIN_USERS: u64 = 50;

/// Warnings for an evaluation too small to mean much: few evaluated users, or a catalogue
/// so close to K that a list of K items holds most of it (Recall@K near 1 by construction).
fn too_small(users: u64, catalogue: usize, k: usize) -> Vec<String> {
    let mut out = Vec::new();
    if users < MIN_USERS {
        out.push(format!(
            "only {users} test users are evaluated in the headline (fewer than {MIN_USERS}): the intervals are wide and the ranking may not hold on other data"
        ));
    }
    if catalogue > 0 && catalogue <= 4 * k {
        out.push(format!(
            "the catalogue has {catalogue} items and K = {k}: a top-{k} list holds {:.0}% of it, so high scores at K say little",
            100.0 * (k.min(catalogue) as f64) / catalogue as f64
        ));
    }
    out
}

/// Kept targets new to their user, and repeat targets (in the user's train row).
fn target_kinds(data: &EvalData) -> TargetKinds {
    let mut kinds = TargetKinds::default();
    for tu in data
        .test
        .iter()
        .filter(|tu| data.population.covers(tu.cold))
    {
        let row: &[u32] = if (tu.user.0 as usize) < data.train.n_users() {
            data.train.row(tu.user).0
        } else {
            &[]
        };
        let repeat = tu
            .targets
            .iter()
            .filter(|t| row.binary_search(&t.0).is_ok())
            .count() as u64;
        kinds.repeat += repeat;
        kinds.new_to_user += tu.targets.len() as u64 - repeat;
    }
    kinds
}

fn model_report(
    m: &ModelEvaluation,
    draws: Option<&[f64]>,
    width: usize,
    confidence: f64,
) -> ModelReport {
    let nk = m.ks().len();
    let slots = Metric::ALL.len() * nk;
    let variants = m
        .variants()
        .iter()
        .map(|v| {
            let at_k = v
                .at_k
                .iter()
                .enumerate()
                .map(|(ki, s)| {
                    let metrics = Metrics::from_fn(|metric| {
                        let mean = *s.metrics.get(metric);
                        let column = v.variant.index() * slots + metric.index() * nk + ki;
                        let ci = draws.and_then(|d| {
                            interval(
                                d.chunks_exact(width).map(|row| row[column]).collect(),
                                confidence,
                            )
                        });
                        Estimate::new(mean, ci)
                    });
                    AtK {
                        k: s.k,
                        metrics,
                        coverage: s.coverage,
                        distinct_items: s.distinct_items,
                        popularity_percentile: s.popularity_percentile,
                        seen_share: s.seen_share,
                    }
                })
                .collect();
            VariantReport {
                variant: v.variant,
                evaluated_users: v.evaluated_users,
                skipped_users: v.skipped_users,
                users_without_recommendations: v.users_without_recommendations,
                at_k,
                segments: v.segments.clone(),
            }
        })
        .collect();
    ModelReport {
        name: m.name().to_owned(),
        users_without_recommendations: m.users_without_recommendations(),
        ignored_lists: m.ignored_lists(),
        bootstrapped: draws.is_some(),
        variants,
        next_item: None,
    }
}

fn compare_indices(
    models: &[ModelReport],
    draws: &Draws,
    (i, j): (usize, usize),
    (metric, k, variant): (Metric, usize, Variant),
    confidence: f64,
) -> Result<PairedComparison, EvalError> {
    let (a, b) = (&models[i], &models[j]);
    let mean = |m: &ModelReport| {
        m.estimate(variant, metric, k)
            .map(|e| e.mean)
            .ok_or_else(|| EvalError::UnknownK {
                k,
                ks: m.variant(variant).at_k.iter().map(|a| a.k).collect(),
            })
    };
    let (mean_a, mean_b) = (mean(a)?, mean(b)?);
    let nk = draws.slots / Metric::ALL.len();
    let ki = a
        .variant(variant)
        .at_k
        .iter()
        .position(|x| x.k == k)
        .unwrap_or(0);
    let column = variant.index() * draws.slots + metric.index() * nk + ki;
    let resampled = match (&draws.per_model[i], &draws.per_model[j]) {
        (Some(da), Some(db)) => Some((da.as_slice(), db.as_slice(), draws.width, column)),
        _ => None,
    };
    Ok(paired_from_draws_raw(
        (&a.name, &b.name),
        (metric, k, variant),
        (mean_a, mean_b),
        resampled,
        confidence,
    ))
}

impl Report {
    /// Paired bootstrap comparison of models `a` and `b` (by name) on `metric` at `k` in
    /// `variant`, from the report's resamples: equal to [`crate::compare_models`] on the
    /// two evaluations with the report's settings.
    pub fn compare(
        &self,
        a: &str,
        b: &str,
        metric: Metric,
        k: usize,
        variant: Variant,
    ) -> Result<PairedComparison, EvalError> {
        let find = |name: &str| {
            self.models
                .iter()
                .position(|m| m.name == name)
                .ok_or_else(|| EvalError::UnknownModel(name.to_owned()))
        };
        let (i, j) = (find(a)?, find(b)?);
        if !self.settings.ks.contains(&k) {
            return Err(EvalError::UnknownK {
                k,
                ks: self.settings.ks.clone(),
            });
        }
        let empty = Draws {
            per_model: vec![None; self.models.len()],
            width: 0,
            slots: Metric::ALL.len() * self.settings.ks.len(),
        };
        let draws = self.draws.as_deref().unwrap_or(&empty);
        if self.settings.bootstrap_samples > 0
            && (draws.per_model[i].is_none() || draws.per_model[j].is_none())
        {
            return Err(EvalError::NotComparable {
                a: a.to_owned(),
                b: b.to_owned(),
                reason: "one of them was not evaluated on the report's test users and cut-offs"
                    .into(),
            });
        }
        compare_indices(
            &self.models,
            draws,
            (i, j),
            (metric, k, variant),
            self.settings.confidence,
        )
    }

    /// Adds the next-item protocol's results (from [`crate::next_item_reports`]) to the
    /// models of the same name; a model without lists in the report is named in a warning.
    pub fn add_next_item(&mut self, reports: Vec<NextItemReport>, summary: NextItemSummary) {
        for report in reports {
            match self.models.iter_mut().find(|m| m.name == report.model) {
                Some(m) => m.next_item = Some(report),
                None => self.warnings.push(format!(
                    "model {:?} was evaluated next-item but has no lists in this report: its next-item results are left out",
                    report.model
                )),
            }
        }
        self.next_item = Some(summary);
    }

    /// Adds the parameter search that chose the models' values.
    pub fn add_tuning(&mut self, tuning: Tuning) {
        self.tuning = Some(tuning);
    }

    /// The model named `name`.
    pub fn model(&self, name: &str) -> Option<&ModelReport> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The K that charts and summary sentences single out.
    pub fn headline_k(&self) -> usize {
        headline_k(&self.settings.ks)
    }

    /// `metrics.json`: the report as pretty-printed JSON (non-finite numbers as `null`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
    }

    /// Whether `model` has lists in the headline variant for some evaluated user. A list
    /// of seen items only (the user's recent items) has none when the headline counts new
    /// items only: it cannot be ranked there.
    pub fn scores_in_headline(&self, model: &ModelReport) -> bool {
        let v = model.variant(self.headline_variant);
        v.evaluated_users == 0 || v.users_without_recommendations < v.evaluated_users
    }

    /// Whether every test user is cold (no train history), as on a session-only log:
    /// models that rank from the user's history have nothing to go on.
    pub fn all_cold(&self) -> bool {
        self.test_set.cold_users == self.test_set.test_users
    }

    /// The next-item results when they, not the set-of-items headline, say which model is
    /// best: the protocol ran, and every test user is cold or the headline variant
    /// evaluated no one, so the set-of-items numbers are zeros that could only mislead.
    /// The terminal, Markdown and HTML answers all follow this one rule.
    pub fn next_item_headline(&self) -> Option<&NextItemSummary> {
        let nobody = self.variants[self.headline_variant.index()].evaluated_users == 0;
        self.next_item
            .as_ref()
            .filter(|_| self.all_cold() || nobody)
    }

    /// The model with the highest Recall at the headline K in the headline variant, among
    /// those that score there (ties: the first name in order).
    pub fn best_model(&self) -> Option<&ModelReport> {
        let (variant, k) = (self.headline_variant, self.headline_k());
        self.models
            .iter()
            .filter(|m| self.scores_in_headline(m))
            .filter_map(|m| Some((m, m.estimate(variant, Metric::Recall, k)?.mean)))
            .filter(|(_, recall)| recall.is_finite())
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.name.cmp(&a.0.name)))
            .map(|(m, _)| m)
    }

    /// The headline-variant comparison of `a` against `b` on `metric` at `k`, as `a − b`
    /// (a stored `b − a` comparison turned around).
    pub fn margin(&self, a: &str, b: &str, metric: Metric, k: usize) -> Option<PairedComparison> {
        let found = self.comparisons.iter().find(|c| {
            c.metric == metric
                && c.k == k
                && ((c.model_a == a && c.model_b == b) || (c.model_a == b && c.model_b == a))
        })?;
        Some(if found.model_a == a {
            found.clone()
        } else {
            found.reversed()
        })
    }
}
