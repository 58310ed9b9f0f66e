//! Every session model against a naive reference implementation on small random logs:
//! the references scan all train sessions at prediction time, with no index, no
//! candidate merging and no incremental state.

use std::collections::{BTreeMap, BTreeSet};

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{RecommendRequest, Recommender, recommend};
use proptest::prelude::*;

use crate::knn::{Decay, Similarity, SknnParams, StanParams, VsknnParams, VstanParams};
use crate::rules::{ArParams, MarkovParams, SpopParams, SrParams};
use crate::{SessionParams, TrainSessions, score_session};

/// A train session: (item, time) in time order.
type Session = Vec<(u32, i64)>;

fn train(sessions: &[Session], n_items: usize) -> TrainSessions {
    let mut users = Vec::new();
    let mut items = Vec::new();
    let mut times = Vec::new();
    let mut index = Vec::new();
    for (s, events) in sessions.iter().enumerate() {
        for &(item, time) in events {
            users.push(UserId(s as u32));
            items.push(ItemId(item));
            times.push(time);
            index.push(s as u32);
        }
    }
    let n = users.len();
    let log = EventLog::from_columns(
        users,
        items,
        vec![CategoryId(0); n],
        vec![Behavior::Pv; n],
        times,
    )
    .expect("log");
    TrainSessions::from_log(&log, &index, sessions.len(), n_items).expect("sessions")
}

fn end_time(s: &Session) -> i64 {
    s.last().map_or(0, |e| e.1)
}

/// The kNN scores as session-rec computes them, from scratch.
struct NaiveKnn {
    k: usize,
    sample_size: usize,
    similarity: Similarity,
    position: Box<dyn Fn(usize, usize) -> f64>,
    matched: Box<dyn Fn(usize) -> f64>,
    recency_s: Option<f64>,
    neighbour_position: Option<f64>,
    idf: f64,
}

impl NaiveKnn {
    fn scores(&self, sessions: &[Session], current: &[(u32, i64)]) -> BTreeMap<u32, f64> {
        let n = sessions.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&s| (end_time(&sessions[s]), s));
        let mut rank = vec![0; n];
        for (r, &s) in order.iter().enumerate() {
            rank[s] = r;
        }
        let cur_set: BTreeSet<u32> = current.iter().map(|e| e.0).collect();
        let mut relevant: Vec<usize> = (0..n)
            .filter(|&s| sessions[s].iter().any(|e| cur_set.contains(&e.0)))
            .collect();
        relevant.sort_by_key(|&s| std::cmp::Reverse(rank[s]));
        if self.sample_size > 0 {
            relevant.truncate(self.sample_size);
        }
        let len = current.len();
        let mut weight = BTreeMap::new();
        let mut last_pos = BTreeMap::new();
        for (p, e) in current.iter().enumerate() {
            weight.insert(e.0, (self.position)(p + 1, len));
            last_pos.insert(e.0, p + 1);
        }
        let now = current.last().map_or(0, |e| e.1);
        let mut events = BTreeMap::<u32, f64>::new();
        for s in sessions {
            for e in s {
                *events.entry(e.0).or_insert(0.0) += 1.0;
            }
        }
        let distinct = |s: usize| {
            let mut d: Vec<(u32, usize)> = Vec::new();
            for (p, e) in sessions[s].iter().enumerate() {
                match d.iter_mut().find(|x| x.0 == e.0) {
                    Some(x) => x.1 = p + 1,
                    None => d.push((e.0, p + 1)),
                }
            }
            d
        };
        let mut neighbours = Vec::new();
        for &s in &relevant {
            let d = distinct(s);
            let mut sum = 0.0;
            let mut shared = 0.0;
            for &(item, _) in &d {
                if let Some(w) = weight.get(&item) {
                    sum += w;
                    shared += 1.0;
                }
            }
            let (c, nb) = (weight.len() as f64, d.len() as f64);
            let norm: f64 = weight.values().map(|w| w * w).sum::<f64>().sqrt();
            let mut sim = match self.similarity {
                Similarity::Vec => sum / c,
                Similarity::Cosine => sum / (norm * nb.sqrt()),
                Similarity::Jaccard => shared / (c + nb - shared),
                Similarity::Binary => 2.0 * shared / (2.0 * shared + c + nb),
            };
            if let Some(l) = self.recency_s {
                sim *= (-((now - end_time(&sessions[s])) as f64) / l).exp();
            }
            if sim > 0.0 {
                neighbours.push((sim, rank[s], s));
            }
        }
        neighbours.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        neighbours.truncate(self.k);
        let mut scores = BTreeMap::new();
        for &(sim, _, s) in &neighbours {
            let d = distinct(s);
            // session-rec: walk the current session backwards to the first shared item.
            let step = (1..=len)
                .find(|&st| d.iter().any(|x| x.0 == current[len - st].0))
                .unwrap_or(1);
            let anchor = d
                .iter()
                .filter(|x| last_pos.contains_key(&x.0))
                .map(|x| x.1)
                .max()
                .unwrap_or(0);
            for &(item, pos) in &d {
                let mut v = sim * (self.matched)(step);
                if let Some(l) = self.neighbour_position {
                    v *= (-(pos.abs_diff(anchor) as f64) / l).exp();
                }
                if self.idf > 0.0 {
                    let idf = (n as f64 / events[&item]).ln();
                    v += v * idf * self.idf;
                }
                *scores.entry(item).or_insert(0.0) += v;
            }
        }
        scores
    }
}

fn assert_close(fast: Vec<(ItemId, f32)>, naive: BTreeMap<u32, f64>) -> Result<(), TestCaseError> {
    let fast: BTreeMap<u32, f32> = fast.into_iter().map(|(i, s)| (i.0, s)).collect();
    prop_assert_eq!(
        fast.keys().collect::<Vec<_>>(),
        naive.keys().collect::<Vec<_>>()
    );
    for (item, &want) in &naive {
        let got = f64::from(fast[item]);
        prop_assert!(
            (got - want).abs() <= 1e-5 * want.abs().max(1.0),
            "item {}: {} vs {}",
            item,
            got,
            want
        );
    }
    Ok(())
}

fn sessions_strategy(n_items: u32) -> impl Strategy<Value = Vec<Session>> {
    prop::collection::vec(
        (
            0i64..20 * 86_400,
            prop::collection::vec((0..n_items, 1i64..600), 1..7),
        ),
        1..25,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .map(|(start, events)| {
                let mut t = start;
                events
                    .into_iter()
                    .map(|(item, gap)| {
                        t += gap;
                        (item, t)
                    })
                    .collect()
            })
            .collect()
    })
}

fn current_strategy(n_items: u32) -> impl Strategy<Value = Vec<(u32, i64)>> {
    prop::collection::vec((0..n_items + 2, 1i64..600), 1..7).prop_map(|events| {
        let mut t = 25 * 86_400;
        events
            .into_iter()
            .map(|(item, gap)| {
                t += gap;
                (item, t)
            })
            .collect()
    })
}

fn decay() -> impl Strategy<Value = Decay> {
    prop_oneof![
        Just(Decay::Same),
        Just(Decay::Div),
        Just(Decay::Quadratic),
        Just(Decay::Log),
        Just(Decay::Linear)
    ]
}

const N_ITEMS: u32 = 10;

fn events(current: &[(u32, i64)]) -> Vec<(ItemId, i64)> {
    current.iter().map(|&(i, t)| (ItemId(i), t)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn sknn_matches_the_naive_scan(
        sessions in sessions_strategy(N_ITEMS),
        current in current_strategy(N_ITEMS),
        k in 1usize..6,
        sample_size in 0usize..8,
        similarity in prop_oneof![Just(Similarity::Cosine), Just(Similarity::Vec), Just(Similarity::Jaccard), Just(Similarity::Binary)],
    ) {
        let params = SknnParams { k, sample_size, similarity, last_events: None };
        let model = SessionParams::Sknn(params).check().unwrap().fit(train(&sessions, N_ITEMS as usize + 2));
        let naive = NaiveKnn {
            k, sample_size, similarity,
            position: Box::new(|_, _| 1.0),
            matched: Box::new(|_| 1.0),
            recency_s: None, neighbour_position: None, idf: 0.0,
        };
        assert_close(score_session(model.as_session(), &events(&current)), naive.scores(&sessions, &current))?;
    }

    #[test]
    fn vsknn_matches_the_naive_scan(
        sessions in sessions_strategy(N_ITEMS),
        current in current_strategy(N_ITEMS),
        k in 1usize..6,
        sample_size in 0usize..8,
        cosine in any::<bool>(),
        weighting in decay(),
        weighting_score in decay(),
        idf_weighting in prop_oneof![Just(0.0), 0.5f64..3.0],
    ) {
        let similarity = if cosine { Similarity::Cosine } else { Similarity::Vec };
        let params = VsknnParams { k, sample_size, similarity, weighting, weighting_score, idf_weighting, last_events: None };
        let model = SessionParams::Vsknn(params).check().unwrap().fit(train(&sessions, N_ITEMS as usize + 2));
        let naive = NaiveKnn {
            k, sample_size, similarity,
            position: Box::new(move |p, l| weighting.position(p, l)),
            matched: Box::new(move |s| weighting_score.step(s)),
            recency_s: None, neighbour_position: None, idf: idf_weighting,
        };
        assert_close(score_session(model.as_session(), &events(&current)), naive.scores(&sessions, &current))?;
    }

    #[test]
    fn stan_and_vstan_match_the_naive_scan(
        sessions in sessions_strategy(N_ITEMS),
        current in current_strategy(N_ITEMS),
        k in 1usize..6,
        sample_size in 0usize..8,
        spw in prop_oneof![Just(0.0), 0.5f64..3.0],
        snh in prop_oneof![Just(0.0), 0.5f64..10.0],
        inh in prop_oneof![Just(0.0), 0.5f64..3.0],
        ipw in prop_oneof![Just(0.0), 0.5f64..3.0],
        idf in prop_oneof![Just(0.0), 0.5f64..6.0],
        vstan in any::<bool>(),
    ) {
        let (ipw, idf) = if vstan { (ipw, idf) } else { (0.0, 0.0) };
        let params = if vstan {
            SessionParams::Vstan(VstanParams {
                k, sample_size, similarity: Similarity::Cosine,
                lambda_spw: spw, lambda_snh: snh, lambda_inh: inh, lambda_ipw: ipw, lambda_idf: idf,
                last_events: None,
            })
        } else {
            SessionParams::Stan(StanParams {
                k, sample_size, similarity: Similarity::Cosine,
                lambda_spw: spw, lambda_snh: snh, lambda_inh: inh, last_events: None,
            })
        };
        let model = params.check().unwrap().fit(train(&sessions, N_ITEMS as usize + 2));
        let on = |l: f64| (l > 0.0).then_some(l);
        let naive = NaiveKnn {
            k, sample_size, similarity: Similarity::Cosine,
            position: Box::new(move |p, l| on(spw).map_or(1.0, |s| ((p as f64 - l as f64) / s).exp())),
            matched: Box::new(move |st| on(ipw).map_or(1.0, |s| (-((st - 1) as f64) / s).exp())),
            recency_s: on(snh).map(|d| d * 86_400.0),
            neighbour_position: on(inh),
            idf,
        };
        assert_close(score_session(model.as_session(), &events(&current)), naive.scores(&sessions, &current))?;
    }

    #[test]
    fn rules_match_the_naive_scan(
        sessions in sessions_strategy(N_ITEMS),
        current in current_strategy(N_ITEMS),
        steps in 1usize..5,
        weighting in decay(),
        pruning in 0usize..5,
        which in 0u8..3,
    ) {
        let params = match which {
            0 => SessionParams::Sr(SrParams { steps, weighting, pruning, last_events: None }),
            1 => SessionParams::Ar(ArParams { pruning, last_events: None }),
            _ => SessionParams::Markov(MarkovParams { pruning, last_events: None }),
        };
        let model = params.check().unwrap().fit(train(&sessions, N_ITEMS as usize + 2));
        let last = current.last().unwrap().0;
        let mut naive = BTreeMap::<u32, f64>::new();
        for s in &sessions {
            for j in 0..s.len() {
                for l in 0..j {
                    let d = j - l;
                    let w = match which {
                        0 if d <= steps => weighting.step(d),
                        1 => {
                            // Both directions: a → b and b → a.
                            if s[j].0 == last { *naive.entry(s[l].0).or_insert(0.0) += 1.0; }
                            1.0
                        }
                        2 if d == 1 => 1.0,
                        _ => continue,
                    };
                    if s[l].0 == last {
                        *naive.entry(s[j].0).or_insert(0.0) += w;
                    }
                }
            }
        }
        let mut ranked: Vec<(u32, f64)> = naive.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if pruning > 0 { ranked.truncate(pruning); }
        assert_close(score_session(model.as_session(), &events(&current)), ranked.into_iter().collect())?;
    }

    #[test]
    fn spop_matches_the_naive_count(
        sessions in sessions_strategy(N_ITEMS),
        current in current_strategy(N_ITEMS),
        top_n in 1usize..6,
    ) {
        let model = SessionParams::Spop(SpopParams { top_n, last_events: None }).check().unwrap()
            .fit(train(&sessions, N_ITEMS as usize + 2));
        let mut pop = BTreeMap::<u32, f64>::new();
        for e in sessions.iter().flatten() {
            *pop.entry(e.0).or_insert(0.0) += 1.0;
        }
        let mut top: Vec<(u32, f64)> = pop.into_iter().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(top_n);
        let mut naive: BTreeMap<u32, f64> = top.iter().map(|&(i, p)| (i, p / (p + 1.0))).collect();
        for e in &current {
            *naive.entry(e.0).or_insert(0.0) += 1.0;
        }
        assert_close(score_session(model.as_session(), &events(&current)), naive)?;
    }

    /// The batch list of a user is the next-item ranking after the user's last session.
    #[test]
    fn batch_lists_replay_the_last_train_session(
        sessions in sessions_strategy(N_ITEMS),
        which in 0u8..4,
    ) {
        let params = match which {
            0 => SessionParams::Vsknn(VsknnParams::default()),
            1 => SessionParams::Vstan(VstanParams::default()),
            2 => SessionParams::Sr(SrParams::default()),
            _ => SessionParams::Spop(SpopParams::default()),
        };
        let n_items = N_ITEMS as usize;
        let model = params.check().unwrap().fit(train(&sessions, n_items));
        let history = UserItemMatrix::from_triples(
            sessions.len(),
            n_items,
            sessions.iter().enumerate().flat_map(|(u, s)| {
                s.iter().map(move |&(i, _)| (UserId(u as u32), ItemId(i), 1.0))
            }),
        )
        .unwrap();
        let users: Vec<UserId> = (0..sessions.len() as u32).map(UserId).collect();
        let mut request = RecommendRequest::top(5);
        request.exclude_seen = false;
        let lists = recommend(&model, &history, &users, &request).unwrap();
        for (u, s) in sessions.iter().enumerate() {
            let replay: Vec<(ItemId, i64)> = s.iter().map(|&(i, t)| (ItemId(i), t)).collect();
            let mut want = score_session(model.as_session(), &replay);
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            want.truncate(5);
            let got = lists.get(u);
            let want: Vec<ItemId> = want.iter().map(|w| w.0).collect();
            prop_assert_eq!(got.items, want.as_slice());
        }
    }
}

#[test]
fn recommender_n_items_is_the_item_space() {
    let sessions = vec![vec![(0, 1), (1, 2)]];
    let model = SessionParams::Markov(MarkovParams::default())
        .check()
        .unwrap()
        .fit(train(&sessions, 4));
    assert_eq!(Recommender::n_items(&model), 4);
}
