//! Reports: JSON content, Markdown, the HTML page's structure, the terminal table.

use std::collections::BTreeMap;

use super::{config, synthetic};
use crate::{EvalData, Population, Protocol, Report, build_report, evaluate_model};

/// A small report with a hostile model name and training losses.
pub(crate) fn sample_report() -> Report {
    let s = synthetic(300, 60, 20, 21);
    let config = config(&[5, 10, 20, 50], 200);
    let data = EvalData {
        test: &s.test,
        train: &s.train,
        train_events_per_user: &s.events,
        population: Population::All,
    };
    let names = ["als", "<b>pop</b> & \"co\""];
    let models: Vec<_> = s
        .models
        .iter()
        .zip(names)
        .map(|((_, recs), name)| evaluate_model(name, recs, &data, &config).unwrap())
        .collect();
    let mut losses = BTreeMap::new();
    losses.insert(
        "als".to_owned(),
        vec![9.5, 6.25, 5.0, 4.4, 4.1, 3.95, 3.9, 3.87],
    );
    build_report(
        Protocol {
            split: "last session per user (30 min gap)".into(),
            exclude_seen: true,
            n_recommended: 20,
            ..Protocol::default()
        },
        &data,
        &models,
        &losses,
        &config,
    )
}

/// Checks that every tag opened is closed in order (void elements excepted) and returns
/// the number of each opened element.
fn balanced(html: &str) -> BTreeMap<String, usize> {
    const VOID: [&str; 4] = ["meta", "link", "br", "img"];
    let mut stack: Vec<String> = Vec::new();
    let mut opened = BTreeMap::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').expect("unclosed tag bracket");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "bad tag <{tag}>");
        if let Some(closing) = tag.strip_prefix('/') {
            let closing = closing.trim();
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{closing}> closes nothing"));
            assert_eq!(open, closing, "</{closing}> closes <{open}>");
        } else if tag.ends_with('/') {
            panic!("self-closing <{tag}>: write an explicit end tag");
        } else {
            *opened.entry(name.clone()).or_insert(0) += 1;
            if !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
    }
    assert!(stack.is_empty(), "never closed: {stack:?}");
    opened
}

#[test]
fn html_tags_balance() {
    let html = sample_report().html();
    let opened = balanced(&html);
    for tag in [
        "svg", "table", "tr", "td", "th", "polyline", "rect", "line", "text",
    ] {
        assert!(opened.get(tag).copied().unwrap_or(0) > 0, "no <{tag}>");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>clickrec evaluation: als, &lt;b&gt;pop&lt;/b&gt;"));
    // Self-contained: no scripts, no external resources.
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("http://")
            || !html
                .replace("http://www.w3.org/2000/svg", "")
                .contains("http://")
    );
    assert!(!html.contains("https://"));
}

#[test]
fn html_has_one_chart_per_required_kind() {
    let html = sample_report().html();
    let charts: Vec<&str> = html
        .split("<svg class=\"chart\"")
        .skip(1)
        .map(|s| {
            let start = s.find("aria-label=\"").unwrap() + 12;
            let end = s[start..].find('"').unwrap();
            &s[start..start + end]
        })
        .collect();
    let count = |needle: &str| charts.iter().filter(|a| a.contains(needle)).count();
    assert_eq!(count("Line chart of Recall@K"), 1, "{charts:?}");
    assert_eq!(count("Line chart of NDCG@K"), 1);
    assert_eq!(count("by train activity bucket"), 2);
    assert_eq!(count("train-popularity percentile"), 1);
    assert_eq!(count("training loss of als"), 1);
    // The hostile model has no loss values: no chart for it.
    assert_eq!(charts.len(), 6);
    // Axes, ticks, legend colours.
    assert!(html.contains("class=\"axis\""));
    assert!(html.contains("class=\"tick\""));
    assert!(html.contains("#0072B2") && html.contains("#E69F00"));
}

#[test]
fn names_are_escaped_everywhere() {
    let r = sample_report();
    let html = r.html();
    assert!(!html.contains("<b>pop"));
    assert!(html.contains("&lt;b&gt;pop&lt;/b&gt; &amp; &quot;co&quot;"));
    let md = r.markdown();
    assert!(!md.contains("<b>"));
    assert!(md.contains("&lt;b>pop&lt;/b> &amp; \"co\""));
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["models"][1]["name"], "<b>pop</b> & \"co\"");
}

#[test]
fn json_holds_every_number_with_k_variant_and_interval() {
    let r = sample_report();
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["protocol"]["exclude_seen"], true);
    assert_eq!(json["settings"]["ks"], serde_json::json!([5, 10, 20, 50]));
    assert_eq!(json["settings"]["bootstrap_samples"], 200);
    assert!(json["test_set"]["dropped_targets"].is_u64());
    assert_eq!(json["variants"].as_array().unwrap().len(), 5);
    assert_eq!(json["variants"][4]["variant"], "repeat");
    assert_eq!(json["headline_variant"], "new_items");
    assert!(json["target_kinds"]["repeat"].is_u64());
    assert!(json["comparisons"][0]["p_value"].is_f64());
    assert_eq!(json["variants"][1]["variant"], "conversion");
    let model = &json["models"][0];
    assert!(model["users_without_recommendations"].is_u64());
    assert!(model["ignored_lists"].is_u64());
    let main = &model["variants"][0];
    assert_eq!(main["variant"], "all");
    let at = &main["at_k"][2];
    assert_eq!(at["k"], 20);
    for key in [
        "recall",
        "capped_recall",
        "precision",
        "hit_rate",
        "mrr",
        "ndcg",
        "map",
    ] {
        assert!(at[key]["mean"].is_f64(), "{key}");
        assert!(at[key]["ci_low"].as_f64().unwrap() <= at[key]["mean"].as_f64().unwrap());
        assert!(at[key]["ci_high"].is_f64());
    }
    for key in [
        "coverage",
        "distinct_items",
        "popularity_percentile",
        "seen_share",
    ] {
        assert!(at[key].is_number(), "{key}");
    }
    assert_eq!(main["segments"].as_array().unwrap().len(), 7);
    assert_eq!(main["segments"][0]["segment"], "events_0");
    assert_eq!(main["segments"][1]["at_k"][2]["k"], 20);
    assert!(main["segments"][1]["at_k"][2]["recall"].is_f64());
    let c = &json["comparisons"][0];
    for key in ["difference", "ci_low", "ci_high", "share_at_most_zero"] {
        assert!(c[key].is_number(), "{key}");
    }
    assert_eq!(json["comparisons"].as_array().unwrap().len(), 2 * 4);
    assert_eq!(json["training_loss"]["als"].as_array().unwrap().len(), 8);
}

#[test]
fn markdown_has_tables_per_variant_breakdowns_and_sentences() {
    let r = sample_report();
    let md = r.markdown();
    for heading in [
        "## Protocol",
        "## Users and targets",
        "## Results: all targets / all items",
        "## Results: conversion targets / all items",
        "## Results: all targets / new items only",
        "## Results: conversion targets / new items only",
        "## Results: repeat targets (seen in train) / all items",
        "## Results: all targets / new items only (headline)",
        "## Breakdown by train activity",
        "## Breakdown cold vs warm",
        "## Paired comparisons",
        "## Training loss",
    ] {
        assert!(md.contains(heading), "{heading}");
    }
    assert!(md.contains("| Model | K | Recall | CappedRecall |"));
    // Lists without seen items: the headline counts new targets only.
    assert!(
        md.contains("on Recall@20 (all targets / new items only)"),
        "{md}"
    );
    assert!(md.contains("Holm–Bonferroni"), "{md}");
    assert!(md.contains("Holm-adjusted p = "), "{md}");
    assert!(md.contains("(95% CI "));
}

#[test]
fn terminal_table_is_compact() {
    let r = sample_report();
    let t = r.terminal_table();
    assert!(t.contains("K  Recall"), "{t}");
    assert!(
        t.lines().any(|l| l.trim_start().starts_with("20  0.")),
        "{t}"
    );
    assert!(t.contains(" ["), "{t}");
    assert!(t.lines().count() < 40, "{t}");
}

#[test]
fn sample_report_for_the_browser() {
    // Writes the sample page when asked, for a look in a browser:
    // CLICKREC_EVAL_SAMPLE=/tmp/eval-sample.html cargo test -p clickrec-eval sample_report
    if let Ok(path) = std::env::var("CLICKREC_EVAL_SAMPLE") {
        let r = sample_report();
        std::fs::write(&path, r.html()).unwrap();
        std::fs::write(format!("{path}.md"), r.markdown()).unwrap();
        std::fs::write(format!("{path}.json"), r.to_json()).unwrap();
        std::fs::write(format!("{path}.txt"), r.terminal_table()).unwrap();
    }
}
