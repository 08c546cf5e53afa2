//! Width-aware text helpers for drawing: truncate with an ellipsis and pad to a column width.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` cut to at most `width` columns (ending in "…" when cut) and padded with spaces to exactly
/// `width` columns.
pub fn fit(text: &str, width: usize) -> String {
    let mut out = truncate(text, width);
    let w = out.width();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// `text` made inert (control characters and escapes become visible markers, newlines spaces)
/// and cut to at most `width` columns, ending in "…" when cut. Every cell the panes draw passes
/// through here, so text from a server can never reach the terminal as a control sequence.
pub fn truncate(text: &str, width: usize) -> String {
    let clean: std::borrow::Cow<'_, str> = if crate::domain::sanitize::is_inert_line(text) {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(crate::domain::sanitize::one_line(text))
    };
    let text = clean.as_ref();
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// Right-aligns `text` in `width` columns (cutting it if needed).
pub fn fit_right(text: &str, width: usize) -> String {
    let cut = truncate(text, width);
    let pad = width.saturating_sub(cut.width());
    format!("{}{cut}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_truncates_and_pads_by_display_width() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("日本語", 4), "日… ");
        assert_eq!(fit("x", 0), "");
        assert_eq!(fit_right("42", 4), "  42");
    }
}
