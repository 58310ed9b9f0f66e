//! The leakage guard: held-out events must not come before the training events they
//! are predicted from. Every split runs it; it reads only the two logs, so it also
//! checks splits made elsewhere.

use std::ops::Range;

use clickrec_core::{EventLog, UserId};
use thiserror::Error;

use crate::rows::user_runs;
use crate::split::config::SplitRule;

/// A split that lets a model train on the future of its test events.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LeakageError {
    /// Per-user splits: a test event earlier than the user's last train event.
    #[error(
        "leakage: {user} has a test event at {test_time}, before its train event at {train_time}"
    )]
    TestBeforeTrain {
        user: UserId,
        test_time: i64,
        train_time: i64,
    },
    /// Global cutoff (temporal, session cutoff): a train event at or after the cutoff.
    #[error("leakage: {user} has a train event at {time}, not before the cutoff {cutoff}")]
    TrainNotBeforeCutoff {
        user: UserId,
        time: i64,
        cutoff: i64,
    },
    /// Global cutoff (temporal, session cutoff): a test event before the cutoff.
    #[error("leakage: {user} has a test event at {time}, before the cutoff {cutoff}")]
    TestBeforeCutoff {
        user: UserId,
        time: i64,
        cutoff: i64,
    },
}

/// Checks `train` against the held-out `test` events: for a global cutoff (temporal,
/// session cutoff), every train event is before the cutoff and every test event at or
/// after it; for per-user rules (last session, last events) and test files, no user's
/// earliest test event precedes its latest train event (equal times are allowed: ties
/// have no order to leak). How much *other* users' train comes later is measured, not
/// checked: see [`clickrec_core::Leakage`].
pub fn check_leakage(
    train: &EventLog,
    test: &EventLog,
    rule: &SplitRule,
) -> Result<(), LeakageError> {
    match *rule {
        SplitRule::Temporal { cutoff } | SplitRule::SessionCutoff { cutoff } => {
            if let Some(r) = train.timestamps().iter().position(|&t| t >= cutoff) {
                return Err(LeakageError::TrainNotBeforeCutoff {
                    user: train.users()[r],
                    time: train.timestamps()[r],
                    cutoff,
                });
            }
            if let Some(r) = test.timestamps().iter().position(|&t| t < cutoff) {
                return Err(LeakageError::TestBeforeCutoff {
                    user: test.users()[r],
                    time: test.timestamps()[r],
                    cutoff,
                });
            }
            Ok(())
        }
        SplitRule::LastSession | SplitRule::LastEvents { .. } | SplitRule::TestFile => {
            let train_times = train.timestamps();
            let test_times = test.timestamps();
            let mut train_users = runs_by_user(train).peekable();
            for (user, rows) in runs_by_user(test) {
                // Both logs are sorted by user: advance train to this user.
                while train_users.next_if(|(u, _)| *u < user).is_some() {}
                let Some((_, train_rows)) = train_users.next_if(|(u, _)| *u == user) else {
                    continue;
                };
                let latest_train = train_times[train_rows].iter().copied().max();
                let earliest_test = test_times[rows].iter().copied().min();
                if let (Some(train_time), Some(test_time)) = (latest_train, earliest_test)
                    && test_time < train_time
                {
                    return Err(LeakageError::TestBeforeTrain {
                        user,
                        test_time,
                        train_time,
                    });
                }
            }
            Ok(())
        }
        // Not time-aware by design: nothing orders train before test.
        SplitRule::Random { .. } => Ok(()),
    }
}

fn runs_by_user(log: &EventLog) -> impl Iterator<Item = (UserId, Range<usize>)> + '_ {
    let users = log.users();
    user_runs(users, 0..users.len()).map(move |rows| (users[rows.start], rows))
}
