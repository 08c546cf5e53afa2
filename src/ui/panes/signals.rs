//! Draws the Signals pane: level, name, value in its unit, thresholds and a one-hour sparkline.

use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::state::AppState;
use crate::domain::severity::Level;
use crate::domain::signal::{Direction, format_value, sparkline};
use crate::ui::text::{fit, fit_right};
use crate::ui::theme::Slot;

pub fn summary(state: &AppState) -> String {
    let bad = state
        .signals
        .readings
        .iter()
        .filter(|r| matches!(r.level(), Level::Warn | Level::Crit))
        .count();
    let unknown = state
        .signals
        .readings
        .iter()
        .filter(|r| r.level() == Level::NoData)
        .count();
    match (state.signals.readings.len(), unknown) {
        (0, _) => String::new(),
        (n, 0) => format!("{bad} of {n} breaching"),
        (n, u) => format!("{bad} of {n} breaching · {u} without data"),
    }
}

pub fn level_slot(level: Level) -> Slot {
    match level {
        Level::Ok => Slot::Ok,
        Level::Warn => Slot::Warn,
        Level::Crit => Slot::Crit,
        Level::NoData => Slot::NoData,
    }
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let theme = &state.theme;
    let rows = state.signals.visible_rows();
    if rows.is_empty() {
        return ctx.empty(crate::ui::chrome::empty_message(
            state,
            crate::app::pane::PaneId::Signals,
            "no signals configured",
        ));
    }
    let name_w = 22.min(ctx.width.saturating_sub(20));
    let show_thresholds = ctx.width >= 80;
    let spark_w = ctx
        .width
        .saturating_sub(1 + 10 + name_w + 10 + if show_thresholds { 20 } else { 0 } + 2);
    let mut out = vec![ctx.header(format!(
        " {:<10}{:<name_w$} {:>9}{}  LAST HOUR",
        "LEVEL",
        "SIGNAL",
        "VALUE",
        if show_thresholds {
            format!(" {:<19}", "WARN / CRIT")
        } else {
            String::new()
        }
    ))];
    let body = ctx.height.saturating_sub(1);
    for row in ctx.window(state.signals.list.cursor, rows.len(), body) {
        let Some(reading) = rows.get(row).and_then(|&i| state.signals.readings.get(i)) else {
            continue;
        };
        let level = reading.level();
        let slot = level_slot(level);
        let mut spans = vec![
            Span::styled(
                fit(&format!("{} {}", level.symbol(), reading.state_word()), 10),
                theme.style(slot),
            ),
            Span::styled(fit(&reading.spec.name, name_w), theme.style(Slot::Text)),
            Span::styled(
                format!(" {}", fit_right(&format_value(reading.spec.unit, reading.value), 9)),
                theme.style(slot),
            ),
        ];
        if show_thresholds {
            let t = |v: Option<f64>| v.map_or("-".to_string(), |v| format_value(reading.spec.unit, Some(v)));
            let arrow = if reading.spec.direction == Direction::Below {
                "<"
            } else {
                ">"
            };
            spans.push(Span::styled(
                format!(
                    " {}",
                    fit(
                        &format!("{arrow}{} / {arrow}{}", t(reading.spec.warn), t(reading.spec.crit)),
                        19
                    )
                ),
                theme.style(Slot::Muted),
            ));
        }
        match reading.problem_text() {
            // Why there is no value, where the sparkline would be.
            Some(problem) => spans.push(Span::styled(
                format!("  {}", fit(problem, spark_w)),
                theme.style(Slot::Warn),
            )),
            None => spans.push(Span::styled(
                format!("  {}", sparkline(&reading.history, spark_w)),
                theme.style(slot),
            )),
        }
        out.push(ctx.select(Line::from(spans), row == state.signals.list.cursor.selected));
    }
    out
}
