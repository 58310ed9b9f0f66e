//! Recent: the user's own latest distinct items, by recency and frequency. The simplest
//! baseline for shoppers who come back to what they looked at; it only lists items the
//! user has in train, so it can hit repeat targets only (the pipeline's recommend stage
//! keeps seen items in its lists whatever `exclude_seen` says).
//!
//! An item's score for a user is Σ over the user's train events on it of
//! `0.5^(age / half_life)`, where `age` is the time from the event to the user's latest
//! train event: the latest item scores about 1 per visit, an item seen often long ago
//! less. Only the `max_items` best items per user are kept; ties go to the lower item id
//! (the shared top-N). A user without train events gets no list.
//!
//! ```toml
//! [models.recent]
//! half_life_hours = 24.0   # default 24
//! max_items = 100          # default 100
//! ```

mod fit;
mod params;

pub use fit::Recent;
pub use params::{CheckedRecent, RecentParams};

#[cfg(test)]
mod tests;
