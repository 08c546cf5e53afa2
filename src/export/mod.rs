//! Exports of an incident journal for the review: the postmortem draft (Markdown or one HTML page),
//! the timeline as JSON or CSV, internal or public, and the audit log as re-redacted JSON Lines.
//! Pure: records in, a `String` out; no I/O and no clock, so the same journal gives the same bytes.
//! `view` applies the profile (what is shown, names, redaction), `doc` lays out the postmortem, and
//! `markdown`, `html`, `json`, `csv` and `audit` write the bytes.

mod audit;
mod csv;
mod doc;
mod html;
mod json;
mod markdown;
mod view;

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::journal::record::Record;

/// What the export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Csv,
    Html,
}

impl Format {
    /// `md`, `markdown`, `json`, `csv` or `html` (any case).
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
        }
    }
}

/// Who the export is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Everything current, names as recorded; superseded entries listed struck through (md, html).
    Internal,
    /// Public entries only, no superseded ones, strict redaction, people named by role.
    Public,
}

impl Profile {
    /// `internal` or `public` (any case).
    pub fn parse(s: &str) -> Option<Profile> {
        match s.trim().to_ascii_lowercase().as_str() {
            "internal" => Some(Profile::Internal),
            "public" => Some(Profile::Public),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Profile::Internal => "internal",
            Profile::Public => "public",
        }
    }
}

/// What an export is made from.
pub struct ExportInput<'a> {
    pub incident_id: &'a str,
    /// The journal's records in file order (already verified by the caller).
    pub records: &'a [Record],
    /// The warroom version writing the export (env!("CARGO_PKG_VERSION") at the call site).
    pub version: &'a str,
}

/// Renders the export. Same input → same bytes (no clock reads, stable ordering, no HashMap
/// iteration order).
pub fn render(input: &ExportInput<'_>, format: Format, profile: Profile) -> String {
    let view = view::View::build(input, profile);
    match format {
        Format::Markdown => markdown::render(&view, &doc::build(&view)),
        Format::Html => html::render(&view, &doc::build(&view)),
        Format::Json => json::render(&view),
        Format::Csv => csv::render(&view),
    }
}

/// The audit-log export: records (any incident) recorded at or after `since`, as JSON Lines of the
/// records themselves, re-redacted with the strict rules (summaries and event data) for archiving.
pub fn audit(records: &[Record], since: DateTime<Utc>) -> String {
    audit::render(records, since)
}

/// `2026-03-14T10:05:00Z`.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `10:05:00Z`.
pub(crate) fn hms(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%SZ").to_string()
}

/// An ISO-8601 duration in hours, minutes and seconds: `PT4M`, `PT1H2M5S`, `PT0S`, `-PT30S`.
pub(crate) fn iso_duration(d: Duration) -> String {
    let secs = d.num_seconds();
    let sign = if secs < 0 { "-" } else { "" };
    let secs = secs.unsigned_abs();
    if secs == 0 {
        return "PT0S".to_string();
    }
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = format!("{sign}PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 {
        out.push_str(&format!("{s}S"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_profiles_parse() {
        assert_eq!(Format::parse("md"), Some(Format::Markdown));
        assert_eq!(Format::parse("Markdown"), Some(Format::Markdown));
        assert_eq!(Format::parse("html"), Some(Format::Html));
        assert_eq!(Format::parse("pdf"), None);
        assert_eq!(Profile::parse("public"), Some(Profile::Public));
        assert_eq!(Profile::parse("secret"), None);
    }

    #[test]
    fn durations_are_iso_8601() {
        assert_eq!(iso_duration(Duration::minutes(4)), "PT4M");
        assert_eq!(iso_duration(Duration::seconds(3725)), "PT1H2M5S");
        assert_eq!(iso_duration(Duration::hours(26)), "PT26H");
        assert_eq!(iso_duration(Duration::zero()), "PT0S");
        assert_eq!(iso_duration(Duration::seconds(-30)), "-PT30S");
    }
}
