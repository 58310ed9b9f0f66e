//! The event log: one row per event, stored as columns, sorted by user then time.

use std::ops::Range;

use crate::{Behavior, CategoryId, CoreError, ItemId, UserId};

/// Click-log events as columns of dense ids, always sorted by (user, timestamp).
///
/// Events of one user with the same timestamp keep the order they had in the source,
/// so every later stage sees the same order for the same input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventLog {
    users: Vec<UserId>,
    items: Vec<ItemId>,
    categories: Vec<CategoryId>,
    behaviors: Vec<Behavior>,
    /// Unix seconds.
    timestamps: Vec<i64>,
}

impl EventLog {
    /// Builds a log from equally long columns, sorting it by (user, time) when needed.
    pub fn from_columns(
        users: Vec<UserId>,
        items: Vec<ItemId>,
        categories: Vec<CategoryId>,
        behaviors: Vec<Behavior>,
        timestamps: Vec<i64>,
    ) -> Result<Self, CoreError> {
        Ok(
            Self::checked_lengths(users, items, categories, behaviors, timestamps)?
                .sorted_by_user_time(),
        )
    }

    /// Builds a log from columns that must already be sorted by (user, time), for callers
    /// whose parallel data (such as a session per row) must stay aligned with the rows.
    pub fn from_sorted_columns(
        users: Vec<UserId>,
        items: Vec<ItemId>,
        categories: Vec<CategoryId>,
        behaviors: Vec<Behavior>,
        timestamps: Vec<i64>,
    ) -> Result<Self, CoreError> {
        let log = Self::checked_lengths(users, items, categories, behaviors, timestamps)?;
        match log.first_unsorted_row() {
            Some(row) => Err(CoreError::NotSorted { row }),
            None => Ok(log),
        }
    }

    fn checked_lengths(
        users: Vec<UserId>,
        items: Vec<ItemId>,
        categories: Vec<CategoryId>,
        behaviors: Vec<Behavior>,
        timestamps: Vec<i64>,
    ) -> Result<Self, CoreError> {
        let expected = users.len();
        for (column, found) in [
            ("item", items.len()),
            ("category", categories.len()),
            ("behavior", behaviors.len()),
            ("timestamp", timestamps.len()),
        ] {
            if found != expected {
                return Err(CoreError::ColumnLength {
                    column,
                    expected,
                    found,
                });
            }
        }
        Ok(EventLog {
            users,
            items,
            categories,
            behaviors,
            timestamps,
        })
    }

    /// Returns the log sorted by (user, time), stable for equal keys.
    ///
    /// A counting sort by user followed by a per-user sort by time: linear in the rows
    /// for logs that, like most click logs, are already grouped or time-ordered.
    pub fn sorted_by_user_time(self) -> Self {
        if self.first_unsorted_row().is_none() {
            return self;
        }
        let order = self.user_time_order();
        EventLog {
            users: permute(&self.users, &order),
            items: permute(&self.items, &order),
            categories: permute(&self.categories, &order),
            behaviors: permute(&self.behaviors, &order),
            timestamps: permute(&self.timestamps, &order),
        }
    }

    /// The first row that sorts before the row above it, if any.
    fn first_unsorted_row(&self) -> Option<usize> {
        (1..self.len()).find(|&i| {
            (self.users[i - 1], self.timestamps[i - 1]) > (self.users[i], self.timestamps[i])
        })
    }

    /// Row indices in (user, time) order.
    fn user_time_order(&self) -> Vec<usize> {
        let n_users = self
            .users
            .iter()
            .map(|u| u.0 as usize + 1)
            .max()
            .unwrap_or(0);
        let mut starts = vec![0usize; n_users + 1];
        for u in &self.users {
            starts[u.0 as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut order = vec![0usize; self.len()];
        for (row, u) in self.users.iter().enumerate() {
            let slot = &mut next[u.0 as usize];
            order[*slot] = row;
            *slot += 1;
        }
        for w in starts.windows(2) {
            let segment = &mut order[w[0]..w[1]];
            if !segment.is_sorted_by_key(|&r| self.timestamps[r]) {
                segment.sort_by_key(|&r| self.timestamps[r]);
            }
        }
        order
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when the log has no events.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn users(&self) -> &[UserId] {
        &self.users
    }

    pub fn items(&self) -> &[ItemId] {
        &self.items
    }

    pub fn categories(&self) -> &[CategoryId] {
        &self.categories
    }

    pub fn behaviors(&self) -> &[Behavior] {
        &self.behaviors
    }

    /// Event times in Unix seconds.
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// Each user's rows, in user order: `(user, row range)`; users without events are absent.
    pub fn user_rows(&self) -> impl Iterator<Item = (UserId, Range<usize>)> + '_ {
        let mut start = 0;
        std::iter::from_fn(move || {
            let user = *self.users.get(start)?;
            let len = self.users[start..].partition_point(|&u| u == user);
            let range = start..start + len;
            start += len;
            Some((user, range))
        })
    }

    /// The earliest and latest timestamp, if any.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        let min = self.timestamps.iter().min()?;
        let max = self.timestamps.iter().max()?;
        Some((*min, *max))
    }

    /// Takes the columns apart: (users, items, categories, behaviors, timestamps).
    #[allow(clippy::type_complexity)]
    pub fn into_columns(
        self,
    ) -> (
        Vec<UserId>,
        Vec<ItemId>,
        Vec<CategoryId>,
        Vec<Behavior>,
        Vec<i64>,
    ) {
        (
            self.users,
            self.items,
            self.categories,
            self.behaviors,
            self.timestamps,
        )
    }
}

fn permute<T: Copy>(column: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&row| column[row]).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn log(rows: &[(u32, i64)]) -> EventLog {
        let n = rows.len();
        EventLog::from_columns(
            rows.iter().map(|r| UserId(r.0)).collect(),
            (0..n as u32).map(ItemId).collect(),
            vec![CategoryId(0); n],
            vec![Behavior::Pv; n],
            rows.iter().map(|r| r.1).collect(),
        )
        .unwrap()
    }

    #[test]
    fn rejects_ragged_columns() {
        let err = EventLog::from_columns(
            vec![UserId(0)],
            vec![],
            vec![CategoryId(0)],
            vec![Behavior::Pv],
            vec![1],
        )
        .unwrap_err();
        assert_eq!(
            err,
            CoreError::ColumnLength {
                column: "item",
                expected: 1,
                found: 0
            }
        );
    }

    #[test]
    fn sorted_constructor_rejects_unsorted_rows() {
        let cols = |ts: Vec<i64>| {
            EventLog::from_sorted_columns(
                vec![UserId(0); ts.len()],
                vec![ItemId(0); ts.len()],
                vec![CategoryId(0); ts.len()],
                vec![Behavior::Pv; ts.len()],
                ts,
            )
        };
        assert_eq!(
            cols(vec![1, 3, 2]).unwrap_err(),
            CoreError::NotSorted { row: 2 }
        );
        assert_eq!(cols(vec![1, 1, 2]).unwrap().timestamps(), &[1, 1, 2]);
    }

    #[test]
    fn user_rows_groups_users() {
        let l = log(&[(2, 5), (0, 1), (2, 3)]);
        let groups: Vec<_> = l.user_rows().collect();
        assert_eq!(groups, vec![(UserId(0), 0..1), (UserId(2), 1..3)]);
        assert_eq!(l.timestamps(), &[1, 3, 5]);
        assert_eq!(l.time_span(), Some((1, 5)));
    }

    proptest! {
        /// The counting sort agrees with a stable sort by (user, time) of (row, key) pairs.
        #[test]
        fn sort_matches_stable_sort(rows in proptest::collection::vec((0u32..6, 0i64..5), 0..60)) {
            let l = log(&rows);
            let mut expected: Vec<(u32, i64, u32)> =
                rows.iter().enumerate().map(|(i, r)| (r.0, r.1, i as u32)).collect();
            expected.sort_by_key(|e| (e.0, e.1));
            let got: Vec<(u32, i64, u32)> = (0..l.len())
                .map(|i| (l.users()[i].0, l.timestamps()[i], l.items()[i].0))
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
