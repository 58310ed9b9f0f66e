//! The bodies of the stages after ingestion: each reads its inputs from the run directory
//! and writes its artifacts back through temporary files and renames.

use std::path::Path;

use clickrec_ingest::{EVENTS_FILE, read_events, read_id_maps, write_events, write_json_atomic};
use clickrec_prep::{CheckedPrep, CheckedSplit, CheckedWeights, build_matrix, prepare, split};

use clickrec_ingest::Progress;

use crate::config::Plan;
use crate::error::PipelineError;

pub const PREPARED_FILE: &str = "prepared.parquet";
pub const PREP_REPORT_FILE: &str = "prep.json";
pub const TRAIN_FILE: &str = "train.parquet";
pub const TEST_EVENTS_FILE: &str = "test_events.parquet";
pub const TEST_SET_FILE: &str = "test_set.json";
pub const VALIDATION_TRAIN_FILE: &str = "validation_train.parquet";
pub const VALIDATION_EVENTS_FILE: &str = "validation_events.parquet";
pub const VALIDATION_SET_FILE: &str = "validation_set.json";
pub const SPLIT_REPORT_FILE: &str = "split.json";
pub const MATRIX_FILE: &str = "train_matrix.csr";
pub const MATRIX_REPORT_FILE: &str = "matrix.json";

/// What a stage hands back: human lines, its summary for the manifest, its artifacts.
pub(crate) struct StageOutput {
    pub text: String,
    pub summary: serde_json::Value,
    pub artifacts: Vec<String>,
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

fn names(files: &[&str]) -> Vec<String> {
    files.iter().map(|f| f.to_string()).collect()
}

/// Reads and validates the input log into the run directory.
pub(crate) fn run_ingest(
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<StageOutput, PipelineError> {
    let summary = clickrec_ingest::ingest_to_dir(&plan.input, &plan.ingest, &plan.out, progress)?;
    let mut artifacts = names(&clickrec_ingest::EVENT_LOG_FILES);
    artifacts.push(clickrec_ingest::SUMMARY_FILE.to_owned());
    if summary.quarantine.is_some() {
        artifacts.push(clickrec_ingest::QUARANTINE_FILE.to_owned());
    }
    Ok(StageOutput {
        text: summary.human(),
        summary: json(&summary),
        artifacts,
    })
}

/// Cleaning and sessions: `events.parquet` → `prepared.parquet` (with a `session` column).
pub(crate) fn run_prep(dir: &Path, config: &CheckedPrep) -> Result<StageOutput, PipelineError> {
    let ids = read_id_maps(dir)?;
    let (log, _) = read_events(&dir.join(EVENTS_FILE), &ids)?;
    let prepared = prepare(log, config)?;
    let text = prepared.report.to_string();
    let summary = json(&prepared.report);
    write_json_atomic(&dir.join(PREP_REPORT_FILE), &prepared.report)?;
    write_events(
        &dir.join(PREPARED_FILE),
        prepared.log,
        Some(prepared.sessions),
    )?;
    Ok(StageOutput {
        text,
        summary,
        artifacts: names(&[PREPARED_FILE, PREP_REPORT_FILE]),
    })
}

/// Train/test (and validation) split: the learned filters of `prep` on train only, the
/// leakage guard and the leakage measurement.
pub(crate) fn run_split(
    dir: &Path,
    config: &CheckedSplit,
    prep: &CheckedPrep,
) -> Result<StageOutput, PipelineError> {
    let ids = read_id_maps(dir)?;
    let prepared_path = dir.join(PREPARED_FILE);
    let (log, sessions) = read_events(&prepared_path, &ids)?;
    let sessions = sessions.ok_or_else(|| PipelineError::Manifest {
        path: prepared_path.clone(),
        message: "has no session column".into(),
    })?;
    let out = split(&log, &sessions, config, &prep.train_filters())?;
    drop(log);
    let text = out.report.to_string();
    let summary = json(&out.report);
    let mut artifacts = names(&[
        TRAIN_FILE,
        TEST_EVENTS_FILE,
        TEST_SET_FILE,
        SPLIT_REPORT_FILE,
    ]);
    write_json_atomic(&dir.join(TEST_SET_FILE), &out.test)?;
    write_events(&dir.join(TEST_EVENTS_FILE), out.test_events, None)?;
    write_events(&dir.join(TRAIN_FILE), out.train, Some(out.train_sessions))?;
    if let Some(v) = out.validation {
        write_json_atomic(&dir.join(VALIDATION_SET_FILE), &v.test)?;
        write_events(&dir.join(VALIDATION_EVENTS_FILE), v.test_events, None)?;
        write_events(
            &dir.join(VALIDATION_TRAIN_FILE),
            v.train,
            Some(v.train_sessions),
        )?;
        artifacts.extend(names(&[
            VALIDATION_SET_FILE,
            VALIDATION_EVENTS_FILE,
            VALIDATION_TRAIN_FILE,
        ]));
    }
    write_json_atomic(&dir.join(SPLIT_REPORT_FILE), &out.report)?;
    Ok(StageOutput {
        text,
        summary,
        artifacts,
    })
}

/// The measured leakage of the test split, from `split.json`.
pub(crate) fn read_leakage(dir: &Path) -> Result<clickrec_core::Leakage, PipelineError> {
    let path = dir.join(SPLIT_REPORT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| PipelineError::Io {
        path: path.clone(),
        action: "cannot read",
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| PipelineError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
    serde_json::from_value(value["test"]["leakage"].clone()).map_err(|e| PipelineError::Manifest {
        path,
        message: format!("test.leakage: {e}"),
    })
}

/// Sizes of the train matrix, for `matrix.json`.
#[derive(Debug, serde::Serialize)]
struct MatrixSummary {
    users: usize,
    items: usize,
    nonzeros: usize,
    bytes: u64,
}

/// Confidence-weighted user-item CSR of the train events → `train_matrix.csr`.
pub(crate) fn run_matrix(
    dir: &Path,
    weights: &CheckedWeights,
) -> Result<StageOutput, PipelineError> {
    let ids = read_id_maps(dir)?;
    let (train, _) = read_events(&dir.join(TRAIN_FILE), &ids)?;
    let matrix = build_matrix(&train, ids.users.len(), ids.items.len(), weights)?;
    drop(train);
    let path = dir.join(MATRIX_FILE);
    let tmp = clickrec_ingest::temporary_path(&path);
    let io = |action, source| PipelineError::Io {
        path: tmp.clone(),
        action,
        source,
    };
    let file = std::fs::File::create(&tmp).map_err(|e| io("cannot create", e))?;
    let mut writer = std::io::BufWriter::new(file);
    matrix.write_to(&mut writer)?;
    let file = writer
        .into_inner()
        .map_err(|e| io("cannot write", e.into_error()))?;
    file.sync_all().map_err(|e| io("cannot write", e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io("cannot move into place", e))?;
    let summary = MatrixSummary {
        users: matrix.n_users(),
        items: matrix.n_items(),
        nonzeros: matrix.nnz(),
        bytes: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
    };
    write_json_atomic(&dir.join(MATRIX_REPORT_FILE), &summary)?;
    Ok(StageOutput {
        text: format!(
            "train matrix: {} users × {} items, {} non-zeros ({:.1} MiB)\n",
            summary.users,
            summary.items,
            summary.nonzeros,
            summary.bytes as f64 / (1 << 20) as f64
        ),
        summary: json(&summary),
        artifacts: names(&[MATRIX_FILE, MATRIX_REPORT_FILE]),
    })
}

/// Writes the synthetic input log (through a temporary file and a rename).
pub(crate) fn run_generate(
    path: &Path,
    params: &clickrec_synth::CheckedParams,
) -> Result<StageOutput, PipelineError> {
    let tmp = clickrec_ingest::temporary_path(path);
    let io = |action, source| PipelineError::Io {
        path: tmp.clone(),
        action,
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("cannot create folder", e))?;
    }
    let file = std::fs::File::create(&tmp).map_err(|e| io("cannot create", e))?;
    let summary = clickrec_synth::generate(params, std::io::BufWriter::new(file), &|_| {})
        .map_err(|e| PipelineError::Generate(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| io("cannot move into place", e))?;
    let [pv, fav, cart, buy] = summary.behavior_counts;
    Ok(StageOutput {
        text: format!(
            "generated {}: {} rows, {} users, {} distinct items; pv {pv} / fav {fav} / cart {cart} / buy {buy}\n",
            path.display(),
            summary.rows,
            summary.users,
            summary.distinct_items
        ),
        summary: serde_json::json!({
            "rows": summary.rows,
            "users": summary.users,
            "distinct_items": summary.distinct_items,
        }),
        // An absolute path: `Manifest::reusable` joins it onto the run directory unchanged.
        artifacts: vec![
            std::path::absolute(path)
                .unwrap_or_else(|_| path.to_owned())
                .display()
                .to_string(),
        ],
    })
}
