//! Probe results (`[[probes]]`): a TLS certificate's expiry and chain, an HTTP health check's
//! status and latency; their level, and the Signals-pane reading each one becomes.

use chrono::{DateTime, Utc};

use super::severity::Level;
use super::signal::{Direction, SignalProblem, SignalReading, SignalSpec, Unit};

/// Days left on a certificate under which it is a warning.
pub const WARN_DAYS: f64 = 14.0;
/// Days left under which it is critical.
pub const CRIT_DAYS: f64 = 3.0;

/// One probe's latest answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub name: String,
    /// `host:port` or the URL.
    pub target: String,
    pub outcome: ProbeOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeOutcome {
    Tls(TlsOutcome),
    Http(HttpOutcome),
}

/// What a TLS handshake showed about the served certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsOutcome {
    pub chain: Chain,
    /// The leaf certificate, when one was received (also for an untrusted chain).
    pub leaf: Option<CertInfo>,
    /// Days until the leaf expires (negative once expired), as of the probe.
    pub days_left: Option<f64>,
    /// Why no certificate was read (connection refused, handshake failed, timeout).
    pub error: Option<String>,
}

/// Whether the served chain verifies against the system roots and the configured CA file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    Trusted,
    /// The certificate was read without trusting it; the reason is the verifier's.
    Untrusted(String),
    /// No handshake got as far as a certificate.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub not_after: DateTime<Utc>,
}

/// What an HTTP health check showed.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpOutcome {
    pub state: HttpState,
    pub status: Option<u16>,
    /// From sending the request to the last byte of the body.
    pub latency_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpState {
    /// A 2xx or 3xx answer (whose body matched, when a match is configured).
    Up,
    /// 401 or 403: the service answers, behind authentication.
    AuthGated,
    /// A 2xx answer whose body does not match what is expected.
    BodyMismatch(String),
    /// Any other status.
    BadStatus,
    /// Timeout, refused connection, TLS failure: no answer.
    Down(String),
}

impl ProbeResult {
    pub fn level(&self) -> Level {
        match &self.outcome {
            ProbeOutcome::Tls(t) => match (&t.chain, t.days_left) {
                (Chain::Trusted, Some(days)) => days_level(days),
                _ => Level::Crit,
            },
            ProbeOutcome::Http(h) => match h.state {
                HttpState::Up | HttpState::AuthGated => Level::Ok,
                _ => Level::Crit,
            },
        }
    }

    /// "tls" or "http".
    pub fn kind(&self) -> &'static str {
        match self.outcome {
            ProbeOutcome::Tls(_) => "tls",
            ProbeOutcome::Http(_) => "http",
        }
    }

    /// One line for people: "valid, 89 days left (issuer …)", "up, auth-gated (401, 12ms)".
    pub fn summary(&self) -> String {
        match &self.outcome {
            ProbeOutcome::Tls(t) => {
                let days = t
                    .days_left
                    .map(|d| format!("{} days left", d.floor()))
                    .unwrap_or_default();
                let issuer = t
                    .leaf
                    .as_ref()
                    .map(|c| format!(" (subject {}, issuer {})", c.subject, c.issuer))
                    .unwrap_or_default();
                match (&t.chain, &t.error) {
                    (_, Some(e)) => format!("no certificate: {e}"),
                    (Chain::Trusted, None) => format!("valid, {days}{issuer}"),
                    (Chain::Untrusted(why), None) => format!("UNTRUSTED chain ({why}), {days}{issuer}"),
                    (Chain::Unknown, None) => "no certificate".to_string(),
                }
            }
            ProbeOutcome::Http(h) => {
                let status = h.status.map(|s| s.to_string()).unwrap_or_default();
                let latency = h
                    .latency_seconds
                    .map(|s| format!(", {:.0}ms", s * 1000.0))
                    .unwrap_or_default();
                match &h.state {
                    HttpState::Up => format!("up ({status}{latency})"),
                    HttpState::AuthGated => format!("up, auth-gated ({status}{latency})"),
                    HttpState::BodyMismatch(why) => format!("body mismatch ({status}{latency}): {why}"),
                    HttpState::BadStatus => format!("unhealthy: HTTP {status}{latency}"),
                    HttpState::Down(why) => format!("down: {why}"),
                }
            }
        }
    }

    /// The row in the Signals pane: days left (below 14 warn, below 3 crit) or the latency; a
    /// probe that failed carries why, so it is never shown as OK.
    pub fn reading(&self) -> SignalReading {
        let (spec, value, problem) = match &self.outcome {
            ProbeOutcome::Tls(t) => {
                let spec = SignalSpec {
                    name: format!("tls {}", self.name),
                    unit: Unit::Days,
                    warn: Some(WARN_DAYS),
                    crit: Some(CRIT_DAYS),
                    direction: Direction::Below,
                };
                let problem = match (&t.chain, &t.error) {
                    (_, Some(e)) => Some(SignalProblem::Failed(e.clone())),
                    (Chain::Untrusted(why), None) => Some(SignalProblem::Failed(format!("untrusted chain: {why}"))),
                    (Chain::Unknown, None) => Some(SignalProblem::Failed("no certificate".into())),
                    (Chain::Trusted, None) => None,
                };
                (spec, t.days_left, problem)
            }
            ProbeOutcome::Http(h) => {
                let name = match h.state {
                    HttpState::AuthGated => format!("http {} (up, auth-gated)", self.name),
                    _ => format!("http {}", self.name),
                };
                let spec = SignalSpec {
                    name,
                    unit: Unit::Seconds,
                    warn: None,
                    crit: None,
                    direction: Direction::Above,
                };
                let problem = match h.state {
                    HttpState::Up | HttpState::AuthGated => None,
                    _ => Some(SignalProblem::Failed(self.summary())),
                };
                (spec, h.latency_seconds, problem)
            }
        };
        SignalReading {
            spec,
            value,
            history: Vec::new(),
            series: usize::from(value.is_some()),
            problem,
        }
    }
}

/// The level of a trusted certificate with `days` left.
pub fn days_level(days: f64) -> Level {
    if days < CRIT_DAYS {
        Level::Crit
    } else if days < WARN_DAYS {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// Days from `now` to `not_after`, fractional.
pub fn days_between(now: DateTime<Utc>, not_after: DateTime<Utc>) -> f64 {
    (not_after - now).num_seconds() as f64 / 86_400.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(days_level(2.9), Level::Crit);
        assert_eq!(days_level(3.0), Level::Warn);
        assert_eq!(days_level(13.9), Level::Warn);
        assert_eq!(days_level(14.0), Level::Ok);
        assert_eq!(days_level(-1.0), Level::Crit);
    }

    #[test]
    fn untrusted_is_critical_and_never_ok_in_signals() {
        let r = ProbeResult {
            name: "api".into(),
            target: "api:443".into(),
            outcome: ProbeOutcome::Tls(TlsOutcome {
                chain: Chain::Untrusted("unknown issuer".into()),
                leaf: None,
                days_left: Some(90.0),
                error: None,
            }),
        };
        assert_eq!(r.level(), Level::Crit);
        assert_eq!(r.reading().state_word(), "FAILED");
    }
}
