//! The one HTTP policy every source uses: rustls (system roots plus an optional CA file), connect
//! and total timeouts, a response size cap, bearer tokens that are never logged, and failures
//! mapped to `FetchError` data.

use std::path::Path;
use std::time::Duration;

use crate::domain::health::{FetchError, FetchErrorKind};
use crate::domain::sanitize::one_line;

#[derive(Debug, Clone, Copy)]
pub struct HttpPolicy {
    pub connect_timeout: Duration,
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

/// Maps a transport error to what the user sees; never includes headers or tokens.
pub fn fetch_error(e: &reqwest::Error) -> FetchError {
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
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
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
    let mut response = request.send().await.map_err(|e| fetch_error(&e))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| fetch_error(&e))? {
        if body.len() + chunk.len() > policy.max_body {
            return Err(FetchError::new(
                FetchErrorKind::TooLarge,
                format!("more than {} bytes", policy.max_body),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}
