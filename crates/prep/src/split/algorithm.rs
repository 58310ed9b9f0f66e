//! [`split`]: per-user cut points, then train and held-out logs copied by ranges.

use std::fmt;
use std::ops::Range;

use clickrec_core::{EventColumns, EventLog, Leakage, TestSet, TestSetCounts, TestSetError, mix64};
use serde::Serialize;
use thiserror::Error;

use crate::report::LogStats;
use crate::rows::{item_space, user_runs};
use crate::split::config::{CheckedSplit, SplitRule, SplitSpec};
use crate::split::filters::{FilterStepReport, TrainFilters, filter_on_train};
use crate::split::guard::{LeakageError, check_leakage};

/// A split that cannot be made or would be unusable.
#[derive(Debug, Error, PartialEq)]
pub enum SplitError {
    #[error("{sessions} session indices for a log of {rows} rows")]
    SessionCount { rows: usize, sessions: usize },
    #[error("session indices must increase in log order and start anew for each user (row {row})")]
    SessionOrder { row: usize },
    #[error("train and test file together have more than {} sessions; session indices are u32", u64::from(u32::MAX) + 1)]
    TooManySessions,
    /// Nothing left to train on (e.g. a cutoff before the first event).
    #[error("the {part} split ({rule}) leaves no training events")]
    NoTrainEvents { part: &'static str, rule: SplitRule },
    /// Nothing held out (e.g. no user with two sessions, or a cutoff after the last event).
    #[error("the {part} split ({rule}) holds out no events")]
    NoHeldOutEvents { part: &'static str, rule: SplitRule },
    /// `test_fraction` on a log without sessions.
    #[error("the {part} split has no sessions to place a cutoff among")]
    NoSessions { part: &'static str },
    #[error("the {part} split failed the leakage guard: {source}")]
    Leakage {
        part: &'static str,
        source: LeakageError,
    },
    /// `split` cannot make a test-file split: the test events come from a second file.
    #[error("split.kind = \"test_file\" needs the test file's events (use split_test_file)")]
    NeedsTestFile,
    #[error(transparent)]
    TestSet(#[from] TestSetError),
}

/// Train data, held-out ground truth, and optionally a validation split inside train.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitOutput {
    /// Events models may learn from; same id space as the input log.
    pub train: EventLog,
    /// The session index of each train row (taken from the input's).
    pub train_sessions: Vec<u32>,
    /// Targets per test user, built from `test_events`.
    pub test: TestSet,
    /// The held-out events themselves, sorted by (user, time).
    pub test_events: EventLog,
    /// The session index of each held-out row: the input's for a split of one log, the
    /// test file's own (numbered after the train sessions) for a test-file split. A
    /// user's held-out sessions are consecutive numbers, so each session's events are
    /// one run of rows in time order.
    pub test_sessions: Vec<u32>,
    pub validation: Option<ValidationSplit>,
    pub report: SplitReport,
}

/// `train` of [`SplitOutput`] split again by the validation rule: fit on this `train`,
/// tune on `test`, and the real test set stays untouched.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidationSplit {
    pub train: EventLog,
    pub train_sessions: Vec<u32>,
    pub test: TestSet,
    pub test_events: EventLog,
    pub test_sessions: Vec<u32>,
}

/// Sizes of one split, for the manifest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitPartReport {
    pub rule: SplitRule,
    pub train: LogStats,
    pub held_out: LogStats,
    /// Events neither trained on nor held out: under a session cutoff, the rest of a
    /// session that spans the cutoff and the sessions after a user's test session.
    pub unused_events: u64,
    /// The learned filters of `[prep]`, run on train; test events of the users and
    /// items they removed are dropped and counted here.
    pub filters: Vec<FilterStepReport>,
    /// How much train comes after the test users' first test events (0 for global
    /// cutoffs); `None` for a random split, where it is not measurable.
    pub leakage: Option<Leakage>,
    pub targets: TestSetCounts,
    /// Always true in a report: a split that fails the guard returns an error instead.
    pub leakage_guard_passed: bool,
}

/// The test split and, if made, the validation split.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitReport {
    pub test: SplitPartReport,
    pub validation: Option<SplitPartReport>,
    /// Set by [`SplitOutput::compact_items`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<crate::split::CompactItemsReport>,
}

impl fmt::Display for SplitPartReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.targets;
        for step in &self.filters {
            writeln!(f, "  {step}")?;
        }
        write!(
            f,
            "{}: train {} rows / {} users / {} items; held out {} rows ({} unused); {} test users ({} cold, {} without targets); {} targets ({} dropped as unseen in train), {} conversion targets ({} dropped); leakage guard passed; {}",
            self.rule,
            self.train.rows,
            self.train.users,
            self.train.items,
            self.held_out.rows,
            self.unused_events,
            c.test_users,
            c.cold_users,
            c.users_without_targets,
            c.targets,
            c.dropped_targets,
            c.conversion_targets,
            c.dropped_conversion_targets,
            match &self.leakage {
                Some(l) => l.to_string(),
                None => "leakage not measurable (random split, not time-aware)".to_owned(),
            },
        )
    }
}

impl fmt::Display for SplitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "test split, {}", self.test)?;
        if let Some(v) = &self.validation {
            writeln!(f, "validation split, {v}")?;
        }
        if let Some(items) = &self.items {
            writeln!(f, "{items}")?;
        }
        Ok(())
    }
}

/// Splits `log` (with its per-row `sessions`, as from [`crate::sessionize`]) by the
/// checked rule, runs the learned `filters` on train (dropping the held-out events of
/// the users and items they remove), runs the leakage guard, measures the leakage, and
/// builds the test set; then does the same inside train when a validation rule is set.
/// Ids and id maps are unchanged ([`SplitOutput::compact_items`] renumbers items). Items of held-out events that never occur in the
/// corresponding train log are dropped from the targets and counted.
pub fn split(
    log: &EventLog,
    sessions: &[u32],
    config: &CheckedSplit,
    filters: &TrainFilters,
) -> Result<SplitOutput, SplitError> {
    if config.rule() == SplitSpec::Rule(SplitRule::TestFile) {
        return Err(SplitError::NeedsTestFile);
    }
    check_sessions(log, sessions)?;
    let n_items = item_space(log);
    let test = split_once(log, sessions, config.rule(), filters, n_items, "test")?;
    add_validation(test.into_output(), config, filters, n_items)
}

/// The split of a pre-split pair (`split.kind = "test_file"`): `train` (the prepared
/// input, with its session per row) is train as it is, `test` (the test file, in the same
/// id space, with its session per row, e.g. from [`crate::sessionize`]) is held out whole.
/// Runs the per-user leakage guard and builds the test set like [`split`]: target items
/// never seen in train are dropped and counted; test users without train events are
/// cold. Test session numbers are shifted to follow the train sessions.
pub fn split_test_file(
    train: EventLog,
    train_sessions: Vec<u32>,
    test: EventLog,
    test_sessions: Vec<u32>,
    filters: &TrainFilters,
) -> Result<SplitOutput, SplitError> {
    let rule = SplitRule::TestFile;
    let part = "test";
    check_sessions(&train, &train_sessions)?;
    check_sessions(&test, &test_sessions)?;
    if train.is_empty() {
        return Err(SplitError::NoTrainEvents { part, rule });
    }
    if test.is_empty() {
        return Err(SplitError::NoHeldOutEvents { part, rule });
    }
    let filtered = filter_on_train(filters, train, train_sessions, test, test_sessions);
    let (train, train_sessions, test, test_sessions) = (
        filtered.train,
        filtered.train_sessions,
        filtered.test_events,
        filtered.test_sessions,
    );
    if train.is_empty() {
        return Err(SplitError::NoTrainEvents { part, rule });
    }
    check_leakage(&train, &test, &rule).map_err(|source| SplitError::Leakage { part, source })?;
    let leakage = Some(measure_leakage(&train, &test));
    let test_set = test_set(&train, &test, item_space(&train).max(item_space(&test)))?;
    let first_test_session = train_sessions.last().map_or(0, |&s| s + 1);
    let test_sessions = test_sessions
        .into_iter()
        .map(|s| s.checked_add(first_test_session))
        .collect::<Option<Vec<u32>>>()
        .ok_or(SplitError::TooManySessions)?;
    let report = SplitReport {
        test: SplitPartReport {
            rule,
            train: LogStats::of(&train),
            held_out: LogStats::of(&test),
            unused_events: 0,
            filters: filtered.steps,
            leakage,
            targets: *test_set.counts(),
            leakage_guard_passed: true,
        },
        validation: None,
        items: None,
    };
    Ok(SplitOutput {
        train,
        train_sessions,
        test: test_set,
        test_events: test,
        test_sessions,
        validation: None,
        report,
    })
}

fn check_sessions(log: &EventLog, sessions: &[u32]) -> Result<(), SplitError> {
    if sessions.len() != log.len() {
        return Err(SplitError::SessionCount {
            rows: log.len(),
            sessions: sessions.len(),
        });
    }
    let users = log.users();
    match (1..sessions.len()).find(|&r| {
        if users[r] == users[r - 1] {
            sessions[r] < sessions[r - 1]
        } else {
            sessions[r] <= sessions[r - 1]
        }
    }) {
        Some(row) => Err(SplitError::SessionOrder { row }),
        None => Ok(()),
    }
}

struct Part {
    train: EventLog,
    train_sessions: Vec<u32>,
    test: TestSet,
    test_events: EventLog,
    test_sessions: Vec<u32>,
    report: SplitPartReport,
}

impl Part {
    /// The test part as a whole split, without validation.
    fn into_output(self) -> SplitOutput {
        SplitOutput {
            train: self.train,
            train_sessions: self.train_sessions,
            test: self.test,
            test_events: self.test_events,
            test_sessions: self.test_sessions,
            validation: None,
            report: SplitReport {
                test: self.report,
                validation: None,
                items: None,
            },
        }
    }
}

/// The cutoff before which `1 − test_fraction` of the sessions start.
fn session_quantile(
    log: &EventLog,
    sessions: &[u32],
    test_fraction: f64,
    part: &'static str,
) -> Result<i64, SplitError> {
    let times = log.timestamps();
    let mut starts: Vec<i64> = (0..log.len())
        .filter(|&r| r == 0 || sessions[r] != sessions[r - 1])
        .map(|r| times[r])
        .collect();
    if starts.is_empty() {
        return Err(SplitError::NoSessions { part });
    }
    starts.sort_unstable();
    let k = ((1.0 - test_fraction) * starts.len() as f64).floor() as usize;
    Ok(starts[k.min(starts.len() - 1)])
}

/// One user's rows cut by a rule: `train` and `test` ranges (either may be empty).
struct Cut {
    train: Range<usize>,
    test: Range<usize>,
}

fn cut_user(rows: Range<usize>, rule: SplitRule, sessions: &[u32], times: &[i64]) -> Cut {
    let suffix = |cut: usize| Cut {
        train: rows.start..cut,
        test: cut..rows.end,
    };
    match rule {
        SplitRule::LastSession => {
            let last = sessions[rows.end - 1];
            if sessions[rows.start] == last {
                suffix(rows.end)
            } else {
                suffix(rows.start + sessions[rows.clone()].partition_point(|&s| s < last))
            }
        }
        SplitRule::Temporal { cutoff } => {
            suffix(rows.start + times[rows.clone()].partition_point(|&t| t < cutoff))
        }
        SplitRule::LastEvents { n } => {
            let n = n.get() as usize;
            suffix(if rows.len() > n {
                rows.end - n
            } else {
                rows.end
            })
        }
        SplitRule::SessionCutoff { cutoff } => {
            let train_end = rows.start + times[rows.clone()].partition_point(|&t| t < cutoff);
            let starts_session = |r: usize| r == rows.start || sessions[r] != sessions[r - 1];
            let test = match (train_end..rows.end).find(|&r| starts_session(r)) {
                Some(first) => {
                    let end = first
                        + sessions[first..rows.end].partition_point(|&s| s == sessions[first]);
                    first..end
                }
                None => rows.end..rows.end,
            };
            Cut {
                train: rows.start..train_end,
                test,
            }
        }
        // `split` turns this rule away before cutting anything; a random split is not
        // a cut (see `random_ranges`).
        SplitRule::TestFile | SplitRule::Random { .. } => suffix(rows.end),
    }
}

/// The train and test row ranges of a random split: per user with at least two distinct
/// items, the `round(test_fraction × items)` items (at least one, never all) with the
/// smallest seeded hash of (user, item) are held out with every event on them. A hash
/// rather than a shuffle, so a user's draw depends on nothing but the seed and its ids.
fn random_ranges(
    log: &EventLog,
    test_fraction: f64,
    seed: u64,
) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let (users, items) = (log.users(), log.items());
    let mut held_out = vec![false; log.len()];
    let mut ranked: Vec<(u64, u32)> = Vec::new();
    for rows in user_runs(users, 0..log.len()) {
        ranked.clear();
        ranked.extend(items[rows.clone()].iter().map(|i| (0, i.0)));
        ranked.sort_unstable_by_key(|&(_, item)| item);
        ranked.dedup();
        let n = ranked.len();
        if n < 2 {
            continue;
        }
        let user = u64::from(users[rows.start].0);
        for (hash, item) in ranked.iter_mut() {
            *hash = mix64(seed ^ mix64((user << 32) | u64::from(*item)));
        }
        ranked.sort_unstable();
        let k = ((test_fraction * n as f64).round() as usize).clamp(1, n - 1);
        let mut chosen: Vec<u32> = ranked[..k].iter().map(|&(_, item)| item).collect();
        chosen.sort_unstable();
        for row in rows {
            held_out[row] = chosen.binary_search(&items[row].0).is_ok();
        }
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    let mut start = 0;
    for row in 1..=log.len() {
        if row == log.len() || held_out[row] != held_out[start] {
            if start < row {
                if held_out[start] {
                    &mut test
                } else {
                    &mut train
                }
                .push(start..row);
            }
            start = row;
        }
    }
    (train, test)
}

fn split_once(
    log: &EventLog,
    sessions: &[u32],
    spec: SplitSpec,
    filters: &TrainFilters,
    n_items: usize,
    part: &'static str,
) -> Result<Part, SplitError> {
    let rule = match spec {
        SplitSpec::Rule(rule) => rule,
        SplitSpec::SessionFraction { test_fraction } => SplitRule::SessionCutoff {
            cutoff: session_quantile(log, sessions, test_fraction, part)?,
        },
    };
    let (train_ranges, test_ranges) = match rule {
        SplitRule::Random {
            test_fraction,
            seed,
        } => random_ranges(log, test_fraction, seed),
        _ => {
            let times = log.timestamps();
            let cuts: Vec<Cut> = user_runs(log.users(), 0..log.len())
                .map(|rows| cut_user(rows, rule, sessions, times))
                .collect();
            let ranges = |part: fn(&Cut) -> &Range<usize>| -> Vec<Range<usize>> {
                cuts.iter()
                    .map(part)
                    .filter(|r| !r.is_empty())
                    .cloned()
                    .collect()
            };
            (ranges(|c| &c.train), ranges(|c| &c.test))
        }
    };
    let train = gather(log, &train_ranges);
    if train.is_empty() {
        return Err(SplitError::NoTrainEvents { part, rule });
    }
    let test_events = gather(log, &test_ranges);
    if test_events.is_empty() {
        return Err(SplitError::NoHeldOutEvents { part, rule });
    }
    let unused_events = (log.len() - train.len() - test_events.len()) as u64;
    let train_sessions = gather_column(sessions, &train_ranges, train.len());
    let test_sessions = gather_column(sessions, &test_ranges, test_events.len());
    finish_part(
        CutParts {
            train,
            train_sessions,
            test_events,
            test_sessions,
            unused_events,
        },
        rule,
        filters,
        n_items,
        part,
    )
}

/// A log already cut by a rule (by another engine, e.g. Spark SQL): the train and
/// held-out rows with their session indices, in (user, time) order, and the count of
/// rows neither trained on nor held out.
#[derive(Clone, Debug, PartialEq)]
pub struct CutParts {
    pub train: EventLog,
    pub train_sessions: Vec<u32>,
    pub test_events: EventLog,
    pub test_sessions: Vec<u32>,
    pub unused_events: u64,
}

/// Finishes a test split whose cut was made elsewhere exactly as [`split`] finishes its
/// own: the learned `filters` on train, the leakage guard, the leakage measurement and
/// the test set. `n_items` is the item id space of the whole prepared log.
pub fn split_from_cut(
    cut: CutParts,
    rule: SplitRule,
    filters: &TrainFilters,
    n_items: usize,
) -> Result<SplitOutput, SplitError> {
    let part = "test";
    check_sessions(&cut.train, &cut.train_sessions)?;
    check_sessions(&cut.test_events, &cut.test_sessions)?;
    if cut.train.is_empty() {
        return Err(SplitError::NoTrainEvents { part, rule });
    }
    if cut.test_events.is_empty() {
        return Err(SplitError::NoHeldOutEvents { part, rule });
    }
    Ok(finish_part(cut, rule, filters, n_items, part)?.into_output())
}

/// Carves `out`'s validation split from its train by `config`'s validation rule (the same
/// filters, guard and `n_items` as the test split); nothing when there is no validation
/// rule. [`split`] ends with it; the Spark engine calls it after [`split_from_cut`].
pub fn add_validation(
    mut out: SplitOutput,
    config: &CheckedSplit,
    filters: &TrainFilters,
    n_items: usize,
) -> Result<SplitOutput, SplitError> {
    let Some(rule) = config.validation() else {
        return Ok(out);
    };
    let v = split_once(
        &out.train,
        &out.train_sessions,
        rule,
        filters,
        n_items,
        "validation",
    )?;
    out.report.validation = Some(v.report);
    out.validation = Some(ValidationSplit {
        train: v.train,
        train_sessions: v.train_sessions,
        test: v.test,
        test_events: v.test_events,
        test_sessions: v.test_sessions,
    });
    Ok(out)
}

/// The part of a split after the cut: filters on train, guard, leakage, test set.
fn finish_part(
    cut: CutParts,
    rule: SplitRule,
    filters: &TrainFilters,
    n_items: usize,
    part: &'static str,
) -> Result<Part, SplitError> {
    let CutParts {
        train,
        train_sessions,
        test_events,
        test_sessions,
        unused_events,
    } = cut;
    let filtered = filter_on_train(filters, train, train_sessions, test_events, test_sessions);
    let (train, train_sessions, test_events, test_sessions) = (
        filtered.train,
        filtered.train_sessions,
        filtered.test_events,
        filtered.test_sessions,
    );
    if train.is_empty() {
        return Err(SplitError::NoTrainEvents { part, rule });
    }
    check_leakage(&train, &test_events, &rule)
        .map_err(|source| SplitError::Leakage { part, source })?;
    let leakage = rule
        .is_time_aware()
        .then(|| measure_leakage(&train, &test_events));
    let test = test_set(&train, &test_events, n_items)?;
    let report = SplitPartReport {
        rule,
        train: LogStats::of(&train),
        held_out: LogStats::of(&test_events),
        unused_events,
        filters: filtered.steps,
        leakage,
        targets: *test.counts(),
        leakage_guard_passed: true,
    };
    Ok(Part {
        train,
        train_sessions,
        test,
        test_events,
        test_sessions,
        report,
    })
}

/// How much of train comes at or after each test user's first held-out event.
fn measure_leakage(train: &EventLog, test_events: &EventLog) -> Leakage {
    Leakage::measure(
        train.timestamps(),
        test_events
            .user_rows()
            .map(|(_, rows)| test_events.timestamps()[rows.start]),
    )
}

/// The targets of each test user: the distinct items of their held-out events, those
/// never seen in train dropped and counted; users without train events are cold.
fn test_set(
    train: &EventLog,
    test_events: &EventLog,
    n_items: usize,
) -> Result<TestSet, SplitError> {
    let mut seen_in_train = vec![false; n_items];
    for item in train.items() {
        seen_in_train[item.0 as usize] = true;
    }
    let mut has_train = vec![false; user_bound(train, test_events)];
    for (user, _) in train.user_rows() {
        has_train[user.0 as usize] = true;
    }
    let mut builder = TestSet::builder(&seen_in_train);
    let (items, behaviors) = (test_events.items(), test_events.behaviors());
    for (user, rows) in test_events.user_rows() {
        builder.push_user(
            user,
            !has_train[user.0 as usize],
            items[rows.clone()]
                .iter()
                .copied()
                .zip(behaviors[rows].iter().copied()),
        )?;
    }
    Ok(builder.finish())
}

/// One more than the largest user id of either log.
fn user_bound(train: &EventLog, test: &EventLog) -> usize {
    [train, test]
        .iter()
        .filter_map(|log| log.users().last())
        .map(|u| u.0 as usize + 1)
        .max()
        .unwrap_or(0)
}

/// Copies the given row ranges of every column (and the weights) into a new log (ranges
/// in row order, so the (user, time) order holds and nothing is re-sorted).
fn gather(log: &EventLog, ranges: &[Range<usize>]) -> EventLog {
    let len = ranges.iter().map(|r| r.len()).sum();
    let (mut users, mut items, mut categories, mut behaviors, mut timestamps) = Default::default();
    rayon::scope(|s| {
        s.spawn(|_| users = gather_column(log.users(), ranges, len));
        s.spawn(|_| items = gather_column(log.items(), ranges, len));
        s.spawn(|_| categories = gather_column(log.categories(), ranges, len));
        s.spawn(|_| behaviors = gather_column(log.behaviors(), ranges, len));
        s.spawn(|_| timestamps = gather_column(log.timestamps(), ranges, len));
    });
    EventLog::from_event_columns(EventColumns {
        users,
        items,
        categories,
        behaviors,
        timestamps,
        weights: log.weights().map(|w| gather_column(w, ranges, len)),
        ..EventColumns::default()
    })
    .expect("gathered columns are equally long")
}

fn gather_column<T: Copy>(column: &[T], ranges: &[Range<usize>], len: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(len);
    for r in ranges {
        out.extend_from_slice(&column[r.clone()]);
    }
    out
}
