//! The terminal renderings: the answer at a glance ([`answer`]: one table of every model
//! at the headline K, the best model and its margin over the best baseline, the cold
//! users' line) and the full tables ([`render`]: every K, every comparison).

use std::fmt::Write;

use clickrec_eval::percent;
use clickrec_eval::{Metric, Variant};

use crate::tables::{
    baseline_mark, baseline_note, best_sentence, cell, cold_line, leakage_note,
    next_item_best_sentence, next_item_headline_note, next_item_ranking, no_hit_sentence, num,
    population_users, thousands,
};
use clickrec_eval::NextItemSummary;
use clickrec_eval::{ModelReport, Report};

/// One line per model at the headline K, the best model's margin over the best simple
/// baseline, models that cannot score in the headline variant named once, and the cold
/// users' line. When the next-item protocol is the answer ([`Report::next_item_headline`])
/// its table takes the set-of-items table's place.
pub(crate) fn answer(report: &Report) -> String {
    let mut out = String::new();
    let k = report.headline_k();
    let headline = report.headline_variant;
    let main = &report.variants[headline.index()];
    let users = population_users(report.population);
    let skipped = if main.skipped_users > 0 {
        format!(
            " ({} more have no target here)",
            thousands(main.skipped_users)
        )
    } else {
        String::new()
    };
    let on = match report.next_item_headline() {
        Some(summary) => format!(
            "({}) on {} test sessions",
            Variant::NextItem.label(),
            thousands(summary.sessions)
        ),
        None => format!(
            "({}) on {} {users}{skipped}",
            headline.label(),
            thousands(main.evaluated_users)
        ),
    };
    let _ = writeln!(
        out,
        "Evaluation at K = {k} {on}; {}",
        if report.settings.bootstrap_samples > 0 {
            format!("{} bootstrap CI", percent(report.settings.confidence))
        } else {
            "no intervals".into()
        }
    );
    if let Some(note) = leakage_note(report) {
        let _ = writeln!(out, "{note}");
    }
    if report.next_item_headline().is_some() {
        let _ = writeln!(out, "{}", next_item_headline_note(report));
    } else if main.evaluated_users > 0 {
        out.push_str(&items_table(report));
    } else {
        let _ = writeln!(
            out,
            "No {users} to rank models on in the held-out sessions' items."
        );
    }
    if let Some(summary) = &report.next_item {
        out.push_str(&next_item_table(report, summary));
    }
    if let Some(cold) = &report.cold_users {
        let _ = writeln!(out, "{}", cold_line(cold, k));
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// The set-of-items protocol: each model that scores in the headline variant, best first,
/// the best model's margin over the best baseline, and the models that cannot score.
fn items_table(report: &Report) -> String {
    let mut out = String::new();
    let (k, headline) = (report.headline_k(), report.headline_variant);
    let best = report.best_model().map(|m| m.name.as_str());
    let (scoring, silent): (Vec<&ModelReport>, Vec<&ModelReport>) = report
        .models
        .iter()
        .partition(|m| report.scores_in_headline(m));
    let recall = |m: &ModelReport| {
        m.estimate(headline, Metric::Recall, k)
            .map_or(f64::NEG_INFINITY, |e| e.mean)
    };
    let mut ranked = scoring;
    ranked.sort_by(|a, b| recall(b).total_cmp(&recall(a)).then(a.name.cmp(&b.name)));
    let mut rows = vec![vec![
        String::new(),
        "model".to_owned(),
        format!("Recall@{k}"),
        format!("NDCG@{k}"),
    ]];
    rows.extend(ranked.iter().map(|m| {
        vec![
            if Some(m.name.as_str()) == best {
                "*"
            } else {
                ""
            }
            .to_owned(),
            format!("{}{}", m.name, baseline_mark(report, &m.name)),
            cell(m.estimate(headline, Metric::Recall, k)),
            cell(m.estimate(headline, Metric::Ndcg, k)),
        ]
    }));
    out.push_str(&aligned(&rows, "", false));
    if let Some(line) = best_sentence(report) {
        let _ = writeln!(out, "{line}");
    }
    if !silent.is_empty() {
        let names: Vec<&str> = silent.iter().map(|m| m.name.as_str()).collect();
        let why = if headline.new_items_only() {
            format!(
                "no list holds an item new to its user, and the headline ({}) counts only those; see the repeat variant in the report",
                headline.label()
            )
        } else {
            "no evaluated user has a list from it".to_owned()
        };
        let _ = writeln!(out, "Not ranked: {} — {why}.", names.join(", "));
    }
    out
}

/// The next-item protocol at the headline K: HitRate and MRR over predictions, best
/// HitRate first, the models without a hit named once, and the best model's margin when
/// this is the answer.
fn next_item_table(report: &Report, summary: &NextItemSummary) -> String {
    let k = report.headline_k();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Next item at K = {k}: {} sessions, {} predictions",
        thousands(summary.sessions),
        thousands(summary.predictions)
    );
    let ranking = next_item_ranking(report);
    let mut rows = vec![vec![
        String::new(),
        "model".to_owned(),
        format!("HitRate@{k}"),
        format!("MRR@{k}"),
    ]];
    rows.extend(ranking.ranked.iter().enumerate().map(|(i, (m, at))| {
        vec![
            if i == 0 { "*" } else { "" }.to_owned(),
            m.name.clone(),
            cell(Some(at.hit_rate)),
            cell(Some(at.mrr)),
        ]
    }));
    out.push_str(&aligned(&rows, "", false));
    if report.next_item_headline().is_some()
        && let Some(line) = next_item_best_sentence(report, &ranking)
    {
        let _ = writeln!(out, "{line}");
    }
    if let Some(line) = no_hit_sentence(report, &ranking.no_hit) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Rows of cells in columns two spaces apart, each line after `indent`: left-aligned, but
/// for the first column right-aligned when `numbers_first` (a column of K).
fn aligned(rows: &[Vec<String>], indent: &str, numbers_first: bool) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (text, &w))| {
                if c == 0 && numbers_first {
                    format!("{text:>w$}")
                } else {
                    format!("{text:<w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{indent}{}", line.join("  ").trim_end());
    }
    out
}

/// Every model's table at every K, every headline comparison, the next-item results and
/// the cold users' line (`--verbose`).
pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    let headline = report.headline_variant;
    let main = &report.variants[headline.index()];
    let _ = writeln!(
        out,
        "Evaluation ({}): {} users evaluated, {} skipped (no targets); {}",
        headline.label(),
        thousands(main.evaluated_users),
        thousands(main.skipped_users),
        if report.settings.bootstrap_samples > 0 {
            format!(
                "[{} bootstrap CI, {} resamples]",
                percent(report.settings.confidence),
                report.settings.bootstrap_samples
            )
        } else {
            "no intervals".into()
        }
    );
    if let Some(note) = leakage_note(report) {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(out, "{}", baseline_note(report));
    for m in &report.models {
        let mut rows: Vec<Vec<String>> = vec![
            std::iter::once("K".to_owned())
                .chain(Metric::MAIN.iter().map(|m| m.name().to_owned()))
                .collect(),
        ];
        for &k in &report.settings.ks {
            rows.push(
                std::iter::once(k.to_string())
                    .chain(
                        Metric::MAIN
                            .iter()
                            .map(|&metric| cell(m.estimate(headline, metric, k))),
                    )
                    .collect(),
            );
        }
        let _ = writeln!(
            out,
            "\n{}{}  (lists missing for {} test users; {} lists ignored)",
            m.name,
            baseline_mark(report, &m.name),
            thousands(m.users_without_recommendations),
            thousands(m.ignored_lists)
        );
        out.push_str(&aligned(&rows, "  ", true));
    }
    let k = report.headline_k();
    let family: Vec<&str> = report
        .comparisons
        .iter()
        .filter(|c| c.k == k)
        .map(|c| c.sentence.as_str())
        .collect();
    if !family.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "Comparisons: {}", report.comparison_family);
        for s in family {
            let _ = writeln!(out, "{s}.");
        }
    }
    if let Some(summary) = &report.next_item {
        let _ = writeln!(
            out,
            "\nNext item at K = {k}: {} sessions, {} predictions (model: HitRate, MRR over predictions; per session)",
            thousands(summary.sessions),
            thousands(summary.predictions)
        );
        for m in &report.models {
            if let Some(at) = m
                .next_item
                .as_ref()
                .and_then(|r| r.at_k.iter().find(|a| a.k == k))
            {
                let _ = writeln!(
                    out,
                    "  {:<16} HitRate {}  MRR {}  |  per session {} / {}",
                    m.name,
                    cell(Some(at.hit_rate)),
                    cell(Some(at.mrr)),
                    num(at.per_session.hit_rate.mean),
                    num(at.per_session.mrr.mean)
                );
            }
        }
    }
    if let Some(cold) = &report.cold_users {
        let _ = writeln!(out, "\n{}", cold_line(cold, k));
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
