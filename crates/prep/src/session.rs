//! Sessionization: a user's events split wherever the user was inactive for longer
//! than a gap.

use std::num::NonZeroU32;

use clickrec_core::EventLog;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, positive};
use crate::prepare::PrepError;
use crate::report::SessionDetails;

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
pub fn sessionize(
    log: &EventLog,
    gap_s: NonZeroU32,
) -> Result<(Vec<u32>, SessionDetails), PrepError> {
    let gap = i64::from(gap_s.get());
    let (users, times) = (log.users(), log.timestamps());
    let mut sessions = Vec::with_capacity(log.len());
    let mut current = 0u32;
    let mut multi_session_users = 0u64;
    let mut user_sessions = 0u32;
    for i in 0..log.len() {
        let new_user = i == 0 || users[i] != users[i - 1];
        if i > 0 && (new_user || times[i].saturating_sub(times[i - 1]) > gap) {
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
    let details = SessionDetails {
        sessions: if log.is_empty() {
            0
        } else {
            u64::from(current) + 1
        },
        multi_session_users,
        gap_s: gap_s.get(),
    };
    Ok((sessions, details))
}
