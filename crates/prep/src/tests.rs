//! Each step against a naive reference on small random logs, and config checking.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroU32;

use clickrec_core::{Behavior, SessionId, UserId};
use proptest::prelude::*;

use crate::testing::{Row, arb_rows, log_of, rows_of, with_threads};
use crate::*;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("non-zero")
}

// ---- naive references -------------------------------------------------------------

/// Dedup by the definition: an exact duplicate equals an earlier event in all five
/// fields; a repeat follows the latest earlier event with the same (user, item,
/// behaviour) by at most `window` seconds.
fn naive_dedup(rows: &[Row], exact: bool, window: u32) -> (Vec<Row>, u64, u64) {
    let (mut kept, mut n_exact, mut n_repeat) = (Vec::new(), 0, 0);
    for (i, r) in rows.iter().enumerate() {
        if exact && rows[..i].contains(r) {
            n_exact += 1;
            continue;
        }
        let previous = rows[..i]
            .iter()
            .rev()
            .find(|p| (p.0, p.1, p.3) == (r.0, r.1, r.3));
        if window > 0
            && let Some(p) = previous
            && r.4 - p.4 <= i64::from(window)
        {
            n_repeat += 1;
            continue;
        }
        kept.push(*r);
    }
    (kept, n_exact, n_repeat)
}

fn naive_outliers(rows: &[Row], max: u32, offset: i64) -> (Vec<Row>, u64) {
    let mut per_day: HashMap<(u32, i64), u32> = HashMap::new();
    for r in rows {
        *per_day
            .entry((r.0, (r.4 + offset).div_euclid(86_400)))
            .or_default() += 1;
    }
    let bad: BTreeSet<u32> = per_day
        .iter()
        .filter(|(_, c)| **c > max)
        .map(|((u, _), _)| *u)
        .collect();
    let kept = rows
        .iter()
        .filter(|r| !bad.contains(&r.0))
        .copied()
        .collect();
    (kept, bad.len() as u64)
}

fn naive_min_events(rows: &[Row], per_user: usize, per_item: usize) -> Vec<Row> {
    let mut users: HashMap<u32, usize> = HashMap::new();
    let mut items: HashMap<u32, usize> = HashMap::new();
    for r in rows {
        *users.entry(r.0).or_default() += 1;
        *items.entry(r.1).or_default() += 1;
    }
    rows.iter()
        .filter(|r| users[&r.0] >= per_user && items[&r.1] >= per_item)
        .copied()
        .collect()
}

/// Synchronous rounds, recounting distinct pairs from scratch each round.
fn naive_kcore(rows: &[Row], ku: usize, ki: usize) -> (Vec<Row>, u32) {
    let mut rows = rows.to_vec();
    let mut rounds = 0;
    loop {
        let pairs: BTreeSet<(u32, u32)> = rows.iter().map(|r| (r.0, r.1)).collect();
        let mut du: HashMap<u32, usize> = HashMap::new();
        let mut di: HashMap<u32, usize> = HashMap::new();
        for (u, i) in &pairs {
            *du.entry(*u).or_default() += 1;
            *di.entry(*i).or_default() += 1;
        }
        let next: Vec<Row> = rows
            .iter()
            .filter(|r| du[&r.0] >= ku && di[&r.1] >= ki)
            .copied()
            .collect();
        if next.len() == rows.len() {
            return (rows, rounds);
        }
        rounds += 1;
        rows = next;
    }
}

fn naive_sessions(rows: &[Row], gap: i64) -> Vec<u32> {
    let mut out = Vec::new();
    let mut session: i64 = -1;
    for (i, r) in rows.iter().enumerate() {
        if i == 0 || rows[i - 1].0 != r.0 || r.4 - rows[i - 1].4 > gap {
            session += 1;
        }
        out.push(session as u32);
    }
    out
}

fn naive_matrix(rows: &[Row], weights: &CheckedWeights) -> BTreeMap<(u32, u32), f32> {
    let t_ref = rows.iter().map(|r| r.4).max().unwrap_or(0);
    let mut sums: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    for r in rows {
        let base = weights.weight(Behavior::from_code(r.3).expect("code"));
        if base == 0.0 {
            continue;
        }
        let decay = weights
            .half_life_s()
            .map_or(1.0, |h| (-((t_ref - r.4) as f64) / h).exp2());
        *sums.entry((r.0, r.1)).or_default() += base * decay;
    }
    sums.into_iter()
        .map(|(k, s)| (k, if weights.log_scale() { s.ln_1p() } else { s } as f32))
        .collect()
}

fn weights_of(pv: f64, fav: f64, half_life_s: Option<f64>, log_scale: bool) -> CheckedWeights {
    WeightsConfig {
        pv,
        fav,
        cart: 3.0,
        buy: 4.0,
        half_life_s,
        log_scale,
    }
    .check()
    .expect("valid weights")
}

// ---- steps against the references --------------------------------------------------

proptest! {
    #[test]
    fn dedup_matches_reference(rows in arb_rows(80, 40), exact: bool, window in 0u32..15) {
        prop_assume!(exact || window > 0);
        let params = DedupParams { exact, repeat_window_s: window };
        let (log, details) = dedup(log_of(&rows), &params);
        let (expected, n_exact, n_repeat) = naive_dedup(&rows, exact, window);
        prop_assert_eq!(rows_of(&log), expected);
        prop_assert_eq!((details.exact_duplicates, details.repeats), (n_exact, n_repeat));
    }

    #[test]
    fn time_window_matches_reference(rows in arb_rows(60, 100), start in 0i64..60, len in 1i64..60, open in 0u8..3) {
        let config = WindowConfig {
            start: (open != 1).then_some(start),
            end: (open != 2).then_some(start + len),
        };
        let window = config.check().expect("valid").expect("on");
        let (log, _) = filter_time_window(log_of(&rows), &window);
        let expected: Vec<Row> = rows
            .iter()
            .filter(|r| config.start.is_none_or(|s| r.4 >= s) && config.end.is_none_or(|e| r.4 < e))
            .copied()
            .collect();
        prop_assert_eq!(rows_of(&log), expected);
    }

    #[test]
    fn outliers_match_reference(rows in arb_rows(80, 4 * 86_400), max in 1u32..6, offset_h in -12i32..13) {
        let params = OutlierParams { max_events_per_day: nz(max), utc_offset_s: offset_h * 3600 };
        let (log, details) = remove_outlier_users(log_of(&rows), &params);
        let (expected, removed) = naive_outliers(&rows, max, i64::from(offset_h) * 3600);
        prop_assert_eq!(rows_of(&log), expected);
        prop_assert_eq!(details.users_removed, removed);
    }

    #[test]
    fn min_events_match_reference(rows in arb_rows(80, 100), per_user in 1u32..8, per_item in 1u32..8) {
        let params = MinEventsParams { per_user: nz(per_user), per_item: nz(per_item) };
        let (log, _) = filter_min_events(log_of(&rows), &params);
        prop_assert_eq!(rows_of(&log), naive_min_events(&rows, per_user as usize, per_item as usize));
    }

    #[test]
    fn kcore_matches_reference(rows in arb_rows(120, 100), ku in 1u32..5, ki in 1u32..5) {
        let params = KCoreParams { min_items_per_user: nz(ku), min_users_per_item: nz(ki) };
        let (log, details) = k_core(log_of(&rows), &params);
        let (expected, rounds) = naive_kcore(&rows, ku as usize, ki as usize);
        let pairs: BTreeSet<(u32, u32)> = expected.iter().map(|r| (r.0, r.1)).collect();
        prop_assert_eq!(rows_of(&log), expected);
        prop_assert_eq!(details.rounds, rounds);
        prop_assert_eq!(details.pairs_out, pairs.len() as u64);
    }

    #[test]
    fn sessions_match_reference(rows in arb_rows(80, 200), gap in 1u32..60) {
        let log = log_of(&rows);
        let (sessions, details) = sessionize(&log, nz(gap)).expect("few sessions");
        let expected = naive_sessions(&rows, i64::from(gap));
        prop_assert_eq!(details.sessions, expected.last().map_or(0, |&s| u64::from(s) + 1));
        let mut per_user: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
        for (r, s) in rows.iter().zip(&expected) {
            per_user.entry(r.0).or_default().insert(*s);
        }
        let multi = per_user.values().filter(|s| s.len() >= 2).count() as u64;
        prop_assert_eq!(details.multi_session_users, multi);
        prop_assert_eq!(sessions, expected);
    }

    /// Bit-identical to summing in time order: the matrix has one defined value.
    #[test]
    fn matrix_matches_reference(
        rows in arb_rows(80, 1000),
        pv in 0u8..3,
        half_life in proptest::option::of(1.0f64..500.0),
        log_scale: bool,
    ) {
        let weights = weights_of(f64::from(pv), 2.0, half_life, log_scale);
        let m = build_matrix(&log_of(&rows), 7, 9, &weights).expect("ids in range");
        let mut got = BTreeMap::new();
        for u in 0..7 {
            let (items, values) = m.row(UserId(u));
            for (&i, &v) in items.iter().zip(values) {
                got.insert((u, i), v);
            }
        }
        prop_assert_eq!(got, naive_matrix(&rows, &weights));
        prop_assert_eq!((m.n_users(), m.n_items()), (7, 9));
    }

    /// A user's train events added to an empty row give exactly their matrix row, and a
    /// row built from the first events plus the rest added equals the row of all of them.
    #[test]
    fn added_events_extend_a_row_as_the_matrix_weighs_them(
        rows in arb_rows(80, 1000),
        pv in 0u8..3,
        log_scale: bool,
        cut in 0usize..80,
    ) {
        let weights = weights_of(f64::from(pv), 2.0, None, log_scale);
        let log = log_of(&rows);
        let m = build_matrix(&log, 7, 9, &weights).expect("ids in range");
        let log = &log;
        let events = |range: std::ops::Range<usize>, u: u32| {
            range
                .filter(|&r| log.users()[r] == UserId(u))
                .map(|r| (log.items()[r], log.behaviors()[r]))
                .collect::<Vec<_>>()
        };
        let cut = cut.min(log.len());
        let first = build_matrix(&retain_rows(log.clone(), &(0..log.len()).map(|r| r < cut).collect::<Vec<_>>()), 7, 9, &weights)
            .expect("ids in range");
        for u in 0..7 {
            let (cols, vals) = m.row(UserId(u));
            let from_nothing = weights.add_events((&[], &[]), events(0..log.len(), u));
            prop_assert_eq!((&from_nothing.0[..], &from_nothing.1[..]), (cols, vals));
            let (c, v) = weights.add_events(first.row(UserId(u)), events(cut..log.len(), u));
            prop_assert_eq!(&c[..], cols);
            for (a, b) in v.iter().zip(vals) {
                prop_assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{} vs {}", a, b);
            }
        }
    }

    /// The row-level chain equals the references composed in the documented order; the
    /// learned filters (outliers, min events, k-core) wait for the split.
    #[test]
    fn prepare_composes_the_steps(rows in arb_rows(120, 3 * 86_400)) {
        let config: PrepConfig = toml::from_str(
            "[window]\nstart = 1000\n[dedup]\nrepeat_window_s = 5000\n\
             [outlier_users]\nmax_events_per_day = 12\n[min_events]\nper_user = 2\n\
             [kcore]\nmin_items_per_user = 2\nmin_users_per_item = 2\n[session]\ngap_s = 7200\n",
        ).expect("valid toml");
        let prepared = prepare(log_of(&rows), &config.check().expect("valid")).expect("prepared");
        let mut expected: Vec<Row> = rows.iter().filter(|r| r.4 >= 1000).copied().collect();
        expected = naive_dedup(&expected, true, 5000).0;
        prop_assert_eq!(rows_of(&prepared.log), expected.clone());
        prop_assert_eq!(prepared.sessions, naive_sessions(&expected, 7200));
        let names: Vec<&str> = prepared.report.steps.iter().map(|s| s.step).collect();
        prop_assert_eq!(names, ["time_window", "dedup", "sessions"]);
        for w in prepared.report.steps.windows(2) {
            prop_assert_eq!((w[0].rows_out, w[0].users_out, w[0].items_out), (w[1].rows_in, w[1].users_in, w[1].items_in));
        }
        prop_assert_eq!(prepared.report.output, LogStats::of(&prepared.log));
        prop_assert_eq!(prepared.report.input, LogStats::of(&log_of(&rows)));
    }

    /// One thread or several: the same log, sessions, report and matrix.
    #[test]
    fn results_do_not_depend_on_threads(rows in arb_rows(150, 3 * 86_400)) {
        let config: PrepConfig = toml::from_str(
            "[dedup]\nrepeat_window_s = 600\n[kcore]\nmin_items_per_user = 2\n\
             [weights]\nhalf_life_s = 86400\nlog_scale = true\n",
        ).expect("valid toml");
        let checked = config.check().expect("valid");
        let run = |threads| with_threads(threads, || {
            let p = prepare(log_of(&rows), &checked).expect("prepared");
            let m = build_matrix(&p.log, 6, 8, checked.weights()).expect("in range");
            (p, m)
        });
        prop_assert_eq!(run(1), run(3));
    }
}

// ---- edge cases -------------------------------------------------------------------

#[test]
fn row_weights_multiply_behaviour_weights_and_survive_filters() {
    // User 0: a view of item 1 weighing 3, a buy of item 2 weighing 0.5.
    let log = log_of(&[(0, 1, 0, 0, 10), (0, 2, 0, 3, 20), (1, 1, 0, 0, 5)])
        .with_weights(vec![3.0, 0.5, 2.0])
        .expect("one weight per row");
    let w = weights_of(1.0, 2.0, None, false);
    let m = build_matrix(&log, 2, 3, &w).expect("in range");
    // A buy weighs 4 here: 0.5 × 4.
    assert_eq!(m.row(UserId(0)), (&[1, 2][..], &[3.0, 2.0][..]));
    assert_eq!(m.row(UserId(1)), (&[1][..], &[2.0][..]));
    let kept = retain_rows(log, &[true, false, true]);
    assert_eq!(kept.weights(), Some(&[3.0, 2.0][..]));
}

#[test]
fn build_matrix_rejects_ids_outside_the_shape() {
    let log = log_of(&[(0, 5, 0, 0, 1), (3, 1, 0, 0, 1)]);
    let w = CheckedWeights::default();
    assert!(matches!(
        build_matrix(&log, 3, 9, &w),
        Err(clickrec_core::MatrixError::IdOutOfRange {
            kind: "user",
            id: 3,
            ..
        })
    ));
    assert!(matches!(
        build_matrix(&log, 4, 5, &w),
        Err(clickrec_core::MatrixError::IdOutOfRange {
            kind: "item",
            id: 5,
            ..
        })
    ));
}

#[test]
fn empty_log_passes_every_step() {
    let config: PrepConfig = toml::from_str(
        "[window]\nend = 10\n[dedup]\nrepeat_window_s = 5\n[outlier_users]\nmax_events_per_day = 1\n\
         [min_events]\nper_item = 3\n[kcore]\nmin_users_per_item = 2\n",
    )
    .expect("valid toml");
    let p = prepare(log_of(&[]), &config.check().expect("valid")).expect("prepared");
    assert!(p.log.is_empty() && p.sessions.is_empty());
    assert_eq!(p.report.steps.len(), 3);
    let m = build_matrix(&p.log, 2, 2, &CheckedWeights::default()).expect("empty matrix");
    assert_eq!(m.nnz(), 0);
}

#[test]
fn report_lines_read_well() {
    let rows = [(0, 1, 0, 0, 5), (0, 1, 0, 0, 5), (1, 2, 0, 0, 9)];
    let p = prepare(log_of(&rows), &CheckedPrep::default()).expect("prepared");
    let text = p.report.to_string();
    assert!(
        text.contains(
            "dedup: rows 3 → 2, users 2 → 2, items 2 → 2 (1 exact duplicates, 0 repeats within 0 s)"
        ),
        "{text}"
    );
    assert!(text.contains("sessions: rows 2 → 2"), "{text}");
    let json = serde_json::to_value(&p.report).expect("json");
    assert_eq!(json["steps"][0]["details"]["exact_duplicates"], 1);
    assert_eq!(json["steps"][0]["step"], "dedup");
}

// ---- given sessions ---------------------------------------------------------------

/// A new session where the user or the given session changes (the definition).
fn naive_given_sessions(users: &[u32], given: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut session: i64 = -1;
    for i in 0..users.len() {
        if i == 0 || users[i] != users[i - 1] || given[i] != given[i - 1] {
            session += 1;
        }
        out.push(session as u32);
    }
    out
}

fn with_given(rows: &[Row], given: &[u32]) -> clickrec_core::EventLog {
    log_of(rows)
        .with_given_sessions(given.iter().map(|&s| SessionId(s)).collect())
        .expect("one session per row")
}

proptest! {
    /// Given sessions follow their rows through the filters and replace the gap: the
    /// prepared sessions are the reference numbering of the kept rows' given sessions.
    #[test]
    fn given_sessions_survive_prep_and_replace_the_gap(
        rows_and_given in arb_rows(100, 400).prop_flat_map(|rows| {
            let n = rows.len();
            (Just(rows), proptest::collection::vec(0u32..5, n))
        }),
        start in 0i64..200,
    ) {
        let (rows, given) = rows_and_given;
        let config: PrepConfig = toml::from_str(&format!(
            "[window]\nstart = {start}\n[dedup]\nexact = false\n[session]\ngap_s = 1\n"
        )).expect("valid toml");
        let prepared = prepare(with_given(&rows, &given), &config.check().expect("valid"))
            .expect("prepared");
        let kept: Vec<(Row, u32)> = rows.iter().copied().zip(given.iter().copied())
            .filter(|(r, _)| r.4 >= start)
            .collect();
        let users: Vec<u32> = kept.iter().map(|(r, _)| r.0).collect();
        let kept_given: Vec<u32> = kept.iter().map(|(_, g)| *g).collect();
        prop_assert_eq!(rows_of(&prepared.log), kept.iter().map(|(r, _)| *r).collect::<Vec<_>>());
        prop_assert_eq!(&prepared.sessions, &naive_given_sessions(&users, &kept_given));
        prop_assert!(prepared.log.given_sessions().is_none());
        let StepDetails::Sessions(d) = &prepared.report.steps.last().expect("sessions step").details else {
            panic!("the last step is sessions");
        };
        prop_assert_eq!(d.source, SessionSource::Given);
        let distinct: BTreeSet<u32> = kept_given.iter().copied().collect();
        prop_assert_eq!(d.given_sessions_cut, d.sessions - distinct.len() as u64);
    }

    /// Every filter keeps the given session of each kept row.
    #[test]
    fn filters_keep_given_sessions_aligned(rows in arb_rows(120, 3 * 86_400)) {
        // The given session encodes the row's own values, so alignment is checkable.
        let code = |r: &Row| r.1 * 1000 + r.0 * 10 + u32::from(r.3);
        let given: Vec<u32> = rows.iter().map(code).collect();
        let config: PrepConfig = toml::from_str(
            "[dedup]\nrepeat_window_s = 5000\n[outlier_users]\nmax_events_per_day = 12\n\
             [min_events]\nper_user = 2\n[kcore]\nmin_items_per_user = 2\n",
        ).expect("valid toml");
        let checked = config.check().expect("valid");
        let mut log = with_given(&rows, &given);
        for step in 0..4 {
            log = match step {
                0 => dedup(log, checked.dedup().expect("on")).0,
                1 => remove_outlier_users(log, checked.outlier_users().expect("on")).0,
                2 => filter_min_events(log, checked.min_events().expect("on")).0,
                _ => k_core(log, checked.kcore().expect("on")).0,
            };
            let expected: Vec<u32> = rows_of(&log).iter().map(code).collect();
            let got: Vec<u32> = log.given_sessions().expect("kept").iter().map(|s| s.0).collect();
            prop_assert_eq!(got, expected);
        }
    }
}

#[test]
fn interleaved_given_sessions_are_cut_and_counted() {
    // User 0: sessions 7, 8, 7 in time order; user 1 reuses session 8.
    let rows = [
        (0, 1, 0, 0, 10),
        (0, 2, 0, 0, 20),
        (0, 3, 0, 0, 30),
        (1, 1, 0, 0, 5),
    ];
    let log = with_given(&rows, &[7, 8, 7, 8]);
    let (sessions, d) = sessionize(&log, nz(1)).expect("few sessions");
    assert_eq!(sessions, [0, 1, 2, 3]);
    assert_eq!((d.sessions, d.multi_session_users), (4, 1));
    assert_eq!((d.source, d.given_sessions_cut), (SessionSource::Given, 2));
    let p = prepare(log, &CheckedPrep::default()).expect("prepared");
    let text = p.report.to_string();
    assert!(
        text.contains(
            "4 sessions given by the input (2 cut where other rows interleave), 1 users with 2 or more"
        ),
        "{text}"
    );
}

// ---- configuration ----------------------------------------------------------------

fn prep_error(toml_text: &str) -> ConfigError {
    let config: PrepConfig = toml::from_str(toml_text).expect("parses");
    config.check().expect_err("must be rejected")
}

#[test]
fn defaults_are_documented_values() {
    let config: PrepConfig = toml::from_str("").expect("empty table");
    assert_eq!(config, PrepConfig::default());
    let checked = config.check().expect("valid");
    assert_eq!(checked.window(), None);
    assert_eq!(
        checked.dedup(),
        Some(&DedupParams {
            exact: true,
            repeat_window_s: 0
        })
    );
    assert_eq!(checked.outlier_users(), None);
    assert_eq!(checked.min_events(), None);
    assert_eq!(checked.kcore(), None);
    assert_eq!(checked.session_gap_s().get(), 1800);
    let w = checked.weights();
    let by_behavior = Behavior::ALL.map(|b| w.weight(b));
    assert_eq!(by_behavior, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!((w.half_life_s(), w.log_scale()), (None, false));
    assert_eq!(checked, CheckedPrep::default());
}

#[test]
fn full_table_parses_from_toml() {
    let config: PrepConfig = toml::from_str(
        r#"
        [window]
        start = 1511539200
        end = 1512316800
        [dedup]
        exact = false
        repeat_window_s = 30
        [outlier_users]
        max_events_per_day = 2000
        utc_offset = "+08:00"
        [min_events]
        per_user = 3
        per_item = 2
        [kcore]
        min_items_per_user = 5
        min_users_per_item = 5
        [session]
        gap_s = 3600
        [weights]
        pv = 1
        fav = 2.5
        cart = 3
        buy = 0
        half_life_s = 604800
        log_scale = true
        "#,
    )
    .expect("valid toml");
    let c = config.check().expect("valid");
    let window = c.window().expect("window on");
    assert_eq!(
        (window.start(), window.end()),
        (1_511_539_200, 1_512_316_800)
    );
    assert_eq!(
        c.dedup().map(|d| (d.exact, d.repeat_window_s)),
        Some((false, 30))
    );
    assert_eq!(
        c.outlier_users()
            .map(|o| (o.max_events_per_day.get(), o.utc_offset_s)),
        Some((2000, 28_800))
    );
    assert_eq!(c.kcore().map(|k| k.min_items_per_user.get()), Some(5));
    assert_eq!(c.weights().weight(Behavior::Buy), 0.0);
    assert_eq!(c.weights().half_life_s(), Some(604_800.0));
    // The resolved config serializes back to the same table (for the run manifest).
    let again: PrepConfig =
        toml::from_str(&toml::to_string(&config).expect("toml")).expect("parses");
    assert_eq!(again, config);
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let err = toml::from_str::<PrepConfig>("[kcore]\nusers = 5\n").expect_err("unknown");
    assert!(err.to_string().contains("users"), "{err}");
    let err = toml::from_str::<PrepConfig>("[sessions]\ngap_s = 5\n").expect_err("unknown");
    assert!(err.to_string().contains("sessions"), "{err}");
}

#[test]
fn wrong_types_are_rejected() {
    let err = toml::from_str::<PrepConfig>("[session]\ngap_s = \"30m\"\n").expect_err("type");
    assert!(err.to_string().contains("gap_s"), "{err}");
    let err = toml::from_str::<PrepConfig>("[kcore]\nmin_items_per_user = -1\n").expect_err("type");
    assert!(err.to_string().contains("min_items_per_user"), "{err}");
}

#[test]
fn zero_kcore_minimum_is_rejected() {
    let e = prep_error("[kcore]\nmin_users_per_item = 0\n");
    assert_eq!(e.key, "prep.kcore.min_users_per_item");
    assert!(e.to_string().contains("expected at least 1"), "{e}");
}

#[test]
fn zero_min_events_is_rejected() {
    assert_eq!(
        prep_error("[min_events]\nper_user = 0\n").key,
        "prep.min_events.per_user"
    );
}

#[test]
fn negative_or_non_finite_weight_is_rejected() {
    let e = prep_error("[weights]\ncart = -1.0\n");
    assert_eq!((e.key, e.found.as_str()), ("prep.weights.cart", "-1"));
    assert_eq!(prep_error("[weights]\npv = nan\n").key, "prep.weights.pv");
}

#[test]
fn all_zero_weights_are_rejected() {
    let e = prep_error("[weights]\npv = 0\nfav = 0\ncart = 0\nbuy = 0\n");
    assert_eq!(e.key, "prep.weights");
}

#[test]
fn non_positive_half_life_is_rejected() {
    assert_eq!(
        prep_error("[weights]\nhalf_life_s = 0\n").key,
        "prep.weights.half_life_s"
    );
    assert_eq!(
        prep_error("[weights]\nhalf_life_s = -5.0\n").key,
        "prep.weights.half_life_s"
    );
}

#[test]
fn zero_session_gap_is_rejected() {
    let e = prep_error("[session]\ngap_s = 0\n");
    assert_eq!(e.key, "prep.session.gap_s");
    assert_eq!(e.found, "0");
}

#[test]
fn empty_window_is_rejected() {
    let e = prep_error("[window]\nstart = 10\nend = 10\n");
    assert_eq!(e.key, "prep.window.end");
}

#[test]
fn zero_outlier_limit_and_bad_offset_are_rejected() {
    assert_eq!(
        prep_error("[outlier_users]\nmax_events_per_day = 0\n").key,
        "prep.outlier_users.max_events_per_day"
    );
    let e = prep_error("[outlier_users]\nmax_events_per_day = 9\nutc_offset = \"8h\"\n");
    assert_eq!(e.key, "prep.outlier_users.utc_offset");
}
