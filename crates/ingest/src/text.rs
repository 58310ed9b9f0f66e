//! Delimited text input (plain or gzip): read in blocks, validate blocks in parallel,
//! merge them in file order.

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
use crate::format::{ColumnRef, Layout};
use crate::options::IngestOptions;
use crate::row::{Positions, RowSpec};
use clickrec_core::Progress;

/// Bytes per block: large enough to amortise the per-block id merge, small enough that
/// a few blocks in flight stay far below the size of the parsed columns.
const BLOCK_BYTES: usize = 8 << 20;

pub(crate) fn read_text(
    path: &Path,
    layout: &Layout,
    options: &IngestOptions,
    quarantine: &Path,
    progress: &dyn Progress,
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
    let mut blocks = BlockReader {
        source,
        carry: Vec::new(),
        done: false,
        path,
    };

    let Some(mut first) = blocks.next_block()? else {
        return Err(IngestError::Empty {
            path: path.to_owned(),
        });
    };
    if first.starts_with(b"\xef\xbb\xbf") {
        first.drain(..3);
    }
    let (spec, first) = resolve_spec(path, layout, options, first)?;
    let line_base = u64::from(layout.has_header);
    let mut assembler = Assembler::new(path, options, quarantine, line_base)?;

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
        let parse = |batch: Vec<Vec<u8>>| -> Vec<ParsedBlock> {
            batch
                .par_iter()
                .map(|bytes| parse_block(&spec, bytes, layout.delimiter))
                .collect()
        };
        let mut pending = parse(next_batch()?);
        loop {
            let raw = next_batch()?;
            let last = raw.is_empty();
            let (parsed, merged) = rayon::join(
                || parse(raw),
                || pending.into_iter().try_for_each(|b| assembler.absorb(b)),
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
    assembler.finish(|| {
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

/// Reads the header (or the first line) to learn field names and positions; returns the
/// spec and the first block without its header line.
fn resolve_spec(
    path: &Path,
    layout: &Layout,
    options: &IngestOptions,
    mut first: Vec<u8>,
) -> Result<(RowSpec, Vec<u8>), IngestError> {
    let first_line_end = memchr::memchr(b'\n', &first).unwrap_or(first.len());
    let first_line = trim_cr(&first[..first_line_end]);
    let names: Vec<String> = if layout.has_header {
        let header = std::str::from_utf8(first_line).map_err(|_| IngestError::HeaderNotUtf8 {
            path: path.to_owned(),
        })?;
        let names = split_fields(header.as_bytes(), layout.delimiter)
            .into_iter()
            .map(|f| String::from_utf8_lossy(&f).trim().to_owned())
            .collect();
        first.drain(..(first_line_end + 1).min(first.len()));
        names
    } else if let Some(names) = &layout.field_names {
        names.clone()
    } else {
        let count = split_fields(first_line, layout.delimiter).len();
        (0..count).map(|i| format!("column {i}")).collect()
    };
    let positions = resolve_positions(path, layout, &names)?;
    let spec = RowSpec::new(layout, positions, names, options.window)?;
    Ok((spec, first))
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
                "the file has {} columns: {}",
                names.len(),
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    };
    let c = &layout.columns;
    Ok(Positions {
        user: find("user id", &c.user)?,
        item: find("item id", &c.item)?,
        time: find("timestamp", &c.time)?,
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

fn parse_block(spec: &RowSpec, bytes: &[u8], delimiter: u8) -> ParsedBlock {
    let estimated_rows = bytes.len() / 24 + 1;
    let mut block = ParsedBlock::with_capacity(estimated_rows);
    let utf8_valid = std::str::from_utf8(bytes).is_ok();
    let mut fields: Vec<&[u8]> = Vec::with_capacity(spec.field_count + 1);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(
        // The file's last line may lack a line end.
        (bytes.last() != Some(&b'\n') && !bytes.is_empty()).then_some(bytes.len()),
    );
    for end in ends {
        let line = trim_cr(&bytes[start..end]);
        start = end + 1;
        if memchr::memchr(b'"', line).is_some() {
            let owned = split_fields(line, delimiter);
            let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            block.row(spec, &refs, utf8_valid, line);
        } else {
            fields.clear();
            let mut field_start = 0;
            for at in memchr::memchr_iter(delimiter, line) {
                fields.push(&line[field_start..at]);
                field_start = at + 1;
            }
            fields.push(&line[field_start..]);
            block.row(spec, &fields, utf8_valid, line);
        }
    }
    block.finish()
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits a line on `delimiter`, honouring double-quoted fields (`""` is a quote inside
/// one). A quoted field cannot span lines.
pub(crate) fn split_fields(line: &[u8], delimiter: u8) -> Vec<Vec<u8>> {
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut in_quotes = false;
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if in_quotes {
            if b == b'"' {
                if line.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(b);
            }
        } else if b == b'"' && field.is_empty() {
            in_quotes = true;
        } else if b == delimiter {
            fields.push(std::mem::take(&mut field));
        } else {
            field.push(b);
        }
        i += 1;
    }
    fields.push(field);
    fields
}

/// Hands out the input in blocks that end at a line end.
struct BlockReader<'p> {
    source: Box<dyn Read + Send>,
    carry: Vec<u8>,
    done: bool,
    path: &'p Path,
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
            if buf.len() >= BLOCK_BYTES
                && let Some(last_nl) = memchr::memrchr(b'\n', &buf)
            {
                self.carry = buf.split_off(last_nl + 1);
                return Ok(Some(buf));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields() {
        let f = split_fields(br#"a,"b,c","d""e",,"""#, b',');
        let expect: Vec<&[u8]> = vec![b"a", b"b,c", b"d\"e", b"", b""];
        assert_eq!(f, expect);
        assert_eq!(split_fields(b"", b','), vec![Vec::<u8>::new()]);
        assert_eq!(split_fields(b"x\ty", b'\t').len(), 2);
    }
}
