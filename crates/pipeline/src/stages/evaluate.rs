//! `evaluate`: scores every list on the test set → `metrics.json`, `report.md`,
//! `report.html`.

use std::path::Path;
use std::time::Instant;

use clickrec_core::UserId;
use clickrec_eval::{
    EvalProtocol, Evaluator, Latency, NextItemReport, NextItemSessions, NextItemSummary, Protocol,
    evaluate_next_item, next_item_reports,
};
use clickrec_io::{RecsError, read_events, read_recommendations, write_atomic};
use clickrec_models::ModelKind;
use clickrec_recommend::{Recommendations, SessionRecommender, UserScoresSessions};
use clickrec_report::Render;
use clickrec_tune::{ITERATIONS, TrialsFile, checked_model};
use serde::Serialize;

use crate::artifacts::{
    EvalInputs, METRICS_FILE, REPORT_HTML_FILE, REPORT_MD_FILE, TEST_EVENTS_FILE, TRIALS_FILE,
    create_dir, load_model, read_coefficients, read_leakage, read_losses, recs_file,
};
use crate::config::{ListSource, Plan};
use crate::error::PipelineError;
use crate::output::StageOutput;

/// Writes `metrics.json`, `report.md` and `report.html` into `dir`.
pub fn write_reports(
    dir: &Path,
    report: &clickrec_eval::Report,
) -> Result<Vec<String>, PipelineError> {
    create_dir(dir)?;
    write_atomic(&dir.join(METRICS_FILE), report.to_json().as_bytes())?;
    write_atomic(&dir.join(REPORT_MD_FILE), report.markdown().as_bytes())?;
    write_atomic(&dir.join(REPORT_HTML_FILE), report.html().as_bytes())?;
    Ok(vec![
        METRICS_FILE.to_owned(),
        REPORT_MD_FILE.to_owned(),
        REPORT_HTML_FILE.to_owned(),
    ])
}

pub(crate) fn run(plan: &Plan) -> Result<StageOutput, PipelineError> {
    let dir = &plan.out;
    let inputs = EvalInputs::read(dir)?;
    let mut evaluator = Evaluator::new(inputs.data(), &plan.evaluate);
    for source in plan.evaluated_lists() {
        let path = dir.join(recs_file(plan, source));
        // Our own recommend stage writes a file without rows when no user got a list (e.g.
        // a model that needs history, on a log whose test users are all cold): that is a
        // model that recommended nothing, scored as such, not a broken file.
        let recs = match read_recommendations(&path, &inputs.ids) {
            Ok((recs, _)) => recs,
            Err(RecsError::NoRows { .. }) => Recommendations::new(),
            Err(e) => return Err(e.into()),
        };
        evaluator
            .add(source.name(), &recs)
            .map_err(|source| PipelineError::Evaluate { path, source })?;
    }
    let n_models = evaluator.evaluations().len();
    let losses = read_losses(dir)?;
    let leakage = read_leakage(dir)?;
    let random_split = plan.config.split.kind == clickrec_prep::SplitKind::Random;
    let protocol = Protocol {
        // The [split] table as written (e.g. {"kind":"last_session",…}), plus the session gap.
        split: format!(
            "{} with sessions cut after {} s of inactivity",
            serde_json::to_string(&plan.config.split).unwrap_or_default(),
            plan.config.prep.session.gap_s
        ),
        exclude_seen: plan.config.recommend.exclude_seen,
        n_recommended: plan.config.recommend.n,
        leakage,
        random_split,
        without_history: Some(plan.config.recommend.fallback().describe().to_owned()),
        baselines: plan
            .evaluated_lists()
            .into_iter()
            .filter(|s| matches!(s, ListSource::Model(kind) if kind.is_baseline()))
            .map(|s| s.name().to_owned())
            .collect(),
    };
    let mut report = evaluator.report(protocol, &losses);
    if plan.rerank.is_some() {
        let (name, table) = read_coefficients(dir)?;
        report.coefficients.insert(name, table);
    }
    if let Some(tuning) = tuning_section(plan) {
        report.add_tuning(tuning);
    }
    let mut latencies = serde_json::Map::new();
    let mut lines = Vec::new();
    if plan.evaluate.runs(EvalProtocol::NextItem) {
        let run = run_next_item(plan, &inputs)?;
        for (name, t) in &run.timings {
            lines.push(format!(
                "{name}: next-item pass {:.2} s, per prediction p50 {:.3} ms, p90 {:.3} ms",
                t.seconds, t.latency.p50_ms, t.latency.p90_ms
            ));
            latencies.insert(name.clone(), serde_json::to_value(t).unwrap_or_default());
        }
        report.add_next_item(run.reports, run.summary);
    }
    let artifacts = write_reports(dir, &report)?;
    let mut text = report.terminal_answer();
    text.push_str(&format!(
        "report: {} · metrics: {} · every K and comparison: --verbose\n",
        dir.join(REPORT_HTML_FILE).display(),
        dir.join(METRICS_FILE).display()
    ));
    let mut details = report.terminal_table();
    for line in lines {
        details.push_str(&line);
        details.push('\n');
    }
    Ok(StageOutput {
        text,
        details,
        summary: serde_json::json!({
            "models": n_models,
            "test_users": inputs.test.len(),
            "next_item_latency": latencies,
        }),
        artifacts,
    })
}

/// The next-item protocol's results and each model's timing.
struct NextItemRun {
    reports: Vec<NextItemReport>,
    summary: NextItemSummary,
    timings: Vec<(String, NextItemTiming)>,
}

/// One model's next-item pass: latency percentiles per prediction and the whole pass.
#[derive(Debug, Serialize)]
struct NextItemTiming {
    #[serde(flatten)]
    latency: Latency,
    seconds: f64,
}

/// The next-item protocol over the test events for every fitted model of the run: session
/// models incrementally, the others through their scores for the user (which ignore the
/// session). Latencies move with the machine, so they go to the manifest, not the report.
fn run_next_item(plan: &Plan, inputs: &EvalInputs) -> Result<NextItemRun, PipelineError> {
    let dir = &plan.out;
    let (test_events, test_sessions) = read_events(&dir.join(TEST_EVENTS_FILE), &inputs.ids)?;
    let mut in_train = vec![false; inputs.train.n_items()];
    for user in 0..inputs.train.n_users() {
        for &item in inputs.train.row(UserId(user as u32)).0 {
            in_train[item as usize] = true;
        }
    }
    let sessions = NextItemSessions::from_log(&test_events, test_sessions.as_deref(), &in_train);
    let mut evaluations = Vec::new();
    let mut timings = Vec::new();
    for source in plan.generated_lists() {
        let ListSource::Model(kind) = source else {
            continue;
        };
        let model = load_model(dir, &inputs.ids, kind)?;
        let started = Instant::now();
        let fallback = UserScoresSessions::new(&model, &inputs.train);
        let session_model: &dyn SessionRecommender = match model.as_session() {
            Some(m) => m,
            None => &fallback,
        };
        let evaluation = evaluate_next_item(kind.name(), session_model, &sessions, &plan.evaluate)
            .map_err(|source| PipelineError::Evaluate {
                path: dir.join(TEST_EVENTS_FILE),
                source,
            })?;
        timings.push((
            kind.name().to_owned(),
            NextItemTiming {
                latency: evaluation.latency(),
                seconds: started.elapsed().as_secs_f64(),
            },
        ));
        evaluations.push(evaluation);
    }
    let (reports, summary) = next_item_reports(&evaluations, &sessions, &plan.evaluate);
    Ok(NextItemRun {
        reports,
        summary,
        timings,
    })
}

/// The report's tuning section, when `tune/trials.json` chose the models `plan` fits
/// (a search whose winners were since changed is not shown).
fn tuning_section(plan: &Plan) -> Option<clickrec_eval::Tuning> {
    let trials = trials_for(plan)?;
    let rows = trials
        .trials
        .iter()
        .map(|t| {
            let name = t.model.name();
            let mut searched: Vec<&str> = trials
                .spaces
                .get(name)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            if t.budget.iterations.is_some() && !searched.contains(&ITERATIONS) {
                searched.push(ITERATIONS);
            }
            let params: Vec<(String, String)> = searched
                .iter()
                .filter_map(|p| {
                    let v = t.params.get(*p)?;
                    // Strings bare (tfidf, not "tfidf"); numbers as TOML writes them.
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    Some((p.to_string(), text))
                })
                .collect();
            let numeric = searched
                .iter()
                .filter_map(|p| {
                    let v = t.params.get(*p)?;
                    Some((
                        p.to_string(),
                        v.as_float().or(v.as_integer().map(|i| i as f64))?,
                    ))
                })
                .collect();
            let chosen = trials
                .best
                .get(name)
                .is_some_and(|b| b.config == t.config && b.rung == t.rung);
            clickrec_eval::TuningTrial {
                model: name.to_owned(),
                config: t.config,
                rung: t.rung,
                params,
                numeric,
                value: t.value.map(|mean| clickrec_eval::Estimate {
                    mean,
                    ci_low: t.ci_low,
                    ci_high: t.ci_high,
                }),
                fit_seconds: t.fit_seconds,
                chosen,
            }
        })
        .collect();
    Some(clickrec_eval::Tuning {
        metric: trials.metric.clone(),
        strategy: format!("{:?}", trials.strategy).to_lowercase(),
        seconds: trials.seconds,
        stopped_by_budget: trials.stopped_by_budget,
        trials: rows,
    })
}

fn trials_for(plan: &Plan) -> Option<TrialsFile> {
    let trials: TrialsFile =
        clickrec_io::read_json(&plan.out.join(TRIALS_FILE), "tune trials").ok()?;
    // Compared as checked parameters: the file's f32 values print differently.
    let matches = trials.best.iter().all(|(name, best)| {
        ModelKind::from_name(name).is_some_and(|kind| {
            let chosen = checked_model(kind, &best.params).ok();
            chosen.is_some() && plan.models.iter().any(|m| Some(m) == chosen.as_ref())
        })
    });
    (matches && !trials.best.is_empty()).then_some(trials)
}
