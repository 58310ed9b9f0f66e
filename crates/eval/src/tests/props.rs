//! The evaluator against a brute-force reference that recomputes every number from the
//! definitions with hash sets, on random lists and targets.

use std::collections::{BTreeMap, HashMap, HashSet};

use clickrec_core::{Behavior, ItemId, TestSet, UserId, UserItemMatrix};
use clickrec_recommend::Recommendations;
use proptest::prelude::*;
use proptest::sample::subsequence;

use super::{config, seen_in_train};
use crate::{EvalData, Metric, Population, Segment, Variant, evaluate_model};

/// A test user: (user, cold, events as (item, behaviour code)).
type TestSpec = (u32, bool, Vec<(u32, u8)>);

#[derive(Clone, Debug)]
struct Instance {
    n_items: usize,
    rows: Vec<Vec<u32>>,
    /// (user, cold, events (item, behaviour code))
    test: Vec<TestSpec>,
    lists: Vec<(u32, Vec<u32>)>,
    events: Vec<u32>,
    ks: Vec<usize>,
}

fn instance() -> impl Strategy<Value = Instance> {
    (1usize..16, 1usize..9).prop_flat_map(|(n_items, n_users)| {
        let items: Vec<u32> = (0..n_items as u32).collect();
        let max_user = n_users as u32 + 3;
        (
            Just(n_items),
            prop::collection::vec(subsequence(items.clone(), 0..=n_items.min(6)), n_users),
            prop::collection::vec(
                (
                    0..max_user,
                    any::<bool>(),
                    prop::collection::vec((0..n_items as u32, 0u8..4), 0..6),
                ),
                0..n_users + 3,
            ),
            prop::collection::vec(
                (0..max_user, subsequence(items, 0..=n_items).prop_shuffle()),
                0..n_users + 3,
            ),
            prop::collection::vec(0u32..150, n_users + 3),
            subsequence(vec![1usize, 2, 3, 5, 8, 13], 1..=4),
        )
            .prop_map(|(n_items, rows, test, lists, events, ks)| Instance {
                n_items,
                rows,
                test,
                lists,
                events,
                ks,
            })
    })
}

struct Built {
    train: UserItemMatrix,
    test: TestSet,
    recs: Recommendations,
}

fn build(x: &Instance) -> Built {
    let train = UserItemMatrix::from_triples(
        x.rows.len(),
        x.n_items,
        x.rows.iter().enumerate().flat_map(|(u, items)| {
            items
                .iter()
                .map(move |&i| (UserId(u as u32), ItemId(i), 1.0))
        }),
    )
    .unwrap();
    let seen = seen_in_train(&train);
    let mut by_user: BTreeMap<u32, (bool, Vec<(u32, u8)>)> = BTreeMap::new();
    for (u, cold, ev) in &x.test {
        by_user.entry(*u).or_insert((*cold, ev.clone()));
    }
    let mut b = TestSet::builder(&seen);
    for (u, (cold, ev)) in by_user {
        let behaviours = [Behavior::Pv, Behavior::Fav, Behavior::Cart, Behavior::Buy];
        b.push_user(
            UserId(u),
            cold,
            ev.iter()
                .map(|&(i, code)| (ItemId(i), behaviours[code as usize])),
        )
        .unwrap();
    }
    let test = b.finish();
    let lists: BTreeMap<u32, Vec<u32>> = x.lists.iter().cloned().collect();
    let mut recs = Recommendations::new();
    for (u, items) in lists {
        recs.push(UserId(u), items.into_iter().map(|i| (ItemId(i), 0.5)))
            .unwrap();
    }
    Built { train, test, recs }
}

/// Every number of one variant, from the definitions.
#[derive(Debug, Default)]
struct Reference {
    evaluated: u64,
    skipped: u64,
    without_recs: u64,
    /// per K: metric sums (Metric::ALL order)
    sums: Vec<[f64; 7]>,
    distinct: Vec<HashSet<u32>>,
    pop_sum: Vec<f64>,
    seen_sum: Vec<f64>,
    with_list: u64,
    /// per segment: (users, per K Recall sum, per K NDCG sum)
    segments: HashMap<Segment, (u64, Vec<f64>, Vec<f64>)>,
}

fn reference(x: &Instance, b: &Built, variant: Variant) -> Reference {
    let n_items = x.n_items;
    let mut popularity = vec![0usize; n_items];
    for row in &x.rows {
        for &i in row {
            popularity[i as usize] += 1;
        }
    }
    let percentile = |i: u32| {
        let p = popularity[i as usize];
        100.0 * popularity.iter().filter(|&&q| q <= p).count() as f64 / n_items as f64
    };
    let lists: HashMap<u32, Vec<u32>> = b
        .recs
        .iter()
        .map(|l| (l.user.0, l.items.iter().map(|i| i.0).collect()))
        .collect();
    let nk = x.ks.len();
    let mut r = Reference {
        sums: vec![[0.0; 7]; nk],
        distinct: vec![HashSet::new(); nk],
        pop_sum: vec![0.0; nk],
        seen_sum: vec![0.0; nk],
        ..Reference::default()
    };
    for tu in b.test.iter() {
        let u = tu.user.0;
        let seen: HashSet<u32> = x
            .rows
            .get(u as usize)
            .map(|row| row.iter().copied().collect())
            .unwrap_or_default();
        let source = if variant.conversion_targets() {
            tu.conversion_targets
        } else {
            tu.targets
        };
        let targets: HashSet<u32> = source
            .iter()
            .map(|t| t.0)
            .filter(|t| !(variant.new_items_only() && seen.contains(t)))
            .filter(|t| variant != Variant::Repeat || seen.contains(t))
            .collect();
        if targets.is_empty() {
            r.skipped += 1;
            continue;
        }
        r.evaluated += 1;
        let list: Vec<u32> = lists
            .get(&u)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| !(variant.new_items_only() && seen.contains(i)))
            .collect();
        if list.is_empty() {
            r.without_recs += 1;
        } else {
            r.with_list += 1;
        }
        let events = x.events.get(u as usize).copied().unwrap_or(0);
        let segs = [
            Segment::activity(events),
            if tu.cold {
                Segment::Cold
            } else {
                Segment::Warm
            },
        ];
        for s in segs {
            let e = r
                .segments
                .entry(s)
                .or_insert_with(|| (0, vec![0.0; nk], vec![0.0; nk]));
            e.0 += 1;
        }
        for (ki, &k) in x.ks.iter().enumerate() {
            let top = &list[..k.min(list.len())];
            let t = targets.len() as f64;
            let cap = k.min(targets.len()) as f64;
            let hits = top.iter().filter(|i| targets.contains(i)).count() as f64;
            let hit_ranks: Vec<usize> = top
                .iter()
                .enumerate()
                .filter(|(_, i)| targets.contains(i))
                .map(|(p, _)| p + 1)
                .collect();
            let dcg: f64 = hit_ranks
                .iter()
                .map(|&r| 1.0 / ((r + 1) as f64).log2())
                .sum();
            let idcg: f64 = (1..=k.min(targets.len()))
                .map(|i| 1.0 / ((i + 1) as f64).log2())
                .sum();
            // Precision at each hit rank, from its own definition.
            let ap: f64 = hit_ranks
                .iter()
                .map(|&r| top[..r].iter().filter(|i| targets.contains(i)).count() as f64 / r as f64)
                .sum();
            let values = [
                hits / t,
                hits / cap,
                hits / k as f64,
                if hits > 0.0 { 1.0 } else { 0.0 },
                hit_ranks.first().map_or(0.0, |&r| 1.0 / r as f64),
                dcg / idcg,
                ap / cap,
            ];
            for (s, v) in r.sums[ki].iter_mut().zip(values) {
                *s += v;
            }
            for s in segs {
                let e = r.segments.get_mut(&s).unwrap();
                e.1[ki] += values[0];
                e.2[ki] += values[5];
            }
            r.distinct[ki].extend(top.iter().copied());
            if !top.is_empty() {
                r.pop_sum[ki] += top.iter().map(|&i| percentile(i)).sum::<f64>() / top.len() as f64;
                r.seen_sum[ki] +=
                    top.iter().filter(|i| seen.contains(i)).count() as f64 / top.len() as f64;
            }
        }
    }
    r
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn metrics_match_a_brute_force_reference(x in instance()) {
        let mut x = x;
        x.ks.sort_unstable();
        let b = build(&x);
        let data = EvalData {
            test: &b.test,
            train: &b.train,
            train_events_per_user: &x.events,
            population: Population::All,
        };
        let e = evaluate_model("m", &b.recs, &data, &config(&x.ks, 0)).unwrap();
        let users: HashSet<u32> = b.test.users().iter().map(|u| u.0).collect();
        prop_assert_eq!(
            e.ignored_lists(),
            b.recs.users().iter().filter(|u| !users.contains(&u.0)).count() as u64
        );
        prop_assert_eq!(
            e.users_without_recommendations(),
            b.test.users().iter().filter(|u| b.recs.find(**u).is_none()).count() as u64
        );
        for variant in Variant::ALL {
            let r = reference(&x, &b, variant);
            let v = e.variant(variant);
            prop_assert_eq!(v.evaluated_users, r.evaluated, "{:?}", variant);
            prop_assert_eq!(v.skipped_users, r.skipped);
            prop_assert_eq!(v.users_without_recommendations, r.without_recs);
            for (ki, at) in v.at_k.iter().enumerate() {
                prop_assert_eq!(at.k, x.ks[ki]);
                for (m, metric) in Metric::ALL.into_iter().enumerate() {
                    let got = *at.metrics.get(metric);
                    if r.evaluated == 0 {
                        prop_assert!(got.is_nan());
                    } else {
                        let want = r.sums[ki][m] / r.evaluated as f64;
                        prop_assert!(near(got, want), "{:?} {}@{}: {} vs {}", variant, metric, at.k, got, want);
                    }
                }
                prop_assert_eq!(at.distinct_items, r.distinct[ki].len() as u64);
                prop_assert!(near(at.coverage, r.distinct[ki].len() as f64 / x.n_items as f64));
                if r.with_list == 0 {
                    prop_assert_eq!(at.popularity_percentile, None);
                    prop_assert_eq!(at.seen_share, None);
                } else {
                    let n = r.with_list as f64;
                    prop_assert!(near(at.popularity_percentile.unwrap(), r.pop_sum[ki] / n));
                    prop_assert!(near(at.seen_share.unwrap(), r.seen_sum[ki] / n));
                }
            }
            for s in &v.segments {
                let (users, recall, ndcg) = r
                    .segments
                    .get(&s.segment)
                    .cloned()
                    .unwrap_or((0, vec![], vec![]));
                prop_assert_eq!(s.users, users);
                for (ki, m) in s.at_k.iter().enumerate() {
                    prop_assert_eq!(m.k, x.ks[ki]);
                    prop_assert!(near(m.metrics.recall, recall[ki] / users as f64));
                    prop_assert!(near(m.metrics.ndcg, ndcg[ki] / users as f64));
                }
            }
        }
    }
}
