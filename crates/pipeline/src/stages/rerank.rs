//! `rerank`: the two-stage re-ranker over several generators' candidates.
//!
//! The re-ranker learns on the validation split only: its generators are refitted on the
//! validation-train events (train minus each user's last train session) and candidates are
//! labelled by that held-out validation session. Only then are the full-train generators
//! (the train and segment stages' models) re-ranked for the recommend users. The test
//! files are never read while learning.

use std::cell::RefCell;
use std::path::Path;
use std::time::Instant;

use clickrec_core::{EventLog, UserItemMatrix};
use clickrec_io::{read_events, read_split_id_maps, write_atomic, write_json};
use clickrec_models::{Model, ModelKind};
use clickrec_rerank::{
    CheckedRerank, Generator, History, LogisticFitter, LogisticProblem, Reranker, TrainReport,
};
use clickrec_segment::VectorSource;
use serde::Serialize;

use crate::artifacts::{
    RERANK_REPORT_FILE, RERANKER_FILE, RecommendRecord, TRAIN_FILE, TrainPlacement,
    load_recommender, read_matrix,
};
use crate::config::{ListSource, Plan};
use crate::engine::{Engine, SparkEngine};
use crate::error::PipelineError;
use crate::output::StageOutput;
use crate::progress::Bars;
use crate::stages::recommend::{recommend_users, write_lists};
use crate::stages::segment::fit_segments;
use crate::stages::train::{behavior_weights, fit_model};
use crate::validation::read_validation;

/// What `rerank.json` records.
#[derive(Serialize)]
struct RerankRecord {
    generators: Vec<&'static str>,
    /// Logistic-regression coefficients on standardised features, by feature name.
    coefficients: Vec<(String, f64)>,
    intercept: f64,
    training: TrainReport,
    /// Where the logistic regression ran, on the Spark engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    placement: Option<TrainPlacement>,
    validation_fit_seconds: f64,
    recommend: RecommendRecord,
}

/// The re-ranker's logistic regression on MLlib when its standardised rows
/// (`8·rows·features` bytes as the f64 matrix linfa fits) outgrow the share of memory.
struct MllibLogistic<'a> {
    spark: &'a SparkEngine,
    /// The rule's answer, once asked.
    placement: RefCell<Option<TrainPlacement>>,
}

impl LogisticFitter for MllibLogistic<'_> {
    fn takes(&self, rows: usize, features: usize) -> bool {
        let bytes = 8 * rows as u64 * features as u64;
        let place = self.spark.placement("8·rows·features", bytes);
        let takes = place.on_mllib();
        *self.placement.borrow_mut() = Some(place);
        takes
    }

    fn fit(&self, problem: &LogisticProblem<'_>) -> Result<(Vec<f64>, f64), String> {
        self.spark.fit_logistic(problem).map_err(|e| e.to_string())
    }
}

/// What [`learn_reranker`] gives: the model, what training saw, where the logistic fit ran
/// and the generators' refit time.
struct Learned {
    reranker: Reranker,
    training: TrainReport,
    placement: Option<TrainPlacement>,
    fit_seconds: f64,
}

/// Fits the generators on the validation-train events and learns the re-ranker from the
/// validation sessions; reads nothing of the test split.
fn learn_reranker(
    plan: &Plan,
    generators: &[ListSource],
    engine: &dyn Engine,
    bars: &dyn Bars,
) -> Result<Learned, PipelineError> {
    let Some((params, _)) = &plan.rerank else {
        return Err(PipelineError::NotConfigured("rerank"));
    };
    let dir = &plan.out;
    let started = Instant::now();
    let ids = read_split_id_maps(dir)?;
    let validation = read_validation(plan)?;
    let events = validation.path.clone();
    let (log, matrix) = (&validation.train.log, &validation.train.matrix);
    let data = validation.train_data(&validation.train);
    // ALS is also needed when segments are built from its user factors.
    let needs_als = plan
        .segment
        .as_ref()
        .is_some_and(|s| s.params().vectors == VectorSource::AlsFactors)
        && generators.contains(&ListSource::SegmentPopular);
    let mut models: Vec<Model> = Vec::new();
    for checked in &plan.models {
        let kind = checked.kind();
        if generators.contains(&ListSource::Model(kind)) || (needs_als && kind == ModelKind::Als) {
            let label = format!("{} (validation)", kind.name());
            models.push(fit_model(
                plan,
                checked,
                &data,
                &events,
                bars.bar(&label, "iterations"),
            )?);
        }
    }
    let segments = match &plan.segment {
        Some(checked) if generators.contains(&ListSource::SegmentPopular) => {
            let als = models.iter().find(|m| m.kind() == ModelKind::Als);
            Some(fit_segments(
                plan, engine, checked, log, &events, &ids, als, false,
            )?)
        }
        _ => None,
    };
    let mut named: Vec<Generator<'_>> = Vec::new();
    for &source in generators {
        let model: &dyn clickrec_recommend::Recommender = match source {
            ListSource::Model(kind) => models
                .iter()
                .find(|m| m.kind() == kind)
                .map(|m| m as &dyn clickrec_recommend::Recommender),
            ListSource::SegmentPopular => segments
                .as_ref()
                .map(|s| &s.popular as &dyn clickrec_recommend::Recommender),
            ListSource::Rerank => None,
        }
        .ok_or(PipelineError::NotAGenerator(source.name()))?;
        named.push(Generator {
            name: source.name(),
            model,
        });
    }
    let fit_seconds = started.elapsed().as_secs_f64();
    let history = history(plan, params, log, &events, matrix)?;
    let bar = bars.bar("rerank (learning)", "users");
    let mllib = engine.spark().map(|spark| MllibLogistic {
        spark,
        placement: RefCell::new(None),
    });
    let (reranker, training) = clickrec_rerank::train(
        &named,
        &history,
        matrix,
        &validation.test,
        params,
        plan.config.recommend.exclude_seen,
        plan.seed,
        bar.as_ref(),
        mllib.as_ref().map(|m| m as &dyn LogisticFitter),
    )
    .map_err(|source| PipelineError::Rerank {
        path: events.clone(),
        source,
    })?;
    Ok(Learned {
        reranker,
        training,
        placement: mllib.and_then(|m| m.placement.into_inner()),
        fit_seconds,
    })
}

/// What the re-ranker's features know of a train log: each user's events and the items'
/// popularity, over the same id space as `matrix`.
fn history<'a>(
    plan: &Plan,
    params: &CheckedRerank,
    log: &'a EventLog,
    events: &Path,
    matrix: &UserItemMatrix,
) -> Result<History<'a>, PipelineError> {
    History::new(
        log,
        matrix,
        behavior_weights(plan),
        params.params().recent_days,
    )
    .map_err(|source| PipelineError::Rerank {
        path: events.to_owned(),
        source,
    })
}

/// Learns the re-ranker on the validation split, then re-ranks the full-train generators'
/// candidates for the recommend users → `recs/rerank.*`, `models/rerank.json`, `rerank.json`.
pub(crate) fn run(
    plan: &Plan,
    engine: &dyn Engine,
    bars: &dyn Bars,
) -> Result<StageOutput, PipelineError> {
    let Some((params, generators)) = &plan.rerank else {
        return Err(PipelineError::NotConfigured("rerank"));
    };
    let dir = &plan.out;
    let Learned {
        reranker,
        training,
        placement,
        fit_seconds: validation_fit_seconds,
    } = learn_reranker(plan, generators, engine, bars)?;
    let reranker_path = dir.join(RERANKER_FILE);
    let model = serde_json::to_string_pretty(&reranker).map_err(|source| {
        clickrec_io::ArtifactError::Json {
            path: reranker_path.clone(),
            what: "re-ranker",
            source,
        }
    })?;
    write_atomic(&reranker_path, model.as_bytes())?;

    // Second pass: the full-train generators, re-ranked for the recommend users.
    let ids = read_split_id_maps(dir)?;
    let train_path = dir.join(TRAIN_FILE);
    let (log, _) = read_events(&train_path, &ids)?;
    let matrix: UserItemMatrix = read_matrix(dir)?;
    let users = recommend_users(plan, &matrix)?;
    let models = generators
        .iter()
        .map(|&source| load_recommender(dir, &ids, source))
        .collect::<Result<Vec<_>, _>>()?;
    let named: Vec<Generator<'_>> = generators
        .iter()
        .zip(&models)
        .map(|(source, model)| Generator {
            name: source.name(),
            model: model.as_ref(),
        })
        .collect();
    let history = history(plan, params, &log, &train_path, &matrix)?;
    let config = &plan.config.recommend;
    // Lists and candidate lists hold each item once: longer ones are cut to the
    // catalogue (clickrec-recommend's top-N does so too), with a note.
    let n_items = matrix.n_items();
    let (n, n_note) =
        clickrec_core::cap_at_catalogue("recommend.n", config.n, n_items, "recommending");
    let (_, m_note) = clickrec_core::cap_at_catalogue(
        "rerank.candidates_per_generator",
        params.params().candidates_per_generator,
        n_items,
        "taking",
    );
    let recommend = write_lists(
        plan,
        &ids,
        ListSource::Rerank,
        users.len(),
        bars,
        |path, on_block| {
            reranker
                .recommend_blocks(
                    &named,
                    &history,
                    &matrix,
                    &users,
                    n,
                    config.exclude_seen,
                    params,
                    |block| {
                        on_block(block);
                        Ok(())
                    },
                )
                .map_err(|source| PipelineError::Rerank {
                    path: path.to_owned(),
                    source,
                })
        },
    )?;
    let record = RerankRecord {
        generators: generators.iter().map(|g| g.name()).collect(),
        coefficients: reranker.coefficients_table(),
        intercept: reranker.intercept(),
        training,
        placement,
        validation_fit_seconds,
        recommend,
    };
    write_json(&dir.join(RERANK_REPORT_FILE), &record)?;
    Ok(StageOutput {
        details: String::new(),
        text: format!(
            "{}{}{}",
            m_note.unwrap_or_default(),
            n_note.unwrap_or_default(),
            rerank_text(&record, n)
        ),
        summary: serde_json::to_value(&record).unwrap_or_default(),
        artifacts: vec![
            RERANKER_FILE.to_owned(),
            RERANK_REPORT_FILE.to_owned(),
            record.recommend.file.clone(),
        ],
    })
}

fn rerank_text(record: &RerankRecord, n: usize) -> String {
    let t = &record.training;
    let mut text = format!(
        "rerank: generators {} refitted on validation-train in {:.2} s; learned from {} validation users ({} positives, {} negatives kept; candidates hold {:.1}% of validation targets)\n",
        record.generators.join(", "),
        record.validation_fit_seconds,
        t.users,
        t.positives,
        t.negatives_kept,
        100.0 * t.candidate_recall,
    );
    text.push_str(&format!(
        "  top-{} for {} users in {:.2} s → {}\n  coefficients (standardised features):\n",
        n, record.recommend.users, record.recommend.seconds, record.recommend.file
    ));
    for (name, value) in &record.coefficients {
        text.push_str(&format!("    {name:<24} {value:+.4}\n"));
    }
    if let Some(place) = &record.placement {
        text.push_str(&place.line("  logistic regression"));
    }
    text
}
