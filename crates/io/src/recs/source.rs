//! One row source for both file types: the reader names the columns it wants, the
//! source hands out each row's values in that order.

use std::fs::File;
use std::io::BufReader;
use std::ops::Range;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use polars::prelude::*;

use super::csv_records::{Records, for_each_batch};
use super::error::{Location, RecsError};

/// Columns a reader asks for, at most four; `None` for an absent optional column.
pub(super) const SLOTS: usize = 4;
pub(super) type Selection = [Option<usize>; SLOTS];

/// Rows per Parquet slice: bounds the memory of one decoded slice.
const SLICE_ROWS: usize = 1 << 20;

/// File types, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Csv { gz: bool },
    Parquet,
}

impl Format {
    /// The format of `path` from its name: `.csv`, `.csv.gz` (reading only) or `.parquet`,
    /// in any letter case.
    pub(super) fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".csv") {
            Some(Format::Csv { gz: false })
        } else if name.ends_with(".csv.gz") {
            Some(Format::Csv { gz: true })
        } else if name.ends_with(".parquet") {
            Some(Format::Parquet)
        } else {
            None
        }
    }

    pub(super) fn location(self, at: u64) -> Location {
        match self {
            Format::Csv { .. } => Location::Line(at),
            Format::Parquet => Location::Row(at),
        }
    }
}

/// One value of a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Value<'a> {
    /// A CSV field or a Parquet string (integer id columns arrive as their decimal text).
    Text(&'a [u8]),
    /// A Parquet number (any integer or float type).
    Num(f64),
    /// A Parquet null, or an unselected slot.
    Null,
}

impl Value<'_> {
    /// The value as written in an error message.
    pub(super) fn show(&self) -> String {
        match self {
            Value::Text(t) => String::from_utf8_lossy(t).into_owned(),
            Value::Num(x) => x.to_string(),
            Value::Null => String::new(),
        }
    }
}

/// The column names of a file, quoted and joined for error messages.
pub(super) fn list_columns(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds `wanted` among `names` (trimmed, ASCII case-insensitive).
pub(super) fn find_column(names: &[String], wanted: &str) -> Option<usize> {
    names
        .iter()
        .position(|n| n.trim().eq_ignore_ascii_case(wanted))
}

/// Consecutive data rows of a file, to be read by index ranges (several ranges at once
/// from different threads).
pub(super) struct Batch<'a> {
    kind: BatchKind<'a>,
    len: usize,
}

enum BatchKind<'a> {
    Csv {
        records: &'a Records<'a>,
        /// Index of the first data record (1 when the batch starts with the header).
        first: usize,
        selection: &'a Selection,
    },
    Parquet {
        offset: u64,
        columns: &'a [Option<ColumnData>],
    },
}

impl Batch<'_> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Calls `on_row(at, values)` for the rows of `range`, in order: `at` is the line
    /// (CSV) or row index (Parquet).
    pub(super) fn rows<E>(
        &self,
        range: Range<usize>,
        mut on_row: impl FnMut(u64, &[Value<'_>; SLOTS]) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.kind {
            BatchKind::Csv {
                records,
                first,
                selection,
            } => {
                for r in range {
                    let i = first + r;
                    let fields = records.fields_of(i);
                    // Field counts were checked when the batch was made.
                    let values = selection.map(|s| {
                        s.and_then(|p| fields.get(p))
                            .map_or(Value::Null, |f| Value::Text(f))
                    });
                    on_row(records.lines[i], &values)?;
                }
            }
            BatchKind::Parquet { offset, columns } => {
                let (start, len) = (range.start, range.len());
                let sliced: Vec<Option<ColumnData>> = columns
                    .iter()
                    .map(|c| c.as_ref().map(|c| c.slice(start, len)))
                    .collect();
                let mut iters: Vec<Box<dyn Iterator<Item = Value<'_>> + '_>> = sliced
                    .iter()
                    .map(|c| match c {
                        Some(c) => c.values(),
                        None => Box::new(std::iter::repeat(Value::Null)),
                    })
                    .collect();
                for row in range {
                    let mut values = [Value::Null; SLOTS];
                    for (value, iter) in values.iter_mut().zip(iters.iter_mut()) {
                        *value = iter.next().unwrap_or(Value::Null);
                    }
                    on_row(offset + row as u64, &values)?;
                }
            }
        }
        Ok(())
    }
}

/// Splits `0..len` into ranges for the threads to work on: a few per thread, of at
/// least `min` elements.
pub(super) fn work_ranges(len: usize, min: usize) -> Vec<Range<usize>> {
    let parts = 4 * rayon::current_num_threads().max(1);
    let size = len.div_ceil(parts).max(min.max(1));
    (0..len)
        .step_by(size)
        .map(|start| start..(start + size).min(len))
        .collect()
}

/// Reads `path` in batches of rows, in file order. `resolve` sees the column names (CSV
/// header or Parquet schema) and picks the columns of the four slots; slots 0 and 1 are
/// id columns, read as text even when Parquet stores them as integers. Errors of
/// `on_batch` stop the scan. Returns the number of data rows.
pub(super) fn scan<E: From<RecsError>>(
    path: &Path,
    resolve: impl FnOnce(&[String]) -> Result<Selection, RecsError>,
    on_batch: impl FnMut(&Batch<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    let Some(format) = Format::of(path) else {
        return Err(RecsError::UnsupportedFormat {
            path: path.to_owned(),
            expected: ".csv, .csv.gz or .parquet",
        }
        .into());
    };
    let file = open(path)?;
    match format {
        Format::Csv { gz } => scan_csv(path, file, gz, resolve, on_batch),
        Format::Parquet => scan_parquet(path, file, resolve, on_batch),
    }
}

/// Opens an input file, with one clear error each for a missing file, a directory and
/// an empty file.
fn open(path: &Path) -> Result<File, RecsError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RecsError::NotFound {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(RecsError::io(path, "cannot read file metadata", e)),
        Ok(m) if m.is_dir() => {
            return Err(RecsError::IsDirectory {
                path: path.to_owned(),
            });
        }
        Ok(m) if m.len() == 0 => {
            return Err(RecsError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(_) => {}
    }
    File::open(path).map_err(|e| RecsError::io(path, "cannot open", e))
}

fn scan_csv<E: From<RecsError>>(
    path: &Path,
    file: File,
    gz: bool,
    resolve: impl FnOnce(&[String]) -> Result<Selection, RecsError>,
    mut on_batch: impl FnMut(&Batch<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    let source: Box<dyn std::io::Read> = if gz {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file)))
    } else {
        Box::new(file)
    };
    let mut resolve = Some(resolve);
    let mut selection: Selection = [None; SLOTS];
    let mut needed = 0;
    let mut rows = 0u64;
    for_each_batch(path, source, |records| -> Result<(), E> {
        let mut first = 0;
        if let Some(resolve) = resolve.take() {
            let names = records
                .fields_of(0)
                .iter()
                .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_owned()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| RecsError::HeaderNotUtf8 {
                    path: path.to_owned(),
                    at: Location::Line(records.lines[0]),
                })?;
            selection = resolve(&names)?;
            needed = selection.iter().flatten().max().map_or(0, |&m| m + 1);
            first = 1;
        }
        for i in first..records.len() {
            let found = records.fields_of(i).len();
            if found < needed {
                return Err(RecsError::TooFewFields {
                    path: path.to_owned(),
                    at: Location::Line(records.lines[i]),
                    expected: needed,
                    found,
                }
                .into());
            }
        }
        let len = records.len() - first;
        if len == 0 {
            return Ok(());
        }
        rows += len as u64;
        on_batch(&Batch {
            kind: BatchKind::Csv {
                records,
                first,
                selection: &selection,
            },
            len,
        })
    })?;
    if resolve.is_some() {
        return Err(RecsError::Empty {
            path: path.to_owned(),
        }
        .into());
    }
    if rows == 0 {
        return Err(RecsError::NoRows {
            path: path.to_owned(),
        }
        .into());
    }
    Ok(rows)
}

/// One decoded Parquet column of a slice.
enum ColumnData {
    Text(StringChunked),
    Num(Float64Chunked),
}

impl ColumnData {
    fn new(path: &Path, column: &Column, as_text: bool) -> Result<ColumnData, RecsError> {
        let polars_err = |e| RecsError::polars(path, e);
        let dtype = column.dtype();
        let numeric = dtype.is_integer() || dtype.is_float();
        if !(numeric || dtype.is_string() || matches!(dtype, DataType::Binary | DataType::Null)) {
            return Err(RecsError::ColumnType {
                path: path.to_owned(),
                column: column.name().to_string(),
                dtype: dtype.to_string(),
            });
        }
        if numeric && !as_text {
            let c = column.cast(&DataType::Float64).map_err(polars_err)?;
            Ok(ColumnData::Num(c.f64().map_err(polars_err)?.clone()))
        } else {
            let c = column.cast(&DataType::String).map_err(polars_err)?;
            Ok(ColumnData::Text(c.str().map_err(polars_err)?.clone()))
        }
    }

    /// Rows `start..start + len`, without copying.
    fn slice(&self, start: usize, len: usize) -> ColumnData {
        let start = start as i64;
        match self {
            ColumnData::Text(c) => ColumnData::Text(c.slice(start, len)),
            ColumnData::Num(c) => ColumnData::Num(c.slice(start, len)),
        }
    }

    fn values(&self) -> Box<dyn Iterator<Item = Value<'_>> + '_> {
        match self {
            ColumnData::Text(c) => Box::new(
                c.iter()
                    .map(|v| v.map_or(Value::Null, |s| Value::Text(s.as_bytes()))),
            ),
            ColumnData::Num(c) => Box::new(c.iter().map(|v| v.map_or(Value::Null, Value::Num))),
        }
    }
}

fn scan_parquet<E: From<RecsError>>(
    path: &Path,
    file: File,
    resolve: impl FnOnce(&[String]) -> Result<Selection, RecsError>,
    mut on_batch: impl FnMut(&Batch<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    let polars_err = |e| RecsError::polars(path, e);
    let mut reader = ParquetReader::new(file);
    let schema = reader.schema().map_err(polars_err)?;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let selection = resolve(&names)?;
    let metadata = reader.get_metadata().map_err(polars_err)?.clone();
    let total = metadata.num_rows;
    if total == 0 {
        return Err(RecsError::NoRows {
            path: path.to_owned(),
        }
        .into());
    }
    let selected: Vec<String> = selection
        .iter()
        .flatten()
        .map(|&p| names[p].clone())
        .collect();
    for offset in (0..total).step_by(SLICE_ROWS) {
        let len = SLICE_ROWS.min(total - offset);
        let file = File::open(path).map_err(|e| RecsError::io(path, "cannot open", e))?;
        let mut slice_reader = ParquetReader::new(file)
            .with_columns(Some(selected.clone()))
            .with_slice(Some((offset, len)));
        slice_reader.set_metadata(metadata.clone());
        let frame = slice_reader.finish().map_err(polars_err)?;
        let mut columns: Vec<Option<ColumnData>> = Vec::with_capacity(SLOTS);
        for (slot, position) in selection.iter().enumerate() {
            columns.push(match position {
                Some(p) => {
                    let column = frame.column(&names[*p]).map_err(polars_err)?;
                    Some(ColumnData::new(path, column, slot < 2)?)
                }
                None => None,
            });
        }
        on_batch(&Batch {
            kind: BatchKind::Parquet {
                offset: offset as u64,
                columns: &columns,
            },
            len: frame.height(),
        })?;
    }
    Ok(total as u64)
}
