//! Column layouts of the supported click-log formats.

use clickrec_core::BehaviorMapping;
use serde::{Deserialize, Serialize};

/// Where a field sits in a row: by 0-based position or by header name (for JSON lines,
/// a key or a dotted path into nested objects, such as `event.item.id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnRef {
    Index(usize),
    Name(String),
}

impl std::fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnRef::Index(i) => write!(f, "column {i}"),
            ColumnRef::Name(n) => write!(f, "column {n:?}"),
        }
    }
}

impl std::str::FromStr for ColumnRef {
    type Err = std::convert::Infallible;
    /// A plain number is a position, anything else a header name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.parse::<usize>() {
            Ok(i) => ColumnRef::Index(i),
            Err(_) => ColumnRef::Name(s.to_owned()),
        })
    }
}

/// Which fields hold the user and/or session, item, and optionally time, behaviour,
/// category and weight.
///
/// A log names its users, its sessions, or both (at least one):
/// - user only: sessions come later from the inactivity gap (`[prep.session]`);
/// - session only: every session is its own user, so per-user steps see one session each;
/// - both: the given sessions are kept through preprocessing, and the user links them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub user: Option<ColumnRef>,
    pub session: Option<ColumnRef>,
    pub item: ColumnRef,
    /// Without a time column (baskets, play counts) every event has time 0 and keeps its
    /// file order: such a log can only be split at random (`[split] kind = "random"`).
    pub time: Option<ColumnRef>,
    /// Without a behaviour column every event is a page view.
    pub behavior: Option<ColumnRef>,
    /// Without a category column every item is in one category with the external id `""`.
    pub category: Option<ColumnRef>,
    /// A positive number per event (a play count, a rating) that multiplies its
    /// behaviour's weight; without it every event weighs 1.
    #[serde(default)]
    pub weight: Option<ColumnRef>,
}

impl ColumnMapping {
    /// Every mapped column with its config key, in mapping order.
    pub fn mapped(&self) -> impl Iterator<Item = (&'static str, &ColumnRef)> {
        [
            ("user_col", self.user.as_ref()),
            ("session_col", self.session.as_ref()),
            ("item_col", Some(&self.item)),
            ("time_col", self.time.as_ref()),
            ("behavior_col", self.behavior.as_ref()),
            ("category_col", self.category.as_ref()),
            ("weight_col", self.weight.as_ref()),
        ]
        .into_iter()
        .filter_map(|(key, column)| column.map(|c| (key, c)))
    }
}

/// How timestamps are written.
///
/// Times are stored as whole Unix seconds (rounded down). A fractional part (or the
/// milliseconds of `UnixMillis`) is not lost for ordering: events of one user within the
/// same second are sorted by it, and events with equal times keep their file order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeFormat {
    /// Unix seconds, optionally with a decimal fraction (`1396437466.94`).
    UnixSeconds,
    /// Unix milliseconds, optionally with a decimal fraction.
    UnixMillis,
    /// A chrono/strftime pattern such as `%Y-%m-%d %H:%M:%S`, read in the layout's UTC offset.
    /// A pattern without minutes (`%Y-%m-%d %H`) or without a time of day is accepted.
    Strftime(String),
}

impl std::str::FromStr for TimeFormat {
    type Err = std::convert::Infallible;
    /// `unix-s`, `unix-ms`, or a strftime pattern.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "unix-s" | "unix" | "s" => TimeFormat::UnixSeconds,
            "unix-ms" | "ms" => TimeFormat::UnixMillis,
            other => TimeFormat::Strftime(other.to_owned()),
        })
    }
}

/// What makes an id valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdRule {
    /// Non-negative decimal integers (Taobao, RetailRocket).
    Integer,
    /// Any non-empty text.
    Text,
}

/// Everything needed to turn rows of one source into events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub columns: ColumnMapping,
    pub time: TimeFormat,
    /// Offset from UTC, in seconds, of times written without a zone (strftime patterns).
    pub utc_offset_s: i32,
    pub ids: IdRule,
    /// Raw behaviour values and what they mean (unused without a behaviour column).
    pub behaviors: BehaviorMapping,
    /// Field delimiter of text input.
    pub delimiter: u8,
    /// Whether the first line of text input names the columns.
    pub has_header: bool,
    /// Field names of a headerless format; their number is the expected field count.
    /// Without them (and without a header) the first line sets the field count.
    pub field_names: Option<Vec<String>>,
    /// Field values that mean "missing" (e.g. `NA`): a missing user with a session makes
    /// the session its own user, a missing category is the `""` category, and any other
    /// missing required value is a bad row.
    #[serde(default)]
    pub null_values: Vec<String>,
}

/// The click-log formats clickrec reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogFormat {
    /// Taobao UserBehavior: no header, `user_id,item_id,category_id,behavior_type,timestamp`,
    /// behaviours `pv|fav|cart|buy`, Unix seconds, integer ids.
    Taobao,
    /// RetailRocket `events.csv`: header `timestamp,visitorid,event,itemid,transactionid`,
    /// milliseconds, events `view|addtocart|transaction`, no category.
    RetailRocket,
    /// Session files as session-rec and GRU4Rec-style preprocessing write them: header
    /// `SessionId<TAB>ItemId<TAB>Time`, Unix seconds with a fraction, no user (every
    /// session is its own user), no behaviour (every event is a view), no category.
    Sessions,
    /// Any delimited text file (optionally `.gz`) with an explicit layout.
    Csv(Layout),
    /// A Parquet file with an explicit layout (delimiter and header are ignored).
    Parquet(Layout),
    /// JSON lines (optionally `.gz`): one object per line, columns named by key or dotted
    /// path; a JSON `null` or a missing key reads as an empty value.
    Jsonl(Layout),
}

impl LogFormat {
    /// The layout rows are read with.
    pub fn layout(&self) -> Layout {
        match self {
            LogFormat::Taobao => Layout {
                columns: ColumnMapping {
                    user: Some(ColumnRef::Index(0)),
                    session: None,
                    item: ColumnRef::Index(1),
                    category: Some(ColumnRef::Index(2)),
                    behavior: Some(ColumnRef::Index(3)),
                    time: Some(ColumnRef::Index(4)),
                    weight: None,
                },
                time: TimeFormat::UnixSeconds,
                utc_offset_s: 0,
                ids: IdRule::Integer,
                behaviors: BehaviorMapping::taobao(),
                delimiter: b',',
                has_header: false,
                field_names: Some(
                    [
                        "user_id",
                        "item_id",
                        "category_id",
                        "behavior_type",
                        "timestamp",
                    ]
                    .map(String::from)
                    .to_vec(),
                ),
                null_values: Vec::new(),
            },
            LogFormat::RetailRocket => Layout {
                columns: ColumnMapping {
                    user: Some(ColumnRef::Name("visitorid".into())),
                    session: None,
                    item: ColumnRef::Name("itemid".into()),
                    category: None,
                    behavior: Some(ColumnRef::Name("event".into())),
                    time: Some(ColumnRef::Name("timestamp".into())),
                    weight: None,
                },
                time: TimeFormat::UnixMillis,
                utc_offset_s: 0,
                ids: IdRule::Integer,
                behaviors: BehaviorMapping::retailrocket(),
                delimiter: b',',
                has_header: true,
                field_names: None,
                null_values: Vec::new(),
            },
            LogFormat::Sessions => Layout {
                columns: ColumnMapping {
                    user: None,
                    session: Some(ColumnRef::Name("SessionId".into())),
                    item: ColumnRef::Name("ItemId".into()),
                    category: None,
                    behavior: None,
                    time: Some(ColumnRef::Name("Time".into())),
                    weight: None,
                },
                time: TimeFormat::UnixSeconds,
                utc_offset_s: 0,
                ids: IdRule::Text,
                behaviors: BehaviorMapping::taobao(),
                delimiter: b'\t',
                has_header: true,
                field_names: None,
                null_values: Vec::new(),
            },
            LogFormat::Csv(layout) | LogFormat::Parquet(layout) | LogFormat::Jsonl(layout) => {
                layout.clone()
            }
        }
    }

    /// The format's name as used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            LogFormat::Taobao => "taobao",
            LogFormat::RetailRocket => "retailrocket",
            LogFormat::Sessions => "sessions",
            LogFormat::Csv(_) => "csv",
            LogFormat::Parquet(_) => "parquet",
            LogFormat::Jsonl(_) => "jsonl",
        }
    }
}
