//! Iterative k-core on the bipartite graph of distinct (user, item) pairs: what is left
//! when every user has at least `min_items_per_user` distinct items and every item at
//! least `min_users_per_item` distinct users. The core is unique, so the removal order
//! does not change the result.

use std::num::NonZeroU32;

use clickrec_core::EventLog;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, positive};
use crate::report::KCoreDetails;
use rayon::prelude::*;

use crate::rows::{Bitset, item_space, par_chunks, retain_rows, user_runs, user_space};

/// `[prep.kcore]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KCoreConfig {
    /// Every kept user has at least this many distinct items. Default 1 (no
    /// constraint); 0 is an error.
    pub min_items_per_user: u32,
    /// Every kept item has at least this many distinct users. Default 1 (no
    /// constraint); 0 is an error.
    pub min_users_per_item: u32,
}

impl Default for KCoreConfig {
    fn default() -> Self {
        KCoreConfig {
            min_items_per_user: 1,
            min_users_per_item: 1,
        }
    }
}

impl KCoreConfig {
    /// `None` when both minimums are 1 (every user and item is already in the 1-core).
    pub fn check(&self) -> Result<Option<KCoreParams>, ConfigError> {
        const EXPECTED: &str = "at least 1 (1 means no constraint)";
        let params = KCoreParams {
            min_items_per_user: positive(
                "prep.kcore.min_items_per_user",
                self.min_items_per_user,
                EXPECTED,
            )?,
            min_users_per_item: positive(
                "prep.kcore.min_users_per_item",
                self.min_users_per_item,
                EXPECTED,
            )?,
        };
        Ok(
            (params.min_items_per_user.get() > 1 || params.min_users_per_item.get() > 1)
                .then_some(params),
        )
    }
}

/// The two minimums of the k-core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KCoreParams {
    pub min_items_per_user: NonZeroU32,
    pub min_users_per_item: NonZeroU32,
}

/// Keeps the events whose user and item are both in the core.
///
/// Builds the distinct items of each user once (CSR over users), then peels in rounds:
/// a round removes every user and item below its minimum. Dying users lower the degree
/// of their items directly; for dying items, one scan over the pairs of the users
/// still alive counts what each lost. That scan is sequential and reads a bitset that
/// fits in cache, which on large logs is much faster than building the item→users
/// transpose (random writes over the whole pair array): a round costs O(pairs), and
/// real logs need a handful of rounds.
pub fn k_core(log: EventLog, params: &KCoreParams) -> (EventLog, KCoreDetails) {
    let n_users = user_space(&log);
    let n_items = item_space(&log);
    let min_u = params.min_items_per_user.get();
    let min_i = params.min_users_per_item.get();

    // Distinct items per user, CSR over user ids.
    let items_col = log.items();
    let parts = par_chunks(log.users(), |rows| {
        let mut lens = Vec::new();
        let mut items: Vec<u32> = Vec::with_capacity(rows.len());
        for run in user_runs(log.users(), rows) {
            let start = items.len();
            items.extend(items_col[run.clone()].iter().map(|i| i.0));
            items[start..].sort_unstable();
            let mut w = start;
            for r in start..items.len() {
                if r == start || items[r] != items[w - 1] {
                    items[w] = items[r];
                    w += 1;
                }
            }
            items.truncate(w);
            lens.push((log.users()[run.start].0, (w - start) as u32));
        }
        (lens, items)
    });
    let mut user_deg = vec![0u32; n_users];
    let mut user_items: Vec<u32> = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
    for (lens, items) in parts {
        for (u, len) in lens {
            user_deg[u as usize] = len;
        }
        user_items.extend_from_slice(&items);
    }
    let user_ptr = prefix_sums(&user_deg);
    let pairs_in = user_items.len() as u64;
    let mut item_deg = vec![0u32; n_items];
    for &i in &user_items {
        item_deg[i as usize] += 1;
    }

    // Degrees count neighbours still alive. Ids absent from the log have degree 0 and
    // never die; a node whose degree falls to 0 has no pairs left, so it is gone without
    // a round of its own.
    let mut user_alive: Vec<bool> = user_deg.iter().map(|&d| d > 0).collect();
    let mut item_alive = Bitset::new(n_items);
    for (i, &d) in item_deg.iter().enumerate() {
        if d > 0 {
            item_alive.insert(i);
        }
    }
    let mut died_now = Bitset::new(n_items);
    let mut rounds = 0u32;
    loop {
        let dying_users: Vec<usize> = (0..n_users)
            .filter(|&u| user_alive[u] && user_deg[u] > 0 && user_deg[u] < min_u)
            .collect();
        let dying_items: Vec<usize> = (0..n_items)
            .filter(|&i| item_alive.contains(i) && item_deg[i] > 0 && item_deg[i] < min_i)
            .collect();
        if dying_users.is_empty() && dying_items.is_empty() {
            break;
        }
        rounds += 1;
        for &u in &dying_users {
            user_alive[u] = false;
            for &i in &user_items[user_ptr[u]..user_ptr[u + 1]] {
                item_deg[i as usize] -= 1;
            }
        }
        if dying_items.is_empty() {
            continue;
        }
        died_now.clear();
        for &i in &dying_items {
            item_alive.remove(i);
            died_now.insert(i);
        }
        const USERS_PER_TASK: usize = 4096;
        user_deg
            .par_chunks_mut(USERS_PER_TASK)
            .zip(user_alive.par_chunks(USERS_PER_TASK))
            .enumerate()
            .for_each(|(chunk, (degrees, alive))| {
                for (k, (deg, &alive)) in degrees.iter_mut().zip(alive).enumerate() {
                    if alive {
                        let u = chunk * USERS_PER_TASK + k;
                        let lost = user_items[user_ptr[u]..user_ptr[u + 1]]
                            .iter()
                            .filter(|&&i| died_now.contains(i as usize))
                            .count();
                        *deg -= lost as u32;
                    }
                }
            });
    }
    let pairs_out: u64 = (0..n_users)
        .filter(|&u| user_alive[u])
        .map(|u| u64::from(user_deg[u]))
        .sum();
    drop(user_items);
    let keep: Vec<bool> = log
        .users()
        .iter()
        .zip(log.items())
        .map(|(u, i)| user_alive[u.0 as usize] && item_alive.contains(i.0 as usize))
        .collect();
    let details = KCoreDetails {
        rounds,
        pairs_in,
        pairs_out,
    };
    (retain_rows(log, &keep), details)
}

fn prefix_sums(degrees: &[u32]) -> Vec<usize> {
    let mut ptr = Vec::with_capacity(degrees.len() + 1);
    let mut total = 0usize;
    ptr.push(0);
    for &d in degrees {
        total += d as usize;
        ptr.push(total);
    }
    ptr
}
