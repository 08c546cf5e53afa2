//! The log sources against the world they follow. Loki is replayed by a loopback server speaking
//! its documented shapes (tests/fixtures/loki): `query_range` pages asked for with the right
//! `start`, a duplicate at the page boundary delivered once, a 400 whose body becomes the
//! source's error, 429 and 500 then recovery, and the live tail over a WebSocket that closes and
//! is reconnected and backfilled. A file followed through rotation, truncation and a late
//! appearance; a command that exits and is restarted, its exit reported; a storm of lines arrives
//! in batches. Every wait is for a condition (with a generous hang guard), never a fixed time.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use warroom::app::msg::{Msg, SourceData, SourceId, SourceKind, SourceUpdate};
use warroom::app::state::AppState;
use warroom::app::update::update;
use warroom::domain::health::{FetchError, FetchErrorKind, SourceHealth};
use warroom::domain::log::LogLine;
use warroom::sources::clock::TimeSource;
use warroom::sources::http::{Backoff, Endpoint, HttpPolicy, Token};
use warroom::sources::logs::file::{Follower, Piece, Step};
use warroom::sources::logs::{CommandFeed, FileFeed, LogFeed, LokiFeed, MAX_BATCH, NOTICE_PREFIX, loki::TailTarget};

/// A hang guard, not a speed assertion.
const LIMIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "s3cr3t-loki-token";
const QUERY: &str = r#"{app="odin"} |= "msg""#;
/// 2026-01-01T00:00:00Z in Unix nanoseconds, the fixtures' epoch.
const T0: i64 = 1_767_225_600_000_000_000;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/loki")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fast_backoff() -> Backoff {
    Backoff::new(Duration::from_millis(10), Duration::from_millis(40), 7)
}

// ---------------------------------------------------------------------------------------------
// What the feeds send

/// Everything a feed sent, in order.
#[derive(Default)]
struct Seen {
    updates: Vec<SourceUpdate>,
}

impl Seen {
    fn lines(&self) -> Vec<&LogLine> {
        self.updates
            .iter()
            .filter_map(|u| match &u.result {
                Ok(SourceData::Logs(lines)) => Some(lines.iter()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn texts(&self) -> Vec<String> {
        self.lines().iter().map(|l| l.text.clone()).collect()
    }

    /// The lines the source's own data gave (not the cockpit's notices).
    fn data_texts(&self) -> Vec<String> {
        self.texts()
            .into_iter()
            .filter(|t| !t.starts_with(NOTICE_PREFIX))
            .collect()
    }

    fn notices(&self) -> Vec<String> {
        self.texts()
            .into_iter()
            .filter(|t| t.starts_with(NOTICE_PREFIX))
            .collect()
    }

    fn errors(&self) -> Vec<&FetchError> {
        self.updates.iter().filter_map(|u| u.result.as_ref().err()).collect()
    }
}

/// Receives updates until `done` holds; panics with what was seen at the hang guard.
async fn until(rx: &mut mpsc::Receiver<Msg>, seen: &mut Seen, what: &str, done: impl Fn(&Seen) -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !done(seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Msg::Source(u))) => seen.updates.push(u),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the feed stopped before {what}; lines {:?}", seen.texts()),
            Err(_) => panic!(
                "no {what} within {LIMIT:?}; lines {:?}, errors {:?}",
                seen.texts(),
                seen.errors()
            ),
        }
    }
}

/// The `msg="…"` of a logfmt line.
fn msg(text: &str) -> &str {
    text.split("msg=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or(text)
}

fn count(texts: &[String], wanted: &str) -> usize {
    texts.iter().filter(|t| t.as_str() == wanted).count()
}

fn channel() -> (
    mpsc::Sender<Msg>,
    mpsc::Receiver<Msg>,
    watch::Sender<u64>,
    watch::Receiver<u64>,
) {
    let (tx, rx) = mpsc::channel(64);
    let (refresh_tx, refresh_rx) = watch::channel(0);
    (tx, rx, refresh_tx, refresh_rx)
}

// ---------------------------------------------------------------------------------------------
// The Loki replay server

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Asked {
    path: String,
    params: BTreeMap<String, String>,
    authorization: Option<String>,
    websocket: bool,
}

enum Reply {
    Json(String),
    Error(u16, String),
}

/// What one tail connection does: send these frames, then close (or stay open).
struct TailScript {
    frames: Vec<String>,
    close: bool,
}

/// Loki on a loopback port: `query_range` answers the scripted replies in order (then empty
/// pages), `/loki/api/v1/tail` upgrades to a WebSocket that plays the next tail script.
struct LokiServer {
    addr: SocketAddr,
    asked: mpsc::UnboundedReceiver<Asked>,
    log: Vec<Asked>,
    task: tokio::task::JoinHandle<()>,
}

impl LokiServer {
    async fn start(replies: Vec<Reply>, tails: Vec<TailScript>) -> Self {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let tails = Arc::new(Mutex::new(VecDeque::from(tails)));
        let (tx, asked) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, Arc::clone(&replies), Arc::clone(&tails), tx.clone()));
            }
        });
        Self {
            addr,
            asked,
            log: Vec::new(),
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn endpoint(&self) -> Endpoint {
        let policy = HttpPolicy {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_body: 1024 * 1024,
        };
        Endpoint::new("loki", &self.url(), policy, None, Some(Token::new(TOKEN.into())))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every request so far.
    fn requests(&mut self) -> &[Asked] {
        while let Ok(a) = self.asked.try_recv() {
            self.log.push(a);
        }
        &self.log
    }
}

impl Drop for LokiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the request head without consuming it when it asks for a WebSocket (the handshake
/// reads it again), consuming it otherwise.
async fn serve(
    mut stream: TcpStream,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    tails: Arc<Mutex<VecDeque<TailScript>>>,
    asked: mpsc::UnboundedSender<Asked>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let head_len = loop {
        let Ok(n) = stream.peek(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        if let Some(i) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        // The head came in pieces (rare on loopback): let the rest arrive.
        tokio::task::yield_now().await;
    };
    let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let url = reqwest::Url::parse(&format!("http://loki{target}")).unwrap_or_else(|e| panic!("{e}"));
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let request = Asked {
        path: url.path().to_string(),
        params: url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        authorization: header("authorization"),
        websocket: header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")),
    };
    let _ = asked.send(request.clone());
    if request.websocket {
        let script = tails.lock().unwrap_or_else(|e| panic!("{e}")).pop_front();
        // tungstenite's callback signature returns its own (large) error response type.
        #[allow(clippy::result_large_err)]
        let checked = |_: &Request, response: Response| Ok(response);
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, checked).await else {
            return;
        };
        let script = script.unwrap_or(TailScript {
            frames: Vec::new(),
            close: false,
        });
        for frame in script.frames {
            if ws.send(Message::text(frame)).await.is_err() {
                return;
            }
        }
        if script.close {
            let _ = ws.close(None).await;
        }
        // Until the client goes away.
        while let Some(Ok(_)) = ws.next().await {}
        return;
    }
    let mut discard = vec![0u8; head_len];
    if stream.read_exact(&mut discard).await.is_err() {
        return;
    }
    let reply = replies.lock().unwrap_or_else(|e| panic!("{e}")).pop_front();
    let (status, content_type, body) = match reply {
        Some(Reply::Json(body)) => (200, "application/json", body),
        Some(Reply::Error(status, body)) => (status, "text/plain; charset=utf-8", body),
        None => (200, "application/json", fixture("empty.json")),
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn state_with_source(name: &str) -> (AppState, SourceId) {
    let mut state = AppState::new(warroom::demo::test_setup("dark"));
    let id = state.add_source(SourceKind::Logs, name);
    (state, id)
}

fn health(state: &AppState, id: SourceId) -> SourceHealth {
    state
        .source(id)
        .map(|s| s.health.clone())
        .unwrap_or_else(|| panic!("no source {id:?}"))
}

fn now() -> DateTime<Utc> {
    TimeSource::Real.now()
}

#[tokio::test]
async fn loki_polling_pages_forward_without_boundary_duplicates_and_reports_errors_until_it_recovers() {
    let mut server = LokiServer::start(
        vec![
            Reply::Json(fixture("initial_backward.json")),
            Reply::Json(fixture("forward_page1.json")),
            Reply::Json(fixture("forward_page2.json")),
            Reply::Error(400, fixture("error_400.txt")),
            Reply::Error(429, fixture("error_429.txt")),
            Reply::Error(500, fixture("error_500.txt")),
            Reply::Json(fixture("forward_after_errors.json")),
        ],
        Vec::new(),
    )
    .await;
    let (mut state, id) = state_with_source("loki");
    let mut feed = LokiFeed::new(id, "loki".into(), server.endpoint(), QUERY.into());
    feed.limit = 3;
    feed.interval = Duration::from_millis(10);
    feed.backoff = fast_backoff();
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));

    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "the line after the errors", |s| {
        s.data_texts().iter().any(|t| msg(t) == "five")
    })
    .await;
    task.abort();
    for u in &seen.updates {
        let _ = update(&mut state, Msg::Source(u.clone()), now());
    }

    // Every line once, in time order, across the page boundary and the duplicates Loki repeats.
    let msgs: Vec<String> = seen.data_texts().iter().map(|t| msg(t).to_string()).collect();
    assert_eq!(msgs, ["one", "two", "three", "three-b", "four", "five"]);
    for m in ["two", "three", "four"] {
        assert_eq!(count(&msgs, m), 1, "{m} delivered twice: {msgs:?}");
    }
    // Loki's timestamp and stream labels travel with the line.
    let lines = seen.lines();
    let five = lines
        .iter()
        .find(|l| msg(&l.text) == "five")
        .unwrap_or_else(|| panic!("five"));
    assert_eq!(five.at.timestamp_nanos_opt(), Some(T0 + 5_000_000_000));
    assert_eq!(
        five.stream.as_deref(),
        Some(r#"{app="odin", level="error", pod="odin-7d9f-fghij"}"#)
    );

    // The requests: the last lines first (backward), then forward from the newest seen.
    let asked = server.requests().to_vec();
    assert!(asked.len() >= 7, "{asked:#?}");
    for a in &asked {
        assert_eq!(a.path, "/loki/api/v1/query_range");
        assert_eq!(a.params.get("query").map(String::as_str), Some(QUERY));
        assert_eq!(a.params.get("limit").map(String::as_str), Some("3"));
        assert_eq!(a.authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
        let ns = |k: &str| a.params.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        assert!(ns("end") > ns("start"), "an empty range: {a:?}");
    }
    let direction = |i: usize| asked[i].params.get("direction").cloned().unwrap_or_default();
    let start = |i: usize| asked[i].params.get("start").cloned().unwrap_or_default();
    assert_eq!(direction(0), "backward");
    let lookback = now().timestamp_nanos_opt().unwrap_or(0) - start(0).parse::<i64>().unwrap_or(0);
    assert!(
        lookback > 14 * 60 * 1_000_000_000 && lookback < 60 * 60 * 1_000_000_000,
        "first poll starts about 15 minutes back, not {lookback} ns"
    );
    for i in 1..7 {
        assert_eq!(direction(i), "forward", "request {i}");
    }
    // The second page is asked for from the newest entry of the first (the boundary is skipped
    // by content, not by guessing a later start), and so is every poll after it.
    assert_eq!(start(1), (T0 + 2_000_000_000).to_string(), "after the first poll");
    assert_eq!(start(2), (T0 + 3_000_000_000).to_string(), "second page");
    for i in 3..7 {
        assert_eq!(start(i), (T0 + 4_000_000_000).to_string(), "poll {i} after errors");
    }

    // The errors, as the source shows them: Loki's own words for the 400.
    let errors: Vec<String> = seen.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        [
            "HTTP 400: LogQL rejected: parse error at line 1, col 7: syntax error: unexpected IDENTIFIER, expecting STRING",
            "HTTP 429: too many outstanding requests",
            "HTTP 500: rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 10.0.3.7:9095: connect: connection refused\"",
        ]
    );
    let failed_at = seen.updates.iter().position(|u| u.result.is_err()).unwrap_or(0);
    let mut partial = AppState::new(warroom::demo::test_setup("dark"));
    let pid = partial.add_source(SourceKind::Logs, "loki");
    for u in &seen.updates[..=failed_at] {
        let _ = update(&mut partial, Msg::Source(u.clone()), now());
    }
    match health(&partial, pid) {
        SourceHealth::Stale { error, last_ok, .. } => {
            assert!(error.to_string().contains("LogQL rejected: parse error"), "{error}");
            assert!(last_ok.is_some(), "the lines already shown are kept");
        }
        other => panic!("not stale after the 400: {other:?}"),
    }
    assert!(
        matches!(health(&state, id), SourceHealth::Fresh { .. }),
        "fresh again after the recovery: {:?}",
        health(&state, id)
    );
}

#[tokio::test]
async fn loki_tail_streams_frames_reconnects_after_a_close_and_backfills_the_gap_once() {
    let mut server = LokiServer::start(
        vec![
            Reply::Json(fixture("tail_backfill.json")),
            Reply::Json(fixture("tail_gap.json")),
        ],
        vec![
            TailScript {
                frames: vec![fixture("tail_frame_1.json"), fixture("tail_frame_2.json")],
                close: true,
            },
            TailScript {
                frames: vec![fixture("tail_frame_3.json")],
                close: false,
            },
        ],
    )
    .await;
    let (mut state, id) = state_with_source("loki-tail");
    let mut feed = LokiFeed::new(id, "loki-tail".into(), server.endpoint(), QUERY.into());
    feed.limit = 100;
    feed.backoff = fast_backoff();
    feed.tail = Some(TailTarget::new(
        &server.url(),
        Some(warroom::sources::logs::loki::Bearer::new(TOKEN.into())),
        None,
    ));
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));

    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "the frame after the reconnect", |s| {
        s.data_texts().iter().any(|t| t == "tail-3")
    })
    .await;
    task.abort();
    for u in &seen.updates {
        let _ = update(&mut state, Msg::Source(u.clone()), now());
    }

    assert_eq!(
        seen.data_texts(),
        ["backfilled-1", "tail-1", "tail-2", "gap-4", "tail-3"],
        "each line once: the tail's replay of what the backfill gave is skipped"
    );
    let notices = seen.notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("Loki dropped 1 entry from the live tail"),
        "{notices:?}"
    );
    assert!(seen.errors().is_empty(), "a close is not an error: {:?}", seen.errors());
    assert!(matches!(health(&state, id), SourceHealth::Fresh { .. }));

    // backfill, tail, backfill of the gap from the newest entry seen, tail again from there.
    let asked = server.requests().to_vec();
    let kinds: Vec<(bool, String)> = asked
        .iter()
        .map(|a| (a.websocket, a.params.get("start").cloned().unwrap_or_default()))
        .collect();
    assert_eq!(
        kinds[..4],
        [
            (false, kinds[0].1.clone()),
            (true, (T0 + 101_000_000_000).to_string()),
            (false, (T0 + 103_000_000_000).to_string()),
            (true, (T0 + 104_000_000_000).to_string()),
        ],
        "{asked:#?}"
    );
    for a in &asked[..4] {
        assert_eq!(a.authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
        assert_eq!(a.params.get("query").map(String::as_str), Some(QUERY));
    }
    assert_eq!(asked[1].path, "/loki/api/v1/tail");
    assert_eq!(asked[2].params.get("direction").map(String::as_str), Some("forward"));
}

#[tokio::test]
async fn a_tail_that_goes_silent_and_does_not_answer_a_ping_is_given_up_and_reconnected() {
    // A tail server that accepts, then neither sends nor reads (a dead peer behind a partition):
    // pings go unanswered.
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (accepted_tx, mut accepted) = mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut peek = [0u8; 512];
            let n = stream.peek(&mut peek).await.unwrap_or(0);
            if String::from_utf8_lossy(&peek[..n]).contains("/tail?") {
                if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                    held.push(ws);
                    let _ = accepted_tx.send(());
                }
                continue;
            }
            let mut buf = vec![0u8; 16 * 1024];
            let _ = stream.read(&mut buf).await;
            let body = fixture("empty.json");
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    let url = format!("http://{addr}");
    let endpoint = Endpoint::new("loki", &url, HttpPolicy::default(), None, None).unwrap_or_else(|e| panic!("{e}"));
    let mut feed = LokiFeed::new(SourceId(0), "loki".into(), endpoint, QUERY.into());
    feed.backoff = fast_backoff();
    feed.ping_after = Duration::from_millis(50);
    feed.tail = Some(TailTarget::new(&url, None, None));
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "the dead tail's error", |s| !s.errors().is_empty()).await;
    let error = seen.errors()[0].clone();
    assert_eq!(error.kind, FetchErrorKind::Timeout);
    assert!(error.to_string().contains("the live tail stopped answering"), "{error}");
    // And it connects again.
    let deadline = tokio::time::Instant::now() + LIMIT;
    for _ in 0..2 {
        tokio::time::timeout_at(deadline, accepted.recv())
            .await
            .unwrap_or_else(|_| panic!("no reconnect"));
    }
    task.abort();
    server.abort();
}

#[tokio::test]
async fn a_rejected_tail_handshake_is_the_sources_error() {
    // Loki answers the upgrade with 400 when the LogQL does not parse; the backfill before it
    // succeeded (an empty page), so the error must come from the handshake.
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 16 * 1024];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let (status, body) = if head.contains("/tail?") {
                (400, fixture("error_400.txt"))
            } else {
                (200, fixture("empty.json"))
            };
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    let policy = HttpPolicy {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        max_body: 1024 * 1024,
    };
    let url = format!("http://{addr}");
    let endpoint = Endpoint::new("loki", &url, policy, None, None).unwrap_or_else(|e| panic!("{e}"));
    let mut feed = LokiFeed::new(SourceId(0), "loki".into(), endpoint, QUERY.into());
    feed.backoff = fast_backoff();
    feed.tail = Some(TailTarget::new(&url, None, None));
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "the handshake's error", |s| !s.errors().is_empty()).await;
    task.abort();
    server.abort();
    let error = seen.errors()[0].clone();
    assert_eq!(error.kind, FetchErrorKind::Status(400));
    assert!(error.to_string().contains("LogQL rejected: parse error"), "{error}");
}

#[test]
fn every_logs_entry_is_its_own_source_and_one_that_cannot_be_built_is_shown_disabled() {
    let config: warroom::config::Config = toml::from_str(
        r#"
        [[logs]]
        name = "app"
        file = "app.log"
        [[logs]]
        name = "journal"
        command = ["journalctl", "-f", "-o", "json"]
        [[logs]]
        name = "loki"
        loki = { url = "http://127.0.0.1:1", query = '{app="odin"}', tail = true, token = "${WARROOM_TEST_UNSET}" }
        [[logs]]
        name = "loki-ok"
        loki = { url = "https://loki.example", query = '{app="odin"}', tail = true }
        "#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut state = AppState::new(warroom::demo::test_setup("dark"));
    let live = warroom::sources::live::build(&config, Path::new("/etc/warroom"), &|_| None, &mut state);
    let logs: Vec<(&str, &SourceHealth)> = state
        .sources
        .iter()
        .filter(|s| s.kind == SourceKind::Logs)
        .map(|s| (s.name.as_str(), &s.health))
        .collect();
    assert_eq!(logs.len(), 4, "{logs:?}");
    assert_eq!(
        logs[2],
        (
            "loki",
            &SourceHealth::Disabled {
                reason: "environment variable WARROOM_TEST_UNSET is not set".into()
            }
        )
    );
    assert!(
        logs.iter()
            .filter(|(n, _)| *n != "loki")
            .all(|(_, h)| **h == SourceHealth::Loading)
    );
    assert_eq!(live.logs.len(), 3);
    match &live.logs[0] {
        LogFeed::File(f) => assert_eq!(f.path, Path::new("/etc/warroom/app.log")),
        other => panic!("{other:?}"),
    }
    match &live.logs[1] {
        LogFeed::Command(c) => assert_eq!(c.shown(), "journalctl -f -o json"),
        other => panic!("{other:?}"),
    }
    match &live.logs[2] {
        LogFeed::Loki(l) => {
            assert_eq!(l.tail.as_ref().map(|t| t.base.as_str()), Some("wss://loki.example"));
            assert_eq!(l.query, r#"{app="odin"}"#);
        }
        other => panic!("{other:?}"),
    }
    let ids: Vec<SourceId> = live.logs.iter().map(LogFeed::source).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] != w[1]));
}

// ---------------------------------------------------------------------------------------------
// Files

struct Followed {
    dir: tempfile::TempDir,
    rx: mpsc::Receiver<Msg>,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
    _refresh: watch::Sender<u64>,
}

impl Followed {
    fn path(&self) -> PathBuf {
        self.dir.path().join("app.log")
    }

    async fn until(&mut self, what: &str, done: impl Fn(&Seen) -> bool) {
        until(&mut self.rx, &mut self.seen, what, done).await;
    }

    async fn until_line(&mut self, text: &str) {
        self.until(text, |s| s.data_texts().iter().any(|t| t == text)).await;
    }
}

impl Drop for Followed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Follows `app.log` in a new directory, after `before` (if any) was written to it.
fn follow(before: Option<&str>) -> Followed {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("app.log");
    if let Some(text) = before {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut feed = FileFeed::new(SourceId(0), "app".into(), path);
    feed.poll = Duration::from_millis(10);
    let (tx, rx, refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    Followed {
        dir,
        rx,
        seen: Seen::default(),
        task,
        _refresh: refresh,
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_followed_file_shows_its_last_lines_then_follows_a_rotation_without_loss_or_duplicates() {
    let mut f = follow(Some("old-1\nold-2\n"));
    f.until_line("old-2").await;
    let path = f.path();
    append(&path, "old-3\n");
    f.until_line("old-3").await;
    // logrotate without copytruncate: the last line lands in the old file just before it is
    // renamed away, and a new file takes its place.
    append(&path, "old-4\n");
    std::fs::rename(&path, f.dir.path().join("app.log.1")).unwrap_or_else(|e| panic!("{e}"));
    append(&path, "new-1\nnew-2\n");
    f.until_line("new-2").await;
    append(&path, "new-3\n");
    f.until_line("new-3").await;
    assert_eq!(
        f.seen.texts(),
        ["old-1", "old-2", "old-3", "old-4", "new-1", "new-2", "new-3"]
    );
    assert!(f.seen.errors().is_empty(), "{:?}", f.seen.errors());
}

/// The lines of one follower step.
fn step_lines(step: &Step) -> Vec<String> {
    step.pieces
        .iter()
        .map(|p| match p {
            Piece::Line(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Piece::Notice(text) => format!("{NOTICE_PREFIX}{text}"),
        })
        .collect()
}

#[tokio::test]
async fn after_a_rotation_the_old_file_is_still_read_while_its_writer_holds_it_open() {
    // Step by step (no polling, no timing): the writer keeps its descriptor on the renamed file
    // until it is told to reopen, as an application does between logrotate's rename and its
    // postrotate signal.
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("app.log");
    let mut writer = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    writer.write_all(b"old-1\n").unwrap_or_else(|e| panic!("{e}"));
    let mut follower = Follower::new(path.clone());
    assert_eq!(step_lines(&follower.step(Some(10)).await), ["old-1"]);
    writer.write_all(b"old-2\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap_or_else(|e| panic!("{e}"));
    append(&path, "new-1\n");
    writer
        .write_all(b"old-3\nold-unfinished")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = Vec::new();
    let mut more = true;
    while more {
        let step = follower.step(None).await;
        more = step.more;
        lines.extend(step_lines(&step));
    }
    assert_eq!(lines, ["old-2", "old-3", "new-1"]);
    writer.write_all(b"-now\nold-4\n").unwrap_or_else(|e| panic!("{e}"));
    append(&path, "new-2\n");
    assert_eq!(
        step_lines(&follower.step(None).await),
        ["old-unfinished-now", "old-4", "new-2"]
    );
    // The writer reopens; once the old file stopped growing for a few polls it is let go.
    drop(writer);
    let mut quiet = Vec::new();
    for _ in 0..8 {
        quiet.extend(step_lines(&follower.step(None).await));
    }
    assert!(quiet.is_empty(), "{quiet:?}");
    append(&dir.path().join("app.log.1"), "too-late\n");
    append(&path, "new-3\n");
    assert_eq!(step_lines(&follower.step(None).await), ["new-3"]);
}

#[tokio::test]
async fn a_truncated_file_is_read_again_from_the_start_and_says_so() {
    let mut f = follow(Some("a-1\na-2\n"));
    f.until_line("a-2").await;
    let path = f.path();
    // copytruncate: the content was copied elsewhere, the file emptied, writing goes on.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_len(0))
        .unwrap_or_else(|e| panic!("{e}"));
    append(&path, "b-1\n");
    f.until_line("b-1").await;
    append(&path, "b-2\n");
    f.until_line("b-2").await;
    let texts = f.seen.texts();
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert_eq!(texts[..2], ["a-1", "a-2"]);
    assert!(
        texts[2].starts_with(NOTICE_PREFIX) && texts[2].contains("was truncated; reading it from the start"),
        "{texts:?}"
    );
    assert_eq!(texts[3..], ["b-1", "b-2"]);
}

#[tokio::test]
async fn a_missing_file_is_an_error_until_it_appears_and_unfinished_lines_wait_for_their_newline() {
    let mut f = follow(None);
    f.until("the missing file's error", |s| !s.errors().is_empty()).await;
    let error = f.seen.errors()[0].to_string();
    assert!(
        error.contains("app.log: no such file; waiting for it to appear"),
        "{error}"
    );
    let (mut state, id) = state_with_source("app");
    for u in &f.seen.updates {
        let mut u = u.clone();
        u.source = id;
        let _ = update(&mut state, Msg::Source(u), now());
    }
    assert!(health(&state, id).is_stale());

    let path = f.path();
    append(&path, "late-1\npart");
    f.until_line("late-1").await;
    append(&path, "ial\nlate-2\n");
    f.until_line("late-2").await;
    assert_eq!(f.seen.data_texts(), ["late-1", "partial", "late-2"]);
    let last = f.seen.updates.last().map(|u| u.result.is_ok());
    assert_eq!(last, Some(true), "the source recovered once the file appeared");
}

// ---------------------------------------------------------------------------------------------
// Commands

fn command_feed(script: &str) -> CommandFeed {
    let argv = vec!["sh".to_string(), "-c".to_string(), script.to_string()];
    let mut feed = CommandFeed::new(SourceId(0), "cmd".into(), argv, None);
    feed.restart = fast_backoff();
    feed
}

#[tokio::test]
async fn a_command_that_exits_is_reported_and_restarted() {
    let feed = command_feed("echo first; echo second; echo 'on stderr' >&2; exit 3");
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "the restarted command's output", |s| {
        count(&s.data_texts(), "second") >= 2
    })
    .await;
    task.abort();

    let texts = seen.data_texts();
    let at = |wanted: &str| texts.iter().position(|t| t == wanted);
    assert!(
        at("first").is_some() && at("first") < at("second"),
        "stdout in order: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "on stderr"),
        "stderr lines are read too: {texts:?}"
    );
    let notices = seen.notices();
    assert!(
        notices[0].contains(
            "`sh -c echo first; echo second; echo 'on stderr' >&2; exit 3` exited with status 3; restarting in"
        ),
        "{notices:?}"
    );
    let error = seen.errors()[0];
    assert_eq!(error.kind, FetchErrorKind::Exited(3));
    assert!(error.detail.starts_with("restarting in"), "{error}");
    // Each run's lines come before its exit is reported.
    let order: Vec<&str> = seen
        .updates
        .iter()
        .filter_map(|u| match &u.result {
            Err(_) => Some("exit"),
            Ok(SourceData::Logs(l)) if l.iter().any(|l| l.text == "second") => Some("second"),
            _ => None,
        })
        .collect();
    assert_eq!(order[..3], ["second", "exit", "second"], "{order:?}");
}

#[tokio::test]
async fn a_command_killed_by_a_signal_says_which() {
    let feed = command_feed("echo dying; kill -9 $$");
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "the exit", |s| !s.errors().is_empty()).await;
    task.abort();
    let error = seen.errors()[0].to_string();
    assert!(error.contains("killed by signal 9 (SIGKILL)"), "{error}");
    assert!(seen.notices().iter().any(|n| n.contains("killed by signal 9")));
}

#[tokio::test]
async fn a_command_that_cannot_start_is_an_error_and_is_retried() {
    let mut feed = command_feed("");
    feed.argv = vec!["/nonexistent/warroom-test-program".into()];
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "two failed starts", |s| s.errors().len() >= 2).await;
    task.abort();
    let error = seen.errors()[0].to_string();
    assert!(
        error.contains("cannot start /nonexistent/warroom-test-program: No such file or directory"),
        "{error}"
    );
}

#[tokio::test]
async fn a_quiet_command_that_keeps_running_is_shown_up_not_loading() {
    let feed = command_feed("exec sleep 600");
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "word that it runs", |s| !s.updates.is_empty()).await;
    task.abort();
    assert!(
        matches!(&seen.updates[0].result, Ok(SourceData::Logs(lines)) if lines.is_empty()),
        "{:?}",
        seen.updates[0].result
    );
}

/// The state letter of a process from /proc, or None when it is gone.
fn process_state(pid: i32) -> Option<char> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()))
}

#[tokio::test]
async fn stopping_the_feed_kills_the_command_and_what_it_started() {
    // The shell prints its own pid and that of a child it leaves running.
    let feed = command_feed("sleep 600 & echo \"pids $$ $!\"; wait");
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "the pids", |s| {
        s.data_texts().iter().any(|t| t.starts_with("pids "))
    })
    .await;
    let pids: Vec<i32> = seen
        .data_texts()
        .iter()
        .find_map(|t| t.strip_prefix("pids ").map(str::to_string))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&p| process_state(p).is_some_and(|s| s != 'Z')));
    task.abort();
    let _ = task.await;
    let deadline = tokio::time::Instant::now() + LIMIT;
    // No event says a process is gone: look every 10 ms.
    while pids.iter().any(|&p| process_state(p).is_some_and(|s| s != 'Z')) {
        assert!(tokio::time::Instant::now() < deadline, "still running: {pids:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_storm_of_lines_arrives_in_batches_in_order() {
    let feed = command_feed("seq 1 20000; sleep 600");
    let (tx, mut rx, _refresh, refresh_rx) = channel();
    let task = tokio::spawn(feed.run(TimeSource::Real, tx, refresh_rx));
    let mut seen = Seen::default();
    until(&mut rx, &mut seen, "the last line", |s| {
        s.data_texts().last().is_some_and(|t| t == "20000")
    })
    .await;
    task.abort();
    let expected: Vec<String> = (1..=20000).map(|i| i.to_string()).collect();
    assert_eq!(seen.data_texts(), expected);
    let batches: Vec<usize> = seen
        .updates
        .iter()
        .filter_map(|u| match &u.result {
            Ok(SourceData::Logs(l)) if !l.is_empty() => Some(l.len()),
            _ => None,
        })
        .collect();
    assert!(batches.iter().all(|&n| n <= MAX_BATCH), "{batches:?}");
    assert!(batches.len() <= 200, "{} messages for 20000 lines", batches.len());
}
