//! `ingest`: reads and validates the input log (and the test file of a pre-split pair)
//! into the run directory.

use crate::config::Plan;
use crate::engine::Engine;
use crate::error::PipelineError;
use crate::output::StageOutput;
use crate::progress::Bars;

/// Ingest on the plan's engine.
pub(crate) fn run(
    plan: &Plan,
    engine: &dyn Engine,
    bars: &dyn Bars,
) -> Result<StageOutput, PipelineError> {
    let bar = bars.bar("ingest", "bytes");
    engine.ingest(plan, bar.as_ref())
}
