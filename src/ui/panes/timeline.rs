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
    let memory = t.entries.iter().any(|e| e.durability == Durability::MemoryOnly);
    let mut s = format!("{} entries", t.entries.len());
    if pending > 0 {
        s.push_str(&format!(" · {pending} pending"));
    }
    if memory {
        s.push_str(" · in memory only");
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
        let mark = match entry.durability {
            Durability::Durable | Durability::MemoryOnly => " ",
            Durability::Pending => "…",
        };
        let spans = vec![
            Span::styled(
                format!("{} ", state.clock.hms(entry.occurred_at)),
                theme.style(Slot::Muted),
            ),
            Span::styled(mark, theme.style(Slot::Pending)),
            Span::styled(format!("{} ", fit(&entry.actor, actor_w)), theme.style(Slot::Muted)),
            Span::styled(
                format!("{} ", fit(entry.event.category(), 9)),
                theme.style(Slot::StatusAccent),
            ),
            Span::styled(truncate(&entry.event.summary(), text_w), theme.style(slot)),
        ];
        out.push(ctx.select(Line::from(spans), row == state.timeline.list.cursor.selected));
    }
    out
}
