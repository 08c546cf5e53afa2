//! Draws the Runbook pane: the shown runbook's steps with their state, who moved them and when.

use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::state::AppState;
use crate::domain::runbook::StepState;
use crate::ui::text::{fit, truncate};
use crate::ui::theme::Slot;

pub fn summary(state: &AppState) -> String {
    let Some(rb) = state.runbook.active_runbook() else {
        return String::new();
    };
    let done = state
        .incident
        .as_ref()
        .and_then(|i| i.progress(&rb.id))
        .map_or(0, |p| p.done_count(rb));
    format!("{} · {done}/{} done", rb.title, rb.steps.len())
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let theme = &state.theme;
    let Some(rb) = state.runbook.active_runbook() else {
        let msg = if state.runbook.library.is_empty() {
            "no runbooks loaded"
        } else {
            "no runbook attached: :runbook <id> opens one"
        };
        return ctx.empty(msg);
    };
    let progress = state.incident.as_ref().and_then(|i| i.progress(&rb.id));
    let rows = state.runbook.visible_rows();
    let mut out = Vec::new();
    for row in ctx.window(state.runbook.list.cursor, rows.len(), ctx.height) {
        let Some(step) = rows.get(row).and_then(|&i| rb.steps.get(i)) else {
            continue;
        };
        let p = progress.and_then(|p| p.steps.get(&step.id));
        let st = p.map_or(StepState::Todo, |p| p.state);
        let slot = match st {
            StepState::Done => Slot::Ok,
            StepState::Running => Slot::Warn,
            StepState::Failed => Slot::Crit,
            StepState::Skipped => Slot::Muted,
            StepState::Todo => Slot::Text,
        };
        let who = p
            .map(|p| format!(" — {} {}", p.by, state.clock.hm(p.at)))
            .unwrap_or_default();
        let text_w = ctx.width.saturating_sub(1 + 4 + 8 + who.chars().count());
        let mut spans = vec![
            Span::styled(format!("{} ", st.mark()), theme.style(slot)),
            Span::styled(fit(st.word(), 8), theme.style(slot)),
            Span::styled(
                truncate(&format!("{}. {}", row + 1, step.text), text_w),
                theme.style(Slot::Text),
            ),
        ];
        if let Some(cmd) = &step.command {
            let room = text_w.saturating_sub(step.text.chars().count() + 5);
            if room > 8 {
                spans.push(Span::styled(
                    format!("  $ {}", truncate(cmd.lines().next().unwrap_or(""), room)),
                    theme.style(Slot::Muted),
                ));
            }
        }
        spans.push(Span::styled(who, theme.style(Slot::Muted)));
        out.push(ctx.select(Line::from(spans), row == state.runbook.list.cursor.selected));
    }
    out
}
