//! Alerts pane state: the alert book, the silences that mute alerts, where the alerts came from,
//! the grouping, the filter (Alertmanager matchers plus `@` terms) and the selection. The visible
//! rows are computed when something they depend on changes, not on every frame.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::app::list::{ListView, TextFilter};
use crate::app::msg::AlertVia;
use crate::domain::alert::{Alert, AlertBook, AlertChanges, AlertGroup, group};
use crate::domain::alert_query::{AlertQuery, QueryError};
use crate::domain::silence::Silence;

/// The grouping when the config does not name one.
pub const DEFAULT_GROUP_BY: [&str; 2] = ["alertname", "service"];

/// One row of the pane: a group header (for groups of two or more) or an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertRow {
    /// Index into `groups()`.
    Group(usize),
    /// Index into `book.alerts()`, and the group it belongs to.
    Alert { index: usize, group: usize },
}

/// What a row stands for, stable across refreshes (to keep the selection on it).
#[derive(Debug, Clone, PartialEq, Eq)]
enum RowKey {
    Group(String),
    Alert(String),
}

#[derive(Debug, Clone)]
pub struct AlertsPane {
    pub book: AlertBook,
    pub silences: Vec<Silence>,
    /// Where the current alerts came from; `None` before the first answer.
    pub via: Option<AlertVia>,
    pub group_by: Vec<String>,
    /// Keys of the groups shown folded (header only).
    pub folded: BTreeSet<String>,
    pub list: ListView,
    /// The parsed filter; an error is shown in place of the rows.
    pub query: Option<Result<AlertQuery, QueryError>>,
    /// The time `@age` terms are measured against (moved on by the clock tick).
    pub as_of: DateTime<Utc>,
    groups: Vec<AlertGroup>,
    rows: Vec<AlertRow>,
}

impl Default for AlertsPane {
    fn default() -> Self {
        Self {
            book: AlertBook::default(),
            silences: Vec::new(),
            via: None,
            group_by: DEFAULT_GROUP_BY.iter().map(|s| s.to_string()).collect(),
            folded: BTreeSet::new(),
            list: ListView::default(),
            query: None,
            as_of: DateTime::<Utc>::default(),
            groups: Vec::new(),
            rows: Vec::new(),
        }
    }
}

impl AlertsPane {
    pub fn apply_snapshot(&mut self, alerts: Vec<Alert>, at: DateTime<Utc>) -> AlertChanges {
        let before = self.selected_key();
        let changes = self.book.apply_snapshot(alerts, at);
        self.recompute(before);
        changes
    }

    pub fn set_silences(&mut self, silences: Vec<Silence>) {
        self.silences = silences;
    }

    pub fn set_group_by(&mut self, labels: Vec<String>) {
        let before = self.selected_key();
        self.group_by = labels;
        self.recompute(before);
    }

    /// Moves the clock `@age` terms use; recomputes only when the filter has one.
    pub fn set_time(&mut self, now: DateTime<Utc>) {
        self.as_of = now;
        let ages = matches!(&self.query, Some(Ok(q)) if q.terms.iter().any(|t| matches!(t, crate::domain::alert_query::Term::Age { .. })));
        if ages {
            let before = self.selected_key();
            self.recompute(before);
        }
    }

    pub fn rows(&self) -> &[AlertRow] {
        &self.rows
    }

    pub fn groups(&self) -> &[AlertGroup] {
        &self.groups
    }

    pub fn query_error(&self) -> Option<&QueryError> {
        self.query.as_ref().and_then(|q| q.as_ref().err())
    }

    pub fn selected_row(&self) -> Option<AlertRow> {
        self.rows.get(self.list.cursor.selected).copied()
    }

    /// The selected alert (`None` on a group header).
    pub fn selected(&self) -> Option<&Alert> {
        match self.selected_row()? {
            AlertRow::Alert { index, .. } => self.book.alerts().get(index),
            AlertRow::Group(_) => None,
        }
    }

    /// The selected group header's group.
    pub fn selected_group(&self) -> Option<&AlertGroup> {
        match self.selected_row()? {
            AlertRow::Group(g) => self.groups.get(g),
            AlertRow::Alert { .. } => None,
        }
    }

    /// Folds or unfolds the group of the selected row; returns whether there was a group to fold.
    pub fn toggle_fold(&mut self) -> bool {
        let group = match self.selected_row() {
            Some(AlertRow::Group(g) | AlertRow::Alert { group: g, .. }) => g,
            None => return false,
        };
        let Some(g) = self.groups.get(group) else { return false };
        if g.members.len() < 2 {
            return false;
        }
        let key = g.key();
        if !self.folded.remove(&key) {
            self.folded.insert(key.clone());
        }
        self.recompute(Some(RowKey::Group(key)));
        true
    }

    /// The silences that mute `alert`, by the ids Alertmanager gave.
    pub fn silences_of<'a>(&'a self, alert: &'a Alert) -> impl Iterator<Item = &'a Silence> + 'a {
        self.silences.iter().filter(move |s| alert.silenced_by.contains(&s.id))
    }

    /// The names of the alerts inhibiting `alert` (by fingerprint), where known.
    pub fn inhibitors_of(&self, alert: &Alert) -> Vec<String> {
        alert
            .inhibited_by
            .iter()
            .map(|fp| {
                self.book
                    .alerts()
                    .iter()
                    .find(|a| &a.fingerprint == fp)
                    .map_or_else(|| fp.clone(), |a| a.name().to_string())
            })
            .collect()
    }

    fn selected_key(&self) -> Option<RowKey> {
        // A selection on the top row stays on the top row (the most urgent alert).
        if self.list.cursor.selected == 0 {
            return None;
        }
        match self.selected_row()? {
            AlertRow::Group(g) => self.groups.get(g).map(|g| RowKey::Group(g.key())),
            AlertRow::Alert { index, .. } => self
                .book
                .alerts()
                .get(index)
                .map(|a| RowKey::Alert(a.fingerprint.clone())),
        }
    }

    fn recompute(&mut self, keep: Option<RowKey>) {
        let alerts = self.book.alerts();
        let passing: Vec<usize> = match &self.query {
            None => (0..alerts.len()).collect(),
            Some(Err(_)) => Vec::new(),
            Some(Ok(q)) => (0..alerts.len())
                .filter(|&i| q.matches(&alerts[i], self.as_of))
                .collect(),
        };
        self.groups = group(alerts, &passing, &self.group_by);
        self.rows.clear();
        for (gi, g) in self.groups.iter().enumerate() {
            if g.members.len() >= 2 {
                self.rows.push(AlertRow::Group(gi));
                if self.folded.contains(&g.key()) {
                    continue;
                }
            }
            self.rows
                .extend(g.members.iter().map(|&index| AlertRow::Alert { index, group: gi }));
        }
        let found = keep.and_then(|key| {
            self.rows.iter().position(|row| match (row, &key) {
                (AlertRow::Group(g), RowKey::Group(k)) => self.groups.get(*g).is_some_and(|g| &g.key() == k),
                (AlertRow::Alert { index, .. }, RowKey::Alert(fp)) => {
                    self.book.alerts().get(*index).is_some_and(|a| &a.fingerprint == fp)
                }
                _ => false,
            })
        });
        match found {
            Some(pos) => self.list.cursor.selected = pos,
            None => {
                self.list.cursor.selected = self.list.cursor.selected.min(self.rows.len().saturating_sub(1));
            }
        }
    }
}

impl crate::app::panes::ListPane for AlertsPane {
    fn list(&self) -> &ListView {
        &self.list
    }
    fn list_mut(&mut self) -> &mut ListView {
        &mut self.list
    }
    fn visible_len(&self) -> usize {
        self.rows.len()
    }
    fn set_filter(&mut self, filter: Option<TextFilter>) {
        let before = match self.selected_row() {
            Some(AlertRow::Alert { index, .. }) => self
                .book
                .alerts()
                .get(index)
                .map(|a| RowKey::Alert(a.fingerprint.clone())),
            Some(AlertRow::Group(g)) => self.groups.get(g).map(|g| RowKey::Group(g.key())),
            None => None,
        };
        self.query = filter.as_ref().map(|f| AlertQuery::parse(f.text()));
        self.list.filter = filter;
        self.recompute(before);
    }
}
