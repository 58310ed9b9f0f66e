//! What a stage hands back to the runner.

/// Human lines, the stage's summary for the manifest, and its artifacts (paths relative
/// to the run directory).
pub(crate) struct StageOutput {
    pub text: String,
    /// More lines, shown only on request (`--verbose`): the evaluate stage's full tables.
    pub details: String,
    pub summary: serde_json::Value,
    pub artifacts: Vec<String>,
}

/// A serialisable summary as a JSON value.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// File names as artifact names.
pub(crate) fn names(files: &[&str]) -> Vec<String> {
    files.iter().map(|f| f.to_string()).collect()
}
