//! A table Spark wrote to the shared storage, read straight from its Parquet files.
//!
//! Large results come back this way rather than through the Connect client's collect,
//! which has been seen to return part of a 10M-row result without an error. Reading the
//! files is also the cheaper path: no driver, no gRPC, no Arrow IPC re-encoding.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::SparkError;

/// The `columns` of every Parquet file under `dir` (partition folders such as `shard=3`
/// included; hidden files, `_SUCCESS` and checksums skipped), files in path order.
/// Partition columns live in folder names, not in the files, so they cannot be asked for.
pub fn read_table(dir: &Path, columns: &[&str]) -> Result<Vec<RecordBatch>, SparkError> {
    let mut files = Vec::new();
    collect_parquet_files(dir, &mut files)?;
    files.sort();
    let mut batches = Vec::new();
    for path in &files {
        read_file(path, columns, &mut batches)?;
    }
    Ok(batches)
}

fn collect_parquet_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), SparkError> {
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, "cannot list", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| file_error(dir, "cannot list", e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| file_error(&path, "cannot stat", e))?;
        if kind.is_dir() {
            collect_parquet_files(&path, files)?;
        } else if name.ends_with(".parquet") {
            files.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path, columns: &[&str], out: &mut Vec<RecordBatch>) -> Result<(), SparkError> {
    let file = File::open(path).map_err(|e| file_error(path, "cannot open", e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| file_error(path, "cannot read as Parquet", e))?;
    let schema = builder.schema().clone();
    let roots = columns
        .iter()
        .map(|&column| {
            schema.index_of(column).map_err(|_| SparkError::Column {
                what: path.display().to_string(),
                column: column.to_string(),
                detail: format!(
                    "not in the file; it holds {}",
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(1 << 16)
        .build()
        .map_err(|e| file_error(path, "cannot read as Parquet", e))?;
    for batch in reader {
        out.push(batch.map_err(|e| file_error(path, "cannot read as Parquet", e))?);
    }
    Ok(())
}

/// A file problem at `path`: what was being done and the cause.
pub(crate) fn file_error(path: &Path, what: &str, error: impl std::fmt::Display) -> SparkError {
    SparkError::File {
        path: path.to_path_buf(),
        detail: format!("{what}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;

    use super::*;
    use crate::columns::{i64_column, u32_column};

    fn write(path: &Path, users: Vec<i32>, ts: Vec<i64>) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Int32, false),
            Field::new("ts", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(users)),
                Arc::new(Int64Array::from(ts)),
            ],
        )
        .unwrap();
        let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[test]
    fn every_partition_file_is_read_and_the_rest_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("shard=1/part-0.parquet"),
            vec![3, 4],
            vec![30, 40],
        );
        write(
            &dir.path().join("shard=0/part-0.parquet"),
            vec![1],
            vec![10],
        );
        std::fs::write(dir.path().join("_SUCCESS"), b"").unwrap();
        std::fs::write(dir.path().join("shard=0/.part-0.parquet.crc"), b"x").unwrap();

        let batches = read_table(dir.path(), &["user"]).unwrap();
        assert_eq!(u32_column(&batches, "user", "t").unwrap(), [1, 3, 4]);
        assert!(
            i64_column(&batches, "ts", "t").is_err(),
            "only asked columns"
        );
    }

    #[test]
    fn a_missing_column_names_the_file_and_the_columns_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("part-0.parquet");
        write(&file, vec![1], vec![10]);
        let message = read_table(dir.path(), &["item"]).unwrap_err().to_string();
        assert!(message.contains("part-0.parquet"), "{message}");
        assert!(message.contains("\"item\""), "{message}");
        assert!(message.contains("user, ts"), "{message}");
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("pairs");
        let message = read_table(&gone, &["user"]).unwrap_err().to_string();
        assert!(message.contains("pairs"), "{message}");
    }
}
