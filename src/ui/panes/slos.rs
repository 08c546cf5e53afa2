//! Draws the SLOs pane: per SLO its state, budget gauge, burn rate per window with the thresholds
//! marked, time to exhaustion, and a burn sparkline with deploy markers.

use chrono::Duration;
use ratatui::text::{Line, Span};

use super::Ctx;
use crate::app::state::AppState;
use crate::domain::signal::sparkline;
use crate::domain::slo::{BurnWindow, SloReport, SloState};
use crate::domain::timefmt::short_duration;
use crate::ui::text::fit;
use crate::ui::theme::Slot;

pub fn summary(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> String {
    let base = summary_without_canary(state);
    match crate::app::canary::summary(state, now) {
        Some(canary) if base.is_empty() => canary,
        Some(canary) => format!("{canary} · {base}"),
        None => base,
    }
}

fn summary_without_canary(state: &AppState) -> String {
    let frozen = state.slos.budget_exhausted();
    if let Some(first) = frozen.first() {
        return format!("BUDGET EXHAUSTED ({}): releases frozen", first.spec.name);
    }
    let alarming = state
        .slos
        .reports
        .iter()
        .filter(|r| matches!(r.state, SloState::Page | SloState::Ticket))
        .count();
    if state.slos.reports.is_empty() {
        String::new()
    } else {
        format!("{alarming} of {} burning", state.slos.reports.len())
    }
}

pub fn state_slot(s: SloState) -> Slot {
    match s {
        SloState::Page => Slot::Crit,
        SloState::Ticket => Slot::Warn,
        SloState::Stale => Slot::Stale,
        SloState::NoData => Slot::NoData,
        SloState::Ok => Slot::Ok,
    }
}

/// Lines per SLO: all four when they fit, else the state and burn lines, else the state line.
fn lines_per_slo(height: usize, count: usize) -> usize {
    [4, 2, 1].into_iter().find(|n| n * count.max(1) <= height).unwrap_or(1)
}

pub fn lines(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let rows = state.slos.visible_rows();
    if rows.is_empty() && state.slos.reports.is_empty() && !state.slos.not_computed.is_empty() {
        return ctx.empty(&format!(
            "{} configured; set [prometheus] url to compute their burn",
            state.slos.not_computed.join(", ")
        ));
    }
    if rows.is_empty() {
        return ctx.empty(crate::ui::chrome::empty_message(
            state,
            crate::app::pane::PaneId::Slos,
            "no SLOs configured",
        ));
    }
    let stale = state
        .sources_of(crate::app::pane::PaneId::Slos)
        .any(|s| s.health.is_stale());
    // A canary watch leads the pane: its countdown, and each SLO against the thresholds.
    let mut out = canary_panel(ctx);
    let height = ctx.height.saturating_sub(out.len()).max(1);
    let per = lines_per_slo(height, rows.len());
    let fit_items = (height / per).max(1);
    for row in ctx.window(state.slos.list.cursor, rows.len(), fit_items) {
        let Some(report) = rows.get(row).and_then(|&i| state.slos.reports.get(i)) else {
            continue;
        };
        let selected = row == state.slos.list.cursor.selected;
        let block = slo_lines(ctx, report, stale);
        for (n, line) in block.into_iter().take(per).enumerate() {
            out.push(if n == 0 { ctx.select(line, selected) } else { line });
        }
    }
    out
}

/// The canary watch, when there is one and the pane has room: a countdown bar with the worst state
/// and peak burn seen (or the verdict), then per SLO its 5m error ratio and its 5m and 1h burn
/// against the paging threshold. Nothing when the pane is too small to also show the SLOs.
fn canary_panel(ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let state = ctx.state;
    let Some(watch) = &state.canary else {
        return Vec::new();
    };
    let reports = &state.slos.reports;
    let wanted = 1 + if watch.verdict.is_none() { reports.len() } else { 0 };
    if ctx.height < wanted + reports.len().max(1) {
        return Vec::new();
    }
    let theme = &state.theme;
    let now = ctx.now;
    let what = watch.deploy.as_deref().map(|d| format!(" {d}")).unwrap_or_default();
    let mut out = Vec::new();
    match &watch.verdict {
        Some(verdict) => {
            let slot = if verdict == "promote" { Slot::Ok } else { Slot::Crit };
            out.push(Line::from(Span::styled(
                fit(
                    &format!(
                        " CANARY{what}: {} · worst {} · peak 1h {:.1}x",
                        verdict.to_uppercase(),
                        watch.worst.word(),
                        watch.peak_burn_1h
                    ),
                    ctx.width,
                ),
                theme.style(slot),
            )));
        }
        None => {
            let total = (watch.ends_at - watch.started_at).num_seconds().max(1) as f64;
            let done = ((now - watch.started_at).num_seconds() as f64 / total).clamp(0.0, 1.0);
            let bar_width = 12usize;
            let filled = (done * bar_width as f64).round() as usize;
            let bar = format!("▕{}{}▏", "█".repeat(filled), "░".repeat(bar_width - filled));
            out.push(Line::from(vec![
                Span::styled(format!(" CANARY{what} "), theme.style(Slot::Warn)),
                Span::styled(bar, theme.style(Slot::Warn)),
                Span::styled(
                    fit(
                        &format!(
                            " {} left · worst {} · peak 1h {:.1}x",
                            short_duration(watch.ends_at - now),
                            watch.worst.word(),
                            watch.peak_burn_1h
                        ),
                        ctx.width.saturating_sub(9 + what.chars().count() + bar_width + 2),
                    ),
                    theme.style(Slot::Muted),
                ),
            ]));
            let page = SloReport::threshold(BurnWindow::H1).unwrap_or(14.4);
            for r in reports {
                let pct = |w| {
                    r.error_ratio(w)
                        .map_or("—".to_string(), |e| format!("{:.2}%", e * 100.0))
                };
                let burn = |w| r.burn(w).map_or("—".to_string(), |b| format!("{b:.1}x"));
                let over = r.burn(BurnWindow::H1).is_some_and(|b| b >= page)
                    || matches!(r.state, SloState::Page | SloState::Ticket);
                let text = format!(
                    "   {} errors 5m {} (allowed {}%) · burn 5m {} 1h {} (page ≥{page}x) · {}",
                    fit(&r.spec.name, 14),
                    pct(BurnWindow::M5),
                    trim_pct((1.0 - r.spec.objective) * 100.0),
                    burn(BurnWindow::M5),
                    burn(BurnWindow::H1),
                    r.state.word()
                );
                out.push(Line::from(Span::styled(
                    fit(&text, ctx.width),
                    theme.style(if over { Slot::Crit } else { Slot::Muted }),
                )));
            }
        }
    }
    out
}

fn slo_lines(ctx: &Ctx<'_>, report: &SloReport, stale: bool) -> Vec<Line<'static>> {
    let theme = &ctx.state.theme;
    let shown_state = if stale && report.state != SloState::NoData {
        SloState::Stale
    } else {
        report.state
    };
    // An exhausted budget is never shown with a green check, even while the burn is slow now.
    let spent = report.budget_exhausted() && shown_state == SloState::Ok;
    let slot = if spent { Slot::Crit } else { state_slot(shown_state) };
    let state_text = if spent {
        "▲ SPENT".to_string()
    } else {
        format!("{} {}", shown_state.symbol(), shown_state.word())
    };
    let objective = format!(
        "{}%/{}",
        trim_pct(report.spec.objective * 100.0),
        short_duration(report.spec.window).trim_end_matches("00h")
    );
    let mut head = vec![
        Span::styled(fit(&state_text, 10), theme.style(slot)),
        Span::styled(
            fit(&report.spec.name, 14),
            theme.style(Slot::Text).add_modifier(ratatui::style::Modifier::BOLD),
        ),
    ];
    // The budget words and the exhaustion estimate first; the gauge takes what room is left.
    let budget = report.budget_remaining;
    let exhaustion = report
        .exhaustion
        .filter(|t| *t < Duration::days(90))
        .map(|t| format!(" · empty in {}", short_duration(t)))
        .unwrap_or_default();
    let (words, budget_slot) = match budget {
        Some(r) if r <= 0.0 => (
            format!(" budget EXHAUSTED ({:.1}%) · releases frozen", r * 100.0),
            Slot::Crit,
        ),
        Some(r) => (
            format!(" {:.1}% left", r * 100.0),
            if r < 0.25 { Slot::Warn } else { Slot::Ok },
        ),
        None => (" budget: no data".to_string(), Slot::NoData),
    };
    // Why the state is NO DATA or STALE (or what else is missing), said on the state's own line.
    let problem = report
        .problem
        .as_deref()
        .map(|p| format!(" · {}", crate::domain::sanitize::one_line(p)))
        .unwrap_or_default();
    let used: usize = 1 + 10 + 14 + words.chars().count() + exhaustion.chars().count() + problem.chars().count();
    let gauge_w = ctx.width.saturating_sub(used + 2).min(30);
    if let Some(r) = budget.filter(|_| gauge_w >= 4) {
        let filled = ((r.clamp(0.0, 1.0)) * gauge_w as f64).round() as usize;
        head.push(Span::styled(
            format!("▕{}{}▏", "█".repeat(filled), "░".repeat(gauge_w - filled)),
            theme.style(budget_slot),
        ));
    }
    head.push(Span::styled(words, theme.style(budget_slot)));
    head.push(Span::styled(exhaustion, theme.style(Slot::Warn)));
    head.push(Span::styled(problem, theme.style(Slot::Warn)));
    let mut burns = vec![Span::styled("  burn ", theme.style(Slot::Muted))];
    for window in BurnWindow::ALL.iter().filter(|w| **w != BurnWindow::Full) {
        let value = report.burn(*window);
        let limit = SloReport::threshold(*window);
        let over = matches!((value, limit), (Some(v), Some(l)) if v >= l);
        let text = match value {
            Some(v) if v >= 100.0 => format!("{v:.0}x"),
            Some(v) => format!("{v:.1}x"),
            None => "—".to_string(),
        };
        let mark = if over { "▲" } else { "" };
        burns.push(Span::styled(format!("{} ", window.label()), theme.style(Slot::Muted)));
        burns.push(Span::styled(
            format!("{text}{mark}"),
            theme.style(if over { Slot::Crit } else { Slot::Text }),
        ));
        if ctx.width >= 90 {
            burns.push(Span::styled(
                format!("/{} ", limit.map_or("-".into(), |l| format!("{l}"))),
                theme.style(Slot::Muted),
            ));
        } else {
            burns.push(Span::raw(" "));
        }
    }
    let spark_w = ctx.width.saturating_sub(15).min(report.burn_history.len().max(1));
    let spark = sparkline(&report.burn_history, spark_w);
    let mut markers = vec![' '; spark_w];
    let hour_start = report.at - Duration::hours(1);
    for deploy in &ctx.state.deploys.deploys {
        if deploy.started_at > hour_start && deploy.started_at <= report.at && spark_w > 0 {
            let pos = ((deploy.started_at - hour_start).num_seconds() as f64 / 3600.0 * spark_w as f64) as usize;
            if let Some(m) = markers.get_mut(pos.min(spark_w - 1)) {
                *m = if deploy.kind == crate::domain::deploy::DeployKind::Rollback {
                    '↺'
                } else {
                    '▼'
                };
            }
        }
    }
    vec![
        Line::from(head),
        Line::from(burns),
        Line::from(vec![
            Span::styled(format!("  {} ", fit(&objective, 10)), theme.style(Slot::Muted)),
            Span::styled(spark, theme.style(slot)),
        ]),
        Line::from(vec![
            Span::styled(format!("  {} ", fit("deploys", 10)), theme.style(Slot::Muted)),
            Span::styled(markers.into_iter().collect::<String>(), theme.style(Slot::StatusAccent)),
        ]),
    ]
}

fn trim_pct(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
