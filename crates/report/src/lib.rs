//! The evaluator's [`Report`] for people: `report.md`, one self-contained `report.html`
//! (inline CSS and SVG charts, no scripts), and the terminal's table and answer at a
//! glance. Markdown and HTML are built from the same sections, so the two say the same.
//!
//! ```
//! use clickrec_report::Render;
//! # fn show(report: &clickrec_eval::Report) {
//! print!("{}", report.terminal_answer());
//! # }
//! ```

mod html;
mod markdown;
mod svg;
mod tables;
mod terminal;

use clickrec_eval::Report;

/// The renderings of a [`Report`].
pub trait Render {
    /// `report.md`.
    fn markdown(&self) -> String;
    /// `report.html`: one self-contained page (inline CSS and SVG, no scripts).
    fn html(&self) -> String;
    /// A table per model for the terminal: Recall, NDCG, HitRate and MRR at each K (in
    /// the headline variant) with intervals, then the headline comparisons.
    fn terminal_table(&self) -> String;
    /// The answer at a glance for the terminal: every model at the headline K, the best
    /// one marked with its margin over the best simple baseline, and the cold users.
    fn terminal_answer(&self) -> String;
}

impl Render for Report {
    fn markdown(&self) -> String {
        markdown::render(self)
    }

    fn html(&self) -> String {
        html::render(self)
    }

    fn terminal_table(&self) -> String {
        terminal::render(self)
    }

    fn terminal_answer(&self) -> String {
        terminal::answer(self)
    }
}

#[cfg(test)]
mod tests;
