//! Themes: named semantic slots (severities, ok/warn/crit, stale, focus, muted...) mapped to
//! styles, parsed from TOML. Widgets ask for a slot, never for a raw colour.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    Text,
    Muted,
    Border,
    BorderFocus,
    Title,
    TitleFocus,
    Header,
    Selection,
    StatusBar,
    StatusAccent,
    Hint,
    NoticeInfo,
    NoticeWarn,
    NoticeError,
    SevPage,
    SevCritical,
    SevWarning,
    SevInfo,
    Ok,
    Warn,
    Crit,
    Stale,
    NoData,
    Human,
    System,
    Pending,
    Match,
}

impl Slot {
    pub const ALL: [Slot; 27] = [
        Self::Text,
        Self::Muted,
        Self::Border,
        Self::BorderFocus,
        Self::Title,
        Self::TitleFocus,
        Self::Header,
        Self::Selection,
        Self::StatusBar,
        Self::StatusAccent,
        Self::Hint,
        Self::NoticeInfo,
        Self::NoticeWarn,
        Self::NoticeError,
        Self::SevPage,
        Self::SevCritical,
        Self::SevWarning,
        Self::SevInfo,
        Self::Ok,
        Self::Warn,
        Self::Crit,
        Self::Stale,
        Self::NoData,
        Self::Human,
        Self::System,
        Self::Pending,
        Self::Match,
    ];

    /// The key used in theme files.
    pub fn key(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Muted => "muted",
            Self::Border => "border",
            Self::BorderFocus => "border_focus",
            Self::Title => "title",
            Self::TitleFocus => "title_focus",
            Self::Header => "header",
            Self::Selection => "selection",
            Self::StatusBar => "status_bar",
            Self::StatusAccent => "status_accent",
            Self::Hint => "hint",
            Self::NoticeInfo => "notice_info",
            Self::NoticeWarn => "notice_warn",
            Self::NoticeError => "notice_error",
            Self::SevPage => "severity_page",
            Self::SevCritical => "severity_critical",
            Self::SevWarning => "severity_warning",
            Self::SevInfo => "severity_info",
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Crit => "crit",
            Self::Stale => "stale",
            Self::NoData => "no_data",
            Self::Human => "timeline_human",
            Self::System => "timeline_system",
            Self::Pending => "pending",
            Self::Match => "match",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    slots: BTreeMap<Slot, Style>,
}

/// A theme file: `name`, optional `inherits`, and a `[slots]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    inherits: Option<String>,
    #[serde(default)]
    slots: BTreeMap<String, SlotStyle>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotStyle {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
}

/// A problem in a theme file, naming the slot or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ThemeProblem {
    pub key: String,
    pub message: String,
}

pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

impl Theme {
    /// A theme with no styles at all: the last resort if no theme can be loaded.
    pub fn plain() -> Theme {
        Theme {
            name: "plain".into(),
            slots: BTreeMap::new(),
        }
    }

    pub fn style(&self, slot: Slot) -> Style {
        self.slots.get(&slot).copied().unwrap_or_default()
    }

    /// The built-in theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Theme::parse(name, text, &|_| None).ok()
    }

    /// Parses a theme; `inherits` is resolved through `lookup` (built-ins are always available).
    /// Built-in themes must define every slot; a theme that inherits may define any subset.
    pub fn parse(
        default_name: &str,
        text: &str,
        lookup: &dyn Fn(&str) -> Option<Theme>,
    ) -> Result<Theme, Vec<ThemeProblem>> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| {
            vec![ThemeProblem {
                key: "(file)".into(),
                message: e.message().to_string() + &line_suffix(text, e.span()),
            }]
        })?;
        let mut problems = Vec::new();
        let mut slots = match &file.inherits {
            Some(parent) => match lookup(parent).or_else(|| Theme::builtin(parent)) {
                Some(p) => p.slots,
                None => {
                    problems.push(ThemeProblem {
                        key: "inherits".into(),
                        message: format!("no theme named \"{parent}\""),
                    });
                    BTreeMap::new()
                }
            },
            None => BTreeMap::new(),
        };
        for (key, spec) in &file.slots {
            let Some(slot) = Slot::from_key(key) else {
                problems.push(ThemeProblem {
                    key: format!("slots.{key}"),
                    message: format!("unknown slot (known: {})", Slot::ALL.map(Slot::key).join(", ")),
                });
                continue;
            };
            let mut style = Style::default();
            for (which, value) in [("fg", &spec.fg), ("bg", &spec.bg)] {
                let Some(value) = value else { continue };
                match parse_color(value) {
                    Some(c) if which == "fg" => style = style.fg(c),
                    Some(c) => style = style.bg(c),
                    None => problems.push(ThemeProblem {
                        key: format!("slots.{key}.{which}"),
                        message: format!("unknown colour \"{value}\" (a name like \"red\", \"#rrggbb\" or 0-255)"),
                    }),
                }
            }
            for (on, modifier) in [
                (spec.bold, Modifier::BOLD),
                (spec.dim, Modifier::DIM),
                (spec.italic, Modifier::ITALIC),
                (spec.underline, Modifier::UNDERLINED),
                (spec.reversed, Modifier::REVERSED),
            ] {
                if on {
                    style = style.add_modifier(modifier);
                }
            }
            slots.insert(slot, style);
        }
        if file.inherits.is_none() {
            for slot in Slot::ALL {
                if !slots.contains_key(&slot) {
                    problems.push(ThemeProblem {
                        key: format!("slots.{}", slot.key()),
                        message: "missing (or set `inherits`)".into(),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(Theme {
                name: file.name.unwrap_or_else(|| default_name.to_string()),
                slots,
            })
        } else {
            Err(problems)
        }
    }

    /// The theme for `NO_COLOR`: every colour removed, modifiers kept, and the selection and focus
    /// made visible by reverse video and bold.
    pub fn without_color(&self) -> Theme {
        let mut slots: BTreeMap<Slot, Style> = self
            .slots
            .iter()
            .map(|(slot, style)| {
                let mut s = Style::default().add_modifier(style.add_modifier);
                s.sub_modifier = style.sub_modifier;
                (*slot, s)
            })
            .collect();
        slots.insert(Slot::Selection, Style::default().add_modifier(Modifier::REVERSED));
        slots.insert(Slot::BorderFocus, Style::default().add_modifier(Modifier::BOLD));
        slots.insert(
            Slot::TitleFocus,
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        );
        slots.insert(Slot::StatusBar, Style::default().add_modifier(Modifier::REVERSED));
        Theme {
            name: self.name.clone(),
            slots,
        }
    }
}

fn line_suffix(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| format!(" (line {})", text[..s.start.min(text.len())].lines().count().max(1)))
        .unwrap_or_default()
}

/// Colour names, `#rrggbb`, or an index 0-255. "default"/"reset" keeps the terminal's colour.
pub fn parse_color(value: &str) -> Option<Color> {
    let v = value.trim().to_ascii_lowercase().replace(['_', '-', ' '], "");
    if let Some(hex) = v.strip_prefix('#') {
        if hex.len() == 6 {
            let n = u32::from_str_radix(hex, 16).ok()?;
            return Some(Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
        }
        return None;
    }
    if let Ok(index) = v.parse::<u8>() {
        return Some(Color::Indexed(index));
    }
    Some(match v.as_str() {
        "default" | "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_define_every_slot() {
        for (name, text) in BUILTIN {
            let theme = Theme::parse(name, text, &|_| None).unwrap_or_else(|p| panic!("{name}: {p:?}"));
            assert_eq!(theme.name, name);
        }
    }

    #[test]
    fn user_theme_inherits_and_reports_every_problem() {
        let ok = Theme::parse(
            "mine",
            "inherits = \"dark\"\n[slots]\nfocus_x = {}\nok = { fg = \"#00ff00\", bold = true }\nwarn = { fg = \"orangeish\" }\n",
            &|_| None,
        );
        let problems = ok.err().unwrap_or_default();
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["slots.focus_x", "slots.warn.fg"]);

        let theme = Theme::parse(
            "mine",
            "inherits = \"dark\"\n[slots]\nok = { fg = \"#00ff00\", bold = true }\n",
            &|_| None,
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(
            theme.style(Slot::Ok),
            Style::default().fg(Color::Rgb(0, 255, 0)).add_modifier(Modifier::BOLD)
        );
        assert_eq!(
            theme.style(Slot::Crit),
            Theme::builtin("dark").map(|t| t.style(Slot::Crit)).unwrap_or_default()
        );
    }

    #[test]
    fn no_color_strips_colours_but_keeps_selection_visible() {
        let plain = Theme::builtin("dark")
            .map(|t| t.without_color())
            .unwrap_or_else(|| panic!("dark"));
        for slot in Slot::ALL {
            assert_eq!(plain.style(slot).fg, None, "{slot:?}");
            assert_eq!(plain.style(slot).bg, None, "{slot:?}");
        }
        assert!(plain.style(Slot::Selection).add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("Light-Red"), Some(Color::LightRed));
        assert_eq!(parse_color("#0a0B0c"), Some(Color::Rgb(10, 11, 12)));
        assert_eq!(parse_color("208"), Some(Color::Indexed(208)));
        assert_eq!(parse_color("#fff"), None);
        assert_eq!(parse_color("nope"), None);
    }
}
