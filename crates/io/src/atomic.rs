//! Whole-file writes of the run directory through core's [`AtomicFile`] (unique
//! temporary name, fsync of file and folder, rename).

use std::io::{BufWriter, Write};
use std::path::Path;

pub use clickrec_core::AtomicFile;

use crate::error::ArtifactError;

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
    Ok(file.commit()?)
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
    fn writes_whole_files_and_names_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic_with(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let failing = write_atomic_with(&path, |_| Err(std::io::Error::other("disk full")));
        let message = failing.unwrap_err().to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
