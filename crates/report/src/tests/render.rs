//! Reports: JSON content, Markdown, the HTML page's structure, the terminal table.

use std::collections::BTreeMap;

use clickrec_core::Behavior::{Buy, Pv};
use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, Leakage, UserId};
use clickrec_recommend::{Recommendations, SessionRecommender, SessionState};

use super::{TestSpec, config, matrix, recs, synthetic, test_set};
use crate::Render;
use clickrec_eval::{
    EvalConfig, EvalData, EvalProtocol, Evaluator, Metric, NextItemSessions, Population, Protocol,
    Report, Variant, build_report, evaluate_model, evaluate_next_item, next_item_reports,
};

/// A small report with a hostile model name and training losses.
pub(crate) fn sample_report() -> Report {
    sample_report_with(Protocol {
        split: "last session per user (30 min gap)".into(),
        exclude_seen: true,
        n_recommended: 20,
        ..Protocol::default()
    })
}

fn sample_report_with(protocol: Protocol) -> Report {
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
    build_report(protocol, &data, &models, &losses, &config)
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

/// A session model by rule: after item i it ranks `next(i)`, best first. A rule that
/// ranks nothing stands for a model that needs the user's train history, which a cold
/// user does not have.
struct Rule {
    next: fn(u32) -> Vec<u32>,
}

struct RuleState<'a> {
    rule: &'a Rule,
    last: Option<u32>,
}

impl SessionRecommender for Rule {
    fn n_items(&self) -> usize {
        8
    }

    fn start_session(&self, _: UserId) -> Box<dyn SessionState + '_> {
        Box::new(RuleState {
            rule: self,
            last: None,
        })
    }
}

impl SessionState for RuleState<'_> {
    fn push(&mut self, item: ItemId, _: i64) {
        self.last = Some(item.0);
    }

    fn score(&mut self, out: &mut Vec<(ItemId, f32)>) {
        out.clear();
        if let Some(i) = self.last {
            for (r, j) in (self.rule.next)(i).into_iter().enumerate() {
                out.push((ItemId(j), 1.0 - r as f32 / 10.0));
            }
        }
    }
}

/// A session-only log: 20 test users, all cold, one session of four events each (item s,
/// s + 1, … mod 8). Set-of-items lists: popularity for everyone, none from the models that
/// need history. Next item: "sknn" always hits, "sr" about half the time, popularity
/// sometimes, item_knn and als never.
fn sessions_report(baselines: &[&str]) -> Report {
    let rows: Vec<Vec<u32>> = (0..30u32)
        .map(|u| {
            if u < 10 {
                vec![u % 8, (u + 1) % 8]
            } else {
                Vec::new()
            }
        })
        .collect();
    let row_refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let train = matrix(30, 8, &row_refs);
    let session = |u: u32| -> Vec<u32> { (0..4).map(|p| (u + p) % 8).collect() };
    let events: Vec<Vec<(u32, Behavior)>> = (10..30)
        .map(|u| session(u).into_iter().map(|i| (i, Pv)).collect())
        .collect();
    let specs: Vec<TestSpec> = (10..30u32)
        .map(|u| (u, true, &events[(u - 10) as usize][..]))
        .collect();
    let test = test_set(&train, &specs);
    let per_user: Vec<u32> = rows.iter().map(|r| r.len() as u32).collect();
    let data = EvalData {
        test: &test,
        train: &train,
        train_events_per_user: &per_user,
        population: Population::All,
    };
    let config = EvalConfig {
        ks: vec![5, 10, 20],
        bootstrap_samples: 200,
        protocol: vec![EvalProtocol::Session, EvalProtocol::NextItem],
        ..EvalConfig::default()
    }
    .check()
    .unwrap();
    let popular: Vec<(u32, &[u32])> = (10..30).map(|u| (u, &[0u32, 1, 2][..])).collect();
    let rules: [(&str, Rule); 5] = [
        (
            "popularity",
            Rule {
                next: |_| vec![0, 1, 2],
            },
        ),
        ("item_knn", Rule { next: |_| vec![] }),
        ("als", Rule { next: |_| vec![] }),
        (
            "sknn",
            Rule {
                next: |i| vec![(i + 1) % 8, (i + 2) % 8],
            },
        ),
        (
            "sr",
            Rule {
                next: |i| vec![(i + 1 + 2 * (i % 2)) % 8],
            },
        ),
    ];
    let mut evaluator = Evaluator::new(data, &config);
    for (name, _) in &rules {
        let lists = if *name == "popularity" {
            recs(&popular)
        } else {
            Recommendations::new()
        };
        evaluator.add(name, &lists).unwrap();
    }
    let mut report = evaluator.report(
        Protocol {
            split: "the given test sessions".into(),
            exclude_seen: true,
            n_recommended: 3,
            baselines: baselines.iter().map(|b| (*b).to_owned()).collect(),
            ..Protocol::default()
        },
        &BTreeMap::new(),
    );
    let (mut users, mut items, mut times) = (vec![], vec![], vec![]);
    for u in 10..30u32 {
        for (p, i) in session(u).into_iter().enumerate() {
            users.push(UserId(u));
            items.push(ItemId(i));
            times.push(1000 * i64::from(u) + p as i64);
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
    .unwrap();
    let sessions = NextItemSessions::from_log(&log, None, &[true; 8]);
    let evaluations: Vec<_> = rules
        .iter()
        .map(|(name, rule)| evaluate_next_item(name, rule, &sessions, &config).unwrap())
        .collect();
    let (reports, summary) = next_item_reports(&evaluations, &sessions, &config);
    report.add_next_item(reports, summary);
    report
}

/// 60 warm users, every target new to its user and no list holding a seen item: the
/// "all items" variants have the same numbers as the "new items only" ones.
fn no_repeat_report() -> Report {
    let rows: Vec<Vec<u32>> = (0..60u32).map(|u| vec![u % 40]).collect();
    let row_refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let train = matrix(60, 40, &row_refs);
    let events: Vec<[(u32, Behavior); 2]> = (0..60u32)
        .map(|u| [((u + 1) % 40, Pv), ((u + 3) % 40, Buy)])
        .collect();
    let specs: Vec<TestSpec> = (0..60u32)
        .map(|u| (u, false, &events[u as usize][..]))
        .collect();
    let test = test_set(&train, &specs);
    let data = EvalData {
        test: &test,
        train: &train,
        train_events_per_user: &[1; 60],
        population: Population::All,
    };
    let config = config(&[5, 10, 20], 100);
    let personal: Vec<(u32, Vec<u32>)> = (0..60u32)
        .map(|u| (u, (1..=5).map(|d| (u + d) % 40).collect()))
        .collect();
    let popular: Vec<(u32, Vec<u32>)> = (0..60u32)
        .map(|u| (u, (0..6).filter(|&i| i != u % 40).collect()))
        .collect();
    let lists = |l: &[(u32, Vec<u32>)]| {
        recs(
            &l.iter()
                .map(|(u, l)| (*u, l.as_slice()))
                .collect::<Vec<_>>(),
        )
    };
    let mut evaluator = Evaluator::new(data, &config);
    evaluator.add("personal", &lists(&personal)).unwrap();
    evaluator.add("popularity", &lists(&popular)).unwrap();
    evaluator.report(
        Protocol {
            exclude_seen: true,
            n_recommended: 6,
            baselines: vec!["popularity".into()],
            ..Protocol::default()
        },
        &BTreeMap::new(),
    )
}

/// The report with copies of model `from` (next-item results too) renamed, up to `n`
/// models.
fn with_copies(mut report: Report, from: &str, n: usize) -> Report {
    let model = report.model(from).unwrap().clone();
    while report.models.len() < n {
        let mut m = model.clone();
        m.name = format!("{from}{}", report.models.len() + 1);
        if let Some(r) = &mut m.next_item {
            r.model = m.name.clone();
        }
        report.models.push(m);
    }
    report
}

/// The first paragraph under the Markdown summary heading.
fn first_summary_sentence(md: &str) -> &str {
    let rest = &md[md.find("## Summary").unwrap()..];
    rest.split("\n\n").nth(1).unwrap()
}

/// The inline SVG charts of an HTML page.
fn charts(html: &str) -> Vec<&str> {
    html.split("<svg class=\"chart\"")
        .skip(1)
        .map(|s| &s[..s.find("</svg>").unwrap()])
        .collect()
}

/// Each table's header row and first body row, in Markdown and in HTML.
fn table_keys(md: &str, html: &str) -> Vec<String> {
    let lines: Vec<&str> = md.lines().collect();
    let mut keys: Vec<String> = (0..lines.len())
        .filter(|&i| lines[i].starts_with('|') && (i == 0 || !lines[i - 1].starts_with('|')))
        .map(|i| format!("md {}\n{}", lines[i], lines.get(i + 2).unwrap_or(&"")))
        .collect();
    for t in html.split("<thead>").skip(1) {
        let body = t.find("<tbody>").unwrap();
        let first = t[body..].find("</tr>").map_or(t.len(), |e| body + e);
        keys.push(format!("html {}", &t[..first]));
    }
    keys
}

#[track_caller]
fn assert_no_table_twice(report: &Report) {
    let keys = table_keys(&report.markdown(), &report.html());
    assert!(keys.len() > 4, "{keys:?}");
    for (i, k) in keys.iter().enumerate() {
        assert!(!keys[..i].contains(k), "table twice: {k}");
    }
}

#[test]
fn a_warm_report_opens_with_the_best_sentence() {
    let r = no_repeat_report();
    let answer = r.terminal_answer();
    let best = answer.lines().find(|l| l.starts_with("Best: ")).unwrap();
    assert!(
        best.starts_with("Best: personal, Recall@20 +") && best.contains("over popularity"),
        "{answer}"
    );
    let md = r.markdown();
    assert_eq!(first_summary_sentence(&md), best);
    let html = r.html();
    let summary = &html[html.find("<section id=\"summary\">").unwrap()..];
    assert!(
        summary.contains(&format!("</h2>\n<p>{best}</p>")),
        "{summary}"
    );
}

#[test]
fn a_session_only_log_is_answered_by_the_next_item_protocol() {
    let r = sessions_report(&["popularity"]);
    assert!(r.all_cold() && r.next_item_headline().is_some());
    let answer = r.terminal_answer();
    let best = answer
        .lines()
        .find(|l| l.starts_with("Best (next item"))
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(
        best.starts_with("Best (next item after each prefix): sknn, HitRate@20 +")
            && best.contains("over popularity, the best simple baseline (paired 95% CI"),
        "{best}"
    );
    assert!(
        answer.starts_with(
            "Evaluation at K = 20 (next item after each prefix) on 20 test sessions; 95% bootstrap CI\n"
        ) && answer.contains("No test users with train history to rank models on"),
        "{answer}"
    );
    let no_hit = "No hit in any prediction: item_knn, als — every test session belongs to a user without train history";
    assert!(answer.contains(no_hit), "{answer}");

    let md = r.markdown();
    assert_eq!(first_summary_sentence(&md), best, "{md}");
    let html = r.html();
    for text in [&md, &html] {
        // Named once, not tabulated.
        assert_eq!(text.matches(no_hit).count(), 1, "{text}");
        assert!(!text.contains("| item_knn |") && !text.contains("<td>item_knn</td>"));
        // No set-of-items tables, breakdowns, comparisons or charts of zeros.
        for absent in [
            "Models × metrics",
            "Results: all targets",
            "Breakdown",
            "Paired comparisons (",
            "Line chart of Recall@K",
            "by train activity",
            "Popularity of the top-",
            "Evaluated users per variant",
            "Cold users (no train history), evaluated apart",
        ] {
            assert!(!text.contains(absent), "{absent}: {text}");
        }
        assert!(text.contains("Results: next item after each prefix (headline)"));
        assert!(text.contains("Next item: paired differences at K = 20"));
    }
    for row in ["| sknn | ", "| sr | ", "| popularity | "] {
        assert!(md.contains(row), "{row}: {md}");
    }
    let charts = charts(&html);
    assert_eq!(charts.len(), 3, "{charts:?}");
    assert!(charts[0].contains("Grouped bar chart of next-item HitRate@20, MRR@20 and Recall@20"));
    assert!(charts[1].contains("Line chart of HitRate@K") && charts[2].contains("MRR@K"));
    for chart in &charts {
        assert!(chart.contains(">sknn</text>") && !chart.contains(">als</text>"));
    }
    assert_no_table_twice(&r);
}

#[test]
fn without_a_baseline_the_next_item_margin_is_over_the_runner_up() {
    let r = sessions_report(&[]);
    let best = first_summary_sentence(&r.markdown()).to_owned();
    assert!(
        best.starts_with("Best (next item after each prefix): sknn, HitRate@20 +")
            && best.contains("over sr, the runner-up"),
        "{best}"
    );
    assert!(r.terminal_answer().contains(&best));
    // A warm report keeps the set-of-items answer and no next-item line.
    let warm = no_repeat_report();
    assert!(warm.next_item_headline().is_none());
    assert!(!warm.terminal_answer().contains("Best (next item"));
}

#[test]
fn charts_show_the_headline_variant() {
    let r = sample_report();
    assert_eq!(r.headline_variant, Variant::NewItems);
    let html = r.html();
    let charts = charts(&html);
    for chart in &charts[..4] {
        assert!(
            chart.contains("all targets / new items only")
                && !chart.contains("all targets / all items"),
            "{chart}"
        );
    }
    let recall = |variant| {
        r.model("als")
            .unwrap()
            .estimate(variant, Metric::Recall, 20)
            .unwrap()
            .mean
    };
    assert_ne!(
        format!("{:.4}", recall(Variant::NewItems)),
        format!("{:.4}", recall(Variant::All))
    );
    assert!(charts[0].contains(&format!(
        "als — Recall@20: {:.4} ",
        recall(Variant::NewItems)
    )));
    assert!(!charts[0].contains(&format!("als — Recall@20: {:.4} ", recall(Variant::All))));
}

/// The labels of `class` in a chart: each one's x extent (a level label is centred on
/// its x, at `char_width` a character; an upright one, 10 px high, stands left of its
/// baseline x) and its text.
fn labels(chart: &str, class: &str, char_width: f64) -> Vec<(f64, f64, String)> {
    chart
        .split(&format!("<text class=\"{class}\" "))
        .skip(1)
        .map(|t| {
            let open = t.find('>').unwrap();
            let text = t[open + 1..t.find("</text>").unwrap()].to_owned();
            let x = t.strip_prefix("x=\"").unwrap();
            let x: f64 = x[..x.find('"').unwrap()].parse().unwrap();
            if t[..open].contains("rotate(-90") {
                (x - 8.0, x + 2.0, text)
            } else {
                let half = text.chars().count() as f64 * char_width / 2.0;
                (x - half, x + half, text)
            }
        })
        .collect()
}

#[test]
fn bar_labels_never_overlap() {
    let sessions = sessions_report(&["popularity"]);
    let sample = sample_report();
    let (mut level, mut upright, mut bars) = (0, 0, 0);
    for n in 1..=12 {
        let mut next = sessions.clone();
        next.models.retain(|m| m.name == "sknn");
        let mut items = sample.clone();
        items.models.retain(|m| m.name == "als");
        for r in [with_copies(next, "sknn", n), with_copies(items, "als", n)] {
            let html = r.html();
            for chart in charts(&html) {
                if !chart.to_lowercase().contains("bar chart") {
                    continue;
                }
                // Digits of 10 px value labels and 11 px second lines under the axis.
                for (class, width) in [("value", 5.6), ("tick sub", 6.1)] {
                    let mut labels = labels(chart, class, width);
                    labels.sort_by(|a, b| a.0.total_cmp(&b.0));
                    for pair in labels.windows(2) {
                        assert!(
                            pair[0].1 <= pair[1].0,
                            "{n} models: labels {:?} and {:?} overlap",
                            pair[0],
                            pair[1]
                        );
                    }
                    if class == "value" {
                        level += labels.len();
                    }
                }
                upright += chart.matches("rotate(-90 ").count() - 1; // the y-axis title
                // Every bar keeps its value in its tooltip.
                let rects = chart.matches("<rect x=").count() - r.models.len(); // legend
                bars += rects;
                assert_eq!(chart.matches("</title></rect>").count(), rects);
            }
        }
    }
    level -= upright;
    assert!(
        level > 0 && upright > 0 && bars > level + upright,
        "{level} {upright} {bars}"
    );
    // 12 models × 3 metrics: the bars are too narrow for any label.
    let twelve = with_copies(sessions, "sknn", 12).html();
    let chart = charts(&twelve)[0];
    assert!(chart.contains("sknn12 — MRR@20: 1.0000"), "{chart}");
}

/// CIELAB of an sRGB colour "#RRGGBB" (D65).
fn lab(hex: &str) -> [f64; 3] {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap()) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (channel(0), channel(1), channel(2));
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
    let y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
    let z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
    [116.0 * y - 16.0, 500.0 * (x - y), 200.0 * (y - z)]
}

#[test]
fn twenty_models_get_twenty_distinct_colours() {
    let html = with_copies(sample_report(), "als", 21).html();
    let swatches: Vec<&str> = html
        .split("<span class=\"swatch\" style=\"background:")
        .skip(1)
        .map(|s| &s[..7])
        .collect();
    assert_eq!(swatches.len(), 21);
    // The 21st repeats the first (its lines are dashed).
    assert_eq!(swatches[20], swatches[0]);
    for i in 0..20 {
        for j in 0..i {
            let (a, b) = (lab(swatches[i]), lab(swatches[j]));
            let distance = (0..3).map(|c| (a[c] - b[c]).powi(2)).sum::<f64>().sqrt();
            assert!(
                distance > 20.0,
                "colours {j} {} and {i} {} are {distance:.1} apart",
                swatches[j],
                swatches[i]
            );
        }
    }
}

#[test]
fn no_table_appears_twice() {
    let r = no_repeat_report();
    assert_eq!(r.target_kinds.repeat, 0);
    let md = r.markdown();
    assert!(
        md.contains("Models × metrics at each K (all targets / all items): the same numbers as “Models × metrics at each K (all targets / new items only)” above."),
        "{md}"
    );
    assert_no_table_twice(&r);
    assert_no_table_twice(&sample_report());
}

#[test]
fn a_random_split_says_leakage_is_not_measurable() {
    let note = "Random split (no time in the log): not time-aware, so leakage is not measurable; scores may be optimistic next to a time-based split.";
    let leakage = Some(Leakage {
        future_train_events_share_mean: 0.0,
        future_train_events_share_max: 0.0,
        test_users_with_future_train_events: 0,
        test_users: 240,
    });
    let time_split = sample_report_with(Protocol {
        leakage,
        ..Protocol::default()
    });
    assert!(time_split.markdown().contains("Leak-free split"));
    let random = sample_report_with(Protocol {
        leakage,
        random_split: true,
        ..Protocol::default()
    });
    for text in [
        random.terminal_answer(),
        random.terminal_table(),
        random.markdown(),
        random.html(),
    ] {
        assert!(text.contains(note) && !text.contains("Leak-free"), "{text}");
    }
}

#[test]
fn warnings_come_right_after_the_summary() {
    for r in [no_repeat_report(), sessions_report(&["popularity"])] {
        assert!(
            r.warnings.iter().any(|w| w.contains("the catalogue has")),
            "{:?}",
            r.warnings
        );
        let md = r.markdown();
        let html = r.html();
        for w in &r.warnings {
            let at = md.find(&format!("- {w}")).unwrap();
            assert!(at < md.find("## Protocol").unwrap(), "{md}");
            let at = html.find(&format!("<li>{w}</li>")).unwrap();
            assert!(at < html.find("<section id=\"charts\">").unwrap(), "{html}");
        }
        assert!(md.find("## Summary").unwrap() < md.find("## Warnings").unwrap());
    }
}
