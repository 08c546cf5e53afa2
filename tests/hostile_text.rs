//! Hostile text never reaches the terminal as a control: property tests of the sanitiser, and a
//! corpus of several hundred hostile log lines (and alert labels) fed through the app and drawn
//! through a real crossterm backend at 80x24 and 200x50, whose every written byte is checked.

mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use chrono::Duration;
use proptest::prelude::*;
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use support::*;
use unicode_width::UnicodeWidthStr;
use warroom::app::msg::{AlertSet, Msg, SourceData, SourceKind, SourceUpdate};
use warroom::app::state::AppState;
use warroom::app::update::update;
use warroom::domain::alert::{Alert, AlertState};
use warroom::domain::log::LogLine;
use warroom::domain::sanitize::{MAX_LINE_BYTES, is_inert_line, one_line, sanitize};

// ---------------------------------------------------------------------------------------------
// What may never be shown
// ---------------------------------------------------------------------------------------------

/// Characters that must never reach a cell or the terminal: C0, DEL, C1, bidi controls, zero-width
/// and other invisible format characters, line and paragraph separators.
fn forbidden(ch: char) -> bool {
    matches!(ch,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{3164}' | '\u{ffa0}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}')
}

fn first_forbidden(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|&(_, c)| forbidden(c))
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

/// Characters with a bias towards the ones that matter: controls, introducers, C1, bidi,
/// zero-width, combining marks, tags, wide characters.
fn spicy_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        4 => proptest::char::range(' ', '~'),
        2 => proptest::char::range('\0', '\x1f'),
        2 => Just('\x1b'),
        2 => proptest::char::range('\u{80}', '\u{9f}'),
        3 => proptest::sample::select(vec![
            '[', ']', 'P', 'X', '^', '_', '\\', ';', '?', 'm', '0', '5', '2', '\x07', '\x7f', '\t', '\n',
            '\r', '\u{202e}', '\u{2066}', '\u{200b}', '\u{200d}', '\u{feff}', '\u{ad}', '\u{2028}',
            '\u{301}', '\u{e0041}', '\u{e007f}', '\u{1f3f4}', '日', '🚀', '⟪', '⟫', '␛', '…',
        ]),
    ]
}

fn spicy_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(spicy_char(), 0..300).prop_map(|v| v.into_iter().collect())
}

/// Text that is often inert: printable ASCII, wide and combining characters, flags with tags,
/// and the characters the markers are made of.
fn mostly_safe_text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        8 => proptest::char::range(' ', '~'),
        1 => proptest::sample::select(vec![
            '日', '🚀', 'é', '\u{301}', '\u{1f3f4}', '\u{e0067}', '\u{e007f}', '⟪', '⟫', '␛', '…', '\u{fe0f}',
        ]),
        1 => Just('\u{301}'),
    ];
    proptest::collection::vec(ch, 0..200).prop_map(|v| v.into_iter().collect())
}

/// One complete escape sequence (7-bit or 8-bit), which must end where ECMA-48 says it ends.
fn complete_sequence() -> impl Strategy<Value = String> {
    let st = proptest::sample::select(vec!["\x07", "\x1b\\", "\u{9c}"]);
    let string_intro = proptest::sample::select(vec![
        "\x1b]", "\x1bP", "\x1bX", "\x1b^", "\x1b_", "\u{9d}", "\u{90}", "\u{98}", "\u{9e}", "\u{9f}",
    ]);
    prop_oneof![
        ("[0-9;?>=<]{0,20}", "[ -/]{0,2}", "[@-~]").prop_map(|(p, i, f)| format!("\x1b[{p}{i}{f}")),
        ("[0-9;]{0,20}", "[@-~]").prop_map(|(p, f)| format!("\u{9b}{p}{f}")),
        ("[0-9;:]{0,20}").prop_map(|p| format!("\x1b[{p}m")),
        (string_intro, 0u32..2000, "[ -~&&[^\\x1b]]{0,40}", st)
            .prop_map(|(intro, n, payload, st)| format!("{intro}{n};{payload}{st}")),
        "[0-~&&[^\\[\\]PX^_]]".prop_map(|f| format!("\x1b{f}")),
        ("[ -/]{1,3}", "[0-~]").prop_map(|(i, f)| format!("\x1b{i}{f}")),
    ]
}

/// Any fragment: a complete sequence, a broken one, plain or wide text, a single nasty character.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => complete_sequence(),
        2 => "[ -~]{0,16}",
        1 => "[\\x00-\\x1f\\x7f-\\u{9f}]{1,3}",
        1 => proptest::sample::select(vec![
            "\x1b", "\x1b[", "\x1b[12;", "\x1b]0;", "\x1b]52;c;", "\x1bP$q", "\u{9b}", "\u{9d}8;;",
            "\x18", "\x1a", "\u{9c}", "\x1b\\", "\t", "\r\n",
        ]).prop_map(str::to_string),
        1 => "[\u{202a}-\u{202e}\u{2066}-\u{2069}\u{200b}-\u{200f}\u{2060}\u{feff}]{1,3}",
        1 => "[日本語🚀é]{1,4}",
    ]
}

fn grammar_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
}

/// Long lines: one fragment repeated past the line limit.
fn long_text() -> impl Strategy<Value = String> {
    (fragment(), 1usize..40_000).prop_map(|(f, n)| {
        let n = n.min(3 * MAX_LINE_BYTES / f.len().max(1));
        f.repeat(n.max(1))
    })
}

/// Cases per property: `default`, or `PROPTEST_CASES` for a deeper run (e.g. 10000 in release).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Everything the output of `sanitize` or `one_line` must satisfy, as an error message.
fn check_output(input: &str, out: &str) -> Result<(), String> {
    if let Some((at, c)) = first_forbidden(out) {
        return Err(format!(
            "forbidden U+{:04X} at byte {at} in {out:?} (from {input:?})",
            u32::from(c)
        ));
    }
    if out.len() > MAX_LINE_BYTES {
        return Err(format!("{} bytes out of {}", out.len(), input.len()));
    }
    if !is_inert_line(out) {
        return Err(format!("output not inert: {out:?}"));
    }
    if sanitize(out) != out || one_line(out) != out {
        return Err(format!("not idempotent: {out:?} → {:?}", sanitize(out)));
    }
    Ok(())
}

fn check_all(input: &str) -> Result<(), TestCaseError> {
    let out = sanitize(input);
    check_output(input, &out).map_err(TestCaseError::fail)?;
    check_output(input, &one_line(input)).map_err(TestCaseError::fail)?;
    // is_inert_line agrees with sanitize both ways: inert exactly when nothing changes.
    prop_assert_eq!(is_inert_line(input), out == input, "input {:?} → {:?}", input, out);
    if is_inert_line(input) {
        prop_assert!(matches!(out, std::borrow::Cow::Borrowed(_)));
        prop_assert_eq!(one_line(input), input);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(2_000)))]

    #[test]
    fn arbitrary_text_comes_out_inert_bounded_and_idempotent(input in spicy_text()) {
        check_all(&input)?;
    }

    #[test]
    fn text_built_from_escape_fragments_comes_out_inert(input in grammar_text()) {
        check_all(&input)?;
    }

    #[test]
    fn inert_lines_come_back_unchanged_and_borrowed(input in mostly_safe_text()) {
        check_all(&input)?;
    }

    #[test]
    fn printable_ascii_is_borrowed_unchanged(input in "[ -~]{0,400}") {
        prop_assert!(matches!(sanitize(&input), std::borrow::Cow::Borrowed(s) if s == input));
    }

    /// Plain text between complete sequences is never swallowed: every piece shows, in order.
    #[test]
    fn text_between_complete_sequences_survives(
        parts in proptest::collection::vec(("[a-zA-Z0-9 ,.]{1,12}", complete_sequence()), 1..12)
    ) {
        let input: String = parts.iter().map(|(text, seq)| format!("{seq}{text}")).collect();
        let out = sanitize(&input);
        let mut from = 0;
        for (text, _) in &parts {
            let found = out[from..].find(text.as_str());
            prop_assert!(found.is_some(), "{:?} lost from {:?} → {:?}", text, input, out);
            from += found.unwrap_or(0) + text.len();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(200)))]

    #[test]
    fn long_lines_are_cut_inside_the_limit(input in long_text()) {
        check_all(&input)?;
    }
}

// ---------------------------------------------------------------------------------------------
// The hostile corpus
// ---------------------------------------------------------------------------------------------

/// One hostile fragment: a name, the raw text, and what must be visible on screen for it.
struct Fragment {
    name: String,
    raw: String,
    /// Shown on screen (at 200 columns) when the fragment is drawn; empty when there is nothing
    /// stable to look for.
    shown: String,
    /// The fragment must end the line (it is unterminated or huge).
    tail: bool,
}

fn frag(name: impl Into<String>, raw: impl Into<String>, shown: impl Into<String>) -> Fragment {
    Fragment {
        name: name.into(),
        raw: raw.into(),
        shown: shown.into(),
        tail: false,
    }
}

fn tail(name: impl Into<String>, raw: impl Into<String>, shown: impl Into<String>) -> Fragment {
    Fragment {
        tail: true,
        ..frag(name, raw, shown)
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fragments() -> Vec<Fragment> {
    let mut out = vec![
        // Window and icon titles (OSC 0/1/2), 7-bit and 8-bit, BEL and ST terminated.
        frag("title bel", "\x1b]0;pwned\x07", "⟪OSC 0 title 5B⟫"),
        frag("title st", "\x1b]0;pwned\x1b\\", "⟪OSC 0 title 5B⟫"),
        frag("icon", "\x1b]1;icon\x07", "⟪OSC 1 icon title 4B⟫"),
        frag("title 2", "\x1b]2;rm -rf /\x07", "⟪OSC 2 title 8B⟫"),
        frag("title 8-bit", "\u{9d}2;x\u{9c}", "⟪OSC 2 title 1B⟫"),
        frag("title 8-bit bel", "\u{9d}0;x\x07", "⟪OSC 0 title 1B⟫"),
        frag(
            "title report file name",
            "report\x1b]0;pwned\x07.txt",
            "report⟪OSC 0 title 5B⟫.txt",
        ),
        // Clipboard (OSC 52): set, query, primary selection.
        frag("clipboard set", "\x1b]52;c;cm0gLXJmIC8K\x07", "⟪OSC 52 clipboard 14B⟫"),
        frag("clipboard query", "\x1b]52;c;?\x07", "⟪OSC 52 clipboard query⟫"),
        frag(
            "clipboard primary",
            "\x1b]52;p;ZWNobyBoaQ==\x1b\\",
            "⟪OSC 52 clipboard 14B⟫",
        ),
        frag("clipboard 8-bit", "\u{9d}52;c;ZXZpbA==\u{9c}", "⟪OSC 52 clipboard 10B⟫"),
        // Hyperlinks (OSC 8).
        frag(
            "hyperlink",
            "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
            "⟪OSC 8 link https://evil.example/⟫click⟪OSC 8 link end⟫",
        ),
        frag(
            "hyperlink with id",
            "\x1b]8;id=42;https://bank.example.evil/login\x07bank\x1b]8;;\x07",
            "⟪OSC 8 link https://bank.example.evil/login⟫bank",
        ),
        frag(
            "less -R PoC",
            "\x1b]8;;\x1b0m\x1b[>0q",
            "⟪OSC 8 link end…⟫⟪ESC 0⟫m⟪CSI >0q⟫",
        ),
        // Colour queries and settings, fonts, notifications, iTerm2, cwd.
        frag("colour query", "\x1b]4;1;?\x07", "⟪OSC 4 colour query⟫"),
        frag("fg query", "\x1b]10;?\x07", "⟪OSC 10 fg colour query⟫"),
        frag("bg query", "\x1b]11;?\x1b\\", "⟪OSC 11 bg colour query⟫"),
        frag("cursor colour", "\x1b]12;#ff0000\x07", "⟪OSC 12 cursor colour 7B⟫"),
        frag("palette reset", "\x1b]104\x07", "⟪OSC 104 colour reset 0B⟫"),
        frag("font query", "\x1b]50;?\x07", "⟪OSC 50 font query⟫"),
        frag("font set", "\x1b]50;-*-fixed-*\x07", "⟪OSC 50 font 10B⟫"),
        frag("ConEmu run", "\x1b]9;7;calc.exe\x07", "⟪OSC 9 notify 10B⟫"),
        frag("notify", "\x1b]777;notify;hi;there\x07", "⟪OSC 777 notify 15B⟫"),
        frag(
            "iTerm2 file",
            "\x1b]1337;File=inline=1:AAAA\x07",
            "⟪OSC 1337 iTerm2 18B⟫",
        ),
        frag("cwd", "\x1b]7;file://host/etc\x07", "⟪OSC 7 cwd 15B⟫"),
        frag("shell mark", "\x1b]133;A\x07", "⟪OSC 133 shell mark 1B⟫"),
        frag("osc no number", "\x1b]l title\x07", "⟪OSC 7B⟫"),
        frag("osc cancelled by CAN", "\x1b]0;abc\x18def", "⟪OSC 0 title 3B…⟫␘def"),
        frag("osc cancelled by SUB", "\x1b]0;abc\x1adef", "⟪OSC 0 title 3B…⟫␚def"),
        frag(
            "osc broken by CSI",
            "\x1b]0;a\x1b[2Jb\x07",
            "⟪OSC 0 title 1B…⟫⟪CSI 2J⟫b␇",
        ),
        tail("osc unterminated", "\x1b]0;never ends", "⟪OSC…⟫0;never ends"),
        tail("osc 8-bit unterminated", "\u{9d}52;c;AAAA", "⟪OSC…⟫52;c;AAAA"),
        // DCS: DECRQSS, XTGETTCAP, sixel, tmux passthrough, unterminated.
        frag("DECRQSS SGR", "\x1bP$qm\x1b\\", "⟪DCS DECRQSS 3B⟫"),
        frag("DECRQSS margins", "\x1bP$qr\x1b\\", "⟪DCS DECRQSS 3B⟫"),
        frag("DECRQSS 8-bit", "\u{90}$qm\u{9c}", "⟪DCS DECRQSS 3B⟫"),
        frag("XTGETTCAP", "\x1bP+q544e\x1b\\", "⟪DCS XTGETTCAP 6B⟫"),
        frag("sixel", "\x1bPq#0;2;0;0;0#0~~@@vv@@~~\x1b\\", "⟪DCS sixel 23B⟫"),
        frag(
            "tmux passthrough",
            "\x1bPtmux;\x1b\x1b]52;c;AAAA\x07\x1b\\",
            "⟪DCS tmux 5B…⟫␛⟪OSC 52 clipboard 6B⟫⟪ESC \\⟫",
        ),
        frag("DECUDK", "\x1bP1;1|17/6563686f\x1b\\", "⟪DCS 15B⟫"),
        tail("DCS unterminated", "\x1bP1;2|17/ab", "⟪DCS…⟫1;2|17/ab"),
        // APC (kitty graphics), PM, SOS.
        frag(
            "kitty graphics",
            "\x1b_Gf=100,a=T;iVBORw0KGgo=\x1b\\",
            "⟪APC kitty graphics 23B⟫",
        ),
        frag("kitty graphics 8-bit", "\u{9f}Ga=d\u{9c}", "⟪APC kitty graphics 4B⟫"),
        frag("apc", "\x1b_hello\x1b\\", "⟪APC 5B⟫"),
        frag("pm", "\x1b^private\x1b\\", "⟪PM 7B⟫"),
        frag("pm 8-bit", "\u{9e}x\u{9c}", "⟪PM 1B⟫"),
        frag("sos", "\x1bXstart of string\x1b\\", "⟪SOS 15B⟫"),
        frag("sos 8-bit", "\u{98}s\u{9c}", "⟪SOS 1B⟫"),
        tail("apc unterminated", "\x1b_Gq=2;", "⟪APC…⟫Gq=2;"),
        // Colours (SGR) are dropped, their text kept.
        frag("sgr red", "[\x1b[31mERROR\x1b[0m]", "[ERROR]"),
        frag("sgr 256", "<\x1b[1;4;38;5;196mhot\x1b[m>", "<hot>"),
        frag("sgr truecolor colon", "(\x1b[38:2::255:0:0mrgb\x1b[39m)", "(rgb)"),
        frag("sgr 8-bit", "{\u{9b}7minverse\u{9b}27m}", "{inverse}"),
        frag(
            "kubectl colours",
            "\x1b[32mRunning\x1b[0m \x1b[33m2 restarts\x1b[0m",
            "Running 2 restarts",
        ),
        // Overwrite and spoofing tricks.
        frag(
            "forged success",
            "\x1b[1A\x1b[2K\r[\x1b[32mOK\x1b[0m] Authentication success",
            "⟪CSI 1A⟫⟪CSI 2K⟫␍[OK] Authentication success",
        ),
        frag("backspace overwrite", "adm\x08\x08\x08usr", "adm␈␈␈usr"),
        frag("carriage return overwrite", "rm -rf /\rls -la   ", "rm -rf /␍ls -la"),
        frag("bell flood", "\x07\x07\x07\x07", "␇␇␇␇"),
        frag("nul", "a\0b", "a␀b"),
        frag("esc esc", "\x1b\x1b[2J", "␛⟪CSI 2J⟫"),
        frag("xtversion", "\x1b[>0q", "⟪CSI >0q⟫"),
        tail("esc at end", "\x1b", "␛"),
        tail("csi at end", "\x1b[", "⟪CSI…⟫"),
        tail("csi params at end", "\x1b[12;", "⟪CSI 12;…⟫"),
        tail("8-bit csi at end", "\u{9b}", "⟪CSI…⟫"),
        frag("overlong csi", format!("\x1b[{}H", "1;".repeat(200)), "⟪CSI…⟫1;1;1;1;"),
        // Bidi and invisible characters.
        frag(
            "trojan source",
            "access != \"user\u{202e} \u{2066}// admin\u{2069} \u{2066}\"",
            "⟪RLO⟫ ⟪LRI⟫// admin⟪PDI⟫",
        ),
        frag("rlo file name", "invoice\u{202e}fdp.exe", "invoice⟪RLO⟫fdp.exe"),
        frag("zero-width user", "ad\u{200b}min", "ad⟪ZWSP⟫min"),
        frag("zwj title", "ad\u{200d}min\x1b]0;ok\x07", "ad⟪ZWJ⟫min⟪OSC 0 title 2B⟫"),
        frag("bom", "\u{feff}start", "⟪BOM⟫start"),
        frag("soft hyphen", "pass\u{ad}word", "pass⟪SHY⟫word"),
        frag("line separator", "one\u{2028}two\u{2029}three", "one⟪LS⟫two⟪PS⟫three"),
        frag(
            "interlinear",
            "\u{fff9}a\u{fffa}b\u{fffb}",
            "⟪U+FFF9⟫a⟪U+FFFA⟫b⟪U+FFFB⟫",
        ),
        frag(
            "hangul fillers",
            "x\u{3164}\u{115f}\u{1160}\u{ffa0}y",
            "x⟪U+3164⟫⟪U+115F⟫⟪U+1160⟫⟪U+FFA0⟫y",
        ),
        frag(
            "tag smuggling",
            "hi\u{e0069}\u{e0067}\u{e006e}",
            "hi⟪U+E0069⟫⟪U+E0067⟫⟪U+E006E⟫",
        ),
        frag("emoji zwj family", "👨\u{200d}👩\u{200d}👧", "👨⟪ZWJ⟫👩⟪ZWJ⟫👧"),
        frag(
            "zalgo",
            format!("Z{}!", "\u{336}".repeat(10_000)),
            format!("⟪+{} marks⟫!", 10_000 - 16),
        ),
        // Wide characters around sequences, at odd offsets.
        frag("cjk around csi", "x日本語🚀\x1b[2J中", "x日本語🚀⟪CSI 2J⟫中"),
        frag("emoji then osc", "🔥\x1b]0;t\x07🔥", "🔥⟪OSC 0 title 1B⟫🔥"),
        // Tab stops depend on where the fragment lands in the line: nothing fixed to look for.
        frag("tabs", "a\tb\t\tc", ""),
        // Invalid UTF-8 repaired by from_utf8_lossy.
        frag("raw 8-bit csi byte", lossy(b"\x9b2J"), "\u{fffd}2J"),
        frag("raw 8-bit osc byte", lossy(b"\x9d0;x\x07"), "\u{fffd}0;x␇"),
        frag("overlong slash", lossy(b"a\xc0\xafb"), "a\u{fffd}\u{fffd}b"),
        frag("surrogate", lossy(b"a\xed\xa0\x80b"), "a\u{fffd}"),
        frag("truncated", lossy(b"a\xe2\x80b"), "a\u{fffd}b"),
        frag("ff before osc", lossy(b"\xff\x1b]0;x\x07"), "\u{fffd}⟪OSC 0 title 1B⟫"),
        frag(
            "lone c2 before esc",
            lossy(b"\xc2\x1b]0;t\x07"),
            "\u{fffd}⟪OSC 0 title 1B⟫",
        ),
        // Huge lines.
        tail(
            "huge unterminated osc 52",
            format!("\x1b]52;c;{}", "QUFB".repeat(256 * 1024)),
            "⟪OSC…⟫52;c;QUFB",
        ),
        tail(
            "unterminated osc then a megabyte",
            format!("\x1b]0;{}", "x".repeat(1 << 20)),
            "⟪OSC…⟫0;xxxx",
        ),
        tail("megabyte of text", "y".repeat(1 << 20), "yyyy"),
        tail("many csi", "\x1b[2J".repeat(100_000), "⟪CSI 2J⟫⟪CSI 2J⟫"),
        tail("many bells", "\x07".repeat(100_000), "␇␇␇␇"),
    ];
    // Every CSI a log line could use to move, erase, scroll, query or switch modes.
    for seq in [
        "2J",
        "3J",
        "J",
        "H",
        "1;1H",
        "10;20H",
        "1A",
        "2B",
        "3C",
        "4D",
        "2K",
        "K",
        "5;10r",
        "r",
        "6n",
        "5n",
        "c",
        ">c",
        "=c",
        "21t",
        "20t",
        "14t",
        "8;100;200t",
        "?1049h",
        "?1049l",
        "?1000h",
        "?1002h",
        "?1003h",
        "?1006h",
        "?2004h",
        "?25l",
        "?47h",
        "?1h",
        "4h",
        "s",
        "u",
        "S",
        "T",
        "L",
        "M",
        "@",
        "P",
        "X",
        "3g",
        "!p",
        "0\"q",
        "2 q",
        "?5h",
        "?3h",
        "12;24;0;0;80$x",
    ] {
        out.push(frag(
            format!("csi {seq}"),
            format!("\x1b[{seq}"),
            format!("⟪CSI {seq}⟫"),
        ));
    }
    for seq in ["2J", "6n", "?1049h", "1A"] {
        out.push(frag(
            format!("8-bit csi {seq}"),
            format!("\u{9b}{seq}"),
            format!("⟪CSI {seq}⟫"),
        ));
    }
    // Two-byte and nF escape sequences.
    for (seq, shown) in [
        ("c", "c"),
        ("7", "7"),
        ("8", "8"),
        ("D", "D"),
        ("E", "E"),
        ("M", "M"),
        ("H", "H"),
        ("=", "="),
        (">", ">"),
        ("N", "N"),
        ("O", "O"),
        ("\\", "\\"),
        ("(0", "( 0"),
        ("(B", "( B"),
        (")0", ") 0"),
        ("#8", "# 8"),
        ("%G", "% G"),
        (" F", "SP F"),
    ] {
        out.push(frag(
            format!("esc {seq}"),
            format!("\x1b{seq}z"),
            format!("⟪ESC {shown}⟫z"),
        ));
    }
    // Each C0 control (ESC has its own cases; tab expands), DEL, and each C1 control.
    for b in (0u8..0x20).chain([0x7f]) {
        let c = char::from(b);
        if c == '\x1b' || c == '\t' {
            continue;
        }
        let picture = if b == 0x7f {
            '␡'
        } else {
            char::from_u32(0x2400 + u32::from(b)).unwrap_or('�')
        };
        out.push(frag(format!("c0 {b:#04x}"), format!("a{c}b"), format!("a{picture}b")));
    }
    for cp in 0x80u32..0xa0 {
        let c = char::from_u32(cp).unwrap_or('\u{80}');
        let shown = match cp {
            // Introducers: the next bytes become part of the sequence.
            0x90 | 0x98 | 0x9b | 0x9d | 0x9e | 0x9f => "⟪".to_string(),
            _ => format!("a⟪U+{cp:04X}⟫b"),
        };
        out.push(frag(format!("c1 {cp:#04x}"), format!("a{c}b"), shown));
    }
    // Every bidi control and zero-width character by name.
    for (c, name) in [
        ('\u{202a}', "LRE"),
        ('\u{202b}', "RLE"),
        ('\u{202c}', "PDF"),
        ('\u{202d}', "LRO"),
        ('\u{202e}', "RLO"),
        ('\u{2066}', "LRI"),
        ('\u{2067}', "RLI"),
        ('\u{2068}', "FSI"),
        ('\u{2069}', "PDI"),
        ('\u{200e}', "LRM"),
        ('\u{200f}', "RLM"),
        ('\u{61c}', "ALM"),
        ('\u{200b}', "ZWSP"),
        ('\u{200c}', "ZWNJ"),
        ('\u{200d}', "ZWJ"),
        ('\u{2060}', "WJ"),
        ('\u{180e}', "MVS"),
    ] {
        out.push(frag(format!("format {name}"), format!("x{c}y"), format!("x⟪{name}⟫y")));
    }
    out
}

/// One corpus line: its id (shown on screen), the raw text, and what must be visible.
struct Hostile {
    id: String,
    raw: String,
    shown: String,
    /// The fragment stands alone after the id (rather than inside a logfmt or JSON line).
    plain: bool,
}

impl Hostile {
    /// Whether the marker must show on the line's own row at this width: always at 200 columns;
    /// at 80 only for plain lines whose marker fits the row (about 52 columns of text).
    fn marker_fits(&self, width: u16) -> bool {
        !self.shown.is_empty() && (width >= 200 || (self.plain && self.id.len() + 1 + self.shown.width() <= 50))
    }
}

/// Every fragment in plain text, in a logfmt value and in a JSON string (raw), and the short
/// ones JSON-escaped as well (`\u001b`), which only becomes a control again if a view decodes it.
fn corpus() -> Vec<Hostile> {
    let mut out = Vec::new();
    let mut push = |raw: String, shown: &str| {
        let id = format!("#{:04}", out.len());
        out.push(Hostile {
            plain: raw.starts_with("{id} ") && !raw.contains("level="),
            raw: raw.replace("{id}", &id),
            id,
            shown: shown.to_string(),
        });
    };
    for f in fragments() {
        let raw = &f.raw;
        push(format!("{{id}} {raw}"), &f.shown);
        if f.tail {
            continue;
        }
        push(
            format!("{{id}} level=warn msg=\"{raw}\" ua=\"curl/8.1\" ip=203.0.113.9"),
            &f.shown,
        );
        push(
            format!("{{\"id\":\"{{id}}\",\"level\":\"error\",\"msg\":\"{raw}\",\"route\":\"/api\"}}"),
            &f.shown,
        );
        if raw.len() < 200 {
            let escaped = serde_json::to_string(raw).unwrap_or_default();
            push(
                format!("{{\"id\":\"{{id}}\",\"level\":\"info\",\"msg\":{escaped}}}"),
                "",
            );
        }
    }
    out
}

#[test]
fn the_corpus_has_at_least_300_lines_covering_every_class() {
    let corpus = corpus();
    assert!(corpus.len() >= 300, "{} lines", corpus.len());
    let names: Vec<String> = fragments().into_iter().map(|f| f.name).collect();
    for class in [
        "title",
        "clipboard",
        "hyperlink",
        "colour",
        "DECRQSS",
        "kitty",
        "pm",
        "sos",
        "csi ",
        "c1 ",
        "c0 ",
        "RLO",
        "ZWJ",
        "huge",
    ] {
        assert!(names.iter().any(|n| n.contains(class)), "no {class} case");
    }
    // Each fragment's expectation is what the sanitiser really makes of it.
    let wrong: Vec<String> = fragments()
        .into_iter()
        .filter_map(|f| {
            let clean = sanitize(&f.raw);
            let cut: String = clean.chars().take(120).collect();
            (!clean.contains(&f.shown)).then(|| format!("{}: {cut:?} lacks {:?}", f.name, f.shown))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// ---------------------------------------------------------------------------------------------
// The terminal: every byte and every cell of every frame
// ---------------------------------------------------------------------------------------------

/// What the crossterm backend wrote, checked control by control.
#[derive(Debug, Default)]
struct Controls {
    cursor_moves: usize,
    sgr: usize,
    cursor_visibility: usize,
}

/// Walks every byte the backend wrote. The only controls allowed are ratatui's own drawing:
/// cursor position `ESC [ row ; col H` inside the screen, SGR `ESC [ … m`, and hide/show cursor
/// `ESC [ ? 25 l/h`; no other C0 byte (crossterm writes no CR, LF or BEL when drawing a fixed
/// viewport), no C1 code point and no bidi or invisible character in the text.
fn check_bytes(bytes: &[u8], size: (u16, u16)) -> Result<Controls, String> {
    let mut seen = Controls::default();
    let mut text = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            let context = || lossy(&bytes[i.saturating_sub(40)..(i + 40).min(bytes.len())]);
            match bytes.get(i + 1) {
                Some(b'[') => {}
                Some(b']') => return Err(format!("OSC at byte {i}: {:?}", context())),
                Some(b'P') => return Err(format!("DCS at byte {i}: {:?}", context())),
                Some(b'X') => return Err(format!("SOS at byte {i}: {:?}", context())),
                Some(b'^') => return Err(format!("PM at byte {i}: {:?}", context())),
                Some(b'_') => return Err(format!("APC at byte {i}: {:?}", context())),
                _ => return Err(format!("ESC not starting a CSI at byte {i}: {:?}", context())),
            }
            let start = i + 2;
            let mut j = start;
            while j < bytes.len() && (0x20..=0x3f).contains(&bytes[j]) {
                j += 1;
            }
            let Some(&fin) = bytes.get(j) else {
                return Err(format!("unfinished CSI at byte {i}"));
            };
            let params = std::str::from_utf8(&bytes[start..j]).unwrap_or("\u{fffd}");
            match fin {
                b'H' => {
                    let (row, col) = params
                        .split_once(';')
                        .and_then(|(r, c)| Some((r.parse::<u16>().ok()?, c.parse::<u16>().ok()?)))
                        .ok_or_else(|| format!("cursor move {params:?}"))?;
                    if row == 0 || col == 0 || row > size.1 || col > size.0 {
                        return Err(format!("cursor move off screen: {row};{col}"));
                    }
                    seen.cursor_moves += 1;
                }
                b'm' if params.bytes().all(|b| b.is_ascii_digit() || b == b';' || b == b':') => seen.sgr += 1,
                b'l' | b'h' if params == "?25" => seen.cursor_visibility += 1,
                _ => {
                    return Err(format!(
                        "CSI {params:?} {:?} at byte {i}: {:?}",
                        char::from(fin),
                        context()
                    ));
                }
            }
            i = j + 1;
        } else if b < 0x20 || b == 0x7f {
            return Err(format!("control byte {b:#04x} at byte {i}"));
        } else {
            text.push(b);
            i += 1;
        }
    }
    let text = std::str::from_utf8(&text).map_err(|e| format!("text not UTF-8: {e}"))?;
    if let Some((at, c)) = first_forbidden(text) {
        let near: String = text[at.saturating_sub(20)..].chars().take(20).collect();
        return Err(format!("U+{:04X} written in the text: {near:?}", u32::from(c)));
    }
    Ok(seen)
}

/// Every cell holds only inert symbols.
fn check_cells(buffer: &Buffer) -> Result<(), String> {
    for (i, cell) in buffer.content.iter().enumerate() {
        if let Some((_, c)) = first_forbidden(cell.symbol()) {
            return Err(format!("cell {i} holds U+{:04X}: {:?}", u32::from(c), cell.symbol()));
        }
    }
    Ok(())
}

/// The screen's text, one line per row; the cells hidden under a wide character are skipped.
fn screen_text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut x = 0;
        while x < buffer.area.width {
            let symbol = buffer[(x, y)].symbol();
            out.push_str(symbol);
            x += u16::try_from(symbol.width().max(1)).unwrap_or(1);
        }
        out.push('\n');
    }
    out
}

/// Where the crossterm backend writes: a byte vector the test keeps a handle to.
#[derive(Clone, Default)]
struct Written(Rc<RefCell<Vec<u8>>>);

impl std::io::Write for Written {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A real crossterm backend on a fixed viewport, writing into memory.
struct Screen {
    size: (u16, u16),
    written: Written,
    terminal: Terminal<CrosstermBackend<Written>>,
    frames: usize,
}

impl Screen {
    fn new(size: (u16, u16)) -> Self {
        let options = TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, size.0, size.1)),
        };
        let written = Written::default();
        let terminal =
            Terminal::with_options(CrosstermBackend::new(written.clone()), options).unwrap_or_else(|e| panic!("{e}"));
        Self {
            size,
            written,
            terminal,
            frames: 0,
        }
    }

    /// Draws the app, checks every cell of the frame, and returns the frame's text.
    fn draw(&mut self, state: &AppState, now: chrono::DateTime<chrono::Utc>) -> String {
        let frame = self
            .terminal
            .draw(|f| warroom::ui::draw(f, state, now))
            .unwrap_or_else(|e| panic!("{e}"));
        check_cells(frame.buffer).unwrap_or_else(|e| panic!("at {:?}: {e}", self.size));
        self.frames += 1;
        screen_text(frame.buffer)
    }

    /// Checks every byte written so far; panics with the reason on the first bad one.
    fn check(&self) -> Controls {
        let bytes = self.written.0.borrow();
        let seen = check_bytes(&bytes, self.size).unwrap_or_else(|e| panic!("at {:?}: {e}", self.size));
        assert!(
            seen.cursor_moves > self.frames && seen.sgr > 0,
            "nothing drawn: {seen:?}"
        );
        seen
    }
}

fn logs_state(size: (u16, u16), corpus: &[Hostile]) -> AppState {
    let mut state = empty_state(size);
    let source = state.add_source(SourceKind::Logs, "hostile");
    let name: std::sync::Arc<str> = "hostile".into();
    let lines = corpus
        .iter()
        .enumerate()
        .map(|(i, h)| LogLine::new(at(0) + Duration::milliseconds(i as i64), name.clone(), &h.raw))
        .collect();
    update(
        &mut state,
        Msg::Source(SourceUpdate {
            source,
            at: at(1),
            result: Ok(SourceData::Logs(lines)),
        }),
        at(1),
    );
    assert_eq!(state.logs.buffer.len(), corpus.len(), "every hostile line is kept");
    state
}

/// Focuses and zooms the Logs pane, then walks the selection over every line, drawing each frame
/// (the zoomed pane's detail box shows the selected line in full), with wrapping off and then on.
/// In the frame where line k is selected, its id must show, and (wrapping off) so must its marker
/// where it fits the row. Returns the screen, whose bytes the caller checks.
fn draw_every_line(size: (u16, u16), corpus: &[Hostile]) -> Screen {
    let mut state = logs_state(size, corpus);
    let now = at(2);
    let mut screen = Screen::new(size);
    press(&mut state, "4 z g", now);
    let mut missing = Vec::new();
    for wrap in [false, true] {
        if wrap {
            press(&mut state, "w g", now);
        }
        for line in corpus {
            let text = screen.draw(&state, now);
            if !text.contains(&line.id) {
                missing.push(format!("{} (wrap {wrap})", line.id));
            } else if !wrap && line.marker_fits(size.0) && !text.contains(&line.shown) {
                missing.push(format!("{}: {:?}", line.id, line.shown));
            }
            press(&mut state, "j", now);
        }
    }
    assert!(missing.is_empty(), "not shown at {size:?}: {missing:#?}");
    screen
}

#[test]
fn hostile_log_lines_write_no_control_to_the_terminal_at_80x24() {
    let corpus = corpus();
    let screen = draw_every_line((80, 24), &corpus);
    let checked = corpus.iter().filter(|h| h.marker_fits(80)).count();
    assert!(checked > 150, "only {checked} markers checked at 80 columns");
    let seen = screen.check();
    assert!(seen.cursor_visibility > 0, "{seen:?}");
}

#[test]
fn hostile_log_lines_write_no_control_to_the_terminal_at_200x50() {
    let corpus = corpus();
    draw_every_line((200, 50), &corpus).check();
}

#[test]
fn the_byte_check_catches_every_forbidden_control() {
    for bad in [
        "\x1b]0;pwned\x07",
        "\x1b]52;c;AAAA\x1b\\",
        "\x1bP$qm\x1b\\",
        "\x1bXs\x1b\\",
        "\x1b^p\x1b\\",
        "\x1b_Ga=d\x1b\\",
        "\x1b[2J",
        "\x1b[6n",
        "\x1b[1;1;1H",
        "\x1b[99;1H",
        "\x1b[?1049h",
        "\x1bc",
        "\x1b",
        "x\x07",
        "x\x08",
        "x\r\n",
        "x\u{9b}2J",
        "x\u{85}",
        "x\u{202e}",
        "x\u{200b}",
    ] {
        let mut bytes = b"\x1b[1;1H\x1b[38;5;196mok\x1b[0m".to_vec();
        bytes.extend_from_slice(bad.as_bytes());
        assert!(check_bytes(&bytes, (80, 24)).is_err(), "{bad:?} passed");
    }
    assert!(check_bytes(b"\x1b[24;80H\x1b[1;38;2;1;2;3mok\x1b[?25l\x1b[?25h", (80, 24)).is_ok());

    // A widget that writes a cell symbol directly bypasses ratatui's filter; both checks see it.
    let mut screen = Screen::new((20, 2));
    let frame = screen
        .terminal
        .draw(|f| {
            f.buffer_mut()[(0, 0)].set_symbol("\x1b]0;pwned\x07");
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(check_cells(frame.buffer).is_err());
    assert!(check_bytes(&screen.written.0.borrow(), (20, 2)).is_err());
}

// ---------------------------------------------------------------------------------------------
// Alerts: the same sanitiser protects labels and annotations
// ---------------------------------------------------------------------------------------------

fn hostile_alert(i: usize, f: &Fragment) -> Alert {
    let pairs = |items: &[(&str, String)]| -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    };
    let raw = &f.raw;
    Alert {
        fingerprint: format!("fp{i:04}"),
        labels: pairs(&[
            ("alertname", format!("Hostile{i:03}{raw}")),
            (
                "severity",
                if i.is_multiple_of(2) {
                    "page".into()
                } else {
                    "warning".into()
                },
            ),
            ("service", format!("odin{raw}")),
            ("instance", format!("db-{i}:9100{raw}")),
            (raw.as_str(), "label name itself hostile".into()),
        ]),
        annotations: pairs(&[
            ("summary", format!("A{i:03} summary {raw} end")),
            (
                "description",
                format!("first line {raw}\nsecond line\r\n\x1b[1A\x1b[2K[OK] resolved"),
            ),
            ("runbook_url", format!("https://runbooks.example/{raw}")),
        ]),
        state: AlertState::Firing,
        starts_at: at(0) - Duration::minutes(i as i64),
        generator_url: Some(format!("http://prometheus:9090/graph?g0.expr={raw}")),
        silenced_by: vec![],
        inhibited_by: vec![],
    }
}

#[test]
fn hostile_alert_labels_and_annotations_write_no_control_to_the_terminal() {
    let picked: Vec<Fragment> = fragments()
        .into_iter()
        .filter(|f| f.raw.len() < 200 && !f.tail)
        .step_by(3)
        .collect();
    assert!(picked.len() >= 40, "{} alerts", picked.len());
    let alerts: Vec<Alert> = picked.iter().enumerate().map(|(i, f)| hostile_alert(i, f)).collect();
    for size in [(80, 24), (200, 50)] {
        let mut state = empty_state(size);
        let source = state.add_source(SourceKind::Alertmanager, "alertmanager");
        let now = at(2);
        update(
            &mut state,
            Msg::Source(SourceUpdate {
                source,
                at: at(1),
                result: Ok(SourceData::Alerts(AlertSet::alertmanager(alerts.clone(), vec![]))),
            }),
            now,
        );
        let mut screen = Screen::new(size);
        let mut seen = vec![screen.draw(&state, now)];
        press(&mut state, "1 z g", now);
        for _ in 0..=alerts.len() {
            seen.push(screen.draw(&state, now));
            press(&mut state, "j", now);
        }
        screen.check();
        let shows = |text: &str| seen.iter().any(|s| s.contains(text));
        let mut missing = String::new();
        for (i, f) in picked.iter().enumerate() {
            let summary = format!("A{i:03} summary");
            if !shows(&summary) {
                let _ = write!(missing, " {summary} ({})", f.name);
            }
        }
        assert!(missing.is_empty(), "alerts never shown at {size:?}:{missing}");
        for shown in ["⟪OSC 0 title 5B⟫", "⟪CSI 1A⟫", "⟪RLO⟫"] {
            assert!(shows(shown), "{shown} never shown at {size:?}");
        }
    }
}
