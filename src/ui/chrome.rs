//! The frame around each pane: number and title, focus marker, filter, counts, and the health and
//! data age of the sources that feed it.

use chrono::{DateTime, Utc};
use ratatui::layout::Alignment;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::theme::Slot;
use crate::app::pane::PaneId;
use crate::app::state::AppState;
use crate::domain::health::SourceHealth;
use crate::domain::timefmt::short_duration;

/// The pane's block. `summary` is a short count shown after the title ("3 firing").
pub fn pane_block(state: &AppState, pane: PaneId, focused: bool, summary: &str, now: DateTime<Utc>) -> Block<'static> {
    let theme = &state.theme;
    let title_style = if focused {
        theme.style(Slot::TitleFocus)
    } else {
        theme.style(Slot::Title)
    };
    let marker = if focused { "▶" } else { " " };
    let mut left = vec![Span::styled(
        format!("{marker}{} {} ", pane.number(), pane.title()),
        title_style,
    )];
    if !summary.is_empty() {
        left.push(Span::styled(format!(" {summary} "), theme.style(Slot::Muted)));
    }
    let list = state.pane(pane).list();
    if let Some(filter) = &list.filter {
        left.push(Span::styled(
            format!(" /{} ({}) ", filter.text(), state.pane(pane).visible_len()),
            theme.style(Slot::Match),
        ));
    }
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused {
            theme.style(Slot::BorderFocus)
        } else {
            theme.style(Slot::Border)
        })
        .title(Line::from(left));
    if let Some(badge) = health_badge(state, pane, now) {
        block = block.title(badge.alignment(Alignment::Right));
    }
    block
}

/// "✓ 3s", "✗ STALE 2m10s: HTTP 503", "… loading", "– off": the worst source of the pane wins.
pub fn health_badge(state: &AppState, pane: PaneId, now: DateTime<Utc>) -> Option<Line<'static>> {
    let worst = state.sources_of(pane).max_by_key(|s| health_rank(&s.health))?;
    let theme = &state.theme;
    let (text, slot) = match &worst.health {
        SourceHealth::Loading => ("… loading".to_string(), Slot::Muted),
        SourceHealth::Fresh { at } => (format!("✓ {}", short_duration(now - *at)), Slot::Ok),
        SourceHealth::Stale { last_ok, error, .. } => {
            let age = last_ok.map_or("no data".to_string(), |t| {
                format!("data {} old", short_duration(now - t))
            });
            (format!("✗ STALE {age}: {error}"), Slot::Stale)
        }
        SourceHealth::Disabled { reason } => (format!("– off: {reason}"), Slot::Muted),
    };
    Some(Line::from(Span::styled(format!(" {text} "), theme.style(slot))))
}

fn health_rank(h: &SourceHealth) -> u8 {
    match h {
        SourceHealth::Disabled { .. } => 0,
        SourceHealth::Fresh { .. } => 1,
        SourceHealth::Loading => 2,
        SourceHealth::Stale { .. } => 3,
    }
}

/// The line shown in an empty pane: loading, no source, or a calm "nothing here".
pub fn empty_message(state: &AppState, pane: PaneId, nothing: &'static str) -> &'static str {
    let mut sources = state.sources_of(pane).peekable();
    if sources.peek().is_none() && !matches!(pane, PaneId::Runbook | PaneId::Timeline) {
        return "no source configured for this pane";
    }
    if state
        .sources_of(pane)
        .any(|s| matches!(s.health, SourceHealth::Loading))
    {
        return "waiting for the first data…";
    }
    nothing
}
