//! Recommendation and test-pair CSV files in batches of records, read by the one CSV
//! dialect of [`crate::csv_dialect`] (RFC 4180 through `csv-core`: quoted fields may hold
//! commas, quotes and line breaks).
//!
//! A stretch of the file without quotes and `\r` is split in place and handed out as
//! slices of the read buffer, so a plain file costs no allocation per row; other
//! stretches go through `csv-core`, their fields copied into one buffer per batch.

use std::io::{ErrorKind, Read};
use std::path::Path;

use super::error::{Location, RecsError};
use crate::csv_dialect::{for_each_plain_record, for_each_record, last_record_end};

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

    fn push(&mut self, line: u64, fields: &[&'a [u8]]) {
        self.lines.push(line);
        self.fields.extend_from_slice(fields);
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

/// Unescaped fields of records read through `csv-core`, gathered before they are handed
/// out as [`Records`].
#[derive(Default)]
struct Copied {
    bytes: Vec<u8>,
    /// Per record: its line and the end of each field in `bytes`.
    lines: Vec<u64>,
    field_ends: Vec<usize>,
    record_ends: Vec<usize>,
}

impl Copied {
    fn records(&self) -> Records<'_> {
        let mut records = Records::with_capacity(self.lines.len());
        let (mut field, mut start) = (0, 0);
        for (&line, &record_end) in self.lines.iter().zip(&self.record_ends) {
            records.lines.push(line);
            for &end in &self.field_ends[field..record_end] {
                records.fields.push(&self.bytes[start..end]);
                start = end;
            }
            field = record_end;
            records.ends.push(records.fields.len());
        }
        records
    }
}

/// Calls `on_batch` with the non-blank records of `source`, in file order, in batches of
/// up to one read block. Lines are 1-based. A UTF-8 byte-order mark is skipped; a record
/// of one empty field (`""` alone on a line) carries nothing and is skipped too.
pub(super) fn for_each_batch<E: From<RecsError>>(
    path: &Path,
    mut source: impl Read,
    mut on_batch: impl FnMut(&Records<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK_BYTES);
    let mut eof = false;
    let mut line: u64 = 1;
    let mut first = true;
    let mut capacity = 1024;
    let mut copied = Copied::default();
    loop {
        fill(path, &mut source, &mut buf, &mut eof)?;
        let mut pos = 0;
        if first {
            first = false;
            if buf.starts_with(b"\xef\xbb\xbf") {
                pos = 3;
            }
        }
        let data = &buf[pos..];
        let cut = if eof {
            data.len()
        } else {
            last_record_end(data, b',')
        };
        let chunk = &data[..cut];
        if memchr::memchr2(b'"', b'\r', chunk).is_none() {
            let mut batch = Records::with_capacity(capacity);
            let scan = for_each_plain_record(chunk, b',', |fields, _, at| {
                batch.push(line + at - 1, fields);
            });
            line += scan.line_ends;
            if batch.len() > 0 {
                capacity = capacity.max(batch.len());
                on_batch(&batch)?;
            }
        } else {
            copied.bytes.clear();
            copied.lines.clear();
            copied.field_ends.clear();
            copied.record_ends.clear();
            let scan = for_each_record(chunk, b',', |fields, _, at| {
                if let [only] = fields
                    && only.is_empty()
                {
                    return;
                }
                copied.lines.push(line + at - 1);
                for field in fields {
                    copied.bytes.extend_from_slice(field);
                    copied.field_ends.push(copied.bytes.len());
                }
                copied.record_ends.push(copied.field_ends.len());
            })
            .map_err(|open| RecsError::UnclosedQuote {
                path: path.to_owned(),
                at: Location::Line(line + open.line - 1),
            })?;
            line += scan.line_ends;
            let batch = copied.records();
            if batch.len() > 0 {
                on_batch(&batch)?;
            }
        }
        if eof {
            return Ok(());
        }
        buf.drain(..pos + cut);
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
    fn written_fields_round_trip() {
        for field in ["plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", ""] {
            let mut w = crate::csv_dialect::writer(Vec::new());
            w.write_record([field, "end"]).unwrap();
            let line = w.into_inner().unwrap();
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
