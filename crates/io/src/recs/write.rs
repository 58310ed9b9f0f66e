//! Streaming ranked lists to a CSV or Parquet file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use std::ops::Range;

use clickrec_core::{IdMaps, ItemId, Recommendations, UserId};
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::RecsError;
use super::source::{Format, work_ranges};
use crate::atomic::AtomicFile;

/// Rows gathered before a Parquet row group is written: small blocks are merged into
/// row groups of at least this size (a block larger than that is one row group).
const ROW_GROUP_ROWS: usize = 1 << 18;

/// The header of a CSV recommendation file (plain names: the dialect writes them as is).
const CSV_HEADER: &[u8] = b"user_id,rank,item_id,score\n";

/// What a finished file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecsFileSummary {
    /// Users with a list (an empty list writes no row but counts here).
    pub users: u64,
    /// Rows written: one per `(user, item)` pair.
    pub rows: u64,
}

/// Writes ranked lists, block by block, to a `.csv` or `.parquet` file with the columns
/// `user_id, rank, item_id, score`: external ids from the id maps, `rank` from 1 (u32),
/// `score` as f32 (an empty CSV field when the score is NaN, as for rank-only lists).
///
/// The file is written atomically (see [`AtomicFile`]) and moved into place by
/// [`RecsWriter::finish`]; dropping the writer unfinished (for instance after an error)
/// removes the temporary file. Memory stays bounded by one block (CSV goes through a
/// buffered writer; Parquet rows are gathered into row groups of at least 2^18 rows, or
/// one block when larger, and handed to polars' batched writer).
pub struct RecsWriter<'a> {
    path: PathBuf,
    ids: &'a IdMaps,
    sink: Option<Sink<'a>>,
    last_user: Option<UserId>,
    summary: RecsFileSummary,
    target: Option<AtomicFile>,
}

impl std::fmt::Debug for RecsWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecsWriter")
            .field("path", &self.path)
            .field("open", &self.sink.is_some())
            .field("summary", &self.summary)
            .finish()
    }
}

enum Sink<'a> {
    Csv(BufWriter<File>),
    Parquet(Box<ParquetSink<'a>>),
}

struct ParquetSink<'a> {
    writer: BatchedWriter<SharedFile>,
    file: SharedFile,
    rows: RowBuffer<'a>,
}

/// The buffered output file, shared with the Parquet writer so that it can be flushed
/// (and its errors seen) after the writer is done with it.
#[derive(Clone)]
struct SharedFile(Arc<Mutex<BufWriter<File>>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("output lock poisoned"))?
            .write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("output lock poisoned"))?
            .write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("output lock poisoned"))?
            .flush()
    }
}

/// Parquet rows waiting for their row group.
#[derive(Default)]
struct RowBuffer<'a> {
    users: Vec<&'a str>,
    ranks: Vec<u32>,
    items: Vec<&'a str>,
    scores: Vec<f32>,
}

impl RowBuffer<'_> {
    fn frame(&self) -> PolarsResult<DataFrame> {
        DataFrame::new(
            self.ranks.len(),
            vec![
                Column::new("user_id".into(), self.users.as_slice()),
                Column::new("rank".into(), self.ranks.as_slice()),
                Column::new("item_id".into(), self.items.as_slice()),
                Column::new("score".into(), self.scores.as_slice()),
            ],
        )
    }

    fn clear(&mut self) {
        self.users.clear();
        self.ranks.clear();
        self.items.clear();
        self.scores.clear();
    }
}

impl<'a> RecsWriter<'a> {
    /// Creates the temporary file of `path`, whose extension (`.csv` or `.parquet`, any
    /// case) chooses the format.
    pub fn create(path: &Path, ids: &'a IdMaps) -> Result<Self, RecsError> {
        let format = match Format::of(path) {
            Some(f @ (Format::Csv { gz: false } | Format::Parquet)) => f,
            _ => {
                return Err(RecsError::UnsupportedFormat {
                    path: path.to_owned(),
                    expected: ".csv or .parquet",
                });
            }
        };
        let target = AtomicFile::create(path)?;
        let file = target
            .file()
            .try_clone()
            .map_err(|e| RecsError::io(path, "cannot open the temporary file", e))?;
        let tmp = path;
        let out = BufWriter::with_capacity(1 << 20, file);
        let sink = match format {
            Format::Parquet => {
                let file = SharedFile(Arc::new(Mutex::new(out)));
                let rows = RowBuffer::default();
                let schema = rows.frame().map_err(|e| RecsError::polars(tmp, e))?;
                let writer = ParquetWriter::new(file.clone())
                    .with_compression(ParquetCompression::Lz4Raw)
                    .batched(schema.schema())
                    .map_err(|e| RecsError::polars(tmp, e))?;
                Sink::Parquet(Box::new(ParquetSink { writer, file, rows }))
            }
            Format::Csv { .. } => {
                let mut out = out;
                out.write_all(CSV_HEADER)
                    .map_err(|e| RecsError::io(tmp, "cannot write", e))?;
                Sink::Csv(out)
            }
        };
        Ok(RecsWriter {
            path: path.to_owned(),
            ids,
            sink: Some(sink),
            last_user: None,
            summary: RecsFileSummary::default(),
            target: Some(target),
        })
    }

    /// Appends a block of lists. Blocks must come in user order: every user of `block`
    /// must follow the last user written.
    pub fn write(&mut self, block: &Recommendations) -> Result<(), RecsError> {
        if let (Some(previous), Some(&user)) = (self.last_user, block.users().first())
            && previous >= user
        {
            return Err(RecsError::UserOrder {
                path: self.path.clone(),
                previous,
                user,
            });
        }
        let out_of_range = |kind, id: u32, len| RecsError::IdOutOfRange {
            path: self.path.clone(),
            kind,
            id,
            len,
        };
        let ids = self.ids;
        let (n_users, n_items) = (ids.users.len(), ids.items.len());
        if let Some(&user) = block.users().last()
            && user.0 as usize >= n_users
        {
            return Err(out_of_range("user", user.0, n_users));
        }
        let io_err = |e| RecsError::io(&self.path, "cannot write", e);
        match &mut self.sink {
            None => {}
            Some(Sink::Csv(out)) => {
                // Lists are formatted in parallel ranges, then written in order.
                let ranges = work_ranges(block.len(), 64);
                let format = |range: Range<usize>| format_csv(ids, block, range);
                let texts: Vec<Result<Vec<u8>, ItemId>> = if ranges.len() == 1 {
                    ranges.into_iter().map(format).collect()
                } else {
                    ranges.into_par_iter().map(format).collect()
                };
                for text in texts {
                    let text = text.map_err(|item| out_of_range("item", item.0, n_items))?;
                    out.write_all(&text).map_err(io_err)?;
                }
            }
            Some(Sink::Parquet(sink)) => {
                let ParquetSink { writer, rows, .. } = &mut **sink;
                for list in block.iter() {
                    let user = ids.users.external(list.user);
                    for (k, (&item, &score)) in list.items.iter().zip(list.scores).enumerate() {
                        if item.0 as usize >= n_items {
                            return Err(out_of_range("item", item.0, n_items));
                        }
                        rows.users.push(user);
                        rows.ranks.push(u32::try_from(k + 1).unwrap_or(u32::MAX));
                        rows.items.push(ids.items.external(item));
                        rows.scores.push(score);
                    }
                }
                if rows.ranks.len() >= ROW_GROUP_ROWS {
                    flush_rows(&self.path, writer, rows)?;
                }
            }
        }
        if let Some(&user) = block.users().last() {
            self.last_user = Some(user);
        }
        self.summary.users += block.len() as u64;
        self.summary.rows += block.n_pairs() as u64;
        Ok(())
    }

    /// Completes the file and moves it into place under its final name.
    pub fn finish(mut self) -> Result<RecsFileSummary, RecsError> {
        let tmp = self.path.clone();
        let io_err = |e| RecsError::io(&tmp, "cannot write", e);
        let file = match self.sink.take() {
            None => None,
            Some(Sink::Csv(out)) => Some(out.into_inner().map_err(|e| io_err(e.into_error()))?),
            Some(Sink::Parquet(sink)) => {
                let ParquetSink {
                    mut writer,
                    file,
                    mut rows,
                } = *sink;
                flush_rows(&tmp, &mut writer, &mut rows)?;
                writer.finish().map_err(|e| RecsError::polars(&tmp, e))?;
                drop(writer);
                let out = Arc::try_unwrap(file.0)
                    .map_err(|_| io_err(std::io::Error::other("output still shared")))?
                    .into_inner()
                    .map_err(|_| io_err(std::io::Error::other("output lock poisoned")))?;
                Some(out.into_inner().map_err(|e| io_err(e.into_error()))?)
            }
        };
        drop(file);
        if let Some(target) = self.target.take() {
            target.commit()?;
        }
        Ok(self.summary)
    }
}

impl Drop for RecsWriter<'_> {
    fn drop(&mut self) {
        // Close the sink's handle before the unfinished temporary file is removed.
        drop(self.sink.take());
        drop(self.target.take());
    }
}

/// Writes the buffered rows as one row group.
fn flush_rows(
    tmp: &Path,
    writer: &mut BatchedWriter<SharedFile>,
    rows: &mut RowBuffer<'_>,
) -> Result<(), RecsError> {
    if rows.ranks.is_empty() {
        return Ok(());
    }
    let frame = rows.frame().map_err(|e| RecsError::polars(tmp, e))?;
    writer
        .write_batch(&frame)
        .map_err(|e| RecsError::polars(tmp, e))?;
    rows.clear();
    Ok(())
}

/// The CSV lines of the lists `range` of `block` in the one dialect
/// ([`crate::csv_dialect::writer`]), or the first item outside the id map.
fn format_csv(
    ids: &IdMaps,
    block: &Recommendations,
    range: Range<usize>,
) -> Result<Vec<u8>, ItemId> {
    use std::fmt::Write as _;
    let n_items = ids.items.len();
    let mut out = crate::csv_dialect::writer(Vec::with_capacity(range.len() * 64));
    let (mut rank, mut score_text) = (String::new(), String::new());
    for k in range {
        let list = block.get(k);
        let user = ids.users.external(list.user);
        for (position, (&item, &score)) in list.items.iter().zip(list.scores).enumerate() {
            if item.0 as usize >= n_items {
                return Err(item);
            }
            rank.clear();
            score_text.clear();
            // Writing into a String cannot fail.
            let _ = write!(rank, "{}", position + 1);
            if !score.is_nan() {
                let _ = write!(score_text, "{score}");
            }
            // Writing into a Vec cannot fail.
            let _ = out.write_record([
                user,
                rank.as_str(),
                ids.items.external(item),
                score_text.as_str(),
            ]);
        }
    }
    // Flushing into a Vec cannot fail.
    Ok(out.into_inner().unwrap_or_default())
}
