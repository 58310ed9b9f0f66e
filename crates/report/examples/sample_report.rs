//! Writes every rendering of a small report, for a look in a browser while working on the
//! renderers: `PATH` (HTML), `PATH.md`, `PATH.json` and `PATH.txt` (the terminal table
//! and answer).
//!
//! ```text
//! cargo run -p clickrec-report --example sample_report -- /tmp/sample-report.html
//! ```
//!
//! The data are random (seeded): 400 users, 80 items, a model that finds most test targets
//! ("oracle", a name with markup in it to show the escaping) against one that guesses.

use std::collections::BTreeMap;

use clickrec_core::{Behavior, ItemId, SplitMix64, TestSet, UserId, UserItemMatrix};
use clickrec_eval::{EvalConfig, EvalData, Population, Protocol, build_report, evaluate_model};
use clickrec_recommend::Recommendations;
use clickrec_report::Render;

const USERS: u32 = 400;
const ITEMS: u32 = 80;
const LIST: usize = 50;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: sample_report PATH.html")?;
    let mut rng = SplitMix64::new(7);
    // Skewed popularity: the smaller of two draws.
    let item =
        |rng: &mut SplitMix64| (rng.below(ITEMS as usize).min(rng.below(ITEMS as usize))) as u32;
    let mut triples = Vec::new();
    let mut events = vec![0u32; USERS as usize];
    for user in 0..USERS {
        for _ in 0..rng.below(10) {
            triples.push((UserId(user), ItemId(item(&mut rng)), 1.0));
            events[user as usize] += 1;
        }
    }
    let train = UserItemMatrix::from_triples(USERS as usize, ITEMS as usize, triples)?;
    let mut seen = vec![false; ITEMS as usize];
    train
        .csr()
        .indices()
        .iter()
        .for_each(|&i| seen[i as usize] = true);
    let mut test = TestSet::builder(&seen);
    for user in (0..USERS).filter(|u| u % 5 != 0) {
        let targets: Vec<(ItemId, Behavior)> = (0..1 + rng.below(4))
            .map(|_| {
                (
                    ItemId(item(&mut rng)),
                    if rng.below(8) == 0 {
                        Behavior::Buy
                    } else {
                        Behavior::Pv
                    },
                )
            })
            .collect();
        test.push_user(UserId(user), events[user as usize] == 0, targets)?;
    }
    let test = test.finish();

    let mut oracle = Recommendations::new();
    let mut guess = Recommendations::new();
    for user in 0..USERS {
        let mut found: Vec<u32> = test
            .find(UserId(user))
            .map(|t| {
                t.targets
                    .iter()
                    .map(|i| i.0)
                    .filter(|_| rng.below(4) != 0)
                    .collect()
            })
            .unwrap_or_default();
        let mut guessed = Vec::new();
        while guessed.len() < LIST {
            let i = item(&mut rng);
            if !guessed.contains(&i) {
                guessed.push(i);
            }
            if found.len() < LIST && !found.contains(&i) {
                found.push(i);
            }
        }
        let scored = |items: &[u32]| {
            let n = items.len() as f32;
            items
                .iter()
                .enumerate()
                .map(move |(rank, &i)| (ItemId(i), n - rank as f32))
                .collect::<Vec<_>>()
        };
        oracle.push(UserId(user), scored(&found))?;
        guess.push(UserId(user), scored(&guessed))?;
    }

    let config = EvalConfig {
        ks: vec![5, 10, 20, 50],
        bootstrap_samples: 200,
        ..EvalConfig::default()
    }
    .check()?;
    let data = EvalData {
        test: &test,
        train: &train,
        train_events_per_user: &events,
        population: Population::All,
    };
    let models = vec![
        evaluate_model("<b>oracle</b> & \"co\"", &oracle, &data, &config)?,
        evaluate_model("guess", &guess, &data, &config)?,
    ];
    let losses = BTreeMap::from([("guess".to_owned(), vec![9.5, 6.25, 5.0, 4.4, 4.1, 3.95])]);
    let protocol = Protocol {
        split: "last session per user (30 min gap)".into(),
        exclude_seen: true,
        n_recommended: LIST,
        baselines: vec!["guess".into()],
        ..Protocol::default()
    };
    let report = build_report(protocol, &data, &models, &losses, &config);
    std::fs::write(&path, report.html())?;
    std::fs::write(format!("{path}.md"), report.markdown())?;
    std::fs::write(format!("{path}.json"), report.to_json())?;
    std::fs::write(
        format!("{path}.txt"),
        format!("{}\n{}", report.terminal_table(), report.terminal_answer()),
    )?;
    println!("wrote {path}, {path}.md, {path}.json, {path}.txt");
    Ok(())
}
