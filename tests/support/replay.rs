//! A loopback HTTP server replaying documented API answers (GitHub, Argo CD): each route is
//! `"/path"` (GET) or `"POST /path"` with a fixed status and body; anything else is a 404. Every
//! request is kept (method, path, query, body, Authorization) so a test can check what was sent,
//! and how many times. Included with `#[path = "support/replay.rs"] mod replay;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use warroom::sources::http::{Endpoint, HttpPolicy, Token};

pub const TOKEN: &str = "s3cr3t-deploy-token";

/// A route (`"/path"` or `"METHOD /path"`) and what it answers: status and body.
pub type Route = (&'static str, u16, String);

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Asked {
    pub method: String,
    pub path: String,
    pub params: BTreeMap<String, String>,
    pub body: String,
    pub authorization: Option<String>,
    /// Every header, names in lower case.
    pub headers: BTreeMap<String, String>,
}

impl Asked {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

type Routes = Arc<Mutex<BTreeMap<String, (u16, String)>>>;

pub struct Replay {
    pub addr: SocketAddr,
    asked: Arc<Mutex<Vec<Asked>>>,
    routes: Routes,
    task: tokio::task::JoinHandle<()>,
}

impl Replay {
    pub async fn start(routes: Vec<Route>) -> Self {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let routes: Routes = Arc::new(Mutex::new(
            routes
                .into_iter()
                .map(|(route, status, body)| (key(route), (status, body)))
                .collect(),
        ));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        let served = Arc::clone(&routes);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, Arc::clone(&served), Arc::clone(&log)));
            }
        });
        Self {
            addr,
            asked,
            routes,
            task,
        }
    }

    /// Answers `route` differently from now on.
    pub fn set(&self, route: &str, status: u16, body: String) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(key(route), (status, body));
        }
    }

    /// An endpoint on this server with the test token.
    pub fn endpoint(&self, name: &str) -> Endpoint {
        let policy = HttpPolicy {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_body: 1024 * 1024,
        };
        Endpoint::new(
            name,
            &format!("http://{}", self.addr),
            policy,
            None,
            Some(Token::new(TOKEN.into())),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn requests(&self) -> Vec<Asked> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// The requests with this method.
    pub fn requests_with(&self, method: &str) -> Vec<Asked> {
        self.requests().into_iter().filter(|a| a.method == method).collect()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `"/path"` is a GET.
fn key(route: &str) -> String {
    if route.starts_with('/') {
        format!("GET {route}")
    } else {
        route.to_string()
    }
}

async fn serve(mut stream: TcpStream, routes: Routes, asked: Arc<Mutex<Vec<Asked>>>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let body = String::from_utf8_lossy(&data[head_end..]).into_owned();
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or("GET").to_string();
    let target = words.next().unwrap_or("/").to_string();
    let url = reqwest::Url::parse(&format!("http://replay{target}")).unwrap_or_else(|e| panic!("{e}"));
    if let Ok(mut log) = asked.lock() {
        log.push(Asked {
            method: method.clone(),
            path: url.path().to_string(),
            params: url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            body,
            authorization: header("authorization"),
            headers: head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect(),
        });
    }
    let answer = routes
        .lock()
        .ok()
        .and_then(|r| r.get(&format!("{method} {}", url.path())).cloned());
    let (status, body) = answer.unwrap_or_else(|| (404, r#"{"message":"Not Found"}"#.to_string()));
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
