//! Screen snapshots (ratatui `TestBackend` + insta) of the demo at fixed simulated times and sizes,
//! of the help overlay, of the palette, and of each theme's styles.

mod support;

use std::fmt::Write;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use support::*;
use warroom::app::panes::ListPane;
use warroom::app::state::AppState;
use warroom::demo;
use warroom::ui::theme::{Slot, Theme};

fn render(state: &AppState, seconds: i64) -> Buffer {
    let (w, h) = state.viewport;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|f| warroom::ui::draw(f, state, at(seconds)))
        .unwrap_or_else(|e| panic!("{e}"));
    terminal.backend().buffer().clone()
}

/// The buffer's text, one line per row, trailing spaces kept visible by a final `|`.
fn text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        let _ = writeln!(out, "{line}|");
    }
    out
}

fn screen(seconds: i64, size: (u16, u16)) -> String {
    text(&render(&demo_state(seconds, size), seconds))
}

#[test]
fn demo_80x24_at_start() {
    insta::assert_snapshot!(screen(1, (80, 24)));
}

#[test]
fn demo_80x24_during_the_incident() {
    insta::assert_snapshot!(screen(10 * 60, (80, 24)));
}

#[test]
fn demo_120x40_during_the_incident() {
    insta::assert_snapshot!(screen(10 * 60, (120, 40)));
}

#[test]
fn demo_200x50_before_the_deploy() {
    insta::assert_snapshot!(screen(90, (200, 50)));
}

#[test]
fn demo_200x50_at_the_fast_burn_page() {
    insta::assert_snapshot!(screen(9 * 60 + 40, (200, 50)));
}

#[test]
fn demo_200x50_after_recovery() {
    insta::assert_snapshot!(screen(17 * 60, (200, 50)));
}

#[test]
fn zoomed_logs_at_120x40() {
    let mut s = demo_state(10 * 60, (120, 40));
    press(&mut s, "4 enter", at(600));
    insta::assert_snapshot!(text(&render(&s, 600)));
}

#[test]
fn help_overlay_lists_every_binding() {
    let mut s = demo_state(60, (120, 40));
    press(&mut s, "?", at(60));
    insta::assert_snapshot!(text(&render(&s, 60)));
}

#[test]
fn help_rows_match_the_keymap() {
    // Every binding of the live keymap appears in the help text, with its action's description.
    let s = empty_state((120, 40));
    let rows = warroom::ui::help::rows(&s.keymap);
    for binding in s.keymap.bindings() {
        let key = binding.chord.to_string();
        assert!(
            rows.iter()
                .any(|(keys, desc, _)| keys.split(", ").any(|k| k == key) && desc == binding.action.description()),
            "{key} → {:?} missing from help",
            binding.action
        );
    }
    insta::assert_snapshot!(
        rows.iter()
            .map(|(k, d, h)| if *h { format!("## {k}") } else { format!("{k:<22} {d}") })
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn palette_with_completions() {
    let mut s = demo_state(60, (120, 40));
    press(&mut s, ":", at(60));
    type_text(&mut s, "fo", at(60));
    insta::assert_snapshot!(text(&render(&s, 60)));
}

#[test]
fn quit_confirmation_during_an_incident() {
    let mut s = demo_state(10 * 60, (120, 40));
    press(&mut s, "q", at(600));
    insta::assert_snapshot!(text(&render(&s, 600)));
}

fn style_text(style: Style) -> String {
    let color = |c: Option<Color>| c.map_or("-".to_string(), |c| format!("{c}"));
    let mut mods = Vec::new();
    for (m, name) in [
        (Modifier::BOLD, "bold"),
        (Modifier::DIM, "dim"),
        (Modifier::ITALIC, "italic"),
        (Modifier::UNDERLINED, "underline"),
        (Modifier::REVERSED, "reversed"),
    ] {
        if style.add_modifier.contains(m) {
            mods.push(name);
        }
    }
    format!("fg={} bg={} {}", color(style.fg), color(style.bg), mods.join("+"))
}

/// The theme's slot table and the 80x24 demo screen with each row's style runs.
fn themed(theme: &str) -> String {
    let mut s = demo::state_at(demo::test_setup(theme), runbooks(), 1, 10 * 60, (80, 24));
    assert_eq!(s.theme.name, theme);
    let mut out = String::new();
    for slot in Slot::ALL {
        let _ = writeln!(out, "{:<18} {}", slot.key(), style_text(s.theme.style(slot)));
    }
    s.focus = warroom::app::pane::PaneId::Slos;
    let buffer = render(&s, 600);
    for y in 0..buffer.area.height {
        let mut runs: Vec<(u16, u16, Style)> = Vec::new();
        for x in 0..buffer.area.width {
            let st = buffer[(x, y)].style();
            match runs.last_mut() {
                Some((_, end, last)) if *last == st => *end = x + 1,
                _ => runs.push((x, x + 1, st)),
            }
        }
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        let _ = writeln!(out, "{line}|");
        for (a, b, st) in runs {
            let _ = writeln!(out, "    {a:>2}..{b:<2} {}", style_text(st));
        }
    }
    out
}

#[test]
fn theme_dark() {
    insta::assert_snapshot!(themed("dark"));
}

#[test]
fn theme_light() {
    insta::assert_snapshot!(themed("light"));
}

#[test]
fn theme_high_contrast() {
    insta::assert_snapshot!(themed("high-contrast"));
}

#[test]
fn no_color_leaves_no_colour_and_keeps_words_and_symbols() {
    let mut setup = demo::test_setup("dark");
    setup.theme = setup.theme.without_color();
    let s = demo::state_at(setup, runbooks(), 1, 14 * 60, (200, 50));
    let buffer = render(&s, 14 * 60);
    for cell in buffer.content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "colour in {cell:?}"
        );
    }
    let screen = text(&buffer);
    for word in ["PAGE", "FIRING", "CRIT", "WARN", "OK", "✓", "▲"] {
        assert!(screen.contains(word), "{word} missing without colour");
    }
}

#[test]
fn every_theme_renders_every_arrangement_without_panicking() {
    for (name, _) in warroom::ui::theme::BUILTIN {
        let theme = Theme::builtin(name).unwrap_or_else(Theme::plain);
        for size in [(80, 24), (120, 40), (200, 50), (30, 8)] {
            let mut setup = demo::test_setup(name);
            setup.theme = theme.clone();
            let s = demo::state_at(setup, runbooks(), 3, 9 * 60, size);
            render(&s, 9 * 60);
        }
    }
}

#[test]
fn zoomed_alerts_show_the_selected_alert_in_full() {
    let mut s = demo_state(10 * 60, (120, 40));
    press(&mut s, "1 z", at(600));
    let screen = text(&render(&s, 600));
    assert!(
        screen.contains("runbook_url") && screen.contains("runbook://high-error-rate"),
        "{screen}"
    );
    assert!(screen.contains("high-error-rate (o opens it)"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn zoomed_logs_unfold_the_selected_json_line_and_its_stack_trace() {
    let mut s = demo_state(10 * 60, (120, 40));
    press(&mut s, "4 enter", at(600));
    // Select the newest error line.
    let last_error = (0..s.logs.visible_len())
        .rev()
        .find(|&r| s.logs.row(r).is_some_and(|l| l.text.starts_with('{')))
        .unwrap_or(0);
    s.logs.list.cursor.selected = last_error;
    s.logs.follow = false;
    let screen = text(&render(&s, 600));
    assert!(screen.contains("at com.odin.pricing.DiscountService.apply"), "{screen}");
    assert!(screen.contains("request_id"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn zoom_at_80x24_gives_the_pane_the_tab_row_and_a_detail_box() {
    let mut s = demo_state(10 * 60, (80, 24));
    press(&mut s, "z", at(600));
    let screen = text(&render(&s, 600));
    assert!(
        !screen.contains("2 SLOs  3 Signals"),
        "the tab bar is still shown:\n{screen}"
    );
    assert!(screen.contains("── details"), "{screen}");
}

#[test]
fn the_status_bar_keeps_every_source_age_at_80_columns() {
    for seconds in [60, 10 * 60] {
        let s = demo_state(seconds, (80, 24));
        let line: String = warroom::ui::status_bar::line(&s, at(seconds), 80)
            .spans
            .iter()
            .map(|sp| sp.content.to_string())
            .collect();
        assert!(unicode_width::UnicodeWidthStr::width(line.as_str()) <= 80, "{line}");
        for source in ["am✓", "prom✓", "logs✓", "dep✓"] {
            let at_mark = line.find(source).unwrap_or_else(|| panic!("{source} missing: {line}"));
            let age = &line[at_mark + source.len()..];
            assert!(
                age.starts_with(|c: char| c.is_ascii_digit()),
                "{source} without an age: {line}"
            );
        }
    }
}

#[test]
fn silence_editor_previews_what_it_matches_then_asks_with_cancel_chosen() {
    let mut s = demo_state(10 * 60, (120, 40));
    press(&mut s, "1 g s", at(600));
    type_text(&mut s, "rollback to 1.4.1 running", at(600));
    let editing = text(&render(&s, 600));
    assert!(editing.contains("matches 1 active alert now"), "{editing}");
    insta::assert_snapshot!("silence_editor", editing);
    press(&mut s, "enter", at(600));
    let confirming = text(&render(&s, 600));
    assert!(confirming.contains("Create this silence?"), "{confirming}");
    insta::assert_snapshot!("silence_confirmation", confirming);
}

#[test]
fn silence_list_and_grouped_alerts() {
    let mut s = demo_state(10 * 60, (120, 40));
    s.alerts.set_group_by(vec!["service".into()]);
    let grouped = text(&render(&s, 600));
    assert!(grouped.contains("▾ service=odin"), "{grouped}");
    insta::assert_snapshot!("alerts_grouped_by_service", grouped);
    press(&mut s, "1 S", at(600));
    let list = text(&render(&s, 600));
    assert!(list.contains("log rotation fix scheduled"), "{list}");
    insta::assert_snapshot!("silence_list", list);
}

#[test]
fn a_stale_source_shows_its_error_above_the_data_it_keeps() {
    use warroom::app::msg::{Msg, SourceId, SourceUpdate};
    use warroom::domain::health::{FetchError, FetchErrorKind};
    let mut s = demo_state(10 * 60, (120, 40));
    let am = s.sources.iter().position(|x| x.name == "alertmanager").map(SourceId);
    warroom::app::update::update(
        &mut s,
        Msg::Source(SourceUpdate {
            source: am.unwrap_or_else(|| panic!("no alertmanager")),
            at: at(640),
            result: Err(FetchError::new(
                FetchErrorKind::Connect,
                "Connection refused (os error 111)",
            )),
        }),
        at(640),
    );
    let screen = text(&render(&s, 650));
    assert!(screen.contains("alertmanager failing since"), "{screen}");
    assert!(screen.contains("OdinHighErrorRate"), "{screen}");
    insta::assert_snapshot!("alerts_stale", screen);
}
