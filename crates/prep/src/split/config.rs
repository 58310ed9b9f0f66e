//! `[split]` as written in a pipeline file, and its checked form [`CheckedSplit`].

use std::num::NonZeroU32;
use std::path::PathBuf;

use clickrec_core::{parse_utc_time, utc_text};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, config_error, positive};

/// Which events are held out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// Each user's last session (users with ≥ 2 sessions). It trains on other users'
    /// events after a test session (the split reports that leakage).
    LastSession,
    /// Everything at or after one global `cutoff`.
    Temporal,
    /// Each user's last `n_events` events (users with more than that).
    LastEvents,
    /// One global cutoff T: train is every event before T, test each user's first
    /// session starting at or after T. Nothing a model learns comes after a test session
    /// starts. The default.
    #[default]
    SessionCutoff,
    /// A pre-split pair: train is the input file, test is `test_path` (same format and
    /// column mapping).
    TestFile,
    /// For logs without time: `test_fraction` of each user's distinct items (users with
    /// at least two), drawn with `seed`, are held out with all their events. Not
    /// time-aware, so leakage is not measurable; every report says so.
    Random,
}

/// The share of sessions held out by a session cutoff given neither `cutoff` nor
/// `test_fraction` (as with an empty `[split]` table).
pub const DEFAULT_TEST_FRACTION: f64 = 0.1;

/// The share of each user's items held out by a random split without `test_fraction`.
pub const DEFAULT_RANDOM_TEST_FRACTION: f64 = 0.2;

/// The `[split]` table. Keys that do not apply to the chosen kind are errors, so a
/// forgotten `kind` never silently ignores a cutoff.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    /// `"session_cutoff"` (default), `"last_session"`, `"temporal"`, `"last_events"`,
    /// `"test_file"` or `"random"`.
    pub kind: SplitKind,
    /// Temporal (required) and session cutoff (this or `test_fraction`): Unix seconds, or
    /// a UTC date or date-time as text (`"2017-12-03"`, `"2017-12-03 12:00:00"`); train
    /// is strictly before, test at or after.
    #[serde(deserialize_with = "unix_or_date")]
    pub cutoff: Option<i64>,
    /// Session cutoff only, instead of `cutoff`: the share of sessions (by start time)
    /// at or after the cutoff, in (0, 1); the cutoff is that quantile of session starts.
    /// The validation split applies the same share to the sessions of train. Default
    /// [`DEFAULT_TEST_FRACTION`] when `cutoff` is not given either. Random: the share of
    /// each user's distinct items held out (default [`DEFAULT_RANDOM_TEST_FRACTION`]).
    pub test_fraction: Option<f64>,
    /// Random only: the seed of the draw (default 0); the same seed, the same split.
    pub seed: Option<u64>,
    /// Last-events only: events held out per user. Default 1; 0 is an error.
    pub n_events: Option<u32>,
    /// Also carve a validation split from train by the same rule. Default false.
    pub validation: bool,
    /// Temporal or session cutoff with `cutoff` and validation only, required: the
    /// validation cutoff, before `cutoff` (Unix seconds or a date, as `cutoff`).
    #[serde(deserialize_with = "unix_or_date")]
    pub validation_cutoff: Option<i64>,
    /// Test-file only, required: the test file (relative to the pipeline file, or to the
    /// current directory when given with `--set`).
    pub test_path: Option<PathBuf>,
}

/// A cutoff as Unix seconds or as a UTC date (or date-time) in text.
fn unix_or_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Unix(i64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Unix(t)) => Ok(Some(t)),
        Some(Raw::Text(text)) => parse_utc_time(&text).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected Unix seconds or a UTC date such as \"2017-12-03\" or \"2017-12-03 12:00:00\", found {text:?}"
            ))
        }),
    }
}

impl SplitConfig {
    /// Checks every value; reads no data.
    pub fn check(&self) -> Result<CheckedSplit, ConfigError> {
        let kind_name = match self.kind {
            SplitKind::LastSession => "last_session",
            SplitKind::Temporal => "temporal",
            SplitKind::LastEvents => "last_events",
            SplitKind::SessionCutoff => "session_cutoff",
            SplitKind::TestFile => "test_file",
            SplitKind::Random => "random",
        };
        let only_for = |key: &'static str, kinds: &str, value: String| {
            config_error(
                key,
                format!(
                    "no value: it applies only to split.kind = {kinds} (the kind is \"{kind_name}\")"
                ),
                value,
            )
        };
        let with_cutoff = matches!(self.kind, SplitKind::Temporal | SplitKind::SessionCutoff);
        if !with_cutoff {
            let kinds = "\"temporal\" or \"session_cutoff\"";
            if let Some(c) = self.cutoff {
                return Err(only_for("split.cutoff", kinds, c.to_string()));
            }
            if let Some(c) = self.validation_cutoff {
                return Err(only_for("split.validation_cutoff", kinds, c.to_string()));
            }
        }
        if !matches!(self.kind, SplitKind::SessionCutoff | SplitKind::Random)
            && let Some(f) = self.test_fraction
        {
            return Err(only_for(
                "split.test_fraction",
                "\"session_cutoff\" or \"random\"",
                f.to_string(),
            ));
        }
        if self.kind != SplitKind::Random
            && let Some(s) = self.seed
        {
            return Err(only_for("split.seed", "\"random\"", s.to_string()));
        }
        if self.kind != SplitKind::LastEvents
            && let Some(n) = self.n_events
        {
            return Err(only_for("split.n_events", "\"last_events\"", n.to_string()));
        }
        if self.kind != SplitKind::TestFile
            && let Some(p) = &self.test_path
        {
            return Err(only_for(
                "split.test_path",
                "\"test_file\"",
                p.display().to_string(),
            ));
        }
        let rule = match self.kind {
            SplitKind::TestFile => {
                if self.test_path.is_none() {
                    return Err(config_error(
                        "split.test_path",
                        "the test file for split.kind = \"test_file\"",
                        "nothing",
                    ));
                }
                if self.validation {
                    return Err(config_error(
                        "split.validation",
                        "false with split.kind = \"test_file\" (no rule carves validation from a pre-split train file)",
                        true,
                    ));
                }
                SplitSpec::Rule(SplitRule::TestFile)
            }
            SplitKind::LastSession => SplitSpec::Rule(SplitRule::LastSession),
            SplitKind::Random => {
                let f = self.test_fraction.unwrap_or(DEFAULT_RANDOM_TEST_FRACTION);
                if !(f > 0.0 && f < 1.0) {
                    return Err(config_error(
                        "split.test_fraction",
                        "a share of each user's items strictly between 0 and 1, such as 0.2",
                        f,
                    ));
                }
                SplitSpec::Rule(SplitRule::Random {
                    test_fraction: f,
                    seed: self.seed.unwrap_or(0),
                })
            }
            SplitKind::LastEvents => SplitSpec::Rule(SplitRule::LastEvents {
                n: positive(
                    "split.n_events",
                    self.n_events.unwrap_or(1),
                    "at least 1 event held out per user",
                )?,
            }),
            SplitKind::Temporal => SplitSpec::Rule(SplitRule::Temporal {
                cutoff: self.cutoff.ok_or_else(|| {
                    config_error(
                        "split.cutoff",
                        "a Unix time in seconds for split.kind = \"temporal\"",
                        "nothing",
                    )
                })?,
            }),
            SplitKind::SessionCutoff => match (self.cutoff, self.test_fraction) {
                (Some(cutoff), None) => SplitSpec::Rule(SplitRule::SessionCutoff { cutoff }),
                (None, Some(f)) if f > 0.0 && f < 1.0 => {
                    SplitSpec::SessionFraction { test_fraction: f }
                }
                (None, Some(f)) => {
                    return Err(config_error(
                        "split.test_fraction",
                        "a share of sessions strictly between 0 and 1, such as 0.1",
                        f,
                    ));
                }
                (Some(c), Some(_)) => {
                    return Err(config_error(
                        "split.cutoff",
                        "either split.cutoff or split.test_fraction, not both",
                        c,
                    ));
                }
                (None, None) => SplitSpec::SessionFraction {
                    test_fraction: DEFAULT_TEST_FRACTION,
                },
            },
        };
        let validation = match (self.validation, rule) {
            (false, _) => {
                if let Some(c) = self.validation_cutoff {
                    return Err(config_error(
                        "split.validation_cutoff",
                        "no value unless split.validation = true",
                        c,
                    ));
                }
                None
            }
            (true, SplitSpec::Rule(SplitRule::Temporal { cutoff }))
            | (true, SplitSpec::Rule(SplitRule::SessionCutoff { cutoff })) => {
                let v = self.validation_cutoff.ok_or_else(|| {
                    config_error(
                        "split.validation_cutoff",
                        format!("a Unix time before split.cutoff = {cutoff} (required with validation = true)"),
                        "nothing",
                    )
                })?;
                if v >= cutoff {
                    return Err(config_error(
                        "split.validation_cutoff",
                        format!("a time before split.cutoff = {cutoff}"),
                        v,
                    ));
                }
                Some(match rule {
                    SplitSpec::Rule(SplitRule::Temporal { .. }) => {
                        SplitSpec::Rule(SplitRule::Temporal { cutoff: v })
                    }
                    _ => SplitSpec::Rule(SplitRule::SessionCutoff { cutoff: v }),
                })
            }
            (true, SplitSpec::SessionFraction { .. }) => {
                if let Some(c) = self.validation_cutoff {
                    return Err(config_error(
                        "split.validation_cutoff",
                        "no value with split.test_fraction (validation applies the same fraction to train)",
                        c,
                    ));
                }
                Some(rule)
            }
            (true, other) => Some(other),
        };
        Ok(CheckedSplit { rule, validation })
    }
}

/// How one split divides a log into train and held-out events.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SplitRule {
    /// Per user with ≥ 2 sessions: the last session is held out.
    LastSession,
    /// Train `< cutoff ≤` test, for all users at once.
    Temporal { cutoff: i64 },
    /// Per user with more than `n` events: the last `n` are held out.
    LastEvents { n: NonZeroU32 },
    /// Train `< cutoff`; test = each user's first session starting at or after it.
    SessionCutoff { cutoff: i64 },
    /// Train and test come from two files ([`crate::split_test_file`]).
    TestFile,
    /// Per user with ≥ 2 distinct items: a seeded draw of `test_fraction` of them (at
    /// least one, never all) is held out with all its events; time plays no part.
    Random { test_fraction: f64, seed: u64 },
}

impl SplitRule {
    /// True when train ends before every test event of every user (one global time
    /// line), so no model can learn from any user's later behaviour.
    pub fn is_global(&self) -> bool {
        matches!(
            self,
            SplitRule::Temporal { .. } | SplitRule::SessionCutoff { .. }
        )
    }

    /// False for the random split: train and test are not apart in time, so leakage
    /// cannot be measured (it is reported as not measurable, never as zero).
    pub fn is_time_aware(&self) -> bool {
        !matches!(self, SplitRule::Random { .. })
    }
}

/// A split rule as configured: fixed, or a session cutoff still to be placed at a
/// quantile of the log's session starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SplitSpec {
    Rule(SplitRule),
    /// Session cutoff at the time before which `1 − test_fraction` of the sessions start.
    SessionFraction {
        test_fraction: f64,
    },
}

impl std::fmt::Display for SplitRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SplitRule::LastSession => f.write_str("last session"),
            SplitRule::Temporal { cutoff } => {
                write!(f, "temporal cutoff {} ({cutoff})", utc_text(*cutoff))
            }
            SplitRule::LastEvents { n } => write!(f, "last {n} events"),
            SplitRule::SessionCutoff { cutoff } => {
                write!(
                    f,
                    "first session at or after the cutoff {} ({cutoff})",
                    utc_text(*cutoff)
                )
            }
            SplitRule::TestFile => f.write_str("test file"),
            SplitRule::Random {
                test_fraction,
                seed,
            } => write!(
                f,
                "random {test_fraction} of each user's items (seed {seed}; not time-aware)"
            ),
        }
    }
}

/// A valid split: the test rule and, optionally, the rule that carves validation
/// from train.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckedSplit {
    rule: SplitSpec,
    validation: Option<SplitSpec>,
}

/// The split of an empty `[split]` table.
impl Default for CheckedSplit {
    fn default() -> Self {
        CheckedSplit {
            rule: SplitSpec::SessionFraction {
                test_fraction: DEFAULT_TEST_FRACTION,
            },
            validation: None,
        }
    }
}

impl CheckedSplit {
    /// The rule that holds out the test events.
    pub fn rule(&self) -> SplitSpec {
        self.rule
    }
    /// The rule applied to train to hold out validation events, if any.
    pub fn validation(&self) -> Option<SplitSpec> {
        self.validation
    }
}
