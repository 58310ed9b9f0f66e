//! clickrec's one CSV dialect, for every delimited file it reads or writes: click logs,
//! recommendation files, test pairs, `quarantine.csv`, `segments/assignments.csv`.
//!
//! The rule is RFC 4180 as the `csv` crate implements it, through the engine under that
//! crate, `csv-core` (reading: [`RecordSplitter`], [`for_each_record`]; writing:
//! [`Writer`]):
//!
//! * a field may be enclosed in double quotes; inside quotes `""` is one quote, and the
//!   delimiter and line breaks are data, so a quoted field may span lines;
//! * a quote inside an unquoted field is an ordinary byte;
//! * a record ends at `\n`, `\r\n` or `\r`; blank lines are not records;
//! * a UTF-8 byte-order mark at the start of a file is skipped;
//! * writing quotes a field only when it holds the delimiter, a quote, `\r` or `\n`, so
//!   every field text reads back as written.
//!
//! Reading adds one check the `csv` crate leaves out: a quoted field still open at the
//! end of the data is an error ([`OpenQuote`]), not a field that swallows the rest of
//! the file. (`csv-core` rather than the `csv` crate on top of it: `csv` pulls in
//! `serde_core` with other features than the build has, which rebuilds polars.)

use std::io::Write;

/// Bytes gathered before they go to the underlying writer.
const WRITE_BUFFER: usize = 64 << 10;

/// A CSV writer of the dialect: comma-separated, `\n` line ends, quotes only where
/// needed (`csv-core`'s `QuoteStyle::Necessary`, the `csv` crate's default). Buffered:
/// [`Writer::flush`] or [`Writer::into_inner`] hands the bytes on.
#[derive(Debug)]
pub struct Writer<W: Write> {
    core: csv_core::Writer,
    out: W,
    buf: Vec<u8>,
    len: usize,
}

/// The writer of the dialect over `out`.
pub fn writer<W: Write>(out: W) -> Writer<W> {
    Writer {
        core: csv_core::Writer::new(),
        out,
        buf: vec![0; WRITE_BUFFER],
        len: 0,
    }
}

impl<W: Write> Writer<W> {
    /// Writes one record: the fields, quoted where needed, and a line end.
    pub fn write_record<I>(&mut self, fields: I) -> std::io::Result<()>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for (k, field) in fields.into_iter().enumerate() {
            let field = field.as_ref();
            if k > 0 {
                self.room(2);
                let (_, n) = self.core.delimiter(&mut self.buf[self.len..]);
                self.len += n;
            }
            // Room for the worst case (every byte a doubled quote, plus the quotes
            // around), so one call takes the whole field.
            self.room(2 * field.len() + 2);
            let (_, read, n) = self.core.field(field, &mut self.buf[self.len..]);
            debug_assert_eq!(read, field.len());
            self.len += n;
        }
        self.room(4);
        let (_, n) = self.core.terminator(&mut self.buf[self.len..]);
        self.len += n;
        if self.len >= WRITE_BUFFER {
            self.write_buffer()?;
        }
        Ok(())
    }

    /// Hands the buffered bytes on and flushes the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.write_buffer()?;
        self.out.flush()
    }

    /// Hands the buffered bytes on and returns the underlying writer (not flushed).
    pub fn into_inner(mut self) -> std::io::Result<W> {
        self.write_buffer()?;
        Ok(self.out)
    }

    fn room(&mut self, bytes: usize) {
        if self.buf.len() < self.len + bytes {
            self.buf
                .resize((self.len + bytes).max(2 * self.buf.len()), 0);
        }
    }

    fn write_buffer(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buf[..self.len])?;
        self.len = 0;
        Ok(())
    }
}

/// A quoted field was still open at the end of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenQuote {
    /// 1-based line (counted from the start of the data given) where its record starts.
    pub line: u64,
}

/// Where a record was found in the data given to [`RecordSplitter::next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// Bytes consumed: blank lines before the record, the record and its line end.
    pub consumed: usize,
    /// The record's own bytes, without blank lines before it or its line end.
    pub raw: (usize, usize),
    /// Line ends in the blank lines before the record.
    pub blank_lines: u64,
    /// Line ends consumed in all (blank lines, inside quoted fields, the record's own),
    /// as [`count_line_ends`] counts them.
    pub line_ends: u64,
}

/// Splits bytes into records by the dialect, with `csv-core`; the unescaped fields of the
/// last record found are in [`RecordSplitter::fields`]. Each call starts at a record
/// boundary, so the caller can hand out data in pieces that end anywhere.
#[derive(Debug)]
pub struct RecordSplitter {
    core: csv_core::Reader,
    delimiter: u8,
    out: Vec<u8>,
    ends: Vec<usize>,
    n_fields: usize,
    /// The last record ended at a `\r` that was the last byte of its data: a `\n` at the
    /// start of the next data completes that `\r\n` and ends no line.
    after_cr: bool,
}

impl RecordSplitter {
    pub fn new(delimiter: u8) -> Self {
        RecordSplitter {
            core: fresh_core(delimiter),
            delimiter,
            out: vec![0; 1024],
            ends: vec![0; 16],
            n_fields: 0,
            after_cr: false,
        }
    }

    /// Reads the next record at the start of `input`. `Ok(None)`: no record in `input`
    /// (with `eof`, the data has no more records; without, the record may go on past
    /// `input`: call again from the same place with more data). With `eof`, a last
    /// record without a line end is a record, and an open quoted field is an error.
    pub fn next(&mut self, input: &[u8], eof: bool) -> Result<Option<Found>, OpenQuote> {
        let (mut nin, mut nout, mut nend) = (0, 0, 0);
        loop {
            let (result, i, o, e) =
                self.core
                    .read_record(&input[nin..], &mut self.out[nout..], &mut self.ends[nend..]);
            nin += i;
            nout += o;
            nend += e;
            match result {
                csv_core::ReadRecordResult::Record => {
                    self.n_fields = nend;
                    return Ok(Some(self.found(input, nin)));
                }
                csv_core::ReadRecordResult::OutputFull => {
                    let len = self.out.len();
                    self.out.resize(2 * len, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(2 * len, 0);
                }
                csv_core::ReadRecordResult::InputEmpty if !eof => {
                    // The record may go on past `input`: start it again with more data.
                    self.restart();
                    return Ok(None);
                }
                csv_core::ReadRecordResult::InputEmpty => {
                    if input.iter().all(|&b| b == b'\n' || b == b'\r') {
                        self.restart();
                        return Ok(None);
                    }
                    // A record without a line end: a line end closes it unless a quoted
                    // field is open (then the line end is data and no record comes).
                    if nout == self.out.len() {
                        self.out.push(0);
                    }
                    if nend == self.ends.len() {
                        self.ends.push(0);
                    }
                    let (result, _, o, e) =
                        self.core
                            .read_record(b"\n", &mut self.out[nout..], &mut self.ends[nend..]);
                    let closed = matches!(result, csv_core::ReadRecordResult::Record);
                    if !closed || o > 0 {
                        let blank = leading_blank(input);
                        let line = 1 + count_line_ends(&input[..blank]);
                        self.restart();
                        return Err(OpenQuote { line });
                    }
                    self.n_fields = nend + e;
                    let found = self.found(input, nin);
                    self.restart();
                    return Ok(Some(found));
                }
                csv_core::ReadRecordResult::End => {
                    self.restart();
                    return Ok(None);
                }
            }
        }
    }

    /// The fields of the last record found.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.n_fields).map(move |k| self.field(k))
    }

    /// Field `k` of the last record found.
    pub fn field(&self, k: usize) -> &[u8] {
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.out[start..self.ends[k]]
    }

    /// The number of fields of the last record found.
    pub fn len(&self) -> usize {
        self.n_fields
    }

    /// True before the first record.
    pub fn is_empty(&self) -> bool {
        self.n_fields == 0
    }

    fn found(&mut self, input: &[u8], mut consumed: usize) -> Found {
        // A record ended by the `\r` of a `\r\n` takes its `\n` too (csv-core would skip
        // it at the next record), so the next piece of data never starts inside a line end.
        if consumed > 0 && input[consumed - 1] == b'\r' && input.get(consumed) == Some(&b'\n') {
            consumed += 1;
        }
        let taken = &input[..consumed];
        let start = leading_blank(taken);
        let mut blank_lines = count_line_ends(&taken[..start]);
        let mut line_ends = count_line_ends(taken);
        if self.after_cr && taken.first() == Some(&b'\n') {
            blank_lines -= 1;
            line_ends -= 1;
        }
        let mut end = consumed;
        if end > start && taken[end - 1] == b'\n' {
            end -= 1;
        }
        self.after_cr = end > start && taken[end - 1] == b'\r' && end == consumed;
        if end > start && taken[end - 1] == b'\r' {
            end -= 1;
        }
        Found {
            consumed,
            raw: (start, end),
            blank_lines,
            line_ends,
        }
    }

    /// Forgets a partly read record, as at the start of data.
    fn restart(&mut self) {
        self.core = fresh_core(self.delimiter);
        self.after_cr = false;
    }
}

/// A `csv-core` reader of the dialect that does not strip a byte-order mark: callers
/// skip the one at the start of a file themselves, and a record that begins a later
/// piece of data keeps all its bytes.
fn fresh_core(delimiter: u8) -> csv_core::Reader {
    let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    // A read into no room consumes nothing but marks the reader as started, which is what
    // turns its byte-order-mark check off.
    let _ = core.read_record(b"x", &mut [], &mut [0]);
    core
}

/// Length of the run of `\r` and `\n` at the start of `bytes`.
fn leading_blank(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| b != b'\n' && b != b'\r')
        .unwrap_or(bytes.len())
}

/// The number of line ends in `bytes`: each `\n`, and each `\r` not followed by `\n`, so
/// that `\r\n` is one line end and the lines of a file that ends them with `\r` alone
/// are numbered as the records they are. A `\r` at the very end counts: the readers never
/// cut data between the two bytes of a `\r\n`.
pub fn count_line_ends(bytes: &[u8]) -> u64 {
    let lf = memchr::memchr_iter(b'\n', bytes).count();
    let lone_cr = memchr::memchr_iter(b'\r', bytes)
        .filter(|&at| bytes.get(at + 1) != Some(&b'\n'))
        .count();
    (lf + lone_cr) as u64
}

/// The end of the last whole record in `data`, which starts at a record boundary: the
/// place to cut `data` so that both parts start at a record boundary. 0 when `data`
/// holds no whole record (its first record may go on past it). A cut never falls
/// between the `\r` and the `\n` of a line end, so [`count_line_ends`] adds up over the
/// parts.
pub fn last_record_end(data: &[u8], delimiter: u8) -> usize {
    // A `\r` at the very end may be the first half of a `\r\n`: the record it ends is
    // not known to be whole until the next byte is seen.
    let data = data.strip_suffix(b"\r").unwrap_or(data);
    if memchr::memchr(b'"', data).is_none() {
        // Without quotes every line end (`\n`, `\r\n` or `\r`) ends a record; the last
        // `\r` found is not followed by `\n`, or that `\n` would be found.
        return memchr::memrchr2(b'\n', b'\r', data).map_or(0, |at| at + 1);
    }
    let mut splitter = RecordSplitter::new(delimiter);
    let mut cut = 0;
    while let Ok(Some(found)) = splitter.next(&data[cut..], false) {
        cut += found.consumed;
    }
    cut
}

/// Finds where a record ends in data handed over piece by piece, keeping none of it: for
/// a record too long to hold in memory, whose bytes are passed over.
#[derive(Debug)]
pub struct RecordEnd {
    core: csv_core::Reader,
    /// Scratch room for the unescaped fields, which are not kept.
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl RecordEnd {
    /// For a record that starts at the first byte of the first piece fed.
    pub fn new(delimiter: u8) -> Self {
        RecordEnd {
            core: fresh_core(delimiter),
            out: vec![0; 64 << 10],
            ends: vec![0; 1024],
        }
    }

    /// Reads the next piece: the bytes of `piece` up to and including the record's line
    /// end when the record ends in it, else `None` (it goes on past `piece`). A record
    /// ended by a `\r` that is the last byte of `piece` may see the `\n` of its `\r\n`
    /// start the next piece.
    pub fn feed(&mut self, piece: &[u8]) -> Option<usize> {
        let mut at = 0;
        // Never an empty input: csv-core reads that as the end of the data.
        while at < piece.len() {
            let (result, nin, _, _) =
                self.core
                    .read_record(&piece[at..], &mut self.out, &mut self.ends);
            at += nin;
            match result {
                csv_core::ReadRecordResult::Record => {
                    if piece[at - 1] == b'\r' && piece.get(at) == Some(&b'\n') {
                        at += 1;
                    }
                    return Some(at);
                }
                csv_core::ReadRecordResult::OutputFull
                | csv_core::ReadRecordResult::OutputEndsFull => {}
                csv_core::ReadRecordResult::InputEmpty | csv_core::ReadRecordResult::End => {
                    return None;
                }
            }
        }
        None
    }

    /// At the end of the data, after every piece was fed without the record ending: true
    /// when the data's end closes the record, false when a quoted field is still open.
    pub fn closes_at_end(&mut self) -> bool {
        let (result, _, out, _) = self.core.read_record(b"\n", &mut self.out, &mut self.ends);
        matches!(result, csv_core::ReadRecordResult::Record) && out == 0
    }
}

/// What [`for_each_record`] passed over besides records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// The number of `\n` in the data.
    pub line_ends: u64,
    /// Blank lines, which are not records.
    pub blank_lines: u64,
}

/// Splits `data` — whole records, starting at a record boundary — on `delimiter` and
/// calls `on_record(fields, raw, line)` for each record, `line` 1-based from the start
/// of `data`. Data without quotes and without `\r` takes a fast path (a line is a
/// record, a delimiter ends a field), which is what the dialect gives for such bytes;
/// the rest goes through [`RecordSplitter`].
pub fn for_each_record(
    data: &[u8],
    delimiter: u8,
    mut on_record: impl FnMut(&[&[u8]], &[u8], u64),
) -> Result<Scan, OpenQuote> {
    if memchr::memchr2(b'"', b'\r', data).is_none() {
        return Ok(for_each_plain_record(data, delimiter, on_record));
    }
    let mut scan = Scan::default();
    let mut splitter = RecordSplitter::new(delimiter);
    let (mut at, mut after_cr) = (0usize, false);
    loop {
        let line = scan.line_ends + 1;
        let Some(found) = splitter.next(&data[at..], true).map_err(|e| OpenQuote {
            line: line + e.line - 1,
        })?
        else {
            break;
        };
        let raw = &data[at + found.raw.0..at + found.raw.1];
        // A record with quotes: its unescaped fields live in the splitter until the next.
        let fields: Vec<&[u8]> = splitter.fields().collect();
        let record_line = line + found.blank_lines;
        on_record(&fields, raw, record_line);
        scan.blank_lines += found.blank_lines;
        scan.line_ends += found.line_ends;
        at += found.consumed;
        after_cr = splitter.after_cr;
    }
    let rest = &data[at..];
    let rest_lines =
        count_line_ends(rest).saturating_sub(u64::from(after_cr && rest.first() == Some(&b'\n')));
    scan.line_ends += rest_lines;
    scan.blank_lines += rest_lines;
    Ok(scan)
}

/// [`for_each_record`] for data with no quote and no `\r`, where a line is a record and
/// a delimiter ends a field; the fields are slices of `data`.
pub fn for_each_plain_record<'d>(
    data: &'d [u8],
    delimiter: u8,
    mut on_record: impl FnMut(&[&'d [u8]], &'d [u8], u64),
) -> Scan {
    debug_assert!(memchr::memchr2(b'"', b'\r', data).is_none());
    let mut fields: Vec<&'d [u8]> = Vec::new();
    let mut scan = Scan::default();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', data).chain(
        // The last line may lack a line end.
        (data.last() != Some(&b'\n') && !data.is_empty()).then_some(data.len()),
    ) {
        let raw = &data[start..end];
        start = end + 1;
        let line = scan.line_ends + 1;
        scan.line_ends += u64::from(end < data.len());
        if raw.is_empty() {
            scan.blank_lines += 1;
            continue;
        }
        fields.clear();
        let mut field_start = 0;
        for at in memchr::memchr_iter(delimiter, raw) {
            fields.push(&raw[field_start..at]);
            field_start = at + 1;
        }
        fields.push(&raw[field_start..]);
        on_record(&fields, raw, line);
    }
    scan
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// A record as read: its line, its fields, its raw bytes.
    type Read = (u64, Vec<Vec<u8>>, Vec<u8>);

    fn records(data: &[u8]) -> Result<Vec<Read>, OpenQuote> {
        let mut out = Vec::new();
        for_each_record(data, b',', |fields, raw, line| {
            out.push((
                line,
                fields.iter().map(|f| f.to_vec()).collect(),
                raw.to_vec(),
            ));
        })?;
        Ok(out)
    }

    fn write(rows: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut w = writer(Vec::new());
        for row in rows {
            w.write_record(row).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn splits_quoted_multi_line_records_with_their_lines() {
        let data = b"a,b\r\n1,2\n\n\"x,\"\"y\"\"\",\"multi\nline\"\r\nlast,\"\"\nq\"uote,2";
        let got = records(data).unwrap();
        let lines: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 4, 6, 7]);
        assert_eq!(got[2].1, [b"x,\"y\"".to_vec(), b"multi\nline".to_vec()]);
        assert_eq!(got[2].2, b"\"x,\"\"y\"\"\",\"multi\nline\"".to_vec());
        assert_eq!(got[3].1, [b"last".to_vec(), Vec::new()]);
        assert_eq!(got[4].1, [b"q\"uote".to_vec(), b"2".to_vec()]);
    }

    #[test]
    fn an_open_quote_at_the_end_is_an_error_naming_its_line() {
        assert_eq!(
            records(b"a,b\n\n\"open,1\n2,3\n").unwrap_err(),
            OpenQuote { line: 3 }
        );
        // Closed at the very end, without a line end: fine.
        assert_eq!(records(b"a,\"b\"").unwrap().len(), 1);
    }

    #[test]
    fn the_fast_path_counts_lines_and_skips_blank_ones() {
        let got = records(b"a,b\n\nc,d").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0, got[1].0), (1, 3));
        let scan = for_each_record(b"a\n\nb\n\n", b',', |_, _, _| {}).unwrap();
        assert_eq!((scan.line_ends, scan.blank_lines), (4, 2));
        let scan = for_each_record(b"\"a\"\r\n\r\nb\r\n\n", b',', |_, _, _| {}).unwrap();
        assert_eq!((scan.line_ends, scan.blank_lines), (4, 2));
    }

    #[test]
    fn lines_ended_by_cr_alone_are_numbered() {
        let got = records(b"a,b\r1,2\r\r3,4\r5,6").unwrap();
        let lines: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 4, 5]);
        let scan = for_each_record(b"a\rb\r\r", b',', |_, _, _| {}).unwrap();
        assert_eq!((scan.line_ends, scan.blank_lines), (3, 1));
        assert_eq!(count_line_ends(b"a\r\nb\rc\n\r"), 4);
    }

    #[test]
    fn a_record_ended_by_crlf_takes_its_line_feed() {
        // The header's `\r\n` is all consumed: the rest starts at the next record, with
        // no blank line before it.
        let mut splitter = RecordSplitter::new(b',');
        let found = splitter.next(b"u,i\r\n1,2\r\n", true).unwrap().unwrap();
        assert_eq!((found.consumed, found.raw, found.line_ends), (5, (0, 3), 1));
        assert_eq!(found.blank_lines, 0);
        // A `\r` at the end of the data given is not cut after: its `\n` may follow.
        assert_eq!(last_record_end(b"a\r\nb\r", b','), 3);
        assert_eq!(last_record_end(b"a\rb\rc", b','), 4);
        assert_eq!(last_record_end(b"\"a\"\rb\r", b','), 4);
    }

    #[test]
    fn record_end_finds_the_end_across_pieces() {
        let mut end = RecordEnd::new(b',');
        assert_eq!(end.feed(b"x,\"long\nfield"), None);
        assert_eq!(end.feed(b" still\"\"quoted"), None);
        assert_eq!(end.feed(b"\",y\r\nnext,1\n"), Some(5));
        let mut open = RecordEnd::new(b',');
        assert_eq!(open.feed(b"\"never closed\n"), None);
        assert!(!open.closes_at_end());
        let mut plain = RecordEnd::new(b',');
        assert_eq!(plain.feed(b"no line end"), None);
        assert!(plain.closes_at_end());
    }

    #[test]
    fn a_cut_never_splits_a_record() {
        let data = b"a,\"b\nc\"\nd,e\n\"f,";
        assert_eq!(last_record_end(data, b','), 12);
        assert_eq!(last_record_end(b"\"a\nb", b','), 0);
        assert_eq!(last_record_end(b"a\r\nb", b','), 3);
        assert_eq!(last_record_end(b"\"a\"\r\nb", b','), 5);
    }

    #[test]
    fn the_writer_quotes_only_where_needed() {
        let rows = vec![
            vec![b"plain".to_vec(), b"a,b".to_vec(), b"say \"hi\"".to_vec()],
            vec![b"two\nlines".to_vec(), b"cr\r".to_vec(), Vec::new()],
            vec![Vec::new()],
        ];
        assert_eq!(
            write(&rows),
            b"plain,\"a,b\",\"say \"\"hi\"\"\"\n\"two\nlines\",\"cr\r\",\n\"\"\n".to_vec()
        );
    }

    #[test]
    fn a_record_longer_than_the_buffers_is_read_whole() {
        let long = "x".repeat(5000);
        let fields: Vec<Vec<u8>> = (0..40).map(|k| format!("{k}{long}").into_bytes()).collect();
        let data = write(std::slice::from_ref(&fields));
        let got = records(&data).unwrap();
        assert_eq!(got[0].1, fields);
    }

    fn field() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b','),
                Just(b'"'),
                Just(b'\n'),
                Just(b'\r'),
                Just(b' '),
                any::<u8>()
            ],
            0..12,
        )
    }

    proptest! {
        /// Whatever the field bytes, the writer's output reads back as the same fields,
        /// whole and in pieces cut at any place.
        #[test]
        fn written_records_read_back(
            rows in proptest::collection::vec(proptest::collection::vec(field(), 2..4), 1..8),
            cut in 0usize..200,
        ) {
            let data = write(&rows);
            let got: Vec<Vec<Vec<u8>>> = records(&data).unwrap().into_iter().map(|r| r.1).collect();
            prop_assert_eq!(&got, &rows);
            let cut = cut.min(data.len());
            let first = last_record_end(&data[..cut], b',');
            let mut pieces = records(&data[..first]).unwrap();
            pieces.extend(records(&data[first..]).unwrap());
            let got: Vec<Vec<Vec<u8>>> = pieces.into_iter().map(|r| r.1).collect();
            prop_assert_eq!(&got, &rows);
        }

        /// Records, their lines and the line count are the same read whole or in two
        /// pieces cut by [`last_record_end`], whatever mix of `\n`, `\r\n` and `\r`.
        #[test]
        fn line_numbers_add_up_over_cuts(
            data in proptest::collection::vec(
                prop_oneof![Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), Just(b'a')],
                0..60,
            ),
            cut in 0usize..60,
        ) {
            let Ok(whole) = records(&data) else { return Ok(()) };
            let whole_lines = for_each_record(&data, b',', |_, _, _| {}).unwrap();
            let first = last_record_end(&data[..cut.min(data.len())], b',');
            let mut pieces = records(&data[..first]).unwrap();
            let head = for_each_record(&data[..first], b',', |_, _, _| {}).unwrap();
            let tail = for_each_record(&data[first..], b',', |_, _, _| {}).unwrap();
            pieces.extend(records(&data[first..]).unwrap().into_iter().map(|mut r| {
                r.0 += head.line_ends;
                r
            }));
            prop_assert_eq!(pieces, whole);
            prop_assert_eq!(head.line_ends + tail.line_ends, whole_lines.line_ends);
            prop_assert_eq!(head.blank_lines + tail.blank_lines, whole_lines.blank_lines);
        }

        /// The fast path (no quote, no `\r`) splits as csv-core does.
        #[test]
        fn the_fast_path_agrees_with_csv_core(
            data in proptest::collection::vec(prop_oneof![Just(b','), Just(b'\n'), Just(b'a'), Just(b'1')], 0..60),
        ) {
            let fast = records(&data).unwrap();
            let mut slow = Vec::new();
            let mut splitter = RecordSplitter::new(b',');
            let mut at = 0;
            while let Some(found) = splitter.next(&data[at..], true).unwrap() {
                slow.push(splitter.fields().map(<[u8]>::to_vec).collect::<Vec<_>>());
                at += found.consumed;
            }
            let fast: Vec<Vec<Vec<u8>>> = fast.into_iter().map(|r| r.1).collect();
            prop_assert_eq!(fast, slow);
        }
    }
}
