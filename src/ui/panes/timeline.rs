//! Draws the Timeline pane: time, actor, kind and summary of each entry, newest at the bottom;
//! entries not yet durable are marked.

use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::state::AppState;
use crate::domain::timeline::Durability;
use crate::ui::text::{fit, truncate};
use crate::ui::theme::Slot;

pub fn summary(state: &AppState) -> String {
    let t = &state.timeline;
    let pending = t.entries.iter().filter(|e| e.durability == Durability::Pending).count();
    let memory = t
        .entries
        .iter()
        .filter(|e| e.durability == Durability::MemoryOnly)
        .count();
    let mut s = match &state.journal.incident_id {
        Some(id) => format!("{id} · {} entries", t.entries.len() - memory),
        None => format!("{} entries", t.entries.len()),
    };
    if pending > 0 {
        s.push_str(&format!(" · {pending} pending"));
    }
    if memory > 0 {
        s.push_str(&format!(" · {memory} not journaled (○)"));
    }
    s.push_str(if t.follow { " · FOLLOW" } else { " · PAUSED" });
    s
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let theme = &state.theme;
    let rows = state.timeline.visible_rows();
    if rows.is_empty() {
        return ctx.empty("nothing recorded yet");
    }
    let actor_w = if ctx.width >= 60 { 10 } else { 6 };
    let text_w = ctx.width.saturating_sub(1 + 10 + actor_w + 1 + 10 + 2);
    let mut out = Vec::new();
    for row in ctx.window(state.timeline.list.cursor, rows.len(), ctx.height) {
        let Some(entry) = rows.get(row).and_then(|&i| state.timeline.entries.get(i)) else {
            continue;
        };
        let slot = if entry.event.is_human() {
            Slot::Human
        } else {
            Slot::System
        };
        let pinned = state.incident.as_ref().is_some_and(|i| i.is_pinned(&entry.id));
        let retracted = state
            .incident
            .as_ref()
            .is_some_and(|i| i.superseded.contains(&entry.id));
        let mark = match entry.durability {
            Durability::Pending => "…",
            Durability::MemoryOnly => "○",
            Durability::Durable if pinned => "★",
            Durability::Durable => " ",
        };
        let mark_slot = match entry.durability {
            Durability::Pending => Slot::Pending,
            Durability::MemoryOnly => Slot::Muted,
            Durability::Durable => Slot::StatusAccent,
        };
        let mut text_style = theme.style(slot);
        if retracted {
            text_style = text_style.add_modifier(ratatui::style::Modifier::CROSSED_OUT);
        }
        let spans = vec![
            Span::styled(
                format!("{} ", state.clock.hms(entry.occurred_at)),
                theme.style(Slot::Muted),
            ),
            Span::styled(mark, theme.style(mark_slot)),
            Span::styled(format!("{} ", fit(&entry.actor, actor_w)), theme.style(Slot::Muted)),
            Span::styled(
                format!("{} {} ", entry.event.symbol(), fit(entry.event.category(), 9)),
                theme.style(Slot::StatusAccent),
            ),
            // A multi-line note reads as one row, its line breaks marked.
            Span::styled(
                truncate(&entry.event.summary().replace('\n', " ⏎ "), text_w.saturating_sub(2)),
                text_style,
            ),
        ];
        out.push(ctx.select(Line::from(spans), row == state.timeline.list.cursor.selected));
    }
    out
}
