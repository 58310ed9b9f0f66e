//! `manifest.json`: what a run directory holds and how it was made.
//!
//! A stage's record is written only after all its artifacts are in place, and removed
//! before the stage is redone, so a record always vouches for complete artifacts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::PipelineError;

pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub clickrec_version: String,
    pub seed: u64,
    /// The resolved pipeline configuration.
    pub config: serde_json::Value,
    pub inputs: Vec<InputRecord>,
    pub stages: BTreeMap<String, StageRecord>,
}

/// An input file, identified by content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    pub path: PathBuf,
    pub bytes: u64,
    pub blake3: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Hash of everything the stage's output depends on; equal fingerprints mean the
    /// artifacts can be reused.
    pub fingerprint: String,
    pub artifacts: Vec<String>,
    pub seconds: f64,
    /// Peak resident memory of the process during the stage, when the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    /// The stage's own summary (row counts and so on).
    pub summary: serde_json::Value,
}

impl Manifest {
    /// Reads the manifest of a run directory; a missing one is empty.
    pub fn load(dir: &Path) -> Result<Manifest, PipelineError> {
        let path = dir.join(MANIFEST_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| PipelineError::Manifest {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(PipelineError::Io(clickrec_core::FileError {
                path,
                action: "cannot read",
                source: e,
            })),
        }
    }

    pub fn save(&self, dir: &Path) -> Result<(), PipelineError> {
        Ok(clickrec_io::write_json(&dir.join(MANIFEST_FILE), self)?)
    }

    /// The stage's record, if its fingerprint matches and every artifact is present.
    pub fn reusable(&self, dir: &Path, stage: &str, fingerprint: &str) -> Option<&StageRecord> {
        self.stages
            .get(stage)
            .filter(|r| r.fingerprint == fingerprint)
            .filter(|r| r.artifacts.iter().all(|a| dir.join(a).is_file()))
    }
}

/// Hashes a file's content (memory-mapped, multi-threaded: gigabytes take seconds).
pub fn hash_file(path: &Path) -> Result<InputRecord, PipelineError> {
    let io = |action, source| {
        PipelineError::Io(clickrec_core::FileError {
            path: path.to_owned(),
            action,
            source,
        })
    };
    let bytes = std::fs::metadata(path)
        .map_err(|e| io("cannot read metadata", e))?
        .len();
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_mmap_rayon(path)
        .map_err(|e| io("cannot read", e))?;
    Ok(InputRecord {
        path: path.to_owned(),
        bytes,
        blake3: hasher.finalize().to_hex().to_string(),
    })
}

/// A stable hash of any serialisable description.
pub fn fingerprint(parts: &[&serde_json::Value]) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(part.to_string().as_bytes());
        hasher.update(b"\0");
    }
    hasher.finalize().to_hex()[..32].to_owned()
}

/// Peak resident set size of this process so far (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak so the next reading covers one stage only (Linux ≥ 4.0; a no-op elsewhere).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
