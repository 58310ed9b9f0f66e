//! `[split]` as written in a pipeline file, and its checked form [`CheckedSplit`].

use std::num::NonZeroU32;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, config_error, positive};

/// Which events are held out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// Each user's last session (users with ≥ 2 sessions); the protocol's default.
    #[default]
    LastSession,
    /// Everything at or after one global `cutoff`.
    Temporal,
    /// Each user's last `n_events` events (users with more than that).
    LastEvents,
    /// A pre-split pair: train is the input file, test is `test_path` (same format and
    /// column mapping).
    TestFile,
}

/// The `[split]` table. Keys that do not apply to the chosen kind are errors, so a
/// forgotten `kind` never silently ignores a cutoff.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    /// `"last_session"` (default), `"temporal"`, `"last_events"` or `"test_file"`.
    pub kind: SplitKind,
    /// Temporal only, required: Unix seconds; train is strictly before, test at or after.
    pub cutoff: Option<i64>,
    /// Last-events only: events held out per user. Default 1; 0 is an error.
    pub n_events: Option<u32>,
    /// Also carve a validation split from train by the same rule. Default false.
    pub validation: bool,
    /// Temporal with validation only, required: the validation cutoff, before `cutoff`.
    pub validation_cutoff: Option<i64>,
    /// Test-file only, required: the test file (relative to the pipeline file, or to the
    /// current directory when given with `--set`).
    pub test_path: Option<PathBuf>,
}

impl SplitConfig {
    /// Checks every value; reads no data.
    pub fn check(&self) -> Result<CheckedSplit, ConfigError> {
        let kind_name = match self.kind {
            SplitKind::LastSession => "last_session",
            SplitKind::Temporal => "temporal",
            SplitKind::LastEvents => "last_events",
            SplitKind::TestFile => "test_file",
        };
        let only_for = |key: &'static str, kind: &str, value: String| {
            config_error(
                key,
                format!(
                    "no value: it applies only to split.kind = \"{kind}\" (the kind is \"{kind_name}\")"
                ),
                value,
            )
        };
        if self.kind != SplitKind::Temporal {
            if let Some(c) = self.cutoff {
                return Err(only_for("split.cutoff", "temporal", c.to_string()));
            }
            if let Some(c) = self.validation_cutoff {
                return Err(only_for(
                    "split.validation_cutoff",
                    "temporal",
                    c.to_string(),
                ));
            }
        }
        if self.kind != SplitKind::LastEvents
            && let Some(n) = self.n_events
        {
            return Err(only_for("split.n_events", "last_events", n.to_string()));
        }
        if self.kind != SplitKind::TestFile
            && let Some(p) = &self.test_path
        {
            return Err(only_for(
                "split.test_path",
                "test_file",
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
                SplitRule::TestFile
            }
            SplitKind::LastSession => SplitRule::LastSession,
            SplitKind::LastEvents => SplitRule::LastEvents {
                n: positive(
                    "split.n_events",
                    self.n_events.unwrap_or(1),
                    "at least 1 event held out per user",
                )?,
            },
            SplitKind::Temporal => SplitRule::Temporal {
                cutoff: self.cutoff.ok_or_else(|| {
                    config_error(
                        "split.cutoff",
                        "a Unix time in seconds for split.kind = \"temporal\"",
                        "nothing",
                    )
                })?,
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
            (true, SplitRule::Temporal { cutoff }) => {
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
                Some(SplitRule::Temporal { cutoff: v })
            }
            (true, other) => Some(other),
        };
        Ok(CheckedSplit { rule, validation })
    }
}

/// How one split divides a log into train and held-out events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SplitRule {
    /// Per user with ≥ 2 sessions: the last session is held out.
    LastSession,
    /// Train `< cutoff ≤` test, for all users at once.
    Temporal { cutoff: i64 },
    /// Per user with more than `n` events: the last `n` are held out.
    LastEvents { n: NonZeroU32 },
    /// Train and test come from two files ([`crate::split_test_file`]).
    TestFile,
}

impl std::fmt::Display for SplitRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SplitRule::LastSession => f.write_str("last session"),
            SplitRule::Temporal { cutoff } => write!(f, "temporal cutoff {cutoff}"),
            SplitRule::LastEvents { n } => write!(f, "last {n} events"),
            SplitRule::TestFile => f.write_str("test file"),
        }
    }
}

/// A valid split: the test rule and, optionally, the rule that carves validation
/// from train.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedSplit {
    rule: SplitRule,
    validation: Option<SplitRule>,
}

impl Default for CheckedSplit {
    fn default() -> Self {
        CheckedSplit {
            rule: SplitRule::LastSession,
            validation: None,
        }
    }
}

impl CheckedSplit {
    /// The rule that holds out the test events.
    pub fn rule(&self) -> SplitRule {
        self.rule
    }
    /// The rule applied to train to hold out validation events, if any.
    pub fn validation(&self) -> Option<SplitRule> {
        self.validation
    }
}
