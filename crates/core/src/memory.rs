//! How much memory a run may ask for at once: the machine's memory, the default limit (a
//! share of it), sizes written as `8GiB`, the one check every dense buffer whose size comes
//! from a parameter passes before it is allocated (so an absurd value is an error naming
//! the bytes, not an abort of the allocator), and the cap of list lengths at the catalogue.

use std::fmt;

use thiserror::Error;

/// Share of the machine's memory a run may take by default: room for the OS and for the
/// buffers no check sees (the data itself, the allocator's slack).
pub const DEFAULT_MEMORY_SHARE: f64 = 0.8;

/// `MemTotal` of `/proc/meminfo` in bytes, or 0 where it cannot be read (not Linux).
pub fn total_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib.saturating_mul(1024))
}

/// The limit when none is given: [`DEFAULT_MEMORY_SHARE`] of `MemTotal`; no limit
/// (`u64::MAX`) where the machine's memory cannot be read, rather than refusing every fit.
pub fn default_memory_limit() -> u64 {
    match total_memory_bytes() {
        0 => u64::MAX,
        total => (total as f64 * DEFAULT_MEMORY_SHARE) as u64,
    }
}

/// A byte count as written in configs and flags: a whole number of bytes (`8589934592`),
/// or a number with a unit as the `bytesize` crate reads it: decimal `KB MB GB TB`
/// (powers of 1000) or binary `KiB MiB GiB TiB` (powers of 1024), case-insensitive, e.g.
/// `8GiB`, `1.5 GB`, `512mib`.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let expected = "expected a size in bytes like 8589934592, 8GiB, 512MiB or 1.5GB";
    let bytes = text
        .trim()
        .parse::<bytesize::ByteSize>()
        .map_err(|e| format!("{}: {expected} ({e})", crate::Excerpt(text)))?
        .as_u64();
    // bytesize saturates a product too large for u64 at u64::MAX.
    if bytes == 0 || bytes == u64::MAX {
        return Err(format!(
            "{}: must be from 1 byte to 16 EiB",
            crate::Excerpt(text)
        ));
    }
    Ok(bytes)
}

/// A byte count with its binary-unit reading, for messages: `40000000000 bytes (37.3 GiB)`.
#[derive(Clone, Copy, Debug)]
pub struct Bytes(pub u128);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let readable = bytesize::ByteSize(u64::try_from(self.0).unwrap_or(u64::MAX));
        write!(f, "{} bytes ({})", self.0, readable.display().iec())
    }
}

/// A buffer refused because it would need more memory than the run may take.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error(
    "{what} needs {} of memory, more than the limit of {}; give a smaller value, or raise the limit (--memory-limit, or [engine] memory_limit) if the machine has the memory",
    Bytes(*.bytes),
    Bytes(u128::from(*.limit))
)]
pub struct MemoryError {
    /// What would be allocated, with the sizes it follows from.
    pub what: String,
    pub bytes: u128,
    pub limit: u64,
}

/// Refuses `bytes` (computed in u128, so no product of sizes overflows) above `limit`.
/// `what` is only built on refusal.
pub fn check_memory(
    bytes: u128,
    limit: u64,
    what: impl FnOnce() -> String,
) -> Result<(), MemoryError> {
    if bytes > u128::from(limit) {
        Err(MemoryError {
            what: what(),
            bytes,
            limit,
        })
    } else {
        Ok(())
    }
}

/// A list length `n` set by `key` against the `items` of the catalogue: no list can be
/// longer, so larger values are cut to it (never allocated as asked), with a note for
/// stderr naming the key; `verb` says what is done (`recommending`, `keeping`).
pub fn cap_at_catalogue(key: &str, n: usize, items: usize, verb: &str) -> (usize, Option<String>) {
    if n > items {
        (
            items,
            Some(format!(
                "{key} = {n} is more than the {items} items; {verb} {items}\n"
            )),
        )
    } else {
        (n, None)
    }
}

/// Peak resident set size of this process so far (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak so the next reading covers one stage only (Linux ≥ 4.0; a no-op elsewhere).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_byte_size("8589934592"), Ok(8 << 30));
        assert_eq!(parse_byte_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_byte_size(" 512 mib "), Ok(512 << 20));
        assert_eq!(parse_byte_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_byte_size("10kB"), Ok(10_000));
        assert_eq!(parse_byte_size("1B"), Ok(1));
        for bad in [
            "",
            "GiB",
            "8 gigs",
            "0",
            "-1GiB",
            "1e3",
            "99999999TiB",
            "1.2.3",
        ] {
            let e = parse_byte_size(bad).unwrap_err();
            assert!(
                e.contains("expected") || e.contains("must be"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn the_check_names_what_the_bytes_and_the_limit() {
        assert_eq!(check_memory(100, 100, || unreachable!()), Ok(()));
        let e = check_memory(40_000_000_000, 1 << 30, || "ALS factors".into()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("ALS factors needs 40000000000 bytes (37.3 GiB)"),
            "{text}"
        );
        assert!(
            text.contains("limit of 1073741824 bytes (1.0 GiB)"),
            "{text}"
        );
        assert!(text.contains("--memory-limit"), "{text}");
    }

    #[test]
    fn the_default_limit_is_a_share_of_the_machine() {
        let total = total_memory_bytes();
        if cfg!(target_os = "linux") {
            assert!(total > 0, "MemTotal is read on Linux");
            let limit = default_memory_limit();
            assert!(
                limit < total && limit as f64 >= 0.79 * total as f64,
                "{limit} of {total}"
            );
        }
    }

    #[test]
    fn lengths_are_capped_at_the_catalogue_with_a_note() {
        assert_eq!(
            cap_at_catalogue("recommend.n", 10, 16, "recommending"),
            (10, None)
        );
        let (n, note) = cap_at_catalogue("recommend.n", 1_000_000_000, 16, "recommending");
        assert_eq!(n, 16);
        assert_eq!(
            note.as_deref(),
            Some("recommend.n = 1000000000 is more than the 16 items; recommending 16\n")
        );
    }
}
