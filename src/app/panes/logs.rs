//! Logs pane state: the byte-capped buffer, the index of lines passing the filter (kept up to date
//! incrementally as lines arrive and age out), and follow mode.

use std::collections::VecDeque;

use crate::app::list::{ListView, TextFilter};
use crate::domain::log::{LogBuffer, LogLine};

#[derive(Debug, Clone)]
pub struct LogsPane {
    pub buffer: LogBuffer,
    /// Sequence numbers of the lines that pass the filter, oldest first.
    index: VecDeque<u64>,
    pub list: ListView,
    pub follow: bool,
}

/// Default byte budget of the log buffer.
pub const DEFAULT_CAP_BYTES: usize = 256 * 1024 * 1024;

impl Default for LogsPane {
    fn default() -> Self {
        Self::new(DEFAULT_CAP_BYTES)
    }
}

impl LogsPane {
    pub fn new(cap_bytes: usize) -> Self {
        Self {
            buffer: LogBuffer::new(cap_bytes),
            index: VecDeque::new(),
            list: ListView::default(),
            follow: true,
        }
    }

    fn passes(filter: Option<&TextFilter>, line: &LogLine) -> bool {
        filter.is_none_or(|f| f.matches(&line.text) || f.matches(&line.source) || f.matches(line.level.word()))
    }

    pub fn push(&mut self, lines: Vec<LogLine>) {
        for line in lines {
            let passes = Self::passes(self.list.filter.as_ref(), &line);
            let seq = self.buffer.first_seq() + self.buffer.len() as u64;
            self.buffer.push(line);
            if passes {
                self.index.push_back(seq);
            }
        }
        let first = self.buffer.first_seq();
        let mut removed = 0;
        while self.index.front().is_some_and(|&s| s < first) {
            self.index.pop_front();
            removed += 1;
        }
        // Keep the selection on the same line when old lines age out.
        let cursor = &mut self.list.cursor;
        cursor.selected = cursor.selected.saturating_sub(removed);
        cursor.offset = cursor.offset.saturating_sub(removed);
    }

    /// The line at visible row `row`.
    pub fn row(&self, row: usize) -> Option<&LogLine> {
        let seq = *self.index.get(row)?;
        self.buffer.get((seq - self.buffer.first_seq()) as usize)
    }

    pub fn rows(&self) -> usize {
        self.index.len()
    }
}

impl super::ListPane for LogsPane {
    fn list(&self) -> &ListView {
        &self.list
    }
    fn list_mut(&mut self) -> &mut ListView {
        &mut self.list
    }
    fn visible_len(&self) -> usize {
        self.index.len()
    }
    fn set_filter(&mut self, filter: Option<TextFilter>) {
        let before = self.index.get(self.list.cursor.selected).copied();
        let first = self.buffer.first_seq();
        self.index = self
            .buffer
            .iter()
            .enumerate()
            .filter(|(_, l)| Self::passes(filter.as_ref(), l))
            .map(|(i, _)| first + i as u64)
            .collect();
        self.list.filter = filter;
        let rows: Vec<u64> = self.index.iter().copied().collect();
        self.list.cursor.reselect(before, &rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::panes::ListPane;
    use crate::domain::log::{LogLine, detect_level};
    use chrono::{TimeZone, Utc};

    fn line(text: &str) -> LogLine {
        LogLine {
            at: Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
            source: "app".into(),
            level: detect_level(text),
            text: text.into(),
        }
    }

    #[test]
    fn filter_index_tracks_new_and_evicted_lines() {
        let mut pane = LogsPane::new(180);
        pane.push(vec![line("a level=error"), line("b level=info")]);
        pane.set_filter(TextFilter::new("error"));
        assert_eq!(pane.rows(), 1);
        pane.push(vec![line("c level=error"), line("d level=error"), line("e level=info")]);
        // Capacity four: "a" was evicted, so the index holds c and d.
        assert_eq!(pane.rows(), 2);
        assert_eq!(pane.row(0).map(|l| &l.text[..1]), Some("c"));
        pane.set_filter(None);
        assert_eq!(pane.visible_len(), 4);
        assert_eq!(pane.row(3).map(|l| &l.text[..1]), Some("e"));
    }
}
