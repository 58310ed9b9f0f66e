//! Progress bars on stderr, drawn only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte or row counter shown as a bar; invisible when stderr is redirected.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// `unit` is "bytes" (shown with binary prefixes) or a word like "rows".
    pub fn new(message: &str, unit: &str) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        let counts = if unit == "bytes" {
            "{bytes}/{total_bytes} ({bytes_per_sec})".to_owned()
        } else {
            format!("{{human_pos}}/{{human_len}} {unit} ({{per_sec}})")
        };
        let template =
            format!("{{msg:12}} [{{elapsed_precise}}] {{wide_bar}} {counts} eta {{eta}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar.set_message(message.to_owned());
        Bar { bar }
    }

    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    pub fn set_position(&self, done: u64) {
        self.bar.set_position(done);
    }

    pub fn done(&self) {
        self.bar.finish_and_clear();
    }
}

impl clickrec_core::Progress for Bar {
    fn start(&self, total: u64) {
        self.set_total(total);
    }
    fn advance_to(&self, done: u64) {
        self.set_position(done);
    }
    fn finish(&self) {
        self.done();
    }
}
