//! The search: trials drawn per model, fitted on validation-train, scored on the
//! validation sessions, recorded in `tune/trials.json` after every batch so that a killed
//! search resumes where it stopped.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clickrec_core::Progress;
use clickrec_models::{FitOptions, Model, ModelKind};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use clickrec_core::{peak_rss_bytes, reset_peak_rss};

use crate::config::{CheckedTune, Strategy};
use crate::early_stop::{CheckedEarlyStopping, EarlyStopRecord, EarlyStopping};
use crate::error::TuneError;
use crate::space::{ITERATIONS, Space, checked_model};
use crate::validation::{Scorer, TrainPart, Validation};

/// The budget a trial ran with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// ALS/BPR iterations (the trial's `iterations`), for iterative models.
    pub iterations: Option<usize>,
    /// Share of validation-train users fitted on (1 but on the early rungs of halving).
    pub users_share: f64,
}

/// One fitted and scored configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub model: ModelKind,
    /// The configuration's index among the model's draws (or grid points).
    pub config: usize,
    /// Halving's rung (0 for random and grid).
    pub rung: usize,
    /// The model's whole parameter table as fitted (with early stopping: `iterations` is
    /// the best iteration, so the table reproduces the kept model).
    pub params: toml::Table,
    pub budget: Budget,
    /// The metric on the validation split; `None` when the fit failed (`error` says why).
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub fit_seconds: f64,
    pub score_seconds: f64,
    /// Peak resident memory of the process during the trial (with `parallel` > 1, of its
    /// batch).
    pub peak_rss_bytes: Option<u64>,
    pub early_stopping: Option<EarlyStopRecord>,
    pub error: Option<String>,
}

/// The winner of one model's search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestTrial {
    pub config: usize,
    pub rung: usize,
    pub value: f64,
    /// Lower bound of the value's bootstrap interval, when the bootstrap ran.
    pub ci_low: Option<f64>,
    pub params: toml::Table,
    /// True when the pipeline's own values (configuration 0) were kept because no draw
    /// beat them by more than the noise (see [`choose`]).
    #[serde(default)]
    pub kept_own_values: bool,
}

/// `tune/trials.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialsFile {
    /// Fingerprint of everything the trials depend on; a resumed search reuses recorded
    /// trials only when it matches.
    pub search: String,
    pub metric: String,
    pub strategy: Strategy,
    /// The searched parameters of each model.
    pub spaces: BTreeMap<String, Vec<String>>,
    pub trials: Vec<TrialRecord>,
    pub best: BTreeMap<String, BestTrial>,
    /// True when the time budget ended the search before every trial ran.
    pub stopped_by_budget: bool,
    /// Seconds spent in trials, this search and the ones it resumed.
    pub seconds: f64,
}

/// What a search needs besides the trials' parameters.
pub struct Search<'a> {
    /// The run's seed, for the fits.
    pub seed: u64,
    /// The run's memory limit, for the fits.
    pub memory_limit: u64,
    pub tune: &'a CheckedTune,
    pub validation: &'a Validation,
    pub scorer: &'a Scorer<'a>,
    pub early_stopping: Option<CheckedEarlyStopping>,
    pub file: &'a Path,
    /// Hears of every finished trial.
    pub on_trial: &'a (dyn Fn(&TrialRecord) + Sync),
    /// Counts finished trials (started with the planned total).
    pub progress: &'a dyn Progress,
    pub done: AtomicU64,
}

impl std::fmt::Debug for Search<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search")
            .field("tune", &self.tune)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

struct State {
    record: TrialsFile,
    /// Trials of an earlier run of the same search, by (model, config, rung).
    earlier: BTreeMap<(ModelKind, usize, usize), TrialRecord>,
    started: Instant,
    earlier_seconds: f64,
}

impl Search<'_> {
    /// Runs every model's search; returns the file as written.
    pub fn run(&self, spaces: &[Space], fingerprint: String) -> Result<TrialsFile, TuneError> {
        let earlier = match clickrec_io::read_json::<TrialsFile>(self.file, "tune trials") {
            Ok(old) if old.search == fingerprint => old
                .trials
                .into_iter()
                .map(|t| ((t.model, t.config, t.rung), t))
                .collect(),
            _ => BTreeMap::new(),
        };
        let mut state = State {
            record: TrialsFile {
                search: fingerprint,
                metric: self.tune.metric.to_string(),
                strategy: self.tune.strategy,
                spaces: spaces
                    .iter()
                    .map(|s| {
                        let names = s.dims.iter().map(|(p, _)| p.clone()).collect();
                        (s.kind.name().to_owned(), names)
                    })
                    .collect(),
                trials: Vec::new(),
                best: BTreeMap::new(),
                stopped_by_budget: false,
                seconds: 0.0,
            },
            earlier,
            started: Instant::now(),
            earlier_seconds: 0.0,
        };
        for space in spaces {
            let best = match self.tune.strategy {
                Strategy::Random => {
                    let configs = (0..self.tune.trials)
                        .map(|i| (i, space.draw(self.tune.seed, i, None)))
                        .collect();
                    let ranked = self.rung_ranked(space, &mut state, configs, 0, full_budget)?;
                    choose(&ranked, true)
                }
                Strategy::Grid => {
                    // A grid has no configuration of the pipeline's own values.
                    let configs = space.grid().into_iter().enumerate().collect();
                    let ranked = self.rung_ranked(space, &mut state, configs, 0, full_budget)?;
                    choose(&ranked, false)
                }
                Strategy::Halving => self.halving(space, &mut state)?,
            };
            if let Some(best) = best {
                state.record.best.insert(space.kind.name().to_owned(), best);
            }
            self.save(&mut state)?;
        }
        Ok(state.record)
    }

    /// Successive halving: each rung keeps the best 1/eta for the next, with eta times
    /// the budget; the last rung runs the full budget.
    fn halving(&self, space: &Space, state: &mut State) -> Result<Option<BestTrial>, TuneError> {
        let eta = self.tune.eta;
        let n = self.tune.trials;
        let rungs = rung_sizes(n, eta).len();
        let skip = space.iterative().then_some(ITERATIONS);
        let mut configs: Vec<(usize, toml::Table)> = (0..n)
            .map(|i| (i, space.draw(self.tune.seed, i, skip)))
            .collect();
        let iteration_range = space.iteration_range();
        let mut best = None;
        for rung in 0..rungs {
            let shrink = eta.pow((rungs - 1 - rung) as u32);
            let budget = |_: &toml::Table| match iteration_range {
                Some((lo, hi)) if space.iterative() => Budget {
                    iterations: Some(hi.div_ceil(shrink).max(lo).min(hi)),
                    users_share: 1.0,
                },
                _ => Budget {
                    iterations: None,
                    users_share: 1.0 / shrink as f64,
                },
            };
            let ranked = self.rung_ranked(space, state, configs.clone(), rung, budget)?;
            // A rung the time budget cut before any trial keeps the rung before's winner.
            if let Some(top) = choose(&ranked, true) {
                best = Some(top);
            }
            if state.record.stopped_by_budget {
                break;
            }
            let keep = (configs.len() / eta).max(1);
            let mut kept: Vec<usize> = ranked
                .iter()
                .filter_map(|b| b.as_ref().map(|b| b.config))
                .take(keep)
                .collect();
            // The pipeline's own values go on to the full budget as the reference.
            if !kept.contains(&0) && configs.iter().any(|(i, _)| *i == 0) {
                kept.push(0);
            }
            configs.retain(|(i, _)| kept.contains(i));
            configs.sort_by_key(|(i, _)| kept.iter().position(|k| k == i));
        }
        Ok(best)
    }

    /// Runs one rung's configurations in batches of `parallel`; returns them best first
    /// (failed trials last, as `None`; ties by configuration index).
    fn rung_ranked(
        &self,
        space: &Space,
        state: &mut State,
        configs: Vec<(usize, toml::Table)>,
        rung: usize,
        budget: impl Fn(&toml::Table) -> Budget + Sync,
    ) -> Result<Vec<Option<BestTrial>>, TuneError> {
        let mut done: Vec<TrialRecord> = Vec::new();
        for batch in configs.chunks(self.tune.parallel) {
            let mut todo = Vec::new();
            for (config, params) in batch {
                match state.earlier.get(&(space.kind, *config, rung)) {
                    Some(old) => {
                        state.earlier_seconds += old.fit_seconds + old.score_seconds;
                        self.finished(old);
                        done.push(old.clone());
                        state.record.trials.push(old.clone());
                    }
                    None => todo.push((*config, params.clone())),
                }
            }
            if todo.is_empty() {
                continue;
            }
            if let Some(limit) = self.tune.time_budget_s
                && state.earlier_seconds + state.started.elapsed().as_secs_f64() >= limit
            {
                state.record.stopped_by_budget = true;
                break;
            }
            reset_peak_rss();
            let results: Vec<Result<TrialRecord, TuneError>> = todo
                .into_par_iter()
                .with_max_len(1)
                .map(|(config, params)| {
                    let b = budget(&params);
                    let trial = self.trial(space.kind, config, rung, params, b);
                    if let Ok(t) = &trial {
                        self.finished(t);
                    }
                    trial
                })
                .collect();
            let rss = peak_rss_bytes();
            for result in results {
                let mut trial = result?;
                trial.peak_rss_bytes = rss;
                done.push(trial.clone());
                state.record.trials.push(trial);
            }
            self.save(state)?;
        }
        let mut ranked: Vec<&TrialRecord> = done.iter().collect();
        ranked.sort_by(|a, b| {
            let (va, vb) = (
                a.value.unwrap_or(f64::NEG_INFINITY),
                b.value.unwrap_or(f64::NEG_INFINITY),
            );
            vb.total_cmp(&va).then(a.config.cmp(&b.config))
        });
        Ok(ranked
            .into_iter()
            .map(|t| {
                t.value.map(|value| BestTrial {
                    config: t.config,
                    rung: t.rung,
                    value,
                    ci_low: t.ci_low,
                    params: t.params.clone(),
                    kept_own_values: false,
                })
            })
            .collect())
    }

    fn finished(&self, trial: &TrialRecord) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.progress.advance_to(done);
        (self.on_trial)(trial);
    }

    fn save(&self, state: &mut State) -> Result<(), TuneError> {
        state.record.seconds = state.earlier_seconds + state.started.elapsed().as_secs_f64();
        Ok(clickrec_io::write_json(self.file, &state.record)?)
    }

    /// Fits one configuration and scores it; a fit that fails (bad value, divergence) is
    /// recorded with its error, not fatal.
    fn trial(
        &self,
        kind: ModelKind,
        config: usize,
        rung: usize,
        mut params: toml::Table,
        budget: Budget,
    ) -> Result<TrialRecord, TuneError> {
        if let Some(iterations) = budget.iterations {
            params.insert(ITERATIONS.into(), toml::Value::Integer(iterations as i64));
        }
        let mut record = TrialRecord {
            model: kind,
            config,
            rung,
            params: params.clone(),
            budget,
            value: None,
            ci_low: None,
            ci_high: None,
            fit_seconds: 0.0,
            score_seconds: 0.0,
            peak_rss_bytes: None,
            early_stopping: None,
            error: None,
        };
        let checked = match checked_model(kind, &params) {
            Ok(c) => c,
            Err(e) => {
                record.error = Some(e);
                return Ok(record);
            }
        };
        let subsample;
        let part: &TrainPart = if budget.users_share < 1.0 {
            subsample = self
                .validation
                .subsample(budget.users_share, self.tune.seed)?;
            &subsample
        } else {
            &self.validation.train
        };
        let data = self.validation.train_data(part);
        let started = Instant::now();
        let monitor = self
            .early_stopping
            .filter(|_| budget.iterations.is_some())
            .map(|settings| EarlyStopping::new(self.scorer, settings));
        let options = FitOptions {
            seed: self.seed,
            record_loss: false,
            progress: &clickrec_core::NoProgress,
            memory_limit: self.memory_limit,
        };
        let watching = monitor
            .as_ref()
            .map(|m| m as &dyn clickrec_models::FitMonitor);
        let fitted: Model = match checked.fit_watched(&data, &options, watching) {
            Ok(m) => m,
            Err(e) => {
                record.fit_seconds = started.elapsed().as_secs_f64();
                record.error = Some(e.to_string());
                return Ok(record);
            }
        };
        let model = match monitor {
            Some(monitor) => {
                let (best, stop) = monitor.finish()?;
                record.params.insert(
                    ITERATIONS.into(),
                    toml::Value::Integer(stop.best_iteration as i64),
                );
                record.early_stopping = Some(stop);
                best
            }
            None => fitted,
        };
        record.fit_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let estimate = self.scorer.estimate(&model)?;
        record.score_seconds = started.elapsed().as_secs_f64();
        record.value = Some(estimate.mean);
        record.ci_low = estimate.ci_low;
        record.ci_high = estimate.ci_high;
        Ok(record)
    }
}

fn full_budget(params: &toml::Table) -> Budget {
    Budget {
        iterations: params
            .get(ITERATIONS)
            .and_then(|v| v.as_integer())
            .map(|v| v.max(0) as usize),
        users_share: 1.0,
    }
}

/// The winner of a ranked rung (best first). With `own_values` (configuration 0 holds
/// the pipeline's values) the top configuration replaces them only when the lower bound
/// of its validation interval is above their value: validation sets are small, and a
/// draw that wins by noise is as likely to lose on the test split.
fn choose(ranked: &[Option<BestTrial>], own_values: bool) -> Option<BestTrial> {
    let top = ranked.first().cloned().flatten()?;
    let own = ranked.iter().flatten().find(|b| b.config == 0);
    match own {
        Some(own)
            if own_values && top.config != 0 && top.ci_low.is_some_and(|lo| lo <= own.value) =>
        {
            Some(BestTrial {
                kept_own_values: true,
                ..own.clone()
            })
        }
        _ => Some(top),
    }
}

/// How many configurations each rung of successive halving runs at most: `n`, then the
/// best 1/`eta` of the rung before (plus the pipeline's own values, when they fell out),
/// while `n / etaʳ` ≥ 1.
pub fn rung_sizes(n: usize, eta: usize) -> Vec<usize> {
    let mut sizes = vec![n];
    let mut power = eta;
    while n / power >= 1 {
        let last = sizes[sizes.len() - 1];
        sizes.push((last / eta).max(1) + usize::from(last / eta < last));
        power = power.saturating_mul(eta);
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(config: usize, value: f64, ci_low: f64) -> Option<BestTrial> {
        Some(BestTrial {
            config,
            rung: 0,
            value,
            ci_low: Some(ci_low),
            params: toml::Table::new(),
            kept_own_values: false,
        })
    }

    #[test]
    fn own_values_stay_unless_beaten_beyond_the_interval() {
        // The top draw's interval reaches below the own values: they stay.
        let close = [trial(3, 0.30, 0.24), trial(0, 0.28, 0.22), None];
        let chosen = choose(&close, true).unwrap();
        assert_eq!((chosen.config, chosen.kept_own_values), (0, true));
        // Clearly better: the draw wins.
        let clear = [trial(3, 0.40, 0.33), trial(0, 0.28, 0.22)];
        assert_eq!(choose(&clear, true).unwrap().config, 3);
        // A grid has no own values: the top point wins.
        assert_eq!(choose(&close, false).unwrap().config, 3);
        assert!(choose(&[None], true).is_none());
    }

    #[test]
    fn rung_sizes_shrink_by_eta() {
        assert_eq!(rung_sizes(9, 3), vec![9, 4, 2]);
        assert_eq!(rung_sizes(1, 3), vec![1]);
        assert_eq!(rung_sizes(4, 2), vec![4, 3, 2]);
    }
}
