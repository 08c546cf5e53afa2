//! Runbook pane state: the runbooks known to the cockpit and which one is shown; step progress
//! comes from the incident (the journal), never from here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::app::list::ListView;
use crate::app::runbook_run::ActiveRun;
use crate::domain::runbook::Runbook;

#[derive(Debug, Clone, Default)]
pub struct RunbookPane {
    pub library: Vec<Runbook>,
    /// Id of the runbook shown.
    pub active: Option<String>,
    pub list: ListView,
    /// Input values set with `:input`, per runbook (this session only; defaults otherwise).
    pub inputs: BTreeMap<String, BTreeMap<String, String>>,
    /// Runs started here, oldest first (their output and outcome).
    pub runs: Vec<ActiveRun>,
    pub next_run: u64,
    /// Verify checks asked for and not answered yet: run id → (runbook, step, when).
    pub verifying: BTreeMap<u64, (String, String, DateTime<Utc>)>,
    pub last_verify: Option<DateTime<Utc>>,
    /// Fingerprints of the alerts no runbook covers, worked out when the alerts change (matching
    /// compiles label regexes: never per row per frame).
    pub orphans: std::collections::BTreeSet<String>,
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
