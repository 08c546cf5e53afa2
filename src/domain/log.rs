//! Log lines and the log buffer: capped in bytes, counting what it had to drop, oldest out first.
//! Lines are sanitised before they get here.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Unknown,
}

impl LogLevel {
    pub fn parse(word: &str) -> Self {
        match word.to_ascii_lowercase().as_str() {
            "error" | "err" | "fatal" | "critical" | "crit" | "panic" | "emerg" | "alert" => Self::Error,
            "warn" | "warning" => Self::Warn,
            "info" | "notice" | "information" => Self::Info,
            "debug" | "trace" | "dbg" => Self::Debug,
            _ => Self::Unknown,
        }
    }

    /// Three letters, so the level reads without colour.
    pub fn word(self) -> &'static str {
        match self {
            Self::Error => "ERR",
            Self::Warn => "WRN",
            Self::Info => "INF",
            Self::Debug => "DBG",
            Self::Unknown => "   ",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    /// Name of the `[[logs]]` source (or the simulator's stream).
    pub source: std::sync::Arc<str>,
    pub level: LogLevel,
    pub text: String,
}

impl LogLine {
    /// Bytes this line costs in the buffer: its text plus a fixed allowance for the metadata.
    pub fn cost(&self) -> usize {
        self.text.len() + 32
    }
}

/// Finds `level=...` (logfmt) or `"level":"..."` (JSON) in a line.
pub fn detect_level(text: &str) -> LogLevel {
    field_value(text, "level")
        .or_else(|| field_value(text, "lvl"))
        .map_or(LogLevel::Unknown, LogLevel::parse)
}

/// The value of a logfmt `key=value` / `key="value"` or JSON `"key":"value"` field, if present.
pub fn field_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    for (pos, _) in text.match_indices(key) {
        let before = text[..pos].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[pos + key.len()..];
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        let Some(rest) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':')) else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(quoted) = rest.strip_prefix('"') {
            return quoted.find('"').map(|end| &quoted[..end]);
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == ',' || c == '}')
            .unwrap_or(rest.len());
        return Some(&rest[..end]);
    }
    None
}

/// The retained log lines, oldest first, bounded by a byte budget.
#[derive(Debug, Clone)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    bytes: usize,
    cap_bytes: usize,
    /// Lines evicted to stay under the cap since the start.
    pub dropped: u64,
    /// Index of the first retained line counted from the start, so positions stay stable.
    first_seq: u64,
}

impl LogBuffer {
    pub fn new(cap_bytes: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            bytes: 0,
            cap_bytes,
            dropped: 0,
            first_seq: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Sequence number of the line at index 0.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    pub fn get(&self, index: usize) -> Option<&LogLine> {
        self.lines.get(index)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// Appends a line, evicting the oldest ones while over the byte cap. Returns how many lines
    /// were evicted.
    pub fn push(&mut self, line: LogLine) -> usize {
        self.bytes += line.cost();
        self.lines.push_back(line);
        let mut evicted = 0;
        while self.bytes > self.cap_bytes && self.lines.len() > 1 {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.cost();
                evicted += 1;
            }
        }
        self.dropped += evicted as u64;
        self.first_seq += evicted as u64;
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn line(text: &str) -> LogLine {
        LogLine {
            at: Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
            source: "app".into(),
            level: detect_level(text),
            text: text.into(),
        }
    }

    #[test]
    fn levels_and_fields_are_found_in_logfmt_and_json() {
        assert_eq!(detect_level("ts=1 level=error msg=boom"), LogLevel::Error);
        assert_eq!(detect_level(r#"{"ts":1,"level":"warn","msg":"slow"}"#), LogLevel::Warn);
        assert_eq!(detect_level(r#"{"level": "INFO"}"#), LogLevel::Info);
        assert_eq!(detect_level("no level here"), LogLevel::Unknown);
        assert_eq!(detect_level("sublevel=error"), LogLevel::Unknown);
        assert_eq!(field_value(r#"request_id="r-1 2" x=1"#, "request_id"), Some("r-1 2"));
        assert_eq!(field_value(r#"{"request_id":"abc","x":1}"#, "request_id"), Some("abc"));
    }

    #[test]
    fn buffer_evicts_oldest_under_byte_cap_and_counts_drops() {
        let mut buffer = LogBuffer::new(3 * (10 + 32));
        for i in 0..5 {
            buffer.push(line(&format!("line-{i:05}")));
        }
        assert_eq!(buffer.len(), 3);
        assert_eq!(buffer.dropped, 2);
        assert_eq!(buffer.first_seq(), 2);
        assert_eq!(buffer.get(0).map(|l| l.text.as_str()), Some("line-00002"));
        assert!(buffer.bytes() <= 3 * 42);
    }
}
