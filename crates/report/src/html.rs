//! `report.html`: one self-contained page, inline CSS and SVG, no scripts, no network.

use std::fmt::Write;

use clickrec_eval::percent;
use clickrec_eval::{Metric, Segment};

use crate::svg::{
    BarSeries, Curve, CurvePoint, PopularityBar, ScatterPoint, esc, grouped_bars, k_curves,
    loss_chart, popularity_bars, scatter,
};
use crate::tables::{Anchor, Section, Table, next_item_ranking, sections, thousands};
use clickrec_eval::Report;

const STYLE: &str = "
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1b1b1b; background: #fff; margin: 0; }
main { max-width: 1400px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 0.6rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
p, li { max-width: 75rem; }
.tablewrap { overflow-x: auto; margin: 0.4rem 0 1.2rem; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-style: italic; color: #555; padding: 0.2rem 0; }
th, td { border: 1px solid #d8d8d8; padding: 0.25rem 0.55rem; white-space: nowrap; }
th { background: #f3f5f7; text-align: left; }
td.num { text-align: right; }
tbody tr:nth-child(even) { background: #fafafa; }
.charts { display: flex; flex-wrap: wrap; gap: 1.2rem; }
figure { margin: 0; border: 1px solid #e3e3e3; border-radius: 6px; padding: 0.5rem; background: #fff; }
figcaption { font-size: 13px; color: #444; max-width: 520px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font: 12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; fill: #222; }
svg.chart .chart-title { font-size: 14px; font-weight: 600; }
svg.chart .axis-title { font-size: 12px; fill: #444; }
svg.chart .tick.sub { fill: #666; font-size: 11px; }
svg.chart .value { font-size: 10px; fill: #333; }
svg.chart line.grid { stroke: #e6e6e6; stroke-width: 1; }
svg.chart line.axis { stroke: #555; stroke-width: 1; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em; vertical-align: baseline; }
";

fn table(out: &mut String, t: &Table) {
    let _ = write!(
        out,
        "<div class=\"tablewrap\"><table><caption>{}</caption><thead><tr>",
        esc(&t.caption)
    );
    for h in &t.header {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i < t.label_columns {
                let _ = write!(out, "<td>{}</td>", esc(cell));
            } else {
                let _ = write!(out, "<td class=\"num\">{}</td>", esc(cell));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n");
}

fn section(out: &mut String, s: &Section) {
    let _ = writeln!(out, "<section id=\"{}\"><h2>{}</h2>", s.id, esc(&s.heading));
    for p in &s.paragraphs {
        let _ = writeln!(out, "<p>{}</p>", esc(p));
    }
    if !s.bullets.is_empty() {
        out.push_str("<ul>");
        for b in &s.bullets {
            let _ = write!(out, "<li>{}</li>", esc(b));
        }
        out.push_str("</ul>\n");
    }
    for t in &s.tables {
        table(out, t);
    }
    out.push_str("</section>\n");
}

fn figure(out: &mut String, svg: &str, caption: &str) {
    let _ = writeln!(
        out,
        "<figure>{svg}<figcaption>{}</figcaption></figure>",
        esc(caption)
    );
}

/// The charts section: the set-of-items protocol's (unless the next-item protocol is the
/// answer, when they would be charts of zeros), the next-item protocol's, losses, and the
/// parameter search.
fn charts(report: &Report) -> String {
    let mut out = String::from("<section id=\"charts\"><h2>Charts</h2><div class=\"charts\">\n");
    if report.next_item_headline().is_none() {
        item_charts(&mut out, report);
    }
    if report.next_item.is_some() {
        next_item_charts(&mut out, report);
    }
    for (i, m) in report.models.iter().enumerate() {
        if let Some(values) = report.training_loss.get(&m.name)
            && values.iter().any(|v| v.is_finite())
        {
            figure(
                &mut out,
                &loss_chart(&m.name, i, values),
                &format!("Training loss of {} per iteration.", m.name),
            );
        }
    }
    // Losses of names that are not among the models still get a chart.
    for (j, (name, values)) in report.training_loss.iter().enumerate() {
        if report.model(name).is_none() && values.iter().any(|v| v.is_finite()) {
            figure(
                &mut out,
                &loss_chart(name, report.models.len() + j, values),
                &format!("Training loss of {name} per iteration."),
            );
        }
    }
    if let Some(tuning) = &report.tuning {
        tuning_charts(&mut out, tuning);
    }
    out.push_str("</div></section>\n");
    out
}

/// The next-item protocol at the headline K (HitRate, MRR, Recall of the remaining items,
/// a bar per model with a hit) and, when it is the answer, HitRate and MRR over K. Each
/// model keeps its colour of the page's legend.
fn next_item_charts(out: &mut String, report: &Report) {
    let ranking = next_item_ranking(report);
    if ranking.ranked.is_empty() {
        return;
    }
    let (ks, k) = (&report.settings.ks, report.headline_k());
    let conf = percent(report.settings.confidence);
    let colour_of = |name: &str| {
        report
            .models
            .iter()
            .position(|m| m.name == name)
            .unwrap_or(0)
    };
    let groups: Vec<(String, Option<String>)> = vec![
        (format!("HitRate@{k}"), None),
        (format!("MRR@{k}"), None),
        (format!("Recall@{k}"), Some("remaining items".to_owned())),
    ];
    let series: Vec<BarSeries> = ranking
        .ranked
        .iter()
        .map(|(m, at)| BarSeries {
            name: &m.name,
            colour: colour_of(&m.name),
            values: vec![
                Some(at.hit_rate.mean),
                Some(at.mrr.mean),
                Some(at.recall.mean),
            ],
        })
        .collect();
    figure(
        out,
        &grouped_bars(
            &format!("Next item at K = {k}"),
            "over predictions",
            &groups,
            &series,
            &format!(
                "Grouped bar chart of next-item HitRate@{k}, MRR@{k} and Recall@{k} of the remaining items for each model with a hit"
            ),
        ),
        "The next item after each prefix of a test session, averaged over predictions; models without a hit have no bar (the summary names them).",
    );
    if report.next_item_headline().is_none() {
        return;
    }
    for metric in [Metric::HitRate, Metric::Mrr] {
        let curves: Vec<Curve> = ranking
            .ranked
            .iter()
            .map(|(m, _)| Curve {
                name: &m.name,
                colour: colour_of(&m.name),
                points: ks
                    .iter()
                    .map(|&k| {
                        let at = m.next_item.as_ref()?.at_k.iter().find(|a| a.k == k)?;
                        let e = if metric == Metric::HitRate {
                            at.hit_rate
                        } else {
                            at.mrr
                        };
                        Some(CurvePoint {
                            mean: e.mean,
                            ci: e.ci_low.zip(e.ci_high),
                        })
                    })
                    .collect(),
            })
            .collect();
        figure(
            out,
            &k_curves(
                &format!("Next item: {metric}@K by model"),
                metric.name(),
                ks,
                &curves,
                &conf,
            ),
            &format!(
                "Next-item {metric} at each cut-off K over predictions; whiskers show {conf} bootstrap intervals over sessions."
            ),
        );
    }
}

/// The set-of-items protocol in the headline variant: Recall and NDCG over K, activity
/// buckets, popularity of the recommended items.
fn item_charts(out: &mut String, report: &Report) {
    let ks = &report.settings.ks;
    let k = report.headline_k();
    let conf = percent(report.settings.confidence);
    let label = report.headline_variant.label();
    for metric in [Metric::Recall, Metric::Ndcg] {
        let curves: Vec<Curve> = report
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| Curve {
                name: &m.name,
                colour: i,
                points: ks
                    .iter()
                    .map(|&k| {
                        m.estimate(report.headline_variant, metric, k)
                            .map(|e| CurvePoint {
                                mean: e.mean,
                                ci: e.ci_low.zip(e.ci_high),
                            })
                    })
                    .collect(),
            })
            .collect();
        let svg = k_curves(
            &format!("{metric}@K by model ({label})"),
            metric.name(),
            ks,
            &curves,
            &conf,
        );
        figure(
            out,
            &svg,
            &format!(
                "{metric} at each cut-off K; whiskers show {conf} bootstrap intervals over users."
            ),
        );
    }
    let reference = report.models.first();
    let groups: Vec<(String, Option<String>)> = Segment::ACTIVITY
        .iter()
        .map(|&s| {
            let users = reference.map_or(0, |m| {
                m.variant(report.headline_variant).segments[s.index()].users
            });
            (
                s.label().to_owned(),
                Some(format!("{} users", thousands(users))),
            )
        })
        .collect();
    let ki = ks.iter().position(|&x| x == k).unwrap_or(0);
    for metric in [Metric::Recall, Metric::Ndcg] {
        let series: Vec<BarSeries> = report
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| BarSeries {
                name: &m.name,
                colour: i,
                values: Segment::ACTIVITY
                    .iter()
                    .map(|&s| {
                        m.variant(report.headline_variant).segments[s.index()]
                            .at_k
                            .get(ki)
                            .map(|v| *v.metrics.get(metric))
                    })
                    .collect(),
            })
            .collect();
        let aria = format!(
            "Grouped bar chart of {metric}@{k} by train activity bucket (train events per user) for each model"
        );
        let svg = grouped_bars(
            &format!("{metric}@{k} by train activity ({label})"),
            &format!("{metric}@{k}"),
            &groups,
            &series,
            &aria,
        );
        figure(
            out,
            &svg,
            &format!(
                "{metric}@{k} per activity bucket, {label}; buckets without users have no bar."
            ),
        );
    }
    let bars: Vec<PopularityBar> = report
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let at = m
                .variant(report.headline_variant)
                .at_k
                .iter()
                .find(|a| a.k == k);
            PopularityBar {
                name: &m.name,
                colour: i,
                percentile: at.and_then(|a| a.popularity_percentile),
                coverage: at.map_or(0.0, |a| a.coverage),
            }
        })
        .collect();
    figure(
        out,
        &popularity_bars(
            &format!("Popularity of the top-{k} recommended items"),
            k,
            &bars,
        ),
        &format!(
            "Mean train-popularity percentile of each user's top-{k} items (100 = the most popular items, {label}), and the share of the catalogue recommended to anyone (coverage)."
        ),
    );
}

/// Per tuned model: the metric against each searched number, and against fit time.
fn tuning_charts(out: &mut String, tuning: &clickrec_eval::Tuning) {
    for (i, model) in tuning.models().into_iter().enumerate() {
        let trials: Vec<&clickrec_eval::TuningTrial> =
            tuning.trials.iter().filter(|t| t.model == model).collect();
        let point = |t: &clickrec_eval::TuningTrial, x: f64| {
            t.value.map(|v| ScatterPoint {
                x,
                y: v.mean,
                chosen: t.chosen,
            })
        };
        let mut axes: Vec<(String, Vec<ScatterPoint>)> = tuning
            .numeric_params(model)
            .into_iter()
            .map(|name| {
                let points = trials
                    .iter()
                    .filter_map(|t| {
                        let x = t.numeric.iter().find(|(n, _)| n == name)?.1;
                        point(t, x)
                    })
                    .collect();
                (name.to_owned(), points)
            })
            .collect();
        axes.push((
            "fit seconds".to_owned(),
            trials
                .iter()
                .filter_map(|t| point(t, t.fit_seconds))
                .collect(),
        ));
        for (name, points) in axes {
            figure(
                out,
                &scatter(
                    &format!("{model}: {} against {name}", tuning.metric),
                    (&name, &tuning.metric),
                    i,
                    &points,
                ),
                &format!(
                    "Each dot is a trial of {model} on the validation split; the ringed dot is the chosen one."
                ),
            );
        }
    }
}

pub(crate) fn render(report: &Report) -> String {
    let names: Vec<&str> = report.models.iter().map(|m| m.name.as_str()).collect();
    let title = if names.is_empty() {
        "clickrec evaluation report".to_owned()
    } else {
        format!("clickrec evaluation: {}", names.join(", "))
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<link rel=\"icon\" href=\"data:,\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    if !report.models.is_empty() {
        out.push_str("<p>");
        for (i, name) in names.iter().enumerate() {
            let _ = write!(
                out,
                "<span class=\"swatch\" style=\"background:{}\"></span>{}{}",
                crate::svg::colour(i),
                esc(name),
                if i + 1 < names.len() { " &nbsp; " } else { "" }
            );
        }
        out.push_str("</p>\n");
    }
    for s in sections(report) {
        section(&mut out, &s);
        if s.anchor == Anchor::Charts {
            out.push_str(&charts(report));
        }
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}
