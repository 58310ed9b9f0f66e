//! The train sessions every session model fits on: each session's items in time order,
//! its end time and its user.

use std::ops::Range;

use clickrec_core::{EventLog, ItemId, UserId};

use crate::error::SessionsError;

/// Train sessions, CSR-style: session `s` holds `items[offsets[s]..offsets[s + 1]]` in
/// time order. Sessions are numbered in (user, time) order, so a user's sessions are
/// consecutive; [`TrainSessions::user_sessions`] finds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrainSessions {
    parts: SessionParts,
    /// First session of each user, plus one entry past the end (`n_users + 1`), derived
    /// from `parts.users`.
    user_starts: Vec<u32>,
}

/// What [`TrainSessions`] are stored as (e.g. in a model file): the id spaces and the
/// columns, unchecked until [`TrainSessions::from_parts`] takes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionParts {
    pub n_users: usize,
    pub n_items: usize,
    /// Session `s` holds `items[offsets[s]..offsets[s + 1]]` (and their `times`).
    pub offsets: Vec<usize>,
    pub items: Vec<ItemId>,
    pub times: Vec<i64>,
    /// User of each session.
    pub users: Vec<UserId>,
}

impl TrainSessions {
    /// Sessions of `log` (sorted by user, then time) cut by `sessions`, one index per row
    /// as the prep stage writes them (non-decreasing; a change starts a new session, and
    /// so does a change of user). `n_users` / `n_items` are the id spaces.
    pub fn from_log(
        log: &EventLog,
        sessions: &[u32],
        n_users: usize,
        n_items: usize,
    ) -> Result<Self, SessionsError> {
        if sessions.len() != log.len() {
            return Err(SessionsError::Length {
                rows: log.len(),
                sessions: sessions.len(),
            });
        }
        let (users, items, times) = (log.users(), log.items(), log.timestamps());
        let mut offsets = vec![0];
        let mut session_users = Vec::new();
        for row in 0..log.len() {
            if items[row].0 as usize >= n_items {
                return Err(SessionsError::ItemOutOfRange {
                    row,
                    item: items[row].0,
                    n_items,
                });
            }
            if users[row].0 as usize >= n_users {
                return Err(SessionsError::UserOutOfRange {
                    row,
                    user: users[row].0,
                    n_users,
                });
            }
            if row > 0 && sessions[row] < sessions[row - 1] {
                return Err(SessionsError::Order {
                    row,
                    session: sessions[row],
                    previous: sessions[row - 1],
                });
            }
            if row > 0 && (sessions[row] != sessions[row - 1] || users[row] != users[row - 1]) {
                offsets.push(row);
            }
            if offsets.len() > session_users.len() {
                session_users.push(users[row]);
            }
        }
        if !log.is_empty() {
            offsets.push(log.len());
        }
        Self::from_parts(SessionParts {
            n_users,
            n_items,
            offsets,
            items: items.to_vec(),
            times: times.to_vec(),
            users: session_users,
        })
    }

    /// Sessions from their stored parts, checked.
    pub fn from_parts(mut parts: SessionParts) -> Result<Self, SessionsError> {
        let corrupt = |m: &str| Err(SessionsError::Corrupt(m.to_owned()));
        if parts.offsets.first() != Some(&0)
            && !(parts.offsets.is_empty() && parts.items.is_empty())
        {
            return corrupt("offsets must start at 0");
        }
        if parts.offsets.is_empty() {
            parts.offsets = vec![0];
        }
        let SessionParts {
            n_users,
            n_items,
            ref offsets,
            ref items,
            ref times,
            ref users,
        } = parts;
        if offsets.last() != Some(&items.len()) || times.len() != items.len() {
            return corrupt("offsets, items and times disagree in length");
        }
        if offsets.windows(2).any(|w| w[0] >= w[1]) {
            return corrupt("sessions must be non-empty");
        }
        if users.len() + 1 != offsets.len() {
            return corrupt("one user per session");
        }
        if users.windows(2).any(|w| w[0] > w[1]) || users.iter().any(|u| u.0 as usize >= n_users) {
            return corrupt("session users must be increasing and inside the user space");
        }
        if items.iter().any(|i| i.0 as usize >= n_items) {
            return corrupt("an item is outside the item space");
        }
        let mut user_starts = vec![0u32; n_users + 1];
        for u in users {
            user_starts[u.0 as usize + 1] += 1;
        }
        for i in 1..user_starts.len() {
            user_starts[i] += user_starts[i - 1];
        }
        Ok(TrainSessions { parts, user_starts })
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.parts.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.users.is_empty()
    }

    pub fn n_users(&self) -> usize {
        self.parts.n_users
    }

    pub fn n_items(&self) -> usize {
        self.parts.n_items
    }

    /// Items of session `s`, in time order.
    pub fn items(&self, s: usize) -> &[ItemId] {
        &self.parts.items[self.parts.offsets[s]..self.parts.offsets[s + 1]]
    }

    /// Event times of session `s`.
    pub fn times(&self, s: usize) -> &[i64] {
        &self.parts.times[self.parts.offsets[s]..self.parts.offsets[s + 1]]
    }

    /// Time of the last event of session `s`: its recency.
    pub fn end_time(&self, s: usize) -> i64 {
        self.parts.times[self.parts.offsets[s + 1] - 1]
    }

    /// The sessions of `user` (empty for users without train sessions or outside the space).
    pub fn user_sessions(&self, user: UserId) -> Range<usize> {
        let u = user.0 as usize;
        if u >= self.parts.n_users {
            return 0..0;
        }
        self.user_starts[u] as usize..self.user_starts[u + 1] as usize
    }

    /// The columns, for storing: (offsets, items, times, users).
    pub fn columns(&self) -> (&[usize], &[ItemId], &[i64], &[UserId]) {
        (
            &self.parts.offsets,
            &self.parts.items,
            &self.parts.times,
            &self.parts.users,
        )
    }

    /// Every event as (session, item), in session order.
    pub(crate) fn events(&self) -> impl Iterator<Item = (usize, ItemId)> + '_ {
        (0..self.len()).flat_map(move |s| self.items(s).iter().map(move |&i| (s, i)))
    }

    /// The last `n` events of `user` across its sessions (items and times), oldest first;
    /// `None`: the user's last session.
    pub fn query(&self, user: UserId, last_events: Option<usize>) -> (Vec<ItemId>, Vec<i64>) {
        let range = self.user_sessions(user);
        if range.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let events = match last_events {
            None => self.parts.offsets[range.end - 1]..self.parts.offsets[range.end],
            Some(n) => {
                let (start, end) = (
                    self.parts.offsets[range.start],
                    self.parts.offsets[range.end],
                );
                end.saturating_sub(n).max(start)..end
            }
        };
        (
            self.parts.items[events.clone()].to_vec(),
            self.parts.times[events].to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use clickrec_core::{Behavior, CategoryId};

    use super::*;

    fn log(rows: &[(u32, u32, i64)]) -> EventLog {
        EventLog::from_columns(
            rows.iter().map(|r| UserId(r.0)).collect(),
            rows.iter().map(|r| ItemId(r.1)).collect(),
            vec![CategoryId(0); rows.len()],
            vec![Behavior::Pv; rows.len()],
            rows.iter().map(|r| r.2).collect(),
        )
        .expect("log")
    }

    #[test]
    fn sessions_follow_the_session_column_and_users() {
        let log = log(&[(0, 1, 1), (0, 2, 2), (0, 3, 100), (2, 1, 5)]);
        let s = TrainSessions::from_log(&log, &[0, 0, 1, 1], 3, 4).expect("sessions");
        assert_eq!(
            s.len(),
            3,
            "a user change starts a session even with one index"
        );
        assert_eq!(s.items(0), &[ItemId(1), ItemId(2)]);
        assert_eq!(s.end_time(1), 100);
        assert_eq!(s.user_sessions(UserId(0)), 0..2);
        assert_eq!(s.user_sessions(UserId(1)), 2..2);
        assert_eq!(s.user_sessions(UserId(2)), 2..3);
        assert_eq!(s.query(UserId(0), None).0, vec![ItemId(3)]);
        assert_eq!(s.query(UserId(0), Some(2)).0, vec![ItemId(2), ItemId(3)]);
        assert_eq!(s.query(UserId(9), None).0, vec![]);
        let (o, i, t, u) = s.columns();
        let back = TrainSessions::from_parts(SessionParts {
            n_users: 3,
            n_items: 4,
            offsets: o.to_vec(),
            items: i.to_vec(),
            times: t.to_vec(),
            users: u.to_vec(),
        })
        .expect("parts");
        assert_eq!(back, s);
    }

    #[test]
    fn bad_rows_are_named() {
        let log = log(&[(0, 1, 1), (0, 2, 2)]);
        assert!(matches!(
            TrainSessions::from_log(&log, &[1, 0], 1, 3),
            Err(SessionsError::Order { row: 1, .. })
        ));
        assert!(matches!(
            TrainSessions::from_log(&log, &[0, 0], 1, 2),
            Err(SessionsError::ItemOutOfRange { row: 1, .. })
        ));
        assert!(matches!(
            TrainSessions::from_log(&log, &[0], 1, 3),
            Err(SessionsError::Length { .. })
        ));
    }
}
