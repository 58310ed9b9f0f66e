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

use crate::Input;
use crate::assemble::{Assembler, Ingested, ParsedBlock};
use crate::error::IngestError;
use crate::format::{ColumnRef, Layout, LogFormat};
use crate::options::{BadRowPolicy, IngestOptions};
use crate::rejection::RejectReason;
use crate::row::{Positions, RowSpec};
use clickrec_io::csv_dialect::{
    OpenQuote, RecordEnd, RecordSplitter, count_line_ends, for_each_record, last_record_end,
};

/// Bytes per block: large enough to amortise the per-block id merge, small enough that
/// a few blocks in flight stay far below the size of the parsed columns.
const BLOCK_BYTES: usize = 8 << 20;

pub(crate) fn read_text(input: Input<'_>) -> Result<Ingested, IngestError> {
    let file = crate::open_input(input.path)?;
    let total = file
        .metadata()
        .map_err(|e| IngestError::io(input.path, "cannot read file metadata", e))?
        .len();
    input.progress.start(total);
    let read_bytes = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: file,
        count: Arc::clone(&read_bytes),
    };
    let gz = input
        .path
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
    let shape = match input.options.format {
        LogFormat::Jsonl(_) => Shape::JsonLines,
        _ => Shape::Delimited(input.layout.delimiter),
    };
    let mut blocks = BlockReader::new(source, input.path, shape, input.options);

    let Some(mut first) = blocks.next_block()? else {
        return Err(IngestError::Empty {
            path: input.path.to_owned(),
        });
    };
    if first.bytes_mut().starts_with(b"\xef\xbb\xbf") {
        first.bytes_mut().drain(..3);
    }
    let (spec, line_base) = match shape {
        Shape::Delimited(_) => resolve_spec(input.path, input.layout, input.options, &mut first)?,
        Shape::JsonLines => {
            let names = json_field_names(input.layout);
            let positions = resolve_positions(input.path, input.layout, &names)?;
            (
                RowSpec::new(
                    input.layout,
                    positions,
                    names,
                    input.options.window,
                    input.options.time_range,
                )?,
                0,
            )
        }
    };
    let mut assembler = Assembler::new(
        input.path,
        input.options,
        input.quarantine,
        line_base,
        input.known,
    )?;

    let batch_len = 2 * rayon::current_num_threads().max(1);
    let unterminated = std::thread::scope(|scope| -> Result<bool, IngestError> {
        // The reader thread keeps I/O and decompression off the parsing threads.
        let (tx, rx) = mpsc::sync_channel::<Result<Piece, IngestError>>(batch_len);
        let reader = scope.spawn(move || {
            if tx.send(Ok(first)).is_err() {
                return false;
            }
            loop {
                match blocks.next_block() {
                    Ok(Some(block)) => {
                        if tx.send(Ok(block)).is_err() {
                            return false;
                        }
                    }
                    Ok(None) => return blocks.ends_without_line_end(),
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return false;
                    }
                }
            }
        });
        let next_batch = || -> Result<Vec<Piece>, IngestError> {
            let mut batch = Vec::with_capacity(batch_len);
            while batch.len() < batch_len {
                match rx.recv() {
                    Ok(block) => batch.push(block?),
                    Err(_) => break,
                }
            }
            Ok(batch)
        };
        let limit = input.options.max_record_bytes;
        let parse = |batch: Vec<Piece>| -> Vec<Result<ParsedBlock, OpenQuote>> {
            batch
                .par_iter()
                .map(|piece| match (piece, shape) {
                    (Piece::Records(bytes), Shape::Delimited(delimiter)) => {
                        parse_block(&spec, bytes, delimiter, limit)
                    }
                    (Piece::Records(bytes), Shape::JsonLines) => {
                        Ok(parse_json_block(&spec, bytes, limit))
                    }
                    (Piece::TooLong(long), _) => long_record_block(&spec, long, limit),
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
            input
                .progress
                .advance_to(read_bytes.load(Ordering::Relaxed));
            pending = parsed;
            if last {
                break;
            }
        }
        drop(rx);
        // A panic of the reader is a bug: never read it as the end of the input.
        Ok(reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })?;
    input.progress.finish();
    assembler.finish(&spec, unterminated, || {
        if input.layout.has_header {
            IngestError::HeaderOnly {
                path: input.path.to_owned(),
            }
        } else {
            IngestError::Empty {
                path: input.path.to_owned(),
            }
        }
    })
}

/// Reads the header (or the first record) to learn field names and positions; returns
/// the spec and the line ends the header spans, and takes the header off `first`.
fn resolve_spec(
    path: &Path,
    layout: &Layout,
    options: &IngestOptions,
    first: &mut Piece,
) -> Result<(RowSpec, u64), IngestError> {
    if layout.has_header
        && let Piece::TooLong(_) = first
    {
        return Err(IngestError::HeaderTooLong {
            path: path.to_owned(),
            limit: options.max_record_bytes,
        });
    }
    let first = first.bytes_mut();
    let mut splitter = RecordSplitter::new(layout.delimiter);
    let found = splitter
        .next(first, true)
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
            .collect::<Result<Vec<_>, _>>()?;
        refuse_duplicate_names(path, &names)?;
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
    let spec = RowSpec::new(layout, positions, names, options.window, options.time_range)?;
    Ok((spec, header_lines))
}

/// A header naming one column twice makes a mapping by that name ambiguous (which of
/// the two is the item?), and is most often a damaged or pasted-together file: refused,
/// whether the mapping names it or not.
fn refuse_duplicate_names(path: &Path, names: &[String]) -> Result<(), IngestError> {
    for (second, name) in names.iter().enumerate() {
        if let Some(first) = names[..second].iter().position(|n| n == name) {
            return Err(IngestError::DuplicateHeader {
                path: path.to_owned(),
                name: name.clone(),
                first,
                second,
            });
        }
    }
    Ok(())
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
/// A record longer than `limit` bytes is rejected without reading its fields.
fn parse_block(
    spec: &RowSpec,
    bytes: &[u8],
    delimiter: u8,
    limit: usize,
) -> Result<ParsedBlock, OpenQuote> {
    let estimated_rows = bytes.len() / 24 + 1;
    let mut block = ParsedBlock::with_capacity(spec, estimated_rows);
    let utf8_valid = std::str::from_utf8(bytes).is_ok();
    let scan = for_each_record(bytes, delimiter, |fields, raw, line| {
        if raw.len() > limit {
            reject_long(&mut block, raw, Some(raw.len() as u64), limit, line);
        } else {
            block.row(spec, fields, utf8_valid, raw, line);
        }
    })?;
    Ok(block.finish(scan.line_ends, scan.blank_lines))
}

/// Records a record longer than `limit` bytes (`len` of them, when known) as a bad row
/// that keeps its first `limit` bytes.
fn reject_long(block: &mut ParsedBlock, raw: &[u8], len: Option<u64>, limit: usize, line: u64) {
    let value = match len {
        Some(len) => format!("a record of {len} bytes, over the limit of {limit}"),
        None => format!("a record of more than {limit} bytes, the limit"),
    };
    block.reject(
        RejectReason::RecordTooLong,
        value,
        &raw[..raw.len().min(limit)],
        line,
    );
}

/// The block of a record the reader passed over: one bad row on its first line.
fn long_record_block(
    spec: &RowSpec,
    long: &LongRecord,
    limit: usize,
) -> Result<ParsedBlock, OpenQuote> {
    if long.open_quote {
        return Err(OpenQuote { line: 1 });
    }
    let mut block = ParsedBlock::with_capacity(spec, 0);
    reject_long(&mut block, &long.head, long.len, limit, 1);
    Ok(block.finish(long.line_ends, 0))
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
fn parse_json_block(spec: &RowSpec, bytes: &[u8], limit: usize) -> ParsedBlock {
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
        if raw.len() > limit {
            reject_long(&mut block, raw, Some(raw.len() as u64), limit, line);
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

/// What the reader hands over, in file order.
#[derive(Debug)]
enum Piece {
    /// Whole records; the last piece of the input may end without a line end.
    Records(Vec<u8>),
    /// One record longer than `max_record_bytes`, passed over rather than held.
    TooLong(LongRecord),
}

/// A record longer than the limit: what is kept of it and what is known about it.
#[derive(Debug)]
struct LongRecord {
    /// Its first `max_record_bytes` bytes, for the quarantine.
    head: Vec<u8>,
    /// Its length without its line end; `None` when reading stopped at it (fail mode).
    len: Option<u64>,
    /// The line ends it spans, its own included, to number the lines after it.
    line_ends: u64,
    /// The input ended inside one of its quoted fields.
    open_quote: bool,
}

impl Piece {
    /// The piece's first bytes: its records, or the kept start of its long record.
    fn bytes_mut(&mut self) -> &mut Vec<u8> {
        match self {
            Piece::Records(bytes) => bytes,
            Piece::TooLong(long) => &mut long.head,
        }
    }
}

/// Hands out the input in blocks that end at a record end, holding at most about
/// `limit + BLOCK_BYTES` bytes: a record longer than `limit` is handed over as its first
/// `limit` bytes while the rest is read past (or, with `stop_at_long`, not read at all).
struct BlockReader<'p> {
    source: Box<dyn Read + Send>,
    carry: Vec<u8>,
    done: bool,
    path: &'p Path,
    shape: Shape,
    /// `max_record_bytes`.
    limit: usize,
    /// Fail mode: the first long record ends the run, so nothing after it is read.
    stop_at_long: bool,
    /// A long record that follows the records just handed over.
    pending: Option<Piece>,
    /// A long record ended at a `\r` that was the last byte read: a `\n` read next
    /// completes its `\r\n`.
    lf_pending: bool,
    /// The last byte read, and whether the end of the input was reached after it.
    last_byte: Option<u8>,
    at_end: bool,
}

impl<'p> BlockReader<'p> {
    fn new(
        source: Box<dyn Read + Send>,
        path: &'p Path,
        shape: Shape,
        options: &IngestOptions,
    ) -> Self {
        BlockReader {
            source,
            carry: Vec::new(),
            done: false,
            path,
            shape,
            limit: options.max_record_bytes,
            stop_at_long: options.on_bad_row == BadRowPolicy::Fail,
            pending: None,
            lf_pending: false,
            last_byte: None,
            at_end: false,
        }
    }

    fn next_block(&mut self) -> Result<Option<Piece>, IngestError> {
        if let Some(piece) = self.pending.take() {
            return Ok(Some(piece));
        }
        if self.done {
            return Ok(None);
        }
        let mut buf = std::mem::take(&mut self.carry);
        loop {
            if self.read_more(&mut buf)? == 0 {
                self.done = true;
                return Ok((!buf.is_empty()).then_some(Piece::Records(buf)));
            }
            if buf.len() < BLOCK_BYTES {
                continue;
            }
            // Blocks end at a record end, so each parses alone (a quoted field may
            // hold line breaks; a JSON line may not).
            let cut = match self.shape {
                Shape::Delimited(delimiter) => last_record_end(&buf, delimiter),
                Shape::JsonLines => memchr::memrchr(b'\n', &buf).map_or(0, |at| at + 1),
            };
            if cut > 0 {
                self.carry = buf.split_off(cut);
                return Ok(Some(Piece::Records(buf)));
            }
            // One record (after blank lines) fills `buf`; a `\r` at its end may yet
            // turn out to be its line end.
            let start = buf
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .unwrap_or(buf.len());
            let known = buf[start..].strip_suffix(b"\r").unwrap_or(&buf[start..]);
            if known.len() > self.limit {
                let long = Piece::TooLong(self.pass_over(buf.split_off(start))?);
                if buf.is_empty() {
                    return Ok(Some(long));
                }
                self.pending = Some(long);
                return Ok(Some(Piece::Records(buf)));
            }
        }
    }

    /// Keeps the first `limit` bytes of the long record that `record` starts, and reads
    /// on to its end without keeping the rest; what follows it becomes the carry.
    fn pass_over(&mut self, mut record: Vec<u8>) -> Result<LongRecord, IngestError> {
        let head = record[..self.limit].to_vec();
        if self.stop_at_long {
            self.done = true;
            return Ok(LongRecord {
                head,
                len: None,
                line_ends: 0,
                open_quote: false,
            });
        }
        let mut ends = match self.shape {
            Shape::Delimited(delimiter) => Some(RecordEnd::new(delimiter)),
            Shape::JsonLines => None,
        };
        let (mut len, mut line_ends, mut after_cr) = (0u64, 0u64, false);
        loop {
            let end = match ends.as_mut() {
                Some(ends) => ends.feed(&record),
                None => memchr::memchr(b'\n', &record).map(|at| at + 1),
            };
            let taken = &record[..end.unwrap_or(record.len())];
            line_ends += match self.shape {
                Shape::Delimited(_) => {
                    count_line_ends(taken) - u64::from(after_cr && taken.first() == Some(&b'\n'))
                }
                Shape::JsonLines => u64::from(end.is_some()),
            };
            len += taken.len() as u64;
            after_cr = taken.last() == Some(&b'\r');
            if let Some(end) = end {
                self.lf_pending = end == record.len() && after_cr;
                let line_end = if taken.ends_with(b"\r\n") {
                    2
                } else {
                    u64::from(taken.ends_with(b"\n") || after_cr)
                };
                self.carry = record.split_off(end);
                return Ok(LongRecord {
                    head,
                    len: Some(len - line_end),
                    line_ends,
                    open_quote: false,
                });
            }
            record.clear();
            if self.read_more(&mut record)? == 0 {
                self.done = true;
                return Ok(LongRecord {
                    head,
                    len: Some(len),
                    line_ends,
                    open_quote: ends.is_some_and(|mut ends| !ends.closes_at_end()),
                });
            }
        }
    }

    /// Reads onto the end of `buf`, up to `BLOCK_BYTES` in all or `BLOCK_BYTES` more;
    /// returns the number of bytes added, 0 at the end of the input.
    fn read_more(&mut self, buf: &mut Vec<u8>) -> Result<usize, IngestError> {
        loop {
            let filled = buf.len();
            let want = if filled < BLOCK_BYTES {
                BLOCK_BYTES
            } else {
                filled + BLOCK_BYTES
            };
            // Exact, so a long record's buffer is not doubled by the allocator's growth.
            buf.reserve_exact(want - filled);
            buf.resize(want, 0);
            let n = self
                .source
                .read(&mut buf[filled..])
                .map_err(|e| IngestError::io(self.path, "cannot read", e))?;
            buf.truncate(filled + n);
            if n == 0 {
                self.at_end = true;
                return Ok(0);
            }
            self.last_byte = Some(buf[filled + n - 1]);
            if std::mem::take(&mut self.lf_pending) && buf[filled] == b'\n' {
                buf.remove(filled);
                if n == 1 {
                    continue;
                }
                return Ok(n - 1);
            }
            return Ok(n);
        }
    }

    /// True when the input was read to its end and its last byte ends no line.
    fn ends_without_line_end(&self) -> bool {
        let line_end = |b: u8| match self.shape {
            Shape::Delimited(_) => b == b'\n' || b == b'\r',
            Shape::JsonLines => b == b'\n',
        };
        self.at_end && self.last_byte.is_some_and(|b| !line_end(b))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A source whose reads end where the test says: each read returns at most the rest
    /// of the current chunk.
    struct Chunks(std::collections::VecDeque<Vec<u8>>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some(mut chunk) = self.0.pop_front() else {
                return Ok(0);
            };
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            if n < chunk.len() {
                self.0.push_front(chunk.split_off(n));
            }
            Ok(n)
        }
    }

    fn pieces(chunks: Vec<Vec<u8>>, shape: Shape, policy: BadRowPolicy) -> (Vec<Piece>, bool) {
        let options = IngestOptions {
            on_bad_row: policy,
            max_record_bytes: 100,
            ..IngestOptions::new(LogFormat::Taobao)
        };
        let source = Box::new(Chunks(chunks.into()));
        let mut reader = BlockReader::new(source, Path::new("t.csv"), shape, &options);
        let mut out = Vec::new();
        while let Some(piece) = reader.next_block().unwrap() {
            out.push(piece);
        }
        (out, reader.ends_without_line_end())
    }

    fn long(piece: &Piece) -> &LongRecord {
        match piece {
            Piece::TooLong(long) => long,
            Piece::Records(r) => panic!("records of {} bytes, not a long record", r.len()),
        }
    }

    #[test]
    fn a_crlf_split_between_reads_ends_the_long_record_and_no_line() {
        let mut record = vec![b'a'; BLOCK_BYTES + 10];
        record.push(b'\r');
        let (got, unterminated) = pieces(
            vec![record, b"\n1,2\n".to_vec()],
            Shape::Delimited(b','),
            BadRowPolicy::Skip,
        );
        assert_eq!(got.len(), 2);
        let first = long(&got[0]);
        assert_eq!(
            (first.len, first.line_ends),
            (Some(BLOCK_BYTES as u64 + 10), 1)
        );
        assert_eq!(first.head, [b'a'; 100]);
        assert!(matches!(&got[1], Piece::Records(r) if r == b"1,2\n"));
        assert!(!unterminated);
    }

    #[test]
    fn blank_lines_before_a_long_record_stay_with_the_records() {
        // Quoted, so that no cut is found before the record: the blank lines go first.
        let mut text = b"\n\n\"".to_vec();
        text.extend(vec![b'a'; BLOCK_BYTES]);
        text.extend(b"\"\nx");
        let (got, unterminated) = pieces(vec![text], Shape::Delimited(b','), BadRowPolicy::Skip);
        assert!(matches!(&got[0], Piece::Records(r) if r == b"\n\n"));
        let record = long(&got[1]);
        assert_eq!(
            (record.len, record.line_ends),
            (Some(BLOCK_BYTES as u64 + 2), 1)
        );
        assert!(matches!(&got[2], Piece::Records(r) if r == b"x"));
        assert!(unterminated);
    }

    #[test]
    fn fail_mode_stops_reading_at_a_long_record() {
        let text = vec![b'a'; 3 * BLOCK_BYTES];
        let (got, _) = pieces(vec![text.clone()], Shape::JsonLines, BadRowPolicy::Fail);
        assert_eq!(got.len(), 1);
        assert_eq!(long(&got[0]).len, None);
        // Skip mode reads to the end: the whole line, never ended.
        let (got, unterminated) = pieces(vec![text], Shape::JsonLines, BadRowPolicy::Skip);
        assert_eq!(long(&got[0]).len, Some(3 * BLOCK_BYTES as u64));
        assert_eq!(long(&got[0]).line_ends, 0);
        assert!(unterminated);
    }
}
