//! Writes every rendering of the report the renderers' tests look at, for a look in a
//! browser while working on them: `PATH` (HTML), `PATH.md`, `PATH.json` and `PATH.txt`
//! (the terminal table and answer).
//!
//! ```text
//! cargo run -p clickrec-report --example sample_report -- /tmp/sample-report.html
//! ```
//!
//! The data are `clickrec_eval::testing::synthetic`'s (seeded): 300 users, 60 items, a
//! model that finds most test targets against one that guesses, the second with a name
//! that needs escaping.

use std::collections::BTreeMap;

use clickrec_eval::testing::{config, synthetic};
use clickrec_eval::{EvalData, Population, Protocol, build_report, evaluate_model};
use clickrec_report::Render;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: sample_report PATH.html")?;
    let s = synthetic(300, 60, 20, 21);
    let config = config(&[5, 10, 20, 50], 200);
    let data = EvalData {
        test: &s.test,
        train: &s.train,
        train_events_per_user: &s.events,
        population: Population::All,
    };
    let names = ["als", "<b>pop</b> & \"co\""];
    let mut models = Vec::new();
    for ((_, lists), name) in s.models.iter().zip(names) {
        models.push(evaluate_model(name, lists, &data, &config)?);
    }
    let losses = BTreeMap::from([("als".to_owned(), vec![9.5, 6.25, 5.0, 4.4, 4.1, 3.95])]);
    let protocol = Protocol {
        split: "last session per user (30 min gap)".into(),
        exclude_seen: true,
        n_recommended: 20,
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
