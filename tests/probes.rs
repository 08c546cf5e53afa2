//! Probes against loopback servers: the TLS probe with a CA and leaves generated here (expiring in
//! 2, 10 and 90 days, trusted through `ca_file`; untrusted with no CA file or another CA), the HTTP
//! probe (body match, 401 auth-gated, 500, a closed port), and their place in Signals and in
//! `warroom status`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use warroom::app::state::AppState;
use warroom::config::ProbeConfig;
use warroom::domain::probe::{Chain, HttpState, ProbeOutcome, ProbeResult};
use warroom::domain::severity::Level;
use warroom::sources::clock::TimeSource;
use warroom::sources::live::Live;
use warroom::sources::probes::{self, BodyMatch, HttpProbe, TlsProbe};
use warroom::status;

/// A bound on every probe: generous, only so that a broken test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(10);

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("CA cert");
    Ca {
        pem: cert.pem(),
        params,
        key,
    }
}

fn to_time(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).expect("in range")
}

/// A leaf for "localhost" signed by `ca`, valid from a day ago until `now + days` (plus an hour,
/// so that "2 days" reads as 2 and not 1.99).
fn leaf(ca: &Ca, now: DateTime<Utc>, days: i64) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.not_before = to_time(now - chrono::Duration::days(1));
    params.not_after = to_time(now + chrono::Duration::days(days) + chrono::Duration::hours(1));
    let key = KeyPair::generate().expect("leaf key");
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = params.signed_by(&key, &issuer).expect("leaf cert");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (vec![cert.der().clone()], key)
}

/// A TLS server on a loopback port that completes handshakes with `chain` and then waits for the
/// client to close. Returns the port.
async fn tls_server(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server cert");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut sink = Vec::new();
                    let _ = tls.read_to_end(&mut sink).await;
                }
            });
        }
    });
    port
}

fn write_pem(dir: &tempfile::TempDir, name: &str, pem: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, pem).expect("write pem");
    path
}

fn now() -> DateTime<Utc> {
    TimeSource::Real.now()
}

async fn tls_result(port: u16, ca_file: Option<&std::path::Path>, system_roots: bool) -> ProbeResult {
    let probe = TlsProbe::new(&format!("localhost:{port}"), ca_file, system_roots, LIMIT).expect("probe");
    let outcome = tokio::time::timeout(LIMIT * 3, probe.check(now()))
        .await
        .expect("the probe ends");
    ProbeResult {
        name: "api".into(),
        target: format!("localhost:{port}"),
        outcome: ProbeOutcome::Tls(outcome),
    }
}

fn tls(r: &ProbeResult) -> &warroom::domain::probe::TlsOutcome {
    match &r.outcome {
        ProbeOutcome::Tls(t) => t,
        ProbeOutcome::Http(_) => panic!("not a TLS result: {r:?}"),
    }
}

#[tokio::test]
async fn tls_expiry_levels_through_ca_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let authority = ca("warroom test CA");
    let ca_file = write_pem(&dir, "ca.pem", &authority.pem);
    for (days, level) in [(2, Level::Crit), (10, Level::Warn), (90, Level::Ok)] {
        let (chain, key) = leaf(&authority, now(), days);
        let port = tls_server(chain, key).await;
        let r = tls_result(port, Some(&ca_file), false).await;
        let t = tls(&r);
        assert_eq!(t.chain, Chain::Trusted, "{days} days: {r:?}");
        assert_eq!(t.error, None);
        let left = t.days_left.expect("days left");
        assert!(left >= days as f64 && left < days as f64 + 1.0, "{days} days: {left}");
        assert_eq!(r.level(), level, "{days} days");
        let leaf = t.leaf.as_ref().expect("leaf");
        assert!(leaf.issuer.contains("warroom test CA"), "{}", leaf.issuer);
        assert!(leaf.subject.contains("localhost"), "{}", leaf.subject);
        // In the Signals pane: days left, with the same level.
        let reading = r.reading();
        assert_eq!(reading.level(), level);
        assert_eq!(reading.problem, None);
    }
}

#[tokio::test]
async fn tls_untrusted_chain_is_reported_with_its_expiry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let authority = ca("warroom test CA");
    let other = ca("some other CA");
    let other_file = write_pem(&dir, "other.pem", &other.pem);
    let (chain, key) = leaf(&authority, now(), 90);
    let port = tls_server(chain, key).await;
    // Trusting another CA only, and trusting the system roots with no CA file.
    for r in [
        tls_result(port, Some(&other_file), false).await,
        tls_result(port, None, true).await,
    ] {
        let t = tls(&r);
        assert!(matches!(t.chain, Chain::Untrusted(_)), "{r:?}");
        let left = t.days_left.expect("the leaf was still read");
        assert!((90.0..91.0).contains(&left), "{left}");
        assert_eq!(r.level(), Level::Crit);
        assert!(r.summary().contains("UNTRUSTED"), "{}", r.summary());
        assert_eq!(r.reading().state_word(), "FAILED");
    }
}

#[tokio::test]
async fn tls_closed_port_has_no_certificate() {
    let port = closed_port().await;
    let r = tls_result(port, None, true).await;
    let t = tls(&r);
    assert_eq!(t.chain, Chain::Unknown);
    assert!(t.error.as_deref().is_some_and(|e| e.contains("connect")), "{r:?}");
    assert_eq!(r.level(), Level::Crit);
}

#[test]
fn tls_bad_ca_file_is_a_setup_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_pem(&dir, "ca.pem", "not a certificate");
    let e = TlsProbe::new("localhost:443", Some(&path), false, LIMIT).expect_err("no certificate in it");
    assert!(e.to_string().contains("ca.pem"), "{e}");
    let e = TlsProbe::new("localhost", None, false, LIMIT).expect_err("no port");
    assert!(e.to_string().contains("host:port"), "{e}");
}

/// A loopback HTTP server: `/ok` 200 "status: healthy", `/login` 401, `/boom` 500.
async fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, body) = match path.as_str() {
                    "/ok" => ("200 OK", "status: healthy"),
                    "/login" => ("401 Unauthorized", "log in"),
                    _ => ("500 Internal Server Error", "boom"),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

async fn http(url: &str, body: Option<BodyMatch>) -> (ProbeResult, warroom::domain::probe::HttpOutcome) {
    let probe = HttpProbe::new(url, None, LIMIT, body).expect("probe");
    let outcome = tokio::time::timeout(LIMIT * 2, probe.check())
        .await
        .expect("the probe ends");
    let result = ProbeResult {
        name: "health".into(),
        target: url.into(),
        outcome: ProbeOutcome::Http(outcome.clone()),
    };
    (result, outcome)
}

#[tokio::test]
async fn http_probe_states() {
    let port = http_server().await;
    let base = format!("http://127.0.0.1:{port}");

    let (r, o) = http(&format!("{base}/ok"), Some(BodyMatch::Contains("healthy".into()))).await;
    assert_eq!((o.state.clone(), o.status), (HttpState::Up, Some(200)), "{r:?}");
    assert!(o.latency_seconds.is_some());
    assert_eq!(r.level(), Level::Ok);
    assert_eq!(r.reading().state_word(), "OK");

    let re = regex::Regex::new(r"status:\s+healthy").expect("regex");
    let (_, o) = http(&format!("{base}/ok"), Some(BodyMatch::Regex(re))).await;
    assert_eq!(o.state, HttpState::Up);

    let (r, o) = http(&format!("{base}/ok"), Some(BodyMatch::Contains("ready".into()))).await;
    assert!(matches!(o.state, HttpState::BodyMismatch(_)), "{r:?}");
    assert_eq!(o.status, Some(200));
    assert_eq!(r.level(), Level::Crit);
    assert_eq!(r.reading().state_word(), "FAILED");

    let (r, o) = http(&format!("{base}/login"), Some(BodyMatch::Contains("healthy".into()))).await;
    assert_eq!((o.state.clone(), o.status), (HttpState::AuthGated, Some(401)));
    assert_eq!(r.level(), Level::Ok);
    assert!(r.summary().starts_with("up, auth-gated"), "{}", r.summary());
    assert!(r.reading().spec.name.contains("auth-gated"));

    let (r, o) = http(&format!("{base}/boom"), None).await;
    assert_eq!((o.state.clone(), o.status), (HttpState::BadStatus, Some(500)));
    assert_eq!(r.level(), Level::Crit);

    let closed = closed_port().await;
    let (r, o) = http(&format!("http://127.0.0.1:{closed}/"), None).await;
    assert!(matches!(o.state, HttpState::Down(_)), "{r:?}");
    assert_eq!(o.status, None);
    assert_eq!(r.level(), Level::Crit);
    assert!(r.summary().starts_with("down"), "{}", r.summary());
}

fn probe_config(name: &str, http: String, body: Option<&str>) -> ProbeConfig {
    ProbeConfig {
        name: name.into(),
        http: Some(http),
        body: body.map(str::to_string),
        ..ProbeConfig::default()
    }
}

async fn status_of(configs: &[ProbeConfig]) -> status::Report {
    let mut state = AppState::new(warroom::demo::test_setup("dark"));
    let feed = probes::build(configs, std::path::Path::new("."), &mut state);
    let live = Live {
        probes: feed,
        ..Live::default()
    };
    let state = tokio::time::timeout(LIMIT * 2, status::poll_once(state, live, TimeSource::Real))
        .await
        .expect("status ends");
    // Probe rows sit after Prometheus's signals, which a later signals update keeps.
    assert_eq!(state.signals.readings.len(), configs.len());
    status::report(&state, TimeSource::Real.now())
}

#[tokio::test]
async fn status_reports_probes_and_a_critical_one_pages() {
    let port = http_server().await;
    let healthy = probe_config("health", format!("http://127.0.0.1:{port}/ok"), Some("healthy"));
    let gated = probe_config("admin", format!("http://127.0.0.1:{port}/login"), None);
    let report = status_of(&[healthy.clone(), gated.clone()]).await;
    assert_eq!(report.exit_code, status::EXIT_QUIET, "{report:?}");
    assert_eq!(report.probes.len(), 2);
    assert_eq!(report.probes[1].http_state, Some("auth-gated"));
    let source = report
        .sources
        .iter()
        .find(|s| s.kind == "probes")
        .expect("probes source");
    assert_eq!(source.health, "fresh");

    let broken = probe_config("checkout", format!("http://127.0.0.1:{port}/boom"), None);
    let report = status_of(&[healthy, gated, broken]).await;
    assert_eq!(report.exit_code, status::EXIT_PAGING, "{report:?}");
    assert_eq!(report.probes[2].state, "CRIT");
    assert_eq!(report.probes[2].status, Some(500));
    let text = status::text(&report, report.at);
    assert!(text.contains("\nprobes\n"), "{text}");
    assert!(text.contains("unhealthy: HTTP 500"), "{text}");
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["probes"][0]["http_state"], "up");
}

#[test]
fn signals_keep_probe_rows_across_prometheus_updates() {
    let mut state = AppState::new(warroom::demo::test_setup("dark"));
    let probe = ProbeResult {
        name: "health".into(),
        target: "http://x/".into(),
        outcome: ProbeOutcome::Http(warroom::domain::probe::HttpOutcome {
            state: HttpState::Up,
            status: Some(200),
            latency_seconds: Some(0.01),
        }),
    };
    let signal = |name: &str| warroom::domain::signal::SignalReading {
        spec: warroom::domain::signal::SignalSpec {
            name: name.into(),
            unit: warroom::domain::signal::Unit::Count,
            warn: None,
            crit: None,
            direction: warroom::domain::signal::Direction::Above,
        },
        value: Some(1.0),
        history: Vec::new(),
        series: 1,
        problem: None,
    };
    state.signals.set_probes(vec![probe.clone()]);
    state.signals.set_signals(vec![signal("a"), signal("b")]);
    state.signals.set_probes(vec![probe.clone(), probe]);
    state.signals.set_signals(vec![signal("c")]);
    let names: Vec<&str> = state.signals.readings.iter().map(|r| r.spec.name.as_str()).collect();
    assert_eq!(names, ["c", "http health", "http health"]);
}
