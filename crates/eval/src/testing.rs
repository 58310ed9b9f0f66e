//! Small evaluation instances for tests, here and in `clickrec-report` (feature
//! `testing`): matrices and test sets from literal rows, lists with tied scores, and a
//! seeded random instance with an "oracle" and a "random" model.
#![allow(clippy::unwrap_used)] // test data: a bad literal should stop the test

use std::collections::BTreeSet;

use clickrec_core::{Behavior, ItemId, TestSet, UserId, UserItemMatrix};
use clickrec_recommend::Recommendations;

use crate::{CheckedEval, EvalConfig};

/// A train matrix from rows of item ids (confidence 1).
pub fn matrix(n_users: usize, n_items: usize, rows: &[&[u32]]) -> UserItemMatrix {
    UserItemMatrix::from_triples(
        n_users,
        n_items,
        rows.iter().enumerate().flat_map(|(u, items)| {
            items
                .iter()
                .map(move |&i| (UserId(u as u32), ItemId(i), 1.0))
        }),
    )
    .unwrap()
}

/// Items with at least one train user.
pub fn seen_in_train(train: &UserItemMatrix) -> Vec<bool> {
    let mut seen = vec![false; train.n_items()];
    for &i in train.csr().indices() {
        seen[i as usize] = true;
    }
    seen
}

/// One test user: (user, cold, test events).
pub type TestSpec<'a> = (u32, bool, &'a [(u32, Behavior)]);

/// A test set from `(user, cold, events)`, users increasing.
pub fn test_set(train: &UserItemMatrix, users: &[TestSpec]) -> TestSet {
    let seen = seen_in_train(train);
    let mut b = TestSet::builder(&seen);
    for &(user, cold, events) in users {
        b.push_user(
            UserId(user),
            cold,
            events.iter().map(|&(i, behavior)| (ItemId(i), behavior)),
        )
        .unwrap();
    }
    b.finish()
}

/// Lists with equal scores (ties everywhere: only positions count).
pub fn recs(lists: &[(u32, &[u32])]) -> Recommendations {
    let mut r = Recommendations::new();
    for &(user, items) in lists {
        r.push(UserId(user), items.iter().map(|&i| (ItemId(i), 1.0)))
            .unwrap();
    }
    r
}

pub fn config(ks: &[usize], bootstrap_samples: usize) -> CheckedEval {
    EvalConfig {
        ks: ks.to_vec(),
        bootstrap_samples,
        ..EvalConfig::default()
    }
    .check()
    .unwrap()
}

/// A random instance: train rows, test targets, and two models' lists ("oracle" puts
/// most targets near the top, "random" does not).
#[derive(Debug)]
pub struct Synthetic {
    pub train: UserItemMatrix,
    pub test: TestSet,
    pub events: Vec<u32>,
    pub models: Vec<(String, Recommendations)>,
}

pub fn synthetic(n_users: usize, n_items: usize, list_len: usize, seed: u64) -> Synthetic {
    let mut g = clickrec_core::SplitMix64::stream(seed, 0);
    let mut rows: Vec<Vec<u32>> = Vec::with_capacity(n_users);
    for _ in 0..n_users {
        let n = g.below_exact(12) as usize;
        // Skewed popularity: low item ids are popular.
        let row: BTreeSet<u32> = (0..n)
            .map(|_| {
                let a = g.below_exact(n_items as u64);
                let b = g.below_exact(n_items as u64);
                a.min(b) as u32
            })
            .collect();
        rows.push(row.into_iter().collect());
    }
    let row_refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let train = matrix(n_users, n_items, &row_refs);
    let events: Vec<u32> = rows
        .iter()
        .map(|r| (r.len() as u32) * (1 + g.below_exact(20) as u32))
        .collect();
    let seen = seen_in_train(&train);
    let mut builder = TestSet::builder(&seen);
    for u in 0..n_users {
        if g.below_exact(10) < 2 {
            continue;
        }
        let n = 1 + g.below_exact(5);
        let events: Vec<(ItemId, Behavior)> = (0..n)
            .map(|_| {
                let item = if g.below_exact(3) == 0 && !rows[u].is_empty() {
                    rows[u][g.below_exact(rows[u].len() as u64) as usize]
                } else {
                    g.below_exact(n_items as u64) as u32
                };
                let behavior = match g.below_exact(10) {
                    0 => Behavior::Buy,
                    1 => Behavior::Cart,
                    2 => Behavior::Fav,
                    _ => Behavior::Pv,
                };
                (ItemId(item), behavior)
            })
            .collect();
        builder
            .push_user(UserId(u as u32), rows[u].is_empty(), events)
            .unwrap();
    }
    let test = builder.finish();
    let mut models = Vec::new();
    for (name, oracle) in [("oracle", true), ("random", false)] {
        let mut r = Recommendations::new();
        for u in 0..n_users as u32 {
            if g.below_exact(20) == 0 {
                continue; // some users without a list
            }
            let mut list: Vec<u32> = Vec::new();
            if oracle && let Some(t) = test.find(UserId(u)) {
                for item in t.targets {
                    if g.below_exact(10) < 7 {
                        list.push(item.0);
                    }
                }
            }
            while list.len() < list_len.min(n_items) {
                let i = g.below_exact(n_items as u64) as u32;
                if !list.contains(&i) {
                    list.push(i);
                }
            }
            r.push(UserId(u), list.iter().map(|&i| (ItemId(i), 0.0)))
                .unwrap();
        }
        models.push((name.to_owned(), r));
    }
    Synthetic {
        train,
        test,
        events,
        models,
    }
}

/// Equal up to floating-point rounding.
#[track_caller]
pub fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0),
        "{actual} != {expected}"
    );
}
