//! The versioned binary model format.
//!
//! ```text
//! magic "CLKRMDL\0" | version u32 | kind (u32 length + UTF-8) | id fingerprint (32 bytes)
//! | n_users u64 | n_items u64 | payload (model-specific, written with ModelWriter)
//! ```
//! All numbers little-endian. The id fingerprint hashes the external user and item ids in
//! dense-id order, so a model loaded against a run with other id maps is refused instead
//! of silently recommending the wrong items.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use clickrec_core::{AtomicFile, IdMaps};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ModelError;

/// First bytes of every model file.
pub const MODEL_MAGIC: [u8; 8] = *b"CLKRMDL\0";
/// The format version written; readers refuse any other.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Identity of the user and item id maps a model was fitted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdFingerprint {
    pub hash: [u8; 32],
    pub n_users: u64,
    pub n_items: u64,
}

impl IdFingerprint {
    /// Hashes the external user and item ids in dense order.
    pub fn of(ids: &IdMaps) -> Self {
        let mut hasher = blake3::Hasher::new();
        for (kind, externals) in [
            ("users", ids.users.externals().collect::<Vec<_>>()),
            ("items", ids.items.externals().collect::<Vec<_>>()),
        ] {
            hasher.update(kind.as_bytes());
            hasher.update(&(externals.len() as u64).to_le_bytes());
            for external in externals {
                hasher.update(&(external.len() as u64).to_le_bytes());
                hasher.update(external.as_bytes());
            }
        }
        IdFingerprint {
            hash: *hasher.finalize().as_bytes(),
            n_users: ids.users.len() as u64,
            n_items: ids.items.len() as u64,
        }
    }

    /// For tests and data without external ids: users and items are their dense ids.
    pub fn dense(n_users: usize, n_items: usize) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"dense");
        hasher.update(&(n_users as u64).to_le_bytes());
        hasher.update(&(n_items as u64).to_le_bytes());
        IdFingerprint {
            hash: *hasher.finalize().as_bytes(),
            n_users: n_users as u64,
            n_items: n_items as u64,
        }
    }

    fn hex(&self) -> String {
        self.hash[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Writes the header and then typed sections of a model file.
#[derive(Debug)]
pub struct ModelWriter {
    path: PathBuf,
    out: BufWriter<AtomicFile>,
}

impl ModelWriter {
    /// Starts the model file `path` and writes the header. The file is written under a
    /// unique temporary name and appears under `path` only at [`ModelWriter::finish`]
    /// (core's [`AtomicFile`]), so a crash never leaves a half-written model.
    pub fn create(path: &Path, kind: &str, ids: &IdFingerprint) -> Result<Self, ModelError> {
        let file = AtomicFile::create(path)?;
        let mut writer = ModelWriter {
            path: path.to_owned(),
            out: BufWriter::with_capacity(1 << 20, file),
        };
        writer.bytes(&MODEL_MAGIC)?;
        writer.u32(MODEL_FORMAT_VERSION)?;
        writer.str(kind)?;
        writer.bytes(&ids.hash)?;
        writer.u64(ids.n_users)?;
        writer.u64(ids.n_items)?;
        Ok(writer)
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), ModelError> {
        self.out.write_all(bytes).map_err(|source| ModelError::Io {
            path: self.path.clone(),
            action: "write",
            source,
        })
    }

    pub fn u32(&mut self, v: u32) -> Result<(), ModelError> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn u64(&mut self, v: u64) -> Result<(), ModelError> {
        self.bytes(&v.to_le_bytes())
    }

    pub fn str(&mut self, s: &str) -> Result<(), ModelError> {
        self.u32(s.len() as u32)?;
        self.bytes(s.as_bytes())
    }

    /// A length-prefixed JSON value (parameters, small metadata).
    pub fn json(&mut self, value: &impl Serialize) -> Result<(), ModelError> {
        let text = serde_json::to_string(value).map_err(|e| ModelError::Corrupt {
            path: self.path.clone(),
            reason: format!("cannot encode parameters: {e}"),
        })?;
        self.str(&text)
    }

    /// A length-prefixed array of f32.
    pub fn f32s(&mut self, values: &[f32]) -> Result<(), ModelError> {
        self.words(values, |v| v.to_le_bytes())
    }

    /// A length-prefixed array of u32.
    pub fn u32s(&mut self, values: &[u32]) -> Result<(), ModelError> {
        self.words(values, |v| v.to_le_bytes())
    }

    /// A length-prefixed array of fixed-size words, written 2¹⁶ at a time.
    fn words<T, const W: usize>(
        &mut self,
        values: &[T],
        le_bytes: impl Fn(&T) -> [u8; W],
    ) -> Result<(), ModelError> {
        self.u64(values.len() as u64)?;
        let mut buf = Vec::with_capacity(values.len().min(1 << 16) * W);
        for chunk in values.chunks(1 << 16) {
            buf.clear();
            chunk
                .iter()
                .for_each(|v| buf.extend_from_slice(&le_bytes(v)));
            self.bytes(&buf)?;
        }
        Ok(())
    }

    /// A length-prefixed array of u64.
    pub fn u64s(&mut self, values: &[u64]) -> Result<(), ModelError> {
        self.u64(values.len() as u64)?;
        values.iter().try_for_each(|&v| self.u64(v))
    }

    /// Flushes the file to disk and moves it into place under its final name.
    pub fn finish(self) -> Result<(), ModelError> {
        let path = self.path;
        let file = self.out.into_inner().map_err(|e| ModelError::Io {
            path: path.clone(),
            action: "write",
            source: e.into_error(),
        })?;
        Ok(file.commit()?)
    }
}

/// Reads a model file written by [`ModelWriter`], checking every length it reads.
#[derive(Debug)]
pub struct ModelReader {
    path: PathBuf,
    input: BufReader<File>,
    /// Bytes left in the file, so a corrupt length cannot trigger a huge allocation.
    remaining: u64,
    pub kind: String,
    pub ids: IdFingerprint,
}

impl ModelReader {
    /// Opens `path` and reads the header.
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let io = |action| {
            move |source| ModelError::Io {
                path: path.to_owned(),
                action,
                source,
            }
        };
        let file = File::open(path).map_err(io("open"))?;
        let remaining = file.metadata().map_err(io("read"))?.len();
        let mut reader = ModelReader {
            path: path.to_owned(),
            input: BufReader::with_capacity(1 << 20, file),
            remaining,
            kind: String::new(),
            ids: IdFingerprint::dense(0, 0),
        };
        let mut magic = [0u8; 8];
        if reader.remaining < 8 {
            return Err(ModelError::BadMagic {
                path: path.to_owned(),
            });
        }
        reader.bytes(&mut magic)?;
        if magic != MODEL_MAGIC {
            return Err(ModelError::BadMagic {
                path: path.to_owned(),
            });
        }
        let version = reader.u32()?;
        if version != MODEL_FORMAT_VERSION {
            return Err(ModelError::Version {
                path: path.to_owned(),
                found: version,
                expected: MODEL_FORMAT_VERSION,
            });
        }
        reader.kind = reader.str()?;
        let mut hash = [0u8; 32];
        reader.bytes(&mut hash)?;
        let n_users = reader.u64()?;
        let n_items = reader.u64()?;
        reader.ids = IdFingerprint {
            hash,
            n_users,
            n_items,
        };
        Ok(reader)
    }

    /// Refuses a model fitted against other id maps than `expected`.
    pub fn check_ids(&self, expected: &IdFingerprint) -> Result<(), ModelError> {
        if &self.ids == expected {
            return Ok(());
        }
        Err(ModelError::IdMapsDiffer {
            path: self.path.clone(),
            found: self.ids.hex(),
            expected: expected.hex(),
            found_users: self.ids.n_users,
            found_items: self.ids.n_items,
            expected_users: expected.n_users,
            expected_items: expected.n_items,
        })
    }

    /// An error naming this file.
    pub fn corrupt(&self, reason: impl Into<String>) -> ModelError {
        ModelError::Corrupt {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn bytes(&mut self, buf: &mut [u8]) -> Result<(), ModelError> {
        if (buf.len() as u64) > self.remaining {
            return Err(self.corrupt("file ends early"));
        }
        self.input
            .read_exact(buf)
            .map_err(|source| ModelError::Io {
                path: self.path.clone(),
                action: "read",
                source,
            })?;
        self.remaining -= buf.len() as u64;
        Ok(())
    }

    pub fn u32(&mut self) -> Result<u32, ModelError> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn u64(&mut self) -> Result<u64, ModelError> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn len(&mut self, width: u64) -> Result<usize, ModelError> {
        let n = self.u64()?;
        if n.saturating_mul(width) > self.remaining {
            return Err(self.corrupt(format!("array of {n} values runs past the end")));
        }
        Ok(n as usize)
    }

    pub fn str(&mut self) -> Result<String, ModelError> {
        let n = self.u32()? as usize;
        if n as u64 > self.remaining {
            return Err(self.corrupt("string runs past the end"));
        }
        let mut buf = vec![0u8; n];
        self.bytes(&mut buf)?;
        String::from_utf8(buf).map_err(|_| self.corrupt("string is not UTF-8"))
    }

    pub fn json<T: DeserializeOwned>(&mut self) -> Result<T, ModelError> {
        let text = self.str()?;
        serde_json::from_str(&text).map_err(|e| self.corrupt(format!("bad parameters: {e}")))
    }

    fn words<const W: usize>(&mut self) -> Result<Vec<[u8; W]>, ModelError> {
        let n = self.len(W as u64)?;
        let mut raw = vec![0u8; n * W];
        self.bytes(&mut raw)?;
        Ok(raw
            .chunks_exact(W)
            .map(|c| {
                let mut w = [0u8; W];
                w.copy_from_slice(c);
                w
            })
            .collect())
    }

    pub fn f32s(&mut self) -> Result<Vec<f32>, ModelError> {
        Ok(self
            .words::<4>()?
            .into_iter()
            .map(f32::from_le_bytes)
            .collect())
    }

    pub fn u32s(&mut self) -> Result<Vec<u32>, ModelError> {
        Ok(self
            .words::<4>()?
            .into_iter()
            .map(u32::from_le_bytes)
            .collect())
    }

    pub fn u64s(&mut self) -> Result<Vec<u64>, ModelError> {
        Ok(self
            .words::<8>()?
            .into_iter()
            .map(u64::from_le_bytes)
            .collect())
    }

    /// Checks nothing is left after the payload.
    pub fn finish(self) -> Result<(), ModelError> {
        if self.remaining != 0 {
            return Err(self.corrupt(format!(
                "{} unexpected bytes after the model",
                self.remaining
            )));
        }
        Ok(())
    }
}
