//! Train/test splits with a leakage guard; see DESIGN.md, "Evaluation protocol".

mod algorithm;
mod compact;
mod config;
mod filters;
mod guard;

pub use algorithm::{
    CutParts, SplitError, SplitOutput, SplitPartReport, SplitReport, ValidationSplit,
    add_validation, split, split_from_cut, split_test_file,
};
pub use compact::{CompactItems, CompactItemsReport};
pub use config::{
    CheckedSplit, DEFAULT_TEST_FRACTION, SplitConfig, SplitKind, SplitRule, SplitSpec,
};
pub use filters::{FilterStepReport, TrainFilters};
pub use guard::{LeakageError, check_leakage};

#[cfg(test)]
mod tests;
