//! Signals pane state: the latest reading of each configured signal.

use crate::app::list::ListView;
use crate::domain::signal::SignalReading;

#[derive(Debug, Clone, Default)]
pub struct SignalsPane {
    pub readings: Vec<SignalReading>,
    pub list: ListView,
}

impl SignalsPane {
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
