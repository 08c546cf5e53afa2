//! Alerts on the incident timeline: which `alert.fired` and `alert.resolved` events are missing,
//! given the alerts known now and what the timeline already holds. Reconciling instead of reacting
//! to changes makes the events idempotent: a restart, a second cockpit on the same incident, or a
//! switch to the Prometheus fallback never records the same firing twice.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::alert::{Alert, AlertState};
use super::timeline::{Event, TimelineEntry};

/// An event to record and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub occurred_at: DateTime<Utc>,
    pub event: Event,
}

pub fn fired_event(a: &Alert) -> Event {
    Event::AlertFired {
        alertname: a.name().to_string(),
        fingerprint: a.fingerprint.clone(),
        severity: a.label("severity").unwrap_or("none").to_string(),
        summary: a.summary().to_string(),
    }
}

/// The events that bring `recorded` in line with `alerts` (the current book, including alerts
/// resolved during this session). A firing is identified by fingerprint and start time; an
/// unresolved firing on the timeline also covers the same fingerprint with another start time
/// (Prometheus and Alertmanager disagree on start times). `now` dates resolutions that happened
/// while nobody watched.
pub fn missing(alerts: &[Alert], recorded: &[&TimelineEntry], now: DateTime<Utc>) -> Vec<AlertEvent> {
    let mut fired: BTreeSet<(String, DateTime<Utc>)> = BTreeSet::new();
    let mut resolved: BTreeSet<(String, Option<DateTime<Utc>>)> = BTreeSet::new();
    for e in recorded {
        match &e.event {
            Event::AlertFired { fingerprint, .. } => {
                fired.insert((fingerprint.clone(), e.occurred_at));
            }
            Event::AlertResolved {
                fingerprint,
                started_at,
                ..
            } => {
                resolved.insert((fingerprint.clone(), *started_at));
            }
            _ => {}
        }
    }
    // Firings on the timeline still open: fired, and neither that firing nor (for records written
    // before start times were kept) the fingerprint in general resolved afterwards.
    let mut open: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    for (fp, started) in &fired {
        let closed = resolved.contains(&(fp.clone(), Some(*started))) || resolved.contains(&(fp.clone(), None));
        if !closed {
            open.entry(fp.clone()).or_default().push(*started);
        }
    }
    let mut out = Vec::new();
    let by_fp: BTreeMap<&str, &Alert> = alerts.iter().map(|a| (a.fingerprint.as_str(), a)).collect();
    for a in alerts.iter().filter(|a| a.state == AlertState::Firing) {
        let known = fired.contains(&(a.fingerprint.clone(), a.starts_at)) || open.contains_key(&a.fingerprint);
        if !known {
            out.push(AlertEvent {
                occurred_at: a.starts_at,
                event: fired_event(a),
            });
        }
    }
    for (fp, starts) in &open {
        let still_active = by_fp.get(fp.as_str()).is_some_and(|a| {
            matches!(
                a.state,
                AlertState::Firing | AlertState::Silenced | AlertState::Inhibited
            )
        });
        if still_active {
            continue;
        }
        let (name, at) = match by_fp.get(fp.as_str()) {
            Some(a) => (
                a.name().to_string(),
                match a.state {
                    AlertState::Resolved { at } => at,
                    _ => now,
                },
            ),
            None => (name_on_timeline(recorded, fp), now),
        };
        for started in starts {
            out.push(AlertEvent {
                occurred_at: at.max(*started),
                event: Event::AlertResolved {
                    alertname: name.clone(),
                    fingerprint: fp.clone(),
                    started_at: Some(*started),
                },
            });
        }
    }
    out
}

fn name_on_timeline(recorded: &[&TimelineEntry], fingerprint: &str) -> String {
    recorded
        .iter()
        .find_map(|e| match &e.event {
            Event::AlertFired {
                alertname,
                fingerprint: fp,
                ..
            } if fp == fingerprint => Some(alertname.clone()),
            _ => None,
        })
        .unwrap_or_else(|| fingerprint.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::tests::{alert, at};
    use crate::domain::timeline::Durability;

    fn entry(e: &AlertEvent) -> TimelineEntry {
        TimelineEntry {
            id: format!("{:?}", e.occurred_at),
            occurred_at: e.occurred_at,
            recorded_at: e.occurred_at,
            actor: "warroom".into(),
            event: e.event.clone(),
            supersedes: None,
            durability: Durability::Durable,
        }
    }

    fn kinds(events: &[AlertEvent]) -> Vec<(&'static str, DateTime<Utc>)> {
        events.iter().map(|e| (e.event.kind(), e.occurred_at)).collect()
    }

    #[test]
    fn a_firing_is_recorded_once_then_its_resolution_once() {
        let a = alert("fp1", "Errors", "page", 10);
        let first = missing(std::slice::from_ref(&a), &[], at(20));
        assert_eq!(kinds(&first), [("alert.fired", at(10))]);
        let timeline: Vec<TimelineEntry> = first.iter().map(entry).collect();
        let refs: Vec<&TimelineEntry> = timeline.iter().collect();
        assert_eq!(missing(std::slice::from_ref(&a), &refs, at(30)), vec![], "no duplicate");

        let mut ended = a.clone();
        ended.state = AlertState::Resolved { at: at(40) };
        let second = missing(std::slice::from_ref(&ended), &refs, at(50));
        assert_eq!(kinds(&second), [("alert.resolved", at(40))]);
        let mut all = timeline.clone();
        all.extend(second.iter().map(entry));
        let refs: Vec<&TimelineEntry> = all.iter().collect();
        assert_eq!(missing(&[ended], &refs, at(60)), vec![]);

        // The same alert firing again later is a new firing.
        let again = alert("fp1", "Errors", "page", 100);
        assert_eq!(kinds(&missing(&[again], &refs, at(110))), [("alert.fired", at(100))]);
    }

    #[test]
    fn a_restart_does_not_repeat_and_notices_what_ended_meanwhile() {
        let a = alert("fp1", "Errors", "page", 10);
        let b = alert("fp2", "Latency", "page", 12);
        let timeline: Vec<TimelineEntry> = missing(&[a.clone(), b], &[], at(20)).iter().map(entry).collect();
        let refs: Vec<&TimelineEntry> = timeline.iter().collect();
        // After a restart the book holds only what is firing now: fp2 ended while away.
        let events = missing(&[a], &refs, at(500));
        assert_eq!(kinds(&events), [("alert.resolved", at(500))]);
        assert!(matches!(&events[0].event, Event::AlertResolved { alertname, .. } if alertname == "Latency"));
    }

    #[test]
    fn a_different_start_time_for_an_open_firing_is_the_same_firing() {
        let a = alert("fp1", "Errors", "page", 10);
        let timeline: Vec<TimelineEntry> = missing(std::slice::from_ref(&a), &[], at(20))
            .iter()
            .map(entry)
            .collect();
        let refs: Vec<&TimelineEntry> = timeline.iter().collect();
        let from_prometheus = alert("fp1", "Errors", "page", 4);
        assert_eq!(missing(&[from_prometheus], &refs, at(30)), vec![]);
    }

    #[test]
    fn silenced_alerts_are_not_new_firings_but_stay_open() {
        let mut a = alert("fp1", "Errors", "page", 10);
        a.state = AlertState::Silenced;
        assert_eq!(missing(std::slice::from_ref(&a), &[], at(20)), vec![]);
        let fired = [AlertEvent {
            occurred_at: at(10),
            event: fired_event(&a),
        }];
        let timeline: Vec<TimelineEntry> = fired.iter().map(entry).collect();
        let refs: Vec<&TimelineEntry> = timeline.iter().collect();
        assert_eq!(missing(&[a], &refs, at(20)), vec![], "silenced is still active");
    }
}
