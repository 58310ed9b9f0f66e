//! Train/test splits with a leakage guard; see DESIGN.md, "Evaluation protocol".

mod algorithm;
mod config;
mod guard;

pub use algorithm::{
    SplitError, SplitOutput, SplitPartReport, SplitReport, ValidationSplit, split, split_test_file,
};
pub use config::{CheckedSplit, SplitConfig, SplitKind, SplitRule};
pub use guard::{LeakageError, check_leakage};

#[cfg(test)]
mod tests;
