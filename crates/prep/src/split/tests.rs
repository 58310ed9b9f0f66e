//! Splits against a naive per-user reference, the leakage guard, config errors.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;

use clickrec_core::{EventLog, ItemId, UserId};
use proptest::prelude::*;

use crate::testing::{Row, arb_rows, log_of, rows_of, with_threads};
use crate::*;

fn rule_strategy() -> impl Strategy<Value = SplitRule> {
    prop_oneof![
        Just(SplitRule::LastSession),
        (0i64..300).prop_map(|cutoff| SplitRule::Temporal { cutoff }),
        (1u32..4).prop_map(|n| SplitRule::LastEvents {
            n: NonZeroU32::new(n).expect("non-zero")
        }),
        (0i64..300).prop_map(|cutoff| SplitRule::SessionCutoff { cutoff }),
        (0.05f64..0.95, any::<u64>()).prop_map(|(test_fraction, seed)| SplitRule::Random {
            test_fraction,
            seed
        }),
    ]
}

const TRAIN: u8 = 0;
const HELD: u8 = 1;
const UNUSED: u8 = 2;

/// Where each row goes (train, held out, unused), by the definitions in DESIGN.md.
fn naive_held_out(rows: &[Row], sessions: &[u32], rule: SplitRule) -> Vec<u8> {
    let mut by_user: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_user.entry(r.0).or_default().push(i);
    }
    let mut held = vec![TRAIN; rows.len()];
    for idx in by_user.values() {
        match rule {
            SplitRule::SessionCutoff { cutoff } => {
                let start_of = |s: u32| {
                    idx.iter()
                        .filter(|&&i| sessions[i] == s)
                        .map(|&i| rows[i].4)
                        .min()
                        .expect("a session has rows")
                };
                let first_test = idx
                    .iter()
                    .map(|&i| sessions[i])
                    .filter(|&s| start_of(s) >= cutoff)
                    .min();
                for &i in idx {
                    held[i] = if Some(sessions[i]) == first_test {
                        HELD
                    } else if rows[i].4 < cutoff {
                        TRAIN
                    } else {
                        UNUSED
                    };
                }
            }
            SplitRule::LastSession => {
                let distinct: BTreeSet<u32> = idx.iter().map(|&i| sessions[i]).collect();
                if distinct.len() >= 2 {
                    let last = *distinct.last().expect("non-empty");
                    for &i in idx {
                        held[i] = u8::from(sessions[i] == last);
                    }
                }
            }
            SplitRule::Temporal { cutoff } => {
                for &i in idx {
                    held[i] = u8::from(rows[i].4 >= cutoff);
                }
            }
            SplitRule::LastEvents { n } => {
                let n = n.get() as usize;
                if idx.len() > n {
                    for &i in &idx[idx.len() - n..] {
                        held[i] = HELD;
                    }
                }
            }
            SplitRule::Random {
                test_fraction,
                seed,
            } => {
                // The k items of smallest hash(seed, user, item), k = round(f·n) in [1, n−1].
                let items: BTreeSet<u32> = idx.iter().map(|&i| rows[i].1).collect();
                if items.len() >= 2 {
                    let user = u64::from(rows[idx[0]].0);
                    let mut ranked: Vec<(u64, u32)> = items
                        .iter()
                        .map(|&item| {
                            let key = (user << 32) | u64::from(item);
                            (clickrec_core::mix64(seed ^ clickrec_core::mix64(key)), item)
                        })
                        .collect();
                    ranked.sort();
                    let n = items.len();
                    let k = ((test_fraction * n as f64).round() as usize).clamp(1, n - 1);
                    let chosen: BTreeSet<u32> = ranked[..k].iter().map(|r| r.1).collect();
                    for &i in idx {
                        held[i] = u8::from(chosen.contains(&rows[i].1));
                    }
                }
            }
            SplitRule::TestFile => unreachable!("rule_strategy makes no test-file rule"),
        }
    }
    held
}

/// Per test user: (cold, targets, conversion targets), plus dropped counts.
type NaiveTargets = (BTreeMap<u32, (bool, Vec<u32>, Vec<u32>)>, u64, u64);

fn naive_targets(train: &[Row], test: &[Row]) -> NaiveTargets {
    let seen: BTreeSet<u32> = train.iter().map(|r| r.1).collect();
    let train_users: BTreeSet<u32> = train.iter().map(|r| r.0).collect();
    let mut all: BTreeMap<u32, (BTreeSet<u32>, BTreeSet<u32>)> = BTreeMap::new();
    for r in test {
        let e = all.entry(r.0).or_default();
        e.0.insert(r.1);
        if r.3 >= 2 {
            e.1.insert(r.1);
        }
    }
    let (mut dropped, mut dropped_conv) = (0, 0);
    let users = all
        .into_iter()
        .map(|(u, (t, c))| {
            dropped += t.iter().filter(|i| !seen.contains(i)).count() as u64;
            dropped_conv += c.iter().filter(|i| !seen.contains(i)).count() as u64;
            let keep = |s: BTreeSet<u32>| s.into_iter().filter(|i| seen.contains(i)).collect();
            (u, (!train_users.contains(&u), keep(t), keep(c)))
        })
        .collect();
    (users, dropped, dropped_conv)
}

fn targets_of(test: &clickrec_core::TestSet) -> BTreeMap<u32, (bool, Vec<u32>, Vec<u32>)> {
    let ids = |s: &[ItemId]| s.iter().map(|i| i.0).collect::<Vec<_>>();
    test.iter()
        .map(|t| {
            (
                t.user.0,
                (t.cold, ids(t.targets), ids(t.conversion_targets)),
            )
        })
        .collect()
}

fn sessions_of(log: &EventLog, gap: u32) -> Vec<u32> {
    sessionize(log, NonZeroU32::new(gap).expect("non-zero"))
        .expect("few sessions")
        .0
}

fn checked(rule: SplitRule, validation: Option<SplitRule>) -> CheckedSplit {
    let mut config = SplitConfig::default();
    match rule {
        SplitRule::LastSession => config.kind = SplitKind::LastSession,
        SplitRule::Temporal { cutoff } => {
            config.kind = SplitKind::Temporal;
            config.cutoff = Some(cutoff);
        }
        SplitRule::LastEvents { n } => {
            config.kind = SplitKind::LastEvents;
            config.n_events = Some(n.get());
        }
        SplitRule::SessionCutoff { cutoff } => {
            config.kind = SplitKind::SessionCutoff;
            config.cutoff = Some(cutoff);
        }
        SplitRule::TestFile => {
            config.kind = SplitKind::TestFile;
            config.test_path = Some("test.txt".into());
        }
        SplitRule::Random {
            test_fraction,
            seed,
        } => {
            config.kind = SplitKind::Random;
            config.test_fraction = Some(test_fraction);
            config.seed = Some(seed);
        }
    }
    if let Some(v) = validation {
        config.validation = true;
        if let SplitRule::Temporal { cutoff } | SplitRule::SessionCutoff { cutoff } = v {
            config.validation_cutoff = Some(cutoff);
        }
    }
    config.check().expect("valid split config")
}

/// The same rule, one step earlier in time for temporal splits.
fn validation_for(rule: SplitRule) -> SplitRule {
    match rule {
        SplitRule::Temporal { cutoff } => SplitRule::Temporal {
            cutoff: cutoff - 50,
        },
        SplitRule::SessionCutoff { cutoff } => SplitRule::SessionCutoff {
            cutoff: cutoff - 50,
        },
        other => other,
    }
}

proptest! {
    /// A test-file split keeps train whole, holds out the test log whole, and builds
    /// the targets like the reference: unseen items dropped and counted, test users
    /// without train events cold; test sessions are numbered after train's.
    #[test]
    fn test_file_split_matches_reference(
        train_rows in arb_rows(80, 300),
        test_rows in arb_rows(60, 300),
        gap in 1u32..60,
    ) {
        // Test events come after train: the per-user guard has nothing to catch.
        let test_rows: Vec<Row> = test_rows.iter().map(|r| (r.0 + 2, r.1 + 3, r.2, r.3, r.4 + 300)).collect();
        let (train, test) = (log_of(&train_rows), log_of(&test_rows));
        let (train_sessions, test_sessions) = (sessions_of(&train, gap), sessions_of(&test, gap));
        match split_test_file(train, train_sessions.clone(), test, test_sessions.clone(), &TrainFilters::default()) {
            Err(SplitError::NoTrainEvents { .. }) => prop_assert!(train_rows.is_empty()),
            Err(SplitError::NoHeldOutEvents { .. }) => prop_assert!(test_rows.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
            Ok(out) => {
                prop_assert_eq!(rows_of(&out.train), train_rows.clone());
                prop_assert_eq!(rows_of(&out.test_events), test_rows.clone());
                prop_assert_eq!(&out.train_sessions, &train_sessions);
                let first = train_sessions.last().map_or(0, |s| s + 1);
                let shifted: Vec<u32> = test_sessions.iter().map(|s| s + first).collect();
                prop_assert_eq!(&out.test_sessions, &shifted);
                let (targets, dropped, dropped_conv) = naive_targets(&train_rows, &test_rows);
                prop_assert_eq!(targets_of(&out.test), targets);
                let c = out.test.counts();
                prop_assert_eq!((c.dropped_targets, c.dropped_conversion_targets), (dropped, dropped_conv));
                prop_assert_eq!(out.report.test.rule, SplitRule::TestFile);
                prop_assert!(out.validation.is_none());
            }
        }
    }

    /// Train, held-out rows and targets equal the per-user reference, and the guard
    /// passes on every kind (it runs inside `split`, and again here on the output).
    #[test]
    fn every_split_kind_matches_reference_and_passes_the_guard(
        rows in arb_rows(100, 300),
        gap in 1u32..60,
        rule in rule_strategy(),
    ) {
        let log = log_of(&rows);
        let sessions = sessions_of(&log, gap);
        let held = naive_held_out(&rows, &sessions, rule);
        let train: Vec<Row> = rows.iter().zip(&held).filter(|(_, h)| **h == TRAIN).map(|(r, _)| *r).collect();
        let test: Vec<Row> = rows.iter().zip(&held).filter(|(_, h)| **h == HELD).map(|(r, _)| *r).collect();
        let unused = held.iter().filter(|&&h| h == UNUSED).count() as u64;
        match split(&log, &sessions, &checked(rule, None), &TrainFilters::default()) {
            Err(SplitError::NoTrainEvents { .. }) => prop_assert!(train.is_empty()),
            Err(SplitError::NoHeldOutEvents { .. }) => prop_assert!(!train.is_empty() && test.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
            Ok(out) => {
                prop_assert_eq!(rows_of(&out.train), train.clone());
                prop_assert_eq!(rows_of(&out.test_events), test.clone());
                prop_assert_eq!(out.report.test.unused_events, unused);
                let expected_sessions: Vec<u32> =
                    sessions.iter().zip(&held).filter(|(_, h)| **h == TRAIN).map(|(s, _)| *s).collect();
                prop_assert_eq!(&out.train_sessions, &expected_sessions);
                let held_sessions: Vec<u32> =
                    sessions.iter().zip(&held).filter(|(_, h)| **h == HELD).map(|(s, _)| *s).collect();
                prop_assert_eq!(&out.test_sessions, &held_sessions);
                let (targets, dropped, dropped_conv) = naive_targets(&train, &test);
                prop_assert_eq!(targets_of(&out.test), targets);
                let c = out.test.counts();
                prop_assert_eq!((c.dropped_targets, c.dropped_conversion_targets), (dropped, dropped_conv));
                prop_assert_eq!(c.cold_users, out.test.iter().filter(|t| t.cold).count() as u64);
                if !rule.is_global() {
                    // Per-user rules only hold out users that keep train events.
                    prop_assert_eq!(c.cold_users, 0);
                } else {
                    // A global cutoff leaves nothing in train after any test event.
                    let l = out.report.test.leakage.expect("a time-aware split measures leakage");
                    prop_assert_eq!(l.test_users_with_future_train_events, 0);
                    prop_assert_eq!(l.future_train_events_share_max, 0.0);
                }
                prop_assert_eq!(check_leakage(&out.train, &out.test_events, &rule), Ok(()));
                prop_assert!(out.report.test.leakage_guard_passed);
            }
        }
    }

    /// Validation is the same rule applied to train: validation ⊂ train, disjoint from
    /// test, and it passes the guard against the reduced train.
    #[test]
    fn validation_is_carved_from_train(rows in arb_rows(150, 300), gap in 1u32..40, rule in rule_strategy()) {
        let validation = validation_for(rule);
        let log = log_of(&rows);
        let sessions = sessions_of(&log, gap);
        let Ok(out) = split(&log, &sessions, &checked(rule, Some(validation)), &TrainFilters::default()) else {
            return Ok(());
        };
        let v = out.validation.expect("validation requested");
        let mut rejoined = rows_of(&v.train);
        rejoined.extend(rows_of(&v.test_events));
        // By (user, time) first; the rest orders ties, which a random split interleaves.
        rejoined.sort_by_key(|r| (r.0, r.4, r.1, r.2, r.3));
        let mut train = rows_of(&out.train);
        train.sort_by_key(|r| (r.0, r.4, r.1, r.2, r.3));
        if matches!(rule, SplitRule::SessionCutoff { .. }) {
            // A session cutoff may leave events unused: validation is a part of train.
            prop_assert!(rejoined.len() <= train.len());
            prop_assert!(rejoined.iter().all(|r| train.binary_search_by_key(&(r.0, r.4), |t| (t.0, t.4)).is_ok()));
        } else {
            prop_assert_eq!(rejoined, train);
        }
        prop_assert_eq!(check_leakage(&v.train, &v.test_events, &validation), Ok(()));
        let report = out.report.validation.expect("validation report");
        prop_assert_eq!(report.rule, validation);
        prop_assert_eq!(report.train, LogStats::of(&v.train));
        // Targets only count items seen in the validation train log.
        let seen: BTreeSet<ItemId> = v.train.items().iter().copied().collect();
        prop_assert!(v.test.iter().all(|t| t.targets.iter().all(|i| seen.contains(i))));
    }

    /// The same input gives the same split, whatever the thread count.
    #[test]
    fn split_is_deterministic(rows in arb_rows(150, 300), rule in rule_strategy()) {
        let log = log_of(&rows);
        let sessions = sessions_of(&log, 20);
        let config = checked(rule, Some(validation_for(rule)));
        let filters = kcore_filters(2);
        let run = |threads| with_threads(threads, || split(&log, &sessions, &config, &filters));
        let first = run(1);
        prop_assert_eq!(&first, &run(3));
        prop_assert_eq!(&first, &run(1));
    }
}

// ---- leakage guard on constructed splits --------------------------------------------

#[test]
fn guard_catches_a_test_event_before_train() {
    let train = log_of(&[(0, 1, 0, 0, 100), (1, 1, 0, 0, 50), (1, 2, 0, 0, 300)]);
    let test = log_of(&[(0, 2, 0, 0, 200), (1, 3, 0, 0, 299)]);
    for rule in [
        SplitRule::LastSession,
        SplitRule::LastEvents {
            n: NonZeroU32::new(1).expect("non-zero"),
        },
    ] {
        assert_eq!(
            check_leakage(&train, &test, &rule),
            Err(LeakageError::TestBeforeTrain {
                user: UserId(1),
                test_time: 299,
                train_time: 300
            })
        );
    }
    // Swapping train and test of a correct split leaks too.
    let ok_train = log_of(&[(0, 1, 0, 0, 1)]);
    let ok_test = log_of(&[(0, 2, 0, 0, 2)]);
    assert_eq!(
        check_leakage(&ok_train, &ok_test, &SplitRule::LastSession),
        Ok(())
    );
    assert!(check_leakage(&ok_test, &ok_train, &SplitRule::LastSession).is_err());
}

#[test]
fn guard_catches_events_on_the_wrong_side_of_the_cutoff() {
    let rule = SplitRule::Temporal { cutoff: 100 };
    let train = log_of(&[(0, 1, 0, 0, 99), (2, 1, 0, 0, 100)]);
    let test = log_of(&[(0, 2, 0, 0, 150)]);
    for rule in [rule, SplitRule::SessionCutoff { cutoff: 100 }] {
        assert_eq!(
            check_leakage(&train, &test, &rule),
            Err(LeakageError::TrainNotBeforeCutoff {
                user: UserId(2),
                time: 100,
                cutoff: 100
            })
        );
    }
    let train = log_of(&[(0, 1, 0, 0, 99)]);
    let test = log_of(&[(3, 2, 0, 0, 150), (4, 2, 0, 0, 10)]);
    assert_eq!(
        check_leakage(&train, &test, &rule),
        Err(LeakageError::TestBeforeCutoff {
            user: UserId(4),
            time: 10,
            cutoff: 100
        })
    );
    // Per-user rules do not need a cutoff: user 4's test event has no train to precede.
    assert_eq!(
        check_leakage(&train, &test, &SplitRule::LastSession),
        Ok(())
    );
}

#[test]
fn ties_between_train_and_test_are_not_leakage() {
    // Leave-last-1 with two events in the same second: train and test share a time.
    let log = log_of(&[(0, 1, 0, 0, 5), (0, 2, 0, 2, 5)]);
    let sessions = sessions_of(&log, 10);
    let out = split(
        &log,
        &sessions,
        &checked(SplitRule::LastEvents { n: NonZeroU32::MIN }, None),
        &TrainFilters::default(),
    )
    .expect("split");
    assert_eq!(rows_of(&out.test_events), vec![(0, 2, 0, 2, 5)]);
    // Item 2 never occurs in train: dropped from both target sets and counted.
    let c = out.test.counts();
    assert_eq!(
        (
            c.dropped_targets,
            c.dropped_conversion_targets,
            c.users_without_targets
        ),
        (1, 1, 1)
    );
}

#[test]
fn temporal_split_counts_cold_users() {
    let log = log_of(&[
        (0, 1, 0, 0, 10),
        (0, 2, 0, 3, 20),
        (1, 1, 0, 0, 30),
        (2, 2, 0, 0, 5),
    ]);
    let sessions = sessions_of(&log, 1800);
    let out = split(
        &log,
        &sessions,
        &checked(SplitRule::Temporal { cutoff: 15 }, None),
        &TrainFilters::default(),
    )
    .expect("split");
    let t = &out.test;
    assert_eq!(t.users(), &[UserId(0), UserId(1)]);
    assert!(!t.get(0).cold && t.get(1).cold);
    assert_eq!(t.get(0).conversion_targets, &[ItemId(2)]);
    assert_eq!(t.counts().cold_users, 1);
    let text = out.report.to_string();
    assert!(
        text.contains("2 test users (1 cold, 0 without targets)"),
        "{text}"
    );
}

#[test]
fn bad_sessions_are_rejected() {
    let log = log_of(&[(0, 1, 0, 0, 1), (0, 2, 0, 0, 2), (1, 1, 0, 0, 3)]);
    let config = checked(SplitRule::LastSession, None);
    let none = TrainFilters::default();
    assert_eq!(
        split(&log, &[0, 0], &config, &none),
        Err(SplitError::SessionCount {
            rows: 3,
            sessions: 2
        })
    );
    assert_eq!(
        split(&log, &[1, 0, 2], &config, &none),
        Err(SplitError::SessionOrder { row: 1 })
    );
    // A session may not continue into the next user.
    assert_eq!(
        split(&log, &[0, 1, 1], &config, &none),
        Err(SplitError::SessionOrder { row: 2 })
    );
}

#[test]
fn empty_sides_are_errors() {
    let log = log_of(&[(0, 1, 0, 0, 1), (0, 2, 0, 0, 2)]);
    let sessions = sessions_of(&log, 1800);
    assert!(matches!(
        split(
            &log,
            &sessions,
            &checked(SplitRule::LastSession, None),
            &TrainFilters::default()
        ),
        Err(SplitError::NoHeldOutEvents { part: "test", .. })
    ));
    assert!(matches!(
        split(
            &log,
            &sessions,
            &checked(SplitRule::Temporal { cutoff: 0 }, None),
            &TrainFilters::default(),
        ),
        Err(SplitError::NoTrainEvents { part: "test", .. })
    ));
    // Validation splits train again, and says when that part is the empty one.
    let err = split(
        &log,
        &sessions,
        &checked(
            SplitRule::LastEvents { n: NonZeroU32::MIN },
            Some(SplitRule::LastSession),
        ),
        &TrainFilters::default(),
    );
    assert!(
        matches!(
            err,
            Err(SplitError::NoHeldOutEvents {
                part: "validation",
                ..
            })
        ),
        "{err:?}"
    );
    let err = split(
        &log,
        &sessions,
        &checked(
            SplitRule::Temporal { cutoff: 2 },
            Some(SplitRule::Temporal { cutoff: 0 }),
        ),
        &TrainFilters::default(),
    );
    assert!(
        matches!(
            err,
            Err(SplitError::NoTrainEvents {
                part: "validation",
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn test_file_split_guards_leakage_and_needs_its_file() {
    // User 0 has a test event (t = 5) before its last train event (t = 9).
    let train = log_of(&[(0, 1, 0, 0, 1), (0, 2, 0, 0, 9)]);
    let test = log_of(&[(0, 1, 0, 0, 5), (1, 3, 0, 0, 20)]);
    let err = split_test_file(
        train.clone(),
        vec![0, 0],
        test,
        vec![0, 1],
        &TrainFilters::default(),
    )
    .expect_err("leak");
    assert!(
        matches!(
            err,
            SplitError::Leakage {
                source: LeakageError::TestBeforeTrain { .. },
                ..
            }
        ),
        "{err}"
    );
    let sessions = [0, 0];
    let err = split(
        &train,
        &sessions,
        &checked(SplitRule::TestFile, None),
        &TrainFilters::default(),
    )
    .expect_err("no file");
    assert_eq!(err, SplitError::NeedsTestFile);
    // Unsorted session numbers are refused before anything is split.
    let test = log_of(&[(1, 3, 0, 0, 20), (1, 2, 0, 0, 21)]);
    let err = split_test_file(
        train,
        vec![0, 0],
        test,
        vec![1, 0],
        &TrainFilters::default(),
    )
    .expect_err("bad order");
    assert_eq!(err, SplitError::SessionOrder { row: 1 });
}

// ---- configuration ----------------------------------------------------------------

fn split_config(text: &str) -> Result<CheckedSplit, ConfigError> {
    toml::from_str::<SplitConfig>(text).expect("parses").check()
}

#[test]
fn split_defaults_to_a_session_cutoff_without_validation() {
    let c = split_config("").expect("valid");
    let rule = SplitSpec::Rule;
    assert_eq!(
        (c.rule(), c.validation()),
        (
            SplitSpec::SessionFraction {
                test_fraction: DEFAULT_TEST_FRACTION
            },
            None
        )
    );
    assert_eq!(c, CheckedSplit::default());
    let c = split_config("kind = \"last_events\"\nvalidation = true").expect("valid");
    let one = rule(SplitRule::LastEvents { n: NonZeroU32::MIN });
    assert_eq!((c.rule(), c.validation()), (one, Some(one)));
    let c = split_config(
        "kind = \"temporal\"\ncutoff = 100\nvalidation = true\nvalidation_cutoff = 50",
    )
    .expect("valid");
    assert_eq!(
        c.validation(),
        Some(rule(SplitRule::Temporal { cutoff: 50 }))
    );
    let c = split_config("kind = \"session_cutoff\"\ntest_fraction = 0.2\nvalidation = true")
        .expect("valid");
    let fraction = SplitSpec::SessionFraction { test_fraction: 0.2 };
    assert_eq!((c.rule(), c.validation()), (fraction, Some(fraction)));
}

#[test]
fn random_split_holds_out_a_share_of_each_users_items() {
    // User 0 has 10 distinct items (two events on item 3), user 1 one item.
    let mut rows: Vec<Row> = (0..10).map(|i| (0, i, 0, 0, i64::from(i))).collect();
    rows.push((0, 3, 0, 0, 20));
    rows.push((1, 4, 0, 0, 5));
    let log = log_of(&rows);
    let sessions = sessions_of(&log, 1);
    let config = split_config("kind = \"random\"\ntest_fraction = 0.3\nseed = 7").expect("valid");
    let out = split(&log, &sessions, &config, &TrainFilters::default()).expect("split");
    let held: BTreeSet<u32> = out.test_events.items().iter().map(|i| i.0).collect();
    assert_eq!(held.len(), 3, "round(0.3 × 10) items of user 0");
    assert!(
        out.test_events.users().iter().all(|u| u.0 == 0),
        "user 1 has one item only"
    );
    let trained_by_0: BTreeSet<u32> = rows_of(&out.train)
        .iter()
        .filter(|r| r.0 == 0)
        .map(|r| r.1)
        .collect();
    assert_eq!(trained_by_0.len(), 7);
    assert!(
        held.is_disjoint(&trained_by_0),
        "an item is held out with all its events"
    );
    assert_eq!(out.report.test.leakage, None);
    assert!(out.report.to_string().contains("leakage not measurable"));
    let again = split(&log, &sessions, &config, &TrainFilters::default()).expect("split");
    assert_eq!(
        again.test_events, out.test_events,
        "the same seed, the same split"
    );
    let moved = (0..20).any(|seed| {
        let c = split_config(&format!(
            "kind = \"random\"\ntest_fraction = 0.3\nseed = {seed}"
        ))
        .expect("valid");
        let other = split(&log, &sessions, &c, &TrainFilters::default()).expect("split");
        other.test_events != out.test_events
    });
    assert!(moved, "another seed draws other items");
    for bad in ["test_fraction = 1.0", "test_fraction = 0", "cutoff = 5"] {
        assert!(
            split_config(&format!("kind = \"random\"\n{bad}")).is_err(),
            "{bad}"
        );
    }
    assert!(split_config("kind = \"last_session\"\nseed = 1").is_err());
}

#[test]
fn unknown_split_kind_is_rejected() {
    let err = toml::from_str::<SplitConfig>("kind = \"shuffled\"").expect_err("bad enum");
    assert!(err.to_string().contains("shuffled"), "{err}");
    let err = toml::from_str::<SplitConfig>("cutof = 5").expect_err("unknown key");
    assert!(err.to_string().contains("cutof"), "{err}");
}

#[test]
fn cutoffs_are_unix_seconds_or_utc_dates() {
    let c = split_config("kind = \"temporal\"\ncutoff = \"2017-12-03\"").expect("a date");
    assert_eq!(
        c.rule(),
        SplitSpec::Rule(SplitRule::Temporal {
            cutoff: 1_512_259_200
        })
    );
    let c = split_config(
        "cutoff = \"2017-12-03 01:00:00\"\nvalidation = true\nvalidation_cutoff = 1512000000",
    )
    .expect("a date-time and seconds");
    assert_eq!(
        c.rule(),
        SplitSpec::Rule(SplitRule::SessionCutoff {
            cutoff: 1_512_262_800
        })
    );
    let err = toml::from_str::<SplitConfig>("cutoff = \"3 Dec\"").expect_err("not a date");
    assert!(
        err.to_string()
            .contains("expected Unix seconds or a UTC date"),
        "{err}"
    );
}

#[test]
fn temporal_split_requires_a_cutoff() {
    let e = split_config("kind = \"temporal\"").expect_err("missing");
    assert_eq!((e.key, e.found.as_str()), ("split.cutoff", "nothing"));
}

#[test]
fn keys_of_another_kind_are_rejected() {
    let e = split_config("kind = \"last_session\"\ncutoff = 5").expect_err("not temporal");
    assert_eq!(e.key, "split.cutoff");
    assert!(
        e.to_string()
            .contains("applies only to split.kind = \"temporal\" or \"session_cutoff\""),
        "{e}"
    );
    assert_eq!(
        split_config("kind = \"last_session\"\ntest_fraction = 0.1")
            .expect_err("not session_cutoff")
            .key,
        "split.test_fraction"
    );
    assert_eq!(
        split_config("n_events = 2")
            .expect_err("not last_events")
            .key,
        "split.n_events"
    );
}

#[test]
fn test_file_split_needs_a_path_and_no_validation() {
    let c = split_config("kind = \"test_file\"\ntest_path = \"valid.txt\"").expect("valid");
    assert_eq!(
        (c.rule(), c.validation()),
        (SplitSpec::Rule(SplitRule::TestFile), None)
    );
    let e = split_config("kind = \"test_file\"").expect_err("missing");
    assert_eq!((e.key, e.found.as_str()), ("split.test_path", "nothing"));
    let e = split_config("test_path = \"valid.txt\"").expect_err("not test_file");
    assert_eq!((e.key, e.found.as_str()), ("split.test_path", "valid.txt"));
    let e = split_config("kind = \"test_file\"\ntest_path = \"v.txt\"\nvalidation = true")
        .expect_err("validation");
    assert_eq!(e.key, "split.validation");
}

#[test]
fn zero_held_out_events_is_rejected() {
    let e = split_config("kind = \"last_events\"\nn_events = 0").expect_err("zero");
    assert_eq!((e.key, e.found.as_str()), ("split.n_events", "0"));
}

#[test]
fn validation_cutoff_must_precede_the_cutoff() {
    let base = "kind = \"temporal\"\ncutoff = 100\nvalidation = true\n";
    let e = split_config(&format!("{base}validation_cutoff = 100")).expect_err("not before");
    assert_eq!(e.key, "split.validation_cutoff");
    let e = split_config(base).expect_err("missing");
    assert_eq!(
        (e.key, e.found.as_str()),
        ("split.validation_cutoff", "nothing")
    );
    let e = split_config("kind = \"temporal\"\ncutoff = 100\nvalidation_cutoff = 5")
        .expect_err("unused");
    assert_eq!(e.key, "split.validation_cutoff");
}

#[test]
fn session_cutoff_is_the_default_and_takes_one_cutoff_and_a_fraction_inside_zero_one() {
    // An empty table, or the kind alone, holds out the default share of sessions.
    let default = SplitSpec::SessionFraction {
        test_fraction: DEFAULT_TEST_FRACTION,
    };
    for table in ["", "kind = \"session_cutoff\""] {
        assert_eq!(
            split_config(table).expect("default").rule(),
            default,
            "{table:?}"
        );
    }
    let cut = split_config("cutoff = 5").expect("a cutoff alone");
    assert_eq!(
        cut.rule(),
        SplitSpec::Rule(SplitRule::SessionCutoff { cutoff: 5 })
    );
    let e = split_config("kind = \"session_cutoff\"\ncutoff = 5\ntest_fraction = 0.1")
        .expect_err("both");
    assert_eq!(e.key, "split.cutoff");
    for bad in ["0.0", "1.0", "1.5", "-0.1", "nan"] {
        let e = split_config(&format!("kind = \"session_cutoff\"\ntest_fraction = {bad}"))
            .expect_err("outside (0, 1)");
        assert_eq!(e.key, "split.test_fraction", "{bad}");
    }
}

// ---- leak-free held-out sessions ----------------------------------------------------

fn kcore_filters(min_users_per_item: u32) -> TrainFilters {
    let prep: crate::PrepConfig = toml::from_str(&format!(
        "[kcore]\nmin_users_per_item = {min_users_per_item}"
    ))
    .expect("valid toml");
    prep.check().expect("valid").train_filters()
}

#[test]
fn session_cutoff_holds_out_the_first_session_after_the_cutoff() {
    // Sessions of 10 s gap. User 0: a session spanning the cutoff 100 (its tail is
    // unused), then two sessions after it (the first is test). User 1: only after the
    // cutoff, so cold. User 2: only before, so train only.
    let log = log_of(&[
        (0, 1, 0, 0, 95),
        (0, 2, 0, 0, 101),
        (0, 3, 0, 0, 200),
        (0, 1, 0, 3, 205),
        (0, 4, 0, 0, 300),
        (1, 1, 0, 0, 150),
        (2, 3, 0, 0, 50),
    ]);
    let sessions = sessions_of(&log, 10);
    let rule = SplitRule::SessionCutoff { cutoff: 100 };
    let out = split(
        &log,
        &sessions,
        &checked(rule, None),
        &TrainFilters::default(),
    )
    .expect("split");
    assert_eq!(
        rows_of(&out.train),
        vec![(0, 1, 0, 0, 95), (2, 3, 0, 0, 50)]
    );
    assert_eq!(
        rows_of(&out.test_events),
        vec![(0, 3, 0, 0, 200), (0, 1, 0, 3, 205), (1, 1, 0, 0, 150)]
    );
    assert_eq!(out.report.test.unused_events, 2);
    let t = &out.test;
    assert_eq!(t.users(), &[UserId(0), UserId(1)]);
    assert!(!t.get(0).cold && t.get(1).cold);
    assert_eq!(t.get(0).targets, &[ItemId(1), ItemId(3)]);
    assert_eq!(
        out.report
            .test
            .leakage
            .unwrap()
            .future_train_events_share_max,
        0.0
    );

    // The fraction form puts the cutoff at a quantile of session starts: five sessions
    // start at 50, 95, 150, 200 and 300, and a fraction of 0.43 leaves the last three
    // at or after the cutoff.
    let config = toml::from_str::<SplitConfig>("kind = \"session_cutoff\"\ntest_fraction = 0.43")
        .expect("toml")
        .check()
        .expect("valid");
    let out = split(&log, &sessions, &config, &TrainFilters::default()).expect("split");
    assert_eq!(
        out.report.test.rule,
        SplitRule::SessionCutoff { cutoff: 150 }
    );
}

#[test]
fn last_session_measures_other_users_later_train_events() {
    // User 0's last session starts at 100; user 1 trains at 200 and 300 and is tested
    // at 1000. Train holds 4 events: (0, 10), (1, 200), (1, 300), (1, 20).
    let log = log_of(&[
        (0, 1, 0, 0, 10),
        (0, 2, 0, 0, 100),
        (1, 1, 0, 0, 20),
        (1, 2, 0, 0, 200),
        (1, 3, 0, 0, 300),
        (1, 1, 0, 0, 1000),
    ]);
    let sessions = sessions_of(&log, 50);
    let out = split(
        &log,
        &sessions,
        &checked(SplitRule::LastSession, None),
        &TrainFilters::default(),
    )
    .expect("split");
    let l = out.report.test.leakage.unwrap();
    // User 0: 2 of 4 train events (200, 300) are at or after 100; user 1: none.
    assert_eq!(l.test_users, 2);
    assert_eq!(l.test_users_with_future_train_events, 1);
    assert!((l.future_train_events_share_max - 0.5).abs() < 1e-12);
    assert!((l.future_train_events_share_mean - 0.25).abs() < 1e-12);
    assert!(out.report.to_string().contains("1 of 2 test users"));
}

#[test]
fn kcore_learned_on_train_only_keeps_other_items_than_on_the_whole_log() {
    // Item 2 has one train user (0) and one test user (1): the whole log's 2-core on
    // items keeps it, the train's does not, so user 1's test event on it is dropped.
    let rows = [
        (0, 1, 0, 0, 10),
        (0, 2, 0, 0, 20),
        (0, 1, 0, 0, 200),
        (1, 1, 0, 0, 30),
        (1, 2, 0, 0, 300),
        (2, 1, 0, 0, 40),
    ];
    let log = log_of(&rows);
    let filters = kcore_filters(2);
    let params = filters.kcore.expect("k-core on");
    let (whole, _) = crate::k_core(log_of(&rows), &params);
    assert!(whole.items().contains(&ItemId(2)));

    let sessions = sessions_of(&log, 10);
    let rule = SplitRule::SessionCutoff { cutoff: 100 };
    let out = split(&log, &sessions, &checked(rule, None), &filters).expect("split");
    assert!(!out.train.items().contains(&ItemId(2)));
    assert_eq!(
        rows_of(&out.train),
        vec![(0, 1, 0, 0, 10), (1, 1, 0, 0, 30), (2, 1, 0, 0, 40)]
    );
    assert_eq!(out.train_sessions.len(), out.train.len());
    assert_eq!(rows_of(&out.test_events), vec![(0, 1, 0, 0, 200)]);
    let step = &out.report.test.filters[0];
    assert_eq!(step.train.step, "kcore");
    assert_eq!((step.test_events_dropped, step.test_users_dropped), (1, 1));
    assert_eq!(out.test.users(), &[UserId(0)]);
}

// ---- compacted item ids -------------------------------------------------------------

/// `log` with each item `i` renamed to `kept[i]` (back into the input's id space).
fn rows_in_input_ids(log: &EventLog, kept: &[ItemId]) -> Vec<Row> {
    rows_of(log)
        .into_iter()
        .map(|(u, i, c, b, t)| (u, kept[i as usize].0, c, b, t))
        .collect()
}

fn targets_in_input_ids(
    test: &clickrec_core::TestSet,
    kept: &[ItemId],
) -> BTreeMap<u32, (bool, Vec<u32>, Vec<u32>)> {
    targets_of(test)
        .into_iter()
        .map(|(u, (cold, t, c))| {
            let back = |v: Vec<u32>| v.into_iter().map(|i| kept[i as usize].0).collect();
            (u, (cold, back(t), back(c)))
        })
        .collect()
}

proptest! {
    #[test]
    fn compacted_items_are_the_remaining_ones_in_input_order(
        rows in arb_rows(150, 300),
        gap in 1u32..40,
        min_users in 1u32..3,
        rule in rule_strategy(),
    ) {
        let log = log_of(&rows);
        let sessions = sessions_of(&log, gap);
        let config = checked(rule, Some(validation_for(rule)));
        let Ok(before) = split(&log, &sessions, &config, &kcore_filters(min_users)) else {
            return Ok(());
        };
        let mut after = before.clone();
        let compact = after.compact_items(20);
        let kept = &compact.kept;
        // Increasing, so ties broken by lower id are broken alike; exactly the items of
        // train and held-out events.
        prop_assert!(kept.windows(2).all(|w| w[0] < w[1]));
        let remaining: BTreeSet<ItemId> = before
            .train
            .items()
            .iter()
            .chain(before.test_events.items())
            .copied()
            .collect();
        prop_assert_eq!(kept.iter().copied().collect::<BTreeSet<_>>(), remaining);
        let train_items: BTreeSet<ItemId> = before.train.items().iter().copied().collect();
        prop_assert_eq!(
            compact.report.held_out_only_items as usize,
            kept.len() - train_items.len()
        );
        prop_assert_eq!(compact.report.input_items, 20);
        prop_assert_eq!(after.report.items, Some(compact.report));
        // Every part maps back to what the split gave.
        prop_assert_eq!(rows_in_input_ids(&after.train, kept), rows_of(&before.train));
        prop_assert_eq!(
            rows_in_input_ids(&after.test_events, kept),
            rows_of(&before.test_events)
        );
        prop_assert_eq!(targets_in_input_ids(&after.test, kept), targets_of(&before.test));
        prop_assert_eq!(after.test.counts(), before.test.counts());
        prop_assert_eq!(
            after.validation.is_some(),
            before.validation.is_some()
        );
        if let (Some(a), Some(b)) = (&after.validation, &before.validation) {
            prop_assert_eq!(rows_in_input_ids(&a.train, kept), rows_of(&b.train));
            prop_assert_eq!(rows_in_input_ids(&a.test_events, kept), rows_of(&b.test_events));
            prop_assert_eq!(targets_in_input_ids(&a.test, kept), targets_of(&b.test));
        }
    }
}

#[test]
fn compaction_drops_the_items_the_kcore_removed() {
    // As in the k-core test above: item 2 leaves train, and with it its test event.
    // Items 0 and 3..9 never occur. Item 1 is the only one left: it becomes item 0.
    let log = log_of(&[
        (0, 1, 0, 0, 10),
        (0, 2, 0, 0, 20),
        (0, 1, 0, 0, 200),
        (1, 1, 0, 0, 30),
        (1, 2, 0, 0, 300),
        (2, 1, 0, 0, 40),
    ]);
    let sessions = sessions_of(&log, 10);
    let rule = SplitRule::SessionCutoff { cutoff: 100 };
    let mut out = split(&log, &sessions, &checked(rule, None), &kcore_filters(2)).expect("split");
    let compact = out.compact_items(10);
    assert_eq!(compact.kept, vec![ItemId(1)]);
    assert_eq!(
        rows_of(&out.train),
        vec![(0, 0, 0, 0, 10), (1, 0, 0, 0, 30), (2, 0, 0, 0, 40)]
    );
    assert_eq!(rows_of(&out.test_events), vec![(0, 0, 0, 0, 200)]);
    assert_eq!(out.test.get(0).targets, &[ItemId(0)]);
    assert!(out.report.to_string().contains(
        "item ids compacted: 1 of the input's 10 items kept (0 only in held-out events)"
    ));
}
