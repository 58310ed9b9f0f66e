//! Validation of one row's fields into event values; shared by the text and Parquet readers.

use chrono::format::{Item, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};
use clickrec_core::{Behavior, BehaviorMapping};

use crate::error::IngestError;
use crate::format::{IdRule, Layout, TimeFormat};
use crate::options::TimeWindow;
use crate::rejection::RejectReason;

/// Field positions and value rules for one input, resolved against its header.
#[derive(Debug)]
pub(crate) struct RowSpec {
    pub field_count: usize,
    /// The field the user id comes from: the session field when the log has no user.
    pub user: usize,
    /// The session field of a log with both a user and a session column.
    pub session: Option<usize>,
    /// True for a session-only log: the user id *is* the session.
    pub sessions_are_users: bool,
    pub item: usize,
    pub category: Option<usize>,
    pub behavior: Option<usize>,
    /// Without a time column every event has time 0.
    pub time: Option<usize>,
    pub weight: Option<usize>,
    /// A printable name per field position, for messages.
    pub names: Vec<String>,
    null_values: Vec<Vec<u8>>,
    ids: IdRule,
    time_parser: TimeParser,
    behaviors: BehaviorMapping,
    window: Option<TimeWindow>,
    /// Times outside are bad rows whatever the window.
    range: TimeWindow,
}

/// An id as found in a row: its external bytes, and the number they spell when they are
/// a canonical decimal integer (no sign, no leading zero). Parsed once, by the check,
/// and hashed as that number by the interning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawId<'a> {
    pub bytes: &'a [u8],
    pub integer: Option<u64>,
}

impl<'a> RawId<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        RawId::parsed(bytes, parse_u64(bytes))
    }

    /// `bytes` with `parsed`, their value as [`parse_u64`] gives it.
    fn parsed(bytes: &'a [u8], parsed: Option<u64>) -> Self {
        let leading_zero = bytes.len() > 1 && bytes[0] == b'0';
        RawId {
            bytes,
            integer: parsed.filter(|_| !leading_zero),
        }
    }
}

/// The values of a valid row. Ids are still the external bytes.
#[derive(Debug)]
pub(crate) struct RowValues<'a> {
    /// `None` for an anonymous event (a null user with a session): its session is its
    /// user.
    pub user: Option<RawId<'a>>,
    /// Only for a log with both a user and a session column.
    pub session: Option<RawId<'a>>,
    pub item: RawId<'a>,
    pub category: RawId<'a>,
    pub behavior: Behavior,
    /// Whole Unix seconds (rounded down).
    pub timestamp: i64,
    /// The sub-second part of the time, in nanoseconds.
    pub subsec_nanos: u32,
    /// The weight column's value (positive and finite), when the layout has one.
    pub weight: Option<f32>,
}

/// Why a row is bad: the reason, the field position it is in, and what was found.
#[derive(Debug)]
pub(crate) struct RowError {
    pub reason: RejectReason,
    pub field: Option<usize>,
    pub value: String,
}

/// Positions of the mapped columns, resolved by the caller against a header or schema.
#[derive(Debug)]
pub(crate) struct Positions {
    /// At least one of `user` and `session` is set (checked by [`RowSpec::new`]).
    pub user: Option<usize>,
    pub session: Option<usize>,
    pub item: usize,
    pub category: Option<usize>,
    pub behavior: Option<usize>,
    pub time: Option<usize>,
    pub weight: Option<usize>,
}

impl RowSpec {
    pub fn new(
        layout: &Layout,
        positions: Positions,
        names: Vec<String>,
        window: Option<TimeWindow>,
        range: TimeWindow,
    ) -> Result<Self, IngestError> {
        let (user, session) = match (positions.user, positions.session) {
            (Some(u), s) => (u, s),
            (None, Some(s)) => (s, None),
            (None, None) => return Err(IngestError::NoUserOrSession),
        };
        Ok(RowSpec {
            field_count: names.len(),
            user,
            session,
            sessions_are_users: positions.user.is_none(),
            item: positions.item,
            category: positions.category,
            behavior: positions.behavior,
            time: positions.time,
            weight: positions.weight,
            names,
            null_values: layout
                .null_values
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect(),
            ids: layout.ids,
            time_parser: TimeParser::new(&layout.time, layout.utc_offset_s)?,
            behaviors: layout.behaviors.clone(),
            window,
            range,
        })
    }

    /// Validates a row. `utf8_known_valid` skips the per-field UTF-8 check when the caller
    /// already checked the whole block.
    pub fn check<'a>(
        &self,
        fields: &[&'a [u8]],
        utf8_known_valid: bool,
    ) -> Result<RowValues<'a>, RowError> {
        if fields.len() != self.field_count {
            return Err(RowError {
                reason: RejectReason::WrongFieldCount,
                field: None,
                value: format!("{} fields, expected {}", fields.len(), self.field_count),
            });
        }
        if !utf8_known_valid
            && let Some(field) = fields.iter().position(|f| std::str::from_utf8(f).is_err())
        {
            return Err(self.error(RejectReason::InvalidUtf8, field, fields[field]));
        }
        // A null user with a session is an anonymous visitor: the session is the user.
        let user = match self.session {
            Some(_) if self.is_null(fields[self.user]) => None,
            _ => Some(self.id(fields, self.user)?),
        };
        let session = self.session.map(|s| self.id(fields, s)).transpose()?;
        let item = self.id(fields, self.item)?;
        let category = match self.category {
            Some(c) if !self.is_null(fields[c]) => self.id(fields, c)?,
            _ => RawId::new(b""),
        };
        let behavior = match self.behavior {
            Some(b) => self
                .behaviors
                .lookup(fields[b])
                .ok_or_else(|| self.error(RejectReason::UnknownBehavior, b, fields[b]))?,
            None => Behavior::Pv,
        };
        let (timestamp, subsec_nanos) = match self.time {
            Some(at) => {
                let raw_time = fields[at];
                let (timestamp, subsec_nanos) = self
                    .time_parser
                    .parse(raw_time)
                    .ok_or_else(|| self.error(RejectReason::BadTimestamp, at, raw_time))?;
                if !self.range.contains(timestamp) {
                    return Err(self.error(RejectReason::TimeOutOfRange, at, raw_time));
                }
                if let Some(w) = self.window
                    && !w.contains(timestamp)
                {
                    return Err(self.error(RejectReason::OutOfWindow, at, raw_time));
                }
                (timestamp, subsec_nanos)
            }
            None => (0, 0),
        };
        let weight = self
            .weight
            .map(|at| self.weight_of(fields, at))
            .transpose()?;
        Ok(RowValues {
            user,
            session,
            item,
            category,
            behavior,
            timestamp,
            subsec_nanos,
            weight,
        })
    }

    fn is_null(&self, raw: &[u8]) -> bool {
        self.null_values.iter().any(|v| v == raw)
    }

    /// A weight: a finite number above zero (a zero would make the event vanish from
    /// training while it still counts in history and targets).
    fn weight_of(&self, fields: &[&[u8]], at: usize) -> Result<f32, RowError> {
        let raw = fields[at];
        std::str::from_utf8(raw)
            .ok()
            .and_then(|t| t.trim().parse::<f32>().ok())
            .filter(|w| w.is_finite() && *w > 0.0)
            .ok_or_else(|| self.error(RejectReason::BadWeight, at, raw))
    }

    fn id<'a>(&self, fields: &[&'a [u8]], at: usize) -> Result<RawId<'a>, RowError> {
        let raw = fields[at];
        if !raw.is_empty() && self.is_null(raw) {
            return Err(self.error(RejectReason::NullId, at, raw));
        }
        if raw.is_empty() {
            return Err(self.error(RejectReason::EmptyId, at, raw));
        }
        let parsed = parse_u64(raw);
        if self.ids == IdRule::Integer && parsed.is_none() {
            return Err(self.error(RejectReason::BadId, at, raw));
        }
        Ok(RawId::parsed(raw, parsed))
    }

    fn error(&self, reason: RejectReason, field: usize, raw: &[u8]) -> RowError {
        RowError {
            reason,
            field: Some(field),
            value: String::from_utf8_lossy(raw).into_owned(),
        }
    }
}

/// A non-negative decimal integer that fits in `u64`.
pub(crate) fn parse_u64(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || raw.len() > 20 {
        return None;
    }
    raw.iter().try_fold(0u64, |acc, &b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// A decimal time `[-]digits[.digits]` in units of `10^-unit_exp` seconds (0 for seconds,
/// 3 for milliseconds) → (whole seconds rounded down, nanoseconds into that second).
/// Fraction digits finer than a nanosecond are checked but not kept.
fn parse_decimal_time(raw: &[u8], unit_exp: u32) -> Option<(i64, u32)> {
    let (negative, rest) = match raw.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (whole, fraction): (&[u8], &[u8]) = match memchr::memchr(b'.', rest) {
        Some(dot) if dot + 1 < rest.len() => (&rest[..dot], &rest[dot + 1..]),
        Some(_) => return None,
        None => (rest, &[]),
    };
    let whole = i128::from(parse_u64(whole)?);
    // Nanoseconds per unit, and how many fraction digits fit in a nanosecond.
    let fraction_digits = 9 - unit_exp as usize;
    let nanos_per_unit = 10i128.pow(9 - unit_exp);
    let mut fraction_nanos = 0i128;
    for (i, &b) in fraction.iter().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        if i < fraction_digits {
            fraction_nanos = fraction_nanos * 10 + i128::from(digit);
        }
    }
    let kept = fraction.len().min(fraction_digits) as u32;
    fraction_nanos *= 10i128.pow(fraction_digits as u32 - kept);
    let mut nanos = whole * nanos_per_unit + fraction_nanos;
    if negative {
        nanos = -nanos;
    }
    let seconds = i64::try_from(nanos.div_euclid(NANOS_PER_SECOND)).ok()?;
    let subsec = u32::try_from(nanos.rem_euclid(NANOS_PER_SECOND)).ok()?;
    Some((seconds, subsec))
}

/// True when chrono understands every specifier of `pattern` (`%Q` or a lone `%` at the
/// end it does not). Checked with the configuration, so a bad pattern is a usage error
/// before any data is read.
pub(crate) fn is_valid_strftime(pattern: &str) -> bool {
    !StrftimeItems::new(pattern).any(|i| matches!(i, Item::Error))
}

/// How much of a date-time a strftime pattern carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternPrecision {
    /// Date, hour and minute (seconds optional): parsed as is.
    Full,
    /// Date and hour only (`%Y-%m-%d %H`): minutes are taken as 0.
    Hour,
    /// Date only: midnight.
    Date,
}

#[derive(Debug)]
enum TimeParser {
    Seconds,
    Millis,
    Pattern {
        pattern: String,
        precision: PatternPrecision,
        utc_offset_s: i64,
    },
}

impl TimeParser {
    fn new(format: &TimeFormat, utc_offset_s: i32) -> Result<Self, IngestError> {
        Ok(match format {
            TimeFormat::UnixSeconds => TimeParser::Seconds,
            TimeFormat::UnixMillis => TimeParser::Millis,
            TimeFormat::Strftime(pattern) => {
                if !is_valid_strftime(pattern) {
                    return Err(IngestError::BadTimePattern {
                        pattern: pattern.clone(),
                    });
                }
                let has = |specs: &[&str]| specs.iter().any(|s| pattern.contains(s));
                let precision = if has(&["%M", "%R", "%T", "%X", "%c", "%s", "%+"]) {
                    PatternPrecision::Full
                } else if has(&["%H", "%I", "%k", "%l"]) {
                    PatternPrecision::Hour
                } else {
                    PatternPrecision::Date
                };
                TimeParser::Pattern {
                    pattern: pattern.clone(),
                    precision,
                    utc_offset_s: i64::from(utc_offset_s),
                }
            }
        })
    }

    /// Unix seconds (rounded down) and the nanoseconds into that second, or `None` when
    /// the text does not fit the format.
    fn parse(&self, raw: &[u8]) -> Option<(i64, u32)> {
        match self {
            TimeParser::Seconds => parse_decimal_time(raw, 0),
            TimeParser::Millis => parse_decimal_time(raw, 3),
            TimeParser::Pattern {
                pattern,
                precision,
                utc_offset_s,
            } => {
                let text = std::str::from_utf8(raw).ok()?;
                let local = match precision {
                    PatternPrecision::Full => NaiveDateTime::parse_from_str(text, pattern).ok()?,
                    PatternPrecision::Hour => NaiveDateTime::parse_from_str(
                        &format!("{text}\u{1f}00"),
                        &format!("{pattern}\u{1f}%M"),
                    )
                    .ok()?,
                    PatternPrecision::Date => NaiveDate::parse_from_str(text, pattern)
                        .ok()?
                        .and_hms_opt(0, 0, 0)?,
                };
                let utc = local.and_utc();
                Some((utc.timestamp() - utc_offset_s, utc.timestamp_subsec_nanos()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::LogFormat;
    use proptest::prelude::*;

    fn taobao_spec(window: Option<TimeWindow>) -> RowSpec {
        taobao_spec_in(window, TimeWindow::DEFAULT_RANGE)
    }

    fn taobao_spec_in(window: Option<TimeWindow>, range: TimeWindow) -> RowSpec {
        let layout = LogFormat::Taobao.layout();
        let names = layout.field_names.clone().expect("taobao names its fields");
        let positions = Positions {
            user: Some(0),
            session: None,
            item: 1,
            category: Some(2),
            behavior: Some(3),
            time: Some(4),
            weight: None,
        };
        RowSpec::new(&layout, positions, names, window, range).unwrap()
    }

    fn check(spec: &RowSpec, line: &str) -> Result<(RejectReason, Option<usize>, String), ()> {
        let fields: Vec<&[u8]> = line.as_bytes().split(|&b| b == b',').collect();
        match spec.check(&fields, false) {
            Ok(_) => Err(()),
            Err(e) => Ok((e.reason, e.field, e.value)),
        }
    }

    #[test]
    fn accepts_a_taobao_row() {
        let spec = taobao_spec(None);
        let fields: Vec<&[u8]> = vec![b"1", b"2268318", b"2520377", b"pv", b"1511544070"];
        let v = spec.check(&fields, true).unwrap();
        let user = v.user.unwrap();
        assert_eq!(
            (user.bytes, v.item.bytes, v.category.bytes),
            (&b"1"[..], &b"2268318"[..], &b"2520377"[..])
        );
        assert_eq!(
            (user.integer, v.item.integer, v.category.integer),
            (Some(1), Some(2_268_318), Some(2_520_377))
        );
        assert_eq!(
            (v.behavior, v.timestamp, v.subsec_nanos),
            (Behavior::Pv, 1_511_544_070, 0)
        );
    }

    #[test]
    fn names_the_first_problem() {
        let spec = taobao_spec(Some(TimeWindow {
            start: 100,
            end: 200,
        }));
        let cases = [
            (
                "1,2,3,pv",
                (RejectReason::WrongFieldCount, None, "4 fields, expected 5"),
            ),
            (",2,3,pv,150", (RejectReason::EmptyId, Some(0), "")),
            ("1,x2,3,pv,150", (RejectReason::BadId, Some(1), "x2")),
            ("1,2,-3,pv,150", (RejectReason::BadId, Some(2), "-3")),
            (
                "1,2,3,click,150",
                (RejectReason::UnknownBehavior, Some(3), "click"),
            ),
            ("1,2,3,pv,15O", (RejectReason::BadTimestamp, Some(4), "15O")),
            ("1,2,3,pv,99", (RejectReason::OutOfWindow, Some(4), "99")),
            ("1,2,3,pv,200", (RejectReason::OutOfWindow, Some(4), "200")),
            ("1,2,3,pv,-1", (RejectReason::TimeOutOfRange, Some(4), "-1")),
            (
                "1,2,3,pv,-9223372036854775808",
                (
                    RejectReason::TimeOutOfRange,
                    Some(4),
                    "-9223372036854775808",
                ),
            ),
            (
                "1,2,3,pv,9223372036854775807",
                (RejectReason::TimeOutOfRange, Some(4), "9223372036854775807"),
            ),
        ];
        for (line, (reason, field, value)) in cases {
            assert_eq!(
                check(&spec, line),
                Ok((reason, field, value.to_owned())),
                "{line}"
            );
        }
        assert!(
            check(&spec, "1,2,3,pv,100").is_err(),
            "window start is inclusive"
        );
    }

    /// `user,session,item,category,time,weight` with `NA` and `""` as null values.
    fn anonymous_spec() -> RowSpec {
        let layout = Layout {
            null_values: vec!["NA".into(), String::new()],
            ..LogFormat::Taobao.layout()
        };
        let names = ["user", "session", "item", "category", "time", "weight"]
            .map(String::from)
            .to_vec();
        let positions = Positions {
            user: Some(0),
            session: Some(1),
            item: 2,
            category: Some(3),
            behavior: None,
            time: Some(4),
            weight: Some(5),
        };
        RowSpec::new(&layout, positions, names, None, TimeWindow::DEFAULT_RANGE).unwrap()
    }

    #[test]
    fn null_users_with_a_session_are_anonymous() {
        let spec = anonymous_spec();
        let fields: Vec<&[u8]> = vec![b"NA", b"77", b"5", b"NA", b"10", b"2.5"];
        let v = spec.check(&fields, false).unwrap();
        assert!(v.user.is_none());
        assert_eq!(v.session.unwrap().bytes, b"77");
        assert_eq!((v.category.bytes, v.weight), (&b""[..], Some(2.5)));
        let cases = [
            ("1,NA,5,3,10,1", (RejectReason::NullId, Some(1), "NA")),
            ("1,7,NA,3,10,1", (RejectReason::NullId, Some(2), "NA")),
            ("1,7,5,3,10,0", (RejectReason::BadWeight, Some(5), "0")),
            ("1,7,5,3,10,-2", (RejectReason::BadWeight, Some(5), "-2")),
            ("1,7,5,3,10,NaN", (RejectReason::BadWeight, Some(5), "NaN")),
            (
                "1,7,5,3,10,lots",
                (RejectReason::BadWeight, Some(5), "lots"),
            ),
        ];
        for (line, (reason, field, value)) in cases {
            assert_eq!(
                check(&spec, line),
                Ok((reason, field, value.to_owned())),
                "{line}"
            );
        }
    }

    #[test]
    fn the_time_range_bounds_every_time_format() {
        let spec = taobao_spec(None);
        let at = |t: &str| check(&spec, &format!("1,2,3,pv,{t}")).ok().map(|e| e.0);
        assert_eq!(
            at("0"),
            None,
            "1970-01-01T00:00:00Z is the first accepted time"
        );
        assert_eq!(at("7258118399"), None, "the last second of 2199");
        assert_eq!(at("7258118400"), Some(RejectReason::TimeOutOfRange));
        assert_eq!(at("-0.5"), Some(RejectReason::TimeOutOfRange));
        let narrow = taobao_spec_in(None, TimeWindow { start: 10, end: 20 });
        assert_eq!(
            check(&narrow, "1,2,3,pv,20").map(|e| e.0),
            Ok(RejectReason::TimeOutOfRange)
        );
        assert!(check(&narrow, "1,2,3,pv,19").is_err(), "19 is kept");
    }

    #[test]
    fn invalid_utf8_is_found_per_field() {
        let spec = taobao_spec(None);
        let fields: Vec<&[u8]> = vec![b"1", b"2", b"3", b"p\xffv", b"5"];
        let e = spec.check(&fields, false).unwrap_err();
        assert_eq!((e.reason, e.field), (RejectReason::InvalidUtf8, Some(3)));
    }

    #[test]
    fn strftime_patterns_with_offsets() {
        let hourly =
            TimeParser::new(&TimeFormat::Strftime("%Y-%m-%d %H".into()), 8 * 3600).unwrap();
        // 2014-12-06 02:00 at UTC+8 is 2014-12-05 18:00 UTC.
        assert_eq!(hourly.parse(b"2014-12-06 02"), Some((1_417_802_400, 0)));
        let full = TimeParser::new(&TimeFormat::Strftime("%Y-%m-%dT%H:%M:%S".into()), 0).unwrap();
        assert_eq!(full.parse(b"1970-01-01T00:01:05"), Some((65, 0)));
        assert_eq!(full.parse(b"1970-01-01"), None);
        let fine =
            TimeParser::new(&TimeFormat::Strftime("%Y-%m-%d %H:%M:%S%.f".into()), 0).unwrap();
        assert_eq!(
            fine.parse(b"1970-01-01 00:01:05.250"),
            Some((65, 250_000_000))
        );
        let date = TimeParser::new(&TimeFormat::Strftime("%d/%m/%Y".into()), 0).unwrap();
        assert_eq!(date.parse(b"02/01/1970"), Some((86_400, 0)));
        assert!(TimeParser::new(&TimeFormat::Strftime("%Q".into()), 0).is_err());
        assert!(!is_valid_strftime("%Q%") && !is_valid_strftime("%Y-%m-%d %"));
        assert!(is_valid_strftime("%Y-%m-%d %H:%M:%S%.f"));
        assert_eq!(TimeParser::Millis.parse(b"1999"), Some((1, 999_000_000)));
        assert_eq!(TimeParser::Millis.parse(b"-1"), Some((-1, 999_000_000)));
    }

    #[test]
    fn fractional_seconds_and_milliseconds() {
        let s = TimeParser::Seconds;
        assert_eq!(
            s.parse(b"1396437466.94"),
            Some((1_396_437_466, 940_000_000))
        );
        assert_eq!(s.parse(b"1396437466"), Some((1_396_437_466, 0)));
        assert_eq!(s.parse(b"5.000000000999"), Some((5, 0)));
        assert_eq!(s.parse(b"-1.5"), Some((-2, 500_000_000)));
        let ms = TimeParser::Millis;
        assert_eq!(
            ms.parse(b"1396437466940.5"),
            Some((1_396_437_466, 940_500_000))
        );
        for bad in [
            &b""[..],
            b".5",
            b"5.",
            b"1.2.3",
            b"1e9",
            b"1,5",
            b"-",
            b"- 1",
            b"+1",
        ] {
            assert_eq!(s.parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        #[test]
        fn integers_round_trip(v in any::<u64>(), s in any::<i64>()) {
            prop_assert_eq!(parse_u64(v.to_string().as_bytes()), Some(v));
            prop_assert_eq!(parse_decimal_time(s.to_string().as_bytes(), 0), Some((s, 0)));
        }

        /// Decimal seconds agree with exact arithmetic on the written digits.
        #[test]
        fn decimal_seconds_round_trip(whole in 0i64..4_000_000_000, nanos in 0u32..1_000_000_000) {
            let text = format!("{whole}.{nanos:09}");
            prop_assert_eq!(parse_decimal_time(text.as_bytes(), 0), Some((whole, nanos)));
            let negative = format!("-{text}");
            let total = -(i128::from(whole) * NANOS_PER_SECOND + i128::from(nanos));
            prop_assert_eq!(
                parse_decimal_time(negative.as_bytes(), 0),
                Some((
                    total.div_euclid(NANOS_PER_SECOND) as i64,
                    total.rem_euclid(NANOS_PER_SECOND) as u32
                ))
            );
        }

        #[test]
        fn non_digits_are_never_integers(text in "[0-9]{0,5}[^0-9][0-9]{0,5}") {
            prop_assert_eq!(parse_u64(text.as_bytes()), None);
        }
    }
}
