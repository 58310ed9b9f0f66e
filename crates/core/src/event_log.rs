//! The event log: one row per event, stored as columns, sorted by user then time.

use std::ops::Range;

use crate::{Behavior, CategoryId, CoreError, ItemId, SessionId, UserId};

/// Click-log events as columns of dense ids, always sorted by (user, timestamp).
///
/// Events of one user with the same timestamp keep the order they had in the source
/// (or the order of their sub-second times, see [`EventColumns::subsec_nanos`]), so every
/// later stage sees the same order for the same input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventLog {
    users: Vec<UserId>,
    items: Vec<ItemId>,
    categories: Vec<CategoryId>,
    behaviors: Vec<Behavior>,
    /// Unix seconds.
    timestamps: Vec<i64>,
    /// The session of each row as named by the input, when the input has a session column.
    sessions: Option<Vec<SessionId>>,
    /// A confidence per row (a play count, a rating) from the input's weight column,
    /// multiplied with the behaviour's weight; without one every event weighs 1.
    weights: Option<Vec<f32>>,
}

/// Columns of events as read from a source, in any order: the input of
/// [`EventLog::from_event_columns`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventColumns {
    pub users: Vec<UserId>,
    pub items: Vec<ItemId>,
    pub categories: Vec<CategoryId>,
    pub behaviors: Vec<Behavior>,
    /// Unix seconds (rounded down).
    pub timestamps: Vec<i64>,
    /// The sub-second part of each time in nanoseconds, or empty when the source has none.
    /// It only orders events within a second and is not kept: times stay whole seconds.
    pub subsec_nanos: Vec<u32>,
    /// The session of each row, when the source names sessions.
    pub sessions: Option<Vec<SessionId>>,
    /// The weight of each row, when the source has a weight column.
    pub weights: Option<Vec<f32>>,
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
        Self::from_event_columns(EventColumns {
            users,
            items,
            categories,
            behaviors,
            timestamps,
            ..EventColumns::default()
        })
    }

    /// Builds a log from a source's columns, sorted by (user, time, sub-second time) with
    /// equal keys in their source order; the given sessions move with their rows.
    pub fn from_event_columns(columns: EventColumns) -> Result<Self, CoreError> {
        let (log, subsec_nanos) = Self::checked_columns(columns)?;
        Ok(log.sorted_by_user_time(&subsec_nanos))
    }

    /// Builds a log from columns that must already be sorted by (user, time), for callers
    /// whose parallel data (such as a session per row) must stay aligned with the rows.
    /// Sub-second times, if given, are only checked for their length.
    pub fn from_sorted_columns(columns: EventColumns) -> Result<Self, CoreError> {
        let (log, _) = Self::checked_columns(columns)?;
        match log.first_unsorted_row() {
            Some(row) => Err(CoreError::NotSorted { row }),
            None => Ok(log),
        }
    }

    /// The log of equally long `columns`, rows in their given order, and its sub-second
    /// times (empty or one per row): what both constructors check before ordering.
    fn checked_columns(columns: EventColumns) -> Result<(Self, Vec<u32>), CoreError> {
        let EventColumns {
            users,
            items,
            categories,
            behaviors,
            timestamps,
            subsec_nanos,
            sessions,
            weights,
        } = columns;
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
        let log = EventLog {
            users,
            items,
            categories,
            behaviors,
            timestamps,
            sessions: None,
            weights: None,
        };
        if !subsec_nanos.is_empty() && subsec_nanos.len() != log.len() {
            return Err(CoreError::ColumnLength {
                column: "sub-second time",
                expected: log.len(),
                found: subsec_nanos.len(),
            });
        }
        let log = match sessions {
            Some(sessions) => log.with_given_sessions(sessions)?,
            None => log,
        };
        let log = match weights {
            Some(weights) => log.with_weights(weights)?,
            None => log,
        };
        Ok((log, subsec_nanos))
    }

    /// Attaches the input's session of each row (rows already in their final order).
    pub fn with_given_sessions(mut self, sessions: Vec<SessionId>) -> Result<Self, CoreError> {
        self.check_column("session", sessions.len())?;
        self.sessions = Some(sessions);
        Ok(self)
    }

    /// Takes the given sessions out of the log (e.g. once sessions are numbered).
    pub fn take_given_sessions(&mut self) -> Option<Vec<SessionId>> {
        self.sessions.take()
    }

    /// The session of each row as named by the input, if it has a session column.
    pub fn given_sessions(&self) -> Option<&[SessionId]> {
        self.sessions.as_deref()
    }

    /// Attaches a weight per row (rows already in their final order).
    pub fn with_weights(mut self, weights: Vec<f32>) -> Result<Self, CoreError> {
        self.check_column("weight", weights.len())?;
        self.weights = Some(weights);
        Ok(self)
    }

    /// An extra column of `len` rows must have one value per row of the log.
    fn check_column(&self, column: &'static str, len: usize) -> Result<(), CoreError> {
        if len == self.len() {
            return Ok(());
        }
        Err(CoreError::ColumnLength {
            column,
            expected: self.len(),
            found: len,
        })
    }

    /// Takes the weight column out of the log.
    pub fn take_weights(&mut self) -> Option<Vec<f32>> {
        self.weights.take()
    }

    /// The weight of each row from the input's weight column, if it has one.
    pub fn weights(&self) -> Option<&[f32]> {
        self.weights.as_deref()
    }

    /// The confidence of row `row`: its behaviour's weight (`by_behavior`, indexed by
    /// [`Behavior::code`]) times the row's own weight, if the log has a weight column.
    pub fn event_weight(&self, row: usize, by_behavior: &[f32; 4]) -> f32 {
        let base = by_behavior[usize::from(self.behaviors[row].code())];
        match &self.weights {
            Some(w) => base * w[row],
            None => base,
        }
    }

    /// Returns the log sorted by (user, time), stable for equal keys.
    ///
    /// A counting sort by user followed by a per-user sort by time: linear in the rows
    /// for logs that, like most click logs, are already grouped or time-ordered.
    /// `subsec_nanos` (empty, or one value per row) orders rows within a second.
    fn sorted_by_user_time(self, subsec_nanos: &[u32]) -> Self {
        let subsec = |row: usize| subsec_nanos.get(row).copied().unwrap_or(0);
        let key = |row: usize| (self.users[row], self.timestamps[row], subsec(row));
        if (1..self.len()).all(|i| key(i - 1) <= key(i)) {
            return self;
        }
        let order = self.user_time_order(&subsec);
        EventLog {
            users: permute(&self.users, &order),
            items: permute(&self.items, &order),
            categories: permute(&self.categories, &order),
            behaviors: permute(&self.behaviors, &order),
            timestamps: permute(&self.timestamps, &order),
            sessions: self.sessions.as_deref().map(|s| permute(s, &order)),
            weights: self.weights.as_deref().map(|w| permute(w, &order)),
        }
    }

    /// The first row that sorts before the row above it, if any.
    fn first_unsorted_row(&self) -> Option<usize> {
        (1..self.len()).find(|&i| {
            (self.users[i - 1], self.timestamps[i - 1]) > (self.users[i], self.timestamps[i])
        })
    }

    /// Row indices in (user, time, sub-second time) order.
    fn user_time_order(&self, subsec: &impl Fn(usize) -> u32) -> Vec<usize> {
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
        let time = |r: &usize| (self.timestamps[*r], subsec(*r));
        for w in starts.windows(2) {
            let segment = &mut order[w[0]..w[1]];
            if !segment.is_sorted_by_key(time) {
                segment.sort_by_key(time);
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

    /// Renames every row's item by `rename` (e.g. into a compacted item id space).
    /// Rows, their order and every other column stay as they are.
    pub fn rename_items(&mut self, rename: impl Fn(ItemId) -> ItemId) {
        self.items.iter_mut().for_each(|item| *item = rename(*item));
    }

    /// The earliest and latest timestamp, if any.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        let min = self.timestamps.iter().min()?;
        let max = self.timestamps.iter().max()?;
        Some((*min, *max))
    }

    /// Takes the columns apart: (users, items, categories, behaviors, timestamps). The
    /// given sessions and weights, if any, are dropped: take them first with
    /// [`Self::take_given_sessions`] and [`Self::take_weights`].
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
            EventLog::from_sorted_columns(EventColumns {
                users: vec![UserId(0); ts.len()],
                items: vec![ItemId(0); ts.len()],
                categories: vec![CategoryId(0); ts.len()],
                behaviors: vec![Behavior::Pv; ts.len()],
                timestamps: ts,
                ..EventColumns::default()
            })
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

    #[test]
    fn sub_second_times_order_rows_within_a_second_and_sessions_follow() {
        // User 0 has three events in second 10, written out of sub-second order, and
        // two with equal times (file order kept).
        let log = EventLog::from_event_columns(EventColumns {
            users: vec![UserId(0); 5],
            items: (0..5).map(ItemId).collect(),
            categories: vec![CategoryId(0); 5],
            behaviors: vec![Behavior::Pv; 5],
            timestamps: vec![10, 10, 10, 9, 10],
            subsec_nanos: vec![900, 100, 500, 0, 500],
            sessions: Some((0..5).map(SessionId).collect()),
            weights: Some(vec![0.9, 0.1, 0.5, 0.0, 0.45]),
        })
        .unwrap();
        assert_eq!(log.timestamps(), &[9, 10, 10, 10, 10]);
        assert_eq!(
            log.items(),
            &[ItemId(3), ItemId(1), ItemId(2), ItemId(4), ItemId(0)]
        );
        let sessions: Vec<u32> = log.given_sessions().unwrap().iter().map(|s| s.0).collect();
        assert_eq!(sessions, [3, 1, 2, 4, 0]);
        assert_eq!(log.weights().unwrap(), [0.0, 0.1, 0.5, 0.45, 0.9]);
        assert_eq!(log.event_weight(4, &[2.0, 1.0, 1.0, 1.0]), 1.8);
        let ragged = EventColumns {
            users: vec![UserId(0)],
            items: vec![ItemId(0)],
            categories: vec![CategoryId(0)],
            behaviors: vec![Behavior::Pv],
            timestamps: vec![1],
            subsec_nanos: vec![1, 2],
            sessions: None,
            weights: None,
        };
        assert!(EventLog::from_event_columns(ragged).is_err());
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

        /// With sub-second times the order is a stable sort by (user, second, nanos).
        #[test]
        fn subsecond_sort_matches_stable_sort(
            rows in proptest::collection::vec((0u32..4, 0i64..3, 0u32..3), 0..60)
        ) {
            let n = rows.len();
            let l = EventLog::from_event_columns(EventColumns {
                users: rows.iter().map(|r| UserId(r.0)).collect(),
                items: (0..n as u32).map(ItemId).collect(),
                categories: vec![CategoryId(0); n],
                behaviors: vec![Behavior::Pv; n],
                timestamps: rows.iter().map(|r| r.1).collect(),
                subsec_nanos: rows.iter().map(|r| r.2).collect(),
                sessions: Some((0..n as u32).map(SessionId).collect()),
                weights: None,
            })
            .unwrap();
            let mut expected: Vec<u32> = (0..n as u32).collect();
            expected.sort_by_key(|&i| {
                let r = rows[i as usize];
                (r.0, r.1, r.2)
            });
            let got: Vec<u32> = l.items().iter().map(|i| i.0).collect();
            prop_assert_eq!(&got, &expected);
            let sessions: Vec<u32> = l.given_sessions().unwrap().iter().map(|s| s.0).collect();
            prop_assert_eq!(sessions, expected);
        }
    }
}
