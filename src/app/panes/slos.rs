//! SLOs pane state: the latest report per SLO, in the order the source lists them.

use crate::app::list::ListView;
use crate::domain::slo::{RecordedPlan, SloReport, SloState};

#[derive(Debug, Clone, Default)]
pub struct SlosPane {
    pub reports: Vec<SloReport>,
    pub list: ListView,
    /// Configured SLOs that no source computes yet (said instead of "none configured").
    pub not_computed: Vec<String>,
    /// The latest mitigation plan recorded (`:mitigation`).
    pub mitigation: Option<RecordedPlan>,
}

impl SlosPane {
    /// Replaces the reports and returns the SLOs whose state changed, with the previous state.
    pub fn replace(&mut self, reports: Vec<SloReport>) -> Vec<(SloReport, Option<SloState>)> {
        let changed = reports
            .iter()
            .filter_map(|r| {
                let before = self
                    .reports
                    .iter()
                    .find(|o| o.spec.name == r.spec.name)
                    .map(|o| o.state);
                (before != Some(r.state)).then(|| (r.clone(), before))
            })
            .collect();
        self.reports = reports;
        changed
    }

    pub fn visible_rows(&self) -> Vec<usize> {
        self.reports
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                self.list
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&r.spec.name) || f.matches(r.state.word()))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The SLOs that have used up their error budget.
    pub fn budget_exhausted(&self) -> Vec<&SloReport> {
        self.reports.iter().filter(|r| r.budget_exhausted()).collect()
    }

    /// Some SLO's budget is exhausted: the error-budget policy freezes releases until a
    /// mitigation plan exists (`plan_in_force`).
    pub fn release_frozen(&self) -> bool {
        self.reports.iter().any(SloReport::budget_exhausted)
    }

    /// The recorded plan that answers the budgets of `service` exhausted now, as of `at`, within
    /// the longest SLO window (30 days without reports).
    pub fn plan_in_force(&self, service: &str, at: chrono::DateTime<chrono::Utc>) -> Option<&RecordedPlan> {
        let window = self
            .reports
            .iter()
            .map(|r| r.spec.window)
            .max()
            .unwrap_or_else(|| chrono::Duration::days(30));
        let exhausted: Vec<&str> = self.budget_exhausted().iter().map(|r| r.spec.name.as_str()).collect();
        self.mitigation
            .as_ref()
            .filter(|p| p.covers(service, &exhausted, at, window))
    }
}

super::simple_list_pane!(SlosPane);
