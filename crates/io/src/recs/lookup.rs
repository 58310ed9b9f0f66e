//! External id → dense id lookups and value parsing shared by the readers.

use std::collections::HashSet;
use std::path::Path;

use clickrec_core::{Behavior, IdMaps};
use rustc_hash::FxHashMap;

use super::error::{RecsError, ValueProblem};
use super::source::{Format, Value};

/// Marks an item that is not in the id maps.
pub(super) const UNKNOWN: u32 = u32::MAX;

/// Hash tables from external id bytes to dense ids, borrowing the id maps' text (no
/// per-id allocation).
pub(super) struct IdLookup<'a> {
    pub users: FxHashMap<&'a [u8], u32>,
    pub items: FxHashMap<&'a [u8], u32>,
}

impl<'a> IdLookup<'a> {
    pub(super) fn new(ids: &'a IdMaps) -> Self {
        fn table<'a>(
            externals: impl ExactSizeIterator<Item = &'a str>,
        ) -> FxHashMap<&'a [u8], u32> {
            let mut map = FxHashMap::with_capacity_and_hasher(externals.len(), Default::default());
            for (i, e) in externals.enumerate() {
                map.insert(e.as_bytes(), i as u32);
            }
            map
        }
        IdLookup {
            users: table(ids.users.externals()),
            items: table(ids.items.externals()),
        }
    }
}

/// Recognises runs of rows with the same user, so that a user id is looked up once per
/// run rather than once per row, and counts distinct unknown users.
#[derive(Default)]
pub(super) struct UserRuns {
    bytes: Vec<u8>,
    started: bool,
    /// The dense id of the current run's user, `None` when it is unknown.
    pub user: Option<u32>,
    unknown: HashSet<Vec<u8>>,
}

impl UserRuns {
    /// True when `bytes` starts a new run (the first row, or another user than the
    /// previous row); the caller then calls [`UserRuns::start`].
    pub(super) fn is_new(&self, bytes: &[u8]) -> bool {
        !self.started || self.bytes != bytes
    }

    /// Starts a run of `bytes`, looking the user up.
    pub(super) fn start(&mut self, bytes: &[u8], lookup: &IdLookup<'_>) -> Option<u32> {
        self.started = true;
        self.bytes.clear();
        self.bytes.extend_from_slice(bytes);
        self.user = lookup.users.get(bytes).copied();
        if self.user.is_none() && !self.unknown.contains(bytes) {
            self.unknown.insert(bytes.to_vec());
        }
        self.user
    }

    /// The distinct unknown users seen.
    pub(super) fn into_unknown(self) -> HashSet<Vec<u8>> {
        self.unknown
    }
}

/// Builds the error for a bad value.
pub(super) fn bad_value(
    path: &Path,
    format: Format,
    at: u64,
    column: &'static str,
    value: Value<'_>,
    problem: ValueProblem,
) -> RecsError {
    RecsError::BadValue {
        path: path.to_owned(),
        at: format.location(at),
        column,
        value: value.show(),
        problem,
    }
}

/// The bytes of an id value; empty and null are errors.
pub(super) fn id_bytes<'v>(value: Value<'v>) -> Result<&'v [u8], ValueProblem> {
    match value {
        Value::Text(t) if !t.is_empty() => Ok(t),
        // Slots 0 and 1 are always read as text; a number cannot reach here.
        _ => Err(ValueProblem::Empty),
    }
}

fn trimmed(text: &[u8]) -> Option<&str> {
    std::str::from_utf8(text.trim_ascii()).ok()
}

/// A rank: a whole number from 1 to `u32::MAX` (`3` and `3.0` both read as 3).
pub(super) fn parse_rank(value: Value<'_>) -> Result<u32, ValueProblem> {
    let x = match value {
        Value::Null => return Err(ValueProblem::Empty),
        Value::Num(x) => x,
        Value::Text(t) => {
            if t.trim_ascii().is_empty() {
                return Err(ValueProblem::Empty);
            }
            let text = trimmed(t).ok_or(ValueProblem::RankNotInteger)?;
            if let Ok(n) = text.parse::<u64>() {
                return rank_in_range(n as f64);
            }
            text.parse::<f64>()
                .map_err(|_| ValueProblem::RankNotInteger)?
        }
    };
    rank_in_range(x)
}

fn rank_in_range(x: f64) -> Result<u32, ValueProblem> {
    if !x.is_finite() || x.fract() != 0.0 {
        Err(ValueProblem::RankNotInteger)
    } else if x < 1.0 {
        Err(ValueProblem::RankBelowOne)
    } else if x > f64::from(u32::MAX) {
        Err(ValueProblem::RankTooLarge)
    } else {
        Ok(x as u32)
    }
}

/// A score as `f32`; empty gives `None`. Non-finite values are returned as they are.
pub(super) fn parse_score(value: Value<'_>) -> Result<Option<f32>, ValueProblem> {
    match value {
        Value::Null => Ok(None),
        Value::Num(x) => Ok(Some(x as f32)),
        Value::Text(t) => {
            if t.trim_ascii().is_empty() {
                return Ok(None);
            }
            let text = trimmed(t).ok_or(ValueProblem::ScoreNotNumber)?;
            text.parse::<f32>()
                .map(Some)
                .map_err(|_| ValueProblem::ScoreNotNumber)
        }
    }
}

/// A behaviour: `pv`, `fav`, `cart`, `buy` (Taobao and clickrec names), `view`,
/// `addtocart`, `transaction` (RetailRocket names), any letter case, or the stored codes
/// 0–3 of `events.parquet`.
pub(super) fn parse_behavior(value: Value<'_>) -> Result<Behavior, ValueProblem> {
    match value {
        Value::Null => Err(ValueProblem::Empty),
        Value::Num(x) => {
            if x.fract() == 0.0 && (0.0..=3.0).contains(&x) {
                Behavior::from_code(x as u8).ok_or(ValueProblem::UnknownBehavior)
            } else {
                Err(ValueProblem::UnknownBehavior)
            }
        }
        Value::Text(t) => {
            let t = t.trim_ascii();
            if t.is_empty() {
                return Err(ValueProblem::Empty);
            }
            const NAMES: [(&str, Behavior); 11] = [
                ("pv", Behavior::Pv),
                ("fav", Behavior::Fav),
                ("cart", Behavior::Cart),
                ("buy", Behavior::Buy),
                ("view", Behavior::Pv),
                ("addtocart", Behavior::Cart),
                ("transaction", Behavior::Buy),
                ("0", Behavior::Pv),
                ("1", Behavior::Fav),
                ("2", Behavior::Cart),
                ("3", Behavior::Buy),
            ];
            NAMES
                .iter()
                .find(|(name, _)| t.eq_ignore_ascii_case(name.as_bytes()))
                .map(|&(_, b)| b)
                .ok_or(ValueProblem::UnknownBehavior)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranks() {
        let t = |s: &str| parse_rank(Value::Text(s.as_bytes()));
        assert_eq!(t("1"), Ok(1));
        assert_eq!(t(" 7 "), Ok(7));
        assert_eq!(t("3.0"), Ok(3));
        assert_eq!(t("4294967295"), Ok(u32::MAX));
        assert_eq!(t("4294967296"), Err(ValueProblem::RankTooLarge));
        assert_eq!(t("0"), Err(ValueProblem::RankBelowOne));
        assert_eq!(t("-2"), Err(ValueProblem::RankBelowOne));
        assert_eq!(t("2.5"), Err(ValueProblem::RankNotInteger));
        assert_eq!(t("x"), Err(ValueProblem::RankNotInteger));
        assert_eq!(t("NaN"), Err(ValueProblem::RankNotInteger));
        assert_eq!(t(""), Err(ValueProblem::Empty));
        assert_eq!(parse_rank(Value::Num(2.0)), Ok(2));
        assert_eq!(parse_rank(Value::Null), Err(ValueProblem::Empty));
    }

    #[test]
    fn scores_and_behaviours() {
        assert_eq!(parse_score(Value::Text(b"0.5")), Ok(Some(0.5)));
        assert_eq!(parse_score(Value::Text(b"")), Ok(None));
        assert!(
            parse_score(Value::Text(b"inf"))
                .unwrap()
                .unwrap()
                .is_infinite()
        );
        assert_eq!(
            parse_score(Value::Text(b"high")),
            Err(ValueProblem::ScoreNotNumber)
        );
        assert_eq!(parse_behavior(Value::Text(b"BUY")), Ok(Behavior::Buy));
        assert_eq!(
            parse_behavior(Value::Text(b"addtocart")),
            Ok(Behavior::Cart)
        );
        assert_eq!(parse_behavior(Value::Num(1.0)), Ok(Behavior::Fav));
        assert_eq!(
            parse_behavior(Value::Num(4.0)),
            Err(ValueProblem::UnknownBehavior)
        );
    }
}
