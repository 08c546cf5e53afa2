//! Timeline pane state: every recorded entry in time order (newest at the bottom), following the
//! newest unless the user scrolled away.

use crate::app::list::ListView;
use crate::domain::timeline::TimelineEntry;

#[derive(Debug, Clone)]
pub struct TimelinePane {
    pub entries: Vec<TimelineEntry>,
    pub list: ListView,
    pub follow: bool,
}

impl Default for TimelinePane {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            list: ListView::default(),
            follow: true,
        }
    }
}

impl TimelinePane {
    /// Inserts new entries in time order, or replaces a pending one by id when it becomes durable.
    pub fn insert(&mut self, entries: Vec<TimelineEntry>) {
        for entry in entries {
            if let Some(known) = self.entries.iter_mut().find(|e| e.id == entry.id) {
                *known = entry;
                continue;
            }
            let at = self.entries.partition_point(|e| e.occurred_at <= entry.occurred_at);
            self.entries.insert(at, entry);
        }
    }

    pub fn visible_rows(&self) -> Vec<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                self.list.filter.as_ref().is_none_or(|f| {
                    f.matches(&e.event.summary()) || f.matches(&e.actor) || f.matches(e.event.category())
                })
            })
            .map(|(i, _)| i)
            .collect()
    }
}

super::simple_list_pane!(TimelinePane);
