//! Progress displays of a run: the caller's [`Bars`] makes one [`Progress`] per long step.

use clickrec_core::{NoProgress, Progress};
use clickrec_models::FitProgress;

/// Makes one progress display per long step ("ingest" in bytes, "als" in iterations, …).
pub trait Bars {
    fn bar(&self, label: &str, unit: &str) -> Box<dyn Progress>;
}

/// No progress displays.
#[derive(Debug, Clone, Copy)]
pub struct NoBars;

impl Bars for NoBars {
    fn bar(&self, _: &str, _: &str) -> Box<dyn Progress> {
        Box::new(NoProgress)
    }
}

/// Reports fit iterations to a progress bar.
pub(crate) struct IterationBar<'a>(pub &'a dyn Progress);

impl FitProgress for IterationBar<'_> {
    fn iteration(&self, done: usize, total: usize, _loss: Option<f64>) {
        if done <= 1 {
            self.0.start(total as u64);
        }
        self.0.advance_to(done as u64);
    }
}
