//! Logs pane state: the byte-capped buffer, the view options (follow, wrap, timestamps, minimum
//! level), the filter (a regex, `!` negates; smart case) and the index of lines that pass it, which
//! is built newest-first in slices so a filter over a large buffer shows its first screen at once
//! and finishes in the background, then kept up to date as lines arrive and age out.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::app::list::{ListView, TextFilter};
use crate::domain::log::{LogBuffer, LogLevel, LogLine, LogRef};

/// Lines examined per slice of a background filter.
pub const SCAN_SLICE: usize = 65_536;

/// The compiled `/` filter of the Logs pane.
#[derive(Debug, Clone)]
pub struct LogQuery {
    pub negate: bool,
    regex: Regex,
    /// The same pattern, case-sensitive, for ASCII lines lower-cased first: the regex crate's
    /// case-insensitive search is up to 3x slower when a literal has many letters (its prefilter
    /// falls back to short case variants that hit every line). Only for patterns where folding the
    /// line is the same as `(?i)` (see `foldable`).
    folded: Option<Regex>,
    /// The pattern was not a valid regex, so it is matched literally.
    pub literal: bool,
}

/// Whether matching `pattern` (which has no upper-case letter) case-sensitively against an
/// ASCII-lower-cased line is the same as matching it case-insensitively: ASCII, no inline flags,
/// no POSIX classes, no escapes that could name an upper-case letter (`\x41`, `\u{..}`, `\p{..}`).
fn foldable(pattern: &str) -> bool {
    if !pattern.is_ascii() || pattern.contains("(?") || pattern.contains("[:") {
        return false;
    }
    let mut bytes = pattern.bytes();
    while let Some(b) = bytes.next() {
        if b == b'\\' {
            match bytes.next() {
                Some(b'd' | b's' | b'w' | b'b' | b'n' | b't') => {}
                Some(c) if c.is_ascii_punctuation() || c == b' ' => {}
                _ => return false,
            }
        }
    }
    true
}

impl LogQuery {
    /// `!` in front negates; the rest is a regex, case-insensitive unless it has an upper-case
    /// letter (smart case); an invalid regex is taken literally rather than refused.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (negate, pattern) = match text.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, text),
        };
        if pattern.is_empty() {
            return None;
        }
        let insensitive = !pattern.chars().any(char::is_uppercase);
        let build = |p: &str| {
            regex::RegexBuilder::new(p)
                .case_insensitive(insensitive)
                .size_limit(1 << 22)
                .build()
        };
        let (regex, literal) = match build(pattern) {
            Ok(r) => (r, false),
            Err(_) => (build(&regex::escape(pattern)).ok()?, true),
        };
        let folded = if insensitive && foldable(pattern) {
            let source = if literal {
                regex::escape(pattern)
            } else {
                pattern.to_string()
            };
            regex::RegexBuilder::new(&source).size_limit(1 << 22).build().ok()
        } else {
            None
        };
        Some(Self {
            negate,
            regex,
            folded,
            literal,
        })
    }

    pub fn matches(&self, line: &LogRef<'_>) -> bool {
        let hit = self.regex.is_match(line.text) || self.regex.is_match(line.source);
        hit != self.negate
    }

    /// Whether the pattern matches `text` (not negated), lower-casing an ASCII line into
    /// `lower` when that is faster and the same.
    pub fn is_match_text(&self, text: &str, lower: &mut String) -> bool {
        match &self.folded {
            Some(folded) if text.is_ascii() => {
                lower.clear();
                lower.push_str(text);
                lower.make_ascii_lowercase();
                folded.is_match(lower)
            }
            _ => self.regex.is_match(text),
        }
    }

    /// Where the pattern matches in `text` (for highlighting), none when negated.
    pub fn find_iter<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
        self.regex
            .find_iter(text)
            .filter(|_| !self.negate)
            .map(|m| (m.start(), m.end()))
    }
}

#[derive(Debug, Clone)]
pub struct LogsPane {
    pub buffer: LogBuffer,
    /// Sequence numbers of the lines that pass the filter and level, oldest first; `None` when
    /// every line passes (no index is kept then: 0 extra bytes per line).
    index: Option<VecDeque<u64>>,
    /// A filter still being applied: lines below this sequence number are yet to be examined.
    scan_below: Option<u64>,
    pub list: ListView,
    pub query: Option<LogQuery>,
    pub min_level: Option<LogLevel>,
    pub follow: bool,
    pub wrap: bool,
    pub show_time: bool,
    /// Lines the sources said they dropped (rate limits, Loki's dropped entries).
    pub source_dropped: u64,
    /// Lines a second one source may add (0: no limit); the rest are dropped and counted, so a
    /// log storm cannot starve the cockpit.
    pub rate_limit: u32,
    /// Per source: the second being counted and the lines taken in it.
    rate_window: std::collections::HashMap<usize, (i64, u32)>,
    /// Per source name, where its lines come from (the LogQL query, the file, the command), for
    /// pinned lines.
    pub origins: std::collections::BTreeMap<String, String>,
}

/// Default lines per second per source.
pub const DEFAULT_RATE_LIMIT: u32 = 20_000;

/// Default byte budget of the log buffer.
pub const DEFAULT_CAP_BYTES: usize = 256 * 1024 * 1024;

impl Default for LogsPane {
    fn default() -> Self {
        Self::new(DEFAULT_CAP_BYTES)
    }
}

impl LogsPane {
    pub fn new(cap_bytes: usize) -> Self {
        Self {
            buffer: LogBuffer::new(cap_bytes),
            index: None,
            scan_below: None,
            list: ListView::default(),
            query: None,
            min_level: None,
            follow: true,
            wrap: false,
            show_time: true,
            source_dropped: 0,
            origins: Default::default(),
            rate_limit: DEFAULT_RATE_LIMIT,
            rate_window: Default::default(),
        }
    }

    fn passes(&self, line: &LogRef<'_>) -> bool {
        self.min_level
            .is_none_or(|min| line.level <= min && line.level != LogLevel::Unknown)
            && self.query.as_ref().is_none_or(|q| q.matches(line))
    }

    fn filtering(&self) -> bool {
        self.query.is_some() || self.min_level.is_some()
    }

    pub fn with_rate_limit(mut self, lines_per_second: u32) -> Self {
        self.rate_limit = lines_per_second;
        self
    }

    /// Adds the lines of source `source` that arrived at `at`, within its rate limit.
    pub fn push_limited(&mut self, source: usize, mut lines: Vec<LogLine>, at: DateTime<Utc>) {
        if self.rate_limit > 0 {
            let second = at.timestamp();
            let window = self.rate_window.entry(source).or_insert((second, 0));
            if window.0 != second {
                *window = (second, 0);
            }
            let room = self.rate_limit.saturating_sub(window.1) as usize;
            if lines.len() > room {
                self.source_dropped += (lines.len() - room) as u64;
                lines.truncate(room);
            }
            window.1 += lines.len() as u32;
        }
        self.push(lines);
    }

    pub fn push(&mut self, lines: Vec<LogLine>) {
        let mut removed = 0;
        for line in &lines {
            let seq = self.buffer.first_seq() + self.buffer.len() as u64;
            let evicted = self.buffer.push(line);
            if self.index.is_none() {
                removed += evicted;
            }
            if self.filtering() {
                let passes = self.buffer.get(self.buffer.len() - 1).is_some_and(|l| self.passes(&l));
                if passes && let Some(index) = &mut self.index {
                    index.push_back(seq);
                }
            }
        }
        let first = self.buffer.first_seq();
        if let Some(index) = &mut self.index {
            while index.front().is_some_and(|&s| s < first) {
                index.pop_front();
                removed += 1;
            }
        }
        if self.scan_below.is_some_and(|s| s <= first) {
            self.scan_below = None;
        }
        // Keep the selection on the same line when old lines age out.
        let cursor = &mut self.list.cursor;
        cursor.selected = cursor.selected.saturating_sub(removed);
        cursor.offset = cursor.offset.saturating_sub(removed);
    }

    /// The sequence number of visible row `row`.
    fn seq_of(&self, row: usize) -> Option<u64> {
        match &self.index {
            Some(index) => index.get(row).copied(),
            None => (row < self.buffer.len()).then(|| self.buffer.first_seq() + row as u64),
        }
    }

    /// The line at visible row `row`.
    pub fn row(&self, row: usize) -> Option<LogRef<'_>> {
        let seq = self.seq_of(row)?;
        self.buffer.get(seq.checked_sub(self.buffer.first_seq())? as usize)
    }

    pub fn rows(&self) -> usize {
        self.index.as_ref().map_or(self.buffer.len(), VecDeque::len)
    }

    /// Whether a filter is still being applied in the background, and how far it got (0..1).
    pub fn scanning(&self) -> Option<f64> {
        let below = self.scan_below?;
        let first = self.buffer.first_seq();
        let total = self.buffer.len().max(1) as f64;
        Some(1.0 - (below.saturating_sub(first)) as f64 / total)
    }

    /// Examines up to `limit` more lines of a filter in progress, newest first. Returns whether
    /// work remains.
    pub fn scan_step(&mut self, limit: usize) -> bool {
        let Some(below) = self.scan_below else {
            return false;
        };
        let first = self.buffer.first_seq();
        let stop = below.saturating_sub(limit as u64).max(first);
        let mut found: Vec<u64> = Vec::new();
        // The same test as `passes`, without building a `LogRef` per line (its timestamp
        // conversion and source lookups cost about a third of a scan) and asking the regex about
        // each source name once rather than on every line that misses.
        let mut source_hits: Vec<Option<bool>> = Vec::new();
        let mut lower = String::new();
        for seq in (stop..below).rev() {
            let Some((text, level, slot)) = self.buffer.scan_fields((seq - first) as usize) else {
                continue;
            };
            if self
                .min_level
                .is_some_and(|min| level > min || level == LogLevel::Unknown)
            {
                continue;
            }
            if let Some(q) = &self.query {
                let i = usize::from(slot);
                if source_hits.len() <= i {
                    source_hits.resize(i + 1, None);
                }
                let source_hit = *source_hits[i].get_or_insert_with(|| q.regex.is_match(self.buffer.source_name(slot)));
                if (source_hit || q.is_match_text(text, &mut lower)) == q.negate {
                    continue;
                }
            }
            found.push(seq);
        }
        let added = found.len();
        if let Some(index) = &mut self.index {
            for seq in found {
                index.push_front(seq);
            }
        }
        // Rows were added above the selection: keep it on the same line.
        self.list.cursor.selected += added;
        self.list.cursor.offset += added;
        self.scan_below = (stop > first).then_some(stop);
        self.scan_below.is_some()
    }

    /// Rebuilds the index for the current filter and level: the newest `SCAN_SLICE` lines at
    /// once, the rest by `scan_step`, keeping the selection on the same line where it can.
    fn rebuild(&mut self) {
        let before = self.seq_of(self.list.cursor.selected);
        if !self.filtering() {
            self.index = None;
            self.scan_below = None;
        } else {
            self.index = Some(VecDeque::new());
            self.scan_below = Some(self.buffer.first_seq() + self.buffer.len() as u64);
            self.list.cursor.selected = 0;
            self.list.cursor.offset = 0;
            self.scan_step(SCAN_SLICE);
        }
        self.reselect(before);
    }

    /// Runs a filter in progress to the end (tests, benchmarks, `warroom` one-shots).
    pub fn finish_scan(&mut self) {
        while self.scan_step(SCAN_SLICE) {}
    }

    fn reselect(&mut self, before: Option<u64>) {
        let len = self.rows();
        let row = match (before, &self.index) {
            (None, _) => len.saturating_sub(1),
            (Some(seq), None) => (seq.saturating_sub(self.buffer.first_seq())) as usize,
            (Some(seq), Some(index)) => index.partition_point(|&s| s < seq),
        };
        self.list.cursor.selected = row.min(len.saturating_sub(1));
    }

    pub fn set_min_level(&mut self, level: Option<LogLevel>) {
        self.min_level = level;
        self.rebuild();
    }

    /// The next (or previous) visible row after `from` whose line satisfies `wanted`.
    pub fn find_row(&self, from: usize, forward: bool, wanted: impl Fn(&LogRef<'_>) -> bool) -> Option<usize> {
        let len = self.rows();
        if forward {
            (from + 1..len).find(|&r| self.row(r).is_some_and(|l| wanted(&l)))
        } else {
            (0..from.min(len))
                .rev()
                .find(|&r| self.row(r).is_some_and(|l| wanted(&l)))
        }
    }

    /// The first visible row at or after `at` (lines are kept in arrival order, which is close to
    /// time order; the first line at or past the time wins).
    pub fn row_at_time(&self, at: DateTime<Utc>) -> Option<usize> {
        let len = self.rows();
        (0..len)
            .find(|&r| self.row(r).is_some_and(|l| l.at >= at))
            .or_else(|| len.checked_sub(1))
    }
}

impl super::ListPane for LogsPane {
    fn list(&self) -> &ListView {
        &self.list
    }
    fn list_mut(&mut self) -> &mut ListView {
        &mut self.list
    }
    fn visible_len(&self) -> usize {
        self.rows()
    }
    fn set_filter(&mut self, filter: Option<TextFilter>) {
        self.query = filter.as_ref().and_then(|f| LogQuery::parse(f.text()));
        self.list.filter = filter;
        self.rebuild();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::panes::ListPane;
    use chrono::TimeZone;

    fn line(text: &str) -> LogLine {
        LogLine::new(Utc.timestamp_opt(0, 0).single().unwrap_or_default(), "app".into(), text)
    }

    fn texts(pane: &LogsPane) -> Vec<String> {
        (0..pane.rows())
            .filter_map(|r| pane.row(r).map(|l| l.text.to_string()))
            .collect()
    }

    #[test]
    fn filter_index_tracks_new_and_evicted_lines() {
        let mut pane = LogsPane::new(4 * (13 + 32));
        pane.push(vec![line("a level=error"), line("b level=info")]);
        pane.set_filter(TextFilter::new("error"));
        assert_eq!(pane.rows(), 1);
        pane.push(vec![line("c level=error"), line("d level=error"), line("e level=info")]);
        // Capacity four: "a" was evicted, so the index holds c and d.
        assert_eq!(texts(&pane), vec!["c level=error", "d level=error"]);
        pane.set_filter(None);
        assert_eq!(pane.visible_len(), 4);
        assert_eq!(pane.row(3).map(|l| &l.text[..1]), Some("e"));
    }

    #[test]
    fn regex_negation_smart_case_and_literal_fallback() {
        let mut pane = LogsPane::new(1 << 20);
        pane.push(vec![
            line("GET /api/orders 200"),
            line("POST /api/orders 500"),
            line("get /healthz 200"),
            line("weird [ bracket"),
        ]);
        pane.set_filter(TextFilter::new(r"/api/\w+ 5\d\d"));
        assert_eq!(texts(&pane), vec!["POST /api/orders 500"]);
        pane.set_filter(TextFilter::new("!orders"));
        assert_eq!(texts(&pane), vec!["get /healthz 200", "weird [ bracket"]);
        pane.set_filter(TextFilter::new("get"));
        assert_eq!(pane.rows(), 2, "lower case matches either case");
        pane.set_filter(TextFilter::new("GET"));
        assert_eq!(pane.rows(), 1, "an upper-case letter makes it case-sensitive");
        pane.set_filter(TextFilter::new("["));
        assert_eq!(texts(&pane), vec!["weird [ bracket"]);
        assert!(pane.query.as_ref().is_some_and(|q| q.literal));
    }

    #[test]
    fn large_buffers_filter_newest_first_in_slices_keeping_the_selection() {
        let mut pane = LogsPane::new(1 << 30);
        let lines: Vec<LogLine> = (0..(SCAN_SLICE * 2 + 10))
            .map(|i| line(&format!("n={i} level={}", if i % 10 == 0 { "error" } else { "info" })))
            .collect();
        pane.push(lines);
        pane.set_filter(TextFilter::new("level=error"));
        // The newest slice is there at once; the rest follows in steps.
        let first_pass = pane.rows();
        assert!(
            first_pass > 0 && first_pass < (SCAN_SLICE * 2 + 10) / 10,
            "{first_pass}"
        );
        assert!(pane.scanning().is_some());
        let selected = pane.row(pane.list.cursor.selected).map(|l| l.text.to_string());
        pane.finish_scan();
        assert_eq!(pane.rows(), (SCAN_SLICE * 2 + 10).div_ceil(10));
        assert_eq!(pane.scanning(), None);
        assert_eq!(
            pane.row(pane.list.cursor.selected).map(|l| l.text.to_string()),
            selected
        );
        assert_eq!(
            pane.row(0).map(|l| l.text.to_string()).as_deref(),
            Some("n=0 level=error")
        );
    }

    #[test]
    fn a_storm_beyond_the_rate_limit_is_dropped_and_counted_per_source_and_second() {
        let mut pane = LogsPane::new(1 << 20).with_rate_limit(100);
        let at = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap_or_default();
        let burst = |n: usize| (0..n).map(|i| line(&format!("l{i}"))).collect::<Vec<_>>();
        pane.push_limited(0, burst(80), at(0));
        pane.push_limited(0, burst(80), at(0));
        pane.push_limited(1, burst(50), at(0));
        assert_eq!(pane.rows(), 100 + 50);
        assert_eq!(pane.source_dropped, 60);
        // A new second refills.
        pane.push_limited(0, burst(80), at(1));
        assert_eq!(pane.rows(), 230);
        assert_eq!(pane.source_dropped, 60);
        let mut unlimited = LogsPane::new(1 << 20).with_rate_limit(0);
        unlimited.push_limited(0, burst(5000), at(0));
        assert_eq!((unlimited.rows(), unlimited.source_dropped), (5000, 0));
    }

    #[test]
    fn folded_matching_agrees_with_case_insensitive_matching() {
        let lines = [
            "status=503 DB Deadlock",
            "STATUS=200 ok",
            "Level=Info x",
            "é status=5xx",
            "a\tb [x]",
        ];
        for pattern in [
            r"status=5\d\d",
            "db deadlock",
            "level=info",
            r"\[x\]",
            "[^a-z]+",
            r"\x41",
            "(?-i)ok",
            "[[:upper:]]",
        ] {
            let q = LogQuery::parse(pattern).unwrap_or_else(|| panic!("{pattern}"));
            let mut lower = String::new();
            for line in lines {
                assert_eq!(
                    q.is_match_text(line, &mut lower),
                    q.regex.is_match(line),
                    "{pattern} on {line}"
                );
            }
        }
        assert!(LogQuery::parse(r"status=5\d\d").is_some_and(|q| q.folded.is_some()));
        assert!(LogQuery::parse(r"\x41").is_some_and(|q| q.folded.is_none()));
    }

    #[test]
    fn minimum_level_and_jumps() {
        let mut pane = LogsPane::new(1 << 20);
        pane.push(vec![
            line("level=info msg=a x=1"),
            line("level=error msg=b x=1"),
            line("level=warn msg=c x=1"),
            line("level=debug msg=d x=1"),
            line("level=error msg=e x=1"),
        ]);
        let err = |l: &LogRef<'_>| l.level == LogLevel::Error;
        assert_eq!(pane.find_row(0, true, err), Some(1));
        assert_eq!(pane.find_row(1, true, err), Some(4));
        assert_eq!(pane.find_row(4, false, err), Some(1));
        assert_eq!(pane.find_row(4, true, err), None);
        pane.set_min_level(Some(LogLevel::Warn));
        assert_eq!(texts(&pane).len(), 3);
        pane.set_min_level(None);
        assert_eq!(pane.rows(), 5);
    }
}
