//! Log lines: what a source hands over (`LogLine`: sanitised, with its format, level, timestamp,
//! message, request id and trace id found), and the buffer that keeps them (`LogBuffer`: the texts
//! packed into large chunks, 32 bytes of metadata per line, capped in bytes, oldest out first,
//! counting what it had to drop).

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::sanitize::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    #[default]
    Unknown,
}

impl LogLevel {
    pub fn parse(word: &str) -> Self {
        // Lower-cased on the stack: this runs for every line.
        let mut buf = [0u8; 12];
        let Some(lower) = buf.get_mut(..word.len()) else {
            return Self::Unknown;
        };
        lower.copy_from_slice(word.as_bytes());
        lower.make_ascii_lowercase();
        match &*lower {
            b"error" | b"err" | b"e" | b"fatal" | b"critical" | b"crit" | b"panic" | b"emerg" | b"alert"
            | b"severe" => Self::Error,
            b"warn" | b"warning" | b"w" => Self::Warn,
            b"info" | b"notice" | b"information" | b"i" => Self::Info,
            b"debug" | b"trace" | b"dbg" | b"d" | b"fine" => Self::Debug,
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

    const ALL: [LogLevel; 5] = [Self::Error, Self::Warn, Self::Info, Self::Debug, Self::Unknown];

    fn from_u8(v: u8) -> Self {
        Self::ALL.get(usize::from(v)).copied().unwrap_or(Self::Unknown)
    }
}

/// How a line is structured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineFormat {
    #[default]
    Plain,
    Json,
    Logfmt,
}

impl LineFormat {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Json,
            2 => Self::Logfmt,
            _ => Self::Plain,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Plain => 0,
            Self::Json => 1,
            Self::Logfmt => 2,
        }
    }
}

/// Where the interesting fields sit in a line's text (byte offsets; a length of 0 is "absent").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineFields {
    pub format: LineFormat,
    pub message: (u16, u16),
    pub request_id: (u16, u8),
    pub trace_id: (u16, u8),
}

/// One line as a source hands it over.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    /// Name of the `[[logs]]` source (or the simulator's stream).
    pub source: Arc<str>,
    pub level: LogLevel,
    /// Sanitised: safe to show.
    pub text: String,
    pub fields: LineFields,
    /// The stream the line came in (Loki's stream labels, `{app="odin",pod="…"}`), when known.
    pub stream: Option<Arc<str>>,
}

/// Longest text the buffer keeps per line (the sanitiser cuts long lines well before this).
pub const MAX_STORED_BYTES: usize = u16::MAX as usize;

/// Metadata bytes per retained line in the buffer.
pub const META_BYTES: usize = 32;

impl LogLine {
    /// Sanitises `raw`, finds its structure, and takes the line's own timestamp when it has one
    /// (else `at`, the time the source saw it).
    pub fn new(at: DateTime<Utc>, source: Arc<str>, raw: &str) -> Self {
        let mut text = sanitize(raw).into_owned();
        if text.len() > MAX_STORED_BYTES {
            let mut end = MAX_STORED_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        let parsed = parse(&text);
        Self {
            at: parsed.at.unwrap_or(at),
            source,
            level: parsed.level,
            text,
            fields: parsed.fields,
            stream: None,
        }
    }

    /// Bytes this line costs in the buffer: its text plus the fixed metadata.
    pub fn cost(&self) -> usize {
        self.text.len() + META_BYTES
    }

    pub fn message(&self) -> &str {
        span(&self.text, self.fields.message.0, self.fields.message.1).unwrap_or(&self.text)
    }

    pub fn request_id(&self) -> Option<&str> {
        span(
            &self.text,
            self.fields.request_id.0,
            u16::from(self.fields.request_id.1),
        )
    }

    pub fn trace_id(&self) -> Option<&str> {
        span(&self.text, self.fields.trace_id.0, u16::from(self.fields.trace_id.1))
    }
}

fn span(text: &str, start: u16, len: u16) -> Option<&str> {
    if len == 0 {
        return None;
    }
    let start = usize::from(start);
    text.get(start..start + usize::from(len))
}

/// What `parse` found in a line.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Parsed {
    pub at: Option<DateTime<Utc>>,
    pub level: LogLevel,
    pub fields: LineFields,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Level,
    Time,
    Message,
    RequestId,
    TraceId,
}

fn key_of(name: &str) -> Option<Key> {
    Some(match name {
        "level" | "lvl" | "severity" | "loglevel" | "log.level" | "levelname" | "@level" => Key::Level,
        "ts" | "time" | "timestamp" | "@timestamp" | "t" | "datetime" => Key::Time,
        "msg" | "message" | "@message" | "log" | "event" => Key::Message,
        "request_id" | "req_id" | "requestId" | "request-id" | "requestid" | "x_request_id" | "rid" => Key::RequestId,
        "trace_id" | "traceId" | "traceID" | "trace" | "trace.id" | "dd.trace_id" | "otel.trace_id" => Key::TraceId,
        _ => return None,
    })
}

/// Finds the format, level, timestamp, message, request id and trace id of a line: a JSON object,
/// logfmt `key=value` pairs, or plain text (a leading timestamp and a level word).
pub fn parse(text: &str) -> Parsed {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let offset = text.len() - trimmed.len();
        if let Some(p) = parse_json(trimmed, offset) {
            return p;
        }
    }
    if let Some(p) = parse_logfmt(text) {
        return p;
    }
    parse_plain(text)
}

/// Records a found field into `p`.
fn found(p: &mut Parsed, key: Key, value: &str, start: usize) {
    match key {
        Key::Level => {
            if p.level == LogLevel::Unknown {
                p.level = LogLevel::parse(value);
            }
        }
        Key::Time => {
            if p.at.is_none() {
                p.at = parse_time(value);
            }
        }
        Key::Message => {
            if p.fields.message.1 == 0
                && !value.is_empty()
                && let (Ok(s), Ok(l)) = (u16::try_from(start), u16::try_from(value.len()))
            {
                p.fields.message = (s, l);
            }
        }
        Key::RequestId | Key::TraceId => {
            let slot = if key == Key::RequestId {
                &mut p.fields.request_id
            } else {
                &mut p.fields.trace_id
            };
            if slot.1 == 0
                && !value.is_empty()
                && let (Ok(s), Ok(l)) = (u16::try_from(start), u8::try_from(value.len()))
            {
                *slot = (s, l);
            }
        }
    }
}

/// A flat scan of a JSON object's top-level members (nested values are skipped, string values
/// are taken raw: escapes stay as written). `None` when it is not an object after all.
fn parse_json(text: &str, offset: usize) -> Option<Parsed> {
    let bytes = text.as_bytes();
    let mut p = Parsed {
        fields: LineFields {
            format: LineFormat::Json,
            ..LineFields::default()
        },
        ..Parsed::default()
    };
    let mut i = 1;
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    // The end of a JSON string starting after its opening quote at `i`.
    let string_end = |mut i: usize| -> Option<usize> {
        loop {
            let j = i + memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
            if bytes[j] == b'"' {
                return Some(j);
            }
            i = j + 2;
        }
    };
    loop {
        skip_ws(&mut i);
        match bytes.get(i)? {
            b'}' => return Some(p),
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_start = i + 1;
        let key_end = string_end(key_start)?;
        let key = text.get(key_start..key_end)?;
        i = key_end + 1;
        skip_ws(&mut i);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        skip_ws(&mut i);
        let (value_start, value_end, next) = match bytes.get(i)? {
            b'"' => {
                let end = string_end(i + 1)?;
                (i + 1, end, end + 1)
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                loop {
                    match bytes.get(j)? {
                        b'"' => j = string_end(j + 1)?,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                (i, i, j + 1)
            }
            _ => {
                let mut j = i;
                while j < bytes.len() && !matches!(bytes[j], b',' | b'}') && !bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                (i, j, j)
            }
        };
        if let Some(k) = key_of(key) {
            let value = text.get(value_start..value_end).unwrap_or("");
            found(&mut p, k, value, offset + value_start);
        }
        i = next;
    }
}

/// logfmt: whitespace-separated `key=value` or `key="quoted value"`; a leading bare timestamp or
/// level word is allowed. `None` unless at least two pairs are found.
fn parse_logfmt(text: &str) -> Option<Parsed> {
    let bytes = text.as_bytes();
    let mut p = Parsed {
        fields: LineFields {
            format: LineFormat::Logfmt,
            ..LineFields::default()
        },
        ..Parsed::default()
    };
    let mut pairs = 0;
    // Up to three leading bare words (a timestamp, a level), kept without allocating.
    let mut bare = [(0usize, 0usize); 3];
    let mut bare_len = 0;
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b' ' {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] == b' ' {
            if let Some(slot) = bare.get_mut(bare_len) {
                *slot = (start, i);
                bare_len += 1;
            }
            continue;
        }
        let key = &text[start..i];
        i += 1;
        let (value_start, value_end) = if bytes.get(i) == Some(&b'"') {
            let vs = i + 1;
            let mut j = vs;
            while let Some(k) = bytes.get(j..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
                j += k;
                if bytes[j] == b'"' {
                    break;
                }
                j += 2;
            }
            if bytes.get(j) != Some(&b'"') {
                j = bytes.len();
            }
            let end = j.min(bytes.len());
            i = (j + 1).min(bytes.len());
            (vs, end)
        } else {
            let vs = i;
            i = memchr::memchr(b' ', &bytes[i..]).map_or(bytes.len(), |k| i + k);
            (vs, i)
        };
        if key.is_empty() {
            continue;
        }
        pairs += 1;
        if let Some(k) = key_of(key) {
            let value = text.get(value_start..value_end).unwrap_or("");
            found(&mut p, k, value, value_start);
        }
    }
    if pairs < 2 {
        return None;
    }
    for &(s, e) in &bare[..bare_len] {
        let word = text.get(s..e).unwrap_or("");
        if p.at.is_none()
            && let Some(t) = parse_time(word)
        {
            p.at = Some(t);
        } else if p.level == LogLevel::Unknown {
            p.level = LogLevel::parse(word.trim_matches(|c| c == '[' || c == ']' || c == ':'));
        }
    }
    Some(p)
}

/// Plain text: a leading timestamp (RFC 3339, or date and time as two words) and a level word
/// among the first few words ("ERROR", "[warn]", "E:").
fn parse_plain(text: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut words = text.split_ascii_whitespace().take(4);
    let mut previous: Option<&str> = None;
    for word in words.by_ref() {
        if p.at.is_none() {
            if let Some(t) = parse_time(word) {
                p.at = Some(t);
                previous = Some(word);
                continue;
            }
            if let Some(date) = previous
                && let Some(t) = parse_time(&format!("{date}T{word}"))
            {
                p.at = Some(t);
                continue;
            }
        }
        let level = LogLevel::parse(word.trim_matches(|c: char| matches!(c, '[' | ']' | ':' | '<' | '>')));
        if level != LogLevel::Unknown && word.len() > 1 {
            p.level = level;
            break;
        }
        previous = Some(word);
    }
    p
}

/// RFC 3339 (also with a space for the `T`, or without a zone meaning UTC), or a Unix epoch in
/// seconds, milliseconds, microseconds or nanoseconds.
pub fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim_matches('"');
    let first = value.as_bytes().first()?;
    if !first.is_ascii_digit() {
        return None;
    }
    if value.len() >= 19 && value.as_bytes().get(4) == Some(&b'-') {
        if let Ok(t) = DateTime::parse_from_rfc3339(value) {
            return Some(t.with_timezone(&Utc));
        }
        let fixed = value.replacen(' ', "T", 1).replacen(',', ".", 1);
        if let Ok(t) = DateTime::parse_from_rfc3339(&fixed) {
            return Some(t.with_timezone(&Utc));
        }
        return chrono::NaiveDateTime::parse_from_str(&fixed, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|n| n.and_utc());
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') && value.len() >= 9 {
        let number: f64 = value.parse().ok()?;
        let digits = value.split('.').next().map_or(0, str::len);
        let nanos = match digits {
            9..=11 => number * 1e9,
            12..=14 => number * 1e6,
            15..=17 => number * 1e3,
            18..=20 => number,
            _ => return None,
        };
        return Some(DateTime::from_timestamp_nanos(nanos as i64));
    }
    None
}

/// Finds `level=...` (logfmt) or `"level":"..."` (JSON) in a line.
pub fn detect_level(text: &str) -> LogLevel {
    parse(text).level
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

/// A retained line's 32 bytes of metadata; its text lives in a chunk.
#[derive(Debug, Clone, Copy)]
struct Record {
    chunk: u32,
    offset: u32,
    at_ms: i64,
    len: u16,
    source: u16,
    msg_start: u16,
    msg_len: u16,
    req_start: u16,
    trace_start: u16,
    req_len: u8,
    trace_len: u8,
    level: u8,
    format: u8,
}

/// A retained line, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRef<'a> {
    pub at: DateTime<Utc>,
    pub source: &'a str,
    pub level: LogLevel,
    pub format: LineFormat,
    pub text: &'a str,
    pub stream: Option<&'a str>,
    message: (u16, u16),
    request_id: (u16, u8),
    trace_id: (u16, u8),
}

impl<'a> LogRef<'a> {
    pub fn message(&self) -> &'a str {
        span(self.text, self.message.0, self.message.1).unwrap_or(self.text)
    }

    pub fn request_id(&self) -> Option<&'a str> {
        span(self.text, self.request_id.0, u16::from(self.request_id.1))
    }

    pub fn trace_id(&self) -> Option<&'a str> {
        span(self.text, self.trace_id.0, u16::from(self.trace_id.1))
    }
}

/// Bytes per text chunk: lines are never split across chunks.
const CHUNK_BYTES: usize = 1 << 20;

/// The retained log lines, oldest first, bounded by a byte budget (texts + 32 bytes each).
#[derive(Debug, Clone)]
pub struct LogBuffer {
    records: VecDeque<Record>,
    chunks: VecDeque<String>,
    /// Number of the chunk at the front of `chunks`.
    first_chunk: u32,
    /// Source names with their stream labels; a line's `source` field indexes this.
    sources: Vec<(Arc<str>, Option<Arc<str>>)>,
    source_lookup: std::collections::HashMap<(Arc<str>, Option<Arc<str>>), u16>,
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
            records: VecDeque::new(),
            chunks: VecDeque::new(),
            first_chunk: 0,
            sources: Vec::new(),
            source_lookup: std::collections::HashMap::new(),
            bytes: 0,
            cap_bytes,
            dropped: 0,
            first_seq: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes held by the count the cap applies to: texts plus 32 per line.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn cap_bytes(&self) -> usize {
        self.cap_bytes
    }

    /// Sequence number of the line at index 0.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    fn source_index(&mut self, name: &Arc<str>, stream: &Option<Arc<str>>) -> u16 {
        let same = |a: &Arc<str>, b: &Arc<str>| Arc::ptr_eq(a, b) || a.as_ref() == b.as_ref();
        // Runs of lines from one source are the common case: try the newest entry first.
        if let Some((i, (s, st))) = self.sources.iter().enumerate().next_back()
            && same(s, name)
            && match (st, stream) {
                (None, None) => true,
                (Some(a), Some(b)) => same(a, b),
                _ => false,
            }
        {
            return u16::try_from(i).unwrap_or(u16::MAX);
        }
        let key = (name.clone(), stream.clone());
        if let Some(&i) = self.source_lookup.get(&key) {
            return i;
        }
        if self.sources.len() >= usize::from(u16::MAX) {
            // Out of slots (65 535 streams): later streams share the last one's labels.
            return u16::MAX - 1;
        }
        self.sources.push((name.clone(), stream.clone()));
        let i = u16::try_from(self.sources.len() - 1).unwrap_or(u16::MAX);
        self.source_lookup.insert(key, i);
        i
    }

    fn text_of(&self, r: &Record) -> &str {
        let Some(chunk) = r
            .chunk
            .checked_sub(self.first_chunk)
            .and_then(|i| self.chunks.get(i as usize))
        else {
            return "";
        };
        let start = r.offset as usize;
        chunk.get(start..start + usize::from(r.len)).unwrap_or("")
    }

    fn view(&self, r: &Record) -> LogRef<'_> {
        LogRef {
            at: DateTime::from_timestamp_millis(r.at_ms).unwrap_or_default(),
            source: self.sources.get(usize::from(r.source)).map_or("?", |(s, _)| s.as_ref()),
            stream: self
                .sources
                .get(usize::from(r.source))
                .and_then(|(_, st)| st.as_deref()),
            level: LogLevel::from_u8(r.level),
            format: LineFormat::from_u8(r.format),
            text: self.text_of(r),
            message: (r.msg_start, r.msg_len),
            request_id: (r.req_start, r.req_len),
            trace_id: (r.trace_start, r.trace_len),
        }
    }

    pub fn get(&self, index: usize) -> Option<LogRef<'_>> {
        self.records.get(index).map(|r| self.view(r))
    }

    /// The text, level and source slot of line `index`, without building a `LogRef` (the
    /// filter's scan).
    pub fn scan_fields(&self, index: usize) -> Option<(&str, LogLevel, u16)> {
        self.records
            .get(index)
            .map(|r| (self.text_of(r), LogLevel::from_u8(r.level), r.source))
    }

    /// The name of source slot `slot` (as in `scan_fields`).
    pub fn source_name(&self, slot: u16) -> &str {
        self.sources.get(usize::from(slot)).map_or("?", |(s, _)| s.as_ref())
    }

    /// Just the text of line `index` (the filter's fast path).
    pub fn text(&self, index: usize) -> Option<&str> {
        self.records.get(index).map(|r| self.text_of(r))
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = LogRef<'_>> + ExactSizeIterator {
        self.records.iter().map(|r| self.view(r))
    }

    /// Appends a line, evicting the oldest ones while over the byte cap. Returns how many lines
    /// were evicted.
    pub fn push(&mut self, line: &LogLine) -> usize {
        let text = line.text.get(..line.text.len().min(MAX_STORED_BYTES)).unwrap_or("");
        let need_new = self
            .chunks
            .back()
            .is_none_or(|c| c.len() + text.len() > c.capacity().max(CHUNK_BYTES));
        if need_new {
            self.chunks
                .push_back(String::with_capacity(CHUNK_BYTES.max(text.len())));
        }
        let chunk_no = self.first_chunk + (self.chunks.len() as u32 - 1);
        let Some(chunk) = self.chunks.back_mut() else {
            return 0;
        };
        let offset = chunk.len() as u32;
        chunk.push_str(text);
        let source = self.source_index(&line.source, &line.stream);
        let f = line.fields;
        self.records.push_back(Record {
            chunk: chunk_no,
            offset,
            at_ms: line.at.timestamp_millis(),
            len: text.len() as u16,
            source,
            msg_start: f.message.0,
            msg_len: f.message.1,
            req_start: f.request_id.0,
            trace_start: f.trace_id.0,
            req_len: f.request_id.1,
            trace_len: f.trace_id.1,
            level: line.level as u8,
            format: f.format.to_u8(),
        });
        self.bytes += text.len() + META_BYTES;
        let mut evicted = 0;
        while self.bytes > self.cap_bytes && self.records.len() > 1 {
            if let Some(old) = self.records.pop_front() {
                self.bytes -= usize::from(old.len) + META_BYTES;
                evicted += 1;
            }
        }
        if let Some(front) = self.records.front() {
            while self.first_chunk < front.chunk && self.chunks.len() > 1 {
                self.chunks.pop_front();
                self.first_chunk += 1;
            }
        }
        self.dropped += evicted as u64;
        self.first_seq += evicted as u64;
        evicted
    }

    /// Bytes actually allocated for texts and metadata (for the memory benchmark).
    pub fn allocated_bytes(&self) -> usize {
        self.chunks.iter().map(String::capacity).sum::<usize>()
            + self.records.capacity() * std::mem::size_of::<Record>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).single().unwrap_or_default()
    }

    fn line(text: &str) -> LogLine {
        LogLine::new(t0(), "app".into(), text)
    }

    #[test]
    fn metadata_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Record>(), META_BYTES);
    }

    #[test]
    fn levels_and_fields_are_found_in_logfmt_and_json() {
        assert_eq!(detect_level("ts=1 level=error msg=boom"), LogLevel::Error);
        assert_eq!(detect_level(r#"{"ts":1,"level":"warn","msg":"slow"}"#), LogLevel::Warn);
        assert_eq!(detect_level(r#"{"level": "INFO"}"#), LogLevel::Info);
        assert_eq!(detect_level("no level here"), LogLevel::Unknown);
        assert_eq!(detect_level("sublevel=error x=1"), LogLevel::Unknown);
        assert_eq!(field_value(r#"request_id="r-1 2" x=1"#, "request_id"), Some("r-1 2"));
        assert_eq!(field_value(r#"{"request_id":"abc","x":1}"#, "request_id"), Some("abc"));
    }

    #[test]
    fn parse_table() {
        type Case = (
            &'static str,
            LineFormat,
            LogLevel,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                r#"2024-05-14T10:00:00.123Z level=error svc=api trace=00f1 msg="db deadlock detected" request_id=req-9"#,
                LineFormat::Logfmt,
                LogLevel::Error,
                Some("2024-05-14T10:00:00.123Z"),
                "db deadlock detected",
                Some("req-9"),
                Some("00f1"),
            ),
            (
                r#"{"ts":"2024-05-14T10:00:01.000Z","level":"warn","svc":"api","trace_id":"ab12","msg":"slow upstream","nested":{"a":[1,{"b":"}"}]},"status":429}"#,
                LineFormat::Json,
                LogLevel::Warn,
                Some("2024-05-14T10:00:01Z"),
                "slow upstream",
                None,
                Some("ab12"),
            ),
            (
                r#"{"time":1715680802.5,"severity":"ERROR","message":"boom \"quoted\"","requestId":"r1"}"#,
                LineFormat::Json,
                LogLevel::Error,
                Some("2024-05-14T10:00:02.500Z"),
                r#"boom \"quoted\""#,
                Some("r1"),
                None,
            ),
            (
                "2024-05-14 10:00:03,120 ERROR [main] connection refused",
                LineFormat::Plain,
                LogLevel::Error,
                Some("2024-05-14T10:00:03Z"),
                "2024-05-14 10:00:03,120 ERROR [main] connection refused",
                None,
                None,
            ),
            (
                "[WARN] disk almost full",
                LineFormat::Plain,
                LogLevel::Warn,
                None,
                "[WARN] disk almost full",
                None,
                None,
            ),
            (
                "{not json",
                LineFormat::Plain,
                LogLevel::Unknown,
                None,
                "{not json",
                None,
                None,
            ),
        ];
        for (text, format, level, at, message, request_id, trace_id) in cases {
            let l = line(text);
            assert_eq!(l.fields.format, format, "{text}");
            assert_eq!(l.level, level, "{text}");
            let want_at = at
                .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
                .map(|t| t.with_timezone(&Utc));
            if let Some(want) = want_at {
                assert_eq!(l.at.timestamp(), want.timestamp(), "{text}");
            } else {
                assert_eq!(l.at, t0(), "{text}: no timestamp keeps the source's");
            }
            assert_eq!(l.message(), message, "{text}");
            assert_eq!(l.request_id(), request_id, "{text}");
            assert_eq!(l.trace_id(), trace_id, "{text}");
        }
    }

    #[test]
    fn hostile_text_is_sanitised_before_it_is_stored() {
        let l = line("level=error msg=\"\x1b]52;c;ZXZpbA==\x07\" x=1");
        assert!(!l.text.contains('\x1b') && !l.text.contains('\x07'), "{:?}", l.text);
        assert_eq!(l.level, LogLevel::Error);
    }

    #[test]
    fn buffer_evicts_oldest_under_byte_cap_and_counts_drops() {
        let mut buffer = LogBuffer::new(3 * (10 + 32));
        for i in 0..5 {
            buffer.push(&line(&format!("line-{i:05}")));
        }
        assert_eq!(buffer.len(), 3);
        assert_eq!(buffer.dropped, 2);
        assert_eq!(buffer.first_seq(), 2);
        assert_eq!(buffer.get(0).map(|l| l.text), Some("line-00002"));
        assert!(buffer.bytes() <= 3 * 42);
    }

    #[test]
    fn chunks_are_freed_as_lines_age_out_and_fields_survive_storage() {
        let mut buffer = LogBuffer::new(3 * 1024 * 1024);
        let text = format!("level=warn msg=\"{}\" request_id=r-7", "x".repeat(1000));
        for _ in 0..10_000 {
            buffer.push(&line(&text));
        }
        assert!(buffer.chunks.len() <= 5, "{} chunks", buffer.chunks.len());
        assert!(buffer.allocated_bytes() < 6 * 1024 * 1024);
        let last = buffer.get(buffer.len() - 1).unwrap_or_else(|| panic!("empty"));
        assert_eq!(last.level, LogLevel::Warn);
        assert_eq!(last.request_id(), Some("r-7"));
        assert_eq!(last.message().len(), 1000);
        assert_eq!(last.source, "app");
        assert_eq!(buffer.iter().count(), buffer.len());
    }
}
