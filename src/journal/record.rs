//! The on-disk record: one JSON object per line, hash-chained (SHA-256 over the record without its
//! `hash` and `crc`, including the previous record's hash) with a CRC-32 over the same bytes that
//! tells a torn or damaged record from a tampered one. See docs/journal-format.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::timeline::{Durability, Event, TimelineEntry};

/// Version of the record schema written by this build.
pub const SCHEMA: u32 = 1;
/// `prev_hash` of the first record of a journal.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Longest line accepted when reading (a record is normally well under 4 KiB).
pub const MAX_LINE: usize = 1 << 20;

/// What redaction did to a record before it was written: only which rules fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// The rules that fired, e.g. `["email", "ip_address"]`.
    pub rules: Vec<String>,
    /// Written by earlier versions only: an unsalted SHA-256 of the original text, which lets a
    /// short secret (an IP address, a card number, an e-mail address) be recovered by brute force.
    /// No longer written; read so that old records still parse and verify (their hash covers the
    /// bytes as written), and never copied into an export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_sha256: Option<String>,
}

/// Everything in a record that the hash covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    pub v: u32,
    /// 1, 2, 3… in file order: a gap or a repeat is damage.
    pub seq: u64,
    /// ULID.
    pub id: String,
    /// The incident this record belongs to (always set in the audit log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    #[serde(flatten)]
    pub event: Event,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<Redaction>,
    pub prev_hash: String,
}

/// A record as stored: the body plus its hash and checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub body: Body,
    pub hash: String,
    pub crc: String,
}

/// Why a line is not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("not a complete JSON record: {0}")]
    Syntax(String),
    #[error("written by a newer warroom (schema v{0}; this build reads v{SCHEMA})")]
    NewerSchema(u32),
    #[error("checksum mismatch: the record is damaged")]
    Checksum,
    #[error("hash mismatch: the record was changed after it was written")]
    Hash,
}

impl Body {
    /// The canonical bytes the hash and checksum cover.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Seals the body: computes its hash and checksum.
    pub fn seal(self) -> Record {
        let bytes = self.canonical();
        Record {
            hash: hex::encode(Sha256::digest(&bytes)),
            crc: format!("{:08x}", crc32fast::hash(&bytes)),
            body: self,
        }
    }
}

impl Record {
    /// The line to append, with its newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// Parses one line (without its newline) and checks its checksum and hash over the bytes as
    /// written: the line is the body's canonical JSON with `"hash"` and `"crc"` appended as its last
    /// two fields, so the body's bytes are the line up to `,"hash":` plus the closing brace. Any
    /// changed byte, even one that would parse to the same values, fails.
    pub fn parse(line: &[u8]) -> Result<Record, LineError> {
        if let Ok(probe) = serde_json::from_slice::<VersionProbe>(line)
            && probe.v > SCHEMA
        {
            return Err(LineError::NewerSchema(probe.v));
        }
        let record: Record = serde_json::from_slice(line).map_err(|e| LineError::Syntax(e.to_string()))?;
        let seal = format!(r#","hash":"{}","crc":"{}"}}"#, record.hash, record.crc);
        let Some(body_len) = line
            .len()
            .checked_sub(seal.len())
            .filter(|&n| line[n..] == *seal.as_bytes())
        else {
            return Err(LineError::Checksum);
        };
        let mut body = line[..body_len].to_vec();
        body.push(b'}');
        if format!("{:08x}", crc32fast::hash(&body)) != record.crc {
            return Err(LineError::Checksum);
        }
        if hex::encode(Sha256::digest(&body)) != record.hash || body != record.body.canonical() {
            return Err(LineError::Hash);
        }
        Ok(record)
    }

    /// The timeline entry this record holds (durable: it was read back from disk).
    pub fn entry(&self) -> TimelineEntry {
        TimelineEntry {
            id: self.body.id.clone(),
            occurred_at: self.body.occurred_at,
            recorded_at: self.body.recorded_at,
            actor: self.body.actor.clone(),
            event: self.body.event.clone(),
            supersedes: self.body.supersedes.clone(),
            durability: Durability::Durable,
        }
    }
}

#[derive(Deserialize)]
struct VersionProbe {
    v: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    pub fn body(seq: u64, prev: &str) -> Body {
        let at = Utc.with_ymd_and_hms(2026, 3, 14, 10, 5, 0).single().unwrap_or_default();
        Body {
            v: SCHEMA,
            seq,
            id: format!("01JQ{seq:022}"),
            incident: Some("20260314-1005-odin".into()),
            event: Event::Note {
                text: format!("note {seq}"),
                public: false,
            },
            occurred_at: at,
            recorded_at: at,
            actor: "alice".into(),
            summary: format!("note {seq}"),
            supersedes: None,
            redaction: None,
            prev_hash: prev.into(),
        }
    }

    #[test]
    fn a_sealed_record_round_trips_through_its_line() {
        let record = body(1, GENESIS).seal();
        let line = record.to_line();
        assert!(line.ends_with(b"\n"));
        let text = String::from_utf8_lossy(&line);
        assert!(text.starts_with(r#"{"v":1,"seq":1,"id":"#), "{text}");
        assert!(text.contains(r#""kind":"note","data":{"text":"note 1"}"#), "{text}");
        assert_eq!(Record::parse(&line[..line.len() - 1]), Ok(record));
    }

    #[test]
    fn damage_and_tampering_are_told_apart() {
        let line = body(1, GENESIS).seal().to_line();
        let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
        // Change the text and fix the checksum but not the hash: tampering.
        let mut tampered: Record = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        tampered.body.summary = "note one".into();
        tampered.crc = format!("{:08x}", crc32fast::hash(&tampered.body.canonical()));
        assert_eq!(
            Record::parse(&serde_json::to_vec(&tampered).unwrap_or_default()),
            Err(LineError::Hash)
        );
        // Change a byte without fixing anything: damage.
        let damaged = text.replacen("note 1", "note 2", 1);
        assert_eq!(Record::parse(damaged.as_bytes()), Err(LineError::Checksum));
        // Cut it short: a torn record.
        assert!(matches!(
            Record::parse(&text.as_bytes()[..text.len() / 2]),
            Err(LineError::Syntax(_))
        ));
        let newer = text.replacen(r#"{"v":1"#, r#"{"v":9"#, 1);
        assert_eq!(Record::parse(newer.as_bytes()), Err(LineError::NewerSchema(9)));
    }
}
