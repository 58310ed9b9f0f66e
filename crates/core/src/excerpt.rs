//! Values quoted in error messages, cut to a readable length: a bad row can hold a
//! 100,000-digit id, and the message should still fit on a screen.

use std::fmt;

/// Characters of a value shown in a message before it is cut.
pub const EXCERPT_CHARS: usize = 200;

/// Displays a value as a quoted string (like `{:?}`), cut after [`EXCERPT_CHARS`]
/// characters with the full length stated: `"1234…" (100000 characters)`.
#[derive(Clone, Copy, Debug)]
pub struct Excerpt<'a>(pub &'a str);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(EXCERPT_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(
                f,
                "{:?}… ({} characters)",
                &self.0[..cut],
                self.0.chars().count()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole_and_long_ones_cut_with_their_length() {
        assert_eq!(Excerpt("a\"b").to_string(), r#""a\"b""#);
        let long = "9".repeat(100_000);
        let shown = Excerpt(&long).to_string();
        assert!(shown.len() < 260, "{}", shown.len());
        assert!(shown.ends_with("… (100000 characters)"), "{shown}");
        assert!(shown.starts_with(&format!("\"{}\"", "9".repeat(EXCERPT_CHARS))));
        let exactly = "x".repeat(EXCERPT_CHARS);
        assert_eq!(Excerpt(&exactly).to_string(), format!("{exactly:?}"));
    }
}
