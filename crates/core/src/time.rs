//! Unix seconds as people read them.

/// `2017-11-25 00:00:00 UTC` for Unix seconds (`… (out of range)` past chrono's range).
pub fn utc_text(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ts} (out of range)"))
}

/// Unix seconds of a UTC date (`2017-12-03`, midnight) or date-time (`2017-12-03 12:00:00`,
/// also with a `T`, seconds optional), as configs give a cutoff or a time window.
pub fn parse_utc_time(text: &str) -> Option<i64> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    }
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|p| chrono::NaiveDateTime::parse_from_str(text, p).ok())
    .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_read_as_utc_and_print_back() {
        assert_eq!(parse_utc_time("2017-12-03"), Some(1_512_259_200));
        assert_eq!(parse_utc_time("2017-12-03 01:00:00"), Some(1_512_262_800));
        assert_eq!(parse_utc_time("2017-12-03T01:00"), Some(1_512_262_800));
        assert_eq!(parse_utc_time("03/12/2017"), None);
        assert_eq!(utc_text(1_512_262_800), "2017-12-03 01:00:00 UTC");
        assert!(utc_text(i64::MAX).ends_with("(out of range)"));
    }
}
