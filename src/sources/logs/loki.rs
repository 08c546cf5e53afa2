//! Loki as a log source: `query_range` polling with the configured LogQL (forward from the newest
//! entry already seen, paging when a response hits the limit, no duplicates at the boundary), or
//! the live `tail` over a WebSocket, reconnected with backoff and backfilled by `query_range`.
//! Parses Loki's response shapes and error bodies; never logs or shows the token.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{Batch, Sink};
use crate::app::msg::{Msg, SourceId};
use crate::config::secret::read_secret_file;
use crate::config::{HttpSource, LokiConfig};
use crate::domain::health::{FetchError, FetchErrorKind};
use crate::domain::log::LogLine;
use crate::domain::sanitize::one_line;
use crate::sources::clock::TimeSource;
use crate::sources::http::{Backoff, ClientError, Endpoint, body_snippet};

pub const QUERY_RANGE: &str = "/loki/api/v1/query_range";
pub const TAIL: &str = "/loki/api/v1/tail";
/// Lines asked for per request (Loki's default cap is 5000).
pub const LIMIT: usize = 1000;
/// How far back the first poll looks.
pub const LOOKBACK: Duration = Duration::from_secs(15 * 60);
/// Pause between polls when not tailing.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// Pages read in one round before yielding (the next round starts at once).
const MAX_PAGES: usize = 20;
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// A tail connection that lasted this long was healthy: the next reconnect waits the base delay.
const HEALTHY_TAIL: Duration = Duration::from_secs(30);
/// A tail silent this long is pinged; one that stays silent as long again is dead.
pub const PING_AFTER: Duration = Duration::from_secs(15);

/// A bearer token for the tail's WebSocket; never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Bearer(String);

impl Bearer {
    pub fn new(token: String) -> Self {
        Self(token)
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// Where the live tail connects.
#[derive(Debug, Clone)]
pub struct TailTarget {
    /// The Loki base URL with `ws://` or `wss://`, no trailing slash.
    pub base: String,
    pub token: Option<Bearer>,
    /// Trusted roots for `wss://` instead of the system's (the configured CA file).
    pub ca_file: Option<PathBuf>,
}

impl TailTarget {
    /// The tail of the Loki at `http_base` (`http://` becomes `ws://`, `https://` `wss://`).
    pub fn new(http_base: &str, token: Option<Bearer>, ca_file: Option<PathBuf>) -> Self {
        let base = http_base.trim_end_matches('/');
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_string()
        };
        Self { base, token, ca_file }
    }

    /// The tail URL for `query`, replaying from `start_ns` (best effort, at most `limit` lines).
    pub fn url(&self, query: &str, start_ns: i64, limit: usize) -> Result<String, LokiError> {
        let start = start_ns.to_string();
        let limit = limit.to_string();
        reqwest::Url::parse_with_params(
            &format!("{}{TAIL}", self.base),
            [
                ("query", query),
                ("start", start.as_str()),
                ("limit", limit.as_str()),
                ("delay_for", "0"),
            ],
        )
        .map(String::from)
        .map_err(|e| LokiError::Fetch(FetchError::new(FetchErrorKind::Other, format!("bad tail URL: {e}"))))
    }
}

#[derive(Debug, Clone)]
pub struct LokiFeed {
    pub source: SourceId,
    pub name: Arc<str>,
    pub endpoint: Endpoint,
    pub query: String,
    /// The live tail, when `tail = true`.
    pub tail: Option<TailTarget>,
    pub interval: Duration,
    pub limit: usize,
    pub lookback: Duration,
    pub backoff: Backoff,
    /// A silent tail is pinged after this long, and given up as long again later.
    pub ping_after: Duration,
}

impl LokiFeed {
    pub fn new(source: SourceId, name: Arc<str>, endpoint: Endpoint, query: String) -> Self {
        let seed = super::seed(&name);
        Self {
            source,
            name,
            endpoint,
            query,
            tail: None,
            interval: INTERVAL,
            limit: LIMIT,
            lookback: LOOKBACK,
            backoff: Backoff::new(BACKOFF_BASE, BACKOFF_CAP, seed),
            ping_after: PING_AFTER,
        }
    }

    /// The feed of a `loki = {…}` entry, through the one HTTP policy (`Endpoint::from_config`).
    pub fn from_config(
        source: SourceId,
        name: Arc<str>,
        config: &LokiConfig,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientError> {
        let http = HttpSource::api(
            &name,
            config.url.clone(),
            config.token.clone(),
            config.token_file.clone(),
            config.ca_file.clone(),
        );
        let endpoint = Endpoint::from_config(&name, &http, base_dir, env)?;
        let mut feed = Self::new(source, name, endpoint, config.query.clone().unwrap_or_default());
        if config.tail {
            let token = match (&config.token, &config.token_file) {
                (Some(secret), _) => Some(Bearer(secret.resolve(env)?)),
                (None, Some(file)) => Some(Bearer(read_secret_file(&base_dir.join(file))?)),
                (None, None) => None,
            };
            let ca_file = config.ca_file.as_ref().map(|f| base_dir.join(f));
            feed.tail = Some(TailTarget::new(&feed.endpoint.base, token, ca_file));
        }
        Ok(feed)
    }

    pub async fn run(mut self, time: TimeSource, tx: mpsc::Sender<Msg>, mut refresh: watch::Receiver<u64>) {
        let mut sink = Sink::new(self.source, time, tx);
        let mut cursor = Cursor::default();
        loop {
            let started = Instant::now();
            let outcome = match self.tail.clone() {
                Some(target) => self.tail_session(&target, &mut cursor, &mut sink).await,
                None => self.poll(&mut cursor, &mut sink).await,
            };
            let wait = match outcome {
                Ok(Polled::Gone) => return,
                Ok(Polled::More) => {
                    self.backoff.reset();
                    Duration::ZERO
                }
                Ok(Polled::Done) => {
                    self.backoff.reset();
                    self.interval
                }
                // The tail closed: reconnect (soon after a long healthy connection).
                Ok(Polled::Closed) => {
                    if started.elapsed() >= HEALTHY_TAIL {
                        self.backoff.reset();
                    }
                    self.backoff.next_delay()
                }
                Err(e) => {
                    if sink.error(e.into_fetch_error()).await.is_none() {
                        return;
                    }
                    self.backoff.next_delay()
                }
            };
            if !super::pause(wait, &mut refresh, &sink).await {
                return;
            }
        }
    }

    /// One `query_range` request from `start_ns` (inclusive) to `end_ns` (exclusive).
    pub async fn query(&self, start_ns: i64, end_ns: i64, forward: bool) -> Result<Vec<LokiEntry>, LokiError> {
        let start = start_ns.to_string();
        let end = end_ns.to_string();
        let limit = self.limit.to_string();
        let direction = if forward { "forward" } else { "backward" };
        let response = self
            .endpoint
            .get(
                QUERY_RANGE,
                &[
                    ("query", self.query.as_str()),
                    ("direction", direction),
                    ("limit", limit.as_str()),
                    ("start", start.as_str()),
                    ("end", end.as_str()),
                ],
            )
            .await
            .map_err(LokiError::Fetch)?;
        if !response.is_success() {
            return Err(LokiError::from_status(response.status, &response.body));
        }
        let mut entries = parse_query_range(&response.body)?;
        if !forward {
            // Newest first per stream: oldest first overall (ties keep a stable order).
            entries.reverse();
            entries.sort_by_key(|e| e.ns);
        }
        Ok(entries)
    }

    /// One round of polling: the newest lines of the lookback at first, then everything after the
    /// newest entry seen, page by page.
    pub async fn poll(&self, cursor: &mut Cursor, sink: &mut Sink) -> Result<Polled, LokiError> {
        let now = ns_of(sink.time.now());
        // A second ahead, and never before the start (a clock behind Loki's, or entries stamped
        // in the future, must not make the range empty: Loki rejects that with a 400).
        let end = |start: i64| now.max(start).saturating_add(1_000_000_000);
        let Some(last) = cursor.last_ns() else {
            let start = now - i64::try_from(self.lookback.as_nanos()).unwrap_or(i64::MAX / 2);
            let entries = self.query(start, end(start), false).await?;
            let fresh = cursor.admit(entries);
            return Ok(if self.send(fresh, sink, true).await.is_some() {
                Polled::Done
            } else {
                Polled::Gone
            });
        };
        let mut start = last;
        for page in 0..MAX_PAGES {
            let entries = self.query(start, end(start), true).await?;
            let full = entries.len() >= self.limit;
            let fresh = cursor.admit(entries);
            if full && fresh.is_empty() {
                // A whole page at the boundary's one timestamp, all seen: step past it.
                cursor.skip_past();
            }
            if self.send(fresh, sink, page == 0).await.is_none() {
                return Ok(Polled::Gone);
            }
            if !full {
                return Ok(Polled::Done);
            }
            start = cursor.last_ns().unwrap_or(start);
        }
        Ok(Polled::More)
    }

    /// Sends `entries` in batches; an empty round only says the source is well when `always`
    /// and that is news (see [`Sink::idle`]).
    async fn send(&self, entries: Vec<LokiEntry>, sink: &mut Sink, always: bool) -> Option<()> {
        if entries.is_empty() {
            return if always { sink.idle().await } else { Some(()) };
        }
        let mut lines: Vec<LogLine> = entries.iter().map(|e| e.to_line(&self.name)).collect();
        while !lines.is_empty() {
            let rest = lines.split_off(lines.len().min(super::MAX_BATCH));
            sink.lines(lines).await?;
            lines = rest;
        }
        Some(())
    }

    /// Backfills with `query_range`, then follows the tail until it closes.
    async fn tail_session(
        &self,
        target: &TailTarget,
        cursor: &mut Cursor,
        sink: &mut Sink,
    ) -> Result<Polled, LokiError> {
        loop {
            match self.poll(cursor, sink).await? {
                Polled::Done => break,
                Polled::More => {}
                other => return Ok(other),
            }
        }
        let start = cursor.last_ns().unwrap_or_else(|| ns_of(sink.time.now()));
        let mut ws = self.connect(target, start).await?;
        // What the backfill delivered: the tail's replay of it is skipped.
        let floor = cursor.clone();
        let mut batch = Batch::default();
        // A connection that went dead without a close (a partition) is found by pinging it.
        let mut last_heard = Instant::now();
        let mut ping_sent = false;
        loop {
            let heartbeat = (batch.is_empty() && !ping_sent).then(|| sink.heartbeat_due());
            let check = last_heard
                + if ping_sent {
                    self.ping_after * 2
                } else {
                    self.ping_after
                };
            tokio::select! {
                message = ws.next() => {
                    last_heard = Instant::now();
                    ping_sent = false;
                    let frame = match message {
                        Some(Ok(tungstenite::Message::Text(text))) => parse_tail_frame(text.as_bytes()),
                        Some(Ok(tungstenite::Message::Binary(bytes))) => parse_tail_frame(&bytes),
                        Some(Ok(tungstenite::Message::Close(_))) | None => {
                            return self.flush(batch, sink, Polled::Closed).await;
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => {
                            if self.flush(batch, sink, Polled::Closed).await? == Polled::Gone {
                                return Ok(Polled::Gone);
                            }
                            return Err(ws_error(e));
                        }
                    };
                    let frame = match frame {
                        Ok(frame) => frame,
                        Err(e) => {
                            self.flush(batch, sink, Polled::Closed).await?;
                            return Err(e);
                        }
                    };
                    for entry in frame.entries {
                        if floor.is_seen(&entry) {
                            continue;
                        }
                        cursor.observe(&entry);
                        batch.push(entry.to_line(&self.name));
                    }
                    if frame.dropped > 0 {
                        batch.push(super::notice(
                            sink.time.now(),
                            &self.name,
                            &format!(
                                "Loki dropped {} from the live tail (it could not keep up)",
                                if frame.dropped == 1 { "1 entry".to_string() } else { format!("{} entries", frame.dropped) }
                            ),
                        ));
                    }
                }
                () = tokio::time::sleep_until(check) => {
                    if ping_sent {
                        self.flush(batch, sink, Polled::Closed).await?;
                        return Err(LokiError::Fetch(FetchError::new(
                            FetchErrorKind::Timeout,
                            "the live tail stopped answering",
                        )));
                    }
                    if let Err(e) = ws.send(tungstenite::Message::Ping(Default::default())).await {
                        self.flush(batch, sink, Polled::Closed).await?;
                        return Err(ws_error(e));
                    }
                    ping_sent = true;
                }
                () = super::until(batch.deadline()) => {
                    if sink.lines(batch.take()).await.is_none() {
                        return Ok(Polled::Gone);
                    }
                }
                () = super::until(heartbeat) => {
                    if sink.lines(Vec::new()).await.is_none() {
                        return Ok(Polled::Gone);
                    }
                }
                () = sink.closed() => return Ok(Polled::Gone),
            }
            while batch.is_full() {
                if sink.lines(batch.take()).await.is_none() {
                    return Ok(Polled::Gone);
                }
            }
        }
    }

    async fn flush(&self, mut batch: Batch, sink: &mut Sink, then: Polled) -> Result<Polled, LokiError> {
        Ok(if batch.flush(sink).await.is_none() {
            Polled::Gone
        } else {
            then
        })
    }

    async fn connect(
        &self,
        target: &TailTarget,
        start_ns: i64,
    ) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>, LokiError>
    {
        let url = target.url(&self.query, start_ns, self.limit)?;
        let mut request = url.into_client_request().map_err(ws_error)?;
        if let Some(Bearer(token)) = &target.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                LokiError::Fetch(FetchError::new(
                    FetchErrorKind::Other,
                    "the token is not a valid header value",
                ))
            })?;
            value.set_sensitive(true);
            request.headers_mut().insert("authorization", value);
        }
        let connector = match &target.ca_file {
            Some(path) => Some(rustls_connector(path)?),
            None => None,
        };
        let policy = self.endpoint.policy;
        let config = WebSocketConfig::default()
            .max_message_size(Some(policy.max_body))
            .max_frame_size(Some(policy.max_body));
        let connecting = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, connector);
        match tokio::time::timeout(policy.connect_timeout + policy.timeout, connecting).await {
            Ok(Ok((ws, _response))) => Ok(ws),
            Ok(Err(e)) => Err(ws_error(e)),
            Err(_) => Err(LokiError::Fetch(FetchError::new(
                FetchErrorKind::Timeout,
                "the live tail did not connect",
            ))),
        }
    }
}

/// A TLS connector trusting only the PEM bundle at `path`.
fn rustls_connector(path: &Path) -> Result<tokio_tungstenite::Connector, LokiError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let failed = |why: String| LokiError::Fetch(FetchError::new(FetchErrorKind::Other, why));
    let shown = one_line(&path.display().to_string());
    let pem = std::fs::read(path).map_err(|e| failed(format!("cannot read CA file {shown}: {e}")))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| failed(format!("bad CA file {shown}: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| failed(format!("bad CA file {shown}: {e}")))?;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_tungstenite::Connector::Rustls(Arc::new(config)))
}

fn ws_error(e: tungstenite::Error) -> LokiError {
    match e {
        tungstenite::Error::Http(response) => {
            let body = response.body().as_deref().unwrap_or_default();
            LokiError::from_status(response.status().as_u16(), body)
        }
        tungstenite::Error::Io(e) => {
            LokiError::Fetch(FetchError::new(FetchErrorKind::Connect, one_line(&e.to_string())))
        }
        e => LokiError::Fetch(FetchError::new(
            FetchErrorKind::Other,
            one_line(&format!("live tail: {e}")),
        )),
    }
}

/// How a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled {
    /// Caught up: wait the interval.
    Done,
    /// More pages are waiting: go on at once.
    More,
    /// The live tail closed: reconnect.
    Closed,
    /// The cockpit is gone.
    Gone,
}

/// Why a Loki request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LokiError {
    /// 400: the query does not parse or breaks a limit; Loki's message says why.
    #[error("LogQL rejected: {0}")]
    Rejected(String),
    #[error("HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("bad response: {0}")]
    Decode(String),
    #[error("the query returns {0}, not log lines: use a log query such as {{app=\"odin\"}}")]
    NotLogs(String),
    #[error("{0}")]
    Fetch(FetchError),
}

impl LokiError {
    /// Loki's error bodies are plain text (`WriteError`), sometimes JSON behind a proxy.
    pub fn from_status(status: u16, body: &[u8]) -> Self {
        let message = body_snippet(body);
        match status {
            400 => Self::Rejected(message),
            429 if message.is_empty() => Self::Status {
                status,
                message: "too many requests".into(),
            },
            _ => Self::Status { status, message },
        }
    }

    pub fn into_fetch_error(self) -> FetchError {
        match self {
            Self::Fetch(e) => e,
            Self::Rejected(_) => FetchError::new(FetchErrorKind::Status(400), self.to_string()),
            Self::Status { status, message } => FetchError::new(FetchErrorKind::Status(status), message),
            Self::Decode(_) | Self::NotLogs(_) => FetchError::new(FetchErrorKind::Decode, one_line(&self.to_string())),
        }
    }
}

/// One log entry from Loki.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LokiEntry {
    /// Unix nanoseconds.
    pub ns: i64,
    /// The stream's labels, `{app="odin", level="info"}`.
    pub labels: Arc<str>,
    pub line: String,
    /// Identifies the entry among those of the same timestamp (labels and line).
    key: u64,
}

impl LokiEntry {
    pub fn new(ns: i64, labels: Arc<str>, line: String) -> Self {
        let mut h = DefaultHasher::new();
        labels.hash(&mut h);
        line.hash(&mut h);
        Self {
            ns,
            labels,
            key: h.finish(),
            line,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(
            self.ns.div_euclid(1_000_000_000),
            self.ns.rem_euclid(1_000_000_000) as u32,
        )
        .unwrap_or_default()
    }

    /// The line for the pane, with the stream's labels.
    pub fn to_line(&self, source: &Arc<str>) -> LogLine {
        let mut line = super::line(self.at(), source, &self.line);
        line.stream = Some(Arc::clone(&self.labels));
        line
    }
}

/// Where polling goes on from: the newest timestamp seen and which entries at exactly that
/// timestamp were already delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    last_ns: Option<i64>,
    at_last: HashSet<u64>,
}

impl Cursor {
    pub fn last_ns(&self) -> Option<i64> {
        self.last_ns
    }

    /// Delivered already (or older than what was delivered).
    pub fn is_seen(&self, entry: &LokiEntry) -> bool {
        match self.last_ns {
            None => false,
            Some(last) => entry.ns < last || (entry.ns == last && self.at_last.contains(&entry.key)),
        }
    }

    pub fn observe(&mut self, entry: &LokiEntry) {
        match self.last_ns {
            Some(last) if entry.ns < last => {}
            Some(last) if entry.ns == last => {
                self.at_last.insert(entry.key);
            }
            _ => {
                self.last_ns = Some(entry.ns);
                self.at_last.clear();
                self.at_last.insert(entry.key);
            }
        }
    }

    /// The entries (oldest first) not delivered yet, which are now counted as delivered.
    pub fn admit(&mut self, entries: Vec<LokiEntry>) -> Vec<LokiEntry> {
        let mut fresh = Vec::with_capacity(entries.len());
        for entry in entries {
            if !self.is_seen(&entry) {
                self.observe(&entry);
                fresh.push(entry);
            }
        }
        fresh
    }

    fn skip_past(&mut self) {
        if let Some(last) = self.last_ns {
            self.last_ns = Some(last.saturating_add(1));
            self.at_last.clear();
        }
    }
}

/// Unix nanoseconds of `t`.
pub fn ns_of(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt()
        .unwrap_or_else(|| t.timestamp().saturating_mul(1_000_000_000))
}

/// The entries of a `query_range` answer, oldest first (streams merged by timestamp; an answer
/// with `direction=backward` comes newest first per stream, see [`LokiFeed::query`]).
pub fn parse_query_range(body: &[u8]) -> Result<Vec<LokiEntry>, LokiError> {
    let response: QueryResponse =
        serde_json::from_slice(body).map_err(|e| LokiError::Decode(one_line(&e.to_string())))?;
    if response.status != "success" {
        let why = response.error.unwrap_or(response.status);
        return Err(LokiError::Decode(one_line(&why)));
    }
    let data = response
        .data
        .ok_or_else(|| LokiError::Decode("no data in the answer".into()))?;
    if data.result_type != "streams" {
        return Err(LokiError::NotLogs(one_line(&data.result_type)));
    }
    let streams: Vec<Stream> =
        serde_json::from_value(data.result).map_err(|e| LokiError::Decode(one_line(&e.to_string())))?;
    Ok(merge(streams))
}

/// A tail frame: its entries (oldest first) and how many entries Loki says it dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailFrame {
    pub entries: Vec<LokiEntry>,
    pub dropped: usize,
}

pub fn parse_tail_frame(body: &[u8]) -> Result<TailFrame, LokiError> {
    let frame: RawTailFrame = serde_json::from_slice(body).map_err(|e| LokiError::Decode(one_line(&e.to_string())))?;
    Ok(TailFrame {
        entries: merge(frame.streams),
        dropped: frame.dropped_entries.map_or(0, |d| d.len()),
    })
}

fn merge(streams: Vec<Stream>) -> Vec<LokiEntry> {
    let mut entries = Vec::with_capacity(streams.iter().map(|s| s.values.len()).sum());
    for stream in streams {
        let labels: Arc<str> = Arc::from(labels_text(&stream.stream));
        entries.extend(
            stream
                .values
                .into_iter()
                .map(|e| LokiEntry::new(e.ns, Arc::clone(&labels), e.line)),
        );
    }
    entries.sort_by_key(|e| e.ns);
    entries
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

#[derive(Deserialize)]
struct QueryResponse {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryData {
    result_type: String,
    #[serde(default)]
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct Stream {
    #[serde(default)]
    stream: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawTailFrame {
    #[serde(default)]
    streams: Vec<Stream>,
    #[serde(default)]
    dropped_entries: Option<Vec<IgnoredAny>>,
}

/// `["<ns>", "<line>"]`, or with a third element (structured metadata), which is ignored.
struct RawEntry {
    ns: i64,
    line: String,
}

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[\"<unix ns>\", \"<line>\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawEntry, A::Error> {
                let ns: String = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let ns = ns
                    .parse::<i64>()
                    .map_err(|_| de::Error::custom(format!("timestamp {:?} is not nanoseconds", one_line(&ns))))?;
                let line: String = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawEntry { ns, line })
            }
        }
        deserializer.deserialize_seq(EntryVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ns: i64, labels: &str, line: &str) -> LokiEntry {
        LokiEntry::new(ns, Arc::from(labels), line.to_string())
    }

    #[test]
    fn streams_are_merged_by_timestamp_and_metadata_is_ignored() {
        let body = br#"{"status":"success","data":{"resultType":"streams","result":[
            {"stream":{"app":"odin","level":"info"},"values":[["1700000000000000001","a1"],["1700000000000000003","a3",{"trace_id":"t"}]]},
            {"stream":{"app":"odin","level":"error"},"values":[["1700000000000000002","b2"]]}
        ],"stats":{}}}"#;
        let entries = parse_query_range(body).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = entries.iter().map(|e| e.line.as_str()).collect();
        assert_eq!(lines, ["a1", "b2", "a3"]);
        assert_eq!(&*entries[1].labels, r#"{app="odin", level="error"}"#);
        assert_eq!(entries[0].at().timestamp(), 1_700_000_000);
    }

    #[test]
    fn a_metric_query_and_a_bad_timestamp_are_errors_not_lines() {
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"]]}]}}"#;
        assert!(matches!(parse_query_range(matrix), Err(LokiError::NotLogs(t)) if t == "matrix"));
        let bad =
            br#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["soon","x"]]}]}}"#;
        assert!(matches!(parse_query_range(bad), Err(LokiError::Decode(_))));
    }

    #[test]
    fn the_cursor_skips_what_was_delivered_at_the_boundary_only() {
        let mut c = Cursor::default();
        let first = c.admit(vec![entry(1, "{a}", "x"), entry(2, "{a}", "y"), entry(2, "{b}", "y")]);
        assert_eq!(first.len(), 3);
        let next = c.admit(vec![
            entry(2, "{a}", "y"),
            entry(2, "{b}", "y"),
            entry(2, "{a}", "late"),
            entry(3, "{a}", "z"),
        ]);
        let lines: Vec<&str> = next.iter().map(|e| e.line.as_str()).collect();
        assert_eq!(lines, ["late", "z"]);
        assert_eq!(c.last_ns(), Some(3));
    }

    #[test]
    fn error_bodies_say_why() {
        let e = LokiError::from_status(
            400,
            b"parse error at line 1, col 1: syntax error: unexpected IDENTIFIER\n",
        );
        assert_eq!(
            e.clone().into_fetch_error().to_string(),
            "HTTP 400: LogQL rejected: parse error at line 1, col 1: syntax error: unexpected IDENTIFIER"
        );
        assert_eq!(
            LokiError::from_status(429, b"").into_fetch_error().kind,
            FetchErrorKind::Status(429)
        );
    }

    #[test]
    fn the_tail_url_follows_the_http_scheme_and_escapes_the_query() {
        let t = TailTarget::new("https://loki.example:3100/", None, None);
        let url = t
            .url(r#"{app="odin"} |= "x y""#, 5, 10)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            url.starts_with("wss://loki.example:3100/loki/api/v1/tail?query=%7Bapp"),
            "{url}"
        );
        assert!(url.contains("&start=5&limit=10&delay_for=0"), "{url}");
        assert_eq!(TailTarget::new("http://l:1", None, None).base, "ws://l:1");
        assert!(!format!("{:?}", Bearer::new("s3cret".into())).contains("s3cret"));
    }
}
