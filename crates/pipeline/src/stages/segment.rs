//! `segment`: k-means user segments on the train events → `segments/assignments.csv`,
//! `segments/summary.json` and the segment-popular model (`models/segment_popular.json`).

use std::path::Path;
use std::time::Instant;

use clickrec_core::{EventLog, IdMaps};
use clickrec_io::{
    read_events, read_split_id_maps, write_atomic, write_json, write_segment_assignments,
};
use clickrec_models::{Model, ModelKind};
use clickrec_segment::{
    CheckedSegment, SegmentPopular, SegmentSummary, Segmentation, UserVectors, VectorSource,
};
use serde::Serialize;

use crate::artifacts::{
    SEGMENT_ASSIGNMENTS_FILE, SEGMENT_POPULAR_FILE, SEGMENT_SUMMARY_FILE, TRAIN_FILE,
    TrainPlacement, create_dir, load_model,
};
use crate::config::Plan;
use crate::engine::Engine;
use crate::error::PipelineError;
use crate::output::StageOutput;
use crate::stages::train::behavior_weights;

/// Segments fitted on one train log, with their segment-popular model.
pub(crate) struct Segments {
    segmentation: Segmentation,
    pub popular: SegmentPopular,
    vector_dims: usize,
    /// Inertia per `segment.sweep` k (computed only when asked).
    sweep: Vec<(usize, f64)>,
    /// Where k-means ran, on the Spark engine.
    placement: Option<TrainPlacement>,
}

/// k-means over the users of `log` (category profiles, or the user factors of `als`),
/// then the most popular items per segment. On the Spark engine k-means runs on MLlib
/// when the vectors (`4·users·dimensions` bytes) outgrow the share of memory.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_segments(
    plan: &Plan,
    engine: &dyn Engine,
    checked: &CheckedSegment,
    log: &EventLog,
    events: &Path,
    ids: &IdMaps,
    als: Option<&Model>,
    with_sweep: bool,
) -> Result<Segments, PipelineError> {
    let params = checked.params();
    let weights = behavior_weights(plan);
    let vectors = match params.vectors {
        VectorSource::CategoryProfile => {
            UserVectors::category_profiles(log, ids.users.len(), weights, params.profile_categories)
        }
        VectorSource::AlsFactors => match als {
            Some(Model::Als(als)) => {
                let factors = als.user_factors();
                UserVectors::from_factors(factors.rows(), factors.dim(), factors.as_slice())
            }
            _ => {
                return Err(PipelineError::SegmentsNeedAls {
                    path: events.to_owned(),
                });
            }
        },
    };
    let segment_error = |source| PipelineError::Segment {
        path: events.to_owned(),
        source,
    };
    let bytes = 4 * vectors.n_users() as u64 * vectors.dim() as u64;
    let placement = engine
        .spark()
        .map(|spark| spark.placement("4·users·dimensions", bytes));
    let mllib = engine
        .spark()
        .filter(|_| placement.as_ref().is_some_and(TrainPlacement::on_mllib));
    let on_mllib = mllib.map(|spark| {
        move |points: &[f32], dim: usize, k: usize| {
            spark
                .fit_kmeans(
                    points,
                    dim,
                    k,
                    params.max_iterations,
                    params.tolerance,
                    plan.seed,
                )
                .map_err(|e| e.to_string())
        }
    });
    let centres = on_mllib
        .as_ref()
        .map(|f| f as clickrec_segment::CentroidFit<'_>);
    let segmentation = clickrec_segment::fit_segments(&vectors, checked, plan.seed, centres)
        .map_err(segment_error)?;
    let popular = SegmentPopular::fit(
        &segmentation,
        log,
        weights,
        ids.items.len(),
        params.popular_items,
    );
    let sweep = if with_sweep {
        clickrec_segment::inertia_sweep(&vectors, &params.sweep, checked, plan.seed, centres)
            .map_err(segment_error)?
    } else {
        Vec::new()
    };
    Ok(Segments {
        segmentation,
        popular,
        vector_dims: vectors.dim(),
        sweep,
        placement,
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
    /// Where k-means ran, on the Spark engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    placement: Option<TrainPlacement>,
    segments: Vec<SegmentRecord>,
}

fn segments_record(
    summary: &SegmentSummary,
    ids: &IdMaps,
    vectors: VectorSource,
    dimensions: usize,
    seconds: f64,
    placement: Option<TrainPlacement>,
) -> SegmentsRecord {
    SegmentsRecord {
        k: summary.k,
        vectors,
        dimensions,
        inertia: summary.inertia,
        sweep: summary.sweep.clone(),
        users_without_vector: summary.users_without_vector,
        seconds,
        placement,
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
pub(crate) fn run(plan: &Plan, engine: &dyn Engine) -> Result<StageOutput, PipelineError> {
    let Some(checked) = &plan.segment else {
        return Err(PipelineError::NotConfigured("segment"));
    };
    let params = checked.params();
    let dir = &plan.out;
    let started = Instant::now();
    let ids = read_split_id_maps(dir)?;
    let train_path = dir.join(TRAIN_FILE);
    let (log, _) = read_events(&train_path, &ids)?;
    let als = match params.vectors {
        VectorSource::AlsFactors => Some(load_model(dir, &ids, ModelKind::Als)?),
        VectorSource::CategoryProfile => None,
    };
    let segments = fit_segments(
        plan,
        engine,
        checked,
        &log,
        &train_path,
        &ids,
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
        segments.placement.clone(),
    );
    create_dir(&dir.join("segments"))?;
    write_segment_assignments(
        &dir.join(SEGMENT_ASSIGNMENTS_FILE),
        &ids.users,
        &segments.segmentation.assignment,
    )?;
    write_json(&dir.join(SEGMENT_SUMMARY_FILE), &record)?;
    let popular_path = dir.join(SEGMENT_POPULAR_FILE);
    let model = serde_json::to_string(&segments.popular).map_err(|source| {
        clickrec_io::ArtifactError::Json {
            path: popular_path.clone(),
            what: "segment-popular model",
            source,
        }
    })?;
    write_atomic(&popular_path, model.as_bytes())?;

    let mut text = record
        .placement
        .as_ref()
        .map(|place| place.line("k-means"))
        .unwrap_or_default();
    text.push_str(&format!(
        "segments: k = {} over {} vectors ({} dimensions), inertia {:.2}, {} users without a vector, {:.2} s\n",
        record.k,
        record.vectors.name(),
        record.dimensions,
        record.inertia,
        record.users_without_vector,
        record.seconds
    ));
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
        details: String::new(),
        text,
        summary: serde_json::json!({
            "k": record.k,
            "inertia": record.inertia,
            "sweep": record.sweep,
            "users_without_vector": record.users_without_vector,
            "placement": record.placement,
        }),
        artifacts: vec![
            SEGMENT_ASSIGNMENTS_FILE.to_owned(),
            SEGMENT_SUMMARY_FILE.to_owned(),
            SEGMENT_POPULAR_FILE.to_owned(),
        ],
    })
}
