//! `warroom slo` and the SLO part of `warroom status`: every SLO evaluated once (optionally as of a
//! past time), with its burn per window, budget, time to exhaustion, state and the release gate,
//! as text for a terminal or JSON for scripts and release pipelines.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::msg::{Msg, SourceData, SourceKind, SourceUpdate};
use crate::app::state::AppState;
use crate::app::update::update;
use crate::domain::health::SourceHealth;
use crate::domain::slo::{BurnWindow, SloReport, SloState};
use crate::domain::timefmt::short_duration;
use crate::sources::live::Live;

/// Exit codes of `warroom slo`.
pub const EXIT_OK: u8 = 0;
/// The release gate is closed: an error budget is exhausted (the policy freezes releases until a
/// mitigation plan exists) or an SLO burns at the paging rate. Takes precedence over `EXIT_UNKNOWN`.
pub const EXIT_GATE_CLOSED: u8 = 1;
/// Cannot tell: Prometheus did not answer, or an SLO has no data, is stale or is misconfigured.
pub const EXIT_UNKNOWN: u8 = 2;

/// Evaluates every SLO once as of `at` through the cockpit's own poller and `update`.
pub async fn poll_once(mut state: AppState, live: &Live, at: DateTime<Utc>) -> AppState {
    let Some(feed) = &live.signals else {
        return state;
    };
    if feed.slos.is_empty() {
        return state;
    }
    let result = feed.poll_slos(at).await.map(SourceData::Slos);
    // Timeline effects are not needed for a report.
    let _ = update(
        &mut state,
        Msg::Source(SourceUpdate {
            source: feed.source,
            at,
            result,
        }),
        at,
    );
    state
}

/// One window's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WindowFigures {
    /// Bad and total events counted over the window (increase of the counters).
    pub bad: f64,
    pub total: f64,
    pub error_ratio: Option<f64>,
    pub burn_rate: Option<f64>,
    /// The policy's burn-rate threshold for this window, if it has one.
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SloSummary {
    pub name: String,
    pub objective: f64,
    pub window_seconds: i64,
    /// "OK", "TICKET", "PAGE", "STALE", "NO DATA".
    pub state: &'static str,
    pub problem: Option<String>,
    /// Fraction of the window's budget left; negative when overspent.
    pub budget_remaining: Option<f64>,
    pub budget_exhausted: bool,
    /// At the current 1h burn rate.
    pub exhaustion_seconds: Option<i64>,
    /// Keyed "5m", "30m", "1h", "2h", "6h", "1d", "3d", "window"; absent windows had no series.
    pub windows: BTreeMap<&'static str, WindowFigures>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub service: String,
    pub environment: String,
    pub at: DateTime<Utc>,
    pub exit_code: u8,
    /// Releases are frozen: some SLO's error budget is exhausted and no mitigation plan was
    /// recorded within the budget window.
    pub release_frozen: bool,
    /// The SLOs whose budget is exhausted (with or without a plan).
    pub frozen_by: Vec<String>,
    /// The mitigation plan the policy asks for, if one was recorded within the budget window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mitigation: Option<MitigationPlan>,
    /// Why nothing could be computed (Prometheus missing or unreachable).
    pub problem: Option<String>,
    pub slos: Vec<SloSummary>,
}

/// A mitigation plan as recorded (`:mitigation` in the cockpit, `slo.mitigation_plan`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MitigationPlan {
    pub by: String,
    pub at: DateTime<Utc>,
    pub plan: String,
}

/// The plan that lifts the release freeze as of `at` (`SlosPane::plan_in_force`).
pub fn current_mitigation(state: &AppState, at: DateTime<Utc>) -> Option<MitigationPlan> {
    state.slos.plan_in_force(&state.service, at).map(|p| MitigationPlan {
        by: p.by.clone(),
        at: p.at,
        plan: p.plan.clone(),
    })
}

/// The newest mitigation plan for `service` recorded no later than `at` in the audit log (every
/// plan is audited, with or without an incident open); `None` when there is none or the log
/// cannot be read. A retracted plan (retractions are audited too) does not count.
pub fn mitigation_from_audit(
    audit: &std::path::Path,
    service: &str,
    at: DateTime<Utc>,
) -> Option<crate::domain::slo::RecordedPlan> {
    let readable = crate::journal::file::read_all(audit).ok()?;
    let retracted: std::collections::BTreeSet<&str> = readable
        .records
        .iter()
        .filter(|r| matches!(r.body.event, crate::domain::timeline::Event::Retracted { .. }))
        .filter_map(|r| r.body.supersedes.as_deref())
        .collect();
    readable.records.iter().rev().find_map(|r| match &r.body.event {
        crate::domain::timeline::Event::MitigationPlan {
            plan,
            service: for_service,
            slos,
        } if r.body.occurred_at <= at
            && (for_service.is_empty() || for_service == service)
            && !retracted.contains(r.body.id.as_str()) =>
        {
            Some(crate::domain::slo::RecordedPlan {
                id: r.body.id.clone(),
                by: r.body.actor.clone(),
                at: r.body.occurred_at,
                plan: plan.clone(),
                service: for_service.clone(),
                slos: slos.clone(),
            })
        }
        _ => None,
    })
}

/// A report's view of one SLO.
pub fn summary(report: &SloReport, stale: bool) -> SloSummary {
    let state = if stale && report.state != SloState::NoData {
        SloState::Stale
    } else {
        report.state
    };
    let windows = BurnWindow::ALL
        .iter()
        .filter_map(|&w| {
            let counts = report.counts.iter().find(|c| c.window == w)?;
            Some((
                w.label(),
                WindowFigures {
                    bad: counts.bad,
                    total: counts.total,
                    error_ratio: report.error_ratio(w),
                    burn_rate: report.burn(w),
                    threshold: SloReport::threshold(w),
                },
            ))
        })
        .collect();
    SloSummary {
        name: report.spec.name.clone(),
        objective: report.spec.objective,
        window_seconds: report.spec.window.num_seconds(),
        state: state.word(),
        problem: report.problem.clone(),
        budget_remaining: report.budget_remaining,
        budget_exhausted: report.budget_exhausted(),
        exhaustion_seconds: report.exhaustion.map(|d| d.num_seconds()),
        windows,
    }
}

/// Whether the SLOs' source is stale (its last poll failed).
fn prometheus_health(state: &AppState) -> Option<&SourceHealth> {
    state
        .sources
        .iter()
        .find(|s| s.kind == SourceKind::Prometheus)
        .map(|s| &s.health)
}

/// Every SLO `state` knows; `configured` names the ones that should be there.
pub fn summaries(state: &AppState) -> Vec<SloSummary> {
    let stale = prometheus_health(state).is_some_and(SourceHealth::is_stale);
    state.slos.reports.iter().map(|r| summary(r, stale)).collect()
}

/// The report of `state` as of `at`, for the SLOs named in `configured`.
pub fn report(state: &AppState, configured: &[String], at: DateTime<Utc>) -> Report {
    let slos = summaries(state);
    let problem = if configured.is_empty() {
        Some("no [[slo]] configured".to_string())
    } else {
        match prometheus_health(state) {
            None => Some("no [prometheus] configured: SLO burn is computed from its counters".into()),
            Some(SourceHealth::Disabled { reason }) => Some(format!("prometheus disabled: {reason}")),
            Some(SourceHealth::Stale { error, .. }) if slos.is_empty() => {
                Some(format!("prometheus did not answer: {error}"))
            }
            _ if slos.is_empty() => Some("prometheus did not answer".into()),
            _ => None,
        }
    };
    let frozen_by: Vec<String> = slos
        .iter()
        .filter(|s| s.budget_exhausted)
        .map(|s| s.name.clone())
        .collect();
    let paging = slos.iter().any(|s| s.state == SloState::Page.word());
    let unknown = problem.is_some()
        || slos.len() < configured.len()
        || slos
            .iter()
            .any(|s| s.state == SloState::NoData.word() || s.state == SloState::Stale.word());
    let mitigation = current_mitigation(state, at);
    let release_frozen = !frozen_by.is_empty() && mitigation.is_none();
    let exit_code = if release_frozen || paging {
        EXIT_GATE_CLOSED
    } else if unknown {
        EXIT_UNKNOWN
    } else {
        EXIT_OK
    };
    Report {
        service: state.service.clone(),
        environment: state.environment.clone(),
        at,
        exit_code,
        release_frozen,
        frozen_by,
        mitigation,
        problem,
        slos,
    }
}

/// The release gate's verdict in words.
pub fn gate_line(report: &Report) -> String {
    if report.release_frozen {
        format!(
            "RELEASES FROZEN: error budget exhausted ({}); the policy requires a mitigation plan before new releases",
            report.frozen_by.join(", ")
        )
    } else if report.exit_code == EXIT_GATE_CLOSED {
        "RELEASE GATE CLOSED: an SLO is burning at the paging rate".to_string()
    } else if report.exit_code == EXIT_UNKNOWN {
        "release gate unknown: not every SLO could be computed".to_string()
    } else if let Some(m) = report.mitigation.as_ref().filter(|_| !report.frozen_by.is_empty()) {
        format!(
            "error budget exhausted ({}); releases continue under the mitigation plan {} recorded at {}: {}",
            report.frozen_by.join(", "),
            crate::domain::sanitize::one_line(&m.by),
            m.at.format("%Y-%m-%d %H:%MZ"),
            crate::domain::sanitize::one_line(&m.plan)
        )
    } else {
        "release gate open: every error budget has room".to_string()
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn burn(v: Option<f64>) -> String {
    match v {
        Some(b) if b >= 100.0 => format!("{b:.0}x"),
        Some(b) => format!("{b:.2}x"),
        None => "—".to_string(),
    }
}

/// The SLO lines of a report (shared with `warroom status`).
pub fn slo_lines(slos: &[SloSummary], out: &mut String) {
    use std::fmt::Write as _;
    let clean = crate::domain::sanitize::one_line;
    let _ = writeln!(
        out,
        "  {:<16} {:<11} {:<8} {:>12} {:>10}",
        "SLO", "OBJECTIVE", "STATE", "BUDGET LEFT", "EMPTY IN"
    );
    for s in slos {
        let window = short_duration(chrono::Duration::seconds(s.window_seconds));
        let objective = format!("{}%/{}", s.objective * 100.0, window.trim_end_matches("00h"));
        let empty = s
            .exhaustion_seconds
            .map_or("—".to_string(), |t| short_duration(chrono::Duration::seconds(t)));
        let exhausted = if s.budget_exhausted { " EXHAUSTED" } else { "" };
        let _ = writeln!(
            out,
            "  {:<16} {:<11} {:<8} {:>12} {:>10}{exhausted}",
            clean(&s.name),
            objective,
            s.state,
            pct(s.budget_remaining),
            empty
        );
        if let Some(p) = &s.problem {
            let _ = writeln!(out, "  {:<16} {}", "", clean(p));
        }
    }
    let _ = write!(out, "\n  {:<16}", "burn rate");
    for w in BurnWindow::ALL {
        let _ = write!(out, " {:>7}", w.label());
    }
    let _ = writeln!(out);
    for s in slos {
        let _ = write!(out, "  {:<16}", clean(&s.name));
        for w in BurnWindow::ALL {
            let figure = s.windows.get(w.label()).and_then(|f| f.burn_rate);
            let over = s
                .windows
                .get(w.label())
                .and_then(|f| f.burn_rate.zip(f.threshold))
                .is_some_and(|(b, t)| b >= t);
            let mark = if over { "!" } else { " " };
            let _ = write!(out, " {:>6}{mark}", burn(figure));
        }
        let _ = writeln!(out);
    }
    let _ = write!(out, "  {:<16}", "threshold");
    for w in BurnWindow::ALL {
        let t = SloReport::threshold(w).map_or("-".to_string(), |t| format!("{t}x"));
        let _ = write!(out, " {t:>7}");
    }
    let _ = writeln!(out);
}

/// The report for a terminal.
pub fn text(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} / {} SLOs at {} UTC",
        report.service,
        report.environment,
        report.at.format("%Y-%m-%d %H:%M:%S")
    );
    let _ = writeln!(out, "{}\n", gate_line(report));
    if let Some(p) = &report.problem {
        let _ = writeln!(out, "  {}\n", crate::domain::sanitize::one_line(p));
    }
    if !report.slos.is_empty() {
        slo_lines(&report.slos, &mut out);
    }
    let _ = writeln!(
        out,
        "\n  ! = at or over the policy's threshold (page 14.4x 1h+5m or 6x 6h+30m; ticket 3x 1d+2h or 1x 3d+6h)"
    );
    out
}
