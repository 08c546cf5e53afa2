//! Alerts as Alertmanager reports them, and the alert book: the merged, stably ordered list the
//! Alerts pane shows, which keeps alerts seen during this session as resolved after they end.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::severity::Severity;

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub starts_at: DateTime<Utc>,
    pub generator_url: Option<String>,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Firing,
    Silenced,
    Inhibited,
    Resolved { at: DateTime<Utc> },
}

impl AlertState {
    pub fn word(self) -> &'static str {
        match self {
            Self::Firing => "FIRING",
            Self::Silenced => "SILENCED",
            Self::Inhibited => "INHIBITED",
            Self::Resolved { .. } => "RESOLVED",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Firing => "●",
            Self::Silenced => "◌",
            Self::Inhibited => "◍",
            Self::Resolved { .. } => "✓",
        }
    }

    /// Sort rank: what needs attention first.
    pub fn rank(self) -> u8 {
        match self {
            Self::Firing => 0,
            Self::Silenced | Self::Inhibited => 1,
            Self::Resolved { .. } => 2,
        }
    }

    pub fn is_active(self) -> bool {
        !matches!(self, Self::Resolved { .. })
    }
}

impl Alert {
    pub fn name(&self) -> &str {
        self.label("alertname").unwrap_or("(unnamed)")
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    pub fn severity(&self) -> Severity {
        self.label("severity").map_or(Severity::Unknown, Severity::from_label)
    }

    pub fn summary(&self) -> &str {
        self.annotations
            .get("summary")
            .or_else(|| self.annotations.get("description"))
            .map_or("", String::as_str)
    }

    pub fn runbook_url(&self) -> Option<&str> {
        self.annotations.get("runbook_url").map(String::as_str)
    }
}

/// What changed when a new snapshot was applied: the alerts that started firing and those that
/// ended. The caller records them on the timeline.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AlertChanges {
    pub fired: Vec<Alert>,
    pub resolved: Vec<Alert>,
}

/// The alerts the cockpit knows, active and resolved, sorted by severity then start time.
#[derive(Debug, Default, Clone)]
pub struct AlertBook {
    alerts: Vec<Alert>,
}

/// How many resolved alerts are remembered before the oldest are forgotten.
const RESOLVED_KEPT: usize = 500;

impl AlertBook {
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    pub fn active_count(&self) -> usize {
        self.alerts.iter().filter(|a| a.state.is_active()).count()
    }

    /// Replaces the active set with `snapshot` (the full current list from the source). Alerts
    /// absent from it become resolved at `at` and stay listed.
    pub fn apply_snapshot(&mut self, snapshot: Vec<Alert>, at: DateTime<Utc>) -> AlertChanges {
        let mut changes = AlertChanges::default();
        let mut incoming: BTreeMap<String, Alert> = snapshot.into_iter().map(|a| (a.fingerprint.clone(), a)).collect();
        for known in &mut self.alerts {
            match incoming.remove(&known.fingerprint) {
                Some(fresh) => {
                    if !known.state.is_active() {
                        changes.fired.push(fresh.clone());
                    }
                    *known = fresh;
                }
                None if known.state.is_active() => {
                    known.state = AlertState::Resolved { at };
                    changes.resolved.push(known.clone());
                }
                None => {}
            }
        }
        for (_, fresh) in incoming {
            changes.fired.push(fresh.clone());
            self.alerts.push(fresh);
        }
        self.sort_and_trim();
        changes
    }

    fn sort_and_trim(&mut self) {
        // Firing before silenced or inhibited before resolved, then severity, then the oldest
        // first, then a stable tie-breaker.
        self.alerts.sort_by(|a, b| {
            (a.state.rank(), a.severity(), a.starts_at, &a.fingerprint).cmp(&(
                b.state.rank(),
                b.severity(),
                b.starts_at,
                &b.fingerprint,
            ))
        });
        let resolved = self.alerts.len() - self.active_count();
        if resolved > RESOLVED_KEPT {
            let mut excess = resolved - RESOLVED_KEPT;
            // Forget the resolved alerts that ended first.
            let mut ends: Vec<DateTime<Utc>> = self
                .alerts
                .iter()
                .filter_map(|a| match a.state {
                    AlertState::Resolved { at } => Some(at),
                    _ => None,
                })
                .collect();
            ends.sort();
            let cutoff = ends[excess - 1];
            self.alerts.retain(|a| match a.state {
                AlertState::Resolved { at } if at <= cutoff && excess > 0 => {
                    excess -= 1;
                    false
                }
                _ => true,
            });
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap_or_default()
    }

    pub fn alert(fp: &str, name: &str, severity: &str, start: i64) -> Alert {
        Alert {
            fingerprint: fp.into(),
            labels: [("alertname", name), ("severity", severity)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            state: AlertState::Firing,
            starts_at: at(start),
            generator_url: None,
            silenced_by: vec![],
            inhibited_by: vec![],
        }
    }

    #[test]
    fn snapshot_orders_by_severity_then_start_and_reports_changes() {
        let mut book = AlertBook::default();
        let changes = book.apply_snapshot(
            vec![
                alert("b", "Slow", "warning", 5),
                alert("a", "Errors", "page", 10),
                alert("c", "Old", "warning", 1),
            ],
            at(20),
        );
        assert_eq!(changes.fired.len(), 3);
        let names: Vec<_> = book.alerts().iter().map(Alert::name).collect();
        assert_eq!(names, ["Errors", "Old", "Slow"]);

        let changes = book.apply_snapshot(vec![alert("b", "Slow", "warning", 5)], at(30));
        assert_eq!(changes.fired, vec![]);
        let resolved: Vec<_> = changes.resolved.iter().map(Alert::name).collect();
        assert_eq!(resolved, ["Errors", "Old"]);
        let listed: Vec<_> = book.alerts().iter().map(|a| (a.name(), a.state.word())).collect();
        assert_eq!(
            listed,
            [("Slow", "FIRING"), ("Errors", "RESOLVED"), ("Old", "RESOLVED")]
        );
        assert_eq!(book.active_count(), 1);
    }

    #[test]
    fn a_resolved_alert_that_fires_again_is_reported_again() {
        let mut book = AlertBook::default();
        book.apply_snapshot(vec![alert("a", "Errors", "page", 0)], at(1));
        book.apply_snapshot(vec![], at(2));
        let changes = book.apply_snapshot(vec![alert("a", "Errors", "page", 3)], at(4));
        assert_eq!(changes.fired.len(), 1);
        assert_eq!(book.alerts().len(), 1);
    }

    #[test]
    fn resolved_history_is_capped_oldest_first() {
        let mut book = AlertBook::default();
        for i in 0..(RESOLVED_KEPT as i64 + 10) {
            book.apply_snapshot(vec![alert(&format!("f{i}"), "X", "info", i)], at(i));
        }
        book.apply_snapshot(vec![], at(100_000));
        assert!(book.alerts().len() <= RESOLVED_KEPT);
        assert!(book.alerts().iter().all(|a| a.fingerprint != "f0"));
    }
}
