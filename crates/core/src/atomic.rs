//! Atomic writes: a file is written under a unique temporary name in its final folder,
//! flushed to disk, renamed over the final name, and the folder is flushed too. A reader
//! (or a run killed half-way) sees the old file or the new one, never a part; two writers
//! never share a temporary file. Lives in core (not in the Parquet-reading io crate) so
//! that every crate that writes a file — models included — uses this one mechanism.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;
use thiserror::Error;

/// A file operation failed: the file, what was being done, and the OS error.
#[derive(Debug, Error)]
#[error("{path}: {action}: {source}")]
pub struct FileError {
    pub path: PathBuf,
    pub action: &'static str,
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    pub fn new(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        FileError {
            path: path.to_owned(),
            action,
            source,
        }
    }
}

/// The ending of a temporary file's name.
const TEMP_SUFFIX: &str = ".tmp";
/// The random part of a temporary file's name (tempfile draws ASCII letters and digits).
const TEMP_RANDOM_CHARS: usize = 6;

/// A file being written; [`AtomicFile::commit`] moves it into place. Dropped without a
/// commit (after an error, say), it removes its temporary file. Writes go to the
/// temporary file (wrap it in a `BufWriter` for small writes).
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp: NamedTempFile,
}

impl AtomicFile {
    /// Creates `.NAME.XXXXXX.tmp` next to `path` (a name no stage reads).
    pub fn create(path: &Path) -> Result<Self, FileError> {
        let dir = parent(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder
            .prefix(&prefix)
            .suffix(TEMP_SUFFIX)
            .rand_bytes(TEMP_RANDOM_CHARS);
        // Artifacts are shared (a report is for others to read): the mode a plain create
        // gives, 0666 less the umask, not the owner-only 0600 of a temporary file.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder
            .tempfile_in(dir)
            .map_err(|e| FileError::new(path, "cannot create a temporary file", e))?;
        Ok(AtomicFile {
            path: path.to_owned(),
            temp,
        })
    }

    /// Whether `name` is one [`AtomicFile::create`] gives its temporary files
    /// (`.NAME.XXXXXX.tmp`): a file so named and not being written was left by a process
    /// killed before its commit, and is safe to delete.
    pub fn is_temporary(name: &str) -> bool {
        let Some(stem) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        else {
            return false;
        };
        match stem.rsplit_once('.') {
            Some((final_name, random)) => {
                !final_name.is_empty()
                    && random.len() == TEMP_RANDOM_CHARS
                    && random.bytes().all(|b| b.is_ascii_alphanumeric())
            }
            None => false,
        }
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
    pub fn commit(self) -> Result<(), FileError> {
        let path = self.path;
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| FileError::new(&path, "cannot flush to disk", e))?;
        self.temp
            .persist(&path)
            .map_err(|e| FileError::new(&path, "cannot move into place", e.error))?;
        let dir = parent(&path);
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| FileError::new(dir, "cannot flush the folder to disk", e))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.temp.flush()
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A committed file has the mode `File::create` gives under the same umask.
    #[cfg(unix)]
    #[test]
    fn committed_files_take_the_umask_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let atomic = dir.path().join("atomic");
        let mut f = AtomicFile::create(&atomic).unwrap();
        f.write_all(b"x").unwrap();
        f.commit().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
    }

    fn write_now(path: &Path, bytes: &[u8]) {
        let mut file = AtomicFile::create(path).unwrap();
        file.write_all(bytes).unwrap();
        file.commit().unwrap();
    }

    #[test]
    fn commit_replaces_and_drop_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_now(&path, b"old");
        let mut half = AtomicFile::create(&path).unwrap();
        half.write_all(b"new but never committed").unwrap();
        drop(half);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        write_now(&path, b"new");
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

    /// The name test is made on the names `create` really gives, not on a copy of the rule.
    #[test]
    fn temporary_files_are_recognised_by_name_and_final_names_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prepared.parquet");
        let pending = AtomicFile::create(&path).unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(AtomicFile::is_temporary(&names[0]), "{names:?}");
        drop(pending);
        for other in [
            "prepared.parquet",
            ".lock",
            "notes.tmp",
            ".notes.tmp",
            "..abcdef.tmp",
            ".a.abc-ef.tmp",
            ".a.abcdefg.tmp",
        ] {
            assert!(!AtomicFile::is_temporary(other), "{other}");
        }
    }

    #[test]
    fn a_missing_folder_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("m.model");
        let err = AtomicFile::create(&path).unwrap_err();
        assert_eq!(err.path, path);
        assert!(err.to_string().contains("cannot create a temporary file"));
    }
}
