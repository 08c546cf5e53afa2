//! The command palette's language: parsing a typed command line into a `Command`, and completing a
//! partial line. Pure; `update` executes the command.

use super::action::Action;
use super::pane::PaneId;
use crate::domain::incident::{IncidentSeverity, IncidentStatus, Milestone, Role};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Action(Action),
    Focus(PaneId),
    Filter(String),
    ClearFilter,
    Theme(String),
    Runbook(String),
    Declare {
        severity: IncidentSeverity,
        title: String,
    },
    Resolve,
    /// A note: recorded at once with text, else the editor opens.
    Note(Option<String>),
    /// A milestone now, or at a time of day (hours, minutes, seconds) in the shown time zone.
    Milestone {
        milestone: Milestone,
        at: Option<(u32, u32, u32)>,
    },
    Role {
        role: Role,
        person: String,
    },
    Status(IncidentStatus),
    Severity(IncidentSeverity),
    /// Watch a canary's SLO burn for this long.
    WatchCanary(chrono::Duration),
    /// Promote a canary the release gate holds, with the reason.
    PromoteOverride(String),
    /// Record the mitigation plan the error-budget policy asks for.
    Mitigation(String),
    /// Withdraw the selected timeline entry, with the reason (it stays, struck through).
    Retract(String),
    /// Set a value of the shown runbook's input (kept for this session).
    Input {
        name: String,
        value: String,
    },
    /// Jump the Logs pane to the first line at a time of day (in the shown time zone).
    Goto((u32, u32, u32)),
    /// Show log lines at or above a level; `None` shows all.
    Level(Option<crate::domain::log::LogLevel>),
}

const MILESTONES: [(&str, Milestone); 5] = [
    ("started", Milestone::Started),
    ("detected", Milestone::Detected),
    ("acknowledged", Milestone::Acknowledged),
    ("mitigated", Milestone::Mitigated),
    ("resolved", Milestone::Resolved),
];
const ROLES: [(&str, Role); 4] = [
    ("commander", Role::Commander),
    ("ops_lead", Role::OpsLead),
    ("comms_lead", Role::CommsLead),
    ("scribe", Role::Scribe),
];
const STATUSES: [(&str, IncidentStatus); 4] = [
    ("investigating", IncidentStatus::Investigating),
    ("identified", IncidentStatus::Identified),
    ("monitoring", IncidentStatus::Monitoring),
    ("resolved", IncidentStatus::Resolved),
];

fn lookup<T: Copy>(table: &[(&str, T)], word: &str, what: &str) -> Result<T, String> {
    table.iter().find(|(n, _)| *n == word).map(|(_, v)| *v).ok_or_else(|| {
        format!(
            "unknown {what} \"{word}\" (one of {})",
            table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )
    })
}

/// "14:05" or "14:05:30".
fn time_of_day(text: &str) -> Result<(u32, u32, u32), String> {
    let parts: Vec<&str> = text.split(':').collect();
    let num = |s: &str, max: u32| s.parse::<u32>().ok().filter(|v| *v <= max);
    match parts.as_slice() {
        [h, m] => num(h, 23).zip(num(m, 59)).map(|(h, m)| (h, m, 0)),
        [h, m, sec] => match (num(h, 23), num(m, 59), num(sec, 59)) {
            (Some(h), Some(m), Some(sec)) => Some((h, m, sec)),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| format!("\"{text}\" is not a time of day like 14:05 or 14:05:30"))
}

/// Commands that take an argument, with a description (actions are listed from the keymap table).
pub const ARG_COMMANDS: &[(&str, &str)] = &[
    ("focus", "focus <pane>: focus a pane by name"),
    ("filter", "filter <text>: filter the focused pane"),
    ("nofilter", "nofilter: clear the focused pane's filter"),
    ("theme", "theme <name>: switch the colour theme"),
    ("runbook", "runbook <id>: show a runbook in the Runbook pane"),
    ("declare", "declare [SEV1..SEV4] <title>: declare an incident"),
    ("resolve", "resolve: mark the open incident resolved"),
    (
        "note",
        "note [text]: add a note to the incident timeline (no text opens the editor)",
    ),
    (
        "milestone",
        "milestone <name> [HH:MM]: set or correct a milestone (started, detected, acknowledged, mitigated, resolved)",
    ),
    (
        "role",
        "role <commander|ops_lead|comms_lead|scribe> <person>: assign or hand over a role",
    ),
    (
        "status",
        "status <investigating|identified|monitoring|resolved>: change the incident status",
    ),
    ("severity", "severity <SEV1..SEV4>: change the incident severity"),
    (
        "goto",
        "goto <HH:MM[:SS]>: jump the Logs pane to the first line at that time",
    ),
    (
        "input",
        "input <name> <value>: set an input of the shown runbook for its commands",
    ),
    (
        "mitigation",
        "mitigation <plan>: record the mitigation plan an exhausted error budget requires",
    ),
    (
        "retract",
        "retract <reason>: withdraw the selected timeline entry (it stays, struck through)",
    ),
    (
        "watch",
        "watch canary <30m>: watch SLO burn and critical alerts, ending in promote or roll back",
    ),
    (
        "promote",
        "promote override <reason>: promote a canary the release gate holds",
    ),
    (
        "level",
        "level <error|warn|info|debug|all>: show log lines at or above a level",
    ),
    ("q", "q: quit (asks first while an incident is open); q! quits now"),
];

/// What completion may offer besides fixed names.
pub struct CompletionContext<'a> {
    pub themes: &'a [String],
    pub runbooks: &'a [String],
}

pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (head, rest) = match line.split_once(char::is_whitespace) {
        Some((h, r)) => (h, r.trim()),
        None => (line, ""),
    };
    let needs_arg = |what: &str| {
        if rest.is_empty() {
            Err(format!("{head} needs {what}"))
        } else {
            Ok(())
        }
    };
    match head {
        "" => Err("type a command; Tab completes".into()),
        "q" | "quit" => Ok(Command::Action(Action::Quit)),
        "q!" | "quit!" => Ok(Command::Action(Action::ForceQuit)),
        "focus" => {
            needs_arg("a pane name")?;
            PaneId::from_name(rest)
                .map(Command::Focus)
                .ok_or_else(|| format!("no pane named \"{rest}\""))
        }
        "filter" if rest.is_empty() => Ok(Command::ClearFilter),
        "filter" => Ok(Command::Filter(rest.to_string())),
        "nofilter" => Ok(Command::ClearFilter),
        "theme" => {
            needs_arg("a theme name")?;
            Ok(Command::Theme(rest.to_string()))
        }
        "runbook" => {
            needs_arg("a runbook id")?;
            Ok(Command::Runbook(rest.to_string()))
        }
        "declare" => {
            needs_arg("a title")?;
            let (first, title) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            match IncidentSeverity::parse(first) {
                Some(severity) if !title.trim().is_empty() => Ok(Command::Declare {
                    severity,
                    title: title.trim().to_string(),
                }),
                Some(_) => Err("declare needs a title after the severity".into()),
                None => Ok(Command::Declare {
                    severity: IncidentSeverity::Sev3,
                    title: rest.to_string(),
                }),
            }
        }
        "resolve" => Ok(Command::Resolve),
        "note" => Ok(Command::Note((!rest.is_empty()).then(|| rest.to_string()))),
        "milestone" => {
            needs_arg("a milestone name")?;
            let (name, time) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let milestone = lookup(&MILESTONES, name, "milestone")?;
            let at = if time.trim().is_empty() {
                None
            } else {
                Some(time_of_day(time.trim())?)
            };
            Ok(Command::Milestone { milestone, at })
        }
        "role" => {
            needs_arg("a role and a person")?;
            let (name, person) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let role = lookup(&ROLES, name, "role")?;
            if person.trim().is_empty() {
                return Err("role needs a person after the role".into());
            }
            Ok(Command::Role {
                role,
                person: person.trim().to_string(),
            })
        }
        "status" => {
            needs_arg("a status")?;
            Ok(Command::Status(lookup(&STATUSES, rest, "status")?))
        }
        "severity" => {
            needs_arg("a severity")?;
            IncidentSeverity::parse(rest)
                .map(Command::Severity)
                .ok_or_else(|| format!("unknown severity \"{rest}\" (SEV1..SEV4)"))
        }
        "watch" => {
            let (what, length) = rest.split_once(char::is_whitespace).unwrap_or((rest, "30m"));
            if what != "canary" {
                return Err("watch what? watch canary 30m".into());
            }
            let length = humantime::parse_duration(length.trim())
                .map_err(|e| format!("\"{}\" is not a duration like 30m ({e})", length.trim()))?;
            let length = chrono::Duration::from_std(length).map_err(|e| e.to_string())?;
            if length <= chrono::Duration::zero() || length > chrono::Duration::hours(24) {
                return Err("a canary watch lasts between 1s and 24h".into());
            }
            Ok(Command::WatchCanary(length))
        }
        "promote" => match rest.split_once(char::is_whitespace) {
            Some(("override", reason)) if !reason.trim().is_empty() => {
                Ok(Command::PromoteOverride(reason.trim().to_string()))
            }
            _ => Err("promote override <reason>: promote a canary the release gate holds".into()),
        },
        "mitigation" => {
            needs_arg("the plan, e.g. mitigation revert 1.4.2, add canary gate on 5xx")?;
            Ok(Command::Mitigation(rest.to_string()))
        }
        "retract" => {
            needs_arg("the reason, e.g. retract wrong incident")?;
            Ok(Command::Retract(rest.to_string()))
        }
        "input" => {
            needs_arg("an input name and a value")?;
            let (name, value) = rest
                .split_once(char::is_whitespace)
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(|| "input needs a name and a value: input namespace odin-prod".to_string())?;
            Ok(Command::Input {
                name: name.to_string(),
                value: value.to_string(),
            })
        }
        "goto" => {
            needs_arg("a time of day like 14:05")?;
            time_of_day(rest).map(Command::Goto)
        }
        "level" => {
            needs_arg("a level (error, warn, info, debug, all)")?;
            match rest {
                "all" | "any" => Ok(Command::Level(None)),
                word => match crate::domain::log::LogLevel::parse(word) {
                    crate::domain::log::LogLevel::Unknown => {
                        Err(format!("unknown level \"{word}\" (error, warn, info, debug, all)"))
                    }
                    level => Ok(Command::Level(Some(level))),
                },
            }
        }
        name => match Action::from_name(name) {
            Some(action) if rest.is_empty() => Ok(Command::Action(action)),
            Some(_) => Err(format!("{name} takes no argument")),
            None => Err(format!("unknown command \"{name}\" (Tab lists commands)")),
        },
    }
}

/// Candidates that complete `line`, each a whole replacement line.
pub fn complete(line: &str, ctx: &CompletionContext<'_>) -> Vec<String> {
    let trimmed = line.trim_start();
    if let Some((head, arg)) = trimmed.split_once(' ') {
        let arg = arg.trim_start();
        let options: Vec<String> = match head {
            "focus" => PaneId::ALL.iter().map(|p| p.name().to_string()).collect(),
            "theme" => ctx.themes.to_vec(),
            "runbook" => ctx.runbooks.to_vec(),
            "declare" | "severity" => ["SEV1", "SEV2", "SEV3", "SEV4"].map(String::from).to_vec(),
            "level" => ["error", "warn", "info", "debug", "all"].map(String::from).to_vec(),
            "milestone" => MILESTONES.iter().map(|(n, _)| n.to_string()).collect(),
            "role" => ROLES.iter().map(|(n, _)| n.to_string()).collect(),
            "status" => STATUSES.iter().map(|(n, _)| n.to_string()).collect(),
            _ => Vec::new(),
        };
        return options
            .into_iter()
            .filter(|o| o.starts_with(arg))
            .map(|o| format!("{head} {o}"))
            .collect();
    }
    let mut names: Vec<String> = ARG_COMMANDS
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(Action::all().map(|a| a.name().to_string()))
        .filter(|n| n.starts_with(trimmed))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The longest prefix shared by all candidates.
pub fn common_prefix(candidates: &[String]) -> String {
    let Some(first) = candidates.first() else {
        return String::new();
    };
    let mut len = first.len();
    for c in &candidates[1..] {
        len = first
            .char_indices()
            .zip(c.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(len);
    }
    first[..len].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CompletionContext<'static> {
        CompletionContext {
            themes: &[],
            runbooks: &[],
        }
    }

    #[test]
    fn parses_commands_and_reports_mistakes() {
        assert_eq!(parse("q"), Ok(Command::Action(Action::Quit)));
        assert_eq!(parse("refresh_all"), Ok(Command::Action(Action::RefreshAll)));
        assert_eq!(parse(" focus logs "), Ok(Command::Focus(PaneId::Logs)));
        assert_eq!(parse("filter level=error"), Ok(Command::Filter("level=error".into())));
        assert_eq!(
            parse("declare SEV2 odin 5xx"),
            Ok(Command::Declare {
                severity: IncidentSeverity::Sev2,
                title: "odin 5xx".into()
            })
        );
        assert_eq!(
            parse("declare odin down"),
            Ok(Command::Declare {
                severity: IncidentSeverity::Sev3,
                title: "odin down".into()
            })
        );
        assert!(parse("focus nowhere").is_err_and(|e| e.contains("nowhere")));
        assert!(parse("bogus").is_err_and(|e| e.contains("unknown command")));
        assert!(parse("zoom now").is_err());
        assert!(parse("theme").is_err());
    }

    #[test]
    fn completes_names_and_arguments() {
        assert_eq!(
            complete("foc", &ctx()),
            [
                "focus",
                "focus_alerts",
                "focus_deploys",
                "focus_logs",
                "focus_next",
                "focus_prev",
                "focus_runbook",
                "focus_signals",
                "focus_slos",
                "focus_timeline"
            ]
        );
        assert_eq!(complete("focus s", &ctx()), ["focus slos", "focus signals"]);
        let themes = ["dark".to_string(), "light".to_string()];
        assert_eq!(
            complete(
                "theme l",
                &CompletionContext {
                    themes: &themes,
                    runbooks: &[]
                }
            ),
            ["theme light"]
        );
        assert_eq!(common_prefix(&complete("focus_", &ctx())), "focus_");
        assert_eq!(common_prefix(&["help".into()]), "help");
        assert_eq!(common_prefix(&[]), "");
    }
}
