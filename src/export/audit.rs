//! The audit-log export for archiving: the records recorded at or after a date, one JSON object per
//! line in file order, with summaries and event data re-redacted by the strict rules. A record that
//! changes lists the strict rules in its `redaction` (and gets the hash of its original, if it had
//! none); its `hash`, `crc` and `prev_hash` stay those of the journal, so each line can still be
//! matched against the chain, while the redacted body no longer hashes to them.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::redact::{RedactionRules, Redactor, sha256_hex};
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

/// The record with its summary and event data strictly redacted.
fn redact(redactor: &Redactor, record: &Record) -> Record {
    let mut fired: Vec<&'static str> = Vec::new();
    let (summary, rules) = redactor.redact(&record.body.summary);
    fired.extend(rules);
    let mut value = serde_json::to_value(&record.body.event).unwrap_or(Value::Null);
    if let Some(data) = value.get_mut("data") {
        fired.extend(redactor.redact_json(data));
    }
    if fired.is_empty() {
        return record.clone();
    }
    let event: Event = serde_json::from_value(value).unwrap_or_else(|_| record.body.event.clone());
    let mut out = record.clone();
    let mut rules: Vec<String> = out.body.redaction.as_ref().map(|r| r.rules.clone()).unwrap_or_default();
    rules.extend(fired.iter().map(|r| r.to_string()));
    rules.sort_unstable();
    rules.dedup();
    let original_sha256 = match &out.body.redaction {
        Some(r) => r.original_sha256.clone(),
        None => {
            let original = serde_json::json!({ "summary": record.body.summary, "event": record.body.event });
            sha256_hex(&serde_json::to_vec(&original).unwrap_or_default())
        }
    };
    out.body.summary = summary;
    out.body.event = event;
    out.body.redaction = Some(Redaction { rules, original_sha256 });
    out
}
