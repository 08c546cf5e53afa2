//! Loading the configuration: the embedded defaults, the user's file merged over them field by
//! field, then validation. Every problem is collected (unknown keys, wrong types, missing or
//! contradictory fields, bad keys and actions, unreadable secrets, unknown themes, broken runbooks)
//! and reported with the file, line and key, before the terminal is touched.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::paths::Paths;
use super::secret::{Secret, read_secret_file};
use super::{Config, DEFAULT_CONFIG, HttpSource};
use crate::app::keymap::{Keymap, raw_bindings_from_table};
use crate::domain::runbook::{self, Runbook};
use crate::domain::signal::Direction;
use crate::ui::theme::{BUILTIN, Theme};

/// One problem, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A key path inside the config, e.g. `signals[2].warn` or `keys."ctrl-r"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

pub fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    out.push_str(k);
                } else {
                    out.push_str(&format!("\"{k}\""));
                }
            }
        }
    }
    out
}

fn key(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|p| Seg::Key(p.to_string())).collect()
}

/// Everything the cockpit needs from the configuration, validated.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The user file that was merged over the defaults, if any.
    pub config_file: Option<PathBuf>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub themes: Vec<Theme>,
    pub runbooks: Vec<Runbook>,
}

pub struct LoadOptions<'a> {
    pub paths: &'a Paths,
    /// `--theme`, overriding `[ui] theme`.
    pub theme: Option<&'a str>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The runbooks shipped in `runbooks/`, embedded.
pub const BUILTIN_RUNBOOKS: [(&str, &str); 6] = [
    ("high-error-rate.md", include_str!("../../runbooks/high-error-rate.md")),
    (
        "credential-abuse.md",
        include_str!("../../runbooks/credential-abuse.md"),
    ),
    ("db-saturation.md", include_str!("../../runbooks/db-saturation.md")),
    ("db-compromise.md", include_str!("../../runbooks/db-compromise.md")),
    ("deployment.md", include_str!("../../runbooks/deployment.md")),
    ("rollback.md", include_str!("../../runbooks/rollback.md")),
];

pub fn load(opts: &LoadOptions<'_>) -> Result<Loaded, Vec<Problem>> {
    load_inner(opts, Runbooks::Required)
}

/// Like [`load`], except that runbooks which do not parse are left out instead of failing the
/// load: for `warroom runbook`, which reports them itself (`lint`) or alongside (`list`).
pub fn load_without_broken_runbooks(opts: &LoadOptions<'_>) -> Result<Loaded, Vec<Problem>> {
    load_inner(opts, Runbooks::SkipBroken)
}

/// Like [`load`], without reading runbooks at all: for the journal commands (`warroom note`,
/// `incident`, `timeline`, …), which never use them and must not be stopped, or slowed, by them.
pub fn load_without_runbooks(opts: &LoadOptions<'_>) -> Result<Loaded, Vec<Problem>> {
    load_inner(opts, Runbooks::NotRead)
}

/// What a load does with the runbooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runbooks {
    /// Read; any that does not parse fails the load.
    Required,
    /// Read; those that do not parse are left out.
    SkipBroken,
    /// Not read.
    NotRead,
}

fn load_inner(opts: &LoadOptions<'_>, runbooks_mode: Runbooks) -> Result<Loaded, Vec<Problem>> {
    let mut problems = Vec::new();
    let defaults: toml::Table = match toml::from_str(DEFAULT_CONFIG) {
        Ok(t) => t,
        Err(e) => {
            return Err(vec![Problem {
                file: "(embedded defaults)".into(),
                line: None,
                key: None,
                message: e.to_string(),
            }]);
        }
    };
    let file = &opts.paths.config_file;
    let file_name = file.display().to_string();
    let (user_text, user_file) = match std::fs::read_to_string(file) {
        Ok(text) => (Some(text), Some(file.clone())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !opts.paths.config_explicit => (None, None),
        Err(e) => {
            return Err(vec![Problem {
                file: file_name,
                line: None,
                key: None,
                message: format!("cannot read the config file: {e}"),
            }]);
        }
    };
    let mut merged = toml::Value::Table(defaults);
    let mut origins = Origins::new();
    let mut doc = None;
    if let Some(text) = &user_text {
        match toml_edit::Document::parse(text.clone()) {
            Ok(d) => doc = Some(d),
            Err(e) => {
                let line = e.span().map(|s| line_at(text, s.start));
                return Err(vec![Problem {
                    file: file_name,
                    line,
                    key: None,
                    message: format!("not valid TOML: {}", e.message()),
                }]);
            }
        }
        let user: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => {
                let line = e.span().map(|s| line_at(text, s.start));
                return Err(vec![Problem {
                    file: file_name,
                    line,
                    key: None,
                    message: e.message().to_string(),
                }]);
            }
        };
        // Report each unknown key or wrong type, drop it, and look again: one mistake never hides
        // the next, and the rest of the file is still validated below.
        let mut user = user;
        for _ in 0..MAX_STRUCTURAL_ROUNDS {
            let found = check_sections(&user);
            if found.is_empty() {
                break;
            }
            let mut removed_any = false;
            for (path, message) in found {
                problems.push(locate(&file_name, text, doc.as_ref(), &path, message));
                removed_any |= remove_path(&mut user, &path);
            }
            if !removed_any {
                return Err(problems);
            }
        }
        if let toml::Value::Table(base) = &mut merged {
            origins = merge(base, user);
        }
    }
    let mut config: Config = match serde_path_to_error::deserialize(merged) {
        Ok(c) => c,
        Err(e) => {
            return Err(vec![Problem {
                file: "(merged configuration)".into(),
                line: None,
                key: Some(path_text(&convert_path(e.path()))),
                message: e.inner().message().to_string(),
            }]);
        }
    };
    keep_enabled(&mut config.signals, |s| s.enabled, &mut origins, "signals");
    keep_enabled(&mut config.slo, |s| s.enabled, &mut origins, "slo");
    keep_enabled(&mut config.logs, |s| s.enabled, &mut origins, "logs");
    keep_enabled(&mut config.deploys, |s| s.enabled, &mut origins, "deploys");
    keep_enabled(&mut config.probes, |s| s.enabled, &mut origins, "probes");
    let origins = origins;
    let locate_here = |path: &[Seg], message: String| -> Problem {
        match (user_path(path, &origins), &user_text, &doc) {
            // The nearest part of the path the user wrote: a missing key is reported on its table.
            (Some(mapped), Some(text), Some(d)) if (1..=mapped.len()).any(|n| item_at(d, &mapped[..n]).is_some()) => {
                locate(&file_name, text, Some(d), &mapped, message)
            }
            _ => Problem {
                file: "(defaults)".into(),
                line: None,
                key: Some(path_text(path)),
                message,
            },
        }
    };
    let base_dir = user_file
        .as_ref()
        .and_then(|f| f.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for (path, message) in validate(&config, &base_dir, opts.env) {
        problems.push(locate_here(&path, message));
    }

    let (raw, shape_problems) = raw_bindings_from_table(&config.keys);
    let mut keymap = Keymap::defaults();
    for p in shape_problems.into_iter().chain(keymap.apply(&raw, "keys")) {
        problems.push(locate_here(&keymap_path(&p.path), p.message));
    }

    let (themes, theme_problems) = load_themes(&opts.paths.themes_dir);
    problems.extend(theme_problems);
    let wanted = opts.theme.unwrap_or(&config.ui.theme);
    let theme = themes.iter().find(|t| t.name == wanted).cloned();
    if theme.is_none() {
        let known: Vec<_> = themes.iter().map(|t| t.name.as_str()).collect();
        let message = format!("no theme named \"{wanted}\" (known: {})", known.join(", "));
        match opts.theme {
            Some(_) => problems.push(Problem {
                file: "--theme".into(),
                line: None,
                key: None,
                message,
            }),
            None => problems.push(locate_here(&key(&["ui", "theme"]), message)),
        }
    }

    let runbooks = match runbooks_mode {
        Runbooks::NotRead => Vec::new(),
        Runbooks::Required | Runbooks::SkipBroken => {
            let (runbooks, runbook_problems) = load_runbooks(&config.runbooks.dirs, &base_dir);
            if runbooks_mode == Runbooks::Required {
                problems.extend(runbook_problems);
            }
            runbooks
        }
    };

    match theme {
        Some(theme) if problems.is_empty() => Ok(Loaded {
            config,
            config_file: user_file,
            keymap,
            theme,
            themes,
            runbooks,
        }),
        _ => Err(problems),
    }
}

/// Bound on the report-and-drop rounds of structural problems (each round removes at least one key).
const MAX_STRUCTURAL_ROUNDS: usize = 64;

/// Removes the value at `path` (a key or an array element); whether something was removed.
fn remove_path(table: &mut toml::Table, path: &[Seg]) -> bool {
    let Some((Seg::Key(first), rest)) = path.split_first() else {
        return false;
    };
    if rest.is_empty() {
        return table.remove(first).is_some();
    }
    let mut value = match table.get_mut(first) {
        Some(v) => v,
        None => return false,
    };
    for (i, seg) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        match (seg, value) {
            (Seg::Key(k), toml::Value::Table(t)) if last => return t.remove(k).is_some(),
            (Seg::Index(n), toml::Value::Array(a)) if last => {
                if *n < a.len() {
                    a.remove(*n);
                    return true;
                }
                return false;
            }
            (Seg::Key(k), toml::Value::Table(t)) => match t.get_mut(k) {
                Some(v) => value = v,
                None => return false,
            },
            (Seg::Index(n), toml::Value::Array(a)) => match a.get_mut(*n) {
                Some(v) => value = v,
                None => return false,
            },
            _ => return false,
        }
    }
    false
}

/// `keys.logs."s"` as produced by the keymap back into segments.
fn keymap_path(text: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            segs.push(Seg::Key(quoted[..end].to_string()));
            rest = quoted.get(end + 1..).unwrap_or("").trim_start_matches('.');
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            segs.push(Seg::Key(rest[..end].to_string()));
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
    segs
}

fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |t| t.matches('\n').count() + 1)
}

fn item_at<'d>(doc: &'d toml_edit::Document<String>, path: &[Seg]) -> Option<&'d toml_edit::Item> {
    let mut item = doc.as_item();
    for seg in path {
        item = match seg {
            Seg::Key(k) => item.get(k.as_str())?,
            Seg::Index(i) => item.get(*i)?,
        };
    }
    Some(item)
}

/// A problem at `path` in the user's file, with the line of the deepest part of the path found.
fn locate(file: &str, text: &str, doc: Option<&toml_edit::Document<String>>, path: &[Seg], message: String) -> Problem {
    let mut line = None;
    if let Some(doc) = doc {
        for depth in (1..=path.len()).rev() {
            if let Some(span) = item_at(doc, &path[..depth]).and_then(toml_edit::Item::span) {
                line = Some(line_at(text, span.start));
                break;
            }
        }
        if line.is_none() {
            // A key that only exists as a bare name (e.g. a dotted key): find it in the text.
            if let Some(Seg::Key(last)) = path.last() {
                line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with(last.as_str()))
                    .map(|i| i + 1);
            }
        }
    }
    Problem {
        file: file.to_string(),
        line,
        key: Some(path_text(path)),
        message,
    }
}

fn convert_path(path: &serde_path_to_error::Path) -> Vec<Seg> {
    path.iter()
        .filter_map(|s| match s {
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => None,
        })
        .collect()
}

fn convert_ignored(path: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
    match path {
        serde_ignored::Path::Root => {}
        serde_ignored::Path::Seq { parent, index } => {
            convert_ignored(parent, out);
            out.push(Seg::Index(*index));
        }
        serde_ignored::Path::Map { parent, key } => {
            convert_ignored(parent, out);
            out.push(Seg::Key(key.clone()));
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => convert_ignored(parent, out),
    }
}

/// Checks each top-level section (and each entry of a list of tables) on its own, so one mistake
/// does not hide the next: unknown keys and wrong types, with their key paths.
fn check_sections(user: &toml::Table) -> Vec<(Vec<Seg>, String)> {
    let mut out = Vec::new();
    for (name, value) in user {
        let parts: Vec<(Option<usize>, toml::Value)> = match value {
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) && !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Some(i), toml::Value::Array(vec![v.clone()])))
                .collect(),
            other => vec![(None, other.clone())],
        };
        for (index, part) in parts {
            let fix = |mut p: Vec<Seg>| {
                if let (Some(i), Some(Seg::Index(at))) = (index, p.get_mut(1)) {
                    *at = i;
                }
                p
            };
            let mut one = toml::Table::new();
            one.insert(name.clone(), part);
            let mut unknown = Vec::new();
            let mut on_unknown = |path: serde_ignored::Path<'_>| {
                let mut segs = Vec::new();
                convert_ignored(&path, &mut segs);
                unknown.push(segs);
            };
            let de = serde_ignored::Deserializer::new(toml::Value::Table(one), &mut on_unknown);
            let result: Result<Config, _> = serde_path_to_error::deserialize(de);
            if let Err(e) = result {
                out.push((fix(convert_path(e.path())), e.inner().message().to_string()));
            }
            for path in unknown {
                out.push((
                    fix(path),
                    "unknown key (see docs/configuration.md for the keys warroom reads)".to_string(),
                ));
            }
        }
    }
    out
}

fn is_named_list(items: &[toml::Value]) -> bool {
    !items.is_empty() && items.iter().all(|v| v.get("name").is_some_and(toml::Value::is_str))
}

/// For each top-level list the user's file sets, where each merged entry came from: its index in
/// the user's list, or `None` for an entry that only exists in the defaults.
pub type Origins = BTreeMap<String, Vec<Option<usize>>>;

/// Merges `over` into `base`: tables key by key, lists of named tables by name (a user entry
/// overrides the default entry of the same name, at most once, so a name repeated in the user's
/// list stays a visible duplicate), anything else replaced. Returns where list entries came from.
pub fn merge(base: &mut toml::Table, over: toml::Table) -> Origins {
    let mut origins = Origins::new();
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => {
                merge(b, o);
            }
            (Some(toml::Value::Array(b)), toml::Value::Array(o)) if is_named_list(b) && is_named_list(&o) => {
                let defaults = b.len();
                let mut from: Vec<Option<usize>> = vec![None; defaults];
                for (j, item) in o.into_iter().enumerate() {
                    let name = item.get("name").cloned();
                    let target = (0..defaults).find(|&i| from[i].is_none() && b[i].get("name") == name.as_ref());
                    match (target, item) {
                        (Some(i), toml::Value::Table(item)) => {
                            if let toml::Value::Table(existing) = &mut b[i] {
                                merge(existing, item);
                            }
                            from[i] = Some(j);
                        }
                        (_, item) => {
                            b.push(item);
                            from.push(Some(j));
                        }
                    }
                }
                origins.insert(k, from);
            }
            (_, v) => {
                if let toml::Value::Array(items) = &v {
                    origins.insert(k.clone(), (0..items.len()).map(Some).collect());
                }
                base.insert(k, v);
            }
        }
    }
    origins
}

/// Drops disabled entries, keeping the origins of the remaining ones in step.
fn keep_enabled<T>(items: &mut Vec<T>, enabled: fn(&T) -> bool, origins: &mut Origins, list: &str) {
    if let Some(from) = origins.get_mut(list) {
        let mut index = 0;
        from.retain(|_| {
            let keep = items.get(index).is_none_or(enabled);
            index += 1;
            keep
        });
    }
    items.retain(enabled);
}

/// Lists whose entries validation reports by index.
const LISTS: [&str; 6] = ["alertmanager", "signals", "slo", "logs", "deploys", "probes"];

/// Translates a path into the merged config to the same entry in the user's file; `None` when the
/// entry exists only in the defaults.
fn user_path(path: &[Seg], origins: &Origins) -> Option<Vec<Seg>> {
    match path {
        [Seg::Key(list), Seg::Index(i), rest @ ..] if LISTS.contains(&list.as_str()) => {
            let j = origins.get(list)?.get(*i).copied().flatten()?;
            let mut mapped = vec![Seg::Key(list.clone()), Seg::Index(j)];
            mapped.extend_from_slice(rest);
            Some(mapped)
        }
        _ => Some(path.to_vec()),
    }
}

fn check_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            // Never echo the URL: it holds a credential.
            Err("credentials in the URL are refused: use token = \"${ENV}\" or token_file".into())
        }
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(u) => Err(format!("\"{url}\" is not an http(s) URL (scheme {})", u.scheme())),
        Err(e) => Err(format!("\"{url}\" is not a URL: {e}")),
    }
}

fn check_credentials(
    at: &[Seg],
    token: &Option<Secret>,
    token_file: &Option<PathBuf>,
    ca_file: &Option<PathBuf>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<(Vec<Seg>, String)>,
) {
    let sub = |k: &str| {
        let mut p = at.to_vec();
        p.push(Seg::Key(k.into()));
        p
    };
    if token.is_some() && token_file.is_some() {
        out.push((sub("token_file"), "set either token or token_file, not both".into()));
    }
    if let Some(secret) = token {
        if let Err(e) = secret.resolve(env) {
            out.push((sub("token"), e.to_string()));
        } else if secret.env_name().is_none() {
            out.push((
                sub("token"),
                "a literal token in the config file is refused: use \"${ENV_VAR}\" or token_file".into(),
            ));
        }
    }
    if let Some(file) = token_file
        && let Err(e) = read_secret_file(&base.join(file))
    {
        out.push((sub("token_file"), e.to_string()));
    }
    if let Some(ca) = ca_file
        && let Err(e) = std::fs::metadata(base.join(ca))
    {
        out.push((sub("ca_file"), format!("cannot read {}: {e}", ca.display())));
    }
}

fn check_http(
    at: Vec<Seg>,
    s: &HttpSource,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<(Vec<Seg>, String)>,
) {
    let mut url_path = at.clone();
    url_path.push(Seg::Key("url".into()));
    match &s.url {
        None => out.push((url_path, "url is required".into())),
        Some(u) => {
            if let Err(m) = check_url(u) {
                out.push((url_path, m));
            }
        }
    }
    check_credentials(&at, &s.token, &s.token_file, &s.ca_file, base, env, out);
}

fn exactly_one(at: &[Seg], options: &[(&str, bool)], out: &mut Vec<(Vec<Seg>, String)>) {
    let set: Vec<&str> = options.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    if set.len() != 1 {
        let found = if set.is_empty() {
            "none".to_string()
        } else {
            set.join(" and ")
        };
        out.push((
            at.to_vec(),
            format!("set exactly one of {} (found {found})", names.join(" / ")),
        ));
    }
}

fn unique_names<'a>(list: &str, names: impl Iterator<Item = &'a str>, out: &mut Vec<(Vec<Seg>, String)>) {
    let mut seen = BTreeSet::new();
    for (i, name) in names.enumerate() {
        let at = vec![Seg::Key(list.into()), Seg::Index(i), Seg::Key("name".into())];
        if name.trim().is_empty() {
            out.push((at, "name is required".into()));
        } else if !seen.insert(name) {
            out.push((at, format!("duplicate name \"{name}\"")));
        }
    }
}

/// Semantic checks of the merged configuration, as (key path, message).
pub fn validate(c: &Config, base: &Path, env: &dyn Fn(&str) -> Option<String>) -> Vec<(Vec<Seg>, String)> {
    let mut out = Vec::new();
    if c.service.name.trim().is_empty() {
        out.push((key(&["service", "name"]), "must not be empty".into()));
    }
    if c.service.environment.trim().is_empty() {
        out.push((key(&["service", "environment"]), "must not be empty".into()));
    }
    if let Some(p) = &c.prometheus {
        check_http(key(&["prometheus"]), p, base, env, &mut out);
    }
    for (i, am) in c.alertmanager.iter().enumerate() {
        check_http(
            vec![Seg::Key("alertmanager".into()), Seg::Index(i)],
            am,
            base,
            env,
            &mut out,
        );
    }
    for (i, label) in c.alerts.group_by.iter().enumerate() {
        if !crate::domain::matcher::is_label_name(label) {
            out.push((
                vec![Seg::Key("alerts".into()), Seg::Key("group_by".into()), Seg::Index(i)],
                format!("\"{label}\" is not a label name"),
            ));
        }
    }
    unique_names("signals", c.signals.iter().map(|s| s.name.as_str()), &mut out);
    for (i, s) in c.signals.iter().enumerate() {
        let at = |k: &str| vec![Seg::Key("signals".into()), Seg::Index(i), Seg::Key(k.into())];
        if s.query.trim().is_empty() {
            out.push((at("query"), "query is required".into()));
        }
        for (k, v) in [("warn", s.warn), ("crit", s.crit)] {
            if v.is_some_and(|v| !v.is_finite()) {
                out.push((at(k), "must be a finite number".into()));
            }
        }
        if let (Some(w), Some(cr)) = (s.warn, s.crit) {
            let inverted = match s.direction {
                Direction::Above => w > cr,
                Direction::Below => w < cr,
            };
            if inverted {
                out.push((
                    at("crit"),
                    format!(
                        "crit {cr} is less severe than warn {w} for direction \"{:?}\"",
                        s.direction
                    )
                    .to_lowercase(),
                ));
            }
        }
    }
    unique_names("slo", c.slo.iter().map(|s| s.name.as_str()), &mut out);
    for (i, s) in c.slo.iter().enumerate() {
        let at = |k: &str| {
            let mut p = vec![Seg::Key("slo".into()), Seg::Index(i)];
            if !k.is_empty() {
                p.push(Seg::Key(k.into()));
            }
            p
        };
        if !(s.objective > 0.0 && s.objective <= 1.0) {
            out.push((
                at("objective"),
                format!("objective {} must be in (0, 1], e.g. 0.999", s.objective),
            ));
        }
        if s.window.0.as_secs() == 0 {
            out.push((at("window"), "window must be longer than zero".into()));
        }
        let counters = s.errors.is_some() || s.good.is_some();
        exactly_one(
            &at(""),
            &[
                ("errors", s.errors.is_some()),
                ("good", s.good.is_some()),
                ("histogram", s.histogram.is_some()),
            ],
            &mut out,
        );
        if counters && s.total.is_none() {
            out.push((at("total"), "total is required with errors or good".into()));
        }
        if s.histogram.is_some() && s.le.is_none() {
            out.push((
                at("le"),
                "le (the bucket bound, e.g. \"0.3\") is required with histogram".into(),
            ));
        }
        if let Err(e) = crate::sources::slo::SloQuery::from_config(s)
            && !out.iter().any(|(p, _)| p.starts_with(&at("")))
        {
            out.push((at(e.field), e.message));
        }
    }
    unique_names("logs", c.logs.iter().map(|s| s.name.as_str()), &mut out);
    for (i, l) in c.logs.iter().enumerate() {
        let at = vec![Seg::Key("logs".into()), Seg::Index(i)];
        exactly_one(
            &at,
            &[
                ("loki", l.loki.is_some()),
                ("file", l.file.is_some()),
                ("command", l.command.is_some()),
            ],
            &mut out,
        );
        if let Some(loki) = &l.loki {
            let mut lp = at.clone();
            lp.push(Seg::Key("loki".into()));
            match &loki.url {
                Some(u) => {
                    if let Err(m) = check_url(u) {
                        out.push((lp.clone(), m));
                    }
                }
                None => out.push((lp.clone(), "loki needs url".into())),
            }
            if loki.query.as_deref().is_none_or(|q| q.trim().is_empty()) {
                out.push((lp.clone(), "loki needs a LogQL query, e.g. '{app=\"odin\"}'".into()));
            }
            check_credentials(&lp, &loki.token, &loki.token_file, &loki.ca_file, base, env, &mut out);
        }
        if l.command.as_ref().is_some_and(|c| c.is_empty()) {
            let mut p = at.clone();
            p.push(Seg::Key("command".into()));
            out.push((p, "command must name a program".into()));
        }
    }
    unique_names("deploys", c.deploys.iter().map(|s| s.name.as_str()), &mut out);
    for (i, d) in c.deploys.iter().enumerate() {
        let at = vec![Seg::Key("deploys".into()), Seg::Index(i)];
        exactly_one(
            &at,
            &[
                ("command", d.command.is_some()),
                ("github", d.github.is_some()),
                ("argocd", d.argocd.is_some()),
            ],
            &mut out,
        );
        for (k, cmd) in [("command", &d.command), ("rollback", &d.rollback)] {
            if cmd.as_ref().is_some_and(|c| c.is_empty()) {
                let mut p = at.clone();
                p.push(Seg::Key(k.into()));
                out.push((p, format!("{k} must name a program")));
            }
        }
        if let Some(g) = &d.github {
            let mut p = at.clone();
            p.push(Seg::Key("github".into()));
            if g.repo
                .as_deref()
                .is_none_or(|r| r.split('/').filter(|s| !s.is_empty()).count() != 2)
            {
                out.push((p.clone(), "github needs repo = \"owner/name\"".into()));
            }
            check_credentials(&p, &g.token, &g.token_file, &None, base, env, &mut out);
        }
        if let Some(a) = &d.argocd {
            let mut p = at.clone();
            p.push(Seg::Key("argocd".into()));
            match &a.url {
                Some(u) => {
                    if let Err(m) = check_url(u) {
                        out.push((p.clone(), m));
                    }
                }
                None => out.push((p.clone(), "argocd needs url".into())),
            }
            if a.app.is_none() {
                out.push((p.clone(), "argocd needs app (the application name)".into()));
            }
            check_credentials(&p, &a.token, &a.token_file, &a.ca_file, base, env, &mut out);
        }
    }
    unique_names("probes", c.probes.iter().map(|s| s.name.as_str()), &mut out);
    for (i, p) in c.probes.iter().enumerate() {
        let at = vec![Seg::Key("probes".into()), Seg::Index(i)];
        exactly_one(&at, &[("tls", p.tls.is_some()), ("http", p.http.is_some())], &mut out);
        if let Some(target) = &p.tls {
            let ok = target
                .rsplit_once(':')
                .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok());
            if !ok {
                let mut k = at.clone();
                k.push(Seg::Key("tls".into()));
                out.push((k, format!("\"{target}\" is not host:port")));
            }
        }
        if let Some(url) = &p.http
            && let Err(m) = check_url(url)
        {
            let mut k = at.clone();
            k.push(Seg::Key("http".into()));
            out.push((k, m));
        }
        let field = |name: &str| {
            let mut k = at.clone();
            k.push(Seg::Key(name.into()));
            k
        };
        if p.tls.is_some() {
            for (name, set) in [("body", p.body.is_some()), ("body_regex", p.body_regex.is_some())] {
                if set {
                    out.push((field(name), format!("{name} applies to http probes only")));
                }
            }
        }
        if p.body.is_some() && p.body_regex.is_some() {
            out.push((field("body_regex"), "set body or body_regex, not both".into()));
        }
        if let Some(re) = &p.body_regex
            && let Err(e) = regex::Regex::new(re)
        {
            out.push((field("body_regex"), format!("invalid regular expression: {e}")));
        }
        if let Some(ca) = &p.ca_file
            && let Err(e) = std::fs::metadata(base.join(ca))
        {
            out.push((field("ca_file"), format!("cannot read {}: {e}", ca.display())));
        }
        if p.timeout.is_some_and(|t| t.0.is_zero()) {
            out.push((field("timeout"), "must be more than zero".into()));
        }
        if p.interval.is_some_and(|t| t.0.is_zero()) {
            out.push((field("interval"), "must be more than zero".into()));
        }
    }
    for (i, dir) in c.runbooks.dirs.iter().enumerate() {
        let full = base.join(dir);
        if !full.is_dir() {
            out.push((
                vec![Seg::Key("runbooks".into()), Seg::Key("dirs".into()), Seg::Index(i)],
                format!("{} is not a directory", full.display()),
            ));
        }
    }
    if !(1..=65_536).contains(&c.ui.log_buffer_mib) {
        out.push((key(&["ui", "log_buffer_mib"]), "must be between 1 and 65536".into()));
    }
    out
}

/// Built-in themes plus `*.toml` files in the user's themes directory (a user file may replace a
/// built-in of the same name).
pub fn load_themes(dir: &Path) -> (Vec<Theme>, Vec<Problem>) {
    let mut themes: Vec<Theme> = BUILTIN.iter().filter_map(|(name, _)| Theme::builtin(name)).collect();
    let mut problems = Vec::new();
    let Ok(files) = files_with_extension(dir, "toml") else {
        return (themes, problems);
    };
    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem {
                    file: shown,
                    line: None,
                    key: None,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        let known = themes.clone();
        match Theme::parse(&name, &text, &|n| known.iter().find(|t| t.name == n).cloned()) {
            Ok(theme) => {
                themes.retain(|t| t.name != theme.name);
                themes.push(theme);
            }
            Err(ps) => problems.extend(ps.into_iter().map(|p| Problem {
                file: shown.clone(),
                line: None,
                key: Some(p.key),
                message: p.message,
            })),
        }
    }
    (themes, problems)
}

/// A runbook file as read: the name problems are reported under, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookSource {
    /// `(built-in) runbooks/NAME.md`, or the file's path.
    pub name: String,
    pub text: String,
    pub builtin: bool,
}

/// The shipped runbooks, then the `*.md` files of each configured directory (by name); a file
/// that cannot be read is a problem. Directories are relative to `base` (the config file's).
pub fn runbook_sources(dirs: &[PathBuf], base: &Path) -> (Vec<RunbookSource>, Vec<Problem>) {
    let mut sources: Vec<RunbookSource> = BUILTIN_RUNBOOKS
        .iter()
        .map(|(name, text)| RunbookSource {
            name: format!("(built-in) runbooks/{name}"),
            text: (*text).to_string(),
            builtin: true,
        })
        .collect();
    let mut problems = Vec::new();
    for dir in dirs {
        let Ok(files) = files_with_extension(&base.join(dir), "md") else {
            continue;
        };
        for path in files {
            let name = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push(RunbookSource {
                    name,
                    text,
                    builtin: false,
                }),
                Err(e) => problems.push(Problem {
                    file: name,
                    line: None,
                    key: None,
                    message: format!("cannot read the runbook: {e}"),
                }),
            }
        }
    }
    (sources, problems)
}

/// Parses runbook sources; a later runbook replaces an earlier one of the same id (a file in a
/// configured directory may replace a shipped one). Problems name the file and line.
pub fn parse_runbooks(sources: &[RunbookSource]) -> (Vec<Runbook>, Vec<Problem>) {
    let mut runbooks: Vec<Runbook> = Vec::new();
    let mut problems = Vec::new();
    for source in sources {
        match runbook::parse(&source.text) {
            Ok(rb) => {
                runbooks.retain(|r| r.id != rb.id);
                runbooks.push(rb);
            }
            Err(e) => problems.push(Problem {
                file: source.name.clone(),
                line: Some(e.line),
                key: None,
                message: e.message,
            }),
        }
    }
    (runbooks, problems)
}

/// The files in `dir` whose name ends in `.{extension}`, sorted by path.
pub fn files_with_extension(dir: &Path, extension: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    Ok(files)
}

/// The shipped runbooks plus `*.md` files in the configured directories.
pub fn load_runbooks(dirs: &[PathBuf], base: &Path) -> (Vec<Runbook>, Vec<Problem>) {
    let (sources, mut problems) = runbook_sources(dirs, base);
    let (runbooks, parse_problems) = parse_runbooks(&sources);
    problems.extend(parse_problems);
    (runbooks, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load_and_validate() {
        let defaults: toml::Table = toml::from_str(DEFAULT_CONFIG).unwrap_or_else(|e| panic!("{e}"));
        assert!(check_sections(&defaults).is_empty(), "{:?}", check_sections(&defaults));
        let config: Config = toml::Value::Table(defaults)
            .try_into()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(validate(&config, Path::new("."), &|_| None), vec![]);
        assert_eq!(config.signals.len(), 9);
        assert_eq!(config.slo.len(), 2);
    }

    #[test]
    fn merge_is_field_by_field_and_lists_merge_by_name() {
        let mut base: toml::Table = toml::from_str("[service]\nname = \"odin\"\nenvironment = \"prod\"\n[[signals]]\nname = \"a\"\nquery = \"q\"\nwarn = 1\n[[signals]]\nname = \"b\"\nquery = \"qb\"\n").unwrap_or_default();
        let over: toml::Table = toml::from_str("[service]\nenvironment = \"staging\"\n[[signals]]\nname = \"a\"\nwarn = 2\n[[signals]]\nname = \"c\"\nquery = \"qc\"\n").unwrap_or_default();
        let origins = merge(&mut base, over);
        assert_eq!(origins.get("signals"), Some(&vec![Some(0), None, Some(1)]));
        let expected: toml::Table = toml::from_str("[service]\nname = \"odin\"\nenvironment = \"staging\"\n[[signals]]\nname = \"a\"\nquery = \"q\"\nwarn = 2\n[[signals]]\nname = \"b\"\nquery = \"qb\"\n[[signals]]\nname = \"c\"\nquery = \"qc\"\n").unwrap_or_default();
        assert_eq!(base, expected);
    }

    #[test]
    fn paths_print_like_toml_keys() {
        assert_eq!(
            path_text(&[Seg::Key("signals".into()), Seg::Index(2), Seg::Key("warn".into())]),
            "signals[2].warn"
        );
        assert_eq!(path_text(&keymap_path("keys.logs.\"ctrl-r\"")), "keys.logs.ctrl-r");
        assert_eq!(path_text(&keymap_path("keys.\"?\"")), "keys.\"?\"");
    }
}
