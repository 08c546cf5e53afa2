//! Draws the Alerts pane: group headers (for groups of several alerts, foldable) and alert rows with
//! state, severity, age, name, service, and the summary — or, for a muted alert, who muted it.

use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::msg::AlertVia;
use crate::app::panes::alerts::AlertRow;
use crate::app::state::AppState;
use crate::domain::alert::{Alert, AlertGroup, AlertState};
use crate::domain::severity::Severity;
use crate::domain::silence::remaining;
use crate::domain::timefmt::short_duration;
use crate::ui::text::fit;
use crate::ui::theme::Slot;

pub fn summary(state: &AppState) -> String {
    let alerts = state.alerts.book.alerts();
    let count = |s: AlertState| alerts.iter().filter(|a| a.state == s).count();
    let firing = count(AlertState::Firing);
    let muted = count(AlertState::Silenced) + count(AlertState::Inhibited);
    let mut parts = Vec::new();
    if !alerts.is_empty() {
        parts.push(format!("{firing} firing"));
        if muted > 0 {
            parts.push(format!("{muted} muted"));
        }
        parts.push(format!("{} listed", alerts.len()));
    }
    match state.alerts.via {
        Some(AlertVia::PrometheusFallback) => parts.push("VIA PROMETHEUS (no Alertmanager answers)".into()),
        Some(AlertVia::Prometheus) => parts.push("from Prometheus".into()),
        Some(AlertVia::Alertmanager) | None => {}
    }
    parts.join(" · ")
}

pub fn severity_slot(s: Severity) -> Slot {
    match s {
        Severity::Page => Slot::SevPage,
        Severity::Critical => Slot::SevCritical,
        Severity::Warning => Slot::SevWarning,
        Severity::Info | Severity::Unknown => Slot::SevInfo,
    }
}

/// Column widths for a pane `width` columns wide.
struct Columns {
    name: usize,
    summary: usize,
    service: bool,
    wide: bool,
}

impl Columns {
    fn new(width: usize) -> Self {
        // marker 1, state 10, space, severity 6, age 8 (" 12m03s  ").
        let fixed = 1 + 10 + 1 + 6 + 9;
        let service = width >= 110;
        let room = width.saturating_sub(fixed + if service { 11 } else { 0 });
        let wide = room >= 40;
        let name = if wide { (room / 3).clamp(16, 30) } else { room };
        Self {
            name,
            summary: room.saturating_sub(name + 1),
            service,
            wide,
        }
    }
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let pane = &state.alerts;
    if let Some(error) = pane.query_error() {
        return ctx.empty(&format!("bad filter: {error}"));
    }
    let rows = pane.rows();
    if rows.is_empty() {
        let msg = if pane.list.filter.is_some() {
            "no alert matches the filter"
        } else {
            crate::ui::chrome::empty_message(state, crate::app::pane::PaneId::Alerts, "no alerts firing ✓")
        };
        return ctx.empty(msg);
    }
    let cols = Columns::new(ctx.width);
    let name_w = cols.name;
    let mut out = vec![ctx.header(if cols.wide {
        let service = if cols.service {
            format!("{:<11}", "SERVICE")
        } else {
            String::new()
        };
        format!(
            " {:<10} {:<6} {:>6}  {:<name_w$} {service}SUMMARY / MUTED BY",
            "STATE", "SEV", "AGE", "ALERT"
        )
    } else {
        format!(" {:<10} {:<6} {:>6}  ALERT", "STATE", "SEV", "AGE")
    })];
    let body = ctx.height.saturating_sub(1);
    let alerts = pane.book.alerts();
    for row in ctx.window(pane.list.cursor, rows.len(), body) {
        let line = match rows.get(row) {
            Some(AlertRow::Group(g)) => match pane.groups().get(*g) {
                Some(group) => group_line(ctx, group, pane.folded.contains(&group.key())),
                None => continue,
            },
            Some(AlertRow::Alert { index, group }) => match alerts.get(*index) {
                Some(alert) => {
                    let grouped = pane.groups().get(*group).is_some_and(|g| g.members.len() >= 2);
                    alert_line(ctx, &cols, alert, grouped)
                }
                None => continue,
            },
            None => continue,
        };
        out.push(ctx.select(line, row == pane.list.cursor.selected));
    }
    out
}

fn group_line(ctx: &Ctx<'_>, group: &AlertGroup, folded: bool) -> Line<'static> {
    let state = ctx.state;
    let theme = &state.theme;
    let alerts = state.alerts.book.alerts();
    let members: Vec<&Alert> = group.members.iter().filter_map(|&i| alerts.get(i)).collect();
    let worst = members.iter().map(|a| a.severity()).min().unwrap_or(Severity::Unknown);
    let count = |s: AlertState| members.iter().filter(|a| a.state == s).count();
    let mut counts = vec![format!("{} alerts", members.len())];
    for (s, word) in [
        (AlertState::Firing, "firing"),
        (AlertState::Silenced, "silenced"),
        (AlertState::Inhibited, "inhibited"),
        (AlertState::Pending, "pending"),
    ] {
        let n = count(s);
        if n > 0 {
            counts.push(format!("{n} {word}"));
        }
    }
    let resolved = members.iter().filter(|a| !a.state.is_active()).count();
    if resolved > 0 {
        counts.push(format!("{resolved} resolved"));
    }
    let fold = if folded { "▸" } else { "▾" };
    let head = format!("{fold} {}", group.key());
    let head_w = ctx.width.saturating_sub(1).min(head.chars().count() + 2).max(1);
    Line::from(vec![
        Span::styled(fit(&head, head_w), theme.style(severity_slot(worst))),
        Span::styled(
            fit(&counts.join(", "), ctx.width.saturating_sub(1 + head_w)),
            theme.style(Slot::Muted),
        ),
    ])
}

fn alert_line(ctx: &Ctx<'_>, cols: &Columns, alert: &Alert, grouped: bool) -> Line<'static> {
    let state = ctx.state;
    let theme = &state.theme;
    let sev = alert.severity();
    let (state_slot, age) = match alert.state {
        AlertState::Firing => (severity_slot(sev), short_duration(ctx.now - alert.starts_at)),
        AlertState::Pending | AlertState::Silenced | AlertState::Inhibited => {
            (Slot::Muted, short_duration(ctx.now - alert.starts_at))
        }
        AlertState::Resolved { at } => (Slot::Ok, short_duration(ctx.now - at)),
    };
    let text_slot = if alert.state.is_active() {
        Slot::Text
    } else {
        Slot::Muted
    };
    let name = if grouped {
        format!("  {}", alert.name())
    } else {
        alert.name().to_string()
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
        Span::styled(fit(&name, cols.name), theme.style(text_slot)),
    ];
    if cols.wide {
        spans.push(Span::raw(" "));
        if cols.service {
            spans.push(Span::styled(
                format!("{} ", fit(alert.label("service").unwrap_or("-"), 10)),
                theme.style(Slot::Muted),
            ));
        }
        match muted_by(state, alert, ctx.now) {
            Some(why) => spans.push(Span::styled(fit(&why, cols.summary), theme.style(Slot::Muted))),
            None => {
                // A firing alert with nowhere to go next is flagged: responders should know now.
                let orphan = alert.state.is_active() && state.runbook.orphans.contains(&alert.fingerprint);
                if orphan && cols.summary > 24 {
                    spans.push(Span::styled("⚠ no runbook · ", theme.style(Slot::Warn)));
                    spans.push(Span::styled(
                        fit(alert.summary(), cols.summary - 15),
                        theme.style(text_slot),
                    ));
                } else {
                    spans.push(Span::styled(fit(alert.summary(), cols.summary), theme.style(text_slot)));
                }
            }
        }
    }
    Line::from(spans)
}

/// "silenced by maria (5h left): log rotation fix", "inhibited by OdinDown".
pub fn muted_by(state: &AppState, alert: &Alert, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    match alert.state {
        AlertState::Silenced => {
            let known: Vec<String> = state
                .alerts
                .silences_of(alert)
                .map(|s| format!("{} ({}): {}", s.created_by, remaining(s.ends_at, now), s.comment))
                .collect();
            Some(if known.is_empty() {
                format!("silenced by {}", alert.silenced_by.join(", "))
            } else {
                format!("silenced by {}", known.join("; "))
            })
        }
        AlertState::Inhibited => Some(format!("inhibited by {}", state.alerts.inhibitors_of(alert).join(", "))),
        _ => None,
    }
}
