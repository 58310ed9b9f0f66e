//! The embedded engine: the data stages in this process, over the run directory.

use clickrec_core::{Progress, UserItemMatrix};
use clickrec_ingest::TEST_FILE_EVENTS_FILE;
use clickrec_io::{EVENTS_FILE, read_events, read_id_maps, read_input_events, read_split_id_maps};
use clickrec_prep::{
    Prepared, SplitOutput, SplitRule, SplitSpec, build_matrix, prepare, sessionize, split_test_file,
};

use super::Engine;
use crate::artifacts::{PREPARED_FILE, TRAIN_FILE};
use crate::config::Plan;
use crate::error::PipelineError;
use crate::output::StageOutput;

/// `engine.kind = "local"`.
#[derive(Debug)]
pub(crate) struct LocalEngine;

impl Engine for LocalEngine {
    fn ingest(&self, plan: &Plan, progress: &dyn Progress) -> Result<StageOutput, PipelineError> {
        crate::stages::ingest::run_local(plan, progress)
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
