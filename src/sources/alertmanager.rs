//! Alertmanager API v2: parsing alerts and silences (and every error shape), merging the members
//! of an HA pair by fingerprint, and the silence operations (create, extend, expire) with the rule
//! that a create which timed out is checked, never blindly retried.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::http::{Endpoint, Response, body_snippet};
use crate::domain::alert::{Alert, AlertState};
use crate::domain::health::{FetchError, FetchErrorKind};
use crate::domain::matcher::{MatchOp, Matcher};
use crate::domain::silence::{Silence, SilenceState};

#[derive(Deserialize)]
struct RawAlert {
    fingerprint: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: DateTime<Utc>,
    #[serde(rename = "updatedAt", default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(rename = "generatorURL", default)]
    generator_url: Option<String>,
    status: RawStatus,
}

#[derive(Deserialize)]
struct RawStatus {
    state: String,
    #[serde(rename = "silencedBy", default)]
    silenced_by: Vec<String>,
    #[serde(rename = "inhibitedBy", default)]
    inhibited_by: Vec<String>,
}

/// An alert with the time Alertmanager last updated it (to choose between HA members).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberAlert {
    pub alert: Alert,
    pub updated_at: Option<DateTime<Utc>>,
}

fn decode_error(what: &str, e: &serde_json::Error) -> FetchError {
    FetchError::new(FetchErrorKind::Decode, format!("not an Alertmanager {what} list: {e}"))
}

/// Any non-2xx answer: its status and the message Alertmanager put in the body.
pub fn status_error(response: &Response) -> FetchError {
    FetchError::new(FetchErrorKind::Status(response.status), body_snippet(&response.body))
}

/// Parses `GET /api/v2/alerts`. "Silenced" and "inhibited" are not states in the API: a muted
/// alert is `suppressed` with the silences or inhibiting alerts listed.
pub fn parse_alerts(response: &Response) -> Result<Vec<MemberAlert>, FetchError> {
    if !response.is_success() {
        return Err(status_error(response));
    }
    let raw: Vec<RawAlert> = serde_json::from_slice(&response.body).map_err(|e| decode_error("alert", &e))?;
    Ok(raw
        .into_iter()
        .map(|a| {
            let state = match a.status.state.as_str() {
                "suppressed" if !a.status.silenced_by.is_empty() => AlertState::Silenced,
                "suppressed" if !a.status.inhibited_by.is_empty() => AlertState::Inhibited,
                // "active", "unprocessed", and a suppression with no reason given.
                _ => AlertState::Firing,
            };
            MemberAlert {
                alert: Alert {
                    fingerprint: a.fingerprint,
                    labels: a.labels,
                    annotations: a.annotations,
                    state,
                    starts_at: a.starts_at,
                    generator_url: a.generator_url.filter(|u| !u.is_empty()),
                    silenced_by: a.status.silenced_by,
                    inhibited_by: a.status.inhibited_by,
                },
                updated_at: a.updated_at,
            }
        })
        .collect())
}

/// The alerts of several members of one cluster, one per fingerprint: where members disagree
/// (gossip has not settled), the most recently updated wins.
pub fn merge(mut members: Vec<Vec<MemberAlert>>) -> Vec<Alert> {
    if members.len() == 1 {
        // One member: fingerprints are already unique.
        return members.pop().unwrap_or_default().into_iter().map(|m| m.alert).collect();
    }
    let total = members.iter().map(Vec::len).sum();
    let mut by_fp: std::collections::HashMap<String, MemberAlert> = std::collections::HashMap::with_capacity(total);
    for alert in members.into_iter().flatten() {
        match by_fp.get(&alert.alert.fingerprint) {
            Some(known) if known.updated_at >= alert.updated_at => {}
            _ => {
                by_fp.insert(alert.alert.fingerprint.clone(), alert);
            }
        }
    }
    let mut merged: Vec<Alert> = by_fp.into_values().map(|m| m.alert).collect();
    merged.sort_unstable_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    merged
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RawMatcher {
    name: String,
    value: String,
    #[serde(rename = "isRegex")]
    is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct RawSilence {
    id: String,
    status: RawSilenceStatus,
    #[serde(default)]
    comment: String,
    #[serde(rename = "createdBy", default)]
    created_by: String,
    #[serde(rename = "startsAt")]
    starts_at: DateTime<Utc>,
    #[serde(rename = "endsAt")]
    ends_at: DateTime<Utc>,
    matchers: Vec<RawMatcher>,
}

#[derive(Deserialize)]
struct RawSilenceStatus {
    state: String,
}

fn silence_from_raw(raw: RawSilence) -> Silence {
    Silence {
        id: raw.id,
        // A matcher Alertmanager accepted but this parser cannot (an exotic regex) is kept as an
        // exact match on its text, so the silence still lists it.
        matchers: raw
            .matchers
            .into_iter()
            .filter_map(|m| {
                let op = MatchOp::from_flags(m.is_regex, m.is_equal);
                Matcher::new(&m.name, op, &m.value)
                    .or_else(|_| Matcher::new(&m.name, MatchOp::Equal, &m.value))
                    .ok()
            })
            .collect(),
        starts_at: raw.starts_at,
        ends_at: raw.ends_at,
        created_by: raw.created_by,
        comment: raw.comment,
        state: SilenceState::from_api(&raw.status.state),
    }
}

/// Parses `GET /api/v2/silences`.
pub fn parse_silences(response: &Response) -> Result<Vec<Silence>, FetchError> {
    if !response.is_success() {
        return Err(status_error(response));
    }
    let raw: Vec<RawSilence> = serde_json::from_slice(&response.body).map_err(|e| decode_error("silence", &e))?;
    Ok(raw.into_iter().map(silence_from_raw).collect())
}

/// Parses `GET /api/v2/silence/{id}`.
pub fn parse_silence(response: &Response) -> Result<Silence, FetchError> {
    if !response.is_success() {
        return Err(status_error(response));
    }
    serde_json::from_slice::<RawSilence>(&response.body)
        .map(silence_from_raw)
        .map_err(|e| decode_error("silence", &e))
}

/// The silences of several members, one per id.
pub fn merge_silences(members: Vec<Vec<Silence>>) -> Vec<Silence> {
    let mut by_id: BTreeMap<String, Silence> = BTreeMap::new();
    for s in members.into_iter().flatten() {
        by_id.entry(s.id.clone()).or_insert(s);
    }
    by_id.into_values().collect()
}

/// The body of `POST /api/v2/silences`; with `id`, it updates that silence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostableSilence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    matchers: Vec<RawMatcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: DateTime<Utc>,
    #[serde(rename = "endsAt")]
    pub ends_at: DateTime<Utc>,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    pub comment: String,
}

impl PostableSilence {
    pub fn new(
        matchers: &[Matcher],
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        created_by: &str,
        comment: &str,
    ) -> Self {
        Self {
            id: None,
            matchers: matchers
                .iter()
                .map(|m| RawMatcher {
                    name: m.name.clone(),
                    value: m.value.clone(),
                    is_regex: m.op.is_regex(),
                    is_equal: m.op.is_equal(),
                })
                .collect(),
            starts_at,
            ends_at,
            created_by: created_by.to_string(),
            comment: comment.to_string(),
        }
    }

    /// Whether `existing` is the silence this request would create: same matchers, author and
    /// comment, ending at the same time (to the minute: the server may round).
    pub fn is_same_as(&self, existing: &Silence) -> bool {
        let mut ours: Vec<String> = self
            .matchers
            .iter()
            .map(|m| {
                let op = MatchOp::from_flags(m.is_regex, m.is_equal);
                format!("{}{}{}", m.name, op.as_str(), m.value)
            })
            .collect();
        let mut theirs: Vec<String> = existing
            .matchers
            .iter()
            .map(|m| format!("{}{}{}", m.name, m.op.as_str(), m.value))
            .collect();
        ours.sort();
        theirs.sort();
        ours == theirs
            && existing.created_by == self.created_by
            && existing.comment == self.comment
            && existing.state != SilenceState::Expired
            && (existing.ends_at - self.ends_at).num_seconds().abs() <= 60
    }
}

#[derive(Deserialize)]
struct SilenceCreated {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// How a silence operation ended, for the status line, the timeline and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("{member}: {error}")]
    Refused { member: String, error: FetchError },
    /// The create timed out and no silence like it exists: nothing was created.
    #[error("{member}: timed out, and no such silence exists: nothing was created (try again)")]
    TimedOutNotCreated { member: String },
    /// The create timed out and it cannot be told whether it took effect.
    #[error("{member}: timed out, and the silences cannot be listed to check: look before trying again ({error})")]
    TimedOutUnknown { member: String, error: FetchError },
    #[error("no Alertmanager answered: {0}")]
    Unreachable(String),
}

/// A created or updated silence: its id, the member that took it, and whether it was only found
/// after a timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceDone {
    pub id: String,
    pub member: String,
    pub confirmed_after_timeout: bool,
}

/// Silence operations across the members of one cluster: sent to the first member that answers
/// (members share silences by gossip).
#[derive(Debug, Clone)]
pub struct Silencer {
    pub members: Vec<Endpoint>,
}

fn unreachable(e: &FetchError) -> bool {
    matches!(e.kind, FetchErrorKind::Connect) || matches!(e.kind, FetchErrorKind::Status(502..=504))
}

impl Silencer {
    /// Creates (or, with `silence.id`, updates) a silence. A timeout is never retried: the
    /// silences are listed and a matching one is taken as created; without one, nothing was.
    pub async fn post(&self, silence: &PostableSilence) -> Result<SilenceDone, SilenceError> {
        let mut last = String::from("no Alertmanager configured");
        for member in &self.members {
            match member.post_json("/api/v2/silences", silence).await {
                Ok(r) if r.is_success() => {
                    let created: SilenceCreated =
                        serde_json::from_slice(&r.body).map_err(|e| SilenceError::Refused {
                            member: member.name.clone(),
                            error: FetchError::new(FetchErrorKind::Decode, format!("silence created, but {e}")),
                        })?;
                    return Ok(SilenceDone {
                        id: created.silence_id,
                        member: member.name.clone(),
                        confirmed_after_timeout: false,
                    });
                }
                Ok(r) => {
                    return Err(SilenceError::Refused {
                        member: member.name.clone(),
                        error: status_error(&r),
                    });
                }
                Err(e) if e.kind == FetchErrorKind::Timeout => return self.check_after_timeout(member, silence).await,
                Err(e) if unreachable(&e) => last = format!("{}: {e}", member.name),
                Err(e) => {
                    return Err(SilenceError::Refused {
                        member: member.name.clone(),
                        error: e,
                    });
                }
            }
        }
        Err(SilenceError::Unreachable(last))
    }

    async fn check_after_timeout(
        &self,
        member: &Endpoint,
        silence: &PostableSilence,
    ) -> Result<SilenceDone, SilenceError> {
        let listed = member
            .get("/api/v2/silences", &[])
            .await
            .and_then(|r| parse_silences(&r));
        match listed {
            Ok(silences) => {
                let found = silences.iter().find(|s| match &silence.id {
                    // An update keeps or replaces the id; either way the new end time shows.
                    Some(_) => silence.is_same_as(s),
                    None => silence.is_same_as(s),
                });
                match found {
                    Some(s) => Ok(SilenceDone {
                        id: s.id.clone(),
                        member: member.name.clone(),
                        confirmed_after_timeout: true,
                    }),
                    None => Err(SilenceError::TimedOutNotCreated {
                        member: member.name.clone(),
                    }),
                }
            }
            Err(error) => Err(SilenceError::TimedOutUnknown {
                member: member.name.clone(),
                error,
            }),
        }
    }

    /// Expires a silence. An unknown id is an error (Alertmanager 0.25 answers 500 "silence not
    /// found", later versions 404); expiring an expired silence succeeds.
    pub async fn expire(&self, id: &str) -> Result<String, SilenceError> {
        let mut last = String::from("no Alertmanager configured");
        let path = format!("/api/v2/silence/{}", urlencode(id));
        for member in &self.members {
            match member.delete(&path).await {
                Ok(r) if r.is_success() => return Ok(member.name.clone()),
                Ok(r) => {
                    return Err(SilenceError::Refused {
                        member: member.name.clone(),
                        error: status_error(&r),
                    });
                }
                Err(e) if unreachable(&e) || e.kind == FetchErrorKind::Timeout => {
                    last = format!("{}: {e}", member.name)
                }
                Err(e) => {
                    return Err(SilenceError::Refused {
                        member: member.name.clone(),
                        error: e,
                    });
                }
            }
        }
        Err(SilenceError::Unreachable(last))
    }
}

/// Percent-encodes a path segment (silence ids are UUIDs, but nothing from a server is trusted).
fn urlencode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Fetches one member's alerts and silences.
pub async fn fetch_member(member: &Endpoint) -> Result<(Vec<MemberAlert>, Vec<Silence>), FetchError> {
    let alerts_query = [("active", "true"), ("silenced", "true"), ("inhibited", "true")];
    let (alerts, silences) = tokio::join!(
        member.get("/api/v2/alerts", &alerts_query),
        member.get("/api/v2/silences", &[])
    );
    let alerts = parse_alerts(&alerts?)?;
    let silences = parse_silences(&silences?)?;
    Ok((alerts, silences))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn suppressed_alerts_become_silenced_or_inhibited() {
        let body = r#"[
          {"fingerprint":"a","labels":{"alertname":"A"},"annotations":{},"startsAt":"2026-11-28T22:59:54.813Z",
           "updatedAt":"2026-11-28T23:00:00Z","status":{"state":"suppressed","silencedBy":["s1"],"inhibitedBy":[]}},
          {"fingerprint":"b","labels":{"alertname":"B"},"startsAt":"2026-11-28T22:59:54.813Z",
           "status":{"state":"suppressed","silencedBy":[],"inhibitedBy":["a"]}},
          {"fingerprint":"c","labels":{"alertname":"C"},"startsAt":"2026-11-28T22:59:54.813Z","generatorURL":"",
           "status":{"state":"unprocessed"}}
        ]"#;
        let alerts = parse_alerts(&response(200, body)).unwrap_or_else(|e| panic!("{e}"));
        let states: Vec<_> = alerts.iter().map(|a| a.alert.state).collect();
        assert_eq!(
            states,
            [AlertState::Silenced, AlertState::Inhibited, AlertState::Firing]
        );
        assert_eq!(alerts[2].alert.generator_url, None);
    }

    #[test]
    fn members_merge_by_fingerprint_newest_update_wins() {
        let body = |state: &str, updated: &str| {
            format!(
                r#"[{{"fingerprint":"a","labels":{{"alertname":"A"}},"startsAt":"2026-11-28T22:00:00Z",
                "updatedAt":"{updated}","status":{{"state":"{state}","silencedBy":["s"],"inhibitedBy":[]}}}}]"#
            )
        };
        let one = parse_alerts(&response(200, &body("active", "2026-11-28T23:00:00Z"))).unwrap_or_default();
        let two = parse_alerts(&response(200, &body("suppressed", "2026-11-28T23:00:05Z"))).unwrap_or_default();
        let merged = merge(vec![one.clone(), two.clone()]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].state, AlertState::Silenced);
        assert_eq!(merge(vec![two, one])[0].state, AlertState::Silenced);
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(urlencode("6246c048-1609"), "6246c048-1609");
        assert_eq!(urlencode("../x y"), "..%2Fx%20y");
    }
}
