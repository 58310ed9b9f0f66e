//! Event tables written with the `parquet` crate: plain-encoded, LZ4-raw-compressed
//! integer columns (and a float column for the input's event weights).
//!
//! polars' writer tries a dictionary on every integer column (a min/max pass, then a
//! cardinality estimate for wide ranges) and cannot be told not to. User and item ids of
//! a click log are nearly all distinct within a row group, so the attempt is wasted work
//! on the largest file of a run. polars reads these files back as it reads its own: the
//! same column names and types (u32 ids, u8 behaviour, i64 seconds).

use std::io::Write;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{FloatType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// Rows per row group: large enough that per-group overhead vanishes, small enough that
/// the conversion buffers stay a few MiB.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// One column of an event table.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EventColumn<'a> {
    U32(&'a str, &'a [u32]),
    U8(&'a str, &'a [u8]),
    I64(&'a str, &'a [i64]),
    F32(&'a str, &'a [f32]),
}

impl EventColumn<'_> {
    fn len(&self) -> usize {
        match self {
            EventColumn::U32(_, v) => v.len(),
            EventColumn::U8(_, v) => v.len(),
            EventColumn::I64(_, v) => v.len(),
            EventColumn::F32(_, v) => v.len(),
        }
    }

    /// The column's line in the Parquet message type.
    fn schema_line(&self) -> String {
        match self {
            EventColumn::U32(name, _) => format!("REQUIRED INT32 {name} (INTEGER(32, false));"),
            EventColumn::U8(name, _) => format!("REQUIRED INT32 {name} (INTEGER(8, false));"),
            EventColumn::I64(name, _) => format!("REQUIRED INT64 {name} (INTEGER(64, true));"),
            EventColumn::F32(name, _) => format!("REQUIRED FLOAT {name};"),
        }
    }
}

/// Writes equally long `columns` as one Parquet file into `out`.
pub(crate) fn write_event_columns<W: Write + Send>(
    out: W,
    columns: &[EventColumn<'_>],
) -> Result<(), ParquetError> {
    write_in_groups(out, columns, ROW_GROUP_ROWS)
}

/// [`write_event_columns`] with `group_rows` rows per row group.
fn write_in_groups<W: Write + Send>(
    out: W,
    columns: &[EventColumn<'_>],
    group_rows: usize,
) -> Result<(), ParquetError> {
    let rows = columns.first().map_or(0, EventColumn::len);
    if let Some(c) = columns.iter().find(|c| c.len() != rows) {
        return Err(ParquetError::General(format!(
            "column {} has {} rows, expected {rows}",
            c.schema_line(),
            c.len()
        )));
    }
    let lines: String = columns.iter().map(EventColumn::schema_line).collect();
    let schema = Arc::new(parse_message_type(&format!(
        "message events {{ {lines} }}"
    ))?);
    let properties = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::LZ4_RAW)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut writer = SerializedFileWriter::new(out, schema, Arc::new(properties))?;
    let mut as_i32 = Vec::new();
    for start in (0..rows).step_by(group_rows) {
        let end = (start + group_rows).min(rows);
        let mut group = writer.next_row_group()?;
        for column in columns {
            let mut chunk = group.next_column()?.ok_or_else(|| {
                ParquetError::General("the schema has fewer columns than given".to_owned())
            })?;
            match column {
                // Parquet stores unsigned 32- and 8-bit integers in INT32 (the logical
                // type says how to read them back): the bits of a u32 as an i32.
                EventColumn::U32(_, values) => {
                    as_i32.clear();
                    as_i32.extend(values[start..end].iter().map(|&v| v as i32));
                    chunk
                        .typed::<Int32Type>()
                        .write_batch(&as_i32, None, None)?;
                }
                EventColumn::U8(_, values) => {
                    as_i32.clear();
                    as_i32.extend(values[start..end].iter().map(|&v| i32::from(v)));
                    chunk
                        .typed::<Int32Type>()
                        .write_batch(&as_i32, None, None)?;
                }
                EventColumn::I64(_, values) => {
                    chunk
                        .typed::<Int64Type>()
                        .write_batch(&values[start..end], None, None)?;
                }
                EventColumn::F32(_, values) => {
                    chunk
                        .typed::<FloatType>()
                        .write_batch(&values[start..end], None, None)?;
                }
            }
            chunk.close()?;
        }
        group.close()?;
    }
    writer.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use polars::prelude::*;
    use proptest::prelude::*;

    proptest! {
        /// polars reads back every value, with the types it writes itself, across row
        /// groups (7 rows each here).
        #[test]
        fn polars_reads_the_columns_back(
            rows in prop::collection::vec((any::<u32>(), any::<u8>(), any::<i64>()), 0..40),
        ) {
            let ids: Vec<u32> = rows.iter().map(|r| r.0).collect();
            let codes: Vec<u8> = rows.iter().map(|r| r.1).collect();
            let times: Vec<i64> = rows.iter().map(|r| r.2).collect();
            let columns = [
                EventColumn::U32("user_id", &ids),
                EventColumn::U8("behavior", &codes),
                EventColumn::I64("timestamp", &times),
            ];
            let mut bytes = Vec::new();
            write_in_groups(&mut bytes, &columns, 7).unwrap();
            let frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish().unwrap();
            prop_assert_eq!(frame.height(), rows.len());
            let users: Vec<u32> = frame.column("user_id").unwrap().u32().unwrap()
                .into_no_null_iter().collect();
            let behaviors: Vec<u8> = frame.column("behavior").unwrap().u8().unwrap()
                .into_no_null_iter().collect();
            let timestamps: Vec<i64> = frame.column("timestamp").unwrap().i64().unwrap()
                .into_no_null_iter().collect();
            prop_assert_eq!(users, ids);
            prop_assert_eq!(behaviors, codes);
            prop_assert_eq!(timestamps, times);
        }
    }

    #[test]
    fn columns_of_different_lengths_are_refused() {
        let err = write_event_columns(
            Vec::new(),
            &[EventColumn::U32("a", &[1, 2]), EventColumn::U8("b", &[1])],
        )
        .unwrap_err();
        assert!(err.to_string().contains("has 1 rows, expected 2"), "{err}");
    }
}
