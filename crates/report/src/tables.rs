//! The report's text content as plain sections and tables, rendered identically by the
//! Markdown and HTML writers.

use clickrec_eval::ColdUsers;
use clickrec_eval::Population;
use clickrec_eval::{Estimate, PairedComparison, Verdict, percent};
use clickrec_eval::{Metric, Segment, Variant};
use clickrec_eval::{NextItemAtK, NextItemSummary};

use clickrec_eval::{ModelReport, Report};

/// A table of text cells; the first `label_columns` columns are labels, the rest numbers.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub label_columns: usize,
}

/// Where the HTML page puts its charts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    None,
    /// Charts follow this section.
    Charts,
}

#[derive(Debug)]
pub(crate) struct Section {
    pub id: &'static str,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub bullets: Vec<String>,
    pub tables: Vec<Table>,
    pub anchor: Anchor,
}

impl Section {
    fn new(id: &'static str, heading: impl Into<String>) -> Self {
        Section {
            id,
            heading: heading.into(),
            paragraphs: Vec::new(),
            bullets: Vec::new(),
            tables: Vec::new(),
            anchor: Anchor::None,
        }
    }
}

pub(crate) fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "–".into()
    }
}

pub(crate) fn pct1(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// "0.0712 (0.0698–0.0725)", or the mean alone without an interval.
pub(crate) fn estimate(e: &Estimate) -> String {
    match (e.ci_low, e.ci_high) {
        (Some(lo), Some(hi)) => format!("{} ({}–{})", num(e.mean), num(lo), num(hi)),
        _ => num(e.mean),
    }
}

/// 1234567 → "1,234,567".
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub(crate) fn sections(report: &Report) -> Vec<Section> {
    let mut out = vec![summary(report)];
    // Warnings limit every number below, so they come right after the answer.
    if !report.warnings.is_empty() {
        let mut s = Section::new("warnings", "Warnings");
        s.bullets = report.warnings.clone();
        out.push(s);
    }
    // The HTML page's charts follow the answer and its warnings.
    if let Some(top) = out.last_mut() {
        top.anchor = Anchor::Charts;
    }
    out.push(protocol(report));
    out.push(counts(report));
    match report.next_item_headline() {
        // The summary's cold line is all the set-of-items protocol has to say.
        Some(summary) => out.push(next_item(report, summary)),
        None => out.extend(items_sections(report)),
    }
    if report.training_loss.values().any(|v| !v.is_empty()) {
        out.push(losses(report));
    }
    if !report.coefficients.is_empty() {
        out.push(coefficients(report));
    }
    if let Some(tuning) = &report.tuning {
        out.push(tuning_section(tuning));
    }
    out.push(definitions(report));
    drop_repeated_tables(&mut out);
    out
}

/// Replaces each table equal to one already emitted (same header and rows, e.g. all
/// targets and new items only when no target was seen in train and no list holds a seen
/// item) by a sentence naming the first, so that no table appears twice.
fn drop_repeated_tables(sections: &mut [Section]) {
    let mut seen: Vec<Table> = Vec::new();
    for s in sections {
        for t in std::mem::take(&mut s.tables) {
            match seen
                .iter()
                .find(|o| o.header == t.header && o.rows == t.rows)
            {
                Some(first) => s.paragraphs.push(format!(
                    "{}: the same numbers as \u{201c}{}\u{201d} above.",
                    t.caption, first.caption
                )),
                None => {
                    seen.push(t.clone());
                    s.tables.push(t);
                }
            }
        }
    }
}

/// The set-of-items protocol: every variant's results (the headline first), the
/// breakdowns, the cold users and the comparisons; then the next-item results, if any.
fn items_sections(report: &Report) -> Vec<Section> {
    let mut out = vec![results(report, report.headline_variant)];
    for variant in Variant::ALL {
        if variant != report.headline_variant {
            out.push(results(report, variant));
        }
    }
    let label = report.headline_variant.label();
    out.push(breakdown(
        report,
        "activity",
        &format!("Breakdown by train activity ({label})"),
        &Segment::ACTIVITY,
        "Train events",
    ));
    match &report.cold_users {
        Some(cold) => out.push(cold_section(report, cold)),
        // Without cold users apart, the breakdown shows them beside the warm ones.
        None if report.population == Population::All => out.push(breakdown(
            report,
            "coldness",
            &format!("Breakdown cold vs warm users ({label}); cold users have no train events"),
            &Segment::COLDNESS,
            "Users",
        )),
        None => {}
    }
    out.push(comparisons(report));
    if let Some(summary) = &report.next_item {
        out.push(next_item(report, summary));
    }
    out
}

/// The cold users, evaluated apart: every model at the headline K.
fn cold_section(report: &Report, cold: &ColdUsers) -> Section {
    let k = report.headline_k();
    let mut s = Section::new("cold", "Cold users (no train history), evaluated apart");
    s.paragraphs.push(format!(
        "{} test users have no train events; {} of them have targets ({}). The headline, the intervals and the comparisons above leave them out; here is what each model gives them (models that need history give what recommend.fallback says).",
        thousands(cold.users),
        thousands(cold.evaluated_users),
        report.headline_variant.label()
    ));
    for m in &cold.models {
        let part = |metric: Metric| {
            m.at_k.iter().find(|a| a.k == k).map_or("–".into(), |a| {
                format!("{metric}@{k} {}", estimate(a.metrics.get(metric)))
            })
        };
        s.bullets.push(format!(
            "{}: {}; {}; without a list: {}",
            m.name,
            part(Metric::Recall),
            part(Metric::Ndcg),
            thousands(m.users_without_recommendations)
        ));
    }
    s
}

fn summary(report: &Report) -> Section {
    if let Some(summary) = report.next_item_headline() {
        return next_item_summary(report, summary);
    }
    let k = report.headline_k();
    let mut s = Section::new("summary", format!("Summary at K = {k}"));
    let headline = report.headline_variant;
    let main = report.variants[headline.index()].evaluated_users;
    s.paragraphs.extend(best_sentence(report));
    s.paragraphs.push(format!(
        "{} models on {} evaluated test users{} ({}); intervals are {} bootstrap intervals over users.",
        report.models.len(),
        thousands(main),
        if report.population == Population::Warm {
            " with train history"
        } else {
            ""
        },
        headline.label(),
        percent(report.settings.confidence)
    ));
    if let Some(cold) = &report.cold_users {
        s.paragraphs.push(cold_line(cold, k));
    }
    s.paragraphs.extend(leakage_note(report));
    s.paragraphs.push(baseline_note(report));
    for m in &report.models {
        let part = |metric: Metric| {
            m.estimate(headline, metric, k)
                .map_or("–".into(), |e| format!("{metric}@{k} {}", estimate(&e)))
        };
        s.bullets.push(format!(
            "{}{}: {}; {}; {}",
            m.name,
            baseline_mark(report, &m.name),
            part(Metric::Recall),
            part(Metric::Ndcg),
            part(Metric::HitRate)
        ));
    }
    for c in &report.comparisons {
        if c.k == k && c.metric == Metric::Recall {
            s.bullets.push(format!("{}.", c.sentence));
        }
    }
    s
}

/// The summary when the next-item protocol is the answer (see
/// [`Report::next_item_headline`]): the best next-item model, why the set-of-items results
/// are left out, the models without a hit named once, then each model at the headline K.
fn next_item_summary(report: &Report, summary: &NextItemSummary) -> Section {
    let k = report.headline_k();
    let mut s = Section::new(
        "summary",
        format!("Summary at K = {k}: {}", Variant::NextItem.label()),
    );
    let ranking = next_item_ranking(report);
    s.paragraphs
        .extend(next_item_best_sentence(report, &ranking));
    s.paragraphs.push(format!(
        "{} The set-of-items results are left out here; metrics.json has every number.",
        next_item_headline_note(report)
    ));
    s.paragraphs.push(format!(
        "{} models on {} test sessions, {} predictions (each session's next event predicted after each prefix); intervals are {} bootstrap intervals over sessions.",
        ranking.ranked.len() + ranking.no_hit.len(),
        thousands(summary.sessions),
        thousands(summary.predictions),
        percent(report.settings.confidence)
    ));
    s.paragraphs
        .extend(no_hit_sentence(report, &ranking.no_hit));
    if let Some(cold) = &report.cold_users {
        s.paragraphs.push(cold_line(cold, k));
    }
    s.paragraphs.extend(leakage_note(report));
    for (m, at) in &ranking.ranked {
        s.bullets.push(format!(
            "{}{}: HitRate@{k} {}; MRR@{k} {}; Recall@{k} of the remaining items {}",
            m.name,
            if report.protocol.baselines.contains(&m.name) {
                " (baseline)"
            } else {
                ""
            },
            estimate(&at.hit_rate),
            estimate(&at.mrr),
            estimate(&at.recall)
        ));
    }
    for c in ranking.comparisons(&summary.comparisons) {
        if c.k == k && c.metric == Metric::HitRate {
            s.bullets.push(format!("{}.", c.sentence));
        }
    }
    s
}

/// Why the next-item protocol is the answer, in one sentence (the terminal's too).
pub(crate) fn next_item_headline_note(report: &Report) -> String {
    let evaluated = report.variants[report.headline_variant.index()].evaluated_users;
    if evaluated == 0 {
        format!(
            "No {} to rank models on in the held-out sessions' items{}; the next-item protocol below is the answer.",
            population_users(report.population),
            if report.all_cold() {
                " (every test user is cold, as on a session-only log)"
            } else {
                ""
            }
        )
    } else {
        "Every test user is cold (no train history, as on a session-only log): their lists from models that need history can only be fallbacks; the next-item protocol below is the answer.".into()
    }
}

/// The users the headline covers, in words.
pub(crate) fn population_users(population: Population) -> &'static str {
    match population {
        Population::Warm => "test users with train history",
        Population::Cold => "test users without train history",
        Population::All => "test users",
    }
}

/// The next-item results at the headline K, best HitRate first (ties: name order), apart
/// from the models without a hit at any K: those are named once ([`no_hit_sentence`])
/// instead of shown as rows of zeros.
pub(crate) struct NextItemRanking<'a> {
    pub ranked: Vec<(&'a ModelReport, &'a NextItemAtK)>,
    pub no_hit: Vec<&'a str>,
}

impl NextItemRanking<'_> {
    fn is_ranked(&self, name: &str) -> bool {
        self.ranked.iter().any(|(m, _)| m.name == name)
    }

    /// The comparisons of two ranked models.
    fn comparisons<'c>(
        &self,
        all: &'c [PairedComparison],
    ) -> impl Iterator<Item = &'c PairedComparison> {
        all.iter()
            .filter(|c| self.is_ranked(&c.model_a) && self.is_ranked(&c.model_b))
    }
}

pub(crate) fn next_item_ranking(report: &Report) -> NextItemRanking<'_> {
    let k = report.headline_k();
    let predictions = report.next_item.as_ref().map_or(0, |s| s.predictions);
    let mut ranking = NextItemRanking {
        ranked: Vec::new(),
        no_hit: Vec::new(),
    };
    for m in &report.models {
        let Some(r) = &m.next_item else { continue };
        let Some(at) = r.at_k.iter().find(|a| a.k == k) else {
            continue;
        };
        // Without any prediction nobody can hit: every model keeps its row.
        if predictions > 0 && !r.at_k.iter().any(|a| a.hit_rate.mean > 0.0) {
            ranking.no_hit.push(&m.name);
        } else {
            ranking.ranked.push((m, at));
        }
    }
    ranking.ranked.sort_by(|a, b| {
        b.1.hit_rate
            .mean
            .total_cmp(&a.1.hit_rate.mean)
            .then(a.0.name.cmp(&b.0.name))
    });
    ranking
}

/// The models without a hit in the next-item protocol, named once, and why when every
/// test user is cold.
pub(crate) fn no_hit_sentence(report: &Report, no_hit: &[&str]) -> Option<String> {
    (!no_hit.is_empty()).then(|| {
        format!(
            "No hit in any prediction: {}{}.",
            no_hit.join(", "),
            if report.all_cold() {
                " — every test session belongs to a user without train history, and models that score from that history have none to use"
            } else {
                ""
            }
        )
    })
}

/// The next-item answer in one sentence, as [`best_sentence`] for the set of items: the
/// best HitRate at the headline K and its margin over the best simple baseline among the
/// next-item models, or else over the runner-up.
pub(crate) fn next_item_best_sentence(
    report: &Report,
    ranking: &NextItemRanking,
) -> Option<String> {
    let summary = report.next_item.as_ref()?;
    let k = report.headline_k();
    let (best, at) = ranking.ranked.first()?;
    let lead = format!("Best ({}): {}", Variant::NextItem.label(), best.name);
    let is_baseline = |m: &ModelReport| report.protocol.baselines.contains(&m.name);
    if is_baseline(best) {
        return Some(format!(
            "{lead}, a simple baseline: no model beats it on HitRate@{k}."
        ));
    }
    let (other, role) = match ranking.ranked.iter().find(|(m, _)| is_baseline(m)) {
        Some((m, _)) => (m, "the best simple baseline"),
        None => match ranking.ranked.get(1) {
            Some((m, _)) => (m, "the runner-up"),
            None => {
                return Some(format!(
                    "{lead}, HitRate@{k} {} (no other model has a hit to compare it with).",
                    num(at.hit_rate.mean)
                ));
            }
        },
    };
    let c = summary.comparisons.iter().find(|c| {
        c.metric == Metric::HitRate
            && c.k == k
            && ((c.model_a == best.name && c.model_b == other.name)
                || (c.model_a == other.name && c.model_b == best.name))
    })?;
    let c = if c.model_a == best.name {
        c.clone()
    } else {
        c.reversed()
    };
    Some(margin_sentence(&lead, &c, role))
}

/// "{lead}, Recall@K +d over B, {role} (paired CI …: verdict)." for `c` = best − B.
fn margin_sentence(lead: &str, c: &PairedComparison, role: &str) -> String {
    let interval = match (c.ci_low, c.ci_high) {
        (Some(lo), Some(hi)) => {
            let p = c
                .holm_p_value
                .or(c.p_value)
                .map(|p| format!(", p = {p:.3}"))
                .unwrap_or_default();
            let verdict = match c.verdict {
                Verdict::ABetter => "a real difference".to_owned(),
                Verdict::BBetter => format!("worse than {}", c.model_b),
                _ => "not a significant difference".to_owned(),
            };
            format!(
                " (paired {} CI {lo:+.4} to {hi:+.4}{p}: {verdict})",
                percent(c.confidence)
            )
        }
        _ => String::new(),
    };
    format!(
        "{lead}, {}@{} {:+.4} over {}, {role}{interval}.",
        c.metric, c.k, c.difference, c.model_b
    )
}

/// The answer in one sentence: "Best: M, Recall@K +d over B, the best simple baseline
/// (paired CI …)". The terminal and the report's summary both start with it.
pub(crate) fn best_sentence(report: &Report) -> Option<String> {
    let best = report.best_model()?;
    let k = report.headline_k();
    let Some(baseline) = report.best_baseline.as_deref() else {
        return Some(format!(
            "Best: {} (no simple baseline was evaluated to compare it with).",
            best.name
        ));
    };
    if baseline == best.name {
        return Some(format!(
            "Best: {baseline}, a simple baseline: no model beats it on Recall@{k}."
        ));
    }
    let c = report.margin(&best.name, baseline, Metric::Recall, k)?;
    Some(margin_sentence(
        &format!("Best: {}", best.name),
        &c,
        "the best simple baseline",
    ))
}

/// "0.0712 [0.0698, 0.0725]" for the terminal, "–" without a value.
pub(crate) fn cell(e: Option<Estimate>) -> String {
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

/// The cold users in one line: models with the same Recall@K (the same fallback lists)
/// grouped, best first.
pub(crate) fn cold_line(cold: &ColdUsers, k: usize) -> String {
    if cold.evaluated_users == 0 {
        return format!(
            "Cold users, evaluated apart: {} test users without train history, none with targets.",
            thousands(cold.users)
        );
    }
    let mut groups: Vec<(Option<Estimate>, Vec<&str>)> = Vec::new();
    for m in &cold.models {
        let e = m.at_k.iter().find(|a| a.k == k).map(|a| a.metrics.recall);
        match groups
            .iter_mut()
            .find(|(g, _)| g.map(|g| g.mean.to_bits()) == e.map(|e| e.mean.to_bits()))
        {
            Some((_, names)) => names.push(&m.name),
            None => groups.push((e, vec![&m.name])),
        }
    }
    groups.sort_by(|a, b| {
        let mean = |e: &Option<Estimate>| e.map_or(f64::NEG_INFINITY, |e| e.mean);
        mean(&b.0).total_cmp(&mean(&a.0))
    });
    let parts: Vec<String> = groups
        .iter()
        .map(|(e, names)| format!("{} {}", names.join(", "), cell(*e)))
        .collect();
    format!(
        "Cold users, evaluated apart: {} test users without train history ({} with targets); Recall@{k}: {}.",
        thousands(cold.users),
        thousands(cold.evaluated_users),
        parts.join("; ")
    )
}

/// Printed instead of a leakage line for a random split: without time there is no future
/// to leak, and no way to say how much of the test the model saw.
pub(crate) const RANDOM_SPLIT_NOTE: &str = "Random split (no time in the log): not time-aware, so leakage is not measurable; scores may be optimistic next to a time-based split.";

/// What the split lets models learn from the future, in one paragraph (when measured;
/// for a random split, [`RANDOM_SPLIT_NOTE`]).
pub(crate) fn leakage_note(report: &Report) -> Option<String> {
    if report.protocol.random_split {
        return Some(RANDOM_SPLIT_NOTE.to_owned());
    }
    let l = report.protocol.leakage?;
    Some(if l.test_users_with_future_train_events == 0 {
        format!(
            "Leak-free split: no train event is at or after any of the {} test users' first test event.",
            thousands(l.test_users)
        )
    } else {
        format!(
            "This split trains on other users' later events: on average {:.2}% of all train events (max {:.2}%) are at or after a test user's first test event, for {} of {} test users. Scores may be inflated by that future; a session_cutoff split has none.",
            100.0 * l.future_train_events_share_mean,
            100.0 * l.future_train_events_share_max,
            thousands(l.test_users_with_future_train_events),
            thousands(l.test_users)
        )
    })
}

/// Which list is the best simple baseline, in one sentence.
pub(crate) fn baseline_note(report: &Report) -> String {
    match &report.best_baseline {
        Some(name) => format!(
            "Best simple baseline at K = {} (Recall, {}): {name} (marked *baseline*; simple baselines here: {}).",
            report.headline_k(),
            report.headline_variant.label(),
            report.protocol.baselines.join(", ")
        ),
        None => "No simple baseline (popularity, popularity_recent, recent) was evaluated.".into(),
    }
}

/// " (best baseline)" / " (baseline)" after a model name in headline tables.
pub(crate) fn baseline_mark(report: &Report, name: &str) -> &'static str {
    if report.best_baseline.as_deref() == Some(name) {
        " (best baseline)"
    } else if report.protocol.baselines.iter().any(|b| b == name) {
        " (baseline)"
    } else {
        ""
    }
}

fn protocol(report: &Report) -> Section {
    let p = &report.protocol;
    let st = &report.settings;
    let mut s = Section::new("protocol", "Protocol");
    let kinds = &report.target_kinds;
    s.paragraphs.extend(leakage_note(report));
    s.bullets = vec![
        format!("Split: {}", p.split),
        if report.next_item_headline().is_some() {
            format!(
                "Items seen in train excluded from the lists: {}; headline: {} (see the summary for why)",
                yes_no(p.exclude_seen),
                Variant::NextItem.label()
            )
        } else {
            format!(
                "Items seen in train excluded from the lists: {}; headline variant: {} ({} targets new to their user, {} repeat targets seen in train{})",
                yes_no(p.exclude_seen),
                report.headline_variant.label(),
                thousands(kinds.new_to_user),
                thousands(kinds.repeat),
                if p.exclude_seen {
                    ", which these lists cannot hit: see the repeat variant"
                } else {
                    ""
                }
            )
        },
        format!(
            "Users without train history: {}",
            p.without_history
                .as_deref()
                .unwrap_or("as each list gives them")
        ),
        format!("List length: {}", p.n_recommended),
        format!(
            "Cut-offs K: {}",
            st.ks
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "Catalogue: {} items",
            thousands(report.catalogue_items as u64)
        ),
        if st.bootstrap_samples > 0 {
            format!(
                "Intervals: {} {}",
                percent(st.confidence),
                st.interval_method
            )
        } else {
            "Intervals: none (bootstrap turned off)".into()
        },
    ];
    s
}

fn counts(report: &Report) -> Section {
    let c = &report.test_set;
    let mut s = Section::new("counts", "Users and targets");
    let row = |label: &str, n: u64| vec![label.to_owned(), thousands(n)];
    s.tables.push(Table {
        caption: "Test set".into(),
        header: vec!["Quantity".into(), "Count".into()],
        rows: vec![
            row("Test users", c.test_users),
            row("Cold test users (no train events)", c.cold_users),
            row("Targets kept (distinct user–item pairs)", c.targets),
            row("Targets dropped (item never in train)", c.dropped_targets),
            row(
                "Test users without targets (skipped)",
                c.users_without_targets,
            ),
            row("Conversion targets kept", c.conversion_targets),
            row("Conversion targets dropped", c.dropped_conversion_targets),
            row(
                "Test users with conversion targets",
                c.users_with_conversion_targets,
            ),
        ],
        label_columns: 1,
    });
    // The set-of-items counts, when that protocol is not the answer.
    if report.next_item_headline().is_some() {
        return s;
    }
    s.tables.push(Table {
        caption: "Evaluated users per variant (the same for every model)".into(),
        header: vec![
            "Variant".into(),
            "Evaluated users".into(),
            "Skipped (empty target set)".into(),
        ],
        rows: report
            .variants
            .iter()
            .map(|v| {
                vec![
                    v.label.clone(),
                    thousands(v.evaluated_users),
                    thousands(v.skipped_users),
                ]
            })
            .collect(),
        label_columns: 1,
    });
    let mut header = vec![
        "Model".into(),
        "Test users without a list".into(),
        "Ignored lists (users not in test)".into(),
    ];
    header.extend(
        Variant::ALL
            .iter()
            .map(|v| format!("Empty lists: {}", v.label())),
    );
    s.tables.push(Table {
        caption: "Recommendations per model".into(),
        header,
        rows: report
            .models
            .iter()
            .map(|m| {
                let mut row = vec![
                    m.name.clone(),
                    thousands(m.users_without_recommendations),
                    thousands(m.ignored_lists),
                ];
                row.extend(
                    m.variants
                        .iter()
                        .map(|v| thousands(v.users_without_recommendations)),
                );
                row
            })
            .collect(),
        label_columns: 1,
    });
    s
}

fn results(report: &Report, variant: Variant) -> Section {
    let id = match variant {
        Variant::All => "results-all",
        Variant::Conversion => "results-conversion",
        Variant::NewItems => "results-new-items",
        Variant::ConversionNewItems => "results-conversion-new-items",
        Variant::Repeat => "results-repeat",
        Variant::NextItem => "results-next-item",
    };
    let headline = if variant == report.headline_variant {
        " (headline)"
    } else {
        ""
    };
    let mut s = Section::new(id, format!("Results: {}{headline}", variant.label()));
    let counts = &report.variants[variant.index()];
    s.paragraphs.push(format!(
        "{} evaluated users, {} skipped (empty target set). Recall, NDCG, HitRate and MRR with {} intervals in parentheses.",
        thousands(counts.evaluated_users),
        thousands(counts.skipped_users),
        percent(report.settings.confidence)
    ));
    let mut header = vec!["Model".to_owned(), "K".to_owned()];
    header.extend(Metric::ALL.iter().map(|m| m.name().to_owned()));
    header.extend([
        "Coverage".to_owned(),
        "Popularity pct.".to_owned(),
        "Seen share".to_owned(),
    ]);
    let mut rows = Vec::new();
    for m in &report.models {
        for a in &m.variant(variant).at_k {
            let name = format!("{}{}", m.name, baseline_mark(report, &m.name));
            let mut row = vec![name, a.k.to_string()];
            row.extend(Metric::ALL.iter().map(|&metric| {
                let e = a.metrics.get(metric);
                if Metric::MAIN.contains(&metric) {
                    estimate(e)
                } else {
                    num(e.mean)
                }
            }));
            row.push(pct1(a.coverage));
            row.push(
                a.popularity_percentile
                    .map_or("–".into(), |p| format!("{p:.1}")),
            );
            row.push(a.seen_share.map_or("–".into(), pct1));
            rows.push(row);
        }
    }
    s.tables.push(Table {
        caption: format!("Models × metrics at each K ({})", variant.label()),
        header,
        rows,
        label_columns: 2,
    });
    s
}

fn breakdown(
    report: &Report,
    id: &'static str,
    heading: &str,
    segments: &[Segment],
    segment_header: &str,
) -> Section {
    let mut s = Section::new(id, heading);
    s.paragraphs
        .push("Point estimates (no intervals) over the evaluated users of each group.".into());
    let ks = &report.settings.ks;
    let mut header = vec![
        "Model".to_owned(),
        segment_header.to_owned(),
        "Users".to_owned(),
    ];
    for metric in [Metric::Recall, Metric::Ndcg] {
        header.extend(ks.iter().map(|k| format!("{metric}@{k}")));
    }
    let mut rows = Vec::new();
    for m in &report.models {
        for &segment in segments {
            let summary = &m.variant(report.headline_variant).segments[segment.index()];
            let mut row = vec![
                m.name.clone(),
                segment.label().to_owned(),
                thousands(summary.users),
            ];
            for metric in [Metric::Recall, Metric::Ndcg] {
                row.extend((0..ks.len()).map(|ki| {
                    summary
                        .at_k
                        .get(ki)
                        .map_or("–".into(), |v| num(*v.metrics.get(metric)))
                }));
            }
            rows.push(row);
        }
    }
    s.tables.push(Table {
        caption: heading.to_owned(),
        header,
        rows,
        label_columns: 2,
    });
    s
}

fn comparisons(report: &Report) -> Section {
    let mut s = Section::new(
        "comparisons",
        format!("Paired comparisons ({})", report.headline_variant.label()),
    );
    if report.comparisons.is_empty() {
        s.paragraphs.push(
            "No comparisons: they need at least two models evaluated on the same users.".into(),
        );
        return s;
    }
    s.paragraphs.push(format!(
        "Each pair of models on the same users: the difference of the means and its raw {} paired-bootstrap interval, and a two-sided bootstrap p-value. Verdicts are corrected for multiple comparisons over the family of {}. P(≤0) is the share of resamples in which the first model did not do better.",
        percent(report.settings.confidence),
        report.comparison_family
    ));
    s.bullets = report
        .comparisons
        .iter()
        .map(|c| format!("{}.", c.sentence))
        .collect();
    s.tables.push(comparison_table(&report.comparisons));
    s
}

fn comparison_table(comparisons: &[PairedComparison]) -> Table {
    Table {
        caption: "Paired differences (first model − second model)".into(),
        header: vec![
            "Model A".into(),
            "Model B".into(),
            "Metric".into(),
            "A".into(),
            "B".into(),
            "A − B".into(),
            "CI low".into(),
            "CI high".into(),
            "P(A − B ≤ 0)".into(),
            "p".into(),
            "Holm p".into(),
            "Verdict".into(),
        ],
        rows: comparisons
            .iter()
            .map(|c| {
                vec![
                    c.model_a.clone(),
                    c.model_b.clone(),
                    format!("{}@{}", c.metric, c.k),
                    num(c.mean_a),
                    num(c.mean_b),
                    num(c.difference),
                    c.ci_low.map_or("–".into(), num),
                    c.ci_high.map_or("–".into(), num),
                    c.share_at_most_zero
                        .map_or("–".into(), |p| format!("{p:.3}")),
                    c.p_value.map_or("–".into(), |p| format!("{p:.3}")),
                    c.holm_p_value.map_or("–".into(), |p| format!("{p:.3}")),
                    verdict(c),
                ]
            })
            .collect(),
        label_columns: 3,
    }
}

/// The next-item protocol: per model HitRate, MRR and remaining-items Recall at every K,
/// over predictions and per session, then the paired comparisons at the headline K.
fn next_item(report: &Report, summary: &NextItemSummary) -> Section {
    let ranking = next_item_ranking(report);
    let mut s = Section::new(
        "results-next-item",
        format!(
            "Results: {}{}",
            Variant::NextItem.label(),
            if report.next_item_headline().is_some() {
                " (headline)"
            } else {
                ""
            }
        ),
    );
    s.paragraphs.push(format!(
        "{} test sessions, {} predictions (each session's events revealed in time order, the next one predicted after each prefix); {} test events dropped (item without train events), {} sessions with fewer than two events left out. Items of the prefix {} be recommended. Intervals: {} bootstrap over sessions.",
        thousands(summary.sessions),
        thousands(summary.predictions),
        thousands(summary.dropped_events),
        thousands(summary.short_sessions),
        if summary.prefix_items { "may" } else { "may not" },
        percent(report.settings.confidence),
    ));
    // As the answer, the summary names the models without a hit: once is enough.
    if report.next_item_headline().is_none() {
        s.paragraphs
            .extend(no_hit_sentence(report, &ranking.no_hit));
    }
    for &k in &report.settings.ks {
        let rows: Vec<Vec<String>> = report
            .models
            .iter()
            .filter(|m| ranking.is_ranked(&m.name))
            .filter_map(|m| {
                let r = m.next_item.as_ref()?;
                let at = r.at_k.iter().find(|a| a.k == k)?;
                Some(vec![
                    m.name.clone(),
                    estimate(&at.hit_rate),
                    estimate(&at.mrr),
                    estimate(&at.recall),
                    num(at.per_session.hit_rate.mean),
                    num(at.per_session.mrr.mean),
                ])
            })
            .collect();
        s.tables.push(Table {
            caption: format!("Next item at K = {k}"),
            header: vec![
                "Model".into(),
                format!("HitRate@{k}"),
                format!("MRR@{k}"),
                format!("Recall@{k} (remaining items)"),
                format!("HitRate@{k} per session"),
                format!("MRR@{k} per session"),
            ],
            rows,
            label_columns: 1,
        });
    }
    let k = report.headline_k();
    let headline: Vec<PairedComparison> = ranking
        .comparisons(&summary.comparisons)
        .filter(|c| c.k == k)
        .cloned()
        .collect();
    if !headline.is_empty() {
        s.tables.push(Table {
            caption: format!(
                "Next item: paired differences at K = {k} (first model − second model)"
            ),
            ..comparison_table(&headline)
        });
    }
    s
}

fn verdict(c: &clickrec_eval::PairedComparison) -> String {
    use clickrec_eval::Verdict::*;
    let word = |v| match v {
        ABetter => format!("{} better", c.model_a),
        BBetter => format!("{} better", c.model_b),
        NoSignificantDifference => "no significant difference".to_owned(),
        NotEstimated => "–".to_owned(),
    };
    match (c.holm_p_value, c.raw_verdict == c.verdict) {
        (None, _) => format!("{} (uncorrected)", word(c.verdict)),
        (Some(_), true) => word(c.verdict),
        (Some(_), false) => format!("{} (raw: {})", word(c.verdict), word(c.raw_verdict)),
    }
}

fn losses(report: &Report) -> Section {
    let mut s = Section::new("training-loss", "Training loss");
    let rows = report
        .training_loss
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, v)| {
            let finite = || v.iter().copied().filter(|x| x.is_finite());
            vec![
                name.clone(),
                v.len().to_string(),
                v.first().map_or("–".into(), |x| format!("{x:.6}")),
                v.last().map_or("–".into(), |x| format!("{x:.6}")),
                finite()
                    .reduce(f64::min)
                    .map_or("–".into(), |x| format!("{x:.6}")),
            ]
        })
        .collect();
    s.tables.push(Table {
        caption: "Training loss per model".into(),
        header: vec![
            "Model".into(),
            "Iterations".into(),
            "First".into(),
            "Last".into(),
            "Lowest".into(),
        ],
        rows,
        label_columns: 1,
    });
    s
}

fn definitions(report: &Report) -> Section {
    let mut s = Section::new("definitions", "Definitions");
    s.paragraphs.push(
        "Per evaluated user with target set T and the 1-based ranks r₁ < r₂ < … of the targets among the first K items of its list (hits); macro averages over evaluated users; users without a list score 0.".into(),
    );
    s.bullets = vec![
        "Recall@K = hits / |T|; CappedRecall@K = hits / min(K, |T|); Precision@K = hits / K (short lists are not padded).".into(),
        "HitRate@K = 1 if hits > 0; MRR@K = 1 / r₁ (0 without a hit).".into(),
        "NDCG@K = Σ 1/log₂(rⱼ + 1) ÷ ideal DCG of min(K, |T|) items (binary gains); MAP@K = Σ (j / rⱼ) ÷ min(K, |T|).".into(),
        format!(
            "Coverage@K = distinct items in the evaluated users' top-K lists ÷ catalogue ({} items).",
            thousands(report.catalogue_items as u64)
        ),
        "Popularity pct.@K: per user the mean train-popularity percentile of its top-K items (percentile = 100 × share of the catalogue at most as popular; popularity = train users with the item; 100 = most popular), averaged over evaluated users with a non-empty list.".into(),
        "Seen share@K: per user the share of its top-K items already in its train history, averaged over evaluated users with a non-empty list.".into(),
        "Variants: targets = all test items or conversions (cart/buy) only; items = all, or new to the user only (train items removed from targets and list, ranks renumbered); repeat = only targets the user had in train, the list as given (lists without seen items cannot hit them). Users whose target set is empty in a variant are skipped there and counted. With lists that leave out seen items the headline variant is \"new items only\".".into(),
    ];
    s
}

/// One table per model with fitted coefficients (the re-ranker's logistic regression).
fn coefficients(report: &Report) -> Section {
    let mut s = Section::new("coefficients", "Model coefficients");
    s.paragraphs.push(
        "Coefficients of the models that have them, on standardised features (mean 0, standard deviation 1 over the training rows): the change in log-odds per standard deviation.".to_owned(),
    );
    for (model, values) in &report.coefficients {
        s.tables.push(Table {
            caption: format!("Coefficients of {model}"),
            header: vec!["Feature".to_owned(), "Coefficient".to_owned()],
            rows: values
                .iter()
                .map(|(name, value)| vec![name.clone(), format!("{value:+.4}")])
                .collect(),
            label_columns: 1,
        });
    }
    s
}

fn tuning_section(tuning: &clickrec_eval::Tuning) -> Section {
    let mut s = Section::new(
        "tuning",
        format!(
            "Parameter search ({} on the validation split)",
            tuning.metric
        ),
    );
    s.paragraphs.push(format!(
        "`clickrec tune` ran {} trials ({} search) in {:.1} s on the validation split: each fitted on validation-train and scored on the validation sessions; the test split was read only for the chosen values, in the tables above.{}",
        tuning.trials.len(),
        tuning.strategy,
        tuning.seconds,
        if tuning.stopped_by_budget {
            " The time budget ended the search before every trial ran."
        } else {
            ""
        }
    ));
    for model in tuning.models() {
        let trials: Vec<&clickrec_eval::TuningTrial> =
            tuning.trials.iter().filter(|t| t.model == model).collect();
        let mut names: Vec<&str> = Vec::new();
        for t in &trials {
            for (name, _) in &t.params {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        let mut ranked = trials.clone();
        ranked.sort_by(|a, b| {
            let v = |t: &clickrec_eval::TuningTrial| t.value.map_or(f64::NEG_INFINITY, |e| e.mean);
            v(b).total_cmp(&v(a)).then(b.rung.cmp(&a.rung))
        });
        let rows = ranked
            .iter()
            .map(|t| {
                let mut row = vec![
                    format!("{}{}", t.config, if t.chosen { " (chosen)" } else { "" }),
                    t.rung.to_string(),
                ];
                for name in &names {
                    row.push(
                        t.params
                            .iter()
                            .find(|(n, _)| n == name)
                            .map_or("–".into(), |(_, v)| v.clone()),
                    );
                }
                row.push(t.value.as_ref().map_or("failed".into(), estimate));
                row.push(format!("{:.2}", t.fit_seconds));
                row
            })
            .collect();
        let mut header = vec!["Config".to_owned(), "Rung".to_owned()];
        header.extend(names.iter().map(|n| n.to_string()));
        header.push(tuning.metric.clone());
        header.push("Fit s".into());
        s.tables.push(Table {
            caption: format!("Trials of {model}, best first"),
            header,
            rows,
            label_columns: 2,
        });
    }
    s
}
