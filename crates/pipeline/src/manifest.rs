//! `manifest.json`: what a run directory holds and how it was made.
//!
//! A stage's record is written only after all its artifacts are in place, and removed
//! (with the records of the stages after it) before the stage is redone, so a record
//! always vouches for complete artifacts. It keeps each artifact's size and blake3 hash,
//! checked before the artifacts are reused: a truncated or replaced file makes its stage
//! run again instead of being trusted.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::artifacts::MANIFEST_FILE;
use crate::error::PipelineError;
use crate::stages::Stage;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub clickrec_version: String,
    pub seed: u64,
    /// The resolved pipeline configuration.
    pub config: serde_json::Value,
    pub inputs: Vec<FileRecord>,
    pub stages: BTreeMap<String, StageRecord>,
}

/// A file identified by size and content: an input, or an artifact a stage wrote (then
/// its path is relative to the run directory).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: PathBuf,
    pub bytes: u64,
    pub blake3: String,
}

/// One artifact of a stage record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Artifact {
    /// Its path, size and blake3 hash when the stage wrote it: checked before reuse, so a
    /// damaged or replaced file is never trusted.
    Checked(FileRecord),
    /// A bare path, as manifests written before artifacts were hashed hold. It cannot be
    /// checked, so its stage is redone once (the safe choice: such a file may be damaged).
    Unchecked(PathBuf),
}

impl Artifact {
    pub fn path(&self) -> &Path {
        match self {
            Artifact::Checked(record) => &record.path,
            Artifact::Unchecked(path) => path,
        }
    }

    /// Why the file in `dir` is not the one the stage wrote, if it is not: the size is
    /// compared first (cheap), then the content hash.
    fn damage(&self, dir: &Path) -> Option<String> {
        let name = self.path().display();
        let recorded = match self {
            Artifact::Checked(record) => record,
            Artifact::Unchecked(_) => {
                return Some(format!(
                    "{name}: the manifest (written by an older clickrec) has no size or hash \
                     to check it by"
                ));
            }
        };
        let path = dir.join(&recorded.path);
        let bytes = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => return Some(format!("{name} is not a file")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Some(format!("{name} is missing"));
            }
            Err(e) => return Some(format!("{name}: cannot read its metadata ({e})")),
        };
        if bytes != recorded.bytes {
            return Some(format!(
                "{name}: {bytes} bytes, the manifest recorded {}",
                recorded.bytes
            ));
        }
        match hash_file(&path) {
            Ok(now) if now.blake3 == recorded.blake3 => None,
            Ok(_) => Some(format!(
                "{name}: content differs from the blake3 hash the manifest recorded (same \
                 size, {bytes} bytes)"
            )),
            Err(e) => Some(e.to_string()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Hash of everything the stage's output depends on; equal fingerprints mean the
    /// artifacts can be reused.
    pub fingerprint: String,
    pub artifacts: Vec<Artifact>,
    /// The stage's own work, without hashing its artifacts.
    pub seconds: f64,
    /// Peak resident memory of the process during the stage, when the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    /// The stage's own summary (row counts and so on).
    pub summary: serde_json::Value,
}

/// Whether a stage's record lets the run reuse its artifacts.
#[derive(Debug)]
pub(crate) enum Reuse<'a> {
    /// The fingerprint matches and every artifact has its recorded size and hash.
    Yes(&'a StageRecord),
    /// No record, or one made from other inputs or configuration.
    No,
    /// The fingerprint matches but an artifact is missing, changed or cannot be checked:
    /// which, and how.
    Damaged(String),
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

    /// Whether the stage's artifacts in `dir` can be reused: its fingerprint matches and
    /// every artifact still has the size and content the record vouches for.
    pub(crate) fn reuse(&self, dir: &Path, stage: Stage, fingerprint: &str) -> Reuse<'_> {
        match self.stages.get(stage.name()) {
            Some(record) if record.fingerprint == fingerprint => {
                match record.artifacts.iter().find_map(|a| a.damage(dir)) {
                    Some(why) => Reuse::Damaged(why),
                    None => Reuse::Yes(record),
                }
            }
            _ => Reuse::No,
        }
    }

    /// The record of `stage` when its artifacts in `dir` can be trusted; else why not: no
    /// record (the stage never finished, or it was forgotten because a stage before it ran
    /// again) or an artifact missing or changed since the stage wrote it.
    pub fn trusted(&self, dir: &Path, stage: Stage) -> Result<&StageRecord, String> {
        let record = self.stages.get(stage.name()).ok_or_else(|| {
            format!(
                "the manifest has no finished {} stage (run the pipeline to the end first)",
                stage.name()
            )
        })?;
        match record.artifacts.iter().find_map(|a| a.damage(dir)) {
            Some(why) => Err(format!("{} stage: {why}", stage.name())),
            None => Ok(record),
        }
    }

    /// Drops the records of `stage` and of every stage after it (they were built on its
    /// artifacts); the names of those dropped, in stage order.
    pub fn forget_from(&mut self, stage: Stage) -> Vec<&'static str> {
        let mut forgotten = Vec::new();
        for later in Stage::ALL.iter().copied().filter(|s| *s >= stage) {
            if self.stages.remove(later.name()).is_some() {
                forgotten.push(later.name());
            }
        }
        forgotten
    }

    /// [`Manifest::forget_from`] on the manifest of `dir`, saved at once: for a command
    /// that is about to rewrite `stage`'s artifacts outside a pipeline run, so that the
    /// next run redoes that stage and those after it instead of trusting records that
    /// describe other files. Without a manifest there is nothing to forget.
    pub fn forget_in(dir: &Path, stage: Stage) -> Result<Vec<&'static str>, PipelineError> {
        let mut manifest = Manifest::load(dir)?;
        let forgotten = manifest.forget_from(stage);
        if !forgotten.is_empty() {
            manifest.save(dir)?;
        }
        Ok(forgotten)
    }
}

/// Records the size and hash of each artifact a stage wrote (paths relative to `dir`).
pub(crate) fn check_artifacts(
    dir: &Path,
    names: Vec<String>,
) -> Result<Vec<Artifact>, PipelineError> {
    names
        .into_iter()
        .map(|name| {
            let mut record = hash_file(&dir.join(&name))?;
            record.path = name.into();
            Ok(Artifact::Checked(record))
        })
        .collect()
}

/// Hashes a file's content, read in 1 MiB blocks (so a multi-gigabyte file costs 1 MiB of
/// memory, not its size in mapped pages that would count in a stage's peak RSS), each
/// block hashed on all cores.
pub fn hash_file(path: &Path) -> Result<FileRecord, PipelineError> {
    let io = |action, source| {
        PipelineError::Io(clickrec_core::FileError {
            path: path.to_owned(),
            action,
            source,
        })
    };
    let mut file = std::fs::File::open(path).map_err(|e| io("cannot open", e))?;
    let mut hasher = blake3::Hasher::new();
    let mut block = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = match file.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io("cannot read", e)),
        };
        hasher.update_rayon(&block[..n]);
        bytes += n as u64;
    }
    Ok(FileRecord {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(dir: &Path, names: &[&str]) -> StageRecord {
        StageRecord {
            fingerprint: "fp".into(),
            artifacts: check_artifacts(dir, names.iter().map(|n| n.to_string()).collect()).unwrap(),
            seconds: 0.0,
            peak_rss_bytes: None,
            summary: serde_json::Value::Null,
        }
    }

    fn why(manifest: &Manifest, dir: &Path) -> String {
        match manifest.reuse(dir, Stage::Prep, "fp") {
            Reuse::Damaged(why) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reuse_checks_presence_size_and_hash_and_distrusts_bare_paths() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        std::fs::write(dir.join("a.parquet"), b"0123456789").unwrap();
        let mut manifest = Manifest::default();
        manifest
            .stages
            .insert("prep".into(), record(dir, &["a.parquet"]));
        assert!(matches!(
            manifest.reuse(dir, Stage::Prep, "fp"),
            Reuse::Yes(_)
        ));
        assert!(matches!(
            manifest.reuse(dir, Stage::Prep, "other"),
            Reuse::No
        ));
        assert!(matches!(manifest.reuse(dir, Stage::Split, "fp"), Reuse::No));

        std::fs::write(dir.join("a.parquet"), b"0123456789x").unwrap();
        assert_eq!(
            why(&manifest, dir),
            "a.parquet: 11 bytes, the manifest recorded 10"
        );
        std::fs::write(dir.join("a.parquet"), b"0123456780").unwrap();
        assert_eq!(
            why(&manifest, dir),
            "a.parquet: content differs from the blake3 hash the manifest recorded (same size, 10 bytes)"
        );
        std::fs::remove_file(dir.join("a.parquet")).unwrap();
        assert_eq!(why(&manifest, dir), "a.parquet is missing");

        // A manifest of an older clickrec: bare paths load, and cannot be trusted.
        let old = r#"{"clickrec_version":"0.1.0","seed":1,"config":null,"inputs":[],
            "stages":{"prep":{"fingerprint":"fp","artifacts":["a.parquet"],"seconds":1.0,
            "peak_rss_bytes":null,"summary":null}}}"#;
        let old: Manifest = serde_json::from_str(old).unwrap();
        std::fs::write(dir.join("a.parquet"), b"0123456789").unwrap();
        assert_eq!(
            why(&old, dir),
            "a.parquet: the manifest (written by an older clickrec) has no size or hash to check it by"
        );
    }

    #[test]
    fn hashes_stream_to_the_one_shot_hash_of_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        // Over two read blocks, not a multiple of one.
        let content: Vec<u8> = (0..(5u32 << 19) + 7).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let record = hash_file(&path).unwrap();
        assert_eq!(record.bytes, content.len() as u64);
        assert_eq!(record.blake3, blake3::hash(&content).to_hex().to_string());
    }

    #[test]
    fn forgetting_a_stage_forgets_those_built_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::default();
        for stage in ["generate", "ingest", "prep", "train", "evaluate"] {
            manifest
                .stages
                .insert(stage.into(), record(dir.path(), &[]));
        }
        manifest.save(dir.path()).unwrap();
        assert_eq!(
            Manifest::forget_in(dir.path(), Stage::Ingest).unwrap(),
            ["ingest", "prep", "train", "evaluate"]
        );
        let saved = Manifest::load(dir.path()).unwrap();
        assert_eq!(saved.stages.keys().collect::<Vec<_>>(), ["generate"]);
        assert!(
            Manifest::forget_in(dir.path(), Stage::Ingest)
                .unwrap()
                .is_empty()
        );
    }
}
