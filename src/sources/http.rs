//! The one HTTP policy every source uses: rustls (system roots plus an optional CA file), connect
//! and total timeouts, a response size cap, jittered exponential backoff with a cap, bearer tokens
//! that are never logged or printed, and failures mapped to `FetchError` data.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::HttpSource;
use crate::config::secret::{SecretError, read_secret_file};
use crate::domain::health::{FetchError, FetchErrorKind};
use crate::domain::sanitize::one_line;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpPolicy {
    pub connect_timeout: Duration,
    /// From sending the request to the last byte of the body.
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_body: usize,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            max_body: 32 * 1024 * 1024,
        }
    }
}

/// Why an HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read CA file {path}: {source}")]
    CaUnreadable { path: String, source: std::io::Error },
    #[error("bad CA file {path}: {source}")]
    CaInvalid { path: String, source: reqwest::Error },
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("url is missing")]
    NoUrl,
}

/// Builds a client; `ca_file` adds a PEM bundle to the trusted roots.
pub fn client(policy: &HttpPolicy, ca_file: Option<&Path>) -> Result<reqwest::Client, ClientError> {
    // Several clients may be built; installing the provider twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.timeout)
        .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        let shown = || path.display().to_string();
        let pem = std::fs::read(path).map_err(|source| ClientError::CaUnreadable { path: shown(), source })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|source| ClientError::CaInvalid { path: shown(), source })?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(ClientError::Build)
}

/// A bearer token. Neither `Debug` nor any log line ever shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// One configured HTTP API: its base URL, client, policy and credentials.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Shown in the status bar and in errors.
    pub name: String,
    /// Without a trailing slash.
    pub base: String,
    pub policy: HttpPolicy,
    token: Option<Token>,
    /// Sent with every request (an API's media type and version).
    headers: Vec<(&'static str, &'static str)>,
    client: reqwest::Client,
}

/// A response whose body was read within the size cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Endpoint {
    pub fn new(
        name: &str,
        base: &str,
        policy: HttpPolicy,
        ca_file: Option<&Path>,
        token: Option<Token>,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            name: name.to_string(),
            base: base.trim_end_matches('/').to_string(),
            policy,
            token,
            headers: Vec::new(),
            client: client(&policy, ca_file)?,
        })
    }

    /// Sends `name: value` with every request from now on.
    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The endpoint of a `[prometheus]` or `[[alertmanager]]` table; relative paths are read from
    /// `base_dir` (the config file's directory).
    pub fn from_config(
        name: &str,
        source: &HttpSource,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientError> {
        let url = source.url.as_deref().ok_or(ClientError::NoUrl)?;
        let mut policy = HttpPolicy::default();
        if let Some(t) = source.timeout {
            policy.timeout = t.0;
            policy.connect_timeout = policy.connect_timeout.min(t.0);
        }
        let token = match (&source.token, &source.token_file) {
            (Some(secret), _) => Some(Token(secret.resolve(env)?)),
            (None, Some(file)) => Some(Token(read_secret_file(&base_dir.join(file))?)),
            (None, None) => None,
        };
        let ca: Option<PathBuf> = source.ca_file.as_ref().map(|f| base_dir.join(f));
        Self::new(name, url, policy, ca.as_deref(), token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Response, FetchError> {
        self.send(self.client.get(self.url(path)).query(query)).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<Response, FetchError> {
        self.send(self.client.post(self.url(path)).form(form)).await
    }

    pub async fn post_json<T: serde::Serialize + ?Sized>(&self, path: &str, body: &T) -> Result<Response, FetchError> {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Response, FetchError> {
        self.send(self.client.delete(self.url(path))).await
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> Result<Response, FetchError> {
        for (name, value) in &self.headers {
            request = request.header(*name, *value);
        }
        if let Some(Token(token)) = &self.token {
            request = request.bearer_auth(token);
        }
        // reqwest's own timeout covers the body too; this outer one is a second fence that no
        // server behaviour can get past.
        let fence = self.policy.timeout + Duration::from_millis(500);
        match tokio::time::timeout(fence, read(request, self.policy.max_body)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::new(
                FetchErrorKind::Timeout,
                format!(
                    "no complete answer within {}",
                    humantime::format_duration(self.policy.timeout)
                ),
            )),
        }
    }
}

async fn read(request: reqwest::RequestBuilder, max_body: usize) -> Result<Response, FetchError> {
    let mut response = request.send().await.map_err(fetch_error)?;
    let status = response.status().as_u16();
    let too_large = || FetchError::new(FetchErrorKind::TooLarge, format!("more than {max_body} bytes"));
    if response.content_length().is_some_and(|n| n > max_body as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        if body.len() + chunk.len() > max_body {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response { status, body })
}

/// Maps a transport error to what the user sees; never includes headers or tokens.
pub fn fetch_error(e: reqwest::Error) -> FetchError {
    let kind = if e.is_timeout() {
        FetchErrorKind::Timeout
    } else if e.is_connect() {
        FetchErrorKind::Connect
    } else if let Some(status) = e.status() {
        FetchErrorKind::Status(status.as_u16())
    } else if e.is_decode() {
        FetchErrorKind::Decode
    } else {
        FetchErrorKind::Other
    };
    // The URL is left out (the user knows it; its query may be long), and so are the wrappers
    // ("error sending request", "client error"): the root cause is what helps.
    let e = e.without_url();
    let mut root = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        root = s.to_string();
        source = s.source();
    }
    let detail = if kind == FetchErrorKind::Timeout {
        String::new()
    } else {
        root
    };
    FetchError::new(kind, one_line(&detail))
}

/// GETs `url` and returns the status and at most `policy.max_body` bytes of the body.
pub async fn get(
    client: &reqwest::Client,
    policy: &HttpPolicy,
    url: &str,
    token: Option<&str>,
) -> Result<(u16, Vec<u8>), FetchError> {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request, policy.max_body).await.map(|r| (r.status, r.body))
}

/// Delays between polls after failures: exponential from `base`, capped, with jitter so that many
/// cockpits do not hammer a recovering server in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    failures: u32,
    state: u64,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Self {
        Self {
            base,
            cap,
            failures: 0,
            state: seed | 1,
        }
    }

    /// After a success: back to the normal interval.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The wait after one more failure: `base · 2^(n−1)` capped at `cap`, then scaled by a random
    /// factor in [0.5, 1.0].
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exp = self.failures.saturating_sub(1).min(20);
        let raw = self.base.saturating_mul(1 << exp).min(self.cap);
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        let unit = r as f64 / (1u64 << 53) as f64;
        raw.mul_f64(0.5 + unit * 0.5)
    }
}

/// A short, single-line description of an error body: a JSON `error`/`message` field or string, or
/// the first line of text, at most 200 characters.
pub fn body_snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = match parsed {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Object(o)) => o
            .get("error")
            .or_else(|| o.get("message"))
            .and_then(|v| v.as_str())
            .map_or_else(|| text.to_string(), str::to_string),
        // An HTML error page (a proxy's 502): its title says what happened.
        _ if text.contains("<title>") => text
            .split("<title>")
            .nth(1)
            .and_then(|t| t.split("</title>").next())
            .unwrap_or("")
            .to_string(),
        _ => text.lines().next().unwrap_or("").to_string(),
    };
    let line = one_line(message.trim());
    crate::domain::sanitize::clip(line, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30), 7);
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        for (i, d) in delays.iter().enumerate() {
            let raw = Duration::from_secs(1 << i.min(5)).min(Duration::from_secs(30));
            assert!(*d >= raw / 2 && *d <= raw, "delay {i} = {d:?}, raw {raw:?}");
        }
        assert!(delays[7] <= Duration::from_secs(30));
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1));
        let mut other = Backoff::new(Duration::from_secs(1), Duration::from_secs(30), 8);
        let theirs: Vec<Duration> = (0..8).map(|_| other.next_delay()).collect();
        assert_ne!(delays, theirs, "different seeds do not retry in step");
    }

    #[test]
    fn tokens_never_show_in_debug() {
        let e = Endpoint::new(
            "am",
            "http://127.0.0.1:1/",
            HttpPolicy::default(),
            None,
            Some(Token::new("s3cr3t-token".into())),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{e:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(e.url("/api/v2/alerts"), "http://127.0.0.1:1/api/v2/alerts");
    }

    #[test]
    fn error_bodies_become_one_short_line() {
        assert_eq!(body_snippet(br#""silence not found""#), "silence not found");
        assert_eq!(
            body_snippet(br#"{"code":612,"message":"matchers in body should have at least 1 items"}"#),
            "matchers in body should have at least 1 items"
        );
        assert_eq!(
            body_snippet(br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#),
            "parse error"
        );
        assert_eq!(body_snippet(b"404 page not found\n"), "404 page not found");
        assert_eq!(
            body_snippet(b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>"),
            "502 Bad Gateway"
        );
        assert_eq!(body_snippet(&[b'x'; 500]).chars().count(), 201);
    }
}
