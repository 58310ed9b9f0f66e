//! Progress displays of a run: the caller's [`Bars`] makes one [`Progress`] per long step.

use clickrec_core::{NoProgress, Progress};

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
