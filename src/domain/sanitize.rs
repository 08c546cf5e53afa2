//! Makes untrusted text inert before it is stored or shown: control characters, escape sequences,
//! bidi overrides and zero-width characters become visible markers, tabs become spaces and very
//! long lines are cut with a marker. Used for every string that comes from outside.

use std::borrow::Cow;

/// Longest line kept, in bytes; the rest is replaced by a marker saying how much was cut.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
const TAB_WIDTH: usize = 8;

/// Returns `input` unchanged when it is already safe (the common case), else a cleaned copy.
pub fn sanitize(input: &str) -> Cow<'_, str> {
    if input.len() <= MAX_LINE_BYTES && input.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len().min(MAX_LINE_BYTES) + 16);
    let mut column = 0usize;
    for (index, ch) in input.char_indices() {
        if out.len() >= MAX_LINE_BYTES {
            out.push_str(&format!("…[+{} bytes]", input.len() - index));
            break;
        }
        match ch {
            '\t' => {
                let spaces = TAB_WIDTH - column % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
                continue;
            }
            // C0 controls and DEL: the Unicode "control pictures" block shows them as one glyph.
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + ch as u32).unwrap_or('�')),
            '\u{7f}' => out.push('␡'),
            // C1 controls (CSI, OSC, DCS... in their 8-bit form), bidi controls, zero-width
            // characters and the BOM are shown by code point.
            '\u{80}'..='\u{9f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061c}'
            | '\u{feff}' => out.push_str(&format!("<U+{:04X}>", ch as u32)),
            _ => out.push(ch),
        }
        column += 1;
    }
    Cow::Owned(out)
}

/// Whether `input` is already inert on one line: nothing `sanitize` or `one_line` would change.
pub fn is_inert_line(input: &str) -> bool {
    input.len() <= MAX_LINE_BYTES
        && !input.chars().any(|ch| {
            matches!(ch,
                '\u{0}'..='\u{1f}'
                | '\u{7f}'..='\u{9f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{061c}'
                | '\u{feff}')
        })
}

/// Sanitises and also flattens newlines, for one-line fields (labels, summaries, titles).
pub fn one_line(input: &str) -> String {
    sanitize(input).replace(['␊', '␍'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inert_lines_are_recognised() {
        assert!(is_inert_line("● FIRING ◆ PAGE 日本"));
        for bad in [
            "a\x1b[2J",
            "tab\there",
            "line\nbreak",
            "\u{202e}rtl",
            "\u{9b}csi",
            "zw\u{200b}",
        ] {
            assert!(!is_inert_line(bad), "{bad:?}");
            assert_ne!(one_line(bad), bad);
        }
    }

    #[test]
    fn plain_ascii_is_borrowed() {
        assert!(matches!(sanitize("GET /api 200"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_become_visible_and_inert() {
        let hostile = "ok\x1b[2J\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x1b\\done";
        let clean = sanitize(hostile);
        assert!(!clean.contains('\x1b'));
        assert!(!clean.contains('\x07'));
        assert_eq!(clean, "ok␛[2J␛]0;owned␇␛]52;c;ZXZpbA==␛\\done");
    }

    #[test]
    fn c1_bidi_and_zero_width_are_marked() {
        assert_eq!(sanitize("a\u{9b}31mb"), "a<U+009B>31mb");
        assert_eq!(sanitize("user\u{202e}gnp.exe"), "user<U+202E>gnp.exe");
        assert_eq!(sanitize("ad\u{200b}min"), "ad<U+200B>min");
    }

    #[test]
    fn tabs_expand_to_tab_stops_and_long_lines_are_cut() {
        assert_eq!(sanitize("a\tb"), "a       b");
        let long = "x".repeat(MAX_LINE_BYTES + 100);
        let cut = sanitize(&long);
        assert!(cut.ends_with("…[+100 bytes]"), "{}", &cut[cut.len() - 20..]);
    }

    #[test]
    fn one_line_flattens_newlines() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
