//! Why a row was rejected, and the record kept of it.

use serde::{Deserialize, Serialize};

/// The reason a row was not kept. One reason per row: the first problem found, checked
/// in the order record length, JSON, field count, UTF-8, user, session, item, category,
/// behaviour, time, time range, window, weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    WrongFieldCount,
    InvalidUtf8,
    EmptyId,
    BadId,
    BadTimestamp,
    OutOfWindow,
    UnknownBehavior,
    /// A required id equal to one of the layout's `null_values`.
    NullId,
    /// A weight column value that is not a finite number above zero.
    BadWeight,
    /// A JSON-lines line that is not a JSON object.
    InvalidJson,
    /// A time outside the accepted range (`input.earliest_time` / `latest_time`, by
    /// default 1970 to 2200): a wrong unit or a garbled value.
    TimeOutOfRange,
    /// A record longer than `input.max_record_bytes`: never held whole in memory.
    RecordTooLong,
}

impl RejectReason {
    /// Every reason, in check order.
    pub const ALL: [RejectReason; 12] = [
        RejectReason::RecordTooLong,
        RejectReason::InvalidJson,
        RejectReason::WrongFieldCount,
        RejectReason::InvalidUtf8,
        RejectReason::EmptyId,
        RejectReason::BadId,
        RejectReason::BadTimestamp,
        RejectReason::TimeOutOfRange,
        RejectReason::OutOfWindow,
        RejectReason::UnknownBehavior,
        RejectReason::NullId,
        RejectReason::BadWeight,
    ];

    /// Stable key used in summaries and the quarantine file.
    pub fn key(self) -> &'static str {
        match self {
            RejectReason::WrongFieldCount => "wrong_field_count",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::EmptyId => "empty_id",
            RejectReason::BadId => "bad_id",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::OutOfWindow => "out_of_window",
            RejectReason::UnknownBehavior => "unknown_behavior",
            RejectReason::NullId => "null_id",
            RejectReason::BadWeight => "bad_weight",
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::TimeOutOfRange => "time_out_of_range",
            RejectReason::RecordTooLong => "record_too_long",
        }
    }

    /// What to do about a failing row: the setting that most often fixes this reason,
    /// then quarantining. A field count wrong on the first lines usually means another
    /// delimiter or format; a timestamp that does not parse, another time format.
    pub(crate) fn hint(self, line: u64) -> &'static str {
        const SKIP: &str = "use --on-bad-row skip to quarantine bad rows";
        match self {
            RejectReason::WrongFieldCount if line <= 2 => {
                "on the first rows this usually means another separator or layout: set --delimiter (e.g. ';' or tab) or --format (taobao, retailrocket, sessions, csv, parquet, jsonl); or use --on-bad-row skip to quarantine bad rows"
            }
            RejectReason::BadTimestamp => {
                "set --time-format (input.time_format) to unix-s, unix-ms or a strftime pattern such as '%Y-%m-%d %H:%M:%S' or '%Y-%m-%d'; or use --on-bad-row skip to quarantine bad rows"
            }
            RejectReason::InvalidJson if line <= 2 => {
                "--format jsonl reads one JSON object per line; for a JSON array or a delimited file choose another --format; or use --on-bad-row skip to quarantine bad rows"
            }
            RejectReason::TimeOutOfRange => {
                "accepted times are --earliest-time to --latest-time (input.earliest_time, input.latest_time; default 1970-01-01 to 2199-12-31 UTC): check the unit (the taobao and sessions layouts read Unix seconds, retailrocket milliseconds; with --format csv, parquet or jsonl set --time-format to the unit of the file, e.g. unix-ms) or move the bounds; or use --on-bad-row skip to quarantine bad rows"
            }
            RejectReason::RecordTooLong => {
                "a record may hold at most --max-record-bytes (input.max_record_bytes, default 1048576) bytes: a file without line ends (binary, or another format) or a quote that never closes reads as one long record; raise the limit if such records are real; or use --on-bad-row skip to quarantine bad rows (their first max-record-bytes bytes are kept)"
            }
            RejectReason::NullId => {
                "a required id is one of --null-values (input.null_values); only a user id may be missing, when the log has a session column; or use --on-bad-row skip to quarantine bad rows"
            }
            _ => SKIP,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            RejectReason::WrongFieldCount => "wrong number of fields",
            RejectReason::InvalidUtf8 => "invalid UTF-8",
            RejectReason::EmptyId => "empty id",
            RejectReason::BadId => "unparsable id",
            RejectReason::BadTimestamp => "unparsable timestamp",
            RejectReason::OutOfWindow => "timestamp outside the time window",
            RejectReason::UnknownBehavior => "unknown behaviour value",
            RejectReason::NullId => "missing id",
            RejectReason::BadWeight => "weight not a positive number",
            RejectReason::InvalidJson => "not a JSON object",
            RejectReason::TimeOutOfRange => "timestamp outside the accepted range",
            RejectReason::RecordTooLong => "record longer than the limit",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// One rejected row: where it was, why, and its raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line of a text file where the row's record starts (the header is line 1),
    /// or 1-based row of a Parquet file.
    pub line: u64,
    pub reason: RejectReason,
    /// The column the problem is in (absent for field-count problems).
    pub column: Option<String>,
    /// What was found: the offending field, or a description such as "7 fields, expected 5".
    pub value: String,
    /// The whole row as read, without its line end; of a record too long, its first
    /// `max_record_bytes` bytes.
    pub raw: Vec<u8>,
}

/// Rejected rows counted by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectCounts([u64; RejectReason::ALL.len()]);

impl RejectCounts {
    pub fn add(&mut self, reason: RejectReason) {
        self.0[reason as usize] += 1;
    }

    pub fn get(&self, reason: RejectReason) -> u64 {
        self.0[reason as usize]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Non-zero counts by reason key, in check order.
    pub fn by_key(&self) -> std::collections::BTreeMap<String, u64> {
        RejectReason::ALL
            .into_iter()
            .filter(|&r| self.get(r) > 0)
            .map(|r| (r.key().to_owned(), self.get(r)))
            .collect()
    }
}
