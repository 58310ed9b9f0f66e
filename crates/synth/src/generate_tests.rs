//! Tests of whole generated logs: determinism, format, order, sessions, shape.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;
use crate::params::GeneratorParams;
use crate::user::{MAX_IN_SESSION_GAP, SESSION_GAP};

fn bytes(p: &GeneratorParams) -> Vec<u8> {
    let mut out = Vec::new();
    generate(
        &p.check().expect("valid params"),
        &mut out,
        &clickrec_core::NoProgress,
    )
    .expect("in-memory write");
    out
}

fn small() -> GeneratorParams {
    GeneratorParams::default()
        .users(300)
        .items(3_000)
        .events(20_000)
        .seed(11)
}

/// FNV-1a: a hash whose value never changes with the Rust version.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Debug)]
struct Row {
    user: u64,
    item: u64,
    cat: u64,
    behavior: usize,
    ts: i64,
}

fn parse(data: &[u8]) -> Vec<Row> {
    let text = std::str::from_utf8(data).expect("ASCII output");
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 5, "{line}");
            let num = |s: &str| -> u64 { s.parse().unwrap_or_else(|e| panic!("{line}: {e}")) };
            Row {
                user: num(f[0]),
                item: num(f[1]),
                cat: num(f[2]),
                behavior: BEHAVIORS
                    .iter()
                    .position(|b| *b == f[3])
                    .unwrap_or_else(|| panic!("behaviour in {line}")),
                ts: f[4].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
            }
        })
        .collect()
}

/// Rows grouped by user, in file order.
fn by_user(rows: &[Row]) -> Vec<&[Row]> {
    rows.chunk_by(|a, b| a.user == b.user).collect()
}

#[test]
fn same_params_give_same_bytes_and_another_seed_does_not() {
    let a = bytes(&small());
    let b = bytes(&small());
    assert_eq!(fnv1a(&a), fnv1a(&b));
    assert_eq!(a, b);
    let c = bytes(&small().seed(12));
    assert_ne!(fnv1a(&a), fnv1a(&c));
}

#[test]
fn thread_count_does_not_change_the_bytes() {
    // Enough users for several blocks and windows.
    let p = GeneratorParams::default()
        .users(5_000)
        .items(4_000)
        .events(60_000)
        .seed(3);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| bytes(&p))
    };
    let one = run(1);
    let two = run(2);
    let three = run(3);
    assert!(
        one == two && two == three,
        "output depends on the thread count"
    );
}

#[test]
fn golden_hash_pins_the_output() {
    // If you changed the generator on purpose: update this hash, regenerate data/sample.csv
    // (see data/README.md) and note the change, since every downstream golden file moves.
    let out = bytes(
        &GeneratorParams::default()
            .users(50)
            .items(500)
            .events(3_000)
            .seed(1),
    );
    assert_eq!(
        fnv1a(&out),
        GOLDEN,
        "generator output changed; got {:#x}",
        fnv1a(&out)
    );
}
const GOLDEN: u64 = 0x310c_e56f_be6c_1eb1;

#[test]
fn shipped_sample_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample.csv");
    let Ok(shipped) = std::fs::read(path) else {
        return; // not in this checkout
    };
    let p = GeneratorParams::default()
        .users(1_000)
        .items(2_000)
        .events(60_000)
        .seed(42);
    assert!(
        bytes(&p) == shipped,
        "data/sample.csv is stale: regenerate it (data/README.md)"
    );
}

#[test]
fn writes_exactly_the_rows_asked_for_and_summarises_them() {
    for (users, items, events) in [(1, 1, 1), (7, 3, 7), (10, 50, 1_000), (300, 3_000, 20_000)] {
        let p = GeneratorParams::default()
            .users(users)
            .items(items)
            .events(events);
        let mut out = Vec::new();
        let s = generate(
            &p.check().expect("valid"),
            &mut out,
            &clickrec_core::NoProgress,
        )
        .expect("write");
        let rows = parse(&out);
        assert_eq!(rows.len() as u64, events);
        assert_eq!(s.rows, events);
        assert_eq!(s.users, u64::from(users));
        assert_eq!(by_user(&rows).len(), users as usize, "every user has a row");
        let mut counts = [0u64; 4];
        rows.iter().for_each(|r| counts[r.behavior] += 1);
        assert_eq!(s.behavior_counts, counts);
        let items: HashSet<u64> = rows.iter().map(|r| r.item).collect();
        assert_eq!(s.distinct_items, items.len() as u64);
        assert_eq!(
            s.first_ts,
            rows.iter().map(|r| r.ts).min().unwrap_or_default()
        );
        assert_eq!(
            s.last_ts,
            rows.iter().map(|r| r.ts).max().unwrap_or_default()
        );
    }
}

#[test]
fn lines_parse_and_lie_in_the_window_with_fixed_item_categories() {
    let p = small().check().expect("valid");
    let rows = parse(&bytes(p.params()));
    let mut cat_of = HashMap::new();
    for r in &rows {
        assert!(
            (p.start()..p.end()).contains(&r.ts),
            "timestamp {} outside the window",
            r.ts
        );
        assert!((1..=1_000_000).contains(&r.user));
        assert!((1..=5_000_000).contains(&r.item) && (1..=5_000_000).contains(&r.cat));
        assert_eq!(
            *cat_of.entry(r.item).or_insert(r.cat),
            r.cat,
            "item {} changes category",
            r.item
        );
    }
}

#[test]
fn users_ascend_and_each_users_rows_are_in_time_order() {
    let rows = parse(&bytes(&small()));
    let users = by_user(&rows);
    assert!(
        users.windows(2).all(|w| w[0][0].user < w[1][0].user),
        "users not ascending"
    );
    for u in users {
        assert!(
            u.windows(2).all(|w| w[0].ts <= w[1].ts),
            "user {} out of time order",
            u[0].user
        );
    }
}

#[test]
fn a_30_minute_sessionizer_finds_the_generated_sessions() {
    let rows = parse(&bytes(&small()));
    let users = by_user(&rows);
    let mut multi = 0;
    let mut sessions = 0;
    for u in &users {
        let gaps: Vec<i64> = u.windows(2).map(|w| w[1].ts - w[0].ts).collect();
        // No gap falls between the in-session cap and the session gap.
        assert!(
            gaps.iter()
                .all(|&g| g <= MAX_IN_SESSION_GAP as i64 || g > SESSION_GAP)
        );
        let s = 1 + gaps.iter().filter(|&&g| g > SESSION_GAP).count();
        sessions += s;
        if s >= 2 {
            multi += 1;
        }
    }
    let multi_share = f64::from(multi) / users.len() as f64;
    assert!(
        multi_share > 0.95,
        "only {multi_share:.2} of users have >= 2 sessions"
    );
    let per_session = rows.len() as f64 / sessions as f64;
    assert!(
        (3.0..10.0).contains(&per_session),
        "{per_session:.1} events per session"
    );
}

#[test]
fn behaviour_shares_match_the_params() {
    let p = GeneratorParams::default()
        .users(2_000)
        .items(20_000)
        .events(200_000)
        .seed(5);
    let mut out = Vec::new();
    let s = generate(
        &p.check().expect("valid"),
        &mut out,
        &clickrec_core::NoProgress,
    )
    .expect("write");
    let share = |i: usize| s.behavior_counts[i] as f64 / s.rows as f64;
    for (i, want) in [(0, 0.898), (1, 0.028), (2, 0.053), (3, 0.021)] {
        let got = share(i);
        assert!(
            (got - want).abs() < 0.006 * want.max(0.1) / 0.1,
            "{}: {got:.4} vs {want}",
            BEHAVIORS[i]
        );
    }
    let none = GeneratorParams::default()
        .fav_share(0.0)
        .cart_share(0.0)
        .buy_share(0.0);
    let rows = parse(&bytes(&none));
    assert!(
        rows.iter().all(|r| r.behavior == 0),
        "only page views when all shares are 0"
    );
}

/// Funnel statistics of a log: (fav/cart of an item viewed before, fav/cart of an item
/// viewed at some time, buys of an item touched before, repeat views among views, rows on
/// the same item as the row before).
fn funnel(rows: &[Row]) -> [f64; 5] {
    let (mut acts, mut before, mut ever, mut buys, mut touched_buys, mut pv, mut repeats, mut same) =
        (0, 0, 0, 0, 0, 0, 0, 0);
    for u in by_user(rows) {
        let all_viewed: HashSet<u64> = u
            .iter()
            .filter(|r| r.behavior == 0)
            .map(|r| r.item)
            .collect();
        let mut viewed = HashSet::new();
        let mut touched = HashSet::new();
        same += u.windows(2).filter(|w| w[0].item == w[1].item).count();
        for r in u {
            match r.behavior {
                0 => {
                    pv += 1;
                    if !viewed.insert(r.item) {
                        repeats += 1;
                    }
                }
                1 | 2 => {
                    acts += 1;
                    before += usize::from(viewed.contains(&r.item));
                    ever += usize::from(all_viewed.contains(&r.item));
                }
                _ => {
                    buys += 1;
                    touched_buys += usize::from(touched.contains(&r.item));
                }
            }
            touched.insert(r.item);
        }
    }
    let ratio = |a: usize, b: usize| a as f64 / b as f64;
    [
        ratio(before, acts),
        ratio(ever, acts),
        ratio(touched_buys, buys),
        ratio(repeats, pv),
        ratio(same, rows.len()),
    ]
}

#[test]
fn funnel_and_repeat_views_look_like_the_real_log() {
    let rows = parse(&bytes(
        &GeneratorParams::default()
            .users(500)
            .items(50_000)
            .events(50_000),
    ));
    let [before, ever, buys, repeats, same] = funnel(&rows);
    // Real log: 14 % of fav/cart follow a view, 46 % are viewed at some time; 61 % of buys
    // are of an item touched before; 21 % of views repeat; no two rows in a row share an item.
    assert!(
        (0.08..0.3).contains(&before),
        "fav/cart after a view: {before:.3}"
    );
    assert!(
        (0.3..0.7).contains(&ever),
        "fav/cart of an item ever viewed: {ever:.3}"
    );
    assert!(
        (0.45..0.8).contains(&buys),
        "buys of a touched item: {buys:.3}"
    );
    assert!((0.1..0.4).contains(&repeats), "repeat views: {repeats:.3}");
    assert_eq!(same, 0.0, "two consecutive rows on the same item");
    // The textbook funnel on request.
    let rows = parse(&bytes(
        &GeneratorParams::default()
            .users(500)
            .events(50_000)
            .act_on_viewed(1.0),
    ));
    let [before, ..] = funnel(&rows);
    assert!(
        before > 0.85,
        "fav/cart after a view with act_on_viewed = 1: {before:.3}"
    );
}

#[test]
fn popularity_is_skewed_and_user_activity_heavy_tailed() {
    let rows = parse(&bytes(
        &GeneratorParams::default()
            .users(2_000)
            .items(20_000)
            .events(200_000),
    ));
    let mut per_item: HashMap<u64, u64> = HashMap::new();
    rows.iter()
        .for_each(|r| *per_item.entry(r.item).or_default() += 1);
    let mut counts: Vec<u64> = per_item.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top: u64 = counts[..counts.len() / 100].iter().sum();
    let top_share = top as f64 / rows.len() as f64;
    assert!(
        top_share > 0.05,
        "top 1 % of items get {top_share:.3} of events"
    );
    let mut per_user: Vec<usize> = by_user(&rows).iter().map(|u| u.len()).collect();
    per_user.sort_unstable();
    let (median, p90, max) = (per_user[1_000], per_user[1_800], per_user[1_999]);
    assert!(
        p90 as f64 > 2.3 * median as f64 && max > 6 * median,
        "median {median}, p90 {p90}, max {max}"
    );
}

/// Held-out last session per user; Recall@20 on unseen items for global popularity versus
/// a plain user-kNN. Shared tastes must give user-kNN a clear lead.
#[test]
fn collaborative_filtering_beats_popularity() {
    let rows = parse(&bytes(
        &GeneratorParams::default()
            .users(3_000)
            .items(10_000)
            .events(240_000),
    ));
    let mut train: Vec<HashSet<u64>> = Vec::new();
    let mut test: Vec<HashSet<u64>> = Vec::new();
    for u in by_user(&rows) {
        let last = u
            .windows(2)
            .rposition(|w| w[1].ts - w[0].ts > SESSION_GAP)
            .map_or(0, |i| i + 1);
        train.push(u[..last].iter().map(|r| r.item).collect());
        test.push(u[last..].iter().map(|r| r.item).collect());
    }
    let mut pop: BTreeMap<u64, u64> = BTreeMap::new();
    let mut users_of: HashMap<u64, Vec<usize>> = HashMap::new();
    for (u, items) in train.iter().enumerate() {
        for &i in items {
            *pop.entry(i).or_default() += 1;
            users_of.entry(i).or_default().push(u);
        }
    }
    let mut by_pop: Vec<(u64, u64)> = pop.iter().map(|(&i, &c)| (i, c)).collect();
    by_pop.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (mut pop_recall, mut knn_recall, mut n) = (0.0, 0.0, 0);
    for u in (0..train.len()).step_by(3) {
        let targets: HashSet<u64> = test[u].difference(&train[u]).copied().collect();
        if train[u].is_empty() || targets.is_empty() {
            continue;
        }
        n += 1;
        let recs = by_pop
            .iter()
            .map(|p| p.0)
            .filter(|i| !train[u].contains(i))
            .take(20);
        pop_recall += recs.filter(|i| targets.contains(i)).count() as f64 / targets.len() as f64;
        let mut overlap: HashMap<usize, f64> = HashMap::new();
        for i in &train[u] {
            for &v in &users_of[i] {
                if v != u {
                    *overlap.entry(v).or_default() += 1.0;
                }
            }
        }
        let mut sims: Vec<(f64, usize)> = overlap
            .into_iter()
            .map(|(v, c)| (c / ((train[u].len() * train[v].len()) as f64).sqrt(), v))
            .collect();
        sims.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut scores: HashMap<u64, f64> = HashMap::new();
        for &(sim, v) in sims.iter().take(50) {
            for &j in &train[v] {
                if !train[u].contains(&j) {
                    *scores.entry(j).or_default() += sim;
                }
            }
        }
        let mut ranked: Vec<(u64, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let hits = ranked
            .iter()
            .take(20)
            .filter(|(j, _)| targets.contains(j))
            .count();
        knn_recall += hits as f64 / targets.len() as f64;
    }
    let (pop_recall, knn_recall) = (pop_recall / f64::from(n), knn_recall / f64::from(n));
    assert!(n > 500, "only {n} users evaluated");
    assert!(
        knn_recall > 1.5 * pop_recall && knn_recall > 0.05,
        "user-kNN Recall@20 {knn_recall:.4} vs popularity {pop_recall:.4}"
    );
}

#[test]
fn extreme_params_stay_valid() {
    // One user with many events on a one-day window: the gaps are squeezed to fit.
    let p = GeneratorParams::default()
        .users(1)
        .items(5)
        .events(200_000)
        .days(1)
        .check()
        .expect("valid");
    let rows = parse(&bytes(p.params()));
    assert_eq!(rows.len(), 200_000);
    assert!(rows.iter().all(|r| (p.start()..p.end()).contains(&r.ts)));
    assert!(rows.windows(2).all(|w| w[0].ts <= w[1].ts));
    // One event per user.
    let rows = parse(&bytes(
        &GeneratorParams::default()
            .users(2_000)
            .items(3)
            .events(2_000),
    ));
    assert_eq!(by_user(&rows).len(), 2_000);
    // No flatness knobs at all.
    let flat = GeneratorParams::default()
        .activity_sigma(0.0)
        .item_zipf(0.0)
        .category_zipf(0.0)
        .interest_zipf(0.0)
        .session_len_sigma(0.0)
        .gap_sigma(0.0)
        .intent_sigma(0.0)
        .session_scale(0.0)
        .single_session_share(1.0);
    assert_eq!(parse(&bytes(&flat)).len(), 60_000);
}

#[test]
fn progress_reports_rows_in_order_and_ends_at_the_total() {
    /// Every call, in order: the total, then each position.
    #[derive(Default)]
    struct Seen(std::sync::Mutex<(Option<u64>, Vec<u64>, bool)>);
    impl clickrec_core::Progress for Seen {
        fn start(&self, total: u64) {
            self.0.lock().expect("lock").0 = Some(total);
        }
        fn advance_to(&self, done: u64) {
            self.0.lock().expect("lock").1.push(done);
        }
        fn finish(&self) {
            self.0.lock().expect("lock").2 = true;
        }
    }
    let seen = Seen::default();
    let p = GeneratorParams::default()
        .users(2_000)
        .events(100_000)
        .check()
        .expect("valid");
    generate(&p, std::io::sink(), &seen).expect("write");
    let (total, seen, finished) = seen.0.into_inner().expect("lock");
    assert_eq!(total, Some(100_000));
    assert!(finished);
    assert!(
        seen.len() > 1,
        "progress once per block, not once at the end"
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seen.last(), Some(&100_000));
}

#[test]
fn write_errors_are_reported() {
    struct Full(usize);
    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 < buf.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "disk full",
                ));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let p = GeneratorParams::default().check().expect("valid");
    let err =
        generate(&p, Full(1_000_000), &clickrec_core::NoProgress).expect_err("runs out of space");
    let GenerateError::Write { rows, source } = &err;
    assert!(*rows < 60_000);
    assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
    assert!(err.to_string().contains("writing the generated log failed"));
}
