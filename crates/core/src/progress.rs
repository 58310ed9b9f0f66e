//! Progress of long work (bytes read, rows written, iterations fitted, users ranked), in
//! one shape for every crate: the library counts, the caller decides how to show it.

/// Receives the progress of one long step. `start` gives the total (in the step's own
/// unit), `advance_to` the amount done so far, `finish` ends the step.
pub trait Progress: Sync {
    fn start(&self, total: u64);
    fn advance_to(&self, done: u64);
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn advance_to(&self, _: u64) {}
    fn finish(&self) {}
}
