//! Shopper behaviours and the mapping from a source log's own values onto them.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// What a shopper did with an item, in funnel order. Stored as one byte per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Behavior {
    /// Page view / click.
    Pv = 0,
    /// Favourite (collect).
    Fav = 1,
    /// Add to cart.
    Cart = 2,
    /// Purchase.
    Buy = 3,
}

impl Behavior {
    /// All behaviours in funnel order; `ALL[b.code()] == b`.
    pub const ALL: [Behavior; 4] = [Behavior::Pv, Behavior::Fav, Behavior::Cart, Behavior::Buy];

    /// The one-byte code stored in event logs.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The behaviour with the given stored code.
    pub fn from_code(code: u8) -> Option<Behavior> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The canonical lowercase name (`pv`, `fav`, `cart`, `buy`).
    pub fn name(self) -> &'static str {
        match self {
            Behavior::Pv => "pv",
            Behavior::Fav => "fav",
            Behavior::Cart => "cart",
            Behavior::Buy => "buy",
        }
    }

    /// True for the behaviours that count as a conversion (cart, buy).
    pub fn is_conversion(self) -> bool {
        matches!(self, Behavior::Cart | Behavior::Buy)
    }
}

impl std::fmt::Display for Behavior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Behavior {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        Behavior::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| CoreError::UnknownBehaviorName(s.to_owned()))
    }
}

/// Event counts per behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviorCounts {
    pub pv: u64,
    pub fav: u64,
    pub cart: u64,
    pub buy: u64,
}

impl BehaviorCounts {
    /// Counts the behaviours of a column.
    pub fn of(behaviors: &[Behavior]) -> Self {
        let mut by_code = [0u64; 4];
        for b in behaviors {
            by_code[usize::from(b.code())] += 1;
        }
        let [pv, fav, cart, buy] = by_code;
        BehaviorCounts { pv, fav, cart, buy }
    }

    /// Sum over all behaviours.
    pub fn total(&self) -> u64 {
        self.pv + self.fav + self.cart + self.buy
    }
}

/// Which raw values of a source's behaviour column mean which [`Behavior`].
///
/// Sources name behaviours differently (Taobao `pv`, RetailRocket `view`, Tianchi `1`);
/// the mapping is matched byte for byte, so it costs a few comparisons per row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviorMapping {
    entries: Vec<(String, Behavior)>,
}

impl BehaviorMapping {
    /// A mapping from explicit `(raw value, behaviour)` pairs.
    pub fn new(entries: impl IntoIterator<Item = (String, Behavior)>) -> Self {
        BehaviorMapping {
            entries: entries.into_iter().collect(),
        }
    }

    /// Taobao UserBehavior: `pv`, `fav`, `cart`, `buy`.
    pub fn taobao() -> Self {
        Self::new(Behavior::ALL.map(|b| (b.name().to_owned(), b)))
    }

    /// RetailRocket: `view`, `addtocart`, `transaction` (it has no favourites).
    pub fn retailrocket() -> Self {
        Self::new([
            ("view".to_owned(), Behavior::Pv),
            ("addtocart".to_owned(), Behavior::Cart),
            ("transaction".to_owned(), Behavior::Buy),
        ])
    }

    /// The behaviour a raw value stands for, if any.
    pub fn lookup(&self, raw: &[u8]) -> Option<Behavior> {
        self.entries
            .iter()
            .find(|(name, _)| name.as_bytes() == raw)
            .map(|&(_, b)| b)
    }

    /// The raw values, in mapping order, for messages.
    pub fn raw_values(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _)| name.as_str())
    }

    /// The `(raw value, behaviour)` pairs.
    pub fn entries(&self) -> &[(String, Behavior)] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for b in Behavior::ALL {
            assert_eq!(Behavior::from_code(b.code()), Some(b));
            assert_eq!(b.name().parse::<Behavior>(), Ok(b));
        }
        assert_eq!(Behavior::from_code(4), None);
        assert!("view".parse::<Behavior>().is_err());
    }

    #[test]
    fn mappings_match_exact_bytes() {
        let rr = BehaviorMapping::retailrocket();
        assert_eq!(rr.lookup(b"addtocart"), Some(Behavior::Cart));
        assert_eq!(rr.lookup(b"AddToCart"), None);
        assert_eq!(
            BehaviorMapping::taobao().lookup(b"buy"),
            Some(Behavior::Buy)
        );
    }

    #[test]
    fn counts_by_behavior() {
        let c = BehaviorCounts::of(&[Behavior::Pv, Behavior::Pv, Behavior::Buy]);
        assert_eq!((c.pv, c.fav, c.cart, c.buy, c.total()), (2, 0, 0, 1, 3));
    }
}
