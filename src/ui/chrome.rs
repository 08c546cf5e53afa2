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
pub fn pane_block(
    state: &AppState,
    pane: PaneId,
    focused: bool,
    summary: &str,
    now: DateTime<Utc>,
    width: u16,
) -> Block<'static> {
    let theme = &state.theme;
    let title_style = if focused {
        theme.style(Slot::TitleFocus)
    } else {
        theme.style(Slot::Title)
    };
    let marker = if focused { "▶" } else { " " };
    let mut left: Vec<Span<'static>> = vec![Span::styled(
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
    let used: usize = left.iter().map(|s| s.content.chars().count()).sum();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(if focused {
            theme.style(Slot::BorderFocus)
        } else {
            theme.style(Slot::Border)
        })
        .title(Line::from(left));
    // The health badge gets the room the title leaves (at least its first words): a long error
    // is cut, never drawn over the title.
    let room = usize::from(width).saturating_sub(used + 3).max(12);
    if let Some(badge) = health_badge(state, pane, now, room) {
        block = block.title(badge.alignment(Alignment::Right));
    }
    block
}

/// "✓ 3s", "✗ STALE 2m10s: HTTP 503", "… loading", "– off": the worst source of the pane wins.
pub fn health_badge(state: &AppState, pane: PaneId, now: DateTime<Utc>, room: usize) -> Option<Line<'static>> {
    let theme = &state.theme;
    // Members of an HA pair: one fresh member is enough for the data; say how many are down.
    let fresh: Vec<&SourceHealth> = state
        .sources_of(pane)
        .map(|s| &s.health)
        .filter(|h| matches!(h, SourceHealth::Fresh { .. }))
        .collect();
    let down = state.sources_of(pane).filter(|s| s.health.is_stale()).count();
    if let (Some(SourceHealth::Fresh { at }), true) = (fresh.first(), down > 0) {
        let total = state.sources_of(pane).count();
        let text = format!("✓ {} · {down} of {total} down", short_duration(now - *at));
        let text = super::text::truncate(&text, room.saturating_sub(2));
        return Some(Line::from(Span::styled(format!(" {text} "), theme.style(Slot::Warn))));
    }
    let worst = state.sources_of(pane).max_by_key(|s| health_rank(&s.health))?;
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
    let text = super::text::truncate(&text, room.saturating_sub(2));
    Some(Line::from(Span::styled(format!(" {text} "), theme.style(slot))))
}

/// The lines (at most two) a pane shows above its rows while a source feeding it is stale: which
/// source, since when, how old the data shown is, and the error (the title badge has little room).
pub fn stale_lines(state: &AppState, pane: PaneId, now: DateTime<Utc>, width: usize) -> Vec<Line<'static>> {
    stale_text(state, pane, now)
        .map(|text| {
            let mut rows = super::panes::detail::wrap(&text, width);
            if rows.len() > 2 {
                rows.truncate(2);
                if let Some(last) = rows.last_mut() {
                    *last = super::text::truncate(&format!("{last}…"), width);
                }
            }
            rows.into_iter()
                .map(|r| {
                    Line::from(Span::styled(
                        super::text::fit(&r, width),
                        state.theme.style(Slot::Stale),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn stale_text(state: &AppState, pane: PaneId, now: DateTime<Utc>) -> Option<String> {
    let stale: Vec<&crate::app::state::SourceInfo> = state.sources_of(pane).filter(|s| s.health.is_stale()).collect();
    let first = stale.first()?;
    let SourceHealth::Stale { since, last_ok, error } = &first.health else {
        return None;
    };
    let data = match last_ok {
        Some(t) => format!("showing data {} old", short_duration(now - *t)),
        None => "no data yet".to_string(),
    };
    let others = if stale.len() > 1 {
        format!(" (+{} more)", stale.len() - 1)
    } else {
        String::new()
    };
    Some(format!(
        "✗ {}{others} failing since {} ({data}): {error}",
        first.name,
        state.clock.hms(*since)
    ))
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
