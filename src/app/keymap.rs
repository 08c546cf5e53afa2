//! The keymap as data: key strings like "ctrl-r" parsed into chords, bound to actions globally or
//! per pane, merged from the embedded defaults and the config's `[keys]`. Resolution is pure.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::pane::PaneId;

/// A key with its modifiers, normalised so that "G", "shift-g" and a terminal's Shift+g compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyChord {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        let mut chord = Self {
            code,
            modifiers: modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT),
        };
        match chord.code {
            KeyCode::Char(c) if chord.modifiers.contains(KeyModifiers::SHIFT) => {
                // The character already carries the case.
                chord.modifiers.remove(KeyModifiers::SHIFT);
                if c.is_ascii_lowercase() && !chord.modifiers.contains(KeyModifiers::CONTROL) {
                    chord.code = KeyCode::Char(c.to_ascii_uppercase());
                }
            }
            KeyCode::Char(c) if chord.modifiers.contains(KeyModifiers::CONTROL) && c.is_ascii_uppercase() => {
                chord.code = KeyCode::Char(c.to_ascii_lowercase());
            }
            KeyCode::BackTab => chord.modifiers.remove(KeyModifiers::SHIFT),
            _ => {}
        }
        chord
    }

    pub fn from_event(event: &KeyEvent) -> Self {
        Self::new(event.code, event.modifiers)
    }

    /// Parses "q", "G", "?", "ctrl-r", "alt-x", "shift-tab", "enter", "f5", "space", "pgdn".
    pub fn parse(text: &str) -> Result<Self, KeyParseError> {
        let err = |reason: &str| KeyParseError {
            key: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(err("empty key"));
        }
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (prefix_len, modifier) = if lower.starts_with("ctrl-") {
                (5, KeyModifiers::CONTROL)
            } else if lower.starts_with("alt-") {
                (4, KeyModifiers::ALT)
            } else if lower.starts_with("shift-") {
                (6, KeyModifiers::SHIFT)
            } else {
                break;
            };
            if rest.len() == prefix_len {
                return Err(err("a modifier needs a key after it"));
            }
            modifiers |= modifier;
            rest = &rest[prefix_len..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "minus" => KeyCode::Char('-'),
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(err("unknown key name")),
                },
                _ => return Err(err("unknown key name")),
            },
        };
        Ok(Self::new(code, modifiers))
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad key \"{key}\": {reason}")]
pub struct KeyParseError {
    pub key: String,
    pub reason: String,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Global,
    Pane(PaneId),
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Pane(p) => p.name(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub scope: Scope,
    pub chord: KeyChord,
    pub action: Action,
}

/// A problem in a `[keys]` table, naming the table path and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct KeymapProblem {
    /// e.g. `keys."ctrl-r"` or `keys.logs.s`.
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

const DEFAULT_KEYS: &str = include_str!("default_keys.toml");

/// Raw `[keys]` entries: `(scope name or None for top level, key string, action name)`.
pub type RawBindings = Vec<(Option<String>, String, String)>;

impl Keymap {
    /// The embedded default keymap.
    pub fn defaults() -> Self {
        let mut keymap = Keymap { bindings: Vec::new() };
        // The defaults are a tested constant; a problem here is a build defect caught by tests.
        let raw = raw_bindings_from_toml(DEFAULT_KEYS).unwrap_or_default();
        let _ = keymap.apply(&raw, "defaults");
        keymap
    }

    /// Applies overrides; every bad key or action is reported and skipped, nothing panics.
    pub fn apply(&mut self, raw: &RawBindings, prefix: &str) -> Vec<KeymapProblem> {
        let mut problems = Vec::new();
        for (scope_name, key, action_name) in raw {
            let path = match scope_name {
                Some(s) => format!("{prefix}.{s}.\"{key}\""),
                None => format!("{prefix}.\"{key}\""),
            };
            let scope = match scope_name.as_deref() {
                None | Some("global") => Scope::Global,
                Some(name) => match PaneId::from_name(name) {
                    Some(p) => Scope::Pane(p),
                    None => {
                        problems.push(KeymapProblem {
                            path,
                            message: format!(
                                "unknown pane \"{name}\" (expected global, {})",
                                PaneId::ALL.map(PaneId::name).join(", ")
                            ),
                        });
                        continue;
                    }
                },
            };
            let chord = match KeyChord::parse(key) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(KeymapProblem {
                        path,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            if action_name == "none" {
                self.bindings.retain(|b| !(b.scope == scope && b.chord == chord));
                continue;
            }
            let Some(action) = Action::from_name(action_name) else {
                problems.push(KeymapProblem {
                    path,
                    message: format!("unknown action \"{action_name}\" (see `?` in the cockpit or docs for the list)"),
                });
                continue;
            };
            self.bindings.retain(|b| !(b.scope == scope && b.chord == chord));
            self.bindings.push(Binding { scope, chord, action });
        }
        problems
    }

    /// The action for a key in the focused pane: a pane binding wins over a global one.
    /// Removes every binding of the actions `drop` selects (a read-only session drops the actions
    /// that change the world, so help does not offer them).
    pub fn without(mut self, drop: impl Fn(Action) -> bool) -> Self {
        self.bindings.retain(|b| !drop(b.action));
        self
    }

    pub fn resolve(&self, focus: PaneId, chord: KeyChord) -> Option<Action> {
        let find = |scope| {
            self.bindings
                .iter()
                .find(|b| b.scope == scope && b.chord == chord)
                .map(|b| b.action)
        };
        find(Scope::Pane(focus)).or_else(|| find(Scope::Global))
    }

    /// Keys bound to `action` in `scope`, in binding order.
    pub fn keys_for(&self, scope: Scope, action: Action) -> Vec<KeyChord> {
        self.bindings
            .iter()
            .filter(|b| b.scope == scope && b.action == action)
            .map(|b| b.chord)
            .collect()
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }
}

/// Reads a keys table (the defaults file, or a config's `[keys]`) into raw entries.
pub fn raw_bindings_from_toml(text: &str) -> Result<RawBindings, toml::de::Error> {
    let table: toml::Table = toml::from_str(text)?;
    Ok(raw_bindings_from_table(&table).0)
}

/// Splits a `[keys]` table into bindings and the paths of entries that are neither strings nor
/// tables of strings.
pub fn raw_bindings_from_table(table: &toml::Table) -> (RawBindings, Vec<KeymapProblem>) {
    let mut raw = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::String(action) => raw.push((None, key.clone(), action.clone())),
            toml::Value::Table(inner) => {
                for (k, v) in inner {
                    match v {
                        toml::Value::String(action) => raw.push((Some(key.clone()), k.clone(), action.clone())),
                        _ => problems.push(KeymapProblem {
                            path: format!("keys.{key}.\"{k}\""),
                            message: "expected an action name (a string)".into(),
                        }),
                    }
                }
            }
            _ => problems.push(KeymapProblem {
                path: format!("keys.\"{key}\""),
                message: "expected an action name or a table of pane bindings".into(),
            }),
        }
    }
    (raw, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chord(s: &str) -> KeyChord {
        KeyChord::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn key_strings_parse_and_normalise() {
        assert_eq!(chord("G"), KeyChord::new(KeyCode::Char('g'), KeyModifiers::SHIFT));
        assert_eq!(chord("shift-g"), chord("G"));
        assert_eq!(
            chord("ctrl-r"),
            KeyChord::new(KeyCode::Char('r'), KeyModifiers::CONTROL)
        );
        assert_eq!(chord("CTRL-R"), chord("ctrl-r"));
        assert_eq!(chord("shift-tab"), KeyChord::new(KeyCode::BackTab, KeyModifiers::SHIFT));
        assert_eq!(chord("f5").code, KeyCode::F(5));
        assert_eq!(chord("space").code, KeyCode::Char(' '));
        assert_eq!(chord("?").code, KeyCode::Char('?'));
        assert_eq!(chord("-").code, KeyCode::Char('-'));
        for bad in ["", "ctrl-", "hyper-x", "f13", "pagedownn"] {
            assert!(KeyChord::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn chords_display_round_trip() {
        for s in [
            "q",
            "G",
            "ctrl-r",
            "alt-x",
            "shift-tab",
            "enter",
            "f5",
            "space",
            "pgdn",
            "?",
        ] {
            assert_eq!(chord(s).to_string(), s);
            assert_eq!(chord(&chord(s).to_string()), chord(s));
        }
    }

    #[test]
    fn defaults_parse_completely_and_resolve() {
        let raw = raw_bindings_from_toml(DEFAULT_KEYS).unwrap_or_else(|e| panic!("{e}"));
        let mut keymap = Keymap { bindings: Vec::new() };
        assert_eq!(keymap.apply(&raw, "defaults"), vec![]);
        assert_eq!(keymap, Keymap::defaults());
        let km = Keymap::defaults();
        assert_eq!(km.resolve(PaneId::Alerts, chord("q")), Some(Action::Quit));
        assert_eq!(
            km.resolve(PaneId::Alerts, chord("3")),
            Some(Action::Focus(PaneId::Signals))
        );
        assert_eq!(km.resolve(PaneId::Logs, chord("s")), Some(Action::ToggleFollow));
        assert_eq!(km.resolve(PaneId::Alerts, chord("s")), Some(Action::Silence));
        assert_eq!(km.resolve(PaneId::Slos, chord("s")), None);
        assert_eq!(km.resolve(PaneId::Runbook, chord("space")), Some(Action::ToggleStep));
    }

    #[test]
    fn overrides_rebind_unbind_and_report_every_problem() {
        let mut km = Keymap::defaults();
        let raw: RawBindings = vec![
            (None, "ctrl-q".into(), "quit".into()),
            (None, "q".into(), "none".into()),
            (Some("logs".into()), "f".into(), "toggle_follow".into()),
            (None, "hyper-x".into(), "quit".into()),
            (None, "x".into(), "explode".into()),
            (Some("nowhere".into()), "x".into(), "quit".into()),
        ];
        let problems = km.apply(&raw, "keys");
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["keys.\"hyper-x\"", "keys.\"x\"", "keys.nowhere.\"x\""]);
        assert!(problems[1].message.contains("unknown action \"explode\""));
        assert_eq!(km.resolve(PaneId::Alerts, chord("ctrl-q")), Some(Action::Quit));
        assert_eq!(km.resolve(PaneId::Alerts, chord("q")), None);
        assert_eq!(km.resolve(PaneId::Logs, chord("f")), Some(Action::ToggleFollow));
        // A pane binding wins over a global one in that pane only.
        km.apply(&vec![(Some("alerts".into()), "j".into(), "top".into())], "keys");
        assert_eq!(km.resolve(PaneId::Alerts, chord("j")), Some(Action::Top));
        assert_eq!(km.resolve(PaneId::Logs, chord("j")), Some(Action::Down));
    }
}
