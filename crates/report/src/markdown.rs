//! `report.md`.

use std::fmt::Write;

use crate::tables::{Section, Table, sections};
use clickrec_eval::Report;

/// Escapes a cell for a Markdown table: pipes, and line breaks as spaces; `<` and `&` so
/// that names are never read as HTML.
fn cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "*{}*\n", text(&t.caption));
    let header: Vec<String> = t.header.iter().map(|h| cell(h)).collect();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let rule: Vec<&str> = (0..t.header.len())
        .map(|i| if i < t.label_columns { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn section(out: &mut String, s: &Section) {
    let _ = writeln!(out, "## {}\n", text(&s.heading));
    for p in &s.paragraphs {
        let _ = writeln!(out, "{}\n", text(p));
    }
    if !s.bullets.is_empty() {
        for b in &s.bullets {
            let _ = writeln!(out, "- {}", text(b));
        }
        out.push('\n');
    }
    for t in &s.tables {
        table(out, t);
    }
}

pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    let names: Vec<&str> = report.models.iter().map(|m| m.name.as_str()).collect();
    let _ = writeln!(
        out,
        "# clickrec evaluation report{}\n",
        if names.is_empty() {
            String::new()
        } else {
            format!(": {}", text(&names.join(", ")))
        }
    );
    for s in sections(report) {
        section(&mut out, &s);
    }
    out
}
