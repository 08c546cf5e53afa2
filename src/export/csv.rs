//! The timeline as CSV for spreadsheets and compliance: `time_utc,kind,actor,summary,pinned,id`,
//! one row per current entry, RFC 4180 (CRLF line ends; fields with a comma, quote or line break
//! are quoted, quotes doubled). Text cells a spreadsheet would run as a formula get a leading `'`.

use super::rfc3339;
use super::view::View;

pub(crate) const HEADER: &str = "time_utc,kind,actor,summary,pinned,id";

pub(crate) fn render(v: &View) -> String {
    let mut out = format!("{HEADER}\r\n");
    for r in v.current() {
        let fields = [
            rfc3339(r.occurred_at),
            r.kind.to_string(),
            inert(&r.actor),
            inert(&r.summary),
            r.pinned.to_string(),
            r.id.clone(),
        ];
        let cells: Vec<String> = fields.iter().map(|f| field(f)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One field, quoted when RFC 4180 requires it.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Text that a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`.
fn inert(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_per_rfc_4180() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
    }
}
