//! A silence create that times out is never blindly retried: the silencer lists the silences and
//! takes a matching one as created, or reports that nothing was created. A loopback stand-in for
//! Alertmanager takes the POST and never answers it, then lists (or not) the silence it "created".

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use warroom::domain::matcher::Matcher;
use warroom::sources::alertmanager::{PostableSilence, SilenceError, Silencer};
use warroom::sources::http::{Endpoint, HttpPolicy};

#[derive(Default)]
struct Seen {
    posts: Vec<serde_json::Value>,
    lists: usize,
}

/// Serves: POST /api/v2/silences → reads the body, never answers; GET /api/v2/silences → the
/// posted silences when `remember` (as if the POST took effect), else none.
fn fake_alertmanager(remember: bool) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = shared.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap_or_else(|e| panic!("{e}")));
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let mut stream = stream;
                if request_line.starts_with("POST") {
                    if let Ok(mut s) = seen.lock() {
                        s.posts.push(serde_json::from_slice(&body).unwrap_or_default());
                    }
                    // Never answer: hold the connection until the client gives up.
                    let mut rest = Vec::new();
                    let _ = reader.read_to_end(&mut rest);
                    return;
                }
                let listed: Vec<serde_json::Value> = match seen.lock() {
                    Ok(mut s) => {
                        s.lists += 1;
                        if remember {
                            s.posts
                                .iter()
                                .map(|p| {
                                    serde_json::json!({
                                        "id": "9f1c0000-0000-4000-8000-000000000001",
                                        "status": {"state": "active"},
                                        "updatedAt": p["startsAt"],
                                        "comment": p["comment"],
                                        "createdBy": p["createdBy"],
                                        "startsAt": p["startsAt"],
                                        "endsAt": p["endsAt"],
                                        "matchers": p["matchers"],
                                    })
                                })
                                .collect()
                        } else {
                            Vec::new()
                        }
                    }
                    Err(_) => Vec::new(),
                };
                let body = serde_json::to_string(&listed).unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (url, seen)
}

fn silencer(url: &str) -> Silencer {
    let policy = HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_millis(500),
        max_body: 1 << 20,
    };
    Silencer {
        members: vec![Endpoint::new("am-1", url, policy, None, None).unwrap_or_else(|e| panic!("{e}"))],
    }
}

fn request() -> PostableSilence {
    let start: DateTime<Utc> = DateTime::from_timestamp(1_795_900_000, 0).unwrap_or_default();
    let matchers = vec![Matcher::equal("alertname", "DiskFull").unwrap_or_else(|e| panic!("{e}"))];
    PostableSilence::new(
        &matchers,
        start,
        start + chrono::Duration::hours(1),
        "alice",
        "cleanup running",
    )
}

async fn guarded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| panic!("hung"))
}

#[tokio::test]
async fn a_timed_out_create_that_took_effect_is_found_not_repeated() {
    let (url, seen) = fake_alertmanager(true);
    let done = guarded(silencer(&url).post(&request()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(done.confirmed_after_timeout);
    assert_eq!(done.id, "9f1c0000-0000-4000-8000-000000000001");
    let s = seen.lock().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.posts.len(), s.lists), (1, 1), "one POST, then one look at the list");
    assert_eq!(s.posts[0]["comment"], "cleanup running");
    assert_eq!(s.posts[0]["matchers"][0]["isEqual"], true);
}

#[tokio::test]
async fn a_timed_out_create_that_did_not_take_effect_says_so_and_is_not_retried() {
    let (url, seen) = fake_alertmanager(false);
    let error = guarded(silencer(&url).post(&request())).await.err();
    assert!(
        matches!(&error, Some(SilenceError::TimedOutNotCreated { member }) if member == "am-1"),
        "{error:?}"
    );
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("nothing was created"), "{text}");
    let s = seen.lock().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.posts.len(), s.lists), (1, 1), "never retried");
}
