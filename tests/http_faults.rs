//! The HTTP policy against a loopback server that misbehaves on purpose: one that never answers,
//! one that trickles its body, one announcing 10 MB, one streaming garbage forever, one answering
//! invalid JSON and one answering a 500 page. Each becomes the right `FetchError` (timeout, too
//! large, decode, status with the body's text) within the policy's limits and bounded memory,
//! without a panic, and the server sees the client give up instead of waiting it out. Then the
//! same faults through the pollers: the Alerts pane goes stale with the error on screen (keeping
//! its data), and signals show FAILED, never OK or zero, or go stale when Prometheus is
//! unreachable.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use warroom::app::msg::{Msg, SourceData, SourceId, SourceKind, SourceUpdate};
use warroom::app::pane::PaneId;
use warroom::app::state::AppState;
use warroom::app::update::update;
use warroom::domain::alert::AlertState;
use warroom::domain::health::{FetchError, FetchErrorKind, SourceHealth};
use warroom::domain::signal::{Direction, SignalSpec, Unit};
use warroom::sources::alertmanager;
use warroom::sources::clock::TimeSource;
use warroom::sources::http::{Endpoint, HttpPolicy};
use warroom::sources::live::{AlertFeed, SignalFeed};
use warroom::sources::prometheus::{self, PromError, Prometheus};

/// Longest anything may take here: a hang guard, not a speed assertion (the policy's own limits
/// are one second).
const LIMIT: Duration = Duration::from_secs(30);
/// The body cap of the policy under test.
const MAX_BODY: usize = 1024 * 1024;
/// What the huge answer announces.
const HUGE: usize = 10_000_000;
/// What the trickling answer announces (and would take this many seconds to send).
const TRICKLE: usize = 100;
/// The first line of the 500 page, which is what the user must see.
const OOPS: &str = "upstream connect error: warroom-fault-server gave up";
const BAD_JSON: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"api"},,"value":[1795906804,"1"]}]}}"#;
/// The server's socket send buffer (the kernel doubles it).
const SEND_BUFFER: u32 = 64 * 1024;
const W: u16 = 160;
const H: u16 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// (a) Reads the request and never answers.
    Silent,
    /// (b) A status line and headers announcing 100 bytes, then one byte a second.
    Trickle,
    /// (c) 200 with a Content-Length of 10 MB of garbage.
    Huge,
    /// (d) 200, chunked, garbage without end.
    Endless,
    /// (e) 200 application/json that is not JSON.
    BadJson,
    /// (f) 500 with a text body.
    ServerError,
    /// A well-behaved Alertmanager (one alert, no silences) and Prometheus (the query's value is
    /// 0.25 at the end of the range).
    Healthy,
    /// Prometheus answering queries for `good` as `Healthy` and every other one as `ServerError`.
    Mixed,
}

/// How one connection ended, as the server saw it.
#[derive(Debug)]
struct Ended {
    request: String,
    /// Bytes of body the server managed to write.
    written: usize,
    /// The client closed (or reset) the connection before the server was done with it.
    client_left: bool,
}

/// A loopback HTTP server: a thread accepting, a thread per connection, each reporting how its
/// connection ended.
struct FaultServer {
    fault: Fault,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    ended: mpsc::UnboundedReceiver<Ended>,
}

impl FaultServer {
    fn start(fault: Fault) -> Self {
        let listener = listener();
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, ended) = mpsc::unbounded_channel();
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let _ = tx.send(serve(stream, fault));
                });
            }
        });
        Self {
            fault,
            addr,
            stop,
            ended,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An endpoint with a short policy (one second, 1 MiB); the well-behaved servers get a
    /// generous timeout so that a loaded machine cannot make them look faulty.
    fn endpoint(&self) -> Endpoint {
        let timeout = match self.fault {
            Fault::Healthy | Fault::Mixed => LIMIT / 3,
            _ => Duration::from_secs(1),
        };
        let policy = HttpPolicy {
            connect_timeout: Duration::from_secs(1),
            timeout,
            max_body: MAX_BODY,
        };
        Endpoint::new("fault", &self.url(), policy, None, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The next connection to end.
    async fn next_end(&mut self) -> Ended {
        tokio::time::timeout(LIMIT, self.ended.recv())
            .await
            .unwrap_or_else(|_| panic!("no connection ended within {LIMIT:?}"))
            .unwrap_or_else(|| panic!("the server stopped"))
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A blocking listener on a free loopback port whose connections have a small send buffer, so
/// that what the server manages to write is close to what the client read.
fn listener() -> TcpListener {
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("socket: {e}"));
    socket
        .set_send_buffer_size(SEND_BUFFER)
        .unwrap_or_else(|e| panic!("SO_SNDBUF: {e}"));
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let listener = socket
        .listen(64)
        .and_then(tokio::net::TcpListener::into_std)
        .unwrap_or_else(|e| panic!("listen: {e}"));
    listener.set_nonblocking(false).unwrap_or_else(|e| panic!("{e}"));
    listener
}

/// Reads one request: its request line and its body.
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let line = head.lines().next().unwrap_or("").to_string();
    Some((line, data[head_end..].to_vec()))
}

/// Waits until the client closes the connection (true) or the hang guard passes (false).
fn client_closes(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(LIMIT));
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

fn answer(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) -> usize {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    body.len()
}

/// The form parameter `name` of a request body.
fn param(body: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn healthy(stream: &mut TcpStream, request: &str, body: &[u8]) -> usize {
    let json = if request.contains("/api/v2/alerts") {
        r#"[{"fingerprint":"48215a10e3b3faca","labels":{"alertname":"TargetDown","job":"checkout-api","severity":"page"},
            "annotations":{"summary":"checkout-api is down"},"startsAt":"2026-03-14T09:50:00Z",
            "updatedAt":"2026-03-14T09:57:00Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}]"#
            .to_string()
    } else if request.contains("/api/v2/silences") {
        "[]".to_string()
    } else {
        let end = param(body, "end").unwrap_or_default();
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[[{end},"0.25"]]}}]}}}}"#
        )
    };
    answer(stream, "200 OK", "application/json", json.as_bytes())
}

fn server_error(stream: &mut TcpStream) -> usize {
    let page = format!("{OOPS}\nreset reason: connection failure\n");
    answer(stream, "500 Internal Server Error", "text/plain", page.as_bytes())
}

/// Writes `chunk` until `limit` bytes are written or the client goes (written, client left).
fn flood(stream: &mut TcpStream, chunk: &[u8], limit: usize) -> (usize, bool) {
    let mut written = 0;
    while written < limit {
        match stream.write_all(chunk) {
            Ok(()) => written += chunk.len(),
            Err(_) => return (written, true),
        }
    }
    (written, false)
}

fn serve(mut stream: TcpStream, fault: Fault) -> Ended {
    let Some((request, body)) = read_request(&mut stream) else {
        return Ended {
            request: String::new(),
            written: 0,
            client_left: true,
        };
    };
    let garbage: Vec<u8> = (0..16 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let (written, client_left) = match fault {
        Fault::Silent => (0, client_closes(&mut stream)),
        Fault::Trickle => {
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {TRICKLE}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            // One byte a second; the read between bytes is both the pace and the way to see the
            // client leave.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut buf = [0u8; 1024];
            let mut written = 0;
            let mut left = false;
            while written < TRICKLE && !left {
                if stream.write_all(b"[").is_err() {
                    left = true;
                    break;
                }
                written += 1;
                left = match stream.read(&mut buf) {
                    Ok(0) => true,
                    Ok(_) => false,
                    Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                };
            }
            (written, left)
        }
        Fault::Huge => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {HUGE}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            flood(&mut stream, &garbage, HUGE)
        }
        Fault::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            let mut chunk = format!("{:x}\r\n", garbage.len()).into_bytes();
            chunk.extend_from_slice(&garbage);
            chunk.extend_from_slice(b"\r\n");
            // "Endless": far more than any cap, so a client that never stops shows as staying.
            flood(&mut stream, &chunk, 64 * HUGE)
        }
        Fault::BadJson => (
            answer(&mut stream, "200 OK", "application/json", BAD_JSON.as_bytes()),
            false,
        ),
        Fault::ServerError => (server_error(&mut stream), false),
        Fault::Healthy => (healthy(&mut stream, &request, &body), false),
        Fault::Mixed if param(&body, "query").as_deref() == Some("good") => {
            (healthy(&mut stream, &request, &body), false)
        }
        Fault::Mixed => (server_error(&mut stream), false),
    };
    Ended {
        request,
        written,
        client_left,
    }
}

async fn get(server: &FaultServer, path: &str) -> Result<warroom::sources::http::Response, FetchError> {
    tokio::time::timeout(LIMIT, server.endpoint().get(path, &[]))
        .await
        .unwrap_or_else(|_| panic!("the fetch outlived its own timeout by {LIMIT:?}"))
}

fn kind(result: &Result<impl std::fmt::Debug, FetchError>) -> FetchErrorKind {
    match result {
        Err(e) => e.kind,
        Ok(r) => panic!("expected an error, got {r:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTP policy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_and_sees_the_client_leave() {
    let mut server = FaultServer::start(Fault::Silent);
    let result = get(&server, "/api/v2/alerts").await;
    assert_eq!(kind(&result), FetchErrorKind::Timeout, "{result:?}");
    let ended = server.next_end().await;
    assert!(ended.client_left, "the client gave up and closed: {ended:?}");
    assert_eq!(ended.request, "GET /api/v2/alerts HTTP/1.1");

    // Through Prometheus: a timeout means Prometheus is unreachable.
    let prom = Prometheus::new(server.endpoint());
    let error = tokio::time::timeout(LIMIT, prom.instant("up", warroom::demo::fixed_start()))
        .await
        .unwrap_or_else(|_| panic!("hang"))
        .err()
        .unwrap_or_else(|| panic!("a silent server answered"));
    assert!(
        matches!(&error, PromError::Fetch(e) if e.kind == FetchErrorKind::Timeout),
        "{error:?}"
    );
    assert!(prometheus::is_unreachable(&error));
    let ended = server.next_end().await;
    assert!(ended.client_left, "{ended:?}");
    assert_eq!(ended.request, "POST /api/v1/query HTTP/1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_times_out_without_waiting_for_the_whole_trickle() {
    let mut server = FaultServer::start(Fault::Trickle);
    let result = get(&server, "/api/v2/alerts").await;
    assert_eq!(kind(&result), FetchErrorKind::Timeout, "{result:?}");
    let ended = server.next_end().await;
    assert!(ended.client_left, "{ended:?}");
    assert!(
        ended.written < TRICKLE,
        "the client left before the trickle ended: {} of {TRICKLE} bytes",
        ended.written
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_10_mb_body_is_too_large_and_not_read() {
    let mut server = FaultServer::start(Fault::Huge);
    let result = get(&server, "/api/v2/alerts").await;
    assert_eq!(
        result.err(),
        Some(FetchError::new(
            FetchErrorKind::TooLarge,
            format!("more than {MAX_BODY} bytes")
        ))
    );
    let ended = server.next_end().await;
    assert!(ended.client_left, "{ended:?}");
    assert!(
        ended.written < 4 * MAX_BODY,
        "only socket buffers' worth was written: {}",
        ended.written
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_body_is_cut_at_the_cap_with_bounded_memory() {
    let mut server = FaultServer::start(Fault::Endless);
    let result = get(&server, "/api/v2/alerts").await;
    assert_eq!(
        result.err(),
        Some(FetchError::new(
            FetchErrorKind::TooLarge,
            format!("more than {MAX_BODY} bytes")
        ))
    );
    let ended = server.next_end().await;
    assert!(ended.client_left, "the client disconnected: {ended:?}");
    assert!(
        ended.written > MAX_BODY,
        "the cap was reached by reading: {}",
        ended.written
    );
    assert!(
        ended.written < 4 * MAX_BODY,
        "the client stopped at the cap (plus socket buffers): {} bytes written",
        ended.written
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_is_a_decode_error_for_both_apis() {
    let mut server = FaultServer::start(Fault::BadJson);
    let response = get(&server, "/api/v2/alerts").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((response.status, response.body.as_slice()), (200, BAD_JSON.as_bytes()));
    assert_eq!(server.next_end().await.written, BAD_JSON.len());

    let error = alertmanager::parse_alerts(&response).err();
    assert_eq!(
        error.as_ref().map(|e| e.kind),
        Some(FetchErrorKind::Decode),
        "{error:?}"
    );
    let error = prometheus::parse_query(response.status, &response.body).err();
    assert!(
        matches!(&error, Some(PromError::Fetch(e)) if e.kind == FetchErrorKind::Decode),
        "{error:?}"
    );

    // And through the clients.
    let endpoint = server.endpoint();
    let member = tokio::time::timeout(LIMIT, alertmanager::fetch_member(&endpoint))
        .await
        .unwrap_or_else(|_| panic!("hang"));
    assert_eq!(kind(&member), FetchErrorKind::Decode);
    let prom = Prometheus::new(endpoint);
    let error = tokio::time::timeout(LIMIT, prom.instant("up", warroom::demo::fixed_start()))
        .await
        .unwrap_or_else(|_| panic!("hang"))
        .err();
    assert!(
        matches!(&error, Some(PromError::Fetch(e)) if e.kind == FetchErrorKind::Decode),
        "{error:?}"
    );
    let error = error.unwrap_or_else(|| unreachable!());
    assert!(!prometheus::is_unreachable(&error), "it answered, badly");
    assert!(!error.is_invalid_query());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_page_is_a_status_error_carrying_its_text() {
    let mut server = FaultServer::start(Fault::ServerError);
    let response = get(&server, "/api/v2/alerts").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status, 500);
    server.next_end().await;
    let expected = FetchError::new(FetchErrorKind::Status(500), OOPS);
    assert_eq!(alertmanager::parse_alerts(&response).err(), Some(expected.clone()));
    assert_eq!(alertmanager::status_error(&response), expected);
    assert_eq!(
        prometheus::parse_query(response.status, &response.body).err(),
        Some(PromError::Fetch(expected.clone()))
    );
    let endpoint = server.endpoint();
    let member = tokio::time::timeout(LIMIT, alertmanager::fetch_member(&endpoint))
        .await
        .unwrap_or_else(|_| panic!("hang"));
    assert_eq!(member.err(), Some(expected.clone()));
    let prom = Prometheus::new(endpoint);
    let error = tokio::time::timeout(LIMIT, prom.instant("up", warroom::demo::fixed_start()))
        .await
        .unwrap_or_else(|_| panic!("hang"))
        .err();
    assert_eq!(error, Some(PromError::Fetch(expected.clone())));
    assert_eq!(expected.to_string(), format!("HTTP 500: {OOPS}"));
}

// ---------------------------------------------------------------------------------------------
// Through the pollers, into the panes

fn t(seconds: i64) -> DateTime<Utc> {
    warroom::demo::fixed_start() + chrono::Duration::seconds(seconds)
}

fn new_state() -> AppState {
    let mut state = AppState::new(warroom::demo::test_setup("dark"));
    update(&mut state, Msg::Resize { width: W, height: H }, t(0));
    state
}

/// Applies every message the poller sent.
fn apply(state: &mut AppState, rx: &mut mpsc::Receiver<Msg>, now: DateTime<Utc>) -> usize {
    let mut n = 0;
    while let Ok(msg) = rx.try_recv() {
        update(state, msg, now);
        n += 1;
    }
    n
}

/// The rows inside a pane's border, as drawn on a `W`x`H` test terminal.
fn pane_rows(state: &AppState, pane: PaneId, now: DateTime<Utc>) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(W, H)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|f| warroom::ui::draw(f, state, now))
        .unwrap_or_else(|e| panic!("{e}"));
    let layout = warroom::ui::layout::compute(Rect::new(0, 0, W, H), state.focus, state.zoomed);
    let rect = layout.rect(pane).unwrap_or_else(|| panic!("{pane:?} is not on screen"));
    let buffer = terminal.backend().buffer();
    (rect.y + 1..rect.y + rect.height - 1)
        .map(|y| {
            (rect.x + 1..rect.x + rect.width - 1)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

/// Presses one key.
fn press(state: &mut AppState, key: char, now: DateTime<Utc>) {
    update(
        state,
        Msg::Key(KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE)),
        now,
    );
}

fn health(state: &AppState, id: SourceId) -> SourceHealth {
    state
        .source(id)
        .unwrap_or_else(|| panic!("no source {id:?}"))
        .health
        .clone()
}

async fn poll_alerts(state: &mut AppState, id: SourceId, server: &FaultServer, now: DateTime<Utc>) -> Option<bool> {
    let feed = AlertFeed {
        members: vec![(id, server.endpoint())],
        fallback: None,
        interval: Duration::from_secs(1),
    };
    let (tx, mut rx) = mpsc::channel(16);
    let shown = tokio::time::timeout(LIMIT, feed.poll_once(TimeSource::simulated(now, 0.0), &tx))
        .await
        .unwrap_or_else(|_| panic!("the poll hung"));
    assert!(apply(state, &mut rx, now) > 0, "the poller reported");
    shown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_alertmanager_makes_the_alerts_pane_stale_with_the_error_and_keeps_its_alerts() {
    let healthy = FaultServer::start(Fault::Healthy);
    for (fault, expected) in [
        (Fault::Silent, FetchErrorKind::Timeout),
        (Fault::Huge, FetchErrorKind::TooLarge),
        (Fault::BadJson, FetchErrorKind::Decode),
        (Fault::ServerError, FetchErrorKind::Status(500)),
    ] {
        let mut state = new_state();
        let id = state.add_source(SourceKind::Alertmanager, "am");
        assert_eq!(poll_alerts(&mut state, id, &healthy, t(0)).await, Some(true));
        assert_eq!(health(&state, id), SourceHealth::Fresh { at: t(0) });
        let listed = |s: &AppState| -> Vec<(String, AlertState)> {
            s.alerts
                .book
                .alerts()
                .iter()
                .map(|a| (a.name().to_string(), a.state))
                .collect()
        };
        assert_eq!(listed(&state), [("TargetDown".to_string(), AlertState::Firing)]);

        let server = FaultServer::start(fault);
        assert_eq!(
            poll_alerts(&mut state, id, &server, t(30)).await,
            Some(false),
            "{fault:?}"
        );
        let SourceHealth::Stale { since, last_ok, error } = health(&state, id) else {
            panic!("{fault:?}: not stale: {:?}", health(&state, id))
        };
        assert_eq!(
            (error.kind, since, last_ok),
            (expected, t(30), Some(t(0))),
            "{fault:?}: {error}"
        );
        if fault == Fault::ServerError {
            assert_eq!(error.detail, OOPS);
        }
        assert_eq!(
            listed(&state),
            [("TargetDown".to_string(), AlertState::Firing)],
            "{fault:?}: the stale pane keeps its data"
        );
        assert_eq!(state.focus, PaneId::Alerts);

        let shown = error.to_string();
        let rows = pane_rows(&state, PaneId::Alerts, t(40));
        let text = rows.concat();
        assert!(text.contains("✗ am failing since"), "{fault:?}:\n{}", rows.join("\n"));
        assert!(
            text.contains("TargetDown"),
            "{fault:?}: the alert is still listed:\n{}",
            rows.join("\n")
        );
        // The banner wraps the error over at most two rows (at spaces, which the break takes);
        // the zoomed pane has room for all of it.
        let first_words: String = shown.chars().take(40).collect();
        assert!(
            squash(&text).contains(&squash(&first_words)),
            "{fault:?}: {shown}\n{}",
            rows.join("\n")
        );
        press(&mut state, 'z', t(40));
        assert!(state.zoomed);
        let zoomed = pane_rows(&state, PaneId::Alerts, t(40));
        assert!(
            squash(&zoomed.concat()).contains(&squash(&shown)),
            "{fault:?}: {shown}\n{}",
            zoomed.join("\n")
        );
        assert_eq!(state.focus, PaneId::Alerts);
    }
}

/// Text without its whitespace: a wrapped line drops the space it breaks at.
fn squash(text: &str) -> String {
    text.split_whitespace().collect()
}

fn signal(name: &str, query: &str) -> (SignalSpec, String) {
    (
        SignalSpec {
            name: name.into(),
            unit: Unit::Ratio,
            warn: Some(0.5),
            crit: Some(0.9),
            direction: Direction::Above,
        },
        query.into(),
    )
}

async fn poll_signals(
    state: &mut AppState,
    id: SourceId,
    server: &FaultServer,
    signals: &[(SignalSpec, String)],
    now: DateTime<Utc>,
) -> Result<(), FetchError> {
    let feed = SignalFeed {
        source: id,
        prometheus: Prometheus::new(server.endpoint()),
        signals: signals.to_vec(),
        slos: Vec::new(),
        interval: Duration::from_secs(1),
    };
    let result = tokio::time::timeout(LIMIT, feed.poll_once(now))
        .await
        .unwrap_or_else(|_| panic!("the poll hung"));
    let outcome = result.as_ref().map(|_| ()).map_err(Clone::clone);
    update(
        state,
        Msg::Source(SourceUpdate {
            source: id,
            at: now,
            result: result.map(SourceData::Signals),
        }),
        now,
    );
    outcome
}

/// (name, state word, value) of every signal reading.
fn readings(state: &AppState) -> Vec<(String, &'static str, Option<f64>)> {
    state
        .signals
        .readings
        .iter()
        .map(|r| (r.spec.name.clone(), r.state_word(), r.value))
        .collect()
}

/// The drawn row of the signal `name`.
fn signal_row(state: &AppState, name: &str, now: DateTime<Utc>) -> String {
    let rows = pane_rows(state, PaneId::Signals, now);
    rows.iter()
        .find(|r| r.contains(name))
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not drawn:\n{}", rows.join("\n")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_that_get_bad_answers_show_failed_never_ok_or_zero() {
    let signals = [
        signal("error ratio", "sum(rate(errors[5m]))"),
        signal("saturation", "max(load)"),
    ];
    let server = FaultServer::start(Fault::BadJson);
    let mut state = new_state();
    let id = state.add_source(SourceKind::Prometheus, "prom");
    poll_signals(&mut state, id, &server, &signals, t(0))
        .await
        .unwrap_or_else(|e| panic!("Prometheus answered, so each signal has its own state: {e}"));
    assert_eq!(health(&state, id), SourceHealth::Fresh { at: t(0) });
    assert_eq!(
        readings(&state),
        [
            ("error ratio".to_string(), "FAILED", None),
            ("saturation".to_string(), "FAILED", None)
        ]
    );
    for r in &state.signals.readings {
        assert!(r.history.iter().all(|v| v.is_nan()), "no made-up history: {r:?}");
        assert!(r.problem_text().is_some_and(|p| p.starts_with("bad response")), "{r:?}");
    }
    for name in ["error ratio", "saturation"] {
        let row = signal_row(&state, name, t(0));
        assert!(row.contains("FAILED") && row.contains('—'), "{row}");
        assert!(!row.contains("OK") && !row.contains("0.000"), "{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_answered_with_a_500_fails_alone_and_all_failing_make_prometheus_stale() {
    let signals = [signal("good ratio", "good"), signal("broken ratio", "broken")];
    let mixed = FaultServer::start(Fault::Mixed);
    let mut state = new_state();
    let id = state.add_source(SourceKind::Prometheus, "prom");
    poll_signals(&mut state, id, &mixed, &signals, t(0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        readings(&state),
        [
            ("good ratio".to_string(), "OK", Some(0.25)),
            ("broken ratio".to_string(), "FAILED", None)
        ]
    );
    assert_eq!(
        state.signals.readings[1].problem_text(),
        Some(format!("HTTP 500: {OOPS}").as_str())
    );
    let row = signal_row(&state, "broken ratio", t(0));
    assert!(row.contains("FAILED") && row.contains("HTTP 500"), "{row}");
    assert!(!row.contains("OK") && !row.contains("0.000"), "{row}");
    assert!(signal_row(&state, "good ratio", t(0)).contains("0.250"));

    // Every query answered by a 500 page (or nothing at all): Prometheus is unreachable, the
    // source goes stale and the last readings stay.
    for (fault, expected) in [
        (Fault::ServerError, FetchError::new(FetchErrorKind::Status(500), OOPS)),
        (Fault::Silent, FetchError::new(FetchErrorKind::Timeout, "")),
    ] {
        let server = FaultServer::start(fault);
        let outcome = poll_signals(&mut state, id, &server, &signals, t(30)).await;
        assert_eq!(
            outcome.as_ref().map_err(|e| e.kind),
            Err(expected.kind),
            "{fault:?}: {outcome:?}"
        );
        assert_eq!(
            health(&state, id),
            SourceHealth::Stale {
                since: t(30),
                last_ok: Some(t(0)),
                error: outcome.err().unwrap_or_else(|| unreachable!()),
            }
        );
        if fault == Fault::ServerError {
            let SourceHealth::Stale { error, .. } = health(&state, id) else {
                unreachable!()
            };
            assert_eq!(error, expected);
        }
        assert_eq!(
            readings(&state),
            [
                ("good ratio".to_string(), "OK", Some(0.25)),
                ("broken ratio".to_string(), "FAILED", None)
            ],
            "{fault:?}: the last readings stay"
        );
        // The banner shows the start of the error; zoomed, the pane shows all of it.
        let shown = expected.to_string();
        let first_words: String = shown.chars().take(30).collect();
        let rows = pane_rows(&state, PaneId::Signals, t(40));
        let text = rows.concat();
        assert!(
            text.contains("✗ prom failing since") && squash(&text).contains(&squash(&first_words)),
            "{fault:?}:\n{}",
            rows.join("\n")
        );
        press(&mut state, '3', t(40));
        press(&mut state, 'z', t(40));
        assert_eq!((state.focus, state.zoomed), (PaneId::Signals, true));
        let zoomed = pane_rows(&state, PaneId::Signals, t(40));
        assert!(
            squash(&zoomed.concat()).contains(&squash(&shown)),
            "{fault:?}: {shown}\n{}",
            zoomed.join("\n")
        );
        assert!(zoomed.concat().contains("good ratio"), "{}", zoomed.join("\n"));
        press(&mut state, 'z', t(40));
        assert!(!state.zoomed);
    }

    // With no earlier readings, an unreachable Prometheus shows no signal at all, not zeros.
    let silent = FaultServer::start(Fault::Silent);
    let mut fresh = new_state();
    let id = fresh.add_source(SourceKind::Prometheus, "prom");
    let outcome = poll_signals(&mut fresh, id, &silent, &signals, t(0)).await;
    assert_eq!(outcome.map_err(|e| e.kind), Err(FetchErrorKind::Timeout));
    assert!(fresh.signals.readings.is_empty());
    assert!(health(&fresh, id).is_stale());
    let text = pane_rows(&fresh, PaneId::Signals, t(5)).concat();
    assert!(text.contains("timed out") && !text.contains("OK"), "{text}");
}
