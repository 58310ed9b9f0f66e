//! The two-stage stages: user segments with the segment-popular model (`segment`), and the
//! logistic-regression re-ranker over several generators' candidates (`rerank`).
//!
//! The re-ranker learns on the validation split only: its generators are refitted on the
//! validation-train events (train minus each user's last train session) and candidates are
//! labelled by that held-out validation session. Only then are the full-train generators
//! (the train and segment stages' models) re-ranked for the recommend users. The test
//! files are never read while learning.

use std::path::Path;
use std::time::Instant;

use clickrec_core::{EventLog, IdMaps, ItemUserMatrix, UserItemMatrix};
use clickrec_ingest::{read_events, read_id_maps, write_json_atomic};
use clickrec_models::{Model, ModelKind, TrainData};
use clickrec_rerank::{CheckedRerank, Generator, History, RerankError, Reranker, TrainReport};
use clickrec_segment::{
    CheckedSegment, SegmentPopular, SegmentSummary, Segmentation, UserVectors, VectorSource,
};
use serde::Serialize;

use crate::config::{ListSource, Plan};
use crate::error::PipelineError;
use crate::model_stages::{
    RecommendRecord, behavior_weights, fit_model, load_recommender, read_matrix,
    read_test_set_file, recommend_users, write_lists, write_text,
};
use crate::runner::Bars;
use crate::stages::{StageOutput, TRAIN_FILE, VALIDATION_SET_FILE, VALIDATION_TRAIN_FILE};

pub const SEGMENT_ASSIGNMENTS_FILE: &str = "segments/assignments.csv";
pub const SEGMENT_SUMMARY_FILE: &str = "segments/summary.json";
pub const SEGMENT_POPULAR_FILE: &str = "models/segment_popular.json";
pub const RERANKER_FILE: &str = "models/rerank.json";
pub const RERANK_REPORT_FILE: &str = "rerank.json";

fn segment_error(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Model(format!("segment: {e}"))
}

fn rerank_error(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Model(format!("rerank: {e}"))
}

/// Segments fitted on one train log, with their segment-popular model.
struct Segments {
    segmentation: Segmentation,
    popular: SegmentPopular,
    vector_dims: usize,
    /// Inertia per `segment.sweep` k (computed only when asked).
    sweep: Vec<(usize, f64)>,
}

/// k-means over the users of `log` (category profiles, or the user factors of `als`),
/// then the most popular items per segment.
fn fit_segments(
    plan: &Plan,
    checked: &CheckedSegment,
    log: &EventLog,
    n_users: usize,
    n_items: usize,
    als: Option<&Model>,
    with_sweep: bool,
) -> Result<Segments, PipelineError> {
    let params = checked.params();
    let weights = behavior_weights(plan);
    let vectors = match params.vectors {
        VectorSource::CategoryProfile => {
            UserVectors::category_profiles(log, n_users, weights, params.profile_categories)
        }
        VectorSource::AlsFactors => match als {
            Some(Model::Als(als)) => {
                let factors = als.user_factors();
                UserVectors::from_factors(factors.rows(), factors.dim(), factors.as_slice())
            }
            _ => {
                return Err(segment_error(
                    "vectors = \"als_factors\" needs a fitted ALS model",
                ));
            }
        },
    };
    let segmentation =
        clickrec_segment::fit_segments(&vectors, checked, plan.seed).map_err(segment_error)?;
    let popular = SegmentPopular::fit(&segmentation, log, weights, n_items, params.popular_items);
    let sweep = if with_sweep {
        clickrec_segment::inertia_sweep(&vectors, &params.sweep, checked, plan.seed)
            .map_err(segment_error)?
    } else {
        Vec::new()
    };
    Ok(Segments {
        segmentation,
        popular,
        vector_dims: vectors.dim(),
        sweep,
    })
}

/// One segment as written to `segments/summary.json`, with external ids.
#[derive(Serialize)]
struct SegmentRecord {
    segment: u32,
    users: usize,
    /// Category id → share of the segment's behaviour-weighted events.
    top_categories: Vec<(String, f64)>,
    /// Item id → behaviour-weighted events of the segment's users.
    top_items: Vec<(String, f32)>,
}

#[derive(Serialize)]
struct SegmentsRecord {
    k: usize,
    vectors: VectorSource,
    dimensions: usize,
    inertia: f64,
    /// Inertia for each `segment.sweep` k, to help choose k.
    sweep: Vec<(usize, f64)>,
    users_without_vector: usize,
    seconds: f64,
    segments: Vec<SegmentRecord>,
}

fn segments_record(
    summary: &SegmentSummary,
    ids: &IdMaps,
    vectors: VectorSource,
    dimensions: usize,
    seconds: f64,
) -> SegmentsRecord {
    SegmentsRecord {
        k: summary.k,
        vectors,
        dimensions,
        inertia: summary.inertia,
        sweep: summary.sweep.clone(),
        users_without_vector: summary.users_without_vector,
        seconds,
        segments: summary
            .segments
            .iter()
            .map(|s| SegmentRecord {
                segment: s.id,
                users: s.size,
                top_categories: s
                    .top_categories
                    .iter()
                    .map(|&(c, share)| (ids.categories.external(c).to_owned(), share))
                    .collect(),
                top_items: s
                    .top_items
                    .iter()
                    .map(|&(i, w)| (ids.items.external(i).to_owned(), w))
                    .collect(),
            })
            .collect(),
    }
}

/// k-means user segments on the train events → `segments/assignments.csv`,
/// `segments/summary.json` and the segment-popular model.
pub(crate) fn run_segment(plan: &Plan, _bars: &dyn Bars) -> Result<StageOutput, PipelineError> {
    let Some(checked) = &plan.segment else {
        return Err(PipelineError::NotConfigured("segment"));
    };
    let params = checked.params();
    let dir = &plan.out;
    let started = Instant::now();
    let ids = read_id_maps(dir)?;
    let (log, _) = read_events(&dir.join(TRAIN_FILE), &ids)?;
    let als = match params.vectors {
        VectorSource::AlsFactors => Some(crate::load_model(dir, &ids, ModelKind::Als)?),
        VectorSource::CategoryProfile => None,
    };
    let segments = fit_segments(
        plan,
        checked,
        &log,
        ids.users.len(),
        ids.items.len(),
        als.as_ref(),
        true,
    )?;
    let summary = clickrec_segment::summarize(
        &segments.segmentation,
        &log,
        behavior_weights(plan),
        params.top_n,
        segments.sweep.clone(),
    );
    let record = segments_record(
        &summary,
        &ids,
        params.vectors,
        segments.vector_dims,
        started.elapsed().as_secs_f64(),
    );
    std::fs::create_dir_all(dir.join("segments")).map_err(|e| PipelineError::Io {
        path: dir.join("segments"),
        action: "cannot create",
        source: e,
    })?;
    let mut csv = String::from("user_id,segment\n");
    for (user, segment) in segments.segmentation.assignment.iter().enumerate() {
        if let Some(segment) = segment {
            csv.push_str(&format!(
                "{},{segment}\n",
                ids.users.external(clickrec_core::UserId(user as u32))
            ));
        }
    }
    write_text(&dir.join(SEGMENT_ASSIGNMENTS_FILE), &csv)?;
    write_json_atomic(&dir.join(SEGMENT_SUMMARY_FILE), &record)?;
    let model = serde_json::to_string(&segments.popular).map_err(segment_error)?;
    write_text(&dir.join(SEGMENT_POPULAR_FILE), &model)?;

    let mut text = format!(
        "segments: k = {} over {} vectors ({} dimensions), inertia {:.2}, {} users without a vector, {:.2} s\n",
        record.k,
        record.vectors.name(),
        record.dimensions,
        record.inertia,
        record.users_without_vector,
        record.seconds
    );
    let sizes: Vec<String> = record
        .segments
        .iter()
        .map(|s| s.users.to_string())
        .collect();
    text.push_str(&format!("  sizes: {}\n", sizes.join(", ")));
    for (k, inertia) in &record.sweep {
        text.push_str(&format!("  sweep: k = {k} → inertia {inertia:.2}\n"));
    }
    Ok(StageOutput {
        text,
        summary: serde_json::json!({
            "k": record.k,
            "inertia": record.inertia,
            "sweep": record.sweep,
            "users_without_vector": record.users_without_vector,
        }),
        artifacts: vec![
            SEGMENT_ASSIGNMENTS_FILE.to_owned(),
            SEGMENT_SUMMARY_FILE.to_owned(),
            SEGMENT_POPULAR_FILE.to_owned(),
        ],
    })
}

/// The segment stage's segment-popular model.
pub(crate) fn load_segment_popular(dir: &Path) -> Result<SegmentPopular, PipelineError> {
    let path = dir.join(SEGMENT_POPULAR_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::Io {
        path: path.clone(),
        action: "cannot read",
        source: e,
    })?;
    serde_json::from_str(&text).map_err(|e| PipelineError::Manifest {
        path,
        message: format!("not a segment-popular model: {e}"),
    })
}

/// What `rerank.json` records.
#[derive(Serialize)]
struct RerankRecord {
    generators: Vec<&'static str>,
    /// Logistic-regression coefficients on standardised features, by feature name.
    coefficients: Vec<(String, f64)>,
    intercept: f64,
    training: TrainReport,
    validation_fit_seconds: f64,
    recommend: RecommendRecord,
}

/// Fits the generators on the validation-train events and learns the re-ranker from the
/// validation sessions; reads nothing of the test split.
fn learn_reranker(
    plan: &Plan,
    generators: &[ListSource],
    bars: &dyn Bars,
) -> Result<(Reranker, TrainReport, f64), PipelineError> {
    let Some((params, _)) = &plan.rerank else {
        return Err(PipelineError::NotConfigured("rerank"));
    };
    let dir = &plan.out;
    let started = Instant::now();
    let ids = read_id_maps(dir)?;
    let (log, sessions) = read_events(&dir.join(VALIDATION_TRAIN_FILE), &ids)?;
    let validation = read_test_set_file(dir.join(VALIDATION_SET_FILE))?;
    let matrix =
        clickrec_prep::build_matrix(&log, ids.users.len(), ids.items.len(), plan.prep.weights())?;
    let item_users: ItemUserMatrix = matrix.transpose();
    let data = TrainData {
        matrix: &matrix,
        item_users: &item_users,
        log: &log,
        behavior_weights: behavior_weights(plan),
        sessions: sessions.as_deref(),
    };
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
                bars.bar(&label, "iterations"),
            )?);
        }
    }
    let segments = match &plan.segment {
        Some(checked) if generators.contains(&ListSource::SegmentPopular) => {
            let als = models.iter().find(|m| m.kind() == ModelKind::Als);
            Some(fit_segments(
                plan,
                checked,
                &log,
                ids.users.len(),
                ids.items.len(),
                als,
                false,
            )?)
        }
        _ => None,
    };
    let mut named: Vec<Generator<'_>> = Vec::new();
    for &source in generators {
        let model: &dyn clickrec_core::Recommender = match source {
            ListSource::Model(kind) => models
                .iter()
                .find(|m| m.kind() == kind)
                .map(|m| m as &dyn clickrec_core::Recommender),
            ListSource::SegmentPopular => segments
                .as_ref()
                .map(|s| &s.popular as &dyn clickrec_core::Recommender),
            ListSource::Rerank => None,
        }
        .ok_or_else(|| rerank_error(format!("generator {} was not fitted", source.name())))?;
        named.push(Generator {
            name: source.name(),
            model,
        });
    }
    let fit_seconds = started.elapsed().as_secs_f64();
    let history = history(plan, params, &log, &matrix)?;
    let bar = bars.bar("rerank (learning)", "users");
    let mut started_bar = false;
    let (reranker, report) = clickrec_rerank::train_observed(
        &named,
        &history,
        &matrix,
        &validation,
        params,
        plan.config.recommend.exclude_seen,
        plan.seed,
        &mut |done, total| {
            if !started_bar {
                bar.start(total as u64);
                started_bar = true;
            }
            bar.advance_to(done as u64);
        },
    )
    .map_err(rerank_error)?;
    bar.finish();
    Ok((reranker, report, fit_seconds))
}

/// What the re-ranker's features know of a train log: each user's events and the items'
/// popularity, over the same id space as `matrix`.
fn history<'a>(
    plan: &Plan,
    params: &CheckedRerank,
    log: &'a EventLog,
    matrix: &UserItemMatrix,
) -> Result<History<'a>, PipelineError> {
    History::new(
        log,
        matrix,
        behavior_weights(plan),
        params.params().recent_days,
    )
    .map_err(rerank_error)
}

/// Learns the re-ranker on the validation split, then re-ranks the full-train generators'
/// candidates for the recommend users → `recs/rerank.*`, `models/rerank.json`, `rerank.json`.
pub(crate) fn run_rerank(plan: &Plan, bars: &dyn Bars) -> Result<StageOutput, PipelineError> {
    let Some((params, generators)) = &plan.rerank else {
        return Err(PipelineError::NotConfigured("rerank"));
    };
    let dir = &plan.out;
    let (reranker, training, validation_fit_seconds) = learn_reranker(plan, generators, bars)?;
    let model = serde_json::to_string_pretty(&reranker).map_err(rerank_error)?;
    write_text(&dir.join(RERANKER_FILE), &model)?;

    // Second pass: the full-train generators, re-ranked for the recommend users.
    let ids = read_id_maps(dir)?;
    let (log, _) = read_events(&dir.join(TRAIN_FILE), &ids)?;
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
    let history = history(plan, params, &log, &matrix)?;
    let config = &plan.config.recommend;
    let recommend = write_lists(
        plan,
        &ids,
        ListSource::Rerank,
        users.len(),
        bars,
        |on_block| {
            reranker.recommend_blocks(
                &named,
                &history,
                &matrix,
                &users,
                config.n,
                config.exclude_seen,
                params,
                |block| {
                    on_block(block);
                    Ok::<(), RerankError>(())
                },
            )
        },
    )?;
    let record = RerankRecord {
        generators: generators.iter().map(|g| g.name()).collect(),
        coefficients: reranker.coefficients_table(),
        intercept: reranker.intercept(),
        training,
        validation_fit_seconds,
        recommend,
    };
    write_json_atomic(&dir.join(RERANK_REPORT_FILE), &record)?;
    Ok(StageOutput {
        text: rerank_text(&record, config.n),
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
    text
}

/// The re-ranker's coefficients by feature name, for the evaluation report.
pub(crate) fn read_coefficients(dir: &Path) -> Result<(String, Vec<(String, f64)>), PipelineError> {
    let path = dir.join(RERANKER_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::Io {
        path: path.clone(),
        action: "cannot read",
        source: e,
    })?;
    let reranker: Reranker = serde_json::from_str(&text).map_err(|e| PipelineError::Manifest {
        path,
        message: format!("not a re-ranker: {e}"),
    })?;
    let mut table = reranker.coefficients_table();
    table.push(("(intercept)".to_owned(), reranker.intercept()));
    Ok((ListSource::Rerank.name().to_owned(), table))
}
