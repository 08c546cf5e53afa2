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
    /// Known to Prometheus but not firing yet (its `for` has not elapsed); only the Prometheus
    /// fallback reports these.
    Pending,
    Silenced,
    Inhibited,
    Resolved {
        at: DateTime<Utc>,
    },
}

impl AlertState {
    pub fn word(self) -> &'static str {
        match self {
            Self::Firing => "FIRING",
            Self::Pending => "PENDING",
            Self::Silenced => "SILENCED",
            Self::Inhibited => "INHIBITED",
            Self::Resolved { .. } => "RESOLVED",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Firing => "●",
            Self::Pending => "◔",
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
            Self::Pending => 2,
            Self::Resolved { .. } => 3,
        }
    }

    pub fn is_active(self) -> bool {
        !matches!(self, Self::Resolved { .. })
    }
}

/// Alertmanager's fingerprint of a label set (FNV-1a 64 over the sorted names and values, each
/// followed by a 0xff separator), as 16 hex digits: alerts from the Prometheus fallback get the
/// same identity as the ones Alertmanager reports.
pub fn fingerprint_of(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut hash = OFFSET;
    let mut add = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for (name, value) in labels {
        add(name.as_bytes());
        add(&[0xff]);
        add(value.as_bytes());
        add(&[0xff]);
    }
    format!("{hash:016x}")
}

/// Alerts that share the values of the grouping labels, in the book's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    /// The grouping labels and their values (absent labels are left out).
    pub labels: Vec<(String, String)>,
    /// Indexes into the book's alerts, most urgent first.
    pub members: Vec<usize>,
}

impl AlertGroup {
    /// `alertname=X service=odin`, the group's identity as text.
    pub fn key(&self) -> String {
        self.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Groups the alerts at `indexes` (in book order) by the values of the `by` labels. Groups come in
/// the order of their most urgent member, so the order is as stable as the book's.
pub fn group(alerts: &[Alert], indexes: &[usize], by: &[String]) -> Vec<AlertGroup> {
    let mut groups: Vec<AlertGroup> = Vec::new();
    let mut position: std::collections::HashMap<Vec<Option<&str>>, usize> = std::collections::HashMap::new();
    for &i in indexes {
        let Some(alert) = alerts.get(i) else { continue };
        let values: Vec<Option<&str>> = by.iter().map(|k| alert.label(k)).collect();
        match position.get(&values) {
            Some(&g) => groups[g].members.push(i),
            None => {
                let labels = by
                    .iter()
                    .zip(&values)
                    .filter_map(|(k, v)| v.map(|v| (k.clone(), v.to_string())))
                    .collect();
                position.insert(values, groups.len());
                groups.push(AlertGroup {
                    labels,
                    members: vec![i],
                });
            }
        }
    }
    groups
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

/// What changed when a new snapshot was applied: the fingerprints of the alerts that are new or
/// active again, and of those that ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AlertChanges {
    pub fired: Vec<String>,
    pub resolved: Vec<String>,
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
        let mut incoming: std::collections::HashMap<String, Alert> =
            std::collections::HashMap::with_capacity(snapshot.len());
        incoming.extend(snapshot.into_iter().map(|a| (a.fingerprint.clone(), a)));
        for known in &mut self.alerts {
            match incoming.remove(&known.fingerprint) {
                Some(fresh) => {
                    if !known.state.is_active() {
                        changes.fired.push(fresh.fingerprint.clone());
                    }
                    *known = fresh;
                }
                None if known.state.is_active() => {
                    known.state = AlertState::Resolved { at };
                    changes.resolved.push(known.fingerprint.clone());
                }
                None => {}
            }
        }
        for (_, fresh) in incoming {
            changes.fired.push(fresh.fingerprint.clone());
            self.alerts.push(fresh);
        }
        self.sort_and_trim();
        changes
    }

    fn sort_and_trim(&mut self) {
        // Firing before silenced or inhibited before resolved, then severity, then the oldest
        // first, then a stable tie-breaker.
        // The key is computed once per alert (the severity is a label lookup).
        type Urgency = (u8, Severity, DateTime<Utc>);
        let mut keyed: Vec<(Urgency, Alert)> = std::mem::take(&mut self.alerts)
            .into_iter()
            .map(|a| ((a.state.rank(), a.severity(), a.starts_at), a))
            .collect();
        keyed.sort_unstable_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
        self.alerts = keyed.into_iter().map(|(_, a)| a).collect();
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
        assert_eq!(changes.fired, Vec::<String>::new());
        assert_eq!(changes.resolved, ["a", "c"]);
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

    #[test]
    fn fingerprints_match_alertmanager() {
        // From ../shared/fixtures/am_alerts.json, captured from Alertmanager 0.25.
        let labels: BTreeMap<String, String> = [
            ("alertname", "TargetDown"),
            ("instance", "127.0.0.1:19999"),
            ("job", "checkout-api"),
            ("severity", "page"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(fingerprint_of(&labels), "48215a10e3b3faca");
    }

    #[test]
    fn groups_follow_the_most_urgent_member_and_keep_book_order() {
        let mut book = AlertBook::default();
        let mut a = alert("a", "Errors", "warning", 0);
        a.labels.insert("service".into(), "odin".into());
        let mut b = alert("b", "Errors", "page", 5);
        b.labels.insert("service".into(), "odin".into());
        let c = alert("c", "Disk", "page", 1);
        let mut d = alert("d", "Errors", "page", 9);
        d.labels.insert("service".into(), "thor".into());
        book.apply_snapshot(vec![a, b, c, d], at(10));
        let all: Vec<usize> = (0..book.alerts().len()).collect();
        let by = ["alertname".to_string(), "service".to_string()];
        let groups = group(book.alerts(), &all, &by);
        let shown: Vec<(String, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.key(),
                    g.members
                        .iter()
                        .map(|&i| book.alerts()[i].fingerprint.as_str())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("alertname=Disk".to_string(), vec!["c"]),
                ("alertname=Errors service=odin".to_string(), vec!["b", "a"]),
                ("alertname=Errors service=thor".to_string(), vec!["d"]),
            ]
        );
    }
}
