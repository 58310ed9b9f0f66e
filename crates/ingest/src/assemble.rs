//! Parsed blocks of rows → one event log: global ids, rejection policy, quarantine.

use std::io::Write;
use std::path::{Path, PathBuf};

use clickrec_core::{
    AtomicFile, Behavior, CategoryId, EventColumns, EventLog, IdMaps, ItemId, SessionId, UserId,
};
use clickrec_io::csv_dialect;

use crate::error::IngestError;
use crate::ids::{GlobalIds, LocalIds};
use crate::options::{BadRowPolicy, IngestOptions};
use crate::rejection::{RejectCounts, RejectReason, Rejection};
use crate::row::{RawId, RowSpec};

/// The external user id of an anonymous event (a null user with a session) is its
/// session id after this prefix, so `NA` never becomes one user of every anonymous visit.
pub const ANONYMOUS_PREFIX: &[u8] = b"session:";

/// Rows of one block after validation and local id interning.
#[derive(Debug, Default)]
pub(crate) struct ParsedBlock {
    /// Rows seen in the block, kept or not.
    pub rows: u64,
    /// Line ends in the block (rows of a Parquet slice), to number the next block's lines.
    pub lines: u64,
    /// Blank lines of the block: not rows, counted only.
    pub blank_lines: u64,
    pub users: LocalIds,
    /// Only for a log with both a user and a session column.
    pub sessions: Option<LocalIds>,
    pub items: LocalIds,
    pub categories: LocalIds,
    pub behaviors: Vec<Behavior>,
    pub timestamps: Vec<i64>,
    pub subsec_nanos: SubsecondColumn,
    /// Only for a layout with a weight column.
    pub weights: Vec<f32>,
    /// The user key of an anonymous row (`session:` and its session id), built here.
    anonymous: Vec<u8>,
    /// Kept rows whose user was null, so their session became their user.
    pub anonymous_rows: u64,
    /// Line numbers here count from 1 at the block's first line; with each, the rows
    /// of the block up to and including it.
    pub rejects: Vec<(Rejection, u64)>,
}

/// The sub-second parts of the kept rows' times. Most logs have none, so the column
/// stays empty (all zero) until the first non-zero value and costs nothing.
#[derive(Debug, Default)]
pub(crate) struct SubsecondColumn(Vec<u32>);

impl SubsecondColumn {
    /// Appends the value of row `row` (0-based among the kept rows).
    fn push(&mut self, row: usize, nanos: u32) {
        if nanos != 0 || !self.0.is_empty() {
            self.0.resize(row, 0);
            self.0.push(nanos);
        }
    }

    /// Appends `other`, a column of `other_rows` rows, after `rows` rows.
    fn extend(&mut self, rows: usize, other: SubsecondColumn, other_rows: usize) {
        if !other.0.is_empty() || !self.0.is_empty() {
            self.0.resize(rows, 0);
            self.0.extend_from_slice(&other.0);
            self.0.resize(rows + other_rows, 0);
        }
    }

    /// One value per row, or empty when every value is zero.
    fn into_column(mut self, rows: usize) -> Vec<u32> {
        if !self.0.is_empty() {
            self.0.resize(rows, 0);
        }
        self.0
    }
}

impl ParsedBlock {
    pub fn with_capacity(spec: &RowSpec, rows: usize) -> Self {
        ParsedBlock {
            users: LocalIds::with_capacity(rows),
            sessions: spec.session.map(|_| LocalIds::with_capacity(rows)),
            items: LocalIds::with_capacity(rows),
            categories: LocalIds::with_capacity(rows),
            behaviors: Vec::with_capacity(rows),
            timestamps: Vec::with_capacity(rows),
            weights: Vec::with_capacity(if spec.weight.is_some() { rows } else { 0 }),
            ..ParsedBlock::default()
        }
    }

    /// Validates one row, on line `line` of the block, and keeps it or records its
    /// rejection.
    pub fn row(
        &mut self,
        spec: &RowSpec,
        fields: &[&[u8]],
        utf8_known_valid: bool,
        raw: &[u8],
        line: u64,
    ) {
        self.rows += 1;
        match spec.check(fields, utf8_known_valid) {
            Ok(v) => {
                let row = self.timestamps.len();
                match (v.user, v.session) {
                    (Some(user), _) => self.users.push(user),
                    // An anonymous visitor: its session, under a prefix that keeps it
                    // apart from the log's user ids.
                    (None, Some(session)) => {
                        self.anonymous_rows += 1;
                        self.anonymous.clear();
                        self.anonymous.extend_from_slice(ANONYMOUS_PREFIX);
                        self.anonymous.extend_from_slice(session.bytes);
                        self.users.push(RawId::new(&self.anonymous));
                    }
                    (None, None) => unreachable!("only a row with a session has no user"),
                }
                if let (Some(sessions), Some(session)) = (self.sessions.as_mut(), v.session) {
                    sessions.push(session);
                }
                self.items.push(v.item);
                self.categories.push(v.category);
                self.behaviors.push(v.behavior);
                self.timestamps.push(v.timestamp);
                self.subsec_nanos.push(row, v.subsec_nanos);
                if let Some(w) = v.weight {
                    self.weights.push(w);
                }
            }
            Err(e) => self.rejects.push((
                Rejection {
                    line,
                    reason: e.reason,
                    column: e.field.map(|f| spec.names[f].clone()),
                    value: e.value,
                    raw: raw.to_vec(),
                },
                self.rows,
            )),
        }
    }

    /// Records a row rejected before its fields could be read (a line that is not JSON).
    pub fn reject(&mut self, reason: RejectReason, value: String, raw: &[u8], line: u64) {
        self.rows += 1;
        self.rejects.push((
            Rejection {
                line,
                reason,
                column: None,
                value,
                raw: raw.to_vec(),
            },
            self.rows,
        ));
    }

    /// Ends the block, which spans `lines` line ends and had `blank_lines` blank lines.
    pub fn finish(mut self, lines: u64, blank_lines: u64) -> Self {
        self.lines = lines;
        self.blank_lines = blank_lines;
        self.users.shrink();
        if let Some(sessions) = self.sessions.as_mut() {
            sessions.shrink();
        }
        self.items.shrink();
        self.categories.shrink();
        self
    }
}

/// What ingestion produced: the sorted log, its id maps, and the row accounting.
#[derive(Debug)]
pub struct Ingested {
    /// Carries the input's sessions ([`EventLog::given_sessions`]) when the layout names a
    /// session column; for a session-only log each user is one session.
    pub log: EventLog,
    pub ids: IdMaps,
    pub rows_read: u64,
    /// Blank lines of a text input: not rows, so neither kept nor rejected.
    pub blank_lines: u64,
    pub rejected: RejectCounts,
    /// Kept rows whose user id was null: each such session is its own user.
    pub anonymous_rows: u64,
    /// The quarantine file, when rows were skipped into one.
    pub quarantine: Option<PathBuf>,
    /// The number of the file's last line when it ends without a line end: a file cut
    /// short mid-row looks so, so it is reported (its row is validated like any other).
    pub unterminated_last_line: Option<u64>,
}

/// Merges blocks in file order and applies the bad-row policy.
pub(crate) struct Assembler<'a> {
    input: &'a Path,
    options: &'a IngestOptions,
    quarantine_path: &'a Path,
    /// Written atomically: it appears whole, at the end or when an error names it, and
    /// only when it holds a row.
    quarantine: Option<csv_dialect::Writer<AtomicFile>>,
    /// Line ends before the first data line (1 with a one-line header).
    line_base: u64,
    /// Line ends of the blocks absorbed so far.
    lines_read: u64,
    blank_lines: u64,
    rows_read: u64,
    rejected: RejectCounts,
    anonymous_rows: u64,
    users: GlobalIds<UserId>,
    sessions: GlobalIds<SessionId>,
    items: GlobalIds<ItemId>,
    categories: GlobalIds<CategoryId>,
    user_col: Vec<UserId>,
    session_col: Vec<SessionId>,
    item_col: Vec<ItemId>,
    category_col: Vec<CategoryId>,
    behavior_col: Vec<Behavior>,
    time_col: Vec<i64>,
    subsec_col: SubsecondColumn,
    weight_col: Vec<f32>,
}

impl<'a> Assembler<'a> {
    /// `known` holds ids from files read before this one (the train file of a pre-split
    /// pair): their dense ids stay, and new ids continue after them.
    pub fn new(
        input: &'a Path,
        options: &'a IngestOptions,
        quarantine_path: &'a Path,
        line_base: u64,
        known: Option<&IdMaps>,
    ) -> Result<Self, IngestError> {
        let quarantine = match options.on_bad_row {
            BadRowPolicy::Fail => None,
            BadRowPolicy::Skip => {
                let file = AtomicFile::create(quarantine_path)?;
                let mut w = csv_dialect::writer(file);
                w.write_record(["line", "reason", "column", "value", "raw"])
                    .map_err(|e| {
                        IngestError::io(quarantine_path, "cannot write quarantine file", e)
                    })?;
                Some(w)
            }
        };
        Ok(Assembler {
            input,
            options,
            quarantine_path,
            quarantine,
            line_base,
            lines_read: 0,
            blank_lines: 0,
            rows_read: 0,
            rejected: RejectCounts::default(),
            anonymous_rows: 0,
            users: known.map_or_else(GlobalIds::default, |k| GlobalIds::from_map(&k.users)),
            sessions: GlobalIds::default(),
            items: known.map_or_else(GlobalIds::default, |k| GlobalIds::from_map(&k.items)),
            categories: known
                .map_or_else(GlobalIds::default, |k| GlobalIds::from_map(&k.categories)),
            user_col: Vec::new(),
            session_col: Vec::new(),
            item_col: Vec::new(),
            category_col: Vec::new(),
            behavior_col: Vec::new(),
            time_col: Vec::new(),
            subsec_col: SubsecondColumn::default(),
            weight_col: Vec::new(),
        })
    }

    /// Takes the next block in file order.
    pub fn absorb(&mut self, block: ParsedBlock) -> Result<(), IngestError> {
        let line_before = self.line_base + self.lines_read;
        for (mut r, rows) in block.rejects {
            r.line += line_before;
            self.reject(r, self.rows_read + rows)?;
        }
        self.rows_read += block.rows;
        self.anonymous_rows += block.anonymous_rows;
        self.lines_read += block.lines;
        self.blank_lines += block.blank_lines;
        let users = self.users.translate(block.users.keys)?;
        let items = self.items.translate(block.items.keys)?;
        let categories = self.categories.translate(block.categories.keys)?;
        self.user_col
            .extend(block.users.codes.iter().map(|&c| UserId(users[c as usize])));
        if let Some(block_sessions) = block.sessions {
            let sessions = self.sessions.translate(block_sessions.keys)?;
            self.session_col.extend(
                block_sessions
                    .codes
                    .iter()
                    .map(|&c| SessionId(sessions[c as usize])),
            );
        }
        self.item_col
            .extend(block.items.codes.iter().map(|&c| ItemId(items[c as usize])));
        self.category_col.extend(
            block
                .categories
                .codes
                .iter()
                .map(|&c| CategoryId(categories[c as usize])),
        );
        self.behavior_col.extend_from_slice(&block.behaviors);
        let kept_before = self.time_col.len();
        self.time_col.extend_from_slice(&block.timestamps);
        self.subsec_col
            .extend(kept_before, block.subsec_nanos, block.timestamps.len());
        self.weight_col.extend_from_slice(&block.weights);
        Ok(())
    }

    /// The error for a quoted field still open at the end of the file, `line` counted in
    /// the block that follows the blocks absorbed so far.
    pub fn open_quote(&self, line: u64) -> IngestError {
        IngestError::OpenQuote {
            path: self.input.to_owned(),
            line: self.line_base + self.lines_read + line,
        }
    }

    /// Records a bad row; `read` rows have been read up to and including it.
    fn reject(&mut self, r: Rejection, read: u64) -> Result<(), IngestError> {
        let Some(q) = self.quarantine.as_mut() else {
            return Err(IngestError::BadRow {
                path: self.input.to_owned(),
                line: r.line,
                reason: r.reason,
                column: r.column,
                value: r.value,
            });
        };
        self.rejected.add(r.reason);
        write_quarantine_row(q, &r).map_err(|e| {
            IngestError::io(self.quarantine_path, "cannot write quarantine file", e)
        })?;
        if let Some(limit @ crate::options::BadRowLimit::Count(_)) = self.options.max_bad_rows
            && limit.exceeded(self.rejected.total(), self.rows_read)
        {
            self.commit_quarantine()?;
            return Err(self.too_many(read));
        }
        Ok(())
    }

    fn too_many(&self, read: u64) -> IngestError {
        IngestError::TooManyBadRows {
            path: self.input.to_owned(),
            rejected: self.rejected.total(),
            read,
            limit: self
                .options
                .max_bad_rows
                .unwrap_or(crate::options::BadRowLimit::Count(0)),
            quarantine: self.quarantine_path.to_owned(),
        }
    }

    /// Moves the quarantine file into place when it holds a row; else leaves none (and
    /// removes one an earlier ingestion left there, which would describe another input).
    /// Returns whether there is one.
    fn commit_quarantine(&mut self) -> Result<bool, IngestError> {
        let write_err = |e: std::io::Error| {
            IngestError::io(self.quarantine_path, "cannot write quarantine file", e)
        };
        match (self.quarantine.take(), self.rejected.total() > 0) {
            (Some(q), true) => {
                q.into_inner().map_err(write_err)?.commit()?;
                Ok(true)
            }
            (None, true) => Ok(true),
            // Dropped uncommitted, a quarantine file removes its temporary file.
            (_, false) => match std::fs::remove_file(self.quarantine_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(IngestError::io(
                    self.quarantine_path,
                    "cannot remove the quarantine file of an earlier ingestion",
                    e,
                )),
                _ => Ok(false),
            },
        }
    }

    /// Checks the limits over the whole file and builds the sorted event log. With a
    /// `spec` naming sessions, the log carries them (a session-only log: one per user).
    /// `unterminated`: the input's last byte ends no line.
    pub fn finish(
        mut self,
        spec: &RowSpec,
        unterminated: bool,
        empty: impl FnOnce() -> IngestError,
    ) -> Result<Ingested, IngestError> {
        let quarantined = self.commit_quarantine()?;
        if self.rows_read == 0 {
            return Err(empty());
        }
        if self.user_col.is_empty() {
            return Err(IngestError::NoValidRows {
                path: self.input.to_owned(),
                read: self.rows_read,
                quarantine: self.quarantine_path.to_owned(),
            });
        }
        if let Some(limit) = self.options.max_bad_rows
            && limit.exceeded(self.rejected.total(), self.rows_read)
        {
            return Err(self.too_many(self.rows_read));
        }
        let rows = self.time_col.len();
        let sessions = if spec.sessions_are_users {
            Some(self.user_col.iter().map(|u| SessionId(u.0)).collect())
        } else if spec.session.is_some() {
            Some(self.session_col)
        } else {
            None
        };
        let log = EventLog::from_event_columns(EventColumns {
            users: self.user_col,
            items: self.item_col,
            categories: self.category_col,
            behaviors: self.behavior_col,
            timestamps: self.time_col,
            subsec_nanos: self.subsec_col.into_column(rows),
            sessions,
            weights: spec.weight.map(|_| self.weight_col),
        })?;
        Ok(Ingested {
            log,
            ids: IdMaps {
                users: self.users.map,
                items: self.items.map,
                categories: self.categories.map,
            },
            rows_read: self.rows_read,
            blank_lines: self.blank_lines,
            rejected: self.rejected,
            anonymous_rows: self.anonymous_rows,
            quarantine: quarantined.then(|| self.quarantine_path.to_owned()),
            // The last line follows every line end read.
            unterminated_last_line: unterminated.then_some(self.line_base + self.lines_read + 1),
        })
    }
}

/// One CSV row `line,reason,column,value,raw` in the one dialect; `raw` keeps the
/// original bytes (a field holding a comma, quote or line break is quoted).
fn write_quarantine_row(
    w: &mut csv_dialect::Writer<impl Write>,
    r: &Rejection,
) -> std::io::Result<()> {
    let line = r.line.to_string();
    w.write_record([
        line.as_bytes(),
        r.reason.key().as_bytes(),
        r.column.as_deref().unwrap_or("").as_bytes(),
        r.value.as_bytes(),
        r.raw.as_slice(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsecond_column_stays_empty_until_needed() {
        let mut block = SubsecondColumn::default();
        block.push(0, 0);
        block.push(1, 0);
        assert!(block.0.is_empty());
        block.push(2, 7);
        block.push(3, 0);
        assert_eq!(block.0, [0, 0, 7, 0]);
        let mut all = SubsecondColumn::default();
        all.extend(0, SubsecondColumn::default(), 3);
        assert!(all.0.is_empty());
        all.extend(3, block, 5);
        assert_eq!(all.into_column(9), [0, 0, 0, 0, 0, 7, 0, 0, 0]);
    }

    proptest::proptest! {
        /// Any bad row — commas, quotes, line breaks, bytes that are not UTF-8 — reads
        /// back from the quarantine file as it was written.
        #[test]
        fn quarantine_rows_round_trip(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            value in "\\PC{0,10}|[,\"\n\r]{1,4}",
            column in proptest::option::of("[a-z,\" ]{1,6}"),
            line in 1u64..1_000_000,
        ) {
            let r = Rejection {
                line,
                reason: crate::rejection::RejectReason::BadId,
                column: column.clone(),
                value: value.clone(),
                raw: raw.clone(),
            };
            let mut w = csv_dialect::writer(Vec::new());
            write_quarantine_row(&mut w, &r).unwrap();
            write_quarantine_row(&mut w, &r).unwrap();
            let bytes = w.into_inner().unwrap();
            let mut rows = Vec::new();
            csv_dialect::for_each_record(&bytes, b',', |fields, _, _| {
                rows.push(fields.iter().map(|f| f.to_vec()).collect::<Vec<_>>());
            })
            .unwrap();
            let expected = vec![
                line.to_string().into_bytes(),
                b"bad_id".to_vec(),
                column.unwrap_or_default().into_bytes(),
                value.into_bytes(),
                raw,
            ];
            proptest::prop_assert_eq!(rows, vec![expected.clone(), expected]);
        }
    }
}
