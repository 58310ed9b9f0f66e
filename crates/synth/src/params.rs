//! Generator parameters: a builder with documented defaults, checked once before use.

/// The official log's window starts on 2017-11-25 00:00 in UTC+8 (Unix seconds).
pub const TAOBAO_START: i64 = 1_511_539_200;

/// Why a [`GeneratorParams`] cannot generate.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    #[error("users must be at least 1")]
    NoUsers,
    #[error("items must be at least 1")]
    NoItems,
    #[error(
        "events ({events}) must be at least users ({users}): every user gets at least one event"
    )]
    TooFewEvents { events: u64, users: u32 },
    #[error("categories must be between 1 and items ({items}), got {categories}")]
    Categories { categories: u32, items: u32 },
    #[error("{name} must be between {min} and {max}, got {value}")]
    OutOfRange {
        name: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    #[error("start must be a non-negative Unix time in seconds, got {0}")]
    NegativeStart(i64),
    #[error("{name} must be a probability in [0, 1], got {value}")]
    NotAProbability { name: &'static str, value: f64 },
    #[error("{name} must be a finite number between {min} and {max}, got {value}")]
    NotInRange {
        name: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error(
        "fav_share + cart_share + buy_share must be below 0.5 (the rest are page views), got {0}"
    )]
    BehaviorShares(f64),
    #[error("revisit_session + revisit_history must be at most 1, got {0}")]
    RevisitShares(f64),
}

macro_rules! knobs {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty = $default:expr ; )*) => {
        /// What to generate: sizes, seed, time window and the knobs of the log's shape.
        ///
        /// Build with [`GeneratorParams::default`] (the shipped sample's size) or
        /// [`GeneratorParams::taobao_scale`], change fields with the setters, then
        /// [`check`](GeneratorParams::check) to get [`CheckedParams`]. Each setter documents
        /// its default. The shape defaults were tuned against the real Taobao log (see
        /// `bench/generator-shape.md`).
        #[derive(Clone, Debug, PartialEq)]
        pub struct GeneratorParams {
            $( $name: $ty, )*
            categories: Option<u32>,
            taste_groups: Option<u32>,
        }

        impl Default for GeneratorParams {
            fn default() -> Self {
                GeneratorParams { $( $name: $default, )* categories: None, taste_groups: None }
            }
        }

        impl GeneratorParams {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }

        impl CheckedParams {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> $ty {
                    self.params.$name
                }
            )*
        }
    };
}

knobs! {
    /// Number of users (default 1,000).
    users: u32 = 1_000;
    /// Number of items in the catalogue (default 2,000); not all need to occur.
    items: u32 = 2_000;
    /// Number of rows written, exactly (default 60,000); at least `users`.
    events: u64 = 60_000;
    /// Seed of every random choice (default 42).
    seed: u64 = 42;
    /// Length of the time window in days (default 9, like the official log; 1..=366).
    days: u32 = 9;
    /// First second of the window, Unix time (default [`TAOBAO_START`]). Taken as local
    /// midnight for the daily activity curve.
    start: i64 = TAOBAO_START;
    /// Sigma of the lognormal user activity weights (default 0.85: the real log's events per
    /// user have p25/median/p90 ≈ 0.5/1/2.9 × median).
    activity_sigma: f64 = 0.85;
    /// Zipf exponent of category popularity (default 1.05).
    category_zipf: f64 = 1.05;
    /// Zipf exponent over a group's preferred categories and over a user's interests, in
    /// order of preference (default 1.0: a user's top category gets ~27 % of their events,
    /// as in the real log).
    interest_zipf: f64 = 1.0;
    /// Zipf exponent of item popularity within a category and within a group's taste
    /// (default 0.8).
    item_zipf: f64 = 0.8;
    /// Categories each taste group prefers (default 30; capped at the number of categories).
    group_categories: u32 = 30;
    /// Share of a category's items in a group's own favourites there (default 0.2; at least 1
    /// item, at most 300).
    group_item_fraction: f64 = 0.2;
    /// Probability that a fresh item pick in a group category follows the group's taste
    /// rather than global popularity (default 0.8).
    taste_share: f64 = 0.8;
    /// Probability that one of a user's interest categories is a random popular category
    /// instead of one of the group's (default 0.15).
    stray_interest: f64 = 0.15;
    /// Share of sessions drawn from global popularity instead of the user's interests
    /// (default 0.2).
    global_session_share: f64 = 0.2;
    /// A user with `n` events has about `3 + interest_scale·√n` interest categories
    /// (default 3.5).
    interest_scale: f64 = 3.5;
    /// Per-event probability of moving to another category within a session (default 0.5).
    category_switch: f64 = 0.5;
    /// Probability that a view repeats an item already viewed in the session (default 0.1).
    revisit_session: f64 = 0.1;
    /// Probability that a view repeats an item the user viewed earlier in the same
    /// category (default 0.15).
    revisit_history: f64 = 0.15;
    /// A user with `n` events has about `session_scale · n^session_exponent` sessions
    /// (default 1.4).
    session_scale: f64 = 1.4;
    /// See `session_scale` (default 0.55: in the real log 16× the events means ~4.4× the
    /// sessions).
    session_exponent: f64 = 0.55;
    /// Share of sessions that are a single event (default 0.28; a few more come out of the
    /// split).
    single_session_share: f64 = 0.28;
    /// Sigma of the lognormal weights that split a user's events into sessions (default 1.0).
    session_len_sigma: f64 = 1.0;
    /// Median gap between events of one session, seconds (default 54; gaps are capped at
    /// 1,500 s so a 30-minute sessionizer recovers the sessions).
    gap_median: f64 = 54.0;
    /// Sigma of the lognormal in-session gaps (default 1.4).
    gap_sigma: f64 = 1.4;
    /// Probability that a fav or cart is of an item the user viewed before (default 0.12).
    /// In the real log only ~14 % are: most favs and carts come before any view of the
    /// item, if one ever follows. Set 1.0 for a textbook view-then-cart funnel.
    act_on_viewed: f64 = 0.12;
    /// Expected share of `fav` rows (default 0.028).
    fav_share: f64 = 0.028;
    /// Expected share of `cart` rows (default 0.053).
    cart_share: f64 = 0.053;
    /// Expected share of `buy` rows (default 0.021).
    buy_share: f64 = 0.021;
    /// Sigma of each user's lognormal multiplier on fav/cart/buy rates (default 0.6): some
    /// users mostly browse, some buy a lot.
    intent_sigma: f64 = 0.6;
}

/// Parameters that passed [`GeneratorParams::check`]; the only kind that can generate.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedParams {
    params: GeneratorParams,
    categories: u32,
    taste_groups: u32,
}

impl GeneratorParams {
    /// The size of the official UserBehavior log: 987,994 users, 4,162,024 items,
    /// 9,439 categories, 100,150,807 events.
    pub fn taobao_scale() -> Self {
        GeneratorParams::default()
            .users(987_994)
            .items(4_162_024)
            .categories(9_439)
            .events(100_150_807)
    }

    /// Number of categories (default `4·√items`, at least 1: about 8,000 for the full
    /// catalogue, near the real 9,439).
    #[must_use]
    pub fn categories(mut self, value: u32) -> Self {
        self.categories = Some(value);
        self
    }

    /// Number of taste groups (default `√users`, at least 1).
    #[must_use]
    pub fn taste_groups(mut self, value: u32) -> Self {
        self.taste_groups = Some(value);
        self
    }

    /// Validates every field and resolves the derived defaults.
    pub fn check(&self) -> Result<CheckedParams, ParamsError> {
        let p = self;
        if p.users == 0 {
            return Err(ParamsError::NoUsers);
        }
        if p.items == 0 {
            return Err(ParamsError::NoItems);
        }
        if p.events < u64::from(p.users) {
            return Err(ParamsError::TooFewEvents {
                events: p.events,
                users: p.users,
            });
        }
        let categories = p.categories.unwrap_or_else(|| {
            let c = (4.0 * f64::from(p.items).sqrt()).round() as u32;
            c.clamp(1, p.items)
        });
        if categories == 0 || categories > p.items {
            return Err(ParamsError::Categories {
                categories,
                items: p.items,
            });
        }
        let taste_groups = p
            .taste_groups
            .unwrap_or_else(|| (f64::from(p.users).sqrt().round() as u32).max(1));
        range("taste_groups", taste_groups.into(), 1, 1_000_000)?;
        range("group_categories", p.group_categories.into(), 1, 100_000)?;
        range("days", p.days.into(), 1, 366)?;
        if p.start < 0 {
            return Err(ParamsError::NegativeStart(p.start));
        }
        for (name, value) in [
            ("group_item_fraction", p.group_item_fraction),
            ("taste_share", p.taste_share),
            ("stray_interest", p.stray_interest),
            ("global_session_share", p.global_session_share),
            ("category_switch", p.category_switch),
            ("single_session_share", p.single_session_share),
            ("revisit_session", p.revisit_session),
            ("revisit_history", p.revisit_history),
            ("act_on_viewed", p.act_on_viewed),
            ("fav_share", p.fav_share),
            ("cart_share", p.cart_share),
            ("buy_share", p.buy_share),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ParamsError::NotAProbability { name, value });
            }
        }
        // Bounds keep the float maths finite; no real log needs more.
        for (name, value, min, max) in [
            ("activity_sigma", p.activity_sigma, 0.0, 10.0),
            ("category_zipf", p.category_zipf, 0.0, 10.0),
            ("interest_zipf", p.interest_zipf, 0.0, 10.0),
            ("item_zipf", p.item_zipf, 0.0, 10.0),
            ("interest_scale", p.interest_scale, 0.0, 1_000.0),
            ("session_scale", p.session_scale, 0.0, 1_000.0),
            ("session_exponent", p.session_exponent, 0.0, 1.0),
            ("session_len_sigma", p.session_len_sigma, 0.0, 10.0),
            ("gap_median", p.gap_median, 0.0, 1_500.0),
            ("gap_sigma", p.gap_sigma, 0.0, 10.0),
            ("intent_sigma", p.intent_sigma, 0.0, 10.0),
        ] {
            if !(value >= min && value <= max) {
                return Err(ParamsError::NotInRange {
                    name,
                    value,
                    min,
                    max,
                });
            }
        }
        let shares = p.fav_share + p.cart_share + p.buy_share;
        if shares >= 0.5 {
            return Err(ParamsError::BehaviorShares(shares));
        }
        let revisits = p.revisit_session + p.revisit_history;
        if revisits > 1.0 {
            return Err(ParamsError::RevisitShares(revisits));
        }
        Ok(CheckedParams {
            params: p.clone(),
            categories,
            taste_groups,
        })
    }
}

fn range(name: &'static str, value: u64, min: u64, max: u64) -> Result<(), ParamsError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ParamsError::OutOfRange {
            name,
            value,
            min,
            max,
        })
    }
}

impl CheckedParams {
    /// Number of categories (resolved default).
    pub fn categories(&self) -> u32 {
        self.categories
    }

    /// Number of taste groups (resolved default).
    pub fn taste_groups(&self) -> u32 {
        self.taste_groups
    }

    /// One past the last second of the window.
    pub fn end(&self) -> i64 {
        self.params.start + i64::from(self.params.days) * 86_400
    }

    /// The parameters as given, e.g. to change one knob and check again.
    pub fn params(&self) -> &GeneratorParams {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_resolve() {
        let p = GeneratorParams::default()
            .check()
            .expect("defaults are valid");
        assert_eq!(
            (p.users(), p.items(), p.events(), p.seed()),
            (1000, 2000, 60_000, 42)
        );
        assert_eq!(p.days(), 9);
        assert_eq!(p.start(), 1_511_539_200);
        assert_eq!(p.end(), 1_511_539_200 + 9 * 86_400);
        assert_eq!(p.categories(), 179); // 4 * sqrt(2000)
        assert_eq!(p.taste_groups(), 32); // sqrt(1000)
        let t = GeneratorParams::taobao_scale().check().expect("valid");
        assert_eq!(t.categories(), 9_439);
        let tiny = GeneratorParams::default()
            .users(1)
            .items(1)
            .events(1)
            .check()
            .expect("valid");
        assert_eq!((tiny.categories(), tiny.taste_groups()), (1, 1));
    }

    #[test]
    fn errors_name_the_problem() {
        let base = GeneratorParams::default();
        assert_eq!(base.clone().users(0).check(), Err(ParamsError::NoUsers));
        assert_eq!(base.clone().items(0).check(), Err(ParamsError::NoItems));
        let e = base
            .clone()
            .users(10)
            .events(9)
            .check()
            .expect_err("too few events");
        assert_eq!(
            e,
            ParamsError::TooFewEvents {
                events: 9,
                users: 10
            }
        );
        assert!(e.to_string().contains("at least one event"), "{e}");
        assert!(base.clone().users(10).events(10).check().is_ok());
        assert!(matches!(
            base.clone().items(10).categories(11).check(),
            Err(ParamsError::Categories {
                categories: 11,
                items: 10
            })
        ));
        assert!(matches!(
            base.clone().categories(0).check(),
            Err(ParamsError::Categories { .. })
        ));
        assert!(matches!(
            base.clone().days(0).check(),
            Err(ParamsError::OutOfRange { name: "days", .. })
        ));
        assert!(matches!(
            base.clone().taste_groups(0).check(),
            Err(ParamsError::OutOfRange {
                name: "taste_groups",
                ..
            })
        ));
        assert_eq!(
            base.clone().start(-1).check(),
            Err(ParamsError::NegativeStart(-1))
        );
        assert!(matches!(
            base.clone().taste_share(1.5).check(),
            Err(ParamsError::NotAProbability {
                name: "taste_share",
                ..
            })
        ));
        assert!(matches!(
            base.clone().gap_sigma(f64::NAN).check(),
            Err(ParamsError::NotInRange {
                name: "gap_sigma",
                ..
            })
        ));
        assert!(matches!(
            base.clone().activity_sigma(-0.1).check(),
            Err(ParamsError::NotInRange {
                name: "activity_sigma",
                ..
            })
        ));
        assert!(matches!(
            base.clone().buy_share(0.3).cart_share(0.3).check(),
            Err(ParamsError::BehaviorShares(_))
        ));
        assert!(matches!(
            base.revisit_session(0.6).revisit_history(0.6).check(),
            Err(ParamsError::RevisitShares(_))
        ));
    }
}
