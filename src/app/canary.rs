//! The canary watch (`:watch canary 30m`): for the given time after a canary goes out, every SLO
//! report and paging alert is weighed; any SLO entering TICKET or PAGE, or a page/critical alert
//! firing, ends it at once with "roll back"; reaching the end clean gives "promote" — unless an
//! error budget is exhausted, when the release gate holds it until `:promote override <reason>`.
//! Start and verdict are recorded in the timeline (and the audit log).

use chrono::{DateTime, Duration, Utc};

use super::effect::Effect;
use super::state::{AppState, NoticeLevel};
use super::update::human;
use crate::domain::slo::{BurnWindow, SloState};
use crate::domain::timeline::Event;

#[derive(Debug, Clone, PartialEq)]
pub struct CanaryWatch {
    pub started_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The worst SLO state seen so far.
    pub worst: SloState,
    /// The highest 1h burn rate seen over all SLOs.
    pub peak_burn_1h: f64,
    /// The verdict, once there is one: "promote", "roll back", or "held" (release gate).
    pub verdict: Option<String>,
    /// The deploy that started it by itself (its entry has `canary` set).
    pub deploy: Option<String>,
}

/// `:watch canary DURATION`.
pub fn start(state: &mut AppState, duration: Duration, now: DateTime<Utc>) -> Vec<Effect> {
    if state.canary.as_ref().is_some_and(|c| c.verdict.is_none()) {
        state.notify(NoticeLevel::Warn, "a canary watch is already running", now);
        return Vec::new();
    }
    state.canary = Some(CanaryWatch {
        started_at: now,
        ends_at: now + duration,
        worst: SloState::Ok,
        peak_burn_1h: 0.0,
        verdict: None,
        deploy: None,
    });
    state.notify(
        NoticeLevel::Info,
        format!("canary watch: {} minutes of SLO burn", duration.num_minutes()),
        now,
    );
    vec![Effect::Record(vec![human(
        now,
        Event::CanaryStarted {
            minutes: duration.num_minutes(),
            deploy: None,
        },
    )])]
}

/// A new deploy of an entry with `canary = "30m"`: the watch runs from the deploy's start (a
/// cockpit opened 10 minutes into it watches the remaining 20). A watch of an older deploy ends
/// as "superseded"; a watch started by hand, or one of this deploy, is left alone.
pub fn start_for_deploy(
    state: &mut AppState,
    deploy: &crate::domain::deploy::Deploy,
    duration: Duration,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let label = format!("{} {}", deploy.service, deploy.version);
    let mut effects = Vec::new();
    if let Some(c) = &state.canary {
        // Only a newer deploy than the one watched (or than a watch's start) gets a watch: an
        // older deploy finishing later must not take it over.
        if c.deploy.as_deref() == Some(label.as_str()) || deploy.started_at <= c.started_at {
            return Vec::new();
        }
        let active = c.verdict.is_none() || c.verdict.as_deref() == Some("held");
        if active {
            match &c.deploy {
                // A watch started by hand is the responder's: it goes on.
                None => return Vec::new(),
                // A newer deploy supersedes the one being watched: its watch ends, on the record.
                Some(old) => {
                    let reason = format!("{label} went out before the watch of {old} ended");
                    effects.extend(verdict(state, "superseded", reason, now));
                }
            }
        }
    }
    let started_at = deploy.started_at.min(now);
    state.canary = Some(CanaryWatch {
        started_at,
        ends_at: started_at + duration,
        worst: SloState::Ok,
        peak_burn_1h: 0.0,
        verdict: None,
        deploy: Some(label.clone()),
    });
    state.notify(
        NoticeLevel::Info,
        format!(
            "canary watch of {label}: {} minutes from its start",
            duration.num_minutes()
        ),
        now,
    );
    effects.push(Effect::Record(vec![super::update::system(
        now,
        Event::CanaryStarted {
            minutes: duration.num_minutes(),
            deploy: Some(label),
        },
    )]));
    effects
}

fn verdict(state: &mut AppState, verdict: &str, reason: String, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(watch) = state.canary.as_mut() else {
        return Vec::new();
    };
    watch.verdict = Some(verdict.to_string());
    let event = Event::CanaryVerdict {
        verdict: verdict.to_string(),
        reason: reason.clone(),
        worst: watch.worst.word().to_string(),
        peak_burn_1h: watch.peak_burn_1h,
    };
    let level = if verdict == "promote" {
        NoticeLevel::Info
    } else {
        NoticeLevel::Warn
    };
    state.notify(level, format!("canary: {verdict}: {reason}"), now);
    vec![Effect::Record(vec![human(now, event)])]
}

/// After every SLO update: a TICKET or PAGE during the watch is the end of the canary.
pub fn on_slos(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    let reports = state.slos.reports.clone();
    let Some(watch) = state.canary.as_mut().filter(|c| c.verdict.is_none()) else {
        return Vec::new();
    };
    for r in &reports {
        if let Some(b) = r.burn(BurnWindow::H1) {
            watch.peak_burn_1h = watch.peak_burn_1h.max(b);
        }
        // Ordered worst first: a smaller state is worse (NO DATA and STALE do not fail it).
        if matches!(r.state, SloState::Page | SloState::Ticket) && r.state < watch.worst {
            watch.worst = r.state;
        }
    }
    if matches!(watch.worst, SloState::Page | SloState::Ticket) {
        let which: Vec<String> = reports
            .iter()
            .filter(|r| matches!(r.state, SloState::Page | SloState::Ticket))
            .map(|r| format!("{} {}", r.spec.name, r.state.word()))
            .collect();
        return verdict(
            state,
            "roll back",
            format!("SLO degradation: {}", which.join(", ")),
            now,
        );
    }
    Vec::new()
}

/// After alerts change: a page or critical alert firing during the watch ends it.
pub fn on_alerts(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(watch) = state.canary.as_ref().filter(|c| c.verdict.is_none()) else {
        return Vec::new();
    };
    let since = watch.started_at;
    let critical = state.alerts.book.alerts().iter().find(|a| {
        a.state == crate::domain::alert::AlertState::Firing
            && a.starts_at >= since
            && matches!(
                a.severity(),
                crate::domain::severity::Severity::Page | crate::domain::severity::Severity::Critical
            )
    });
    match critical.map(|a| a.name().to_string()) {
        Some(name) => verdict(state, "roll back", format!("critical alert {name} fired"), now),
        None => Vec::new(),
    }
}

/// On the clock: the end of a clean watch is "promote", or "held" while a budget is exhausted.
pub fn on_tick(state: &mut AppState, now: DateTime<Utc>) -> Vec<Effect> {
    let Some(watch) = state.canary.as_ref().filter(|c| c.verdict.is_none()) else {
        return Vec::new();
    };
    if now < watch.ends_at {
        return Vec::new();
    }
    let minutes = (watch.ends_at - watch.started_at).num_minutes();
    if state.slos.release_frozen() && state.slos.plan_in_force(&state.service, now).is_none() {
        return verdict(
            state,
            "held",
            format!(
                "{minutes} minutes clean, but an error budget is exhausted: releases are frozen (:promote override <reason>)"
            ),
            now,
        );
    }
    verdict(
        state,
        "promote",
        format!("{minutes} minutes without SLO degradation or critical alerts"),
        now,
    )
}

/// `:promote override REASON`: promote a held canary despite the release gate, on the record.
pub fn override_hold(state: &mut AppState, reason: String, now: DateTime<Utc>) -> Vec<Effect> {
    let held = state.canary.as_ref().and_then(|c| c.verdict.as_deref()) == Some("held");
    if !held {
        state.notify(NoticeLevel::Info, "no canary is held by the release gate", now);
        return Vec::new();
    }
    verdict(state, "promote", format!("release gate overridden: {reason}"), now)
}

/// The watch in a few words, for the SLO pane's title.
pub fn summary(state: &AppState, now: DateTime<Utc>) -> Option<String> {
    let watch = state.canary.as_ref()?;
    Some(match &watch.verdict {
        Some(v) => format!("canary: {}", v.to_uppercase()),
        None => format!(
            "CANARY {} left · worst {} · peak 1h {:.1}x",
            crate::domain::timefmt::short_duration(watch.ends_at - now),
            watch.worst.word(),
            watch.peak_burn_1h
        ),
    })
}
