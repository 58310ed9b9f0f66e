//! Popularity: the same ranking for every user, by behaviour-weighted event counts.
//!
//! An item's score is the sum, over the train events on it, of the confidence weight of
//! the event's behaviour (`TrainData::behavior_weights`, e.g. pv 1, fav 2, cart 3, buy 4).
//! With `window_days`, only the events of the last `window_days` days before the latest
//! train event count ("trending"); without it, all train events count.
//!
//! Only items with a score > 0 are recommended, best first; ties go to the lower item id
//! (the shared top-N). Seen-item exclusion and candidate filters are the shared ones of
//! `clickrec_core`, so a user gets the most popular items they have not seen yet.
//!
//! ```toml
//! [models.popularity]
//! window_days = 7.0   # optional; default: all time
//!
//! [models.popularity_recent]   # the same model over the last day, as a second baseline
//! window_days = 1.0            # default 1
//! ```

mod fit;
mod params;

pub use fit::Popularity;
pub use params::{CheckedPopularity, PopularityParams, RecentPopularityParams};

#[cfg(test)]
mod tests;
