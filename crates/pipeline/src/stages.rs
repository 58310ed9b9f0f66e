//! The stage table: every stage once, in run order, with what it reads and writes, what
//! its fingerprint covers, when the plan runs it, and its body (one module each, below).
//! The runner walks the table; adding a stage is one entry here plus its module.
//!
//! Each body reads its inputs from the run directory (through [`crate::artifacts`]) and
//! writes its artifacts atomically.

pub(crate) mod evaluate;
pub(crate) mod generate;
pub(crate) mod ingest;
pub(crate) mod matrix;
pub(crate) mod prep;
pub(crate) mod recommend;
pub(crate) mod rerank;
pub(crate) mod segment;
pub(crate) mod split;
pub(crate) mod train;

use serde::Serialize;
use serde_json::Value;

use crate::config::{CheckedEngine, Plan};
use crate::engine::Engine;
use crate::error::PipelineError;
use crate::output::StageOutput;
use crate::progress::Bars;

/// What a stage's body gets.
pub(crate) struct StageContext<'a> {
    pub plan: &'a Plan,
    pub engine: &'a dyn Engine,
    pub bars: &'a dyn Bars,
}

/// What fingerprints may cover besides the configuration: the version and the input.
pub(crate) struct RunFacts {
    /// `clickrec_version`: a new version redoes every stage.
    pub version: Value,
    /// The input log's BLAKE3 (`Null` until hashed: only `generate` runs before).
    pub input: Value,
    /// The test file's BLAKE3, for `split.kind = "test_file"`.
    pub test_input: Option<Value>,
}

/// One entry of the table.
pub(crate) struct StageSpec {
    pub name: &'static str,
    /// What it reads: the input log or run-directory files.
    pub reads: &'static [&'static str],
    /// What it writes, relative to the run directory (`*`: any name; `input.path`: the
    /// input log); checked against every artifact the stage reports.
    pub writes: &'static [&'static str],
    /// The stage whose fingerprint this one's starts from: a change upstream redoes it.
    pub after: Option<Stage>,
    /// What else its fingerprint covers.
    pub covers: fn(&Plan, &RunFacts) -> Result<Vec<Value>, PipelineError>,
    /// Whether the plan runs it.
    pub runs: fn(&Plan) -> bool,
    pub run: fn(&StageContext<'_>) -> Result<StageOutput, PipelineError>,
}

/// The table and the [`Stage`] enum from one list, so the two cannot disagree.
macro_rules! stage_table {
    ($($(#[doc = $doc:literal])* $variant:ident $spec:tt),* $(,)?) => {
        /// The stages, in order. Each reads the artifacts of the ones before it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Stage {
            $($(#[doc = $doc])* $variant),*
        }

        impl Stage {
            /// Every stage, in order.
            pub const ALL: &'static [Stage] = &[$(Stage::$variant),*];
        }

        /// Indexed by [`Stage`].
        static TABLE: &[StageSpec] = &[$(StageSpec $spec),*];
    };
}

stage_table! {
    /// Only with a `[generate]` table: writes the synthetic input log.
    Generate {
        name: "generate",
        reads: &[],
        writes: &["input.path"],
        after: None,
        covers: |plan, facts| {
            Ok(vec![facts.version.clone(), json("generate", &plan.config.generate)?, Value::from(plan.seed)])
        },
        runs: |plan| plan.generate.is_some(),
        run: |cx| match &cx.plan.generate {
            Some(params) => generate::run(&cx.plan.input, params),
            None => Err(PipelineError::NotConfigured("generate")),
        },
    },
    Ingest {
        name: "ingest",
        reads: &["input.path", "split.test_path"],
        writes: &[
            "events.parquet", "users.parquet", "items.parquet", "categories.parquet",
            "ingest.json", "quarantine.csv",
            "test_file_events.parquet", "test_ingest.json", "test_quarantine.csv",
        ],
        after: None,
        covers: |plan, facts| {
            let mut parts = vec![facts.version.clone(), facts.input.clone(), json("ingest", &plan.ingest)?];
            parts.extend(facts.test_input.clone());
            // Another engine (or cluster) redoes every stage; the local engine's
            // fingerprints stay what they were before `[engine]` existed.
            if plan.engine != CheckedEngine::Local {
                parts.push(json("engine", &plan.config.engine)?);
            }
            Ok(parts)
        },
        runs: |_| true,
        run: |cx| ingest::run(cx.plan, cx.engine, cx.bars),
    },
    Prep {
        name: "prep",
        reads: &["events.parquet"],
        writes: &["prepared.parquet", "prep.json"],
        after: Some(Stage::Ingest),
        covers: |plan, _| {
            let mut prep = json("prep", &plan.config.prep)?;
            if let Some(table) = prep.as_object_mut() {
                table.remove("weights"); // weights only shape the matrix
            }
            Ok(vec![prep])
        },
        runs: |_| true,
        run: |cx| prep::run(cx.plan, cx.engine),
    },
    Split {
        name: "split",
        reads: &["prepared.parquet", "test_file_events.parquet"],
        writes: &[
            "train.parquet", "test_events.parquet", "test_set.json", "split.json",
            "split_items.parquet", "validation_set.json", "validation_events.parquet",
            "validation_train.parquet",
        ],
        after: Some(Stage::Prep),
        covers: |plan, _| {
            Ok(vec![
                json("split", &plan.config.split)?,
                // Splits made before item ids were compacted (no split_items.parquet) are redone.
                Value::from("compact item ids"),
            ])
        },
        runs: |_| true,
        run: |cx| split::run(cx.plan, cx.engine),
    },
    Matrix {
        name: "matrix",
        reads: &["train.parquet"],
        writes: &["train_matrix.csr", "matrix.json"],
        after: Some(Stage::Split),
        covers: |plan, _| Ok(vec![json("prep.weights", &plan.config.prep.weights)?]),
        runs: |_| true,
        run: |cx| matrix::run(cx.plan, cx.engine),
    },
    /// Only with `[models.*]` tables: fit and save each model.
    Train {
        name: "train",
        reads: &["train.parquet", "train_matrix.csr", "validation_train.parquet", "validation_set.json"],
        writes: &["models/*.model", "train.json"],
        after: Some(Stage::Matrix),
        covers: |plan, _| {
            Ok(vec![
                json("models", &plan.config.models)?,
                json("train", &plan.config.train)?,
                Value::from(plan.seed),
            ])
        },
        runs: has_lists,
        run: |cx| train::run(cx.plan, cx.engine, cx.bars),
    },
    /// Only with `[segment]`: k-means user segments and the segment-popular model.
    Segment {
        name: "segment",
        reads: &["train.parquet", "models/als.model"],
        writes: &["segments/assignments.csv", "segments/summary.json", "models/segment_popular.json"],
        after: Some(Stage::Train),
        covers: |plan, _| Ok(vec![json("segment", &plan.config.segment)?]),
        runs: |plan| has_lists(plan) && plan.segment.is_some(),
        run: |cx| segment::run(cx.plan, cx.engine),
    },
    /// Top-N lists per model → `recs/`.
    Recommend {
        name: "recommend",
        reads: &["train_matrix.csr", "models/*", "test_set.json"],
        writes: &["recs/*"],
        after: Some(Stage::Segment),
        covers: |plan, _| Ok(vec![json("recommend", &plan.config.recommend)?]),
        runs: has_lists,
        run: |cx| recommend::run(cx.plan, cx.bars),
    },
    /// Only with `[rerank]`: the logistic-regression re-ranker → `recs/rerank.*`.
    Rerank {
        name: "rerank",
        reads: &["validation_train.parquet", "validation_set.json", "train.parquet", "models/*"],
        writes: &["models/rerank.json", "rerank.json", "recs/rerank.*"],
        after: Some(Stage::Recommend),
        covers: |plan, _| Ok(vec![json("rerank", &plan.config.rerank)?]),
        runs: |plan| has_lists(plan) && plan.rerank.is_some(),
        run: |cx| rerank::run(cx.plan, cx.engine, cx.bars),
    },
    /// Metrics and reports of the lists on the test set.
    Evaluate {
        name: "evaluate",
        reads: &["recs/*", "test_set.json", "test_events.parquet", "train_matrix.csr"],
        writes: &["metrics.json", "report.md", "report.html"],
        after: Some(Stage::Rerank),
        covers: |plan, _| Ok(vec![json("evaluate", &plan.config.evaluate)?]),
        runs: has_lists,
        run: |cx| evaluate::run(cx.plan),
    },
}

impl Stage {
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// What the stage reads: the input log or run-directory files.
    pub fn reads(self) -> &'static [&'static str] {
        self.spec().reads
    }

    /// What the stage writes, relative to the run directory (`*`: any name).
    pub fn writes(self) -> &'static [&'static str] {
        self.spec().writes
    }

    pub(crate) fn spec(self) -> &'static StageSpec {
        &TABLE[self as usize]
    }
}

impl StageSpec {
    /// Whether `artifact` (as a stage reports it) is one of the files the entry declares.
    pub(crate) fn declares(&self, artifact: &str) -> bool {
        self.writes
            .iter()
            .any(|&pattern| match pattern.split_once('*') {
                _ if pattern == "input.path" => std::path::Path::new(artifact).is_absolute(),
                Some((prefix, suffix)) => {
                    artifact.len() >= prefix.len() + suffix.len()
                        && artifact.starts_with(prefix)
                        && artifact.ends_with(suffix)
                }
                None => artifact == pattern,
            })
    }
}

/// Whether the plan makes lists (models or segments): the stages from train on run.
fn has_lists(plan: &Plan) -> bool {
    !plan.generated_lists().is_empty()
}

/// A configuration part as the fingerprints hash it.
pub(crate) fn json<T: Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<Value, PipelineError> {
    serde_json::to_value(value).map_err(|e| PipelineError::Fingerprint {
        what,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_stage_order_and_chained_to_the_stage_before() {
        for (index, &stage) in Stage::ALL.iter().enumerate() {
            assert_eq!(stage as usize, index);
            let after = stage.spec().after;
            match stage {
                Stage::Generate | Stage::Ingest => assert_eq!(after, None),
                _ => assert_eq!(after, Some(Stage::ALL[index - 1]), "{}", stage.name()),
            }
        }
    }

    /// ARCHITECTURE.md shows the table as it is.
    #[test]
    fn architecture_shows_the_stage_table() {
        let doc = include_str!("../../../ARCHITECTURE.md");
        let list = |files: &[&str]| {
            let quoted: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
            if quoted.is_empty() {
                "—".to_owned()
            } else {
                quoted.join(", ")
            }
        };
        for &stage in Stage::ALL {
            let row = format!(
                "| `{}` | {} | {} |",
                stage.name(),
                list(stage.reads()),
                list(stage.writes())
            );
            assert!(
                doc.contains(&row),
                "ARCHITECTURE.md lacks the stage table's row\n{row}"
            );
        }
    }

    #[test]
    fn declared_patterns_match_whole_names() {
        let recommend = Stage::Recommend.spec();
        assert!(recommend.declares("recs/als.parquet"));
        assert!(!recommend.declares("metrics.json"));
        let rerank = Stage::Rerank.spec();
        assert!(rerank.declares("recs/rerank.csv"));
        assert!(!rerank.declares("recs/als.csv"));
        assert!(Stage::Train.spec().declares("models/ease.model"));
        assert!(!Stage::Train.spec().declares("models/ease.json"));
        assert!(Stage::Generate.spec().declares("/data/generated.csv"));
        assert!(!Stage::Generate.spec().declares("generated.csv"));
    }
}
