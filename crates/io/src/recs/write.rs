//! Streaming ranked lists to a CSV or Parquet file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float32Array, LargeStringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use clickrec_core::{DenseId, IdMap, IdMaps, ItemId, UserId};
use clickrec_recommend::Recommendations;
use parquet::arrow::ArrowSchemaConverter;
use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
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
/// one block when larger).
pub struct RecsWriter<'a> {
    path: PathBuf,
    ids: &'a IdMaps,
    sink: Option<Sink>,
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

enum Sink {
    Csv(BufWriter<File>),
    Parquet(Box<ParquetSink>),
}

/// Parquet through the `parquet` crate: the id columns go in as dictionary arrays over
/// all external ids (dense ids as keys, no string built per row) and the four columns of
/// a row group are encoded in parallel. polars' writer builds a string per row and tries
/// a dictionary on every column; it took about twice as long for popularity's lists
/// (`bench/results/topn.md`). The files carry no Arrow schema, so every reader sees plain
/// UTF-8, u32 and f32 columns.
struct ParquetSink {
    writer: SerializedFileWriter<BufWriter<File>>,
    columns: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    user_ids: ArrayRef,
    item_ids: ArrayRef,
    rows: RowBuffer,
    groups: usize,
}

/// Parquet rows waiting for their row group, in dense ids.
#[derive(Default)]
struct RowBuffer {
    users: Vec<u32>,
    ranks: Vec<u32>,
    items: Vec<u32>,
    scores: Vec<f32>,
}

impl ParquetSink {
    fn new(out: BufWriter<File>, ids: &IdMaps) -> Result<Self, ParquetError> {
        let id_type =
            DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::LargeUtf8));
        let schema = Arc::new(Schema::new(vec![
            Field::new("user_id", id_type.clone(), false),
            Field::new("rank", DataType::UInt32, false),
            Field::new("item_id", id_type, false),
            Field::new("score", DataType::Float32, false),
        ]));
        // Statistics of the string columns cost a comparison per row and serve no reader.
        // A user's id repeats over its list, which LZ4 packs as well as a dictionary would
        // (popularity's lists for 1,000,000 users: 25 MB against 23 MB) without a hash per
        // row; scores are nearly all distinct.
        let properties = WriterProperties::builder()
            .set_compression(Compression::LZ4_RAW)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_column_statistics_enabled(ColumnPath::from("user_id"), EnabledStatistics::None)
            .set_column_statistics_enabled(ColumnPath::from("item_id"), EnabledStatistics::None)
            .set_column_dictionary_enabled(ColumnPath::from("user_id"), false)
            .set_column_dictionary_enabled(ColumnPath::from("score"), false)
            .build();
        let parquet_schema = ArrowSchemaConverter::new().convert(&schema)?;
        let writer =
            SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), Arc::new(properties))?;
        let columns = ArrowRowGroupWriterFactory::new(&writer, Arc::clone(&schema));
        Ok(ParquetSink {
            writer,
            columns,
            schema,
            user_ids: id_strings(&ids.users),
            item_ids: id_strings(&ids.items),
            rows: RowBuffer::default(),
            groups: 0,
        })
    }

    /// Writes the buffered rows as one row group, its columns encoded in parallel.
    fn flush(&mut self) -> Result<(), ParquetError> {
        let rows = std::mem::take(&mut self.rows);
        if rows.ranks.is_empty() {
            return Ok(());
        }
        let ids = |keys: Vec<u32>, values: &ArrayRef| -> Result<ArrayRef, ParquetError> {
            let array = DictionaryArray::<UInt32Type>::try_new(keys.into(), Arc::clone(values))?;
            Ok(Arc::new(array))
        };
        let arrays: Vec<ArrayRef> = vec![
            ids(rows.users, &self.user_ids)?,
            Arc::new(UInt32Array::from(rows.ranks)),
            ids(rows.items, &self.item_ids)?,
            Arc::new(Float32Array::from(rows.scores)),
        ];
        let writers = self.columns.create_column_writers(self.groups)?;
        let chunks = writers
            .into_par_iter()
            .zip(arrays.par_iter().zip(self.schema.fields().par_iter()))
            .map(|(mut writer, (array, field))| {
                for leaf in compute_leaves(field, array)? {
                    writer.write(&leaf)?;
                }
                writer.close()
            })
            .collect::<Result<Vec<_>, ParquetError>>()?;
        let mut group = self.writer.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        self.groups += 1;
        Ok(())
    }

    /// Writes the last row group and the footer; gives back the output.
    fn finish(mut self) -> Result<BufWriter<File>, ParquetError> {
        self.flush()?;
        self.writer.into_inner()
    }
}

/// All external ids of a map as one Arrow string array, indexed by dense id.
fn id_strings<Id: DenseId>(map: &IdMap<Id>) -> ArrayRef {
    Arc::new(LargeStringArray::from_iter_values(map.externals()))
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
            Format::Parquet => Sink::Parquet(Box::new(
                ParquetSink::new(out, ids).map_err(|e| RecsError::parquet(tmp, e))?,
            )),
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
                let rows = &mut sink.rows;
                for list in block.iter() {
                    if let Some(item) = list.items.iter().find(|i| i.0 as usize >= n_items) {
                        return Err(out_of_range("item", item.0, n_items));
                    }
                    let len = list.items.len();
                    rows.users.extend(std::iter::repeat_n(list.user.0, len));
                    rows.ranks
                        .extend(1..=u32::try_from(len).unwrap_or(u32::MAX));
                    rows.items.extend(list.items.iter().map(|i| i.0));
                    rows.scores.extend_from_slice(list.scores);
                }
                if rows.ranks.len() >= ROW_GROUP_ROWS {
                    sink.flush()
                        .map_err(|e| RecsError::parquet(&self.path, e))?;
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
                let out = sink.finish().map_err(|e| RecsError::parquet(&tmp, e))?;
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
