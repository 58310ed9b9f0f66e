//! The user-facing description of an input (CLI flags or a pipeline's `[input]` table),
//! checked into [`IngestOptions`] before any data is read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use clickrec_core::{Behavior, BehaviorMapping};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::format::{ColumnMapping, ColumnRef, IdRule, Layout, LogFormat, TimeFormat};
use crate::options::{
    BadRowLimit, BadRowPolicy, DEFAULT_MAX_RECORD_BYTES, IngestOptions, TimeWindow,
};
use crate::row::is_valid_strftime;

/// The format names accepted in configs and on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    #[default]
    Taobao,
    Retailrocket,
    /// `SessionId<TAB>ItemId<TAB>Time` with a header (session-rec, GRU4Rec).
    Sessions,
    Csv,
    Parquet,
    /// JSON lines: one object per line, columns by key or dotted path.
    Jsonl,
}

impl FormatName {
    /// Every format name, as typed, for messages that list them.
    pub const ALL: &'static str = "taobao, retailrocket, sessions, csv, parquet, jsonl";
}

/// A configuration value that does not make sense, named by its key.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn config_error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// An input click log and how to read it. Keys mirror the `clickrec ingest` flags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// The click-log file (`.csv`, `.csv.gz`, `.parquet`).
    pub path: PathBuf,
    #[serde(default)]
    pub format: FormatName,
    #[serde(default)]
    pub on_bad_row: BadRowPolicy,
    /// `N` rows or `P%` of rows; only with `on_bad_row = "skip"`.
    #[serde(default, deserialize_with = "text_or_number")]
    pub max_bad_rows: Option<String>,
    /// First accepted time: a date (start of day) or a date-time, in `utc_offset`.
    #[serde(default, deserialize_with = "text_or_number")]
    pub window_start: Option<String>,
    /// Last accepted time: a date (the whole day is accepted) or a date-time (exclusive).
    #[serde(default, deserialize_with = "text_or_number")]
    pub window_end: Option<String>,
    /// Offset of local times, e.g. `+08:00` (default `+00:00`): used by the window, the
    /// time range and strftime time formats.
    #[serde(default, deserialize_with = "text_or_number")]
    pub utc_offset: Option<String>,
    /// First plausible time (default `1970-01-01`), written as `window_start` is: an
    /// earlier time is a bad row (`time_out_of_range`), a wrong unit or a garbled value.
    #[serde(default, deserialize_with = "text_or_number")]
    pub earliest_time: Option<String>,
    /// Last plausible time (default `2199-12-31`, the whole day), written as `window_end`
    /// is: a later time is a bad row (`time_out_of_range`).
    #[serde(default, deserialize_with = "text_or_number")]
    pub latest_time: Option<String>,
    /// The longest record of a text input, in bytes (default 1 MiB): a longer one is a bad
    /// row (`record_too_long`), never held whole, so a file without line ends cannot fill
    /// the memory.
    #[serde(default)]
    pub max_record_bytes: Option<u64>,
    // Column mapping, for `csv`, `parquet` and `jsonl` only.
    /// The user column. At least one of `user_col` and `session_col` is required.
    #[serde(default, deserialize_with = "text_or_number")]
    pub user_col: Option<String>,
    /// The session column: without `user_col` every session is its own user; with it the
    /// given sessions replace the inactivity gap and the user links them.
    #[serde(default, deserialize_with = "text_or_number")]
    pub session_col: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub item_col: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub time_col: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub behavior_col: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub category_col: Option<String>,
    /// A positive number per event (play count, rating) multiplying its behaviour weight.
    #[serde(default, deserialize_with = "text_or_number")]
    pub weight_col: Option<String>,
    /// Values that mean "missing", e.g. `["NA", ""]`: a missing user id with a session id
    /// makes the session its own user; a missing required id is a bad row.
    #[serde(default)]
    pub null_values: Option<Vec<String>>,
    /// One character, or `tab`.
    #[serde(default, deserialize_with = "text_or_number")]
    pub delimiter: Option<String>,
    /// Whether the first line names the columns (csv; default true).
    pub header: Option<bool>,
    /// `unix-s` (default), `unix-ms`, or a strftime pattern such as `%Y-%m-%d %H`.
    #[serde(default, deserialize_with = "text_or_number")]
    pub time_format: Option<String>,
    /// `text` (default for csv/parquet) or `integer`.
    pub ids: Option<IdRuleName>,
    /// Raw behaviour values per behaviour, e.g. `{ pv = ["1"], fav = ["2"], cart = ["3"], buy = ["4"] }`.
    /// Default: the names `pv`, `fav`, `cart`, `buy`.
    pub behavior_map: Option<BTreeMap<Behavior, Vec<String>>>,
}

/// Reads a text value that may also be written as a number (`max_bad_rows = 1000`,
/// `user_col = 0`, `--set input.window_start=1511539200`).
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Integer(i64),
        Float(f64),
    }
    Ok(Option::<TextOrNumber>::deserialize(d)?.map(|v| match v {
        TextOrNumber::Text(t) => t,
        TextOrNumber::Integer(i) => i.to_string(),
        TextOrNumber::Float(f) => f.to_string(),
    }))
}

/// [`IdRule`] as written in configs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdRuleName {
    Integer,
    Text,
}

impl InputConfig {
    /// Checks every value and builds the options; reads no data.
    pub fn options(&self) -> Result<IngestOptions, ConfigError> {
        let utc_offset_s = match &self.utc_offset {
            Some(text) => parse_utc_offset(text).ok_or_else(|| {
                config_error(
                    "utc_offset",
                    format!("expected an offset like +08:00 or -05:30, found {text:?}"),
                )
            })?,
            None => 0,
        };
        let format = match self.format {
            FormatName::Taobao | FormatName::Retailrocket | FormatName::Sessions => {
                self.reject_mapping_keys()?;
                match self.format {
                    FormatName::Taobao => LogFormat::Taobao,
                    FormatName::Retailrocket => LogFormat::RetailRocket,
                    _ => LogFormat::Sessions,
                }
            }
            FormatName::Csv => LogFormat::Csv(self.layout(utc_offset_s)?),
            FormatName::Parquet => LogFormat::Parquet(self.layout(utc_offset_s)?),
            FormatName::Jsonl => LogFormat::Jsonl(self.jsonl_layout(utc_offset_s)?),
        };
        let max_bad_rows = match &self.max_bad_rows {
            None => None,
            Some(_) if self.on_bad_row == BadRowPolicy::Fail => {
                return Err(config_error(
                    "max_bad_rows",
                    "applies only with on_bad_row = skip (with fail, the first bad row stops ingestion)",
                ));
            }
            Some(text) => Some(
                text.parse::<BadRowLimit>()
                    .map_err(|m| config_error("max_bad_rows", m))?,
            ),
        };
        let window = match (&self.window_start, &self.window_end) {
            (None, None) => None,
            (start, end) => {
                let start = match start {
                    Some(t) => parse_window_time(t, utc_offset_s, false)
                        .ok_or_else(|| bad_time("window_start", t))?,
                    None => i64::MIN,
                };
                let end = match end {
                    Some(t) => parse_window_time(t, utc_offset_s, true)
                        .ok_or_else(|| bad_time("window_end", t))?,
                    None => i64::MAX,
                };
                if start >= end {
                    return Err(config_error("window_end", "must be after window_start"));
                }
                Some(TimeWindow { start, end })
            }
        };
        Ok(IngestOptions {
            format,
            on_bad_row: self.on_bad_row,
            max_bad_rows,
            window,
            time_range: self.time_range(utc_offset_s)?,
            max_record_bytes: match self.max_record_bytes {
                None => DEFAULT_MAX_RECORD_BYTES,
                Some(0) => return Err(config_error("max_record_bytes", "must be ≥ 1")),
                Some(n) => usize::try_from(n).map_err(|_| {
                    config_error("max_record_bytes", format!("{n} does not fit this machine"))
                })?,
            },
        })
    }

    /// The accepted times: the default range with the bounds given moved, each within
    /// [`TimeWindow::WIDEST_RANGE`] (so no later arithmetic on times can overflow) and
    /// the earliest before the latest.
    fn time_range(&self, utc_offset_s: i32) -> Result<TimeWindow, ConfigError> {
        let widest = TimeWindow::WIDEST_RANGE;
        let bound = |key: &str, text: &Option<String>, is_end: bool, default: i64| {
            let Some(text) = text else {
                return Ok(default);
            };
            let t =
                parse_window_time(text, utc_offset_s, is_end).ok_or_else(|| bad_time(key, text))?;
            // The end bound is exclusive: it may be the first second after year 9999.
            if t < widest.start || t > widest.end || (!is_end && t == widest.end) {
                return Err(config_error(
                    key,
                    format!("{text:?} is outside the years 0001 to 9999"),
                ));
            }
            Ok(t)
        };
        let start = bound(
            "earliest_time",
            &self.earliest_time,
            false,
            TimeWindow::DEFAULT_RANGE.start,
        )?;
        let end = bound(
            "latest_time",
            &self.latest_time,
            true,
            TimeWindow::DEFAULT_RANGE.end,
        )?;
        if start >= end {
            return Err(config_error(
                "latest_time",
                format!(
                    "must be after earliest_time (the accepted times would run from {} to before {})",
                    clickrec_core::utc_text(start),
                    clickrec_core::utc_text(end)
                ),
            ));
        }
        Ok(TimeWindow { start, end })
    }

    fn reject_mapping_keys(&self) -> Result<(), ConfigError> {
        let given = [
            ("user_col", self.user_col.is_some()),
            ("session_col", self.session_col.is_some()),
            ("item_col", self.item_col.is_some()),
            ("time_col", self.time_col.is_some()),
            ("behavior_col", self.behavior_col.is_some()),
            ("category_col", self.category_col.is_some()),
            ("weight_col", self.weight_col.is_some()),
            ("null_values", self.null_values.is_some()),
            ("delimiter", self.delimiter.is_some()),
            ("header", self.header.is_some()),
            ("time_format", self.time_format.is_some()),
            ("ids", self.ids.is_some()),
            ("behavior_map", self.behavior_map.is_some()),
        ];
        match given.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(config_error(
                key,
                "a column mapping applies only to format csv, parquet or jsonl; the taobao, retailrocket and sessions layouts are fixed",
            )),
            None => Ok(()),
        }
    }

    fn layout(&self, utc_offset_s: i32) -> Result<Layout, ConfigError> {
        let required = |key: &str, v: &Option<String>| {
            v.as_deref()
                .map(|s| s.parse::<ColumnRef>().unwrap_or_else(|e| match e {}))
                .ok_or_else(|| {
                    config_error(
                        key,
                        "required for format csv, parquet and jsonl (a column name or 0-based position)",
                    )
                })
        };
        let optional = |v: &Option<String>| {
            v.as_deref()
                .map(|s| s.parse::<ColumnRef>().unwrap_or_else(|e| match e {}))
        };
        let delimiter = match self.delimiter.as_deref() {
            None => b',',
            Some("tab" | "\\t" | "\t") => b'\t',
            Some(d) if d.len() == 1 && d != "\"" => d.as_bytes()[0],
            Some(d) => {
                return Err(config_error(
                    "delimiter",
                    format!(
                        "expected one ASCII character other than a quote, or `tab`, found {d:?}"
                    ),
                ));
            }
        };
        let behaviors = match &self.behavior_map {
            None => BehaviorMapping::taobao(),
            Some(map) => {
                let mut entries = Vec::new();
                for (behavior, raws) in map {
                    for raw in raws {
                        if entries.iter().any(|(r, _): &(String, Behavior)| r == raw) {
                            return Err(config_error(
                                "behavior_map",
                                format!("the value {raw:?} is mapped twice"),
                            ));
                        }
                        entries.push((raw.clone(), *behavior));
                    }
                }
                if entries.is_empty() {
                    return Err(config_error("behavior_map", "maps no value"));
                }
                BehaviorMapping::new(entries)
            }
        };
        if self.behavior_map.is_some() && self.behavior_col.is_none() {
            return Err(config_error("behavior_map", "given without behavior_col"));
        }
        if self.user_col.is_none() && self.session_col.is_none() {
            return Err(config_error(
                "user_col",
                "required for format csv, parquet and jsonl unless session_col is given (a column name or 0-based position)",
            ));
        }
        let columns = ColumnMapping {
            user: optional(&self.user_col),
            session: optional(&self.session_col),
            item: required("item_col", &self.item_col)?,
            time: optional(&self.time_col),
            behavior: optional(&self.behavior_col),
            category: optional(&self.category_col),
            weight: optional(&self.weight_col),
        };
        let mapped: Vec<_> = columns.mapped().collect();
        for (i, (key, column)) in mapped.iter().enumerate() {
            if let Some((first, _)) = mapped[..i].iter().find(|(_, c)| c == column) {
                return Err(config_error(
                    key,
                    format!("names {column}, which {first} already maps: a column holds one role"),
                ));
            }
        }
        let time = self
            .time_format
            .as_deref()
            .map(|t| t.parse::<TimeFormat>().unwrap_or_else(|e| match e {}))
            .unwrap_or(TimeFormat::UnixSeconds);
        if let TimeFormat::Strftime(pattern) = &time
            && !is_valid_strftime(pattern)
        {
            return Err(config_error(
                "time_format",
                format!(
                    "{pattern:?} is not a valid strftime pattern (e.g. '%Y-%m-%d %H:%M:%S'; a literal % is written %%), nor unix-s or unix-ms"
                ),
            ));
        }
        Ok(Layout {
            columns,
            time,
            utc_offset_s,
            ids: match self.ids {
                Some(IdRuleName::Integer) => IdRule::Integer,
                Some(IdRuleName::Text) | None => IdRule::Text,
            },
            behaviors,
            delimiter,
            has_header: self.header.unwrap_or(true),
            field_names: None,
            null_values: self.null_values.clone().unwrap_or_default(),
        })
    }

    /// The layout of JSON lines: columns by key or dotted path only (an object has no
    /// positions), and no delimiter or header. A JSON `null` or a missing key reads as
    /// an empty value, so `""` is a null value unless `null_values` says otherwise.
    fn jsonl_layout(&self, utc_offset_s: i32) -> Result<Layout, ConfigError> {
        for (key, set) in [
            ("delimiter", self.delimiter.is_some()),
            ("header", self.header.is_some()),
        ] {
            if set {
                return Err(config_error(
                    key,
                    "does not apply to format jsonl (one JSON object per line, fields by key)",
                ));
            }
        }
        let mut layout = self.layout(utc_offset_s)?;
        for (key, column) in layout.columns.mapped() {
            if let ColumnRef::Index(i) = column {
                return Err(config_error(
                    key,
                    format!(
                        "format jsonl names fields by key (e.g. \"user_id\" or \"event.user\"), not by position {i}"
                    ),
                ));
            }
        }
        layout.has_header = false;
        if self.null_values.is_none() {
            layout.null_values = vec![String::new()];
        }
        Ok(layout)
    }
}

fn bad_time(key: &str, text: &str) -> ConfigError {
    config_error(
        key,
        format!(
            "expected a date like 2017-11-25, a date-time like 2017-11-25T08:00:00 (RFC 3339 with a zone, 2017-11-25T08:00:00+08:00, too), or Unix seconds, found {text:?}"
        ),
    )
}

/// `+08:00`, `-0530`, `Z` → seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Option<i32> {
    if text == "Z" || text == "UTC" {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// A window or range bound in Unix seconds: Unix seconds, an RFC 3339 time with its zone,
/// or a date or date-time in `utc_offset_s`. A date as the end bound includes that whole
/// day.
fn parse_window_time(text: &str, utc_offset_s: i32, is_end: bool) -> Option<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    if let Ok(zoned) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(zoned.timestamp());
    }
    let utc = clickrec_core::parse_utc_time(text)?;
    let whole_day = is_end && NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok();
    let end_of_day = if whole_day { 86_400 } else { 0 };
    Some(utc + end_of_day - i64::from(utc_offset_s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taobao() -> InputConfig {
        InputConfig {
            path: "x.csv".into(),
            ..InputConfig::default()
        }
    }

    /// A csv mapping with the user in column `uid` and no item yet.
    fn csv_uid() -> InputConfig {
        InputConfig {
            format: FormatName::Csv,
            user_col: Some("uid".into()),
            ..taobao()
        }
    }

    #[test]
    fn the_time_range_defaults_to_1970_to_2200_and_moves() {
        let options = taobao().options().unwrap();
        assert_eq!(options.time_range, TimeWindow::DEFAULT_RANGE);
        assert_eq!(options.max_record_bytes, 1 << 20);
        let moved = InputConfig {
            earliest_time: Some("1900-01-01T00:00:00Z".into()),
            latest_time: Some("2030-06-30".into()),
            max_record_bytes: Some(4096),
            ..taobao()
        }
        .options()
        .unwrap();
        assert_eq!(moved.time_range.start, -2_208_988_800);
        // A date as the last bound keeps its whole day.
        assert_eq!(moved.time_range.end, 1_909_094_400);
        assert_eq!(moved.max_record_bytes, 4096);
        let rfc = InputConfig {
            latest_time: Some("2200-01-01T08:00:00+08:00".into()),
            ..taobao()
        };
        assert_eq!(rfc.options().unwrap().time_range, TimeWindow::DEFAULT_RANGE);
    }

    #[test]
    fn one_column_mapped_twice_names_both_keys() {
        let err = InputConfig {
            item_col: Some("uid".into()),
            ..csv_uid()
        }
        .options()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "item_col: names column \"uid\", which user_col already maps: a column holds one role"
        );
    }

    #[test]
    fn nominal_taobao_window() {
        let c = InputConfig {
            window_start: Some("2017-11-25".into()),
            window_end: Some("2017-12-03".into()),
            utc_offset: Some("+08:00".into()),
            ..taobao()
        };
        let w = c.options().unwrap().window.unwrap();
        // 2017-11-24 16:00 UTC to 2017-12-03 16:00 UTC.
        assert_eq!((w.start, w.end), (1_511_539_200, 1_512_316_800));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                InputConfig {
                    utc_offset: Some("8".into()),
                    ..taobao()
                },
                "utc_offset",
            ),
            (
                InputConfig {
                    user_col: Some("u".into()),
                    ..taobao()
                },
                "user_col",
            ),
            (
                InputConfig {
                    max_bad_rows: Some("3".into()),
                    ..taobao()
                },
                "max_bad_rows",
            ),
            (
                InputConfig {
                    window_start: Some("yesterday".into()),
                    ..taobao()
                },
                "window_start",
            ),
            (
                InputConfig {
                    window_start: Some("2017-12-03".into()),
                    window_end: Some("2017-11-25".into()),
                    ..taobao()
                },
                "window_end",
            ),
            (
                InputConfig {
                    format: FormatName::Csv,
                    ..taobao()
                },
                "user_col",
            ),
            (
                InputConfig {
                    earliest_time: Some("2200-01-01".into()),
                    ..taobao()
                },
                "latest_time",
            ),
            (
                InputConfig {
                    earliest_time: Some("soon".into()),
                    ..taobao()
                },
                "earliest_time",
            ),
            (
                InputConfig {
                    latest_time: Some("-9223372036854775808".into()),
                    ..taobao()
                },
                "latest_time",
            ),
            (
                InputConfig {
                    earliest_time: Some("-9223372036854775808".into()),
                    ..taobao()
                },
                "earliest_time",
            ),
            (
                InputConfig {
                    max_record_bytes: Some(0),
                    ..taobao()
                },
                "max_record_bytes",
            ),
            (
                InputConfig {
                    item_col: Some("i".into()),
                    time_format: Some("%Q%".into()),
                    ..csv_uid()
                },
                "time_format",
            ),
            (
                InputConfig {
                    item_col: Some("uid".into()),
                    ..csv_uid()
                },
                "item_col",
            ),
            (
                InputConfig {
                    item_col: Some("i".into()),
                    weight_col: Some("0".into()),
                    user_col: Some("0".into()),
                    ..csv_uid()
                },
                "weight_col",
            ),
        ];
        for (config, key) in cases {
            assert_eq!(config.options().unwrap_err().key, key, "{config:?}");
        }
    }

    #[test]
    fn csv_mapping_builds_a_layout() {
        let mut map = BTreeMap::new();
        map.insert(Behavior::Pv, vec!["1".to_owned()]);
        map.insert(Behavior::Buy, vec!["4".to_owned()]);
        let c = InputConfig {
            format: FormatName::Csv,
            user_col: Some("user_id".into()),
            item_col: Some("item_id".into()),
            time_col: Some("time".into()),
            behavior_col: Some("behavior_type".into()),
            category_col: Some("4".into()),
            time_format: Some("%Y-%m-%d %H".into()),
            delimiter: Some("tab".into()),
            behavior_map: Some(map),
            ..taobao()
        };
        let LogFormat::Csv(layout) = c.options().unwrap().format else {
            panic!("expected csv");
        };
        assert_eq!(layout.delimiter, b'\t');
        assert_eq!(layout.columns.category, Some(ColumnRef::Index(4)));
        assert_eq!(layout.behaviors.lookup(b"4"), Some(Behavior::Buy));
        assert_eq!(layout.time, TimeFormat::Strftime("%Y-%m-%d %H".into()));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_utc_offset("+08:00"), Some(28_800));
        assert_eq!(parse_utc_offset("-0530"), Some(-19_800));
        assert_eq!(parse_utc_offset("08:00"), None);
        assert_eq!(parse_utc_offset("+25:00"), None);
    }
}
