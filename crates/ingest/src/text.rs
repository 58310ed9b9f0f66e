//! Text input (plain or gzip), delimited or JSON lines: read in blocks, validate blocks
//! in parallel, merge them in file order.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use flate2::read::MultiGzDecoder;
use rayon::prelude::*;

use crate::assemble::{Assembler, Ingested, ParsedBlock};
use crate::error::IngestError;
use crate::format::{ColumnRef, Layout, LogFormat};
use crate::options::IngestOptions;
use crate::rejection::RejectReason;
use crate::row::{Positions, RowSpec};
use clickrec_core::{IdMaps, Progress};
use clickrec_io::csv_dialect::{OpenQuote, RecordSplitter, for_each_record, last_record_end};

/// Bytes per block: large enough to amortise the per-block id merge, small enough that
/// a few blocks in flight stay far below the size of the parsed columns.
const BLOCK_BYTES: usize = 8 << 20;

pub(crate) fn read_text(
    path: &Path,
    layout: &Layout,
    options: &IngestOptions,
    quarantine: &Path,
    progress: &dyn Progress,
    known: Option<&IdMaps>,
) -> Result<Ingested, IngestError> {
    let file = crate::open_input(path)?;
    let total = file
        .metadata()
        .map_err(|e| IngestError::io(path, "cannot read file metadata", e))?
        .len();
    progress.start(total);
    let read_bytes = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: file,
        count: Arc::clone(&read_bytes),
    };
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let source: Box<dyn Read + Send> = if gz {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            counted,
        )))
    } else {
        Box::new(counted)
    };
    let shape = match options.format {
        LogFormat::Jsonl(_) => Shape::JsonLines,
        _ => Shape::Delimited(layout.delimiter),
    };
    let mut blocks = BlockReader {
        source,
        carry: Vec::new(),
        done: false,
        path,
        shape,
    };

    let Some(mut first) = blocks.next_block()? else {
        return Err(IngestError::Empty {
            path: path.to_owned(),
        });
    };
    if first.starts_with(b"\xef\xbb\xbf") {
        first.drain(..3);
    }
    let (spec, first, line_base) = match shape {
        Shape::Delimited(_) => resolve_spec(path, layout, options, first)?,
        Shape::JsonLines => {
            let names = json_field_names(layout);
            let positions = resolve_positions(path, layout, &names)?;
            (
                RowSpec::new(layout, positions, names, options.window)?,
                first,
                0,
            )
        }
    };
    let mut assembler = Assembler::new(path, options, quarantine, line_base, known)?;

    let batch_len = 2 * rayon::current_num_threads().max(1);
    std::thread::scope(|scope| -> Result<(), IngestError> {
        // The reader thread keeps I/O and decompression off the parsing threads.
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<u8>, IngestError>>(batch_len);
        let reader = scope.spawn(move || {
            if tx.send(Ok(first)).is_err() {
                return;
            }
            loop {
                match blocks.next_block() {
                    Ok(Some(block)) => {
                        if tx.send(Ok(block)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        let next_batch = || -> Result<Vec<Vec<u8>>, IngestError> {
            let mut batch = Vec::with_capacity(batch_len);
            while batch.len() < batch_len {
                match rx.recv() {
                    Ok(block) => batch.push(block?),
                    Err(_) => break,
                }
            }
            Ok(batch)
        };
        let parse = |batch: Vec<Vec<u8>>| -> Vec<Result<ParsedBlock, OpenQuote>> {
            batch
                .par_iter()
                .map(|bytes| match shape {
                    Shape::Delimited(delimiter) => parse_block(&spec, bytes, delimiter),
                    Shape::JsonLines => Ok(parse_json_block(&spec, bytes)),
                })
                .collect::<Vec<_>>()
        };
        let mut pending = parse(next_batch()?);
        loop {
            let raw = next_batch()?;
            let last = raw.is_empty();
            let (parsed, merged) = rayon::join(
                || parse(raw),
                || {
                    pending.into_iter().try_for_each(|block| match block {
                        Ok(block) => assembler.absorb(block),
                        Err(open) => Err(assembler.open_quote(open.line)),
                    })
                },
            );
            merged?;
            progress.advance_to(read_bytes.load(Ordering::Relaxed));
            pending = parsed;
            if last {
                break;
            }
        }
        drop(rx);
        let _ = reader.join();
        Ok(())
    })?;
    progress.finish();
    assembler.finish(&spec, || {
        if layout.has_header {
            IngestError::HeaderOnly {
                path: path.to_owned(),
            }
        } else {
            IngestError::Empty {
                path: path.to_owned(),
            }
        }
    })
}

/// Reads the header (or the first record) to learn field names and positions; returns
/// the spec, the first block without its header, and the line ends the header spans.
fn resolve_spec(
    path: &Path,
    layout: &Layout,
    options: &IngestOptions,
    mut first: Vec<u8>,
) -> Result<(RowSpec, Vec<u8>, u64), IngestError> {
    let mut splitter = RecordSplitter::new(layout.delimiter);
    let found = splitter
        .next(&first, true)
        .map_err(|open| IngestError::OpenQuote {
            path: path.to_owned(),
            line: open.line,
        })?;
    let mut header_lines = 0;
    let names: Vec<String> = if layout.has_header {
        let Some(found) = found else {
            return Err(IngestError::Empty {
                path: path.to_owned(),
            });
        };
        let names = splitter
            .fields()
            .map(|f| {
                std::str::from_utf8(f)
                    .map(|name| name.trim().to_owned())
                    .map_err(|_| IngestError::HeaderNotUtf8 {
                        path: path.to_owned(),
                    })
            })
            .collect::<Result<_, _>>()?;
        header_lines = found.line_ends;
        first.drain(..found.consumed);
        names
    } else if let Some(names) = &layout.field_names {
        names.clone()
    } else {
        let count = if found.is_some() { splitter.len() } else { 1 };
        (0..count).map(|i| format!("column {i}")).collect()
    };
    let positions = resolve_positions(path, layout, &names)?;
    let spec = RowSpec::new(layout, positions, names, options.window)?;
    Ok((spec, first, header_lines))
}

/// A hint when the header reads as one column that another separator would split.
fn other_separator(names: &[String]) -> String {
    let [only] = names else {
        return String::new();
    };
    [(';', "';'"), ('\t', "tab"), ('|', "'|'")]
        .iter()
        .find(|(c, _)| only.contains(*c))
        .map(|(_, name)| format!(" (it looks {name}-separated: set --delimiter {name})"))
        .unwrap_or_default()
}

/// Finds each mapped column among `names` (by name, or by position when in range).
pub(crate) fn resolve_positions(
    path: &Path,
    layout: &Layout,
    names: &[String],
) -> Result<Positions, IngestError> {
    let find = |role: &'static str, column: &ColumnRef| -> Result<usize, IngestError> {
        let found = match column {
            ColumnRef::Index(i) => (*i < names.len()).then_some(*i),
            ColumnRef::Name(n) => names.iter().position(|h| h == n),
        };
        found.ok_or_else(|| IngestError::MissingColumn {
            path: path.to_owned(),
            role,
            column: column.to_string(),
            available: format!(
                "the file has {} columns: {}{}",
                names.len(),
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                other_separator(names)
            ),
        })
    };
    let c = &layout.columns;
    Ok(Positions {
        user: c.user.as_ref().map(|r| find("user id", r)).transpose()?,
        session: c
            .session
            .as_ref()
            .map(|r| find("session id", r))
            .transpose()?,
        item: find("item id", &c.item)?,
        time: c.time.as_ref().map(|r| find("timestamp", r)).transpose()?,
        weight: c.weight.as_ref().map(|r| find("weight", r)).transpose()?,
        category: c
            .category
            .as_ref()
            .map(|r| find("category id", r))
            .transpose()?,
        behavior: c
            .behavior
            .as_ref()
            .map(|r| find("behaviour", r))
            .transpose()?,
    })
}

/// Validates the records of one block (whole records, by the one CSV dialect of
/// [`clickrec_io::csv_dialect`]); line numbers in it count from 1 at the block's start.
fn parse_block(spec: &RowSpec, bytes: &[u8], delimiter: u8) -> Result<ParsedBlock, OpenQuote> {
    let estimated_rows = bytes.len() / 24 + 1;
    let mut block = ParsedBlock::with_capacity(spec, estimated_rows);
    let utf8_valid = std::str::from_utf8(bytes).is_ok();
    let scan = for_each_record(bytes, delimiter, |fields, raw, line| {
        block.row(spec, fields, utf8_valid, raw, line);
    })?;
    Ok(block.finish(scan.line_ends, scan.blank_lines))
}

/// The fields of each JSON-lines row: every mapped key or dotted path once, in mapping
/// order (a row's fields are looked up by these names).
fn json_field_names(layout: &Layout) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, column) in layout.columns.mapped() {
        let name = match column {
            ColumnRef::Name(n) => n.clone(),
            // The config refuses positions for JSON lines.
            ColumnRef::Index(i) => i.to_string(),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Validates the lines of one JSON-lines block: each non-blank line one JSON object whose
/// mapped fields (by key, or by dotted path into nested objects) become the row's fields.
/// A string is its text, a number or boolean its JSON text, `null` or a missing key an
/// empty value; a line that is not an object is rejected as `invalid_json`.
fn parse_json_block(spec: &RowSpec, bytes: &[u8]) -> ParsedBlock {
    let mut block = ParsedBlock::with_capacity(spec, bytes.len() / 64 + 1);
    let mut values: Vec<Vec<u8>> = vec![Vec::new(); spec.names.len()];
    let mut blank_lines = 0;
    for (i, piece) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let raw = piece.strip_suffix(b"\n").unwrap_or(piece);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            blank_lines += 1;
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(raw) {
            Ok(serde_json::Value::Object(object)) => {
                for (value, name) in values.iter_mut().zip(&spec.names) {
                    value.clear();
                    json_field(value, json_lookup(&object, name));
                }
                let fields: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
                block.row(spec, &fields, true, raw, line);
            }
            Ok(other) => block.reject(
                RejectReason::InvalidJson,
                format!("a JSON {}, not an object", json_kind(&other)),
                raw,
                line,
            ),
            Err(e) => block.reject(RejectReason::InvalidJson, e.to_string(), raw, line),
        }
    }
    let line_ends = memchr::memchr_iter(b'\n', bytes).count() as u64;
    block.finish(line_ends, blank_lines)
}

/// The value at `name` in `object`: the key itself if present (keys may hold dots),
/// else the dotted path through nested objects.
fn json_lookup<'a>(
    object: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    if let Some(v) = object.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut value = object.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// Appends a JSON value's text as a row field.
fn json_field(out: &mut Vec<u8>, value: Option<&serde_json::Value>) {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => out.extend_from_slice(s.as_bytes()),
        Some(Value::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Some(Value::Number(n)) => out.extend_from_slice(n.to_string().as_bytes()),
        Some(v @ (Value::Array(_) | Value::Object(_))) => {
            out.extend_from_slice(v.to_string().as_bytes())
        }
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// How records are cut: delimited (by the one CSV dialect) or one JSON object per line.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Delimited(u8),
    JsonLines,
}

/// Hands out the input in blocks that end at a record end.
struct BlockReader<'p> {
    source: Box<dyn Read + Send>,
    carry: Vec<u8>,
    done: bool,
    path: &'p Path,
    shape: Shape,
}

impl BlockReader<'_> {
    fn next_block(&mut self) -> Result<Option<Vec<u8>>, IngestError> {
        if self.done {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.carry);
        buf.reserve(BLOCK_BYTES);
        loop {
            let filled = buf.len();
            let want = if filled < BLOCK_BYTES {
                BLOCK_BYTES
            } else {
                filled + BLOCK_BYTES
            };
            buf.resize(want, 0);
            let n = self
                .source
                .read(&mut buf[filled..])
                .map_err(|e| IngestError::io(self.path, "cannot read", e))?;
            buf.truncate(filled + n);
            if n == 0 {
                self.done = true;
                return Ok((!buf.is_empty()).then_some(buf));
            }
            if buf.len() >= BLOCK_BYTES {
                // Blocks end at a record end, so each parses alone (a quoted field may
                // hold line breaks; a JSON line may not).
                let cut = match self.shape {
                    Shape::Delimited(delimiter) => last_record_end(&buf, delimiter),
                    Shape::JsonLines => memchr::memrchr(b'\n', &buf).map_or(0, |at| at + 1),
                };
                if cut > 0 {
                    self.carry = buf.split_off(cut);
                    return Ok(Some(buf));
                }
            }
        }
    }
}

struct CountingReader {
    inner: File,
    count: Arc<AtomicU64>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
