//! Alerts pane state: the alert book from the alert sources, the selection and the filter.

use chrono::{DateTime, Utc};

use crate::app::list::ListView;
use crate::domain::alert::{Alert, AlertBook, AlertChanges};

#[derive(Debug, Clone, Default)]
pub struct AlertsPane {
    pub book: AlertBook,
    pub list: ListView,
}

impl AlertsPane {
    pub fn apply_snapshot(&mut self, alerts: Vec<Alert>, at: DateTime<Utc>) -> AlertChanges {
        self.book.apply_snapshot(alerts, at)
    }

    /// Indexes into `book.alerts()` of the rows that pass the filter.
    pub fn visible_rows(&self) -> Vec<usize> {
        let alerts = self.book.alerts();
        match &self.list.filter {
            None => (0..alerts.len()).collect(),
            Some(f) => alerts
                .iter()
                .enumerate()
                .filter(|(_, a)| {
                    f.matches(a.summary())
                        || f.matches(a.state.word())
                        || f.matches(a.severity().word())
                        || a.labels.values().any(|v| f.matches(v))
                })
                .map(|(i, _)| i)
                .collect(),
        }
    }

    pub fn selected(&self) -> Option<&Alert> {
        let rows = self.visible_rows();
        rows.get(self.list.cursor.selected)
            .and_then(|&i| self.book.alerts().get(i))
    }
}

super::simple_list_pane!(AlertsPane);
