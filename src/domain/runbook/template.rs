//! `{{name}}` placeholders in runbook commands and verify queries: finding them, expanding them
//! with input values, and the display form with secret values masked. Pure text work; single
//! pass, so a value that itself contains `{{…}}` is never expanded again.

use std::collections::{BTreeMap, BTreeSet};

/// What a secret value is shown as.
pub const MASK: &str = "••••";

/// One piece of a template: literal text, or a placeholder: its name, the byte offset of its
/// `{{` and its text as written (`{{ name }}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Placeholder { name: &'a str, at: usize, raw: &'a str },
}

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// Placeholders with no value, each named once, in the order they first appear.
    #[error("no value for {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))]
    Missing { names: Vec<String> },
}

/// Whether `name` can be an input name: an ASCII letter or `_`, then letters, digits and `_`.
pub fn is_input_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits a template into text and placeholders. A placeholder is `{{`, optional spaces, an input
/// name, optional spaces, `}}`; any other `{{…` (a Go template's `{{.Name}}`, say) is text.
pub fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut search = 0;
    while let Some(found) = template.get(search..).and_then(|rest| rest.find("{{")) {
        let open = search + found;
        match placeholder_at(template, open) {
            Some((name, end)) => {
                if open > text_start {
                    out.push(Piece::Text(&template[text_start..open]));
                }
                out.push(Piece::Placeholder {
                    name,
                    at: open,
                    raw: &template[open..end],
                });
                text_start = end;
                search = end;
            }
            None => search = open + 1,
        }
    }
    if text_start < template.len() {
        out.push(Piece::Text(&template[text_start..]));
    }
    out
}

/// The placeholder starting at `open` (which holds `{{`): its name and the offset after `}}`.
/// Reads only as far as a name can go, so a document full of `{{` stays linear.
fn placeholder_at(template: &str, open: usize) -> Option<(&str, usize)> {
    let bytes = template.as_bytes();
    let skip_spaces = |mut i: usize| {
        while bytes.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    let name_start = skip_spaces(open + 2);
    let mut name_end = name_start;
    while bytes
        .get(name_end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        name_end += 1;
    }
    let close = skip_spaces(name_end);
    let name = template.get(name_start..name_end)?;
    (bytes.get(close..close + 2) == Some(b"}}".as_slice()) && is_input_name(name)).then_some((name, close + 2))
}

/// The input names a template uses, with the byte offset of each use.
pub fn placeholders(template: &str) -> Vec<(&str, usize)> {
    pieces(template)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Placeholder { name, at, .. } => Some((name, at)),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Replaces every `{{name}}` with its value. Fails, naming every input without a value, when any
/// placeholder has none; values are inserted as they are (validate them first: see
/// `Runbook::input_values`).
pub fn expand(template: &str, values: &BTreeMap<String, String>) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(template.len());
    let mut missing: Vec<String> = Vec::new();
    for piece in pieces(template) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder { name, .. } => match values.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    if !missing.iter().any(|m| m == name) {
                        missing.push(name.to_string());
                    }
                }
            },
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(ExpandError::Missing { names: missing })
    }
}

/// The form of a template that may be shown and recorded: placeholders of secret inputs become
/// `••••`, the others their value; a placeholder without a value stays as written.
pub fn mask(template: &str, values: &BTreeMap<String, String>, secret_names: &BTreeSet<String>) -> String {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder { name, .. } if secret_names.contains(name) => out.push_str(MASK),
            Piece::Placeholder { name, raw, .. } => out.push_str(values.get(name).map_or(raw, String::as_str)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn placeholders_are_names_in_double_braces_and_nothing_else() {
        let t = "kubectl -n {{namespace}} get {{ kind }} -o go-template='{{.metadata.name}}' {x} {{a-b}}";
        let names: Vec<&str> = placeholders(t).iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["namespace", "kind"]);
        assert_eq!(placeholders(t)[0].1, t.find("{{namespace").unwrap_or(usize::MAX));
    }

    #[test]
    fn expansion_is_single_pass_and_names_every_missing_input() {
        let v = values(&[("a", "{{b}}"), ("b", "B")]);
        assert_eq!(expand("x {{a}} {{ b }}", &v), Ok("x {{b}} B".to_string()));
        assert_eq!(
            expand("{{c}} {{a}} {{d}} {{c}}", &v),
            Err(ExpandError::Missing {
                names: vec!["c".into(), "d".into()]
            })
        );
    }

    #[test]
    fn masking_hides_secrets_and_keeps_missing_placeholders() {
        let v = values(&[("user", "ana"), ("token", "s3cret")]);
        let secrets = BTreeSet::from(["token".to_string()]);
        let shown = mask("curl -u {{user}}:{{token}} {{url}}", &v, &secrets);
        assert_eq!(shown, "curl -u ana:•••• {{url}}");
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn unterminated_and_odd_braces_are_text() {
        assert_eq!(pieces("{{"), vec![Piece::Text("{{")]);
        assert_eq!(expand("{{{x}}}", &values(&[("x", "1")])), Ok("{1}".into()));
        assert_eq!(expand("{{ x", &values(&[])), Ok("{{ x".into()));
    }
}
