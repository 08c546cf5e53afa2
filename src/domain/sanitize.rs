//! Makes untrusted text inert before it is stored or shown: whole escape sequences (CSI, OSC, DCS,
//! SOS, PM, APC and two-byte ESC sequences, in their 7-bit and 8-bit forms, per ECMA-48) become
//! one visible marker such as `⟪OSC 52 clipboard 12B⟫`, colour codes (SGR) are dropped, other
//! control characters become control pictures or `⟪U+0085⟫`, bidi and invisible characters become
//! named markers such as `⟪RLO⟫`, tabs become spaces and very long lines are cut with a marker.
//! Used for every string that comes from outside.
//!
//! Marker notation, all between `⟪` and `⟫` (both one column wide):
//! * `⟪CSI 2J⟫`, `⟪CSI ?1049h⟫`: a control sequence, its parameters and final byte verbatim;
//! * `⟪OSC 0 title 5B⟫`, `⟪OSC 52 clipboard query⟫`: an operating-system command, its number, what
//!   the number means and how many payload bytes it carried (never the payload itself, except an
//!   OSC 8 hyperlink's target, cut short: `⟪OSC 8 link https://evil.example/⟫`, `⟪OSC 8 link end⟫`);
//! * `⟪DCS DECRQSS 3B⟫`, `⟪APC kitty graphics 40B⟫`, `⟪PM 3B⟫`, `⟪SOS 3B⟫`: the other strings;
//! * `⟪ESC c⟫`, `⟪ESC ( B⟫`: two-byte (and nF) escape sequences;
//! * a trailing `…` inside the marker says the sequence never finished. `⟪OSC 0 title 3B…⟫` was
//!   broken off by CAN, SUB or another ESC; `⟪CSI 12…⟫` by input ending or another byte. A string
//!   with no terminator within [`MAX_STRING_BYTES`], or a CSI whose parameters run long, gets a
//!   marker for its introducer alone (`⟪OSC…⟫`, `⟪CSI…⟫`) and the rest of the line is shown as
//!   text: nothing is ever swallowed without a terminator;
//! * `⟪RLO⟫`, `⟪ZWJ⟫`, `⟪U+0085⟫`: a bidi, invisible or C1 character; `⟪+N marks⟫`: combining marks
//!   beyond [`MAX_COMBINING_MARKS`] on one character, dropped.
//!
//! C0 controls become the Unicode control pictures (`␛`, `␇`, `␊`), DEL becomes `␡`.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar;

/// Longest output, in bytes, markers included; longer lines are cut and end in `…[+N bytes]`,
/// where N counts the input bytes not shown.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Longest payload of an OSC, DCS, SOS, PM or APC string taken as one sequence. A string with no
/// terminator within it (or none at all) is not taken as a whole: its introducer is marked and
/// the rest of the line shown as text, so an unterminated string cannot hide the line.
pub const MAX_STRING_BYTES: usize = 4096;
/// Longest run of CSI parameter and intermediate bytes taken as one sequence.
pub const MAX_PARAM_BYTES: usize = 64;
/// Longest run of intermediates after ESC taken as one sequence (real ones have one or two).
const MAX_INTERMEDIATES: usize = 8;
/// Combining marks kept on one character; more are dropped (a rendering DoS, xterm CVE-2021-27135).
pub const MAX_COMBINING_MARKS: usize = 16;

const TAB_WIDTH: usize = 8;
/// Room kept for the cut marker: "…[+" (5 bytes), at most 20 digits, " bytes]" (7 bytes).
const CUT_RESERVE: usize = 32;
/// Output length up to which a cut can be made and still leave room for the cut marker.
const CUT_LIMIT: usize = MAX_LINE_BYTES - CUT_RESERVE;
/// Parameter bytes of a CSI shown in its marker; longer ones end in `…`.
const SHOWN_PARAMS: usize = 24;
/// Bytes of an OSC 8 hyperlink's target shown in its marker (only when it is printable ASCII).
const SHOWN_URI: usize = 48;

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
const CAN: u8 = 0x18;
const SUB: u8 = 0x1a;
/// UTF-8 lead byte of U+0080–U+00BF, so `C2 9C` is the 8-bit string terminator U+009C.
const C1_LEAD: u8 = 0xc2;
const C1_ST: u8 = 0x9c;

/// Returns `input` unchanged when it is already safe (the common case), else a cleaned copy.
pub fn sanitize(input: &str) -> Cow<'_, str> {
    if is_inert_line(input) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(Cleaner::new(input, false).run())
}

/// Whether `input` is already inert on one line: nothing `sanitize` or `one_line` would change.
pub fn is_inert_line(input: &str) -> bool {
    if input.len() > MAX_LINE_BYTES {
        return false;
    }
    // Printable ASCII is the common case: one tight loop, no decoding.
    let Some(first) = input.bytes().position(|b| !is_printable_ascii(b)) else {
        return true;
    };
    let mut scan = Scan::default();
    input[first..].chars().all(|ch| scan.keeps(ch))
}

/// `text` cut to at most `max` characters, with "…" when something was cut.
pub fn clip(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Sanitises and also flattens newlines (CR and LF become spaces), for one-line fields (labels,
/// summaries, titles).
pub fn one_line(input: &str) -> String {
    if is_inert_line(input) {
        return input.to_string();
    }
    Cleaner::new(input, true).run()
}

fn is_printable_ascii(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// What a non-ASCII character needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// A combining mark; kept up to [`MAX_COMBINING_MARKS`] in a row.
    Mark,
    /// A tag character (U+E0000–U+E007F): kept only inside an emoji flag sequence.
    Tag,
    /// A C1 control (U+0080–U+009F).
    C1,
    /// A bidi, invisible or separator character, shown by name.
    Named(&'static str),
    /// Another invisible character, shown by code point.
    Invisible,
}

fn kind(ch: char) -> Kind {
    match ch {
        '\u{80}'..='\u{9f}' => Kind::C1,
        '\u{a0}'..='\u{2ff}' => match ch {
            '\u{ad}' => Kind::Named("SHY"),
            _ => Kind::Plain,
        },
        '\u{300}'..='\u{36f}'
        | '\u{1ab0}'..='\u{1aff}'
        | '\u{1dc0}'..='\u{1dff}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{fe20}'..='\u{fe2f}' => Kind::Mark,
        '\u{61c}' => Kind::Named("ALM"),
        '\u{180e}' => Kind::Named("MVS"),
        '\u{200b}' => Kind::Named("ZWSP"),
        '\u{200c}' => Kind::Named("ZWNJ"),
        '\u{200d}' => Kind::Named("ZWJ"),
        '\u{200e}' => Kind::Named("LRM"),
        '\u{200f}' => Kind::Named("RLM"),
        '\u{2028}' => Kind::Named("LS"),
        '\u{2029}' => Kind::Named("PS"),
        '\u{202a}' => Kind::Named("LRE"),
        '\u{202b}' => Kind::Named("RLE"),
        '\u{202c}' => Kind::Named("PDF"),
        '\u{202d}' => Kind::Named("LRO"),
        '\u{202e}' => Kind::Named("RLO"),
        '\u{2060}' => Kind::Named("WJ"),
        '\u{2066}' => Kind::Named("LRI"),
        '\u{2067}' => Kind::Named("RLI"),
        '\u{2068}' => Kind::Named("FSI"),
        '\u{2069}' => Kind::Named("PDI"),
        '\u{feff}' => Kind::Named("BOM"),
        // Invisible operators, deprecated format controls, Hangul fillers, Khmer inherent vowels,
        // interlinear annotation, musical format controls.
        '\u{115f}'
        | '\u{1160}'
        | '\u{17b4}'
        | '\u{17b5}'
        | '\u{2061}'..='\u{2064}'
        | '\u{206a}'..='\u{206f}'
        | '\u{3164}'
        | '\u{ffa0}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{1d173}'..='\u{1d17a}' => Kind::Invisible,
        '\u{e0000}'..='\u{e007f}' => Kind::Tag,
        _ => Kind::Plain,
    }
}

/// Black flag U+1F3F4: the base of the emoji subdivision flags, which are spelt in tag characters.
const FLAG_BASE: char = '\u{1f3f4}';

/// Whether the tag character `ch` is kept when it follows the flag base or another kept tag.
fn tag_kept(ch: char) -> bool {
    ('\u{e0020}'..='\u{e007f}').contains(&ch)
}

/// U+E007F CANCEL TAG ends a tag sequence.
const CANCEL_TAG: char = '\u{e007f}';

/// The state `is_inert_line` needs to agree with the cleaner on combining marks and tags.
#[derive(Debug, Default)]
struct Scan {
    marks: usize,
    tags_ok: bool,
}

impl Scan {
    /// Whether `ch`, after the characters seen so far, passes through the cleaner unchanged.
    fn keeps(&mut self, ch: char) -> bool {
        if ch.is_ascii() {
            self.marks = 0;
            self.tags_ok = false;
            return is_printable_ascii(ch as u8);
        }
        match kind(ch) {
            Kind::Plain => {
                self.marks = 0;
                self.tags_ok = ch == FLAG_BASE;
                true
            }
            Kind::Mark => {
                self.marks += 1;
                self.tags_ok = false;
                self.marks <= MAX_COMBINING_MARKS
            }
            Kind::Tag => {
                let ok = self.tags_ok && tag_kept(ch);
                self.marks = 0;
                self.tags_ok = ok && ch != CANCEL_TAG;
                ok
            }
            Kind::C1 | Kind::Named(_) | Kind::Invisible => false,
        }
    }
}

/// The string sequences: introduced by ESC plus a letter or by a C1 character, ended by ST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Str {
    Osc,
    Dcs,
    Sos,
    Pm,
    Apc,
}

impl Str {
    fn name(self) -> &'static str {
        match self {
            Self::Osc => "OSC",
            Self::Dcs => "DCS",
            Self::Sos => "SOS",
            Self::Pm => "PM",
            Self::Apc => "APC",
        }
    }
}

/// How a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// By its terminator.
    Done,
    /// Input ended, another control broke in, or the length cap was reached.
    Unfinished,
}

fn osc_meaning(number: u32) -> &'static str {
    match number {
        0 | 2 => "title",
        1 => "icon title",
        3 => "X property",
        4 | 5 => "colour",
        6 | 7 => "cwd",
        8 => "link",
        9 | 99 | 777 => "notify",
        10 => "fg colour",
        11 => "bg colour",
        12 => "cursor colour",
        17 | 19 => "highlight colour",
        50 => "font",
        52 => "clipboard",
        104..=119 => "colour reset",
        133 | 633 => "shell mark",
        1337 => "iTerm2",
        _ => "",
    }
}

struct Cleaner<'a> {
    input: &'a str,
    out: String,
    /// Display columns of `out`, for tab stops (the output never holds a newline).
    column: usize,
    /// CR and LF become spaces (`one_line`) rather than control pictures.
    flatten: bool,
    /// Where a cut can be made: an output length at most `CUT_LIMIT` and the input consumed by it.
    keep_out: usize,
    keep_in: usize,
    /// Combining marks at the end of `out`, and how many more were dropped since.
    marks: usize,
    dropped_marks: usize,
    /// Whether `out` ends in something a tag character may follow.
    tags_ok: bool,
    scratch: String,
}

impl<'a> Cleaner<'a> {
    fn new(input: &'a str, flatten: bool) -> Self {
        Self {
            input,
            out: String::with_capacity(input.len().min(MAX_LINE_BYTES) + 16),
            column: 0,
            flatten,
            keep_out: 0,
            keep_in: 0,
            marks: 0,
            dropped_marks: 0,
            tags_ok: false,
            scratch: String::new(),
        }
    }

    fn run(mut self) -> String {
        let bytes = self.input.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if is_printable_ascii(b) {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| !is_printable_ascii(b))
                    .map_or(bytes.len(), |n| i + n);
                if !self.flush_marks(i) || !self.push_ascii(i, end) {
                    return self.out;
                }
                i = end;
                continue;
            }
            let next = if b.is_ascii() {
                if !self.flush_marks(i) {
                    return self.out;
                }
                self.ascii_control(i)
            } else {
                let Some(ch) = self.input[i..].chars().next() else {
                    break;
                };
                self.non_ascii(i, ch)
            };
            match next {
                Some(next) => i = next,
                None => return self.out,
            }
        }
        self.flush_marks(bytes.len());
        self.out
    }

    /// Appends `piece`, `width` columns wide, standing for the input up to `next_in`. Returns
    /// false when the line is full: it has then been cut and ends in the cut marker.
    fn push(&mut self, piece: &str, width: usize, next_in: usize) -> bool {
        if self.out.len() + piece.len() > MAX_LINE_BYTES {
            self.cut();
            return false;
        }
        if !piece.is_empty() {
            self.out.push_str(piece);
            self.column += width;
            self.marks = 0;
            self.tags_ok = false;
        }
        if self.out.len() <= CUT_LIMIT {
            self.keep_out = self.out.len();
            self.keep_in = next_in;
        }
        true
    }

    /// Appends the printable ASCII `input[start..end]`, which may be cut anywhere.
    fn push_ascii(&mut self, start: usize, end: usize) -> bool {
        let run = &self.input[start..end];
        let before = self.out.len();
        if before + run.len() > MAX_LINE_BYTES {
            let fits = CUT_LIMIT.saturating_sub(before).min(run.len());
            if fits > 0 {
                self.out.push_str(&run[..fits]);
                self.keep_out = self.out.len();
                self.keep_in = start + fits;
            }
            self.cut();
            return false;
        }
        self.out.push_str(run);
        self.column += run.len();
        self.marks = 0;
        self.tags_ok = false;
        if self.out.len() <= CUT_LIMIT {
            self.keep_out = self.out.len();
            self.keep_in = end;
        } else if before < CUT_LIMIT {
            self.keep_out = CUT_LIMIT;
            self.keep_in = start + (CUT_LIMIT - before);
        }
        true
    }

    /// Appends the marker held in `scratch` (between `⟪` and `⟫`).
    fn push_marker(&mut self, next_in: usize) -> bool {
        let marker = std::mem::take(&mut self.scratch);
        let ok = self.push(&marker, marker.chars().count(), next_in);
        self.scratch = marker;
        self.scratch.clear();
        ok
    }

    fn push_char(&mut self, ch: char, next_in: usize) -> bool {
        let mut buf = [0u8; 4];
        self.push(ch.encode_utf8(&mut buf), ch.width().unwrap_or(0), next_in)
    }

    /// Writes the marker for dropped combining marks, if any.
    fn flush_marks(&mut self, next_in: usize) -> bool {
        if self.dropped_marks == 0 {
            return true;
        }
        let _ = write!(self.scratch, "⟪+{} marks⟫", self.dropped_marks);
        self.dropped_marks = 0;
        self.push_marker(next_in)
    }

    fn cut(&mut self) {
        self.out.truncate(self.keep_out);
        let left = self.input.len() - self.keep_in;
        let _ = write!(self.out, "…[+{left} bytes]");
    }

    /// Handles the ASCII control (or DEL) at `i`; returns where to go on, or None when cut.
    fn ascii_control(&mut self, i: usize) -> Option<usize> {
        let b = self.input.as_bytes()[i];
        let next = match b {
            ESC => return self.escape(i),
            b'\t' => {
                let spaces = TAB_WIDTH - self.column % TAB_WIDTH;
                let blank = &"        "[..spaces];
                self.push(blank, spaces, i + 1)
            }
            b'\n' | b'\r' if self.flatten => self.push(" ", 1, i + 1),
            0x7f => self.push("␡", 1, i + 1),
            _ => {
                let picture = char::from_u32(0x2400 + u32::from(b)).unwrap_or('�');
                self.push_char(picture, i + 1)
            }
        };
        next.then_some(i + 1)
    }

    /// Handles the non-ASCII character `ch` at `i`.
    fn non_ascii(&mut self, i: usize, ch: char) -> Option<usize> {
        let next = i + ch.len_utf8();
        let k = kind(ch);
        if k != Kind::Mark && !self.flush_marks(i) {
            return None;
        }
        let ok = match k {
            Kind::Plain => {
                let ok = self.push_char(ch, next);
                self.tags_ok = ch == FLAG_BASE;
                ok
            }
            Kind::Mark => {
                if self.marks >= MAX_COMBINING_MARKS {
                    self.dropped_marks += 1;
                    true
                } else {
                    let marks = self.marks;
                    let ok = self.push_char(ch, next);
                    self.marks = marks + 1;
                    ok
                }
            }
            Kind::Tag => {
                if self.tags_ok && tag_kept(ch) {
                    let ok = self.push_char(ch, next);
                    self.tags_ok = ch != CANCEL_TAG;
                    ok
                } else {
                    let _ = write!(self.scratch, "⟪U+{:04X}⟫", u32::from(ch));
                    self.push_marker(next)
                }
            }
            Kind::C1 => return self.c1(i, ch),
            Kind::Named(name) => {
                let _ = write!(self.scratch, "⟪{name}⟫");
                self.push_marker(next)
            }
            Kind::Invisible => {
                let _ = write!(self.scratch, "⟪U+{:04X}⟫", u32::from(ch));
                self.push_marker(next)
            }
        };
        ok.then_some(next)
    }

    /// A C1 control (two bytes in UTF-8): the 8-bit form of a sequence introducer, or shown by
    /// code point.
    fn c1(&mut self, i: usize, ch: char) -> Option<usize> {
        let body = i + 2;
        match ch {
            '\u{9b}' => self.csi(body),
            '\u{9d}' => self.string(Str::Osc, body),
            '\u{90}' => self.string(Str::Dcs, body),
            '\u{98}' => self.string(Str::Sos, body),
            '\u{9e}' => self.string(Str::Pm, body),
            '\u{9f}' => self.string(Str::Apc, body),
            _ => {
                let _ = write!(self.scratch, "⟪U+{:04X}⟫", u32::from(ch));
                self.push_marker(body).then_some(body)
            }
        }
    }

    /// ESC at `i`: a sequence, or a lone ESC shown as `␛`.
    fn escape(&mut self, i: usize) -> Option<usize> {
        let bytes = self.input.as_bytes();
        let body = i + 2;
        match bytes.get(i + 1).copied() {
            Some(b'[') => self.csi(body),
            Some(b']') => self.string(Str::Osc, body),
            Some(b'P') => self.string(Str::Dcs, body),
            Some(b'X') => self.string(Str::Sos, body),
            Some(b'^') => self.string(Str::Pm, body),
            Some(b'_') => self.string(Str::Apc, body),
            Some(0x20..=0x2f) => {
                // nF: intermediates, then a final byte (ESC ( B designates a character set).
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && j - start < MAX_INTERMEDIATES && (0x20..=0x2f).contains(&bytes[j]) {
                    j += 1;
                }
                let done = j < bytes.len() && (0x30..=0x7e).contains(&bytes[j]);
                if !done && j - start == MAX_INTERMEDIATES {
                    // No final byte in sight: only the ESC is marked, the rest shown as text.
                    self.scratch.push_str("⟪ESC…⟫");
                    return self.push_marker(start).then_some(start);
                }
                self.scratch.push_str("⟪ESC");
                for &b in &bytes[start..j] {
                    self.scratch.push_str(if b == b' ' { " SP" } else { " " });
                    if b != b' ' {
                        self.scratch.push(char::from(b));
                    }
                }
                let end = if done {
                    self.scratch.push(' ');
                    self.scratch.push(char::from(bytes[j]));
                    j + 1
                } else {
                    self.scratch.push('…');
                    j
                };
                self.scratch.push('⟫');
                self.push_marker(end).then_some(end)
            }
            Some(b @ 0x30..=0x7e) => {
                self.scratch.push_str("⟪ESC ");
                self.scratch.push(char::from(b));
                self.scratch.push('⟫');
                self.push_marker(body).then_some(body)
            }
            _ => self.push("␛", 1, i + 1).then_some(i + 1),
        }
    }

    /// A control sequence whose parameters start at `body`. SGR (colours) is dropped silently.
    fn csi(&mut self, body: usize) -> Option<usize> {
        let bytes = self.input.as_bytes();
        let mut j = body;
        let mut fin = None;
        while j < bytes.len() && j - body < MAX_PARAM_BYTES {
            match bytes[j] {
                0x20..=0x3f => j += 1,
                b @ 0x40..=0x7e => {
                    fin = Some(b);
                    break;
                }
                _ => break,
            }
        }
        let params = &self.input[body..j];
        let Some(fin) = fin else {
            // Unfinished: input ended or another byte broke in. Short parameters go in the marker;
            // long ones (up to the cap) are shown as text after it, never swallowed.
            if params.len() > SHOWN_PARAMS {
                self.scratch.push_str("⟪CSI…⟫");
                return self.push_marker(body).then_some(body);
            }
            self.scratch.push_str("⟪CSI");
            if !params.is_empty() {
                self.scratch.push(' ');
                self.scratch.push_str(params);
            }
            self.scratch.push_str("…⟫");
            return self.push_marker(j).then_some(j);
        };
        let end = j + 1;
        if fin == b'm' && params.bytes().all(|b| b.is_ascii_digit() || b == b';' || b == b':') {
            return self.push("", 0, end).then_some(end);
        }
        self.scratch.push_str("⟪CSI ");
        if params.len() > SHOWN_PARAMS {
            self.scratch.push_str(&params[..SHOWN_PARAMS]);
            self.scratch.push('…');
        } else {
            self.scratch.push_str(params);
        }
        self.scratch.push(char::from(fin));
        self.scratch.push('⟫');
        self.push_marker(end).then_some(end)
    }

    /// A string sequence whose payload starts at `body`: up to BEL or ST (ESC \ or U+009C), or up
    /// to a CAN, SUB or ESC that breaks it. With no end within `MAX_STRING_BYTES` (unterminated or
    /// overlong), only the introducer is marked and the rest is shown as text.
    fn string(&mut self, kind: Str, body: usize) -> Option<usize> {
        let bytes = self.input.as_bytes();
        let mut j = body;
        let (payload_end, end, how) = loop {
            if j >= bytes.len() || j - body > MAX_STRING_BYTES {
                let _ = write!(self.scratch, "⟪{}…⟫", kind.name());
                return self.push_marker(body).then_some(body);
            }
            match bytes[j] {
                BEL => break (j, j + 1, End::Done),
                ESC if bytes.get(j + 1) == Some(&b'\\') => break (j, j + 2, End::Done),
                C1_LEAD if bytes.get(j + 1) == Some(&C1_ST) => break (j, j + 2, End::Done),
                // ESC starts another sequence; CAN and SUB cancel: all shown on their own.
                ESC | CAN | SUB => break (j, j, End::Unfinished),
                _ => j += 1,
            }
        };
        let payload = &self.input[body..payload_end];
        self.string_marker(kind, payload, how);
        self.push_marker(end).then_some(end)
    }

    /// Writes into `scratch` the marker for a string sequence: kind, what it is, payload size.
    fn string_marker(&mut self, kind: Str, payload: &str, how: End) {
        let s = &mut self.scratch;
        s.push('⟪');
        s.push_str(kind.name());
        let mut data = payload;
        let mut link = None;
        match kind {
            Str::Osc => {
                let digits = payload.bytes().take_while(u8::is_ascii_digit).count();
                let rest = &payload[digits..];
                let number = payload[..digits].parse::<u32>().ok().filter(|_| digits <= 6);
                if let Some(number) = number.filter(|_| rest.is_empty() || rest.starts_with(';')) {
                    let _ = write!(s, " {number}");
                    let meaning = osc_meaning(number);
                    if !meaning.is_empty() {
                        s.push(' ');
                        s.push_str(meaning);
                    }
                    data = rest.strip_prefix(';').unwrap_or(rest);
                    if number == 8 {
                        // "params;URI": where the link really goes is what a responder needs.
                        link = Some(data.split_once(';').map_or("", |(_, uri)| uri));
                    }
                }
            }
            Str::Dcs => {
                let after_params = payload.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';');
                let what = if payload.starts_with("tmux;") {
                    " tmux"
                } else if after_params.starts_with("$q") {
                    " DECRQSS"
                } else if after_params.starts_with("+q") {
                    " XTGETTCAP"
                } else if after_params.starts_with('q') {
                    " sixel"
                } else {
                    ""
                };
                s.push_str(what);
            }
            Str::Apc if payload.starts_with('G') => s.push_str(" kitty graphics"),
            Str::Apc | Str::Sos | Str::Pm => {}
        }
        if let Some(uri) = link.filter(|uri| uri.bytes().all(is_printable_ascii)) {
            if uri.is_empty() {
                s.push_str(" end");
            } else if uri.len() > SHOWN_URI {
                s.push(' ');
                s.push_str(&uri[..SHOWN_URI]);
                s.push('…');
            } else {
                s.push(' ');
                s.push_str(uri);
            }
        } else if kind == Str::Osc && (data == "?" || data.ends_with(";?")) {
            s.push_str(" query");
        } else {
            let _ = write!(s, " {}B", data.len());
        }
        if how == End::Unfinished {
            s.push('…');
        }
        s.push('⟫');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    fn clean(input: &str) -> String {
        sanitize(input).into_owned()
    }

    #[test]
    fn inert_lines_are_recognised() {
        assert!(is_inert_line("● FIRING ◆ PAGE 日本 ⟪CSI 2J⟫ ␛"));
        for bad in [
            "a\x1b[2J",
            "tab\there",
            "line\nbreak",
            "\u{202e}rtl",
            "\u{9b}csi",
            "zw\u{200b}",
            "soft\u{ad}hyphen",
        ] {
            assert!(!is_inert_line(bad), "{bad:?}");
            assert_ne!(one_line(bad), bad);
            assert_ne!(sanitize(bad), bad);
        }
    }

    #[test]
    fn safe_text_is_borrowed_not_copied() {
        assert!(matches!(sanitize("GET /api 200"), Cow::Borrowed(_)));
        assert!(matches!(sanitize("日本語 ✓ 🚀 café"), Cow::Borrowed(_)));
        assert!(matches!(sanitize(""), Cow::Borrowed(_)));
        assert!(matches!(sanitize(&"x".repeat(MAX_LINE_BYTES)), Cow::Borrowed(_)));
    }

    #[test]
    fn multibyte_text_is_untouched() {
        for text in [
            "日本語のログ",
            "emoji 🚀🔥 ok",
            "Ελληνικά",
            "עברית",
            "e\u{301}",
            "🇩🇪 🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
        ] {
            assert_eq!(sanitize(text), text);
            assert_eq!(one_line(text), text);
        }
        assert_eq!(sanitize("日本\x1b[2J語"), "日本⟪CSI 2J⟫語");
    }

    #[test]
    fn csi_sequences_become_one_marker() {
        assert_eq!(clean("a\x1b[2Jb"), "a⟪CSI 2J⟫b");
        assert_eq!(clean("\x1b[1A\x1b[2K\r[OK]"), "⟪CSI 1A⟫⟪CSI 2K⟫␍[OK]");
        assert_eq!(clean("\x1b[?1049h\x1b[?1000h"), "⟪CSI ?1049h⟫⟪CSI ?1000h⟫");
        assert_eq!(clean("\x1b[6n\x1b[21t\x1b[>0q"), "⟪CSI 6n⟫⟪CSI 21t⟫⟪CSI >0q⟫");
        assert_eq!(clean("\x1b[5;10r"), "⟪CSI 5;10r⟫");
        assert_eq!(clean("\x1b[2 q"), "⟪CSI 2 q⟫");
    }

    #[test]
    fn sgr_colours_are_dropped() {
        assert_eq!(clean("\x1b[31mred\x1b[0m plain"), "red plain");
        assert_eq!(clean("\x1b[38;2;255;0;0mx\x1b[m"), "x");
        assert_eq!(clean("\x1b[38:5:196mx"), "x");
        assert_eq!(clean("\u{9b}1mbold"), "bold");
        // A private-marker "m" is not SGR.
        assert_eq!(clean("\x1b[>4;2m"), "⟪CSI >4;2m⟫");
    }

    #[test]
    fn osc_sequences_name_their_command_and_hide_their_payload() {
        assert_eq!(clean("a\x1b]0;owned\x07b"), "a⟪OSC 0 title 5B⟫b");
        assert_eq!(clean("\x1b]2;x\x1b\\"), "⟪OSC 2 title 1B⟫");
        assert_eq!(clean("\x1b]52;c;ZXZpbA==\x07"), "⟪OSC 52 clipboard 10B⟫");
        assert_eq!(clean("\x1b]52;c;?\x07"), "⟪OSC 52 clipboard query⟫");
        assert_eq!(clean("\x1b]11;?\x07"), "⟪OSC 11 bg colour query⟫");
        assert_eq!(clean("\x1b]4;1;?\x1b\\"), "⟪OSC 4 colour query⟫");
        assert_eq!(
            clean("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"),
            "⟪OSC 8 link https://evil.example/⟫click⟪OSC 8 link end⟫"
        );
        let long = format!("\x1b]8;id=1;https://{}\x07", "a".repeat(100));
        assert_eq!(
            clean(&long),
            format!("⟪OSC 8 link https://{}…⟫", "a".repeat(SHOWN_URI - 8))
        );
        assert_eq!(clean("\x1b]8;;https://\u{202e}moc.evil\x07"), "⟪OSC 8 link 20B⟫");
        assert_eq!(clean("\x1b]9;7;calc.exe\x07"), "⟪OSC 9 notify 10B⟫");
        assert_eq!(clean("\x1b]l title\x07"), "⟪OSC 7B⟫");
        let clean52 = clean("\x1b]52;c;cm0gLXJmIC8=\x07");
        assert!(!clean52.contains("cm0g"), "{clean52}");
    }

    #[test]
    fn dcs_sos_pm_apc_strings_become_one_marker() {
        assert_eq!(clean("\x1bP$qm\x1b\\"), "⟪DCS DECRQSS 3B⟫");
        assert_eq!(clean("\x1bP+q544e\x1b\\"), "⟪DCS XTGETTCAP 6B⟫");
        assert_eq!(clean("\x1bP0;0;0q#0;2;0;0;0\x1b\\"), "⟪DCS sixel 16B⟫");
        assert_eq!(
            clean("\x1bPtmux;\x1b\x1b]0;x\x07\x1b\\"),
            "⟪DCS tmux 5B…⟫␛⟪OSC 0 title 1B⟫⟪ESC \\⟫"
        );
        assert_eq!(clean("\x1b_Gf=100;AAAA\x1b\\"), "⟪APC kitty graphics 11B⟫");
        assert_eq!(clean("\x1b^secret\x1b\\"), "⟪PM 6B⟫");
        assert_eq!(clean("\x1bXsos\x1b\\"), "⟪SOS 3B⟫");
    }

    #[test]
    fn eight_bit_forms_are_recognised() {
        assert_eq!(clean("a\u{9b}2Jb"), "a⟪CSI 2J⟫b");
        assert_eq!(clean("\u{9d}0;pwned\u{9c}after"), "⟪OSC 0 title 5B⟫after");
        assert_eq!(clean("\u{9d}0;pwned\x07"), "⟪OSC 0 title 5B⟫");
        assert_eq!(clean("\u{90}$qm\u{9c}"), "⟪DCS DECRQSS 3B⟫");
        assert_eq!(
            clean("\u{9f}Gx\u{9c}\u{9e}p\u{9c}\u{98}s\u{9c}"),
            "⟪APC kitty graphics 2B⟫⟪PM 1B⟫⟪SOS 1B⟫"
        );
        assert_eq!(clean("next\u{85}line \u{9c}"), "next⟪U+0085⟫line ⟪U+009C⟫");
    }

    #[test]
    fn two_byte_escape_sequences_become_one_marker() {
        assert_eq!(clean("\x1bc"), "⟪ESC c⟫");
        assert_eq!(clean("\x1b7x\x1b8"), "⟪ESC 7⟫x⟪ESC 8⟫");
        assert_eq!(clean("\x1b(B\x1b#8"), "⟪ESC ( B⟫⟪ESC # 8⟫");
        assert_eq!(clean("\x1b F"), "⟪ESC SP F⟫");
        assert_eq!(clean("lone\x1b\\"), "lone⟪ESC \\⟫");
    }

    #[test]
    fn unterminated_sequences_mark_the_introducer_and_show_the_rest() {
        assert_eq!(clean("end\x1b"), "end␛");
        assert_eq!(clean("end\x1b["), "end⟪CSI…⟫");
        assert_eq!(clean("end\x1b[12;"), "end⟪CSI 12;…⟫");
        assert_eq!(clean("end\x1b(("), "end⟪ESC ( (…⟫");
        assert_eq!(clean("end\x1b]0;title"), "end⟪OSC…⟫0;title");
        assert_eq!(clean("end\x1bP"), "end⟪DCS…⟫");
        assert_eq!(clean("end\u{9d}"), "end⟪OSC…⟫");
        assert_eq!(clean("\x1b_Gq=2;"), "⟪APC…⟫Gq=2;");
        // Mojibake (UTF-8 read as Latin-1 turns "ß" into "Ã" + U+009F, an 8-bit APC) keeps its text.
        assert_eq!(
            clean("Stra\u{c3}\u{9f}e 12, level=error"),
            "StraÃ⟪APC…⟫e 12, level=error"
        );
        // ESC followed by something that is no sequence is shown as a control picture.
        assert_eq!(clean("\x1b\x1b[2J"), "␛⟪CSI 2J⟫");
        assert_eq!(clean("\x1bé"), "␛é");
    }

    #[test]
    fn a_broken_sequence_leaves_what_broke_it_visible() {
        assert_eq!(clean("\x1b[12\x07x"), "⟪CSI 12…⟫␇x");
        assert_eq!(clean("\x1b]0;ab\x18cd"), "⟪OSC 0 title 2B…⟫␘cd");
        assert_eq!(clean("\x1b]0;ab\x1b[2J"), "⟪OSC 0 title 2B…⟫⟪CSI 2J⟫");
    }

    #[test]
    fn overlong_sequences_do_not_swallow_the_line() {
        let params = "1;".repeat(100);
        assert_eq!(
            clean(&format!("\x1b[{params}Hvisible")),
            format!("⟪CSI…⟫{params}Hvisible")
        );
        let params = "1;".repeat(20);
        assert_eq!(clean(&format!("\x1b[{params}\x07")), format!("⟪CSI…⟫{params}␇"));
        // Parameters that fit the cap and end properly are one sequence, shown cut short.
        let params = "1;".repeat(MAX_PARAM_BYTES / 2 - 1);
        assert_eq!(
            clean(&format!("\x1b[{params}Hx")),
            format!("⟪CSI {}…H⟫x", &params[..SHOWN_PARAMS])
        );
        assert_eq!(clean("\x1b((((((((((B"), "⟪ESC…⟫((((((((((B");

        // A string whose terminator comes too late is not taken whole: its payload shows as text.
        let payload = "A".repeat(MAX_STRING_BYTES + 10);
        let out = clean(&format!("\x1b]52;c;{payload}\x07tail"));
        assert_eq!(out, format!("⟪OSC…⟫52;c;{payload}␇tail"));
        // One that just fits is.
        let payload = "A".repeat(MAX_STRING_BYTES - 5);
        let out = clean(&format!("\x1b]52;c;{payload}\x07tail"));
        assert_eq!(out, format!("⟪OSC 52 clipboard {}B⟫tail", MAX_STRING_BYTES - 3));
        let out = clean(&format!("\x1b]52;c;{payload}A\x07tail"));
        assert!(out.starts_with("⟪OSC…⟫52;c;AAA"), "{}", &out[..20]);
    }

    #[test]
    fn c0_del_bidi_and_invisible_characters_are_marked() {
        assert_eq!(clean("a\x00b\x08c\x7f"), "a␀b␈c␡");
        assert_eq!(clean("user\u{202e}gnp.exe"), "user⟪RLO⟫gnp.exe");
        assert_eq!(
            clean("\u{2066}\u{2067}\u{2068}\u{2069}\u{200e}\u{200f}\u{61c}"),
            "⟪LRI⟫⟪RLI⟫⟪FSI⟫⟪PDI⟫⟪LRM⟫⟪RLM⟫⟪ALM⟫"
        );
        assert_eq!(
            clean("ad\u{200b}m\u{200c}i\u{200d}n\u{2060}\u{feff}"),
            "ad⟪ZWSP⟫m⟪ZWNJ⟫i⟪ZWJ⟫n⟪WJ⟫⟪BOM⟫"
        );
        assert_eq!(clean("soft\u{ad}\u{180e}\u{2062}"), "soft⟪SHY⟫⟪MVS⟫⟪U+2062⟫");
        assert_eq!(clean("a\u{2028}b\u{2029}"), "a⟪LS⟫b⟪PS⟫");
        // Tag characters outside a flag sequence smuggle invisible ASCII.
        assert_eq!(clean("hi\u{e0041}"), "hi⟪U+E0041⟫");
        // Variation selectors stay.
        assert_eq!(clean("❤\u{fe0f}"), "❤\u{fe0f}");
    }

    #[test]
    fn combining_marks_are_capped_per_character() {
        let zalgo = format!("a{}b", "\u{301}".repeat(1000));
        let out = clean(&zalgo);
        assert_eq!(
            out,
            format!(
                "a{}⟪+{} marks⟫b",
                "\u{301}".repeat(MAX_COMBINING_MARKS),
                1000 - MAX_COMBINING_MARKS
            )
        );
        assert_eq!(clean(&out), out);
        let ok = format!("a{}", "\u{301}".repeat(MAX_COMBINING_MARKS));
        assert!(is_inert_line(&ok));
    }

    #[test]
    fn tabs_expand_to_tab_stops_counting_display_columns() {
        assert_eq!(clean("a\tb"), "a       b");
        assert_eq!(clean("\t"), "        ");
        assert_eq!(clean("日本\tx"), "日本    x");
        assert_eq!(clean("\x1b[2J\tx"), "⟪CSI 2J⟫        x");
        let out = clean("\x07\tx");
        assert_eq!(out.width(), 9, "{out}");
    }

    #[test]
    fn long_lines_are_cut_within_the_budget() {
        let long = "x".repeat(MAX_LINE_BYTES + 100);
        let cut = clean(&long);
        assert!(cut.len() <= MAX_LINE_BYTES);
        assert!(
            cut.ends_with(&format!("…[+{} bytes]", 100 + CUT_RESERVE)),
            "{}",
            &cut[cut.len() - 20..]
        );
        assert_eq!(clean(&cut), cut);

        // Markers near the end: the output still fits and the count is of input bytes left.
        let hostile = "\x1b[2J".repeat(MAX_LINE_BYTES / 4);
        let cut = clean(&hostile);
        assert!(cut.len() <= MAX_LINE_BYTES, "{}", cut.len());
        let shown = cut.matches("⟪CSI 2J⟫").count();
        assert!(
            cut.ends_with(&format!("…[+{} bytes]", hostile.len() - 4 * shown)),
            "{}",
            &cut[cut.len() - 30..]
        );

        // A line that only grows past the limit when markers replace controls is cut too.
        let grows = "\x07".repeat(MAX_LINE_BYTES / 2);
        assert!(clean(&grows).len() <= MAX_LINE_BYTES);
    }

    #[test]
    fn one_line_flattens_newlines_only_from_real_controls() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
        assert_eq!(sanitize("a\nb"), "a␊b");
        // A literal control picture is text, not a newline.
        assert_eq!(one_line("a␊b"), "a␊b");
    }

    #[test]
    fn markers_are_one_column_per_character() {
        for marker in ["⟪CSI 2J⟫", "⟪RLO⟫", "…[+1 bytes]", "␛␇␡"] {
            assert_eq!(marker.width(), marker.chars().count(), "{marker}");
        }
    }
}
