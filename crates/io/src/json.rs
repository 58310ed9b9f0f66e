//! JSON artifacts: reports, test sets, manifests.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::atomic::write_atomic;
use crate::error::ArtifactError;

/// Writes `value` as pretty JSON with a final line end, atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), ArtifactError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| ArtifactError::Json {
        path: path.to_owned(),
        what: "JSON value",
        source,
    })?;
    write_atomic(path, (text + "\n").as_bytes())
}

/// Reads a JSON artifact; `what` names its content in errors ("test set", ...).
pub fn read_json<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, ArtifactError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ArtifactError::io(path, "cannot read", e))?;
    serde_json::from_str(&text).map_err(|source| ArtifactError::Json {
        path: path.to_owned(),
        what,
        source,
    })
}
