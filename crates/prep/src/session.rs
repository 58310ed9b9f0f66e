//! Sessionization: a user's events split wherever the user was inactive for longer
//! than a gap.

use std::num::NonZeroU32;

use clickrec_core::{EventLog, SessionId};
use serde::{Deserialize, Serialize};

use crate::error::PrepError;
use crate::error::{ConfigError, positive};
use crate::report::{SessionDetails, SessionSource};

/// `[prep.session]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A new session starts when an event follows the user's previous one by more than
    /// this many seconds. Default 1800 (30 minutes); 0 is an error.
    pub gap_s: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { gap_s: 1800 }
    }
}

impl SessionConfig {
    pub fn check(&self) -> Result<NonZeroU32, ConfigError> {
        positive(
            "prep.session.gap_s",
            self.gap_s,
            "a gap of at least 1 second",
        )
    }
}

/// A session index per event: global, starting at 0 and increasing by one at each new
/// session in log order, so a user's sessions are consecutive numbers and no session
/// spans two users.
///
/// A log with [given sessions](EventLog::given_sessions) keeps them: a new session starts
/// where the user or the given session changes, and `gap_s` is not used. Otherwise a
/// new session starts after each inactivity gap longer than `gap_s`.
pub fn sessionize(
    log: &EventLog,
    gap_s: NonZeroU32,
) -> Result<(Vec<u32>, SessionDetails), PrepError> {
    let gap = i64::from(gap_s.get());
    let (users, times) = (log.users(), log.timestamps());
    let given = log.given_sessions();
    let new_session = |i: usize| match given {
        Some(given) => given[i] != given[i - 1],
        None => times[i].saturating_sub(times[i - 1]) > gap,
    };
    let mut sessions = Vec::with_capacity(log.len());
    let mut current = 0u32;
    let mut multi_session_users = 0u64;
    let mut user_sessions = 0u32;
    for i in 0..log.len() {
        let new_user = i == 0 || users[i] != users[i - 1];
        if i > 0 && (new_user || new_session(i)) {
            current = current.checked_add(1).ok_or(PrepError::TooManySessions)?;
        }
        if new_user {
            user_sessions = 1;
        } else if sessions.last() != Some(&current) {
            user_sessions += 1;
            if user_sessions == 2 {
                multi_session_users += 1;
            }
        }
        sessions.push(current);
    }
    let count = if log.is_empty() {
        0
    } else {
        u64::from(current) + 1
    };
    let details = SessionDetails {
        sessions: count,
        multi_session_users,
        source: if given.is_some() {
            SessionSource::Given
        } else {
            SessionSource::Gap
        },
        gap_s: gap_s.get(),
        given_sessions_cut: given.map_or(0, |g| count - distinct_sessions(g)),
    };
    Ok((sessions, details))
}

/// Number of distinct given sessions.
fn distinct_sessions(sessions: &[SessionId]) -> u64 {
    let space = sessions.iter().map(|s| s.0 as usize + 1).max().unwrap_or(0);
    let mut seen = vec![false; space];
    let mut count = 0;
    for s in sessions {
        if !std::mem::replace(&mut seen[s.0 as usize], true) {
            count += 1;
        }
    }
    count
}
