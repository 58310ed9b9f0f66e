//! A streaming CSV record splitter over bytes (RFC 4180 quoting: `"` opens a quoted
//! field at its start, `""` is a quote inside one, and a quoted field may hold commas
//! and line breaks), plus the quoting used when writing.
//!
//! Unquoted records are split in place with `memchr` and handed out as slices of the
//! read buffer, so a plain file costs no allocation per row; only records with a quote
//! go through the byte-by-byte parser.

use std::io::{ErrorKind, Read};
use std::path::Path;

use super::error::{Location, RecsError};

/// Bytes read per refill.
const BLOCK_BYTES: usize = 4 << 20;

/// Records handed out together: record `i` starts on line `lines[i]` and has the fields
/// `fields[ends[i - 1]..ends[i]]` (from 0 for the first).
#[derive(Debug, Default)]
pub(super) struct Records<'a> {
    pub lines: Vec<u64>,
    pub fields: Vec<&'a [u8]>,
    pub ends: Vec<usize>,
}

impl<'a> Records<'a> {
    pub(super) fn len(&self) -> usize {
        self.lines.len()
    }

    pub(super) fn fields_of(&self, i: usize) -> &[&'a [u8]] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.fields[start..self.ends[i]]
    }

    fn push(&mut self, line: u64, fields: impl IntoIterator<Item = &'a [u8]>) {
        self.lines.push(line);
        self.fields.extend(fields);
        self.ends.push(self.fields.len());
    }

    fn with_capacity(records: usize) -> Self {
        Records {
            lines: Vec::with_capacity(records),
            fields: Vec::with_capacity(records * 4),
            ends: Vec::with_capacity(records),
        }
    }
}

/// Calls `on_batch` with the non-blank records of `source`, in file order, in batches of
/// up to one read block (a record with a quote comes in a batch of its own). Lines are
/// 1-based. A UTF-8 byte-order mark is skipped; a trailing `\r` before a line end is
/// dropped.
pub(super) fn for_each_batch<E: From<RecsError>>(
    path: &Path,
    mut source: impl Read,
    mut on_batch: impl FnMut(&Records<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK_BYTES);
    let mut eof = false;
    let mut line: u64 = 1;
    let mut first = true;
    let mut quoted = QuotedRecord::default();
    let mut capacity = 1024;
    loop {
        fill(path, &mut source, &mut buf, &mut eof)?;
        let mut pos = 0;
        if first {
            first = false;
            if buf.starts_with(b"\xef\xbb\xbf") {
                pos = 3;
            }
        }
        {
            let data = buf.as_slice();
            let mut batch = Records::with_capacity(capacity);
            while pos < data.len() {
                let rest = &data[pos..];
                let (line_end, next) = match memchr::memchr(b'\n', rest) {
                    Some(i) => (i, i + 1),
                    None if eof => (rest.len(), rest.len()),
                    None => break,
                };
                let raw = &rest[..line_end];
                if memchr::memchr(b'"', raw).is_none() {
                    let text = raw.strip_suffix(b"\r").unwrap_or(raw);
                    if !text.is_empty() {
                        batch.lines.push(line);
                        let mut start = 0;
                        for at in memchr::memchr_iter(b',', text) {
                            batch.fields.push(&text[start..at]);
                            start = at + 1;
                        }
                        batch.fields.push(&text[start..]);
                        batch.ends.push(batch.fields.len());
                    }
                    pos += next;
                    line += 1;
                } else {
                    match quoted.parse(rest, eof) {
                        Parsed::Incomplete if eof => {
                            return Err(RecsError::UnclosedQuote {
                                path: path.to_owned(),
                                at: Location::Line(line),
                            }
                            .into());
                        }
                        Parsed::Incomplete => break,
                        Parsed::Record { consumed, newlines } => {
                            let mut single = Records::default();
                            single.push(line, quoted.fields());
                            if !(single.fields.len() == 1 && single.fields[0].is_empty()) {
                                if batch.len() > 0 {
                                    on_batch(&batch)?;
                                    batch = Records::with_capacity(capacity);
                                }
                                on_batch(&single)?;
                            }
                            pos += consumed;
                            line += newlines;
                        }
                    }
                }
            }
            if batch.len() > 0 {
                capacity = capacity.max(batch.len());
                on_batch(&batch)?;
            }
        }
        if eof {
            return Ok(());
        }
        buf.drain(..pos);
    }
}

/// Appends at least [`BLOCK_BYTES`] more bytes to `buf`, or all that is left.
fn fill(
    path: &Path,
    source: &mut impl Read,
    buf: &mut Vec<u8>,
    eof: &mut bool,
) -> Result<(), RecsError> {
    let target = buf.len() + BLOCK_BYTES;
    while buf.len() < target {
        let filled = buf.len();
        buf.resize(target, 0);
        let n = loop {
            match source.read(&mut buf[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(filled);
                    return Err(RecsError::io(path, "cannot read", e));
                }
            }
        };
        buf.truncate(filled + n);
        if n == 0 {
            *eof = true;
            break;
        }
    }
    Ok(())
}

enum Parsed {
    /// The record continues past the data at hand.
    Incomplete,
    /// A record of `consumed` bytes (with its line end), spanning `newlines` line ends.
    Record { consumed: usize, newlines: u64 },
}

/// The fields of one record with quotes, unescaped into one buffer (reused).
#[derive(Default)]
struct QuotedRecord {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl QuotedRecord {
    fn parse(&mut self, rest: &[u8], eof: bool) -> Parsed {
        self.data.clear();
        self.ends.clear();
        let mut in_quotes = false;
        let mut field_start = 0;
        let mut newlines = 0;
        let mut i = 0;
        while i < rest.len() {
            let b = rest[i];
            if in_quotes {
                if b == b'"' {
                    match rest.get(i + 1) {
                        Some(b'"') => {
                            self.data.push(b'"');
                            i += 2;
                            continue;
                        }
                        None if !eof => return Parsed::Incomplete,
                        _ => in_quotes = false,
                    }
                } else {
                    newlines += u64::from(b == b'\n');
                    self.data.push(b);
                }
            } else {
                match b {
                    b'"' if self.data.len() == field_start => in_quotes = true,
                    b',' => {
                        self.ends.push(self.data.len());
                        field_start = self.data.len();
                    }
                    b'\r' if rest.get(i + 1) == Some(&b'\n') => {}
                    b'\r' if i + 1 == rest.len() && !eof => return Parsed::Incomplete,
                    b'\n' => {
                        self.ends.push(self.data.len());
                        return Parsed::Record {
                            consumed: i + 1,
                            newlines: newlines + 1,
                        };
                    }
                    _ => self.data.push(b),
                }
            }
            i += 1;
        }
        if in_quotes || !eof {
            return Parsed::Incomplete;
        }
        self.ends.push(self.data.len());
        Parsed::Record {
            consumed: rest.len(),
            newlines,
        }
    }

    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let field = &self.data[start..end];
            start = end;
            field
        })
    }
}

/// True when a CSV field must be quoted to read back as the same bytes.
fn needs_quotes(field: &[u8]) -> bool {
    memchr::memchr3(b',', b'"', b'\n', field).is_some() || memchr::memchr(b'\r', field).is_some()
}

/// Appends `field` to `out`, quoted (with `""` for quotes) when it holds a comma, quote
/// or line break.
pub(super) fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    if !needs_quotes(field) {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn records(input: &[u8]) -> Result<Vec<(u64, Vec<String>)>, RecsError> {
        let mut out = Vec::new();
        for_each_batch::<RecsError>(Path::new("t.csv"), input, |batch| {
            for i in 0..batch.len() {
                out.push((
                    batch.lines[i],
                    batch
                        .fields_of(i)
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect(),
                ));
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn rec(line: u64, fields: &[&str]) -> (u64, Vec<String>) {
        (line, fields.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn splits_plain_and_quoted_records_with_lines() {
        let input = b"\xef\xbb\xbfa,b\r\n1,2\n\n\"x,\"\"y\"\"\",\"multi\nline\"\r\nlast,\"\"";
        let got = records(input).unwrap();
        assert_eq!(
            got,
            vec![
                rec(1, &["a", "b"]),
                rec(2, &["1", "2"]),
                rec(4, &["x,\"y\"", "multi\nline"]),
                rec(6, &["last", ""]),
            ]
        );
    }

    #[test]
    fn unclosed_quote_is_an_error_naming_its_line() {
        let err = records(b"a,b\n\"open,1\n2,3\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "t.csv: line 2: a quoted field is still open at the end of the file"
        );
    }

    #[test]
    fn quoting_round_trips() {
        for field in ["plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", ""] {
            let mut line = Vec::new();
            push_field(&mut line, field.as_bytes());
            line.extend_from_slice(b",end\n");
            let got = records(&line).unwrap();
            assert_eq!(got, vec![rec(1, &[field, "end"])], "{field:?}");
        }
    }

    #[test]
    fn records_cross_refill_boundaries() {
        // Long enough to need several refills, with a quoted record on each boundary side.
        let mut input = Vec::new();
        let mut expected = Vec::new();
        let mut k = 0u64;
        while input.len() < 3 * BLOCK_BYTES {
            if k % 1000 == 7 {
                input.extend_from_slice(format!("\"u,{k}\",\"i\n{k}\"\n").as_bytes());
                expected.push((format!("u,{k}"), format!("i\n{k}")));
            } else {
                input.extend_from_slice(format!("u{k},i{k}\n").as_bytes());
                expected.push((format!("u{k}"), format!("i{k}")));
            }
            k += 1;
        }
        let got = records(&input).unwrap();
        assert_eq!(got.len(), expected.len());
        let mut line = 1;
        for ((l, fields), (u, i)) in got.iter().zip(&expected) {
            assert_eq!(*l, line);
            assert_eq!((&fields[0], &fields[1]), (u, i));
            line += 1 + i.matches('\n').count() as u64;
        }
    }
}
