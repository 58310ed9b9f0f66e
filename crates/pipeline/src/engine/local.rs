//! The embedded engine: the data stages in this process, over the run directory.

use clickrec_core::{Progress, UserItemMatrix};
use clickrec_ingest::{
    QUARANTINE_FILE, SUMMARY_FILE, TEST_FILE_EVENTS_FILE, TEST_QUARANTINE_FILE, TEST_SUMMARY_FILE,
};
use clickrec_io::{EVENTS_FILE, read_events, read_id_maps, read_input_events, read_split_id_maps};
use clickrec_prep::{
    Prepared, SplitOutput, SplitRule, SplitSpec, build_matrix, prepare, sessionize, split_test_file,
};

use super::Engine;
use crate::artifacts::{PREPARED_FILE, TRAIN_FILE};
use crate::config::Plan;
use crate::error::PipelineError;
use crate::output::{StageOutput, json, names};

/// `engine.kind = "local"`.
#[derive(Debug)]
pub(crate) struct LocalEngine;

impl Engine for LocalEngine {
    fn ingest(&self, plan: &Plan, progress: &dyn Progress) -> Result<StageOutput, PipelineError> {
        ingest(plan, progress)
    }

    fn prepare(&self, plan: &Plan) -> Result<Prepared, PipelineError> {
        let dir = &plan.out;
        let ids = read_id_maps(dir)?;
        let events = dir.join(EVENTS_FILE);
        let log = read_input_events(&events, &ids)?;
        prepare(log, &plan.prep).map_err(|source| PipelineError::Prep {
            path: events,
            source,
        })
    }

    fn split(&self, plan: &Plan) -> Result<SplitOutput, PipelineError> {
        let dir = &plan.out;
        let ids = read_id_maps(dir)?;
        let prepared_path = dir.join(PREPARED_FILE);
        let (log, sessions) = read_events(&prepared_path, &ids)?;
        let sessions = sessions.ok_or_else(|| PipelineError::NoSessions {
            path: prepared_path.clone(),
        })?;
        let filters = plan.prep.train_filters();
        if plan.split.rule() == SplitSpec::Rule(SplitRule::TestFile) {
            let test_path = dir.join(TEST_FILE_EVENTS_FILE);
            let test = read_input_events(&test_path, &ids)?;
            let (test_sessions, _) =
                sessionize(&test, plan.prep.session_gap_s()).map_err(|source| {
                    PipelineError::Prep {
                        path: test_path.clone(),
                        source,
                    }
                })?;
            split_test_file(log, sessions, test, test_sessions, &filters).map_err(|source| {
                PipelineError::Split {
                    path: test_path,
                    source,
                }
            })
        } else {
            clickrec_prep::split(&log, &sessions, &plan.split, &filters).map_err(|source| {
                PipelineError::Split {
                    path: prepared_path,
                    source,
                }
            })
        }
    }

    fn matrix(&self, plan: &Plan) -> Result<UserItemMatrix, PipelineError> {
        let dir = &plan.out;
        let ids = read_split_id_maps(dir)?;
        let train_path = dir.join(TRAIN_FILE);
        let (train, _) = read_events(&train_path, &ids)?;
        build_matrix(
            &train,
            ids.users.len(),
            ids.items.len(),
            plan.prep.weights(),
        )
        .map_err(|source| PipelineError::Matrix {
            path: train_path,
            source,
        })
    }
}

/// The local engine's ingest: `events.parquet`, the id maps, `ingest.json` and, when rows
/// were skipped, `quarantine.csv`; with a test file also `test_file_events.parquet`,
/// `test_ingest.json` and `test_quarantine.csv`.
fn ingest(plan: &Plan, progress: &dyn Progress) -> Result<StageOutput, PipelineError> {
    let mut artifacts = names(&clickrec_io::EVENT_LOG_FILES);
    artifacts.push(SUMMARY_FILE.to_owned());
    let Some(test_input) = &plan.test_input else {
        let summary =
            clickrec_ingest::ingest_to_dir(&plan.input, &plan.ingest, &plan.out, progress)?;
        if summary.quarantine.is_some() {
            artifacts.push(QUARANTINE_FILE.to_owned());
        }
        return Ok(StageOutput {
            details: String::new(),
            text: summary.human(),
            summary: json(&summary),
            artifacts,
        });
    };
    let (summary, test) = clickrec_ingest::ingest_pair_to_dir(
        &plan.input,
        test_input,
        &plan.ingest,
        &plan.out,
        progress,
    )?;
    artifacts.extend(names(&[TEST_FILE_EVENTS_FILE, TEST_SUMMARY_FILE]));
    if summary.quarantine.is_some() {
        artifacts.push(QUARANTINE_FILE.to_owned());
    }
    if test.quarantine.is_some() {
        artifacts.push(TEST_QUARANTINE_FILE.to_owned());
    }
    Ok(StageOutput {
        details: String::new(),
        text: format!("{}test file: {}", summary.human(), test.human()),
        summary: serde_json::json!({ "input": summary, "test_file": test }),
        artifacts,
    })
}
