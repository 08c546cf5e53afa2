//! Signals pane state: the latest reading of each configured signal.

use crate::app::list::ListView;
use crate::domain::probe::ProbeResult;
use crate::domain::signal::SignalReading;

#[derive(Debug, Clone, Default)]
pub struct SignalsPane {
    /// Prometheus's signals, then one row per probe.
    pub readings: Vec<SignalReading>,
    pub list: ListView,
    /// The probes' latest results (their rows are the last `probes.len()` readings).
    pub probes: Vec<ProbeResult>,
}

impl SignalsPane {
    /// Replaces Prometheus's signals, keeping the probes' rows.
    pub fn set_signals(&mut self, readings: Vec<SignalReading>) {
        let keep = self.readings.len().saturating_sub(self.probes.len());
        let probes = self.readings.split_off(keep);
        self.readings = readings;
        self.readings.extend(probes);
    }

    /// Replaces the probes' results and rows, keeping Prometheus's signals.
    pub fn set_probes(&mut self, results: Vec<ProbeResult>) {
        let keep = self.readings.len().saturating_sub(self.probes.len());
        self.readings.truncate(keep);
        self.readings.extend(results.iter().map(ProbeResult::reading));
        self.probes = results;
    }

    pub fn visible_rows(&self) -> Vec<usize> {
        self.readings
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                self.list
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&r.spec.name) || f.matches(r.state_word()))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

super::simple_list_pane!(SignalsPane);
