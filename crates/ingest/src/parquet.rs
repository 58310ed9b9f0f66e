//! Parquet input: the mapped columns, read in row slices and validated like text rows.

use polars::prelude::*;

use crate::Input;
use crate::assemble::{Assembler, Ingested, ParsedBlock};
use crate::error::IngestError;
use crate::row::{Positions, RowSpec};
use crate::text::resolve_positions;

/// Rows per slice: bounds the memory of the string copies made for validation.
const SLICE_ROWS: usize = 1 << 20;

pub(crate) fn read_parquet(input: Input<'_>) -> Result<Ingested, IngestError> {
    let polars_err = |e| IngestError::polars(input.path, e);
    let mut reader = ParquetReader::new(crate::open_input(input.path)?);
    let schema = reader.schema().map_err(polars_err)?;
    let all_names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let all = resolve_positions(input.path, input.layout, &all_names)?;
    let total = reader.num_rows().map_err(polars_err)?;

    // Read only the mapped columns; positions then index into that selection.
    let mut selected: Vec<usize> = Vec::new();
    let mut select = |p: usize| match selected.iter().position(|&s| s == p) {
        Some(i) => i,
        None => {
            selected.push(p);
            selected.len() - 1
        }
    };
    let positions = Positions {
        user: all.user.map(&mut select),
        session: all.session.map(&mut select),
        item: select(all.item),
        time: all.time.map(&mut select),
        weight: all.weight.map(&mut select),
        category: all.category.map(&mut select),
        behavior: all.behavior.map(&mut select),
    };
    let names: Vec<String> = selected.iter().map(|&p| all_names[p].clone()).collect();
    for name in &names {
        let dtype = schema.get(name.as_str()).map(|f| f.dtype().clone());
        if let Some(dtype) = dtype {
            use ArrowDataType as T;
            let readable = matches!(
                dtype,
                T::Int8
                    | T::Int16
                    | T::Int32
                    | T::Int64
                    | T::UInt8
                    | T::UInt16
                    | T::UInt32
                    | T::UInt64
                    | T::Float32
                    | T::Float64
                    | T::Utf8
                    | T::LargeUtf8
                    | T::Utf8View
            );
            if !readable {
                return Err(IngestError::ColumnType {
                    path: input.path.to_owned(),
                    role: "mapped value",
                    column: name.clone(),
                    dtype: format!("{dtype:?}"),
                });
            }
        }
    }
    let spec = RowSpec::new(
        input.layout,
        positions,
        names.clone(),
        input.options.window,
        input.options.time_range,
    )?;
    let mut assembler =
        Assembler::new(input.path, input.options, input.quarantine, 0, input.known)?;
    input.progress.start(total as u64);

    for offset in (0..total).step_by(SLICE_ROWS) {
        let len = SLICE_ROWS.min(total - offset);
        let frame = ParquetReader::new(crate::open_input(input.path)?)
            .with_columns(Some(names.clone()))
            .with_slice(Some((offset, len)))
            .finish()
            .map_err(polars_err)?;
        let columns: Vec<StringChunked> = names
            .iter()
            .map(|n| {
                let c = frame.column(n)?.cast(&DataType::String)?;
                Ok(c.str()?.rechunk().into_owned())
            })
            .collect::<PolarsResult<_>>()
            .map_err(polars_err)?;
        let values: Vec<Vec<Option<&str>>> = columns.iter().map(|c| c.iter().collect()).collect();
        let mut block = ParsedBlock::with_capacity(&spec, len);
        let mut fields: Vec<&[u8]> = Vec::with_capacity(values.len());
        let mut raw = Vec::new();
        for row in 0..frame.height() {
            fields.clear();
            fields.extend(values.iter().map(|col| col[row].unwrap_or("").as_bytes()));
            // Parquet has no raw line: the quarantine gets `column=value` pairs instead.
            raw.clear();
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    raw.push(b',');
                }
                raw.extend_from_slice(names[i].as_bytes());
                raw.push(b'=');
                raw.extend_from_slice(field);
            }
            block.row(&spec, &fields, true, &raw, row as u64 + 1);
        }
        let rows = frame.height() as u64;
        assembler.absorb(block.finish(rows, 0))?;
        input.progress.advance_to((offset + len) as u64);
    }
    input.progress.finish();
    assembler.finish(&spec, false, || IngestError::Empty {
        path: input.path.to_owned(),
    })
}
