//! The compact terminal table.

use std::fmt::Write;

use crate::bootstrap::{Estimate, percent};
use crate::metric::Metric;

use super::Report;
use super::tables::{baseline_mark, baseline_note, leakage_note, num, thousands};

fn cell(e: Option<Estimate>) -> String {
    match e {
        Some(Estimate {
            mean,
            ci_low: Some(lo),
            ci_high: Some(hi),
        }) => format!("{} [{}, {}]", num(mean), num(lo), num(hi)),
        Some(e) => num(e.mean),
        None => "–".into(),
    }
}

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
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let _ = writeln!(
            out,
            "\n{}{}  (lists missing for {} test users; {} lists ignored)",
            m.name,
            baseline_mark(report, &m.name),
            thousands(m.users_without_recommendations),
            thousands(m.ignored_lists)
        );
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (text, &w))| {
                    if c == 0 {
                        format!("{text:>w$}")
                    } else {
                        format!("{text:<w$}")
                    }
                })
                .collect();
            let _ = writeln!(out, "  {}", line.join("  ").trim_end());
        }
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
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
