//! The audit-log export for archiving: the records recorded at or after a date, one JSON object per
//! line in file order, with summaries and event data re-redacted by the strict rules. A record that
//! changes lists the strict rules in its `redaction`; the `original_sha256` of records written by
//! earlier versions is never copied (an unsalted hash of a short secret can be brute-forced). The
//! `hash`, `crc` and `prev_hash` stay those of the journal, so each line can still be matched
//! against the chain, while the redacted body no longer hashes to them.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::redact::{RedactionRules, Redactor};
use crate::domain::timeline::Event;
use crate::journal::record::{Record, Redaction};

pub(crate) fn render(records: &[Record], since: DateTime<Utc>) -> String {
    let redactor = Redactor::new(RedactionRules::strict());
    let mut out = String::new();
    for record in records.iter().filter(|r| r.body.recorded_at >= since) {
        let redacted = redact(&redactor, record);
        out.push_str(&serde_json::to_string(&redacted).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The record with its summary and event data strictly redacted, and no hash of any original.
fn redact(redactor: &Redactor, record: &Record) -> Record {
    let mut out = record.clone();
    if let Some(r) = out.body.redaction.as_mut() {
        r.original_sha256 = None;
    }
    let mut fired: Vec<&'static str> = Vec::new();
    let (summary, rules) = redactor.redact(&record.body.summary);
    fired.extend(rules);
    let mut value = serde_json::to_value(&record.body.event).unwrap_or(Value::Null);
    if let Some(data) = value.get_mut("data") {
        fired.extend(redactor.redact_json(data));
    }
    if fired.is_empty() {
        return out;
    }
    // Fail closed: an event that cannot be rebuilt after redaction is left out, not kept as it was.
    let event: Event = serde_json::from_value(value).unwrap_or_else(|_| Event::Note {
        text: format!(
            "[REDACTED: a {} event could not be redacted for the export]",
            record.body.event.kind()
        ),
        public: false,
    });
    let mut rules: Vec<String> = out.body.redaction.as_ref().map(|r| r.rules.clone()).unwrap_or_default();
    rules.extend(fired.iter().map(|r| r.to_string()));
    rules.sort_unstable();
    rules.dedup();
    out.body.summary = summary;
    out.body.event = event;
    out.body.redaction = Some(Redaction {
        rules,
        original_sha256: None,
    });
    out
}
