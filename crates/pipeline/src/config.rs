//! The pipeline file as written (raw TOML) and its checked form, the [`Plan`].

use std::path::{Path, PathBuf};

use clickrec_eval::{CheckedEval, EvalConfig};
use clickrec_ingest::{IngestOptions, InputConfig};
use clickrec_models::{CheckedModel, ModelKind, ModelsConfig};
use clickrec_prep::{CheckedPrep, CheckedSplit, PrepConfig, SplitConfig};
use serde::{Deserialize, Serialize};

use crate::error::PipelineError;
use clickrec_tune::{CheckedEarlyStopping, EarlyStoppingConfig};

/// A pipeline file. Unknown keys are errors, so a typo never silently falls back to a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    #[serde(default)]
    pub run: RunConfig,
    pub input: InputConfig,
    /// Cleaning, sessions and matrix weights; every step has a default.
    #[serde(default)]
    pub prep: PrepConfig,
    /// The train/test split (default: each user's last session held out).
    #[serde(default)]
    pub split: SplitConfig,
    /// Generate the input (a synthetic Taobao-format log written to `input.path`) instead
    /// of reading an existing file: for benchmarks and demos.
    pub generate: Option<GenerateConfig>,
    /// `[models.*]`: the models to fit; none means the run stops after the matrix.
    #[serde(default)]
    pub models: ModelsConfig,
    #[serde(default)]
    pub train: TrainConfig,
    /// `[segment]`: k-means user segments and the segment-popular list (`segment_popular`).
    pub segment: Option<clickrec_segment::SegmentParams>,
    #[serde(default)]
    pub recommend: RecommendConfig,
    /// `[rerank]`: the two-stage recommender, a logistic regression over the candidates of
    /// several generators, trained on the validation split (needs `split.validation = true`).
    pub rerank: Option<clickrec_rerank::RerankParams>,
    /// `[evaluate]`: cut-offs, bootstrap resamples, seed of the evaluator.
    #[serde(default)]
    pub evaluate: EvalConfig,
    /// `[tune]`: what `clickrec tune` searches; `clickrec run` ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tune: Option<clickrec_tune::TuneConfig>,
    /// `[engine]`: where ingest, prep, split and the matrix run (default: this process).
    #[serde(default, skip_serializing_if = "EngineConfig::is_default")]
    pub engine: EngineConfig,
}

/// Which engine runs the data stages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// In this process, embedded (the default).
    #[default]
    Local,
    /// On a Spark cluster through Spark Connect.
    Spark,
}

/// `[engine]`: the engine of the data stages and, on Spark, where the cluster is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    pub kind: EngineKind,
    /// The Spark Connect URL, e.g. `sc://127.0.0.1:15002` (required for `kind = "spark"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `spark.cores.max` of the session: without it the long-running Connect
    /// application may hold every core and other jobs wait forever. Default 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cores_max: Option<u32>,
    /// A folder the cluster and this process both see: the Spark stages write their
    /// Parquet tables there. Default: `spark/` in the run directory (one machine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<PathBuf>,
    /// Train on MLlib when a fit's memory exceeds this share of the machine's memory:
    /// ALS `16·nnz + 4·(users+items)·factors` bytes, k-means `4·users·dimensions`, the
    /// re-ranker's logistic regression `8·rows·features`; 0 always trains there. Default 0.5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_memory_share: Option<f64>,
    /// Memory the fits' dense buffers (factors, Gram matrices, EASE's matrices, item-kNN's
    /// accumulators) may take, in bytes or with a unit (`"8GiB"`); a fit needing more is
    /// refused before allocating. Any engine. Default 80% of the machine's memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<ByteSize>,
}

/// A size as written in a pipeline file: a byte count or a string with a unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ByteSize {
    Bytes(u64),
    Text(String),
}

impl ByteSize {
    /// The bytes, or why the text is no size ([`clickrec_core::parse_byte_size`]).
    pub fn bytes(&self) -> Result<u64, String> {
        match self {
            ByteSize::Bytes(0) => Err("0: must be at least 1 byte".into()),
            ByteSize::Bytes(b) => Ok(*b),
            ByteSize::Text(t) => clickrec_core::parse_byte_size(t),
        }
    }
}

impl EngineConfig {
    fn is_default(&self) -> bool {
        *self == EngineConfig::default()
    }
}

/// Why a build without the `spark` feature refuses `engine.kind = "spark"`, and how to get
/// one that has it.
#[cfg(not(feature = "spark"))]
pub const SPARK_NOT_BUILT: &str = "\"spark\": this clickrec was built without the Spark engine; \
     rebuild it with `--features spark` (e.g. `cargo install --path crates/cli --features spark`), \
     which needs protoc (Debian: apt-get install protobuf-compiler), or set engine.kind = \"local\"";

/// `[engine]`, checked.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckedEngine {
    Local,
    /// Only in builds with the `spark` feature; others refuse `engine.kind = "spark"`.
    #[cfg(feature = "spark")]
    Spark(SparkSettings),
}

/// Where the Spark engine runs and stores.
#[derive(Clone, Debug, PartialEq)]
pub struct SparkSettings {
    pub url: String,
    pub cores_max: u32,
    /// The shared folder; the run's tables go to a subfolder named after the run.
    pub storage: PathBuf,
    pub train_memory_share: f64,
}

/// `[train]`: options of the train stage that are not model parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Compute the training loss after each ALS/BPR iteration, for the manifest and the
    /// report's loss chart. Costs about one extra pass over the data per iteration. Default true.
    pub record_loss: bool,
    /// `[train.early_stopping]`: ALS and BPR stop when a validation metric stops rising.
    /// The train stage first fits on validation-train to find the best iteration count,
    /// then fits the full train with it (needs `split.validation = true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStoppingConfig>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            record_loss: true,
            early_stopping: None,
        }
    }
}

/// Which users get recommendations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendUsers {
    /// The held-out test users (what the evaluator scores).
    Test,
    /// Every user of the train matrix.
    All,
}

/// File format of the recommendation lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecsFormat {
    Parquet,
    Csv,
}

impl RecsFormat {
    pub fn extension(self) -> &'static str {
        match self {
            RecsFormat::Parquet => "parquet",
            RecsFormat::Csv => "csv",
        }
    }
}

/// What users without train history get from models that need history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// No list (the evaluator counts them as users without a list).
    #[default]
    None,
    /// The popularity model's list (needs `[models.popularity]`).
    Popularity,
}

impl Fallback {
    /// For the report: what such users got.
    pub fn describe(self) -> &'static str {
        match self {
            Fallback::None => {
                "no list from models that need history (counted as users without a list; recommend.fallback = \"none\")"
            }
            Fallback::Popularity => {
                "the popularity list from models that need history (recommend.fallback = \"popularity\")"
            }
        }
    }
}

/// `[recommend]`: the top-N lists written to `recs/<model>.<format>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecommendConfig {
    /// List length. Default 100; must be at least the largest `evaluate.ks`.
    pub n: usize,
    /// Default `test`.
    pub users: RecommendUsers,
    /// Leave out items the user has in train (the "new items" protocol). Default true.
    pub exclude_seen: bool,
    /// Default `parquet`.
    pub format: RecsFormat,
    /// Users without train history: the popularity list or no list. Default: the
    /// popularity list when the pipeline has `[models.popularity]`, else none (the plan
    /// records which, see [`RecommendConfig::fallback`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
}

impl Default for RecommendConfig {
    fn default() -> Self {
        RecommendConfig {
            n: 100,
            users: RecommendUsers::Test,
            exclude_seen: true,
            format: RecsFormat::Parquet,
            fallback: None,
        }
    }
}

impl RecommendConfig {
    /// What users without train history get, as the plan resolved it.
    pub fn fallback(&self) -> Fallback {
        self.fallback.unwrap_or(Fallback::None)
    }
}

/// `[generate]`: sizes of the synthetic log; the seed is `run.seed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateConfig {
    pub users: u32,
    pub items: u32,
    pub events: u64,
}

/// `[run]`: where artifacts go and the seed every random choice derives from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Run directory, relative to the pipeline file (default `runs/<pipeline name>` next to
    /// the `pipelines/` folder is *not* assumed: give it, or pass `--out`).
    pub out: Option<PathBuf>,
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_seed() -> u64 {
    42
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            out: None,
            seed: default_seed(),
        }
    }
}

/// A validated pipeline: absolute paths, checked options. Only a plan can run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The resolved configuration, recorded in the manifest.
    pub config: PipelineConfig,
    pub out: PathBuf,
    pub input: PathBuf,
    /// The test file of a `split.kind = "test_file"` pair (read like `input`).
    pub test_input: Option<PathBuf>,
    pub ingest: IngestOptions,
    pub prep: CheckedPrep,
    pub split: CheckedSplit,
    /// Set when the input is generated rather than read.
    pub generate: Option<clickrec_synth::CheckedParams>,
    pub seed: u64,
    /// The models to fit, in `ModelKind::ALL` order.
    pub models: Vec<CheckedModel>,
    pub segment: Option<clickrec_segment::CheckedSegment>,
    /// The re-ranker and its generators, in the order given.
    pub rerank: Option<(clickrec_rerank::CheckedRerank, Vec<ListSource>)>,
    pub evaluate: CheckedEval,
    /// `[train.early_stopping]`, checked.
    pub early_stopping: Option<CheckedEarlyStopping>,
    /// `[engine]`, checked against what the chosen engine can do.
    pub engine: CheckedEngine,
    /// `engine.memory_limit` in bytes (default a share of the machine's memory): the
    /// fits' [`clickrec_models::FitOptions::memory_limit`].
    pub memory_limit: u64,
}

/// Where a recommendation list comes from: a fitted model, the segment-popular list of the
/// segment stage, or the re-ranker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListSource {
    Model(ModelKind),
    SegmentPopular,
    Rerank,
}

impl ListSource {
    /// The list's name in files (`recs/<name>.parquet`), reports and `rerank.generators`.
    pub fn name(self) -> &'static str {
        match self {
            ListSource::Model(kind) => kind.name(),
            ListSource::SegmentPopular => "segment_popular",
            ListSource::Rerank => "rerank",
        }
    }

    /// A generator named in `rerank.generators`.
    pub fn generator(name: &str) -> Option<Self> {
        match name {
            "segment_popular" => Some(ListSource::SegmentPopular),
            other => ModelKind::from_name(other).map(ListSource::Model),
        }
    }
}

impl Plan {
    /// The lists the recommend stage writes (every model, then segment-popular), in order.
    pub fn generated_lists(&self) -> Vec<ListSource> {
        let mut lists: Vec<ListSource> = self
            .models
            .iter()
            .map(|m| ListSource::Model(m.kind()))
            .collect();
        if self.segment.is_some() {
            lists.push(ListSource::SegmentPopular);
        }
        lists
    }

    /// Every list the evaluate stage scores: the generated ones, then the re-ranked one.
    pub fn evaluated_lists(&self) -> Vec<ListSource> {
        let mut lists = self.generated_lists();
        if self.rerank.is_some() {
            lists.push(ListSource::Rerank);
        }
        lists
    }
}

impl PipelineConfig {
    /// Reads a pipeline file and applies `--set key.path=value` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|e| PipelineError::Read {
            path: path.to_owned(),
            source: e,
        })?;
        let mut table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| PipelineError::Syntax {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
        for assignment in overrides {
            apply_override(&mut table, assignment).map_err(|message| PipelineError::Override {
                assignment: assignment.clone(),
                message,
            })?;
        }
        PipelineConfig::deserialize(table).map_err(|e| PipelineError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Checks every value, resolving relative paths against `base` (the pipeline file's
    /// folder). Reads no data; the input must exist.
    pub fn plan(
        mut self,
        file: &Path,
        base: &Path,
        out_override: Option<&Path>,
    ) -> Result<Plan, PipelineError> {
        let invalid = |key: &str, message: String| PipelineError::Invalid {
            path: file.to_owned(),
            message: format!("{key}: {message}"),
        };
        self.input.path = resolve(base, &self.input.path);
        let ingest = self
            .input
            .options()
            .map_err(|e| invalid(&format!("input.{}", e.key), e.message))?;
        // Their errors already name the full key (`prep.kcore.min_users_per_item: …`).
        let checked = |message: String| PipelineError::Invalid {
            path: file.to_owned(),
            message,
        };
        let prep = self.prep.check().map_err(|e| checked(e.to_string()))?;
        let split = self.split.check().map_err(|e| checked(e.to_string()))?;
        // Without times every split but the random one would cut at an arbitrary point.
        if ingest.format.layout().columns.time.is_none()
            && self.split.kind != clickrec_prep::SplitKind::Random
        {
            return Err(invalid(
                "split.kind",
                "the input has no time column (input.time_col), so only split.kind = \"random\" can evaluate it (test_fraction of each user's items held out, not time-aware)".into(),
            ));
        }
        self.split.test_path = self.split.test_path.as_deref().map(|p| resolve(base, p));
        if let Some(test) = &self.split.test_path
            && !test.is_file()
        {
            return Err(invalid(
                "split.test_path",
                format!("{} is not a file", test.display()),
            ));
        }
        let generate = match &self.generate {
            Some(g) => Some(
                clickrec_synth::GeneratorParams::default()
                    .users(g.users)
                    .items(g.items)
                    .events(g.events)
                    .seed(self.run.seed)
                    .check()
                    .map_err(|e| invalid("generate", e.to_string()))?,
            ),
            None => None,
        };
        if generate.is_some() && self.input.format != clickrec_ingest::FormatName::Taobao {
            return Err(invalid(
                "input.format",
                "must be taobao when [generate] makes the input".into(),
            ));
        }
        if generate.is_none() && !self.input.path.is_file() {
            return Err(invalid(
                "input.path",
                format!("{} is not a file", self.input.path.display()),
            ));
        }
        // An empty path would resolve to the pipeline's own folder and fill it with
        // artifacts (or, with --out "", the current directory).
        if out_override.is_some_and(|o| o.as_os_str().is_empty()) {
            return Err(invalid(
                "--out",
                "is empty: give a run directory, e.g. --out runs/NAME".into(),
            ));
        }
        if self
            .run
            .out
            .as_ref()
            .is_some_and(|o| o.as_os_str().is_empty())
        {
            return Err(invalid(
                "run.out",
                "is \"\": give a run directory, e.g. out = \"../runs/NAME\" (relative to the pipeline file), or pass --out".into(),
            ));
        }
        let out = match (out_override, &self.run.out) {
            (Some(out), _) => out.to_owned(),
            (None, Some(out)) => resolve(base, out),
            (None, None) => {
                return Err(invalid(
                    "run.out",
                    "missing: give a run directory or pass --out".into(),
                ));
            }
        };
        let models = self.models.check().map_err(|e| checked(e.to_string()))?;
        let evaluate = self.evaluate.check().map_err(|e| checked(e.to_string()))?;
        if self.recommend.n == 0 {
            return Err(invalid("recommend.n", "must be ≥ 1".into()));
        }
        if let Some(&k) = evaluate.ks().iter().max()
            && !models.is_empty()
            && self.recommend.n < k
        {
            return Err(invalid(
                "recommend.n",
                format!(
                    "{} is smaller than the largest evaluate.ks ({k}): lists would be cut short",
                    self.recommend.n
                ),
            ));
        }
        let has_popularity = models.iter().any(|m| m.kind() == ModelKind::Popularity);
        match self.recommend.fallback {
            Some(Fallback::Popularity) if !has_popularity => {
                return Err(invalid(
                    "recommend.fallback",
                    "\"popularity\" needs a [models.popularity] table".into(),
                ));
            }
            Some(_) => {}
            None if has_popularity => self.recommend.fallback = Some(Fallback::Popularity),
            None => self.recommend.fallback = Some(Fallback::None),
        }
        let segment = match &self.segment {
            Some(params) => {
                let checked = params.check().map_err(|e| checked(e.to_string()))?;
                if params.vectors == clickrec_segment::VectorSource::AlsFactors
                    && !models.iter().any(|m| m.kind() == ModelKind::Als)
                {
                    return Err(invalid(
                        "segment.vectors",
                        "als_factors needs a [models.als] table".into(),
                    ));
                }
                Some(checked)
            }
            None => None,
        };
        let rerank = match &self.rerank {
            Some(params) => {
                let checked_params = params.check().map_err(|e| checked(e.to_string()))?;
                if !self.split.validation {
                    return Err(invalid(
                        "rerank",
                        "needs a validation split to learn from: set split.validation = true"
                            .into(),
                    ));
                }
                let mut generators = Vec::new();
                for name in &params.generators {
                    let source = ListSource::generator(name).ok_or_else(|| {
                        invalid(
                            "rerank.generators",
                            format!(
                                "unknown generator {name:?}: expected a model of [models.*] ({}) or segment_popular",
                                ModelKind::ALL.map(ModelKind::name).join(", ")
                            ),
                        )
                    })?;
                    let configured = match source {
                        ListSource::Model(kind) => models.iter().any(|m| m.kind() == kind),
                        _ => segment.is_some(),
                    };
                    if !configured {
                        return Err(invalid(
                            "rerank.generators",
                            format!(
                                "{name:?} is not configured: add its [models.{name}] or [segment] table"
                            ),
                        ));
                    }
                    generators.push(source);
                }
                Some((checked_params, generators))
            }
            None => None,
        };
        let early_stopping = match &self.train.early_stopping {
            Some(e) => {
                if !self.split.validation {
                    return Err(invalid(
                        "train.early_stopping",
                        "needs a validation split to watch: set split.validation = true".into(),
                    ));
                }
                Some(e.check().map_err(checked)?)
            }
            None => None,
        };
        let memory_limit = match &self.engine.memory_limit {
            Some(size) => size
                .bytes()
                .map_err(|message| invalid("engine.memory_limit", message))?,
            None => clickrec_core::default_memory_limit(),
        };
        let engine = self.check_engine(file, base, &out, &prep, &split, &invalid)?;
        self.run.out = Some(out.clone());
        Ok(Plan {
            engine,
            memory_limit,
            segment,
            rerank,
            models,
            evaluate,
            early_stopping,
            input: self.input.path.clone(),
            test_input: self.split.test_path.clone(),
            seed: self.run.seed,
            config: self,
            out,
            ingest,
            prep,
            split,
            generate,
        })
    }
}

impl PipelineConfig {
    /// `[engine]`: local needs no other key; Spark needs a URL and refuses, by key, every
    /// option its SQL does not implement (never ignoring one).
    fn check_engine(
        &self,
        file: &Path,
        base: &Path,
        out: &Path,
        prep: &CheckedPrep,
        split: &CheckedSplit,
        invalid: &dyn Fn(&str, String) -> PipelineError,
    ) -> Result<CheckedEngine, PipelineError> {
        let e = &self.engine;
        if e.kind == EngineKind::Local {
            for (key, set) in [
                ("engine.url", e.url.is_some()),
                ("engine.cores_max", e.cores_max.is_some()),
                ("engine.storage", e.storage.is_some()),
                ("engine.train_memory_share", e.train_memory_share.is_some()),
            ] {
                if set {
                    return Err(invalid(
                        key,
                        "applies only to engine.kind = \"spark\"".into(),
                    ));
                }
            }
            return Ok(CheckedEngine::Local);
        }
        let url = match &e.url {
            Some(url) if url.starts_with("sc://") => url.clone(),
            Some(url) => {
                return Err(invalid(
                    "engine.url",
                    format!(
                        "expected a Spark Connect URL like sc://127.0.0.1:15002, found {url:?}"
                    ),
                ));
            }
            None => {
                return Err(invalid(
                    "engine.url",
                    "required with engine.kind = \"spark\": the URL scripts/spark-cluster.sh start prints (sc://HOST:PORT)".into(),
                ));
            }
        };
        let cores_max = e.cores_max.unwrap_or(2);
        if cores_max == 0 {
            return Err(invalid("engine.cores_max", "must be ≥ 1".into()));
        }
        let share = e.train_memory_share.unwrap_or(0.5);
        if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
            return Err(invalid(
                "engine.train_memory_share",
                format!("expected a share of memory in [0, 1], found {share}"),
            ));
        }
        let storage = match &e.storage {
            Some(path) => resolve(base, path),
            None => out.join("spark"),
        };
        let unsupported = |key: &str, value: String, why: &str| {
            invalid(
                key,
                format!(
                    "{value}: {why} on engine.kind = \"spark\"; use engine.kind = \"local\" for this pipeline"
                ),
            )
        };
        if self.input.format != clickrec_ingest::FormatName::Taobao {
            return Err(unsupported(
                "input.format",
                format!("{:?}", self.input.format).to_lowercase(),
                "only the taobao layout is read",
            ));
        }
        if self.input.on_bad_row != clickrec_ingest::BadRowPolicy::Fail {
            return Err(unsupported(
                "input.on_bad_row",
                "\"skip\"".into(),
                "the quarantine of bad rows is not implemented",
            ));
        }
        if self.input.utc_offset.is_some() {
            return Err(unsupported(
                "input.utc_offset",
                format!("{:?}", self.input.utc_offset),
                "times are Unix seconds",
            ));
        }
        if let Some(limit) = self.input.max_record_bytes {
            return Err(unsupported(
                "input.max_record_bytes",
                limit.to_string(),
                "the cluster reads the lines, not this process",
            ));
        }
        if let Some(message) = clickrec_spark::sql::check_prep(prep)
            .and_then(|()| clickrec_spark::sql::check_split(split))
            .err()
        {
            return Err(PipelineError::Invalid {
                path: file.to_owned(),
                message: message.to_string(),
            });
        }
        let settings = SparkSettings {
            url,
            cores_max,
            storage,
            train_memory_share: share,
        };
        #[cfg(feature = "spark")]
        {
            Ok(CheckedEngine::Spark(settings))
        }
        #[cfg(not(feature = "spark"))]
        {
            let _ = settings;
            Err(invalid("engine.kind", SPARK_NOT_BUILT.into()))
        }
    }
}

/// `base/path` with `.` and `..` removed lexically (`pipelines/../data` → `data`), so
/// messages and the manifest show plain paths. Absolute paths are kept as they are.
fn resolve(base: &Path, path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in base.join(path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// `a.b.c=value`: the value is read as a TOML value (`42`, `true`, `"x"`, `[1, 2]`), and
/// as a plain string when it is not one (`input.path=data/x.csv`) or is a date.
fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<(), String> {
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| "expected key.path=value".to_owned())?;
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        // A date (`split.cutoff=2017-12-03`) is meant as the text the keys take.
        .map(|v| match v {
            toml::Value::Datetime(d) => toml::Value::String(d.to_string()),
            other => other,
        })
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    // Paths given on the command line are relative to where the command runs, not to
    // the pipeline file.
    let value = match (key.trim(), value) {
        (
            "input.path" | "split.test_path" | "run.out" | "engine.storage",
            toml::Value::String(path),
        ) if Path::new(&path).is_relative() && !path.is_empty() => {
            let cwd = std::env::current_dir()
                .map_err(|e| format!("cannot read the current directory: {e}"))?;
            toml::Value::String(cwd.join(path).display().to_string())
        }
        (_, value) => value,
    };
    let parts: Vec<&str> = key.trim().split('.').collect();
    let (last, parents) = parts.split_last().ok_or_else(|| "empty key".to_owned())?;
    let mut current = table;
    for part in parents {
        current = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("{part} is not a table"))?;
    }
    current.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, overrides: &[&str]) -> Result<PipelineConfig, PipelineError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).unwrap();
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        PipelineConfig::load(&path, &overrides)
    }

    const MINIMAL: &str = "[run]\nout = \"runs/x\"\n[input]\npath = \"data/x.csv\"\n";

    /// `out = ""` resolved to the pipeline's own folder, which then filled with artifacts.
    #[test]
    fn an_empty_run_directory_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/x.csv"), "1,2,3,pv,4\n").unwrap();
        let text = MINIMAL.replace("out = \"runs/x\"", "out = \"\"");
        for (overrides, key) in [(&[][..], "run.out"), (&["run.out=\"\""][..], "run.out")] {
            let e = load(&text, overrides)
                .unwrap()
                .plan(&file, dir.path(), None)
                .unwrap_err();
            assert!(e.is_config_error());
            let e = e.to_string();
            assert!(e.contains(key) && e.contains("give a run directory"), "{e}");
        }
        let e = load(MINIMAL, &[])
            .unwrap()
            .plan(&file, dir.path(), Some(Path::new("")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--out") && e.contains("empty"), "{e}");
    }

    /// `engine.memory_limit` takes bytes or a size with a unit; the default is a share
    /// of the machine's memory.
    #[test]
    fn the_memory_limit_is_read_from_bytes_or_units() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/x.csv"), "1,2,3,pv,4\n").unwrap();
        let plan = |overrides: &[&str]| {
            load(MINIMAL, overrides).and_then(|c| c.plan(&file, dir.path(), None))
        };
        assert_eq!(
            plan(&[]).unwrap().memory_limit,
            clickrec_core::default_memory_limit()
        );
        assert_eq!(
            plan(&["engine.memory_limit=8GiB"]).unwrap().memory_limit,
            8 << 30
        );
        assert_eq!(
            plan(&["engine.memory_limit=1000000"]).unwrap().memory_limit,
            1_000_000
        );
        for bad in ["engine.memory_limit=0", "engine.memory_limit=8 gigs"] {
            let e = plan(&[bad]).unwrap_err();
            assert!(e.is_config_error());
            let e = e.to_string();
            assert!(e.contains("engine.memory_limit"), "{bad}: {e}");
        }
    }

    #[test]
    fn overrides_set_nested_values() {
        let c = load(
            MINIMAL,
            &[
                "input.path=other.csv",
                "run.seed=7",
                "input.on_bad_row=skip",
            ],
        )
        .unwrap();
        // Paths given on the command line are relative to the current directory.
        assert_eq!(
            c.input.path,
            std::env::current_dir().unwrap().join("other.csv")
        );
        assert_eq!(c.run.seed, 7);
        assert_eq!(c.input.on_bad_row, clickrec_ingest::BadRowPolicy::Skip);
        // A date on the command line is the date the key reads, here as Unix seconds.
        let c = load(MINIMAL, &["split.cutoff=2017-12-03"]).unwrap();
        assert_eq!(c.split.cutoff, Some(1_512_259_200));
    }

    #[test]
    fn a_test_file_is_resolved_like_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/x.csv"), "1,2,3,pv,4\n").unwrap();
        let text = format!("{MINIMAL}[split]\nkind = \"test_file\"\ntest_path = \"data/t.csv\"\n");
        let config = load(&text, &[]).unwrap();
        let err = config
            .clone()
            .plan(&file, dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("split.test_path") && err.contains("is not a file"),
            "{err}"
        );
        std::fs::write(dir.path().join("data/t.csv"), "1,2,3,pv,5\n").unwrap();
        let plan = config.plan(&file, dir.path(), None).unwrap();
        assert_eq!(plan.test_input, Some(dir.path().join("data/t.csv")));
        assert_eq!(
            plan.split.rule(),
            clickrec_prep::SplitSpec::Rule(clickrec_prep::SplitRule::TestFile)
        );
        // On the command line the path is relative to the current directory.
        let c = load(&text, &["split.test_path=valid.txt"]).unwrap();
        assert_eq!(
            c.split.test_path,
            Some(std::env::current_dir().unwrap().join("valid.txt"))
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let unknown = load(&format!("{MINIMAL}colour = 1\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("colour"), "{unknown}");
        let wrong_type = load(MINIMAL, &["run.seed=\"seven\""])
            .unwrap_err()
            .to_string();
        assert!(wrong_type.contains("seed"), "{wrong_type}");
        let bad_enum = load(MINIMAL, &["input.format=xml"])
            .unwrap_err()
            .to_string();
        assert!(bad_enum.contains("xml"), "{bad_enum}");
        let missing = load("[run]\nseed = 1\n", &[]).unwrap_err().to_string();
        assert!(missing.contains("input"), "{missing}");
    }

    #[test]
    fn plan_checks_values_and_input_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        let config = load(MINIMAL, &[]).unwrap();
        let err = config
            .clone()
            .plan(&file, dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("input.path") && err.contains("is not a file"),
            "{err}"
        );
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/x.csv"), "1,2,3,pv,4\n").unwrap();
        let plan = config.clone().plan(&file, dir.path(), None).unwrap();
        assert_eq!(plan.out, dir.path().join("runs/x"));
        assert_eq!(
            resolve(Path::new("pipelines"), Path::new("../data/x.csv")),
            PathBuf::from("data/x.csv")
        );
        assert_eq!(
            resolve(Path::new(""), Path::new("../x")),
            PathBuf::from("../x")
        );
        let numbers = load(MINIMAL, &["input.max_bad_rows=1000", "input.user_col=0"]).unwrap();
        assert_eq!(numbers.input.max_bad_rows.as_deref(), Some("1000"));
        assert_eq!(numbers.input.user_col.as_deref(), Some("0"));
        let bad = load(MINIMAL, &["input.utc_offset=8"]).unwrap();
        let err = bad.plan(&file, dir.path(), None).unwrap_err().to_string();
        assert!(err.contains("input.utc_offset"), "{err}");
    }

    #[test]
    fn the_engine_is_local_unless_set_and_spark_refuses_what_it_cannot_do() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/x.csv"), "1,2,3,pv,4\n").unwrap();
        let plan = |overrides: &[&str]| {
            load(MINIMAL, overrides)
                .and_then(|c| c.plan(&file, dir.path(), None))
                .map(|p| p.engine)
        };
        assert_eq!(plan(&[]).unwrap(), CheckedEngine::Local);
        // The default `[engine]` is not written back, so local configs serialise as before.
        let config = load(MINIMAL, &[]).unwrap();
        assert!(!toml::to_string(&config).unwrap().contains("engine"));
        let spark = plan(&["engine.kind=spark", "engine.url=sc://127.0.0.1:15002"]);
        #[cfg(feature = "spark")]
        assert_eq!(
            spark.unwrap(),
            CheckedEngine::Spark(SparkSettings {
                url: "sc://127.0.0.1:15002".into(),
                cores_max: 2,
                storage: dir.path().join("runs/x/spark"),
                train_memory_share: 0.5,
            })
        );
        #[cfg(not(feature = "spark"))]
        {
            let e = spark.unwrap_err().to_string();
            assert!(
                e.contains("engine.kind") && e.contains("--features spark") && e.contains("protoc"),
                "{e}"
            );
        }
        let err = |overrides: &[&str]| plan(overrides).unwrap_err().to_string();
        let e = err(&["engine.kind=spark"]);
        assert!(
            e.contains("engine.url") && e.contains("spark-cluster.sh"),
            "{e}"
        );
        let e = err(&["engine.kind=spark", "engine.url=http://x"]);
        assert!(e.contains("engine.url") && e.contains("sc://"), "{e}");
        let e = err(&["engine.url=sc://h:1"]);
        assert!(e.contains("engine.url") && e.contains("spark"), "{e}");
        let e = err(&[
            "engine.kind=spark",
            "engine.url=sc://h:1",
            "engine.train_memory_share=2",
        ]);
        assert!(e.contains("engine.train_memory_share"), "{e}");
        let spark = ["engine.kind=spark", "engine.url=sc://h:1"];
        for (key, set) in [
            ("prep.kcore", "prep.kcore.min_items_per_user=2"),
            ("input.on_bad_row", "input.on_bad_row=skip"),
            ("input.format", "input.format=retailrocket"),
            ("input.max_record_bytes", "input.max_record_bytes=4096"),
        ] {
            let e = err(&[spark[0], spark[1], set]);
            assert!(
                e.contains(key) && e.contains("use engine.kind = \"local\""),
                "{set}: {e}"
            );
        }
        let e = load(MINIMAL, &["engine.colour=1"]).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }
}
