//! The probes of `[[probes]]`: a TLS certificate probe (a handshake verified against the system
//! roots plus the configured CA file; when that fails, a second handshake that trusts anything
//! reads the leaf so an untrusted chain still shows its expiry, labelled untrusted) and an HTTP
//! health probe (status, latency, optional body match through the shared `Endpoint`). One task
//! polls them all and sends `SourceData::Probes` from the one probes source.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;

use super::clock::TimeSource;
use super::http::{ClientError, Endpoint, HttpPolicy};
use crate::app::msg::{Msg, SourceData, SourceId, SourceKind, SourceUpdate};
use crate::app::state::AppState;
use crate::config::ProbeConfig;
use crate::domain::probe::{
    CertInfo, Chain, HttpOutcome, HttpState, ProbeOutcome, ProbeResult, TlsOutcome, days_between,
};

/// How often probes run unless configured otherwise.
pub const PROBES_INTERVAL: Duration = Duration::from_secs(60);
/// How long one probe may take unless configured otherwise.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a probe could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ProbeSetupError {
    #[error("\"{0}\" is not host:port")]
    Target(String),
    #[error("cannot read CA file {path}: {source}")]
    CaUnreadable { path: String, source: std::io::Error },
    #[error("bad CA file {path}: {detail}")]
    CaInvalid { path: String, detail: String },
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("{0}")]
    Http(#[from] ClientError),
    #[error("invalid body_regex: {0}")]
    Regex(#[from] regex::Error),
    #[error("neither tls nor http is set")]
    Nothing,
}

/// What the body of a healthy answer must contain.
#[derive(Debug, Clone)]
pub enum BodyMatch {
    Contains(String),
    Regex(regex::Regex),
}

impl BodyMatch {
    fn matches(&self, body: &str) -> bool {
        match self {
            Self::Contains(s) => body.contains(s.as_str()),
            Self::Regex(r) => r.is_match(body),
        }
    }
}

impl fmt::Display for BodyMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Contains(s) => write!(f, "no \"{s}\" in the body"),
            Self::Regex(r) => write!(f, "the body does not match /{}/", r.as_str()),
        }
    }
}

/// A TLS certificate probe of `host:port`.
#[derive(Debug, Clone)]
pub struct TlsProbe {
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    trusted: Arc<ClientConfig>,
    inspect: Arc<ClientConfig>,
    pub timeout: Duration,
}

impl TlsProbe {
    /// `target` is `host:port` (`[::1]:443` for IPv6); `ca_file` is a PEM bundle trusted besides
    /// the system roots. `system_roots: false` trusts only the CA file (tests).
    pub fn new(
        target: &str,
        ca_file: Option<&Path>,
        system_roots: bool,
        timeout: Duration,
    ) -> Result<Self, ProbeSetupError> {
        let (host, port) = split_target(target).ok_or_else(|| ProbeSetupError::Target(target.to_string()))?;
        let server_name =
            ServerName::try_from(host.clone()).map_err(|_| ProbeSetupError::Target(target.to_string()))?;
        let mut roots = RootCertStore::empty();
        if system_roots {
            // Unreadable system stores leave fewer roots; a chain they would have trusted then
            // shows as untrusted, never the other way round.
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
        if let Some(path) = ca_file {
            let shown = || path.display().to_string();
            let pem = std::fs::read(path).map_err(|source| ProbeSetupError::CaUnreadable { path: shown(), source })?;
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| ProbeSetupError::CaInvalid {
                    path: shown(),
                    detail: e.to_string(),
                })?;
                roots.add(cert).map_err(|e| ProbeSetupError::CaInvalid {
                    path: shown(),
                    detail: e.to_string(),
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(ProbeSetupError::CaInvalid {
                    path: shown(),
                    detail: "no certificate in it".into(),
                });
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let trusted = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let inspect = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RecordOnly(provider)))
            .with_no_client_auth();
        Ok(Self {
            host,
            port,
            server_name,
            trusted: Arc::new(trusted),
            inspect: Arc::new(inspect),
            timeout,
        })
    }

    /// One handshake (two when the chain is not trusted), as of `now`.
    pub async fn check(&self, now: DateTime<Utc>) -> TlsOutcome {
        let (chain, certs) = match self.handshake(&self.trusted).await {
            Ok(certs) => (Chain::Trusted, certs),
            Err(first) => match self.handshake(&self.inspect).await {
                Ok(certs) => (Chain::Untrusted(first), certs),
                Err(_) => {
                    return TlsOutcome {
                        chain: Chain::Unknown,
                        leaf: None,
                        days_left: None,
                        error: Some(first),
                    };
                }
            },
        };
        let leaf = certs.first().map(|c| leaf_info(c));
        match leaf {
            Some(Ok(info)) => TlsOutcome {
                chain,
                days_left: Some(days_between(now, info.not_after)),
                leaf: Some(info),
                error: None,
            },
            Some(Err(e)) => TlsOutcome {
                chain,
                leaf: None,
                days_left: None,
                error: Some(e),
            },
            None => TlsOutcome {
                chain,
                leaf: None,
                days_left: None,
                error: Some("the server sent no certificate".into()),
            },
        }
    }

    /// The peer's chain, leaf first, or why the handshake failed.
    async fn handshake(&self, config: &Arc<ClientConfig>) -> Result<Vec<CertificateDer<'static>>, String> {
        let connector = TlsConnector::from(config.clone());
        let attempt = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let tls = connector
                .connect(self.server_name.clone(), tcp)
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            Ok(tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default())
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no handshake within {}",
                humantime::format_duration(self.timeout)
            )),
        }
    }
}

fn split_target(target: &str) -> Option<(String, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse().ok()?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

fn leaf_info(der: &CertificateDer<'_>) -> Result<CertInfo, String> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| format!("unreadable certificate: {e}"))?;
    let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .ok_or_else(|| "certificate expiry out of range".to_string())?;
    Ok(CertInfo {
        subject: crate::domain::sanitize::one_line(&cert.subject().to_string()),
        issuer: crate::domain::sanitize::one_line(&cert.issuer().to_string()),
        not_after,
    })
}

/// Accepts any chain (signatures are still checked) so that an untrusted certificate can be read
/// and shown as untrusted. Used only for that second, labelled handshake.
#[derive(Debug)]
struct RecordOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for RecordOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// An HTTP health probe: one GET of the URL.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    pub endpoint: Endpoint,
    pub body: Option<BodyMatch>,
}

impl HttpProbe {
    pub fn new(
        url: &str,
        ca_file: Option<&Path>,
        timeout: Duration,
        body: Option<BodyMatch>,
    ) -> Result<Self, ProbeSetupError> {
        let policy = HttpPolicy {
            connect_timeout: timeout.min(HttpPolicy::default().connect_timeout),
            timeout,
            // A health answer is small; a large one is read only this far.
            max_body: 1024 * 1024,
        };
        Ok(Self {
            endpoint: Endpoint::new(url, url, policy, ca_file, None)?,
            body,
        })
    }

    pub async fn check(&self) -> HttpOutcome {
        let started = Instant::now();
        let result = self.endpoint.get("", &[]).await;
        let latency = started.elapsed().as_secs_f64();
        match result {
            Err(e) => HttpOutcome {
                state: HttpState::Down(e.to_string()),
                status: None,
                latency_seconds: None,
            },
            Ok(response) => {
                let state = match response.status {
                    401 | 403 => HttpState::AuthGated,
                    200..=399 => match &self.body {
                        Some(m) if !m.matches(&String::from_utf8_lossy(&response.body)) => {
                            HttpState::BodyMismatch(m.to_string())
                        }
                        _ => HttpState::Up,
                    },
                    _ => HttpState::BadStatus,
                };
                HttpOutcome {
                    state,
                    status: Some(response.status),
                    latency_seconds: Some(latency),
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub enum Check {
    Tls(TlsProbe),
    Http(HttpProbe),
    /// The probe could not be set up; every round reports why.
    Broken {
        tls: bool,
        reason: String,
    },
}

/// One configured probe.
#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub target: String,
    pub check: Check,
}

impl Probe {
    /// The probe of one `[[probes]]` entry; relative paths are read from `base_dir`.
    pub fn from_config(config: &ProbeConfig, base_dir: &Path) -> Self {
        let target = config.tls.clone().or_else(|| config.http.clone()).unwrap_or_default();
        let check = match Self::check_of(config, base_dir) {
            Ok(c) => c,
            Err(e) => Check::Broken {
                tls: config.tls.is_some(),
                reason: e.to_string(),
            },
        };
        Self {
            name: config.name.clone(),
            target,
            check,
        }
    }

    fn check_of(config: &ProbeConfig, base_dir: &Path) -> Result<Check, ProbeSetupError> {
        let ca = config.ca_file.as_ref().map(|f| base_dir.join(f));
        let timeout = config.timeout.map_or(PROBE_TIMEOUT, |t| t.0);
        if let Some(target) = &config.tls {
            return Ok(Check::Tls(TlsProbe::new(target, ca.as_deref(), true, timeout)?));
        }
        let Some(url) = &config.http else {
            return Err(ProbeSetupError::Nothing);
        };
        let body = match (&config.body, &config.body_regex) {
            (_, Some(re)) => Some(BodyMatch::Regex(regex::Regex::new(re)?)),
            (Some(s), None) => Some(BodyMatch::Contains(s.clone())),
            (None, None) => None,
        };
        Ok(Check::Http(HttpProbe::new(url, ca.as_deref(), timeout, body)?))
    }

    pub async fn run(&self, now: DateTime<Utc>) -> ProbeResult {
        let outcome = match &self.check {
            Check::Tls(t) => ProbeOutcome::Tls(t.check(now).await),
            Check::Http(h) => ProbeOutcome::Http(h.check().await),
            Check::Broken { tls: true, reason } => ProbeOutcome::Tls(TlsOutcome {
                chain: Chain::Unknown,
                leaf: None,
                days_left: None,
                error: Some(reason.clone()),
            }),
            Check::Broken { tls: false, reason } => ProbeOutcome::Http(HttpOutcome {
                state: HttpState::Down(reason.clone()),
                status: None,
                latency_seconds: None,
            }),
        };
        ProbeResult {
            name: self.name.clone(),
            target: self.target.clone(),
            outcome,
        }
    }
}

/// The poller of every probe: one source, one update a round.
#[derive(Debug, Clone)]
pub struct ProbeFeed {
    pub source: SourceId,
    pub probes: Vec<Probe>,
    pub interval: Duration,
}

/// Registers the probes source in `state` and builds its poller; `None` with no probes.
pub fn build(configs: &[ProbeConfig], base_dir: &Path, state: &mut AppState) -> Option<ProbeFeed> {
    if configs.is_empty() {
        return None;
    }
    let source = state.add_source(SourceKind::Probes, "probes");
    let interval = configs
        .iter()
        .filter_map(|c| c.interval.map(|d| d.0))
        .min()
        .unwrap_or(PROBES_INTERVAL);
    Some(ProbeFeed {
        source,
        probes: configs.iter().map(|c| Probe::from_config(c, base_dir)).collect(),
        interval,
    })
}

impl ProbeFeed {
    /// Every probe at once, in configuration order.
    pub async fn poll_once(&self, now: DateTime<Utc>) -> Vec<ProbeResult> {
        futures::future::join_all(self.probes.iter().map(|p| p.run(now))).await
    }

    /// The update of one round.
    pub async fn update(&self, time: TimeSource) -> Msg {
        let results = self.poll_once(time.now()).await;
        Msg::Source(SourceUpdate {
            source: self.source,
            at: time.now(),
            result: Ok(SourceData::Probes(results)),
        })
    }

    pub async fn run(self, time: TimeSource, tx: mpsc::Sender<Msg>, mut refresh: watch::Receiver<u64>) {
        loop {
            if tx.send(self.update(time).await).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                changed = refresh.changed() => if changed.is_err() { return },
            }
        }
    }
}
