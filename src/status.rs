//! `warroom status`: one poll of every configured source through the cockpit's own pollers and
//! `update` (so the Prometheus fallback and the merge of Alertmanagers are the same), reported as
//! text for a glance over SSH or as JSON for scripts, with exit codes scripts can branch on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::app::msg::{AlertVia, Msg, SourceData, SourceUpdate};
use crate::app::state::AppState;
use crate::app::update::update;
use crate::domain::alert::AlertState;
use crate::domain::health::SourceHealth;
use crate::domain::probe::{Chain, HttpState, ProbeOutcome, ProbeResult};
use crate::domain::severity::{Level, Severity};
use crate::domain::signal::format_value;
use crate::sources::clock::TimeSource;
use crate::sources::live::Live;

/// Exit codes of `warroom status`.
pub const EXIT_QUIET: u8 = 0;
/// An alert of page (or critical) severity is firing and not silenced, or a probe is critical
/// (a certificate under 3 days or untrusted, a health check down or failing). Takes precedence
/// over `EXIT_SOURCE`: a known page matters more than a partial view.
pub const EXIT_PAGING: u8 = 1;
/// A source is unreachable, answered with an error, or is misconfigured.
pub const EXIT_SOURCE: u8 = 2;

/// Polls every source once and applies the answers to `state`.
pub async fn poll_once(mut state: AppState, live: Live, time: TimeSource) -> AppState {
    let (tx, mut rx) = mpsc::channel(1024);
    let alerts = async {
        if let Some(feed) = &live.alerts {
            feed.poll_once(time, &tx).await;
        }
    };
    let signals = async {
        if let Some(feed) = &live.signals {
            if !feed.signals.is_empty() {
                let result = feed.poll_once(time.now()).await.map(SourceData::Signals);
                let _ = tx
                    .send(Msg::Source(SourceUpdate {
                        source: feed.source,
                        at: time.now(),
                        result,
                    }))
                    .await;
            }
            if !feed.slos.is_empty() {
                let result = feed.poll_slos(time.now()).await.map(SourceData::Slos);
                let _ = tx
                    .send(Msg::Source(SourceUpdate {
                        source: feed.source,
                        at: time.now(),
                        result,
                    }))
                    .await;
            }
        }
    };
    let probes = async {
        if let Some(feed) = &live.probes {
            let _ = tx.send(feed.update(time).await).await;
        }
    };
    let deploys = async {
        let polls = live.deploys.iter().map(|feed| feed.poll_once(time.now()));
        for update in futures::future::join_all(polls).await {
            let _ = tx.send(Msg::Source(update)).await;
        }
    };
    tokio::join!(alerts, signals, probes, deploys);
    drop(tx);
    while let Some(msg) = rx.recv().await {
        // Timeline effects are not needed for a snapshot.
        let _ = update(&mut state, msg, time.now());
    }
    state
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub service: String,
    pub environment: String,
    pub at: DateTime<Utc>,
    pub exit_code: u8,
    pub sources: Vec<SourceReport>,
    /// "alertmanager", "prometheus-fallback" (no Alertmanager answered), "prometheus" (none
    /// configured), or null when no source answered.
    pub alerts_via: Option<&'static str>,
    pub alerts: Vec<AlertReport>,
    pub signals: Vec<SignalReport>,
    /// Releases are frozen: some SLO's error budget is exhausted (the spec's policy).
    pub release_frozen: bool,
    pub slos: Vec<crate::slo_report::SloSummary>,
    pub probes: Vec<ProbeReport>,
    /// The newest deploys, rollbacks and migrations (at most 10), newest first.
    pub deploys: Vec<DeployReport>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeployReport {
    pub id: String,
    pub service: String,
    pub version: String,
    pub environment: String,
    pub author: String,
    /// "deploy", "rollback", "migration".
    pub kind: String,
    /// "IN PROGRESS", "OK", "FAILED", "ROLLED BACK".
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbeReport {
    pub name: String,
    /// "tls" or "http".
    pub kind: &'static str,
    pub target: String,
    /// "OK", "WARN", "CRIT".
    pub state: &'static str,
    /// One line: "valid, 89 days left (…)", "up, auth-gated (401, 12ms)", "down: …".
    pub summary: String,
    /// TLS: days until the leaf expires (also for an untrusted chain).
    pub days_left: Option<f64>,
    /// TLS: whether the chain verified against the system roots and the CA file.
    pub trusted: Option<bool>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub not_after: Option<DateTime<Utc>>,
    /// HTTP: the status code and the latency.
    pub status: Option<u16>,
    pub latency_seconds: Option<f64>,
    /// HTTP: "up", "auth-gated", "body-mismatch", "bad-status", "down".
    pub http_state: Option<&'static str>,
}

fn probe_report(p: &ProbeResult) -> ProbeReport {
    let mut r = ProbeReport {
        name: p.name.clone(),
        kind: p.kind(),
        target: p.target.clone(),
        state: p.level().word(),
        summary: p.summary(),
        days_left: None,
        trusted: None,
        subject: None,
        issuer: None,
        not_after: None,
        status: None,
        latency_seconds: None,
        http_state: None,
    };
    match &p.outcome {
        ProbeOutcome::Tls(t) => {
            r.days_left = t.days_left;
            r.trusted = match t.chain {
                Chain::Trusted => Some(true),
                Chain::Untrusted(_) => Some(false),
                Chain::Unknown => None,
            };
            if let Some(leaf) = &t.leaf {
                r.subject = Some(leaf.subject.clone());
                r.issuer = Some(leaf.issuer.clone());
                r.not_after = Some(leaf.not_after);
            }
        }
        ProbeOutcome::Http(h) => {
            r.status = h.status;
            r.latency_seconds = h.latency_seconds;
            r.http_state = Some(match h.state {
                HttpState::Up => "up",
                HttpState::AuthGated => "auth-gated",
                HttpState::BodyMismatch(_) => "body-mismatch",
                HttpState::BadStatus => "bad-status",
                HttpState::Down(_) => "down",
            });
        }
    }
    r
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceReport {
    pub name: String,
    pub kind: &'static str,
    /// "fresh", "stale", "loading" (never answered), "disabled".
    pub health: &'static str,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertReport {
    pub fingerprint: String,
    pub alertname: String,
    /// "firing", "pending", "silenced", "inhibited".
    pub state: String,
    pub severity: String,
    pub starts_at: DateTime<Utc>,
    pub summary: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
    pub generator_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignalReport {
    pub name: String,
    /// "OK", "WARN", "CRIT", "NO DATA", "INVALID", "FAILED".
    pub state: &'static str,
    pub value: Option<f64>,
    pub display: String,
    pub problem: Option<String>,
}

fn kind_name(kind: crate::app::msg::SourceKind) -> &'static str {
    use crate::app::msg::SourceKind::*;
    match kind {
        Alertmanager => "alertmanager",
        Prometheus => "prometheus",
        Logs => "logs",
        Deploys => "deploys",
        Probes => "probes",
    }
}

/// The report of what `state` knows at `now`.
pub fn report(state: &AppState, now: DateTime<Utc>) -> Report {
    let sources: Vec<SourceReport> = state
        .sources
        .iter()
        .map(|s| {
            let polled = matches!(
                s.kind,
                crate::app::msg::SourceKind::Alertmanager
                    | crate::app::msg::SourceKind::Prometheus
                    | crate::app::msg::SourceKind::Probes
                    | crate::app::msg::SourceKind::Deploys
            );
            let (health, error) = match &s.health {
                SourceHealth::Disabled { reason } => ("disabled", Some(reason.clone())),
                _ if !polled => (
                    "not polled",
                    Some("status polls Prometheus, Alertmanager, deploys and probes; logs are not polled".to_string()),
                ),
                SourceHealth::Fresh { .. } => ("fresh", None),
                SourceHealth::Stale { error, .. } => ("stale", Some(error.to_string())),
                SourceHealth::Loading => ("loading", Some("no answer".to_string())),
            };
            SourceReport {
                name: s.name.clone(),
                kind: kind_name(s.kind),
                health,
                error,
            }
        })
        .collect();
    let alerts: Vec<AlertReport> = state
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state.is_active())
        .map(|a| AlertReport {
            fingerprint: a.fingerprint.clone(),
            alertname: a.name().to_string(),
            state: a.state.word().to_lowercase(),
            severity: a.label("severity").unwrap_or("none").to_string(),
            starts_at: a.starts_at,
            summary: a.summary().to_string(),
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            silenced_by: a.silenced_by.clone(),
            inhibited_by: a.inhibited_by.clone(),
            generator_url: a.generator_url.clone(),
        })
        .collect();
    let signals = state
        .signals
        .readings
        .iter()
        .map(|r| SignalReport {
            name: r.spec.name.clone(),
            state: r.state_word(),
            value: r.value.filter(|v| v.is_finite()),
            display: format_value(r.spec.unit, r.value),
            problem: r.problem_text().map(str::to_string),
        })
        .collect();
    let slos = crate::slo_report::summaries(state);
    let paging = state
        .alerts
        .book
        .alerts()
        .iter()
        .any(|a| a.state == AlertState::Firing && matches!(a.severity(), Severity::Page | Severity::Critical));
    // Logs and deploys are not polled by `status`; only the sources it polled count.
    let broken = state
        .sources
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                crate::app::msg::SourceKind::Alertmanager
                    | crate::app::msg::SourceKind::Prometheus
                    | crate::app::msg::SourceKind::Probes
                    | crate::app::msg::SourceKind::Deploys
            )
        })
        .any(|s| !matches!(s.health, SourceHealth::Fresh { .. }));
    // A query Prometheus rejects is a misconfigured signal.
    let invalid = state
        .signals
        .readings
        .iter()
        .any(|r| matches!(r.problem, Some(crate::domain::signal::SignalProblem::Invalid(_))));
    let broken = broken || invalid;
    let probes: Vec<ProbeReport> = state.signals.probes.iter().map(probe_report).collect();
    let paging = paging || state.signals.probes.iter().any(|p| p.level() == Level::Crit);
    let exit_code = if paging {
        EXIT_PAGING
    } else if broken {
        EXIT_SOURCE
    } else {
        EXIT_QUIET
    };
    Report {
        service: state.service.clone(),
        environment: state.environment.clone(),
        at: now,
        exit_code,
        sources,
        alerts_via: state.alerts.via.map(|v| match v {
            AlertVia::Alertmanager => "alertmanager",
            AlertVia::PrometheusFallback => "prometheus-fallback",
            AlertVia::Prometheus => "prometheus",
        }),
        alerts,
        signals,
        release_frozen: slos.iter().any(|s| s.budget_exhausted)
            && crate::slo_report::current_mitigation(state, now).is_none(),
        slos,
        probes,
        deploys: state
            .deploys
            .deploys
            .iter()
            .take(10)
            .map(|d| DeployReport {
                id: d.id.clone(),
                service: d.service.clone(),
                version: d.version.clone(),
                environment: d.environment.clone(),
                author: d.author.clone(),
                kind: format!("{:?}", d.kind).to_lowercase(),
                status: d.status.word().to_string(),
                started_at: d.started_at,
                finished_at: d.finished_at,
            })
            .collect(),
    }
}

/// The report for a terminal: sources, alerts (most urgent first), signals.
pub fn text(report: &Report, now: DateTime<Utc>) -> String {
    use std::fmt::Write as _;
    let clean = crate::domain::sanitize::one_line;
    let mut out = String::new();
    let verdict = match report.exit_code {
        EXIT_PAGING => "PAGING",
        EXIT_SOURCE => "DEGRADED VIEW",
        _ => "quiet",
    };
    let _ = writeln!(
        out,
        "{} / {} at {} UTC: {verdict}",
        report.service,
        report.environment,
        report.at.format("%Y-%m-%d %H:%M:%S")
    );
    let _ = writeln!(out, "\nsources");
    for s in &report.sources {
        let mark = match s.health {
            "fresh" => "✓",
            "not polled" | "disabled" => "–",
            _ => "✗",
        };
        match &s.error {
            Some(e) => {
                let _ = writeln!(
                    out,
                    "  {mark} {:<22} {:<12} {:<8} {}",
                    clean(&s.name),
                    s.kind,
                    s.health,
                    clean(e)
                );
            }
            None => {
                let _ = writeln!(out, "  {mark} {:<22} {:<12} {}", clean(&s.name), s.kind, s.health);
            }
        }
    }
    let via = match report.alerts_via {
        Some("prometheus-fallback") => " (from Prometheus: no Alertmanager answered)",
        Some("prometheus") => " (from Prometheus)",
        _ => "",
    };
    let _ = writeln!(out, "\nalerts{via}");
    if report.alerts.is_empty() {
        let _ = writeln!(out, "  none active");
    }
    for a in &report.alerts {
        let age = crate::domain::timefmt::short_duration(now - a.starts_at);
        let _ = writeln!(
            out,
            "  {:<9} {:<9} {:>7}  {:<28} {}",
            a.state.to_uppercase(),
            clean(&a.severity),
            age,
            clean(&a.alertname),
            clean(&a.summary)
        );
    }
    if report.release_frozen {
        let names: Vec<&str> = report
            .slos
            .iter()
            .filter(|s| s.budget_exhausted)
            .map(|s| s.name.as_str())
            .collect();
        let _ = writeln!(
            out,
            "RELEASES FROZEN: error budget exhausted ({}); the policy requires a mitigation plan before new releases",
            clean(&names.join(", "))
        );
    }
    let _ = writeln!(out, "\nsignals");
    if report.signals.is_empty() {
        let _ = writeln!(out, "  none polled");
    }
    for s in &report.signals {
        let _ = writeln!(
            out,
            "  {:<8} {:<28} {:>10}  {}",
            s.state,
            clean(&s.name),
            s.display,
            s.problem.as_deref().map(clean).unwrap_or_default()
        );
    }
    if !report.slos.is_empty() {
        let _ = writeln!(out, "\nslos");
        crate::slo_report::slo_lines(&report.slos, &mut out);
    }
    if !report.deploys.is_empty() {
        let _ = writeln!(out, "\ndeploys (newest first)");
        for d in &report.deploys {
            let age = crate::domain::timefmt::short_duration(now - d.started_at);
            let _ = writeln!(
                out,
                "  {:<12} {:<9} {:<14} {:<12} {:>7} ago  {}",
                d.status,
                d.kind,
                clean(&d.version),
                clean(&d.environment),
                age,
                clean(&d.author)
            );
        }
    }
    if !report.probes.is_empty() {
        let _ = writeln!(out, "\nprobes");
        for p in &report.probes {
            let _ = writeln!(
                out,
                "  {:<8} {:<4} {:<24} {}",
                p.state,
                p.kind,
                clean(&p.name),
                clean(&p.summary)
            );
        }
    }
    out
}
