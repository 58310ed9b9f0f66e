//! The filters that learn from the data (outlier users, minimum counts, k-core), run on
//! train only: which users and items they remove is decided by train events, and test
//! events of those users and items are then dropped and counted. Test events never
//! decide what survives.

use clickrec_core::EventLog;
use serde::Serialize;

use crate::kcore::{KCoreParams, k_core};
use crate::min_events::{MinEventsParams, filter_min_events};
use crate::outliers::{OutlierParams, remove_outlier_users};
use crate::report::{LogStats, StepDetails, StepReport};
use crate::rows::{item_space, retain_rows, user_space};

/// The learned filters of `[prep]`, in the order they run; `None` marks a step that
/// does not run. Made by [`crate::CheckedPrep::train_filters`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainFilters {
    pub(crate) outlier_users: Option<OutlierParams>,
    pub(crate) min_events: Option<MinEventsParams>,
    pub(crate) kcore: Option<KCoreParams>,
}

impl TrainFilters {
    /// True when no step runs.
    pub fn is_empty(&self) -> bool {
        self.outlier_users.is_none() && self.min_events.is_none() && self.kcore.is_none()
    }
}

/// One filter step: what it did to train, and the test events it dropped in turn.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FilterStepReport {
    /// Sizes of train before and after, and what the step found in train.
    #[serde(flatten)]
    pub train: StepReport,
    /// Test events of users or items this step removed from train.
    pub test_events_dropped: u64,
    /// Test users who lost all their remaining test events in this step.
    pub test_users_dropped: u64,
}

impl std::fmt::Display for FilterStepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (on train); test: {} events and {} users dropped",
            self.train, self.test_events_dropped, self.test_users_dropped
        )
    }
}

/// Train and held-out events after the filters.
pub(crate) struct Filtered {
    pub train: EventLog,
    pub train_sessions: Vec<u32>,
    pub test_events: EventLog,
    pub steps: Vec<FilterStepReport>,
}

/// Runs each step on train, then drops the held-out events of every user and item the
/// step removed from train. Users and items absent from train (cold users, new items)
/// are not removed by a filter: the test set counts them itself.
pub(crate) fn filter_on_train(
    filters: &TrainFilters,
    train: EventLog,
    train_sessions: Vec<u32>,
    test_events: EventLog,
) -> Filtered {
    let (n_users, n_items) = (
        user_space(&train).max(user_space(&test_events)),
        item_space(&train).max(item_space(&test_events)),
    );
    let mut removed_users = vec![false; n_users];
    let mut removed_items = vec![false; n_items];
    let mut out = Filtered {
        train,
        train_sessions,
        test_events,
        steps: Vec::new(),
    };
    type Step<'a> = Box<dyn Fn(EventLog) -> (EventLog, StepDetails) + 'a>;
    let steps: [Option<Step<'_>>; 3] = [
        filters.outlier_users.as_ref().map(|p| {
            Box::new(move |log: EventLog| {
                let (log, d) = remove_outlier_users(log, p);
                (log, StepDetails::OutlierUsers(d))
            }) as Step<'_>
        }),
        filters.min_events.as_ref().map(|p| {
            Box::new(move |log: EventLog| {
                let (log, d) = filter_min_events(log, p);
                (log, StepDetails::MinEvents(d))
            }) as Step<'_>
        }),
        filters.kcore.as_ref().map(|p| {
            Box::new(move |log: EventLog| {
                let (log, d) = k_core(log, p);
                (log, StepDetails::KCore(d))
            }) as Step<'_>
        }),
    ];
    if steps.iter().all(Option::is_none) {
        return out;
    }
    // Every step keeps exactly the train events whose user and item it keeps, so the
    // session column follows from the removed ids and the train rows' ids before.
    let ids_before: Vec<(u32, u32)> = out
        .train
        .users()
        .iter()
        .zip(out.train.items())
        .map(|(u, i)| (u.0, i.0))
        .collect();
    for step in steps.into_iter().flatten() {
        let before = LogStats::of(&out.train);
        let (users_before, items_before) = presence(&out.train, n_users, n_items);
        let (train, details) = step(std::mem::replace(&mut out.train, empty_log()));
        out.train = train;
        let (users_after, items_after) = presence(&out.train, n_users, n_items);
        for u in 0..n_users {
            removed_users[u] |= users_before[u] && !users_after[u];
        }
        for i in 0..n_items {
            removed_items[i] |= items_before[i] && !items_after[i];
        }
        let test = &out.test_events;
        let keep: Vec<bool> = test
            .users()
            .iter()
            .zip(test.items())
            .map(|(u, i)| !removed_users[u.0 as usize] && !removed_items[i.0 as usize])
            .collect();
        let (rows_in, users_in) = (test.len(), LogStats::of(test).users);
        out.test_events = retain_rows(std::mem::replace(&mut out.test_events, empty_log()), &keep);
        out.steps.push(FilterStepReport {
            train: StepReport::new(before, LogStats::of(&out.train), details),
            test_events_dropped: (rows_in - out.test_events.len()) as u64,
            test_users_dropped: users_in - LogStats::of(&out.test_events).users,
        });
    }
    let sessions = std::mem::take(&mut out.train_sessions);
    out.train_sessions = sessions
        .into_iter()
        .zip(ids_before)
        .filter(|(_, (u, i))| !removed_users[*u as usize] && !removed_items[*i as usize])
        .map(|(s, _)| s)
        .collect();
    debug_assert_eq!(out.train_sessions.len(), out.train.len());
    out
}

/// Which user and item ids occur in `log`.
fn presence(log: &EventLog, n_users: usize, n_items: usize) -> (Vec<bool>, Vec<bool>) {
    let mut users = vec![false; n_users];
    let mut items = vec![false; n_items];
    log.users().iter().for_each(|u| users[u.0 as usize] = true);
    log.items().iter().for_each(|i| items[i.0 as usize] = true);
    (users, items)
}

fn empty_log() -> EventLog {
    EventLog::from_columns(Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new())
        .expect("empty columns")
}
