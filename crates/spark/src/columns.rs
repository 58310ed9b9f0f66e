//! Arrow record batches from Spark as plain Rust columns, checked: a missing column, a
//! column of another kind, a null or a value out of range is an error naming the column,
//! the row (counted across batches) and the value — nothing is dropped or wrapped.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;

use crate::error::SparkError;

/// The number of rows in all `batches`.
pub fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// An integer column as `u32` (dense ids, counts). Any Arrow integer type is accepted.
pub fn u32_column(
    batches: &[RecordBatch],
    column: &str,
    what: &str,
) -> Result<Vec<u32>, SparkError> {
    let mut out = Vec::with_capacity(row_count(batches));
    let mut row = 0;
    for array in arrays(batches, column, what)? {
        let values = integers(&array, column, what)?;
        for (i, value) in values.iter().enumerate() {
            let value = value.ok_or_else(|| null(what, row + i, column))?;
            let value = u32::try_from(value).map_err(|_| SparkError::Value {
                what: what.to_string(),
                row: row + i,
                column: column.to_string(),
                detail: format!("{value} is outside 0..={}", u32::MAX),
            })?;
            out.push(value);
        }
        row += array.len();
    }
    Ok(out)
}

/// An integer column as `i64` (timestamps, counts). Any Arrow integer type that fits.
pub fn i64_column(
    batches: &[RecordBatch],
    column: &str,
    what: &str,
) -> Result<Vec<i64>, SparkError> {
    let mut out = Vec::with_capacity(row_count(batches));
    let mut row = 0;
    for array in arrays(batches, column, what)? {
        let values = integers(&array, column, what)?;
        for (i, value) in values.iter().enumerate() {
            out.push(value.ok_or_else(|| null(what, row + i, column))?);
        }
        row += array.len();
    }
    Ok(out)
}

/// A floating-point column as `f64`. `float` and `double` are accepted, and integers
/// (exact up to 2^53).
pub fn f64_column(
    batches: &[RecordBatch],
    column: &str,
    what: &str,
) -> Result<Vec<f64>, SparkError> {
    let mut out = Vec::with_capacity(row_count(batches));
    let mut row = 0;
    for array in arrays(batches, column, what)? {
        let wide = match array.data_type() {
            t if t.is_floating() || t.is_integer() => {
                cast_exact(&array, &DataType::Float64, column, what)?
            }
            other => {
                return Err(kind(
                    what,
                    column,
                    other,
                    "a floating-point or integer column",
                ));
            }
        };
        let values = wide.as_primitive::<Float64Type>();
        for (i, value) in values.iter().enumerate() {
            out.push(value.ok_or_else(|| null(what, row + i, column))?);
        }
        row += array.len();
    }
    Ok(out)
}

/// A `float` column as `f32`. A `double` column is narrowed to the nearest `f32` (the
/// precision clickrec keeps in its matrices and factors).
pub fn f32_column(
    batches: &[RecordBatch],
    column: &str,
    what: &str,
) -> Result<Vec<f32>, SparkError> {
    let mut out = Vec::with_capacity(row_count(batches));
    let mut row = 0;
    for array in arrays(batches, column, what)? {
        let narrow = match array.data_type() {
            DataType::Float32 => array.clone(),
            DataType::Float64 | DataType::Float16 => {
                cast_exact(&array, &DataType::Float32, column, what)?
            }
            other => return Err(kind(what, column, other, "a float or double column")),
        };
        let values = narrow.as_primitive::<Float32Type>();
        for (i, value) in values.iter().enumerate() {
            out.push(value.ok_or_else(|| null(what, row + i, column))?);
        }
        row += array.len();
    }
    Ok(out)
}

/// A string column.
pub fn string_column(
    batches: &[RecordBatch],
    column: &str,
    what: &str,
) -> Result<Vec<String>, SparkError> {
    let mut out = Vec::with_capacity(row_count(batches));
    let mut row = 0;
    for array in arrays(batches, column, what)? {
        let text = match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                cast_exact(&array, &DataType::Utf8, column, what)?
            }
            other => return Err(kind(what, column, other, "a string column")),
        };
        for (i, value) in text.as_string::<i32>().iter().enumerate() {
            out.push(
                value
                    .ok_or_else(|| null(what, row + i, column))?
                    .to_string(),
            );
        }
        row += array.len();
    }
    Ok(out)
}

/// An `array<float>` (or `array<double>`) column whose every row has `width` elements,
/// appended row after row into one flat row-major `f32` vector (`rows × width`).
pub fn f32_rows(
    batches: &[RecordBatch],
    column: &str,
    width: usize,
    what: &str,
) -> Result<Vec<f32>, SparkError> {
    let mut out = Vec::with_capacity(row_count(batches) * width);
    let mut row = 0;
    for array in arrays(batches, column, what)? {
        // Spark sends arrays as Arrow `List` (32-bit offsets).
        let list = match array.data_type() {
            DataType::List(_) => array.as_list::<i32>(),
            other => return Err(kind(what, column, other, "an array<float> column")),
        };
        for (i, element) in list.iter().enumerate() {
            let element = element.ok_or_else(|| null(what, row + i, column))?;
            if element.len() != width {
                return Err(SparkError::Value {
                    what: what.to_string(),
                    row: row + i,
                    column: column.to_string(),
                    detail: format!("{} elements, expected {width}", element.len()),
                });
            }
            let floats = match element.data_type() {
                DataType::Float32 => element,
                DataType::Float64 => cast_exact(&element, &DataType::Float32, column, what)?,
                other => return Err(kind(what, column, other, "an array<float> column")),
            };
            let floats = floats.as_primitive::<Float32Type>();
            if floats.null_count() > 0 {
                return Err(SparkError::Value {
                    what: what.to_string(),
                    row: row + i,
                    column: column.to_string(),
                    detail: "the array holds a null".into(),
                });
            }
            out.extend(floats.values().iter().copied());
        }
        row += array.len();
    }
    Ok(out)
}

/// The named column of every batch.
fn arrays(batches: &[RecordBatch], column: &str, what: &str) -> Result<Vec<ArrayRef>, SparkError> {
    batches
        .iter()
        .map(|batch| {
            batch.column_by_name(column).cloned().ok_or_else(|| {
                let names: Vec<_> = batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                SparkError::Column {
                    what: what.to_string(),
                    column: column.to_string(),
                    detail: format!("no such column; the result has {names:?}"),
                }
            })
        })
        .collect()
}

/// An integer array widened to `i64` (a `UInt64` above `i64::MAX` is an error).
fn integers(
    array: &ArrayRef,
    column: &str,
    what: &str,
) -> Result<arrow::array::PrimitiveArray<Int64Type>, SparkError> {
    if !array.data_type().is_integer() {
        return Err(kind(what, column, array.data_type(), "an integer column"));
    }
    Ok(cast_exact(array, &DataType::Int64, column, what)?
        .as_primitive::<Int64Type>()
        .clone())
}

/// Arrow's cast that fails on overflow instead of turning the value into a null.
fn cast_exact(
    array: &ArrayRef,
    to: &DataType,
    column: &str,
    what: &str,
) -> Result<ArrayRef, SparkError> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(array, to, &options).map_err(|e| SparkError::Column {
        what: what.to_string(),
        column: column.to_string(),
        detail: format!("cannot convert {} to {to}: {e}", array.data_type()),
    })
}

fn kind(what: &str, column: &str, found: &DataType, wanted: &str) -> SparkError {
    SparkError::Column {
        what: what.to_string(),
        column: column.to_string(),
        detail: format!("is {found}, expected {wanted}"),
    }
}

fn null(what: &str, row: usize, column: &str) -> SparkError {
    SparkError::Value {
        what: what.to_string(),
        row,
        column: column.to_string(),
        detail: "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        Float32Builder, Float64Array, Int32Array, Int64Array, ListBuilder, StringArray,
    };
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .expect("a valid batch")
    }

    #[test]
    fn integers_across_batches() {
        let a = batch(vec![(
            "id",
            Arc::new(Int32Array::from(vec![0, 1, 2])) as ArrayRef,
        )]);
        let b = batch(vec![(
            "id",
            Arc::new(Int64Array::from(vec![3, 4_000_000_000])) as ArrayRef,
        )]);
        assert_eq!(
            u32_column(&[a.clone(), b.clone()], "id", "t").expect("u32"),
            [0, 1, 2, 3, 4_000_000_000]
        );
        assert_eq!(
            i64_column(&[a, b], "id", "t").expect("i64"),
            [0, 1, 2, 3, 4_000_000_000]
        );
    }

    #[test]
    fn out_of_range_negative_and_null_are_named() {
        let a = batch(vec![(
            "id",
            Arc::new(Int64Array::from(vec![Some(1), Some(-1)])) as ArrayRef,
        )]);
        let e = u32_column(&[a], "id", "users").expect_err("negative");
        let text = e.to_string();
        assert!(
            text.contains("users") && text.contains("row 1") && text.contains("-1"),
            "{text}"
        );

        let a = batch(vec![(
            "w",
            Arc::new(Float64Array::from(vec![Some(1.0)])) as ArrayRef,
        )]);
        let b = batch(vec![(
            "w",
            Arc::new(Float64Array::from(vec![Some(2.0), None])) as ArrayRef,
        )]);
        let e = f64_column(&[a, b], "w", "pairs").expect_err("null");
        assert!(e.to_string().contains("row 2"), "{e}");
    }

    #[test]
    fn missing_column_and_wrong_kind_are_named() {
        let a = batch(vec![(
            "name",
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )]);
        let e = u32_column(std::slice::from_ref(&a), "id", "items").expect_err("missing");
        assert!(e.to_string().contains("\"name\""), "{e}");
        let e = u32_column(std::slice::from_ref(&a), "name", "items").expect_err("a string");
        assert!(e.to_string().contains("expected an integer column"), "{e}");
        assert_eq!(
            string_column(&[a], "name", "items").expect("strings"),
            ["x"]
        );
    }

    #[test]
    fn floats_narrow_and_widen() {
        let a = batch(vec![(
            "w",
            Arc::new(Float64Array::from(vec![0.5, 1.25])) as ArrayRef,
        )]);
        assert_eq!(
            f32_column(std::slice::from_ref(&a), "w", "t").expect("f32"),
            [0.5, 1.25]
        );
        assert_eq!(f64_column(&[a], "w", "t").expect("f64"), [0.5, 1.25]);
    }

    #[test]
    fn float_arrays_become_dense_rows() {
        let mut builder = ListBuilder::new(Float32Builder::new());
        for row in [[1.0, 2.0], [3.0, 4.0]] {
            builder.values().append_slice(&row);
            builder.append(true);
        }
        let a = batch(vec![("features", Arc::new(builder.finish()) as ArrayRef)]);
        assert_eq!(
            f32_rows(std::slice::from_ref(&a), "features", 2, "t").expect("rows"),
            [1.0, 2.0, 3.0, 4.0]
        );
        let e = f32_rows(&[a], "features", 3, "factors").expect_err("wrong width");
        assert!(e.to_string().contains("2 elements, expected 3"), "{e}");
    }
}
