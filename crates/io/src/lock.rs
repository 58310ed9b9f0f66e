//! One writer per run directory: an advisory lock (`flock` through `std::fs::File::try_lock`)
//! on `RUN_DIR/.lock`, which also records the holder's process id for the message. The
//! operating system drops the lock when its process ends, however it ends, so a killed
//! run never leaves a lock that blocks the next one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The lock file's name inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// Why a run directory could not be locked.
#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "{dir} is in use by process {pid}: wait for it to finish or choose another run directory"
    )]
    Busy { dir: PathBuf, pid: String },
    #[error("{path}: cannot lock the run directory: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Holds a run directory's lock until dropped.
#[derive(Debug)]
pub struct RunDirLock {
    _file: File,
}

impl RunDirLock {
    /// Locks `dir` (which must exist) for this process, or fails at once when another
    /// process holds it.
    pub fn acquire(dir: &Path) -> Result<RunDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        // Not truncated on open: the holder's pid must survive until we own the lock.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(LockError::Busy {
                    dir: dir.to_owned(),
                    pid: if pid.is_empty() {
                        "(unknown)".to_owned()
                    } else {
                        pid.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(RunDirLock { _file: file })
    }
}

impl RunDirLock {
    /// Fails as [`RunDirLock::acquire`] would when a process holds `dir`'s lock, without
    /// taking it: a shared lock, tried and released at once, so readers (a server loading
    /// the run) never block each other. A directory without a lock file is free.
    pub fn check_free(dir: &Path) -> Result<(), LockError> {
        let path = dir.join(LOCK_FILE);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(LockError::Io { path, source }),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(()),
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                Err(LockError::Busy {
                    dir: dir.to_owned(),
                    pid: match pid.trim() {
                        "" => "(unknown)".to_owned(),
                        p => p.to_owned(),
                    },
                })
            }
            Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_held_lock_names_its_process_and_a_dropped_one_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let held = RunDirLock::acquire(dir.path()).unwrap();
        let err = RunDirLock::acquire(dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is in use by process {}: wait for it to finish or choose another run directory",
                dir.path().display(),
                std::process::id()
            )
        );
        assert!(matches!(
            RunDirLock::check_free(dir.path()),
            Err(LockError::Busy { .. })
        ));
        drop(held);
        RunDirLock::check_free(dir.path()).unwrap();
        RunDirLock::check_free(dir.path()).unwrap();
        RunDirLock::acquire(dir.path()).unwrap();
    }
}
