//! Unix seconds as people read them.

/// `2017-11-25 00:00:00 UTC` for Unix seconds (`… (out of range)` past chrono's range).
pub fn utc_text(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ts} (out of range)"))
}
