//! One drawing module per pane. Each builds only the rows that fit, from the pane's state.

pub mod alerts;
pub mod deploys;
pub mod detail;
pub mod logs;
pub mod runbook;
pub mod signals;
pub mod slos;
pub mod timeline;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::chrome;
use super::theme::Slot;
use crate::app::list::ListCursor;
use crate::app::pane::PaneId;
use crate::app::state::AppState;

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, pane: PaneId, focused: bool, now: DateTime<Utc>) {
    let summary = match pane {
        PaneId::Alerts => alerts::summary(state),
        PaneId::Slos => slos::summary(state, now),
        PaneId::Signals => signals::summary(state),
        PaneId::Logs => logs::summary(state),
        PaneId::Deploys => deploys::summary(state),
        PaneId::Runbook => runbook::summary(state),
        PaneId::Timeline => timeline::summary(state),
    };
    let block = chrome::pane_block(state, pane, focused, &summary, now, area.width);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    // A stale source's error in full, above the rows (which keep the last good data).
    let stale = chrome::stale_lines(state, pane, now, usize::from(inner.width));
    let banner = stale.len() as u16;
    let inner = if banner > 0 && inner.height > banner + 1 {
        super::put_lines(
            frame,
            Rect {
                height: banner,
                ..inner
            },
            &stale,
        );
        Rect {
            y: inner.y + banner,
            height: inner.height - banner,
            ..inner
        }
    } else {
        inner
    };
    let (inner, detail_area) = if state.zoomed && pane == state.focus && super::layout::has_detail(pane) {
        let (list, detail) = super::layout::split_detail(inner);
        (list, Some(detail))
    } else {
        (inner, None)
    };
    let ctx = Ctx {
        state,
        focused,
        now,
        width: usize::from(inner.width),
        height: usize::from(inner.height),
    };
    let lines = match pane {
        PaneId::Alerts => alerts::lines(&ctx),
        PaneId::Slos => slos::lines(&ctx),
        PaneId::Signals => signals::lines(&ctx),
        PaneId::Logs => logs::lines(&ctx),
        PaneId::Deploys => deploys::lines(&ctx),
        PaneId::Runbook => runbook::lines(&ctx),
        PaneId::Timeline => timeline::lines(&ctx),
    };
    super::put_lines(frame, inner, &lines);
    if let Some(area) = detail_area {
        render_detail(frame, area, state, pane, now);
    }
}

/// The selected row's details under a zoomed list, below a titled rule.
fn render_detail(frame: &mut Frame<'_>, area: Rect, state: &AppState, pane: PaneId, now: DateTime<Utc>) {
    let theme = &state.theme;
    let width = usize::from(area.width);
    let mut lines = vec![Line::from(Span::styled(
        format!("── details {}", "─".repeat(width.saturating_sub(11))),
        theme.style(Slot::Border),
    ))];
    let body = match pane {
        PaneId::Alerts => state.alerts.selected().map(|a| detail::alert(state, a, width)),
        PaneId::Logs => state
            .logs
            .row(state.logs.list.cursor.selected)
            .map(|l| detail::log_line(state, &l, width)),
        PaneId::Deploys => {
            let rows = state.deploys.visible_rows();
            rows.get(state.deploys.list.cursor.selected)
                .and_then(|&i| state.deploys.deploys.get(i))
                .map(|d| detail::deploy(state, d, now, width))
        }
        PaneId::Runbook => {
            // The step first; of a long run's output, the newest lines.
            let mut lines = runbook::detail(state, width);
            let room = usize::from(area.height).saturating_sub(1);
            if lines.len() > room {
                let head = lines.len().min(8).min(room);
                let tail: Vec<_> = lines.split_off(lines.len() - (room - head));
                lines.truncate(head);
                lines.extend(tail);
            }
            (!lines.is_empty()).then_some(lines)
        }
        _ => None,
    };
    lines.extend(body.unwrap_or_else(|| vec![Line::from(Span::styled(" nothing selected", theme.style(Slot::Muted)))]));
    super::put_lines(frame, area, &lines);
}

/// What a pane's drawing needs: the state, focus, time and the inner size.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub focused: bool,
    pub now: DateTime<Utc>,
    pub width: usize,
    pub height: usize,
}

impl Ctx<'_> {
    /// A header line in the header style.
    pub fn header(&self, text: String) -> Line<'static> {
        Line::from(Span::styled(
            super::text::fit(&text, self.width),
            self.state.theme.style(Slot::Header),
        ))
    }

    /// The muted one-liner of an empty pane.
    pub fn empty(&self, text: &str) -> Vec<Line<'static>> {
        vec![Line::from(Span::styled(
            format!(" {text}"),
            self.state.theme.style(Slot::Muted),
        ))]
    }

    /// The visible window of rows `len` at `cursor` for `rows` lines, and which index is selected.
    pub fn window(&self, cursor: ListCursor, len: usize, rows: usize) -> std::ops::Range<usize> {
        let (start, end) = cursor.window(len, rows);
        start..end
    }

    /// Marks a row as selected: a marker in the first column, and the selection style when focused.
    pub fn select(&self, mut line: Line<'static>, selected: bool) -> Line<'static> {
        let marker = if selected { "▶" } else { " " };
        line.spans
            .insert(0, Span::styled(marker, self.state.theme.style(Slot::BorderFocus)));
        if selected && self.focused {
            line = line.style(self.state.theme.style(Slot::Selection));
        }
        line
    }
}
