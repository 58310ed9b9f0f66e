//! Feature vectors for MLlib and back.
//!
//! MLlib's KMeans and logistic regression read a `Vector` column, which Spark SQL text
//! cannot make from an array. So rows built here are written as a Parquet table on the
//! shared storage (`features: array<float>`, optionally `label: double`), and the fit's
//! dataset is a Connect `Project` over it that calls `array_to_vector`, an internal
//! function MLlib registers on the server. What a saved model holds comes back as MLlib's
//! `Vector` and `Matrix` structs, read here as dense rows.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float32Array, Float64Array, ListArray, PrimitiveArray,
    StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Field, Float64Type, Int8Type, Int32Type, Schema,
};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use spark_connect_proto as proto;

use crate::client::sql_relation;
use crate::error::SparkError;
use crate::table_files::file_error;

/// The column of the feature arrays, and of the vectors the dataset turns them into.
pub const FEATURES: &str = "features";
/// The column of the labels (0 or 1), when there are labels.
pub const LABEL: &str = "label";

/// Writes `rows` (row-major, `dim` wide) and their `labels` as `dir/part-00000.parquet`,
/// replacing the folder. Spark reads it as `features: array<float>`, `label: double`.
pub fn write_vectors(
    dir: &Path,
    rows: &[f32],
    dim: usize,
    labels: Option<&[bool]>,
) -> Result<(), SparkError> {
    let n = rows.len().checked_div(dim).unwrap_or(0);
    if n * dim != rows.len() || labels.is_some_and(|l| l.len() != n) {
        return Err(file_error(
            dir,
            "cannot write vectors",
            format!(
                "{} values are not {n} rows of {dim} with {} labels",
                rows.len(),
                labels.map_or(0, <[bool]>::len)
            ),
        ));
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_error(dir, "cannot empty", e)),
    }
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, "cannot create", e))?;

    let item = Arc::new(Field::new("element", DataType::Float32, false));
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(dim, n));
    let features = ListArray::try_new(
        item.clone(),
        offsets,
        Arc::new(Float32Array::from(rows.to_vec())),
        None,
    )
    .map_err(|e| file_error(dir, "cannot build the feature column", e))?;
    let mut fields = vec![Field::new(FEATURES, DataType::List(item), false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(features)];
    if let Some(labels) = labels {
        fields.push(Field::new(LABEL, DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            labels.iter().map(|&l| if l { 1.0 } else { 0.0 }),
        )));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| file_error(dir, "cannot build the vector table", e))?;
    let path = dir.join("part-00000.parquet");
    let file = File::create(&path).map_err(|e| file_error(&path, "cannot create", e))?;
    let mut writer = ArrowWriter::try_new(file, schema, None)
        .map_err(|e| file_error(&path, "cannot write", e))?;
    writer
        .write(&batch)
        .and_then(|()| writer.close().map(|_| ()))
        .map_err(|e| file_error(&path, "cannot write", e))
}

/// The dataset of a fit over a table of [`write_vectors`]: its `features` arrays as MLlib
/// vectors, and its `label` when `with_label`.
pub fn vector_dataset(table_sql: &str, with_label: bool) -> proto::Relation {
    use proto::expression::{Alias, ExprType, UnresolvedAttribute, UnresolvedFunction};
    let column = |name: &str| proto::Expression {
        common: None,
        expr_type: Some(ExprType::UnresolvedAttribute(UnresolvedAttribute {
            unparsed_identifier: name.to_string(),
            plan_id: None,
            is_metadata_column: None,
        })),
    };
    let vector = proto::Expression {
        common: None,
        expr_type: Some(ExprType::UnresolvedFunction(UnresolvedFunction {
            function_name: "array_to_vector".into(),
            arguments: vec![column(FEATURES)],
            is_distinct: false,
            is_user_defined_function: false,
            // Left unset: the server looks the name up in its internal registry too.
            is_internal: None,
        })),
    };
    let mut expressions = vec![proto::Expression {
        common: None,
        expr_type: Some(ExprType::Alias(Box::new(Alias {
            expr: Some(Box::new(vector)),
            name: vec![FEATURES.to_string()],
            metadata: None,
        }))),
    }];
    if with_label {
        expressions.push(column(LABEL));
    }
    proto::Relation {
        common: None,
        rel_type: Some(proto::relation::RelType::Project(Box::new(
            proto::Project {
                input: Some(Box::new(sql_relation(table_sql))),
                expressions,
            },
        ))),
    }
}

/// How MLlib stored the rows of a column [`dense_rows`] reads.
#[derive(Clone, Copy, Debug)]
pub enum Stored {
    /// `Vector` structs (`type`, `size`, `indices`, `values`; type 1 dense, 0 sparse).
    Vectors,
    /// One-row `Matrix` structs (`type`, `numRows`, `numCols`, `colPtrs`, `rowIndices`,
    /// `values`, `isTransposed`; type 1 dense, 0 sparse).
    SingleRowMatrices,
}

/// A column of MLlib vectors or one-row matrices, as `stored`, as dense rows of `width`.
pub fn dense_rows(
    batches: &[RecordBatch],
    column: &str,
    width: usize,
    what: &str,
    stored: Stored,
) -> Result<Vec<f64>, SparkError> {
    let mut out = Vec::new();
    let mut row = 0;
    for batch in batches {
        let fields = struct_column(batch, column, what)?;
        let place = Place {
            column,
            what,
            width,
            row,
        };
        match stored {
            Stored::Vectors => vectors(fields, &place, &mut out)?,
            Stored::SingleRowMatrices => single_row_matrices(fields, &place, &mut out)?,
        }
        row += fields.len();
    }
    Ok(out)
}

/// Where a batch of [`dense_rows`] comes from: its column, the table, the row width and
/// the index of its first row, for the error messages.
struct Place<'a> {
    column: &'a str,
    what: &'a str,
    width: usize,
    row: usize,
}

fn vectors(fields: &StructArray, place: &Place<'_>, out: &mut Vec<f64>) -> Result<(), SparkError> {
    let (column, what, width, row) = (place.column, place.what, place.width, place.row);
    let kinds = primitive_field::<Int8Type>(fields, "type", "a tinyint", column, what, row)?;
    let values = child(fields, "values", column, what)?;
    let indices = child(fields, "indices", column, what)?;
    for i in 0..fields.len() {
        let at = row + i;
        if fields.is_null(i) || kinds.is_null(i) {
            return Err(shape(what, column, at, "null".into()));
        }
        let values = doubles(values, i, column, what, at)?;
        if kinds.value(i) == 1 {
            out.extend(dense_values(values, width, what, column, at)?);
        } else {
            let indices = ints(indices, i, column, what, at)?;
            out.extend(scatter(width, &indices, &values, what, column, at)?);
        }
    }
    Ok(())
}

fn single_row_matrices(
    fields: &StructArray,
    place: &Place<'_>,
    out: &mut Vec<f64>,
) -> Result<(), SparkError> {
    let (column, what, width, row) = (place.column, place.what, place.width, place.row);
    let int_field = |name| primitive_field::<Int32Type>(fields, name, "an int", column, what, row);
    let kinds = primitive_field::<Int8Type>(fields, "type", "a tinyint", column, what, row)?;
    let (rows, cols) = (int_field("numRows")?, int_field("numCols")?);
    let transposed: BooleanArray = child(fields, "isTransposed", column, what)?
        .as_boolean_opt()
        .cloned()
        .ok_or_else(|| shape(what, column, row, "`isTransposed` is not a boolean".into()))?;
    let (values, pointers, indices) = (
        child(fields, "values", column, what)?,
        child(fields, "colPtrs", column, what)?,
        child(fields, "rowIndices", column, what)?,
    );
    for i in 0..fields.len() {
        let at = row + i;
        if fields.is_null(i) {
            return Err(shape(what, column, at, "null".into()));
        }
        if rows.value(i) != 1 || usize::try_from(cols.value(i)).ok() != Some(width) {
            return Err(shape(
                what,
                column,
                at,
                format!(
                    "{} × {}, expected 1 × {width}",
                    rows.value(i),
                    cols.value(i)
                ),
            ));
        }
        let values = doubles(values, i, column, what, at)?;
        if kinds.value(i) == 1 {
            // One row: row-major and column-major order are the same.
            out.extend(dense_values(values, width, what, column, at)?);
        } else {
            let pointers = ints(pointers, i, column, what, at)?;
            let indices = ints(indices, i, column, what, at)?;
            let columns: Vec<i32> = if transposed.value(i) {
                // Compressed rows: the one row's entries, indices are columns.
                indices
            } else {
                // Compressed columns: column j holds entries colPtrs[j]..colPtrs[j + 1].
                (0..width)
                    .flat_map(|j| {
                        let (a, b) = (pointers[j], pointers.get(j + 1).copied().unwrap_or(0));
                        (a..b).map(move |_| j as i32)
                    })
                    .collect()
            };
            out.extend(scatter(width, &columns, &values, what, column, at)?);
        }
    }
    Ok(())
}

fn struct_column<'a>(
    batch: &'a RecordBatch,
    column: &str,
    what: &str,
) -> Result<&'a StructArray, SparkError> {
    let array = batch
        .column_by_name(column)
        .ok_or_else(|| SparkError::Column {
            what: what.to_string(),
            column: column.to_string(),
            detail: "no such column".into(),
        })?;
    array.as_struct_opt().ok_or_else(|| SparkError::Column {
        what: what.to_string(),
        column: column.to_string(),
        detail: format!(
            "is {}, expected an MLlib vector or matrix",
            array.data_type()
        ),
    })
}

fn child<'a>(
    fields: &'a StructArray,
    name: &str,
    column: &str,
    what: &str,
) -> Result<&'a ArrayRef, SparkError> {
    fields
        .column_by_name(name)
        .ok_or_else(|| SparkError::Column {
            what: what.to_string(),
            column: column.to_string(),
            detail: format!("has no `{name}` field"),
        })
}

/// The struct field `name` as a primitive array of `T` (`kind` names `T` in the error).
fn primitive_field<'a, T: ArrowPrimitiveType>(
    fields: &'a StructArray,
    name: &str,
    kind: &str,
    column: &str,
    what: &str,
    row: usize,
) -> Result<&'a PrimitiveArray<T>, SparkError> {
    child(fields, name, column, what)?
        .as_primitive_opt::<T>()
        .ok_or_else(|| {
            shape(
                what,
                column,
                row,
                format!("its `{name}` field is not {kind}"),
            )
        })
}

/// Element `i` of a `list<double>` field (an empty list for a null one).
fn doubles(
    list: &ArrayRef,
    i: usize,
    column: &str,
    what: &str,
    at: usize,
) -> Result<Vec<f64>, SparkError> {
    list_element::<Float64Type>(list, i, "values", "doubles", column, what, at)
}

/// Element `i` of a `list<int>` field (an empty list for a null one).
fn ints(
    list: &ArrayRef,
    i: usize,
    column: &str,
    what: &str,
    at: usize,
) -> Result<Vec<i32>, SparkError> {
    list_element::<Int32Type>(list, i, "indices", "ints", column, what, at)
}

fn list_element<T: ArrowPrimitiveType>(
    list: &ArrayRef,
    i: usize,
    field: &str,
    kind: &str,
    column: &str,
    what: &str,
    at: usize,
) -> Result<Vec<T::Native>, SparkError> {
    let list = list
        .as_list_opt::<i32>()
        .ok_or_else(|| shape(what, column, at, format!("its {field} are not a list")))?;
    if list.is_null(i) {
        return Ok(Vec::new());
    }
    let element = list.value(i);
    element
        .as_primitive_opt::<T>()
        .map(|v| v.values().to_vec())
        .ok_or_else(|| shape(what, column, at, format!("its {field} are not {kind}")))
}

/// A dense layout's values, which must be exactly `width`.
fn dense_values(
    values: Vec<f64>,
    width: usize,
    what: &str,
    column: &str,
    at: usize,
) -> Result<Vec<f64>, SparkError> {
    if values.len() != width {
        return Err(shape(
            what,
            column,
            at,
            format!("{} values, expected {width}", values.len()),
        ));
    }
    Ok(values)
}

/// A sparse layout as a dense row of `width`: `values` at `indices`, zero elsewhere.
fn scatter(
    width: usize,
    indices: &[i32],
    values: &[f64],
    what: &str,
    column: &str,
    at: usize,
) -> Result<Vec<f64>, SparkError> {
    if indices.len() != values.len() {
        return Err(shape(
            what,
            column,
            at,
            format!("{} indices for {} values", indices.len(), values.len()),
        ));
    }
    let mut dense = vec![0.0; width];
    for (&j, &v) in indices.iter().zip(values) {
        let slot = usize::try_from(j)
            .ok()
            .and_then(|j| dense.get_mut(j))
            .ok_or_else(|| shape(what, column, at, format!("index {j} outside 0..{width}")))?;
        *slot = v;
    }
    Ok(dense)
}

fn shape(what: &str, column: &str, row: usize, detail: String) -> SparkError {
    SparkError::Value {
        what: what.to_string(),
        row,
        column: column.to_string(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int8Array, Int32Array};
    use arrow::datatypes::Fields;

    use super::*;
    use crate::table_files::read_table;

    #[test]
    fn written_vectors_read_back_with_their_labels() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("rows");
        write_vectors(
            &table,
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            3,
            Some(&[true, false]),
        )
        .unwrap();
        let batches = read_table(&table, &[FEATURES, LABEL]).unwrap();
        let rows = crate::columns::f32_rows(&batches, FEATURES, 3, "t").unwrap();
        assert_eq!(rows, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let labels = crate::columns::f64_column(&batches, LABEL, "t").unwrap();
        assert_eq!(labels, [1.0, 0.0]);
    }

    #[test]
    fn a_ragged_block_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("rows");
        let e = write_vectors(&table, &[1.0, 2.0, 3.0], 2, None).unwrap_err();
        assert!(e.to_string().contains("3 values"), "{e}");
        assert!(!table.exists());
    }

    #[test]
    fn the_dataset_turns_the_arrays_into_vectors_and_keeps_the_label() {
        use proto::expression::ExprType;
        let relation = vector_dataset("SELECT * FROM parquet.`/s/rows`", true);
        let Some(proto::relation::RelType::Project(project)) = relation.rel_type else {
            panic!("not a projection");
        };
        match project.input.and_then(|r| r.rel_type) {
            Some(proto::relation::RelType::Sql(q)) => {
                assert_eq!(q.query, "SELECT * FROM parquet.`/s/rows`");
            }
            other => panic!("the input is not SQL: {other:?}"),
        }
        let Some(ExprType::Alias(alias)) = &project.expressions[0].expr_type else {
            panic!("no alias");
        };
        assert_eq!(alias.name, ["features"]);
        match alias.expr.as_ref().and_then(|e| e.expr_type.as_ref()) {
            Some(ExprType::UnresolvedFunction(f)) => {
                assert_eq!(f.function_name, "array_to_vector");
                assert_eq!(f.arguments.len(), 1);
            }
            other => panic!("not a function call: {other:?}"),
        }
        match &project.expressions[1].expr_type {
            Some(ExprType::UnresolvedAttribute(a)) => assert_eq!(a.unparsed_identifier, "label"),
            other => panic!("no label: {other:?}"),
        }
        assert_eq!(
            vector_dataset("SELECT 1", false).rel_type.map(|r| match r {
                proto::relation::RelType::Project(p) => p.expressions.len(),
                _ => 0,
            }),
            Some(1)
        );
    }

    fn int_list(rows: Vec<Option<Vec<i32>>>) -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
            rows.into_iter().map(|r| r.map(|v| v.into_iter().map(Some))),
        ))
    }

    fn double_list(rows: Vec<Vec<f64>>) -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(
            rows.into_iter().map(|r| Some(r.into_iter().map(Some))),
        ))
    }

    fn batch_of(column: &str, fields: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let (names, arrays): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
        let fields: Fields = names
            .iter()
            .zip(&arrays)
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        let array = StructArray::new(fields, arrays, None);
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                column,
                array.data_type().clone(),
                true,
            )])),
            vec![Arc::new(array)],
        )
        .unwrap()
    }

    #[test]
    fn dense_and_sparse_vectors_read_as_dense_rows() {
        let batch = batch_of(
            "v",
            vec![
                ("type", Arc::new(Int8Array::from(vec![1, 0]))),
                ("size", Arc::new(Int32Array::from(vec![None, Some(3)]))),
                ("indices", int_list(vec![None, Some(vec![2])])),
                ("values", double_list(vec![vec![1.0, 2.0, 3.0], vec![9.0]])),
            ],
        );
        let rows = dense_rows(std::slice::from_ref(&batch), "v", 3, "t", Stored::Vectors).unwrap();
        assert_eq!(rows, [1.0, 2.0, 3.0, 0.0, 0.0, 9.0]);
        let e = dense_rows(&[batch], "v", 2, "t", Stored::Vectors)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 values, expected 2"), "{e}");
    }

    #[test]
    fn one_row_matrices_read_dense_in_every_layout() {
        let batch = batch_of(
            "m",
            vec![
                ("type", Arc::new(Int8Array::from(vec![1, 0, 0]))),
                ("numRows", Arc::new(Int32Array::from(vec![1, 1, 1]))),
                ("numCols", Arc::new(Int32Array::from(vec![3, 3, 3]))),
                (
                    "colPtrs",
                    int_list(vec![None, Some(vec![0, 1]), Some(vec![0, 0, 1, 2])]),
                ),
                (
                    "rowIndices",
                    int_list(vec![None, Some(vec![1]), Some(vec![0, 0])]),
                ),
                (
                    "values",
                    double_list(vec![vec![0.5, -1.0, 2.0], vec![7.0], vec![4.0, 5.0]]),
                ),
                (
                    "isTransposed",
                    Arc::new(BooleanArray::from(vec![true, true, false])),
                ),
            ],
        );
        let rows = dense_rows(&[batch], "m", 3, "t", Stored::SingleRowMatrices).unwrap();
        assert_eq!(rows, [0.5, -1.0, 2.0, 0.0, 7.0, 0.0, 0.0, 4.0, 5.0]);
    }
}
