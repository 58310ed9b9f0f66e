//! Atomic writes: a file is written under a unique temporary name in its final folder,
//! flushed to disk, renamed over the final name, and the folder is flushed too. A reader
//! (or a run killed half-way) sees the old file or the new one, never a part; two writers
//! never share a temporary file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::ArtifactError;

/// A file being written; [`AtomicFile::commit`] moves it into place. Dropped without a
/// commit (after an error, say), it removes its temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp: NamedTempFile,
}

impl AtomicFile {
    /// Creates `.NAME.XXXXXX.tmp` next to `path` (a name no stage reads).
    pub fn create(path: &Path) -> Result<Self, ArtifactError> {
        let dir = parent(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| ArtifactError::io(path, "cannot create a temporary file", e))?;
        Ok(AtomicFile {
            path: path.to_owned(),
            temp,
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file, to write to.
    pub fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// Flushes the file to disk, renames it to its final name and flushes the folder.
    pub fn commit(self) -> Result<(), ArtifactError> {
        let path = self.path;
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| ArtifactError::io(&path, "cannot flush to disk", e))?;
        self.temp
            .persist(&path)
            .map_err(|e| ArtifactError::io(&path, "cannot move into place", e.error))?;
        sync_dir(parent(&path))
            .map_err(|e| ArtifactError::io(parent(&path), "cannot flush the folder to disk", e))
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Flushes a folder's entries (a rename into it) to disk.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `path` atomically through a buffered writer filled by `fill`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), ArtifactError> {
    let file = AtomicFile::create(path)?;
    let mut writer = BufWriter::with_capacity(1 << 20, file.file());
    fill(&mut writer)
        .and_then(|()| writer.flush())
        .map_err(|e| ArtifactError::io(path, "cannot write", e))?;
    drop(writer);
    file.commit()
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn commit_replaces_and_drop_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"old").unwrap();
        let half = AtomicFile::create(&path).unwrap();
        half.file().write_all(b"new but never committed").unwrap();
        drop(half);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn two_writers_of_one_path_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        let a = AtomicFile::create(&path).unwrap();
        let b = AtomicFile::create(&path).unwrap();
        a.file().write_all(b"a").unwrap();
        b.file().write_all(b"b").unwrap();
        a.commit().unwrap();
        b.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"b");
    }
}
