//! Seeded, byte-for-byte deterministic generator of click logs in the format of the Taobao
//! UserBehavior dataset, so the pipeline can be tested, benchmarked and shipped with data
//! we are free to redistribute.
//!
//! Each line is `user_id,item_id,category_id,behavior_type,timestamp` (no header, `\n`
//! endings; behaviour `pv`, `fav`, `cart` or `buy`; Unix seconds). Users come in ascending
//! id order, each user's rows in time order, as in the official file.
//!
//! The shape imitates the real log where recommenders care: heavy-tailed user activity,
//! Zipf-like category and item popularity, users in taste groups that prefer their own
//! categories and items (so collaborative filtering beats global popularity), sessions
//! separated by more than 30 minutes, repeat views, and the real log's funnel (most favs
//! and carts come before any view of the item; buys mostly follow a cart or a view).
//! `bench/generator-shape.md` compares it with the real log statistic by statistic.
//!
//! Same [`CheckedParams`] → same bytes, for any rayon thread count and on any IEEE-754
//! platform: the PRNG (xoshiro256** seeded by SplitMix64), the samplers and even `ln`/`exp`
//! are our own, so neither a dependency update nor the system libm can change the output.
//!
//! ```
//! use clickrec_synth::{GeneratorParams, generate};
//!
//! let params = GeneratorParams::default()
//!     .users(50)
//!     .items(300)
//!     .events(2_000)
//!     .seed(7)
//!     .check()?;
//! let mut out = Vec::new();
//! let summary = generate(&params, &mut out, &clickrec_core::NoProgress)?;
//! assert_eq!(summary.rows, 2_000);
//! let text = String::from_utf8(out)?;
//! assert_eq!(text.lines().count(), 2_000);
//! let first: Vec<&str> = text.lines().next().unwrap_or_default().split(',').collect();
//! assert_eq!(first.len(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod generate;
mod ids;
mod model;
mod params;
mod rng;
mod sample;
mod user;

pub use generate::{BEHAVIORS, GenerateError, GenerationSummary, generate};
pub use params::{CheckedParams, GeneratorParams, ParamsError, TAOBAO_START};
