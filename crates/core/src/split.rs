//! The held-out ground truth of a split, as the evaluator reads it.
//!
//! A [`TestSet`] lists every test user (increasing [`UserId`]) with two target sets:
//! the distinct items of the user's test events, and the distinct items of its cart/buy
//! test events (the "conversion" variant). Items never seen in training cannot be
//! recommended by a collaborative model, so they are dropped from the targets and
//! counted. Both sets are stored CSR-style: one offsets array, one item array.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{Behavior, ItemId, UserId};

/// A test set that cannot be built or loaded as given.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TestSetError {
    /// Users must be added in strictly increasing id order.
    #[error("test user {user} added after user {previous}: users must strictly increase")]
    UserOrder { previous: UserId, user: UserId },
    /// A test event names an item outside the item space of the train log.
    #[error("test item {item} is outside the {n_items} items of the id space")]
    ItemOutOfRange { item: ItemId, n_items: usize },
    /// Loaded data whose parts do not fit together.
    #[error("test set is inconsistent: {0}")]
    Inconsistent(String),
}

/// Totals of a test set, for reports. All target counts are `(user, item)` pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSetCounts {
    /// Users with at least one test event.
    pub test_users: u64,
    /// Test users without any train event (temporal splits); reported separately.
    pub cold_users: u64,
    /// Targets kept (distinct items per user, seen in train).
    pub targets: u64,
    /// Targets dropped because their item never occurs in train.
    pub dropped_targets: u64,
    /// Test users left with no target at all (the evaluator skips and counts them).
    pub users_without_targets: u64,
    /// Conversion (cart/buy) targets kept.
    pub conversion_targets: u64,
    /// Conversion targets dropped because their item never occurs in train.
    pub dropped_conversion_targets: u64,
    /// Test users with at least one conversion target.
    pub users_with_conversion_targets: u64,
}

/// How much a split lets models learn from the future of its test users: for each test
/// user, the share of *all* train events (any user's) stamped at or after that user's
/// first test event. A per-user split (last session) has such events whenever users'
/// test sessions are spread out in time; a global cutoff has none. A measured property,
/// not a pass/fail check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Leakage {
    /// Mean over test users of (train events with time ≥ the user's first test event) /
    /// (all train events).
    pub future_train_events_share_mean: f64,
    /// The largest of those shares.
    pub future_train_events_share_max: f64,
    /// Test users with at least one such train event.
    pub test_users_with_future_train_events: u64,
    /// Test users measured.
    pub test_users: u64,
}

impl Leakage {
    /// Measures the leakage of a split: `train_times` are the train events' timestamps in
    /// any order, `first_test_times` the first test timestamp of each test user.
    pub fn measure(train_times: &[i64], first_test_times: impl IntoIterator<Item = i64>) -> Self {
        let mut sorted = train_times.to_vec();
        rayon::slice::ParallelSliceMut::par_sort_unstable(sorted.as_mut_slice());
        let n = sorted.len();
        let mut leakage = Leakage::default();
        let mut sum = 0f64;
        for t in first_test_times {
            let future = n - sorted.partition_point(|&x| x < t);
            let share = if n == 0 {
                0.0
            } else {
                future as f64 / n as f64
            };
            sum += share;
            leakage.future_train_events_share_max =
                leakage.future_train_events_share_max.max(share);
            leakage.test_users_with_future_train_events += u64::from(future > 0);
            leakage.test_users += 1;
        }
        if leakage.test_users > 0 {
            leakage.future_train_events_share_mean = sum / leakage.test_users as f64;
        }
        leakage
    }
}

impl std::fmt::Display for Leakage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "leakage: a test user's first test event precedes on average {:.2}% (max {:.2}%) of all train events; {} of {} test users have train events from other users at or after it",
            100.0 * self.future_train_events_share_mean,
            100.0 * self.future_train_events_share_max,
            self.test_users_with_future_train_events,
            self.test_users
        )
    }
}

/// One test user's ground truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestUser<'a> {
    pub user: UserId,
    /// No train events: a model can only fall back to non-personal scores.
    pub cold: bool,
    /// Distinct items of the test events, increasing.
    pub targets: &'a [ItemId],
    /// Distinct items of the cart/buy test events, increasing.
    pub conversion_targets: &'a [ItemId],
}

/// Held-out targets per test user; see the module docs. Serialized as its columns,
/// which are checked to fit together when read back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TestSetColumns")]
pub struct TestSet(TestSetColumns);

/// The columns of a [`TestSet`], as serialized: unchecked until they become one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestSetColumns {
    users: Vec<UserId>,
    cold: Vec<bool>,
    /// `targets[target_offsets[k]..target_offsets[k + 1]]` belong to `users[k]`.
    target_offsets: Vec<usize>,
    targets: Vec<ItemId>,
    conversion_offsets: Vec<usize>,
    conversion_targets: Vec<ItemId>,
    counts: TestSetCounts,
}

impl TestSet {
    /// A builder that drops targets whose item is not marked in `seen_in_train`
    /// (indexed by item id; its length is the item-id space).
    pub fn builder(seen_in_train: &[bool]) -> TestSetBuilder<'_> {
        TestSetBuilder {
            seen_in_train,
            set: TestSetColumns {
                target_offsets: vec![0],
                conversion_offsets: vec![0],
                ..TestSetColumns::default()
            },
            scratch: Vec::new(),
        }
    }

    /// Number of test users.
    pub fn len(&self) -> usize {
        self.0.users.len()
    }

    /// True when no user has test events.
    pub fn is_empty(&self) -> bool {
        self.0.users.is_empty()
    }

    /// Test users, increasing.
    pub fn users(&self) -> &[UserId] {
        &self.0.users
    }

    /// The `k`-th test user (in increasing user order). Panics if `k >= len()`.
    pub fn get(&self, k: usize) -> TestUser<'_> {
        TestUser {
            user: self.0.users[k],
            cold: self.0.cold[k],
            targets: &self.0.targets[self.0.target_offsets[k]..self.0.target_offsets[k + 1]],
            conversion_targets: &self.0.conversion_targets
                [self.0.conversion_offsets[k]..self.0.conversion_offsets[k + 1]],
        }
    }

    /// The ground truth of `user`, if it is a test user.
    pub fn find(&self, user: UserId) -> Option<TestUser<'_>> {
        self.0.users.binary_search(&user).ok().map(|k| self.get(k))
    }

    /// All test users in increasing user order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = TestUser<'_>> + '_ {
        (0..self.len()).map(|k| self.get(k))
    }

    /// Totals for reports.
    pub fn counts(&self) -> &TestSetCounts {
        &self.0.counts
    }

    /// Renames every target by `rename`, which must keep the order of ids (targets stay
    /// sorted), e.g. into a compacted item id space.
    pub fn rename_items(&mut self, rename: impl Fn(ItemId) -> ItemId) {
        self.0
            .targets
            .iter_mut()
            .for_each(|item| *item = rename(*item));
        self.0
            .conversion_targets
            .iter_mut()
            .for_each(|item| *item = rename(*item));
    }
}

/// Builds a [`TestSet`] one user at a time; see [`TestSet::builder`].
#[derive(Debug)]
pub struct TestSetBuilder<'a> {
    seen_in_train: &'a [bool],
    set: TestSetColumns,
    /// `(item, is conversion)` of the current user, reused across users.
    scratch: Vec<(ItemId, bool)>,
}

impl TestSetBuilder<'_> {
    /// Adds the next test user (ids strictly increasing) from its test events. `cold`
    /// says the user has no train events. Duplicate items collapse; unseen items are
    /// dropped and counted.
    pub fn push_user(
        &mut self,
        user: UserId,
        cold: bool,
        events: impl IntoIterator<Item = (ItemId, Behavior)>,
    ) -> Result<(), TestSetError> {
        if let Some(&previous) = self.set.users.last()
            && previous >= user
        {
            return Err(TestSetError::UserOrder { previous, user });
        }
        let n_items = self.seen_in_train.len();
        let all = &mut self.scratch;
        all.clear();
        for (item, behavior) in events {
            if item.0 as usize >= n_items {
                return Err(TestSetError::ItemOutOfRange { item, n_items });
            }
            all.push((item, behavior.is_conversion()));
        }
        // One sort serves both sets: an item's conversion events sort after its others.
        all.sort_unstable();
        let set = &mut self.set;
        let counts = &mut set.counts;
        let mut last_target = None;
        let mut last_conversion = None;
        for &(item, conversion) in all.iter() {
            let seen = self.seen_in_train[item.0 as usize];
            if last_target != Some(item) {
                last_target = Some(item);
                if seen {
                    set.targets.push(item);
                    counts.targets += 1;
                } else {
                    counts.dropped_targets += 1;
                }
            }
            if conversion && last_conversion != Some(item) {
                last_conversion = Some(item);
                if seen {
                    set.conversion_targets.push(item);
                    counts.conversion_targets += 1;
                } else {
                    counts.dropped_conversion_targets += 1;
                }
            }
        }
        counts.test_users += 1;
        counts.cold_users += u64::from(cold);
        if set.targets.len() == *set.target_offsets.last().unwrap_or(&0) {
            counts.users_without_targets += 1;
        }
        if set.conversion_targets.len() > *set.conversion_offsets.last().unwrap_or(&0) {
            counts.users_with_conversion_targets += 1;
        }
        set.users.push(user);
        set.cold.push(cold);
        set.target_offsets.push(set.targets.len());
        set.conversion_offsets.push(set.conversion_targets.len());
        Ok(())
    }

    /// The finished test set.
    pub fn finish(self) -> TestSet {
        TestSet(self.set)
    }
}

impl TryFrom<TestSetColumns> for TestSet {
    type Error = TestSetError;

    fn try_from(raw: TestSetColumns) -> Result<Self, TestSetError> {
        let bad = |m: String| Err(TestSetError::Inconsistent(m));
        let n = raw.users.len();
        if raw.users.windows(2).any(|w| w[0] >= w[1]) {
            return bad("users are not strictly increasing".into());
        }
        if raw.cold.len() != n {
            return bad(format!("{} cold flags for {n} users", raw.cold.len()));
        }
        for (name, offsets, items) in [
            ("target", &raw.target_offsets, &raw.targets),
            (
                "conversion",
                &raw.conversion_offsets,
                &raw.conversion_targets,
            ),
        ] {
            if offsets.len() != n + 1
                || offsets.first() != Some(&0)
                || offsets.last() != Some(&items.len())
                || offsets.windows(2).any(|w| w[0] > w[1])
            {
                return bad(format!("{name} offsets do not delimit {n} users"));
            }
            if offsets
                .windows(2)
                .any(|w| items[w[0]..w[1]].windows(2).any(|p| p[0] >= p[1]))
            {
                return bad(format!(
                    "{name} items of a user are not strictly increasing"
                ));
            }
        }
        let c = &raw.counts;
        let empty = raw
            .target_offsets
            .windows(2)
            .filter(|w| w[0] == w[1])
            .count();
        let with_conversions = raw
            .conversion_offsets
            .windows(2)
            .filter(|w| w[0] < w[1])
            .count();
        let derived = [
            ("test_users", c.test_users, n),
            (
                "cold_users",
                c.cold_users,
                raw.cold.iter().filter(|&&x| x).count(),
            ),
            ("targets", c.targets, raw.targets.len()),
            (
                "conversion_targets",
                c.conversion_targets,
                raw.conversion_targets.len(),
            ),
            ("users_without_targets", c.users_without_targets, empty),
            (
                "users_with_conversion_targets",
                c.users_with_conversion_targets,
                with_conversions,
            ),
        ];
        for (name, stated, actual) in derived {
            if stated != actual as u64 {
                return bad(format!(
                    "counts.{name} is {stated}, the data holds {actual}"
                ));
            }
        }
        Ok(TestSet(raw))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use Behavior::*;

    fn sample() -> TestSet {
        // items 0..4; item 3 never seen in train
        let seen = [true, true, true, false];
        let mut b = TestSet::builder(&seen);
        b.push_user(
            UserId(1),
            false,
            [
                (ItemId(2), Pv),
                (ItemId(0), Buy),
                (ItemId(2), Cart),
                (ItemId(3), Buy),
            ],
        )
        .unwrap();
        b.push_user(UserId(4), true, [(ItemId(3), Pv)]).unwrap();
        b.push_user(UserId(7), false, [(ItemId(1), Fav), (ItemId(1), Pv)])
            .unwrap();
        b.finish()
    }

    #[test]
    fn targets_are_distinct_sorted_and_drop_unseen_items() {
        let t = sample();
        let u1 = t.find(UserId(1)).unwrap();
        assert_eq!(u1.targets, &[ItemId(0), ItemId(2)]);
        assert_eq!(u1.conversion_targets, &[ItemId(0), ItemId(2)]);
        assert!(!u1.cold);
        let u4 = t.find(UserId(4)).unwrap();
        assert!(u4.cold && u4.targets.is_empty());
        assert_eq!(t.find(UserId(7)).unwrap().targets, &[ItemId(1)]);
        assert!(t.find(UserId(2)).is_none());
        assert_eq!(
            *t.counts(),
            TestSetCounts {
                test_users: 3,
                cold_users: 1,
                targets: 3,
                dropped_targets: 2,
                users_without_targets: 1,
                conversion_targets: 2,
                dropped_conversion_targets: 1,
                users_with_conversion_targets: 1,
            }
        );
    }

    #[test]
    fn builder_rejects_misuse() {
        let seen = [true];
        let mut b = TestSet::builder(&seen);
        b.push_user(UserId(3), false, []).unwrap();
        assert_eq!(
            b.push_user(UserId(3), false, []),
            Err(TestSetError::UserOrder {
                previous: UserId(3),
                user: UserId(3)
            })
        );
        assert_eq!(
            b.push_user(UserId(4), false, [(ItemId(1), Pv)]),
            Err(TestSetError::ItemOutOfRange {
                item: ItemId(1),
                n_items: 1
            })
        );
    }

    #[test]
    fn leakage_counts_train_events_at_or_after_each_first_test_event() {
        // Train times 1..=10; users' first test events at 11 (nothing later), 6 (6..=10: 5
        // events) and 10 (one event at the same second counts).
        let train: Vec<i64> = (1..=10).rev().collect();
        let l = Leakage::measure(&train, [11, 6, 10]);
        assert_eq!(l.test_users, 3);
        assert_eq!(l.test_users_with_future_train_events, 2);
        assert!((l.future_train_events_share_max - 0.5).abs() < 1e-12);
        assert!((l.future_train_events_share_mean - 0.6 / 3.0).abs() < 1e-12);
        assert_eq!(Leakage::measure(&train, []), Leakage::default());
    }

    #[test]
    fn json_round_trip_checks_consistency() {
        let t = sample();
        let json = serde_json::to_string(&t).unwrap();
        let back: TestSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        let broken = json.replace("\"test_users\":3", "\"test_users\":4");
        let err = serde_json::from_str::<TestSet>(&broken)
            .unwrap_err()
            .to_string();
        assert!(err.contains("counts.test_users"), "{err}");
        let unsorted = json.replace("\"users\":[1,4,7]", "\"users\":[4,1,7]");
        assert_ne!(unsorted, json);
        let err = serde_json::from_str::<TestSet>(&unsorted)
            .unwrap_err()
            .to_string();
        assert!(err.contains("strictly increasing"), "{err}");
    }
}
