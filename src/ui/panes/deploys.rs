//! Draws the Deploys pane: status, version, environment, who, when and how long, newest first.

use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::rollback::SmokeWait;
use crate::app::state::AppState;
use crate::domain::deploy::{DeployKind, DeployStatus};
use crate::domain::timefmt::short_duration;
use crate::ui::text::fit;
use crate::ui::theme::Slot;

pub fn summary(state: &AppState) -> String {
    let running = state
        .deploys
        .deploys
        .iter()
        .filter(|d| d.status == DeployStatus::InProgress)
        .count();
    let counts = match (state.deploys.deploys.len(), running) {
        (0, _) => String::new(),
        (n, 0) => format!("{n} recent"),
        (n, r) => format!("{r} running · {n} recent"),
    };
    // A rollback in flight, or its smoke checks pending, leads the title.
    let rollback = match (&state.deploys.in_flight, &state.deploys.smoke) {
        (Some(f), _) => Some(format!("↺ rolling back to {}…", f.plan.to_version)),
        (None, SmokeWait::AfterRollout { .. }) => Some("↺ rollout running · smoke checks wait".to_string()),
        (None, SmokeWait::AwaitingProbes { .. }) => Some("↺ smoke checks running".to_string()),
        (None, SmokeWait::Idle) => None,
    };
    match rollback {
        Some(r) if counts.is_empty() => r,
        Some(r) => format!("{r} · {counts}"),
        None => counts,
    }
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let theme = &state.theme;
    let rows = state.deploys.visible_rows();
    if rows.is_empty() {
        return ctx.empty(crate::ui::chrome::empty_message(
            state,
            crate::app::pane::PaneId::Deploys,
            "no deploys seen",
        ));
    }
    let wide = ctx.width >= 60;
    // Columns of a wide row: status 13, version 16, environment 11, author 10, when 7, took 6,
    // one space before each but the first; what is left holds the source's note.
    const WIDE_ROW: usize = 13 + 17 + 12 + 11 + 8 + 7;
    let note_room = ctx.width.saturating_sub(WIDE_ROW + 2);
    let notes = note_room >= 8
        && rows
            .iter()
            .any(|&i| state.deploys.deploys.get(i).is_some_and(|d| !d.note.is_empty()));
    let mut out = vec![ctx.header(if wide {
        format!(
            " {:<13} {:<16} {:<11} {:<10} {:>7} {:>6}{}",
            "STATUS",
            "VERSION",
            "ENV",
            "BY",
            "WHEN",
            "TOOK",
            if notes { " NOTE" } else { "" }
        )
    } else {
        format!(" {:<13} {:<10} {:>7}", "STATUS", "VERSION", "WHEN")
    })];
    let body = ctx.height.saturating_sub(1);
    for row in ctx.window(state.deploys.list.cursor, rows.len(), body) {
        let Some(d) = rows.get(row).and_then(|&i| state.deploys.deploys.get(i)) else {
            continue;
        };
        let slot = match d.status {
            DeployStatus::InProgress => Slot::Warn,
            DeployStatus::Succeeded => Slot::Ok,
            DeployStatus::Failed => Slot::Crit,
            DeployStatus::RolledBack => Slot::Muted,
        };
        let version = match d.kind {
            DeployKind::Rollback => format!("↺ {}", d.version),
            DeployKind::Migration => format!("⛁ {}", d.version),
            DeployKind::Deploy => d.version.clone(),
        };
        let mut spans = vec![
            Span::styled(
                fit(&format!("{} {}", d.status.symbol(), d.status.word()), 13),
                theme.style(slot),
            ),
            Span::styled(
                format!(" {}", fit(&version, if wide { 16 } else { 10 })),
                theme.style(Slot::Text),
            ),
        ];
        if wide {
            spans.push(Span::styled(
                format!(" {} {}", fit(&d.environment, 11), fit(&d.author, 10)),
                theme.style(Slot::Muted),
            ));
        }
        spans.push(Span::styled(
            format!(" {:>7}", short_duration(ctx.now - d.started_at)),
            theme.style(Slot::Muted),
        ));
        if wide {
            spans.push(Span::styled(
                format!(" {:>6}", short_duration(d.duration(ctx.now))),
                theme.style(Slot::Muted),
            ));
            // What the source adds (Argo CD's sync state and health), in the room left.
            if notes && !d.note.is_empty() {
                spans.push(Span::styled(
                    format!(" {}", fit(&d.note, note_room)),
                    theme.style(Slot::Muted),
                ));
            }
        }
        out.push(ctx.select(Line::from(spans), row == state.deploys.list.cursor.selected));
    }
    out
}
