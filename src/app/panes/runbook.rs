//! Runbook pane state: the runbooks known to the cockpit and which one is shown; step progress
//! comes from the incident (the journal), never from here.

use crate::app::list::ListView;
use crate::domain::runbook::Runbook;

#[derive(Debug, Clone, Default)]
pub struct RunbookPane {
    pub library: Vec<Runbook>,
    /// Id of the runbook shown.
    pub active: Option<String>,
    pub list: ListView,
}

impl RunbookPane {
    pub fn active_runbook(&self) -> Option<&Runbook> {
        let id = self.active.as_deref()?;
        self.library.iter().find(|r| r.id == id)
    }

    pub fn find(&self, id: &str) -> Option<&Runbook> {
        self.library.iter().find(|r| r.id == id)
    }

    pub fn visible_rows(&self) -> Vec<usize> {
        let Some(rb) = self.active_runbook() else {
            return Vec::new();
        };
        rb.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                self.list
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&s.text) || f.matches(&s.id))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

super::simple_list_pane!(RunbookPane);
