//! Writing the log: users in fixed blocks, generated in parallel, written in order.

use clickrec_core::Progress;
use std::io::Write;

use rayon::prelude::*;

use crate::ids::user_external_id;
use crate::model::World;
use crate::params::CheckedParams;
use crate::rng::{Rng, Stream, exp, mix64};
use crate::sample::allocate;
use crate::user::{Scratch, UserModel};

/// Behaviour names in the order of [`GenerationSummary::behavior_counts`] (funnel order,
/// the same as `clickrec_core::Behavior` codes).
pub const BEHAVIORS: [&str; 4] = ["pv", "fav", "cart", "buy"];

/// Rows aimed for per block: big enough to amortise scheduling, small enough that a
/// window of blocks stays in a few tens of MB.
const ROWS_PER_BLOCK: u64 = 32_768;

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerationSummary {
    /// Rows written (always the `events` asked for).
    pub rows: u64,
    /// Users written (always the `users` asked for; each has at least one row).
    pub users: u64,
    /// Items that occur at least once.
    pub distinct_items: u64,
    /// Rows per behaviour, indexed like [`BEHAVIORS`].
    pub behavior_counts: [u64; 4],
    /// Smallest and largest timestamp written.
    pub first_ts: i64,
    pub last_ts: i64,
}

/// Why generation stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    #[error("writing the generated log failed after {rows} complete rows")]
    Write {
        rows: u64,
        #[source]
        source: std::io::Error,
    },
}

/// One block of users, formatted.
struct Block {
    bytes: Vec<u8>,
    rows: u64,
    behavior_counts: [u64; 4],
    items: Vec<u32>,
    first_ts: i64,
    last_ts: i64,
}

/// Writes the log for `params` to `out` and returns what was written.
///
/// Output is the same bytes for the same params whatever the rayon thread count: every
/// user's randomness comes from (seed, user index) alone, and blocks are written in user
/// order. Work runs on the current rayon pool (use `ThreadPool::install` to choose one).
/// `progress` gets the total rows at the start, the rows written so far after each block
/// (tens of thousands of rows), from the calling thread, and `finish` at the end. `out` needs no buffering: it receives
/// whole blocks.
pub fn generate<W: Write>(
    params: &CheckedParams,
    mut out: W,
    progress: &dyn Progress,
) -> Result<GenerationSummary, GenerateError> {
    progress.start(params.events());
    let world = World::build(params);
    let model = UserModel::new(&world, params);
    let events = user_events(params);
    let users = events.len();
    let mean = (params.events() / users as u64).max(1);
    let block_users = (ROWS_PER_BLOCK / mean).clamp(1, 4_096) as usize;
    let blocks = users.div_ceil(block_users);
    let window = (4 * rayon::current_num_threads()).max(2);
    let id_key = mix64(params.seed() ^ Stream::Ids as u64 ^ 0x5555);

    let make_block = |b: usize| -> Block {
        let lo = b * block_users;
        let hi = (lo + block_users).min(users);
        let rows: u64 = events[lo..hi].iter().sum();
        let mut block = Block {
            bytes: Vec::with_capacity(rows as usize * 40),
            rows,
            behavior_counts: [0; 4],
            items: Vec::with_capacity(rows as usize),
            first_ts: i64::MAX,
            last_ts: i64::MIN,
        };
        let mut scratch = Scratch::default();
        let mut fmt = itoa::Buffer::new();
        let mut user_field = Vec::with_capacity(24);
        for (u, &n) in (lo..hi).zip(&events[lo..hi]) {
            user_field.clear();
            let ext = user_external_id(u as u32, params.users(), id_key);
            user_field.extend_from_slice(fmt.format(ext).as_bytes());
            user_field.push(b',');
            let buf = &mut block.bytes;
            let counts = &mut block.behavior_counts;
            let items = &mut block.items;
            let (first, last) = (&mut block.first_ts, &mut block.last_ts);
            model.user_rows(u as u32, n, &mut scratch, &mut |item, cat, behavior, ts| {
                buf.extend_from_slice(&user_field);
                buf.extend_from_slice(fmt.format(world.item_ext[item as usize]).as_bytes());
                buf.push(b',');
                buf.extend_from_slice(fmt.format(world.cat_ext[cat as usize]).as_bytes());
                buf.push(b',');
                buf.extend_from_slice(BEHAVIORS[behavior as usize].as_bytes());
                buf.push(b',');
                buf.extend_from_slice(fmt.format(ts).as_bytes());
                buf.push(b'\n');
                counts[behavior as usize] += 1;
                items.push(item);
                *first = (*first).min(ts);
                *last = (*last).max(ts);
            });
        }
        block
    };
    let make_window = |first: usize| -> Vec<Block> {
        (first..(first + window).min(blocks))
            .into_par_iter()
            .map(&make_block)
            .collect()
    };

    let mut summary = GenerationSummary {
        rows: 0,
        users: users as u64,
        distinct_items: 0,
        behavior_counts: [0; 4],
        first_ts: i64::MAX,
        last_ts: i64::MIN,
    };
    let mut seen = vec![0u64; (params.items() as usize).div_ceil(64)];
    let mut current = make_window(0);
    let mut next_first = window;
    loop {
        // Generate the next window on the pool while this thread writes the current one.
        let mut next = None;
        let written = rayon::in_place_scope(|scope| {
            if next_first < blocks {
                scope.spawn(|_| next = Some(make_window(next_first)));
            }
            for block in &current {
                out.write_all(&block.bytes)
                    .map_err(|source| GenerateError::Write {
                        rows: summary.rows,
                        source,
                    })?;
                summary.rows += block.rows;
                for (total, n) in summary
                    .behavior_counts
                    .iter_mut()
                    .zip(block.behavior_counts)
                {
                    *total += n;
                }
                for &item in &block.items {
                    seen[item as usize / 64] |= 1 << (item % 64);
                }
                summary.first_ts = summary.first_ts.min(block.first_ts);
                summary.last_ts = summary.last_ts.max(block.last_ts);
                progress.advance_to(summary.rows);
            }
            Ok(())
        });
        written?;
        match next {
            Some(blocks) => {
                current = blocks;
                next_first += window;
            }
            None => break,
        }
    }
    out.flush().map_err(|source| GenerateError::Write {
        rows: summary.rows,
        source,
    })?;
    summary.distinct_items = seen.iter().map(|w| u64::from(w.count_ones())).sum();
    progress.finish();
    Ok(summary)
}

/// Events per user: lognormal activity weights, every user at least one, exact total.
pub(crate) fn user_events(params: &CheckedParams) -> Vec<u64> {
    let sigma = params.activity_sigma();
    let weights: Vec<f64> = (0..params.users())
        .map(|u| exp(sigma * Rng::new(params.seed(), Stream::Activity, u64::from(u)).normal()))
        .collect();
    allocate(params.events(), &weights)
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
