//! The README stays true: its demo capture is the real 120x40 demo screen and its key table is the
//! live default keymap. Run with `UPDATE_README=1` to rewrite both blocks after an intended change.

mod support;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::*;
use warroom::app::action::Action;
use warroom::app::keymap::{Keymap, Scope};
use warroom::app::pane::PaneId;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
/// Simulated seconds into the demo of the README's capture: just after the fast-burn page.
const CAPTURE_AT: i64 = 9 * 60 + 40;

fn capture() -> String {
    let state = demo_state(CAPTURE_AT, (120, 40));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|f| warroom::ui::draw(f, &state, at(CAPTURE_AT)))
        .unwrap_or_else(|e| panic!("{e}"));
    let buffer = terminal.backend().buffer();
    let mut out = String::from("```text\n");
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

fn key_table() -> String {
    let keymap = Keymap::defaults();
    let mut out = String::from("| keys | where | does |\n| --- | --- | --- |\n");
    let scopes = std::iter::once(Scope::Global).chain(PaneId::ALL.into_iter().map(Scope::Pane));
    for scope in scopes {
        for action in Action::all() {
            let keys: Vec<String> = keymap
                .keys_for(scope, action)
                .iter()
                .map(|k| format!("`{k}`"))
                .collect();
            if keys.is_empty() {
                continue;
            }
            let place = match scope {
                Scope::Global => "everywhere".to_string(),
                Scope::Pane(p) => p.title().to_string(),
            };
            out.push_str(&format!(
                "| {} | {place} | {} |\n",
                keys.join(" "),
                action.description().replace('|', "\\|")
            ));
        }
    }
    out.push_str("| `ctrl-c` | everywhere, even in prompts | quit now |\n");
    out
}

/// Replaces the text between `<!-- {name}:start -->` and `<!-- {name}:end -->`.
fn splice(doc: &str, name: &str, body: &str) -> Option<String> {
    let start = format!("<!-- {name}:start -->\n");
    let end = format!("<!-- {name}:end -->");
    let a = doc.find(&start)? + start.len();
    let b = doc[a..].find(&end)? + a;
    Some(format!("{}{body}{}", &doc[..a], &doc[b..]))
}

#[test]
fn readme_blocks_match_the_code() {
    let doc = std::fs::read_to_string(README).unwrap_or_else(|e| panic!("{README}: {e}"));
    let wanted = splice(&doc, "demo-capture", &capture())
        .and_then(|d| splice(&d, "keys", &key_table()))
        .unwrap_or_else(|| panic!("README.md lacks the demo-capture or keys markers"));
    if wanted != doc {
        if std::env::var("UPDATE_README").is_ok_and(|v| v == "1") {
            std::fs::write(README, &wanted).unwrap_or_else(|e| panic!("{e}"));
        } else {
            panic!(
                "README.md's demo capture or key table is out of date: run `UPDATE_README=1 cargo test --test docs` and review the diff"
            );
        }
    }
}
