//! Draws the Alerts pane: state, severity, age, name, service and summary of each alert.

use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::state::AppState;
use crate::domain::alert::AlertState;
use crate::domain::severity::Severity;
use crate::domain::timefmt::short_duration;
use crate::ui::text::fit;
use crate::ui::theme::Slot;

pub fn summary(state: &AppState) -> String {
    let firing = state
        .alerts
        .book
        .alerts()
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .count();
    let total = state.alerts.book.alerts().len();
    if total == 0 {
        String::new()
    } else {
        format!("{firing} firing · {total} listed")
    }
}

pub fn severity_slot(s: Severity) -> Slot {
    match s {
        Severity::Page => Slot::SevPage,
        Severity::Critical => Slot::SevCritical,
        Severity::Warning => Slot::SevWarning,
        Severity::Info | Severity::Unknown => Slot::SevInfo,
    }
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let theme = &state.theme;
    let rows = state.alerts.visible_rows();
    if rows.is_empty() {
        let msg = if state.alerts.list.filter.is_some() {
            "no alert matches the filter"
        } else {
            crate::ui::chrome::empty_message(state, crate::app::pane::PaneId::Alerts, "no alerts firing ✓")
        };
        return ctx.empty(msg);
    }
    // Columns: marker 1, state 10, space, severity 6, age 8, name, [service 11], summary.
    let fixed = 1 + 10 + 1 + 6 + 9;
    let show_service = ctx.width >= 110;
    let room = ctx.width.saturating_sub(fixed + if show_service { 11 } else { 0 });
    let wide = room >= 40;
    let name_w = if wide { (room / 3).clamp(16, 26) } else { room };
    let summary_w = room.saturating_sub(name_w + 1);
    let mut out = vec![ctx.header(if wide {
        let service = if show_service {
            format!("{:<11}", "SERVICE")
        } else {
            String::new()
        };
        format!(
            " {:<10} {:<6} {:>6}  {:<name_w$} {service}SUMMARY",
            "STATE", "SEV", "AGE", "ALERT"
        )
    } else {
        format!(" {:<10} {:<6} {:>6}  ALERT", "STATE", "SEV", "AGE")
    })];
    let body = ctx.height.saturating_sub(1);
    let alerts = state.alerts.book.alerts();
    for row in ctx.window(state.alerts.list.cursor, rows.len(), body) {
        let Some(alert) = rows.get(row).and_then(|&i| alerts.get(i)) else {
            continue;
        };
        let sev = alert.severity();
        let (state_slot, age) = match alert.state {
            AlertState::Firing => (severity_slot(sev), short_duration(ctx.now - alert.starts_at)),
            AlertState::Silenced | AlertState::Inhibited => (Slot::Muted, short_duration(ctx.now - alert.starts_at)),
            AlertState::Resolved { at } => (Slot::Ok, short_duration(ctx.now - at)),
        };
        let text_slot = if alert.state.is_active() {
            Slot::Text
        } else {
            Slot::Muted
        };
        let mut spans = vec![
            Span::styled(
                fit(&format!("{} {}", alert.state.symbol(), alert.state.word()), 10),
                theme.style(state_slot),
            ),
            Span::raw(" "),
            Span::styled(
                fit(&format!("{} {}", sev.symbol(), sev.word()), 6),
                theme.style(severity_slot(sev)),
            ),
            Span::styled(format!(" {age:>6}  "), theme.style(Slot::Muted)),
            Span::styled(fit(alert.name(), name_w), theme.style(text_slot)),
        ];
        if wide {
            spans.push(Span::raw(" "));
            if show_service {
                spans.push(Span::styled(
                    format!("{} ", fit(alert.label("service").unwrap_or("-"), 10)),
                    theme.style(Slot::Muted),
                ));
            }
            spans.push(Span::styled(fit(alert.summary(), summary_w), theme.style(text_slot)));
        }
        out.push(ctx.select(Line::from(spans), row == state.alerts.list.cursor.selected));
    }
    out
}
