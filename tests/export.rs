//! Snapshot tests of the exports (postmortem Markdown and HTML, JSON, CSV, internal and public, and
//! the audit log) over one fixed journal built in memory: a declaration, a role handoff, severity and
//! status changes, milestones with a correction, notes (public, internal, hostile), pins, alerts,
//! deploys inside and outside the correlation window, a runbook with steps, and a retraction.

use chrono::{DateTime, Utc};
use warroom::domain::incident::{IncidentSeverity, IncidentStatus, Milestone, Role};
use warroom::domain::redact::{RedactionRules, Redactor};
use warroom::domain::runbook::StepState;
use warroom::domain::timeline::{Event, SYSTEM_ACTOR};
use warroom::export::{ExportInput, Format, Profile, audit, render};
use warroom::journal::record::{Body, GENESIS, Record, Redaction, SCHEMA};

const INCIDENT: &str = "20260314-2350-odin-api-5xx-spike";
const VERSION: &str = "0.1.0";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Builds a sealed, hash-chained journal one record at a time.
struct Journal {
    records: Vec<Record>,
}

impl Journal {
    fn new() -> Self {
        Journal { records: Vec::new() }
    }

    /// Appends a record and returns its id. `recorded` defaults to `occurred`.
    fn add(
        &mut self,
        occurred: &str,
        recorded: Option<&str>,
        actor: &str,
        event: Event,
        supersedes: Option<&str>,
    ) -> String {
        self.add_with(occurred, recorded, actor, event, supersedes, None)
    }

    fn add_with(
        &mut self,
        occurred: &str,
        recorded: Option<&str>,
        actor: &str,
        event: Event,
        supersedes: Option<&str>,
        summary: Option<(String, Redaction)>,
    ) -> String {
        let seq = self.records.len() as u64 + 1;
        let id = format!("01JPKZ{seq:020}");
        let (summary, redaction) = match summary {
            Some((s, r)) => (s, Some(r)),
            None => (event.summary(), None),
        };
        let body = Body {
            v: SCHEMA,
            seq,
            id: id.clone(),
            incident: Some(INCIDENT.into()),
            event,
            occurred_at: t(occurred),
            recorded_at: t(recorded.unwrap_or(occurred)),
            actor: actor.into(),
            summary,
            supersedes: supersedes.map(str::to_string),
            redaction,
            prev_hash: self
                .records
                .last()
                .map_or_else(|| GENESIS.to_string(), |r| r.hash.clone()),
        };
        self.records.push(body.seal());
        id
    }
}

const INTERNAL_NOTE: &str = "checking odin-api pods, error rate climbing on the canary only";
const PUBLIC_NOTE: &str = "Status page updated: \"Elevated errors at checkout\", next update 00:15";
const HOSTILE_NOTE: &str =
    "pasted from chat: <script>alert(1)</script> ask dave@example.com, db-7.prod.internal is saturated";

fn journal() -> Vec<Record> {
    let mut j = Journal::new();
    let declared_at = "2026-03-14T23:50:00Z";
    // What the cockpit saw before the declaration, recorded with it.
    j.add(
        "2026-03-14T20:44:00Z",
        Some(declared_at),
        SYSTEM_ACTOR,
        Event::DeployObserved {
            version: "1.4.1".into(),
            environment: "prod".into(),
            status: "succeeded".into(),
            rollback: false,
        },
        None,
    );
    j.add(
        "2026-03-14T23:24:00Z",
        Some(declared_at),
        SYSTEM_ACTOR,
        Event::DeployObserved {
            version: "1.4.2".into(),
            environment: "prod".into(),
            status: "succeeded".into(),
            rollback: false,
        },
        None,
    );
    let fired = j.add(
        "2026-03-14T23:40:00Z",
        Some(declared_at),
        SYSTEM_ACTOR,
        Event::AlertFired {
            alertname: "OdinHighErrorRate".into(),
            fingerprint: "9f3c2b1e8d7a6f50".into(),
            severity: "page".into(),
            summary: "5xx ratio 7.2% over 5m".into(),
        },
        None,
    );
    j.add(
        declared_at,
        None,
        "alice",
        Event::IncidentDeclared {
            title: "Odin API 5xx spike after 1.4.2 rollout".into(),
            severity: IncidentSeverity::Sev2,
            commander: Some("alice".into()),
        },
        None,
    );
    let detected = j.add(
        declared_at,
        None,
        "alice",
        Event::Milestone {
            milestone: Milestone::Detected,
        },
        None,
    );
    j.add(
        "2026-03-14T23:44:00Z",
        None,
        SYSTEM_ACTOR,
        Event::SuspectsRanked {
            alert: "OdinHighErrorRate".into(),
            suspects: vec!["deploy 1.4.2 12m00s before, same service (odin), OK".into()],
        },
        None,
    );
    j.add(
        "2026-03-14T23:45:00Z",
        None,
        SYSTEM_ACTOR,
        Event::SloStateChanged {
            slo: "odin-availability".into(),
            state: "fast burn".into(),
            burn_1h: Some(14.4),
            burn_5m: Some(20.1),
            budget_remaining: Some(0.615),
        },
        None,
    );
    j.add(
        "2026-03-14T23:51:00Z",
        None,
        "bob",
        Event::Note {
            text: INTERNAL_NOTE.into(),
            public: false,
        },
        None,
    );
    // Set late: the incident really started before it was declared.
    j.add(
        "2026-03-14T23:30:00Z",
        Some("2026-03-14T23:52:00Z"),
        "alice",
        Event::Milestone {
            milestone: Milestone::Started,
        },
        None,
    );
    j.add(
        "2026-03-14T23:52:30Z",
        None,
        "alice",
        Event::RoleAssigned {
            role: Role::OpsLead,
            person: "bob".into(),
        },
        None,
    );
    j.add(
        "2026-03-14T23:53:00Z",
        None,
        "bob",
        Event::Milestone {
            milestone: Milestone::Acknowledged,
        },
        None,
    );
    // The detection was really at the alert's page, not at the declaration: a correction.
    j.add(
        "2026-03-14T23:44:00Z",
        Some("2026-03-14T23:55:00Z"),
        "alice",
        Event::Milestone {
            milestone: Milestone::Detected,
        },
        Some(&detected),
    );
    j.add(
        "2026-03-14T23:56:00Z",
        None,
        "alice",
        Event::SeverityChanged {
            severity: IncidentSeverity::Sev1,
        },
        None,
    );
    j.add(
        "2026-03-14T23:57:00Z",
        None,
        "bob",
        Event::RunbookAttached {
            runbook: "odin-high-error-rate".into(),
            title: "Odin high error rate".into(),
        },
        None,
    );
    j.add(
        "2026-03-14T23:58:00Z",
        None,
        "bob",
        Event::StepChanged {
            runbook: "odin-high-error-rate".into(),
            step: "scope".into(),
            state: StepState::Done,
            reason: None,
        },
        None,
    );
    let public_note = j.add(
        "2026-03-14T23:59:00Z",
        None,
        "carol",
        Event::Note {
            text: PUBLIC_NOTE.into(),
            public: true,
        },
        None,
    );
    j.add(
        "2026-03-15T00:01:00Z",
        None,
        "bob",
        Event::Note {
            text: HOSTILE_NOTE.into(),
            public: true,
        },
        None,
    );
    // A note whose secret was redacted when it was written.
    let secret = Event::Note {
        text: "rotated the canary's token Bearer abcdefghijklmnop1234".into(),
        public: false,
    };
    let (summary, rules) = Redactor::new(RedactionRules::default()).redact(&secret.summary());
    let redaction = Redaction {
        rules: rules.iter().map(|r| r.to_string()).collect(),
        // As written by earlier versions: the hash stays in the journal, never in an export.
        original_sha256: Some("eb17e0afea334217c248bd9e2ad64b29e8522d234cfd717653eabee8975e1a8b".into()),
    };
    let redacted = Event::Note {
        text: summary.clone(),
        public: false,
    };
    j.add_with(
        "2026-03-15T00:01:30Z",
        None,
        "bob",
        redacted,
        None,
        Some((summary, redaction)),
    );
    j.add(
        "2026-03-15T00:02:00Z",
        None,
        "alice",
        Event::Pinned { target: fired },
        None,
    );
    j.add(
        "2026-03-15T00:02:30Z",
        None,
        "alice",
        Event::Pinned { target: public_note },
        None,
    );
    j.add(
        "2026-03-15T00:03:00Z",
        None,
        "bob",
        Event::StepChanged {
            runbook: "odin-high-error-rate".into(),
            step: "rollback".into(),
            state: StepState::Running,
            reason: None,
        },
        None,
    );
    j.add(
        "2026-03-15T00:05:00Z",
        None,
        SYSTEM_ACTOR,
        Event::DeployObserved {
            version: "1.4.1".into(),
            environment: "prod".into(),
            status: "succeeded".into(),
            rollback: true,
        },
        None,
    );
    j.add(
        "2026-03-15T00:06:00Z",
        None,
        "bob",
        Event::StepChanged {
            runbook: "odin-high-error-rate".into(),
            step: "rollback".into(),
            state: StepState::Done,
            reason: Some("rolled back to 1.4.1, canary drained".into()),
        },
        None,
    );
    let monitoring = j.add(
        "2026-03-15T00:07:00Z",
        None,
        "carol",
        Event::StatusChanged {
            status: IncidentStatus::Monitoring,
        },
        None,
    );
    j.add(
        "2026-03-15T00:08:00Z",
        None,
        "carol",
        Event::Retracted {
            reason: "premature, errors still at 3%".into(),
        },
        Some(&monitoring),
    );
    j.add(
        "2026-03-15T00:09:00Z",
        None,
        "bob",
        Event::Milestone {
            milestone: Milestone::Mitigated,
        },
        None,
    );
    j.add(
        "2026-03-15T00:10:00Z",
        None,
        "alice",
        Event::RoleAssigned {
            role: Role::Commander,
            person: "carol".into(),
        },
        None,
    );
    j.add(
        "2026-03-15T00:12:00Z",
        None,
        SYSTEM_ACTOR,
        Event::AlertResolved {
            alertname: "OdinHighErrorRate".into(),
            fingerprint: "9f3c2b1e8d7a6f50".into(),
            started_at: None,
        },
        None,
    );
    j.add(
        "2026-03-15T00:20:00Z",
        None,
        "carol",
        Event::StatusChanged {
            status: IncidentStatus::Resolved,
        },
        None,
    );
    j.add(
        "2026-03-15T00:04:30Z",
        Some("2026-03-15T00:04:30Z"),
        "alice",
        Event::RollbackFinished {
            entry: "argo".into(),
            service: "odin".into(),
            to: "1.4.1".into(),
            method: "argocd".into(),
            ok: true,
            uncertain: false,
            outcome: "Argo CD accepted the rollback of odin to history 6".into(),
            duration_ms: 420,
            saved_to: None,
            digest: None,
        },
        None,
    );
    j.records
}

fn export(records: &[Record], format: Format, profile: Profile) -> String {
    render(
        &ExportInput {
            incident_id: INCIDENT,
            records,
            version: VERSION,
        },
        format,
        profile,
    )
}

#[test]
fn markdown_internal() {
    insta::assert_snapshot!(export(&journal(), Format::Markdown, Profile::Internal));
}

#[test]
fn markdown_public() {
    insta::assert_snapshot!(export(&journal(), Format::Markdown, Profile::Public));
}

#[test]
fn json_internal() {
    insta::assert_snapshot!(export(&journal(), Format::Json, Profile::Internal));
}

#[test]
fn json_public() {
    insta::assert_snapshot!(export(&journal(), Format::Json, Profile::Public));
}

#[test]
fn csv_internal() {
    insta::assert_snapshot!(export(&journal(), Format::Csv, Profile::Internal));
}

#[test]
fn html_internal() {
    insta::assert_snapshot!(export(&journal(), Format::Html, Profile::Internal));
}

#[test]
fn audit_log() {
    let records = journal();
    let out = audit(&records, t("2026-03-15T00:00:00Z"));
    assert!(
        records
            .iter()
            .any(|r| r.body.redaction.as_ref().is_some_and(|x| x.original_sha256.is_some())),
        "the journal holds a record of an earlier version with a hash of its original"
    );
    assert!(!out.contains("original_sha256"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn the_same_journal_gives_the_same_bytes() {
    let records = journal();
    for format in [Format::Markdown, Format::Json, Format::Csv, Format::Html] {
        for profile in [Profile::Internal, Profile::Public] {
            assert_eq!(
                export(&records, format, profile),
                export(&journal(), format, profile),
                "{format:?} {profile:?}"
            );
        }
    }
    let since = t("2026-03-14T00:00:00Z");
    assert_eq!(audit(&records, since), audit(&journal(), since));
}

#[test]
fn the_public_export_names_no_one_and_leaks_nothing_internal() {
    let records = journal();
    for format in [Format::Markdown, Format::Json, Format::Csv, Format::Html] {
        let out = export(&records, format, Profile::Public).to_lowercase();
        for leak in [
            "alice",
            "bob",
            "carol",
            "dave@example.com",
            "db-7.prod.internal",
            "climbing on the canary",
            "rotated the canary",
            "premature",
            "monitoring",
        ] {
            assert!(
                !out.contains(leak),
                "{format:?} public export contains {leak:?}:\n{out}"
            );
        }
    }
    let md = export(&records, Format::Markdown, Profile::Public);
    assert!(
        md.contains("[REDACTED:email]") || md.contains("\\[REDACTED:email\\]"),
        "{md}"
    );
    assert!(md.contains("internal\\_host"), "{md}");
    assert!(md.contains("owner: \"commander 2\""), "{md}");
    // The internal export keeps what the public one drops.
    let internal = export(&records, Format::Markdown, Profile::Internal);
    for kept in [
        "alice",
        "climbing on the canary",
        "db-7.prod.internal",
        "~~status → monitoring~~",
    ] {
        assert!(internal.contains(kept), "internal export lacks {kept:?}");
    }
}

#[test]
fn html_escapes_recorded_markup() {
    for profile in [Profile::Internal, Profile::Public] {
        let html = export(&journal(), Format::Html, profile);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external links"
        );
    }
    // The Markdown, rendered by a Markdown renderer, holds no live markup either.
    let md = export(&journal(), Format::Markdown, Profile::Internal);
    let mut html = String::new();
    pulldown_cmark::html::push_html(
        &mut html,
        pulldown_cmark::Parser::new_ext(&md, pulldown_cmark::Options::all()),
    );
    assert!(!html.contains("<script"), "{html}");
}

#[test]
fn csv_quotes_commas_and_quotes() {
    let csv = export(&journal(), Format::Csv, Profile::Internal);
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next(), Some("time_utc,kind,actor,summary,pinned,id"));
    let row = csv.lines().find(|l| l.contains("Status page updated")).unwrap();
    assert_eq!(
        row.trim_end_matches('\r'),
        "2026-03-14T23:59:00Z,note,carol,\"Status page updated: \"\"Elevated errors at checkout\"\", next update 00:15\",true,01JPKZ00000000000000000016"
    );
    // Superseded entries are not current: neither the first detected milestone nor the retracted status.
    assert!(!csv.contains("01JPKZ00000000000000000005"), "{csv}");
    assert!(!csv.contains("monitoring"), "{csv}");
}

#[test]
fn the_head_hash_is_in_the_front_matter_the_footer_and_the_json() {
    let records = journal();
    let head = &records.last().unwrap().hash;
    let md = export(&records, Format::Markdown, Profile::Internal);
    let (front, rest) = md.trim_start_matches("---\n").split_once("\n---\n").unwrap();
    assert!(front.contains(&format!("head_hash: \"{head}\"")), "{front}");
    let footer = &rest[rest.find("## Integrity").unwrap()..];
    assert!(footer.contains(head.as_str()), "{footer}");
    let json: serde_json::Value = serde_json::from_str(&export(&records, Format::Json, Profile::Public)).unwrap();
    assert_eq!(json["head_hash"], head.as_str());
    assert_eq!(json["durations"]["ttd"], "PT14M");
    assert_eq!(json["milestones"]["detected"], "2026-03-14T23:44:00Z");
    let html = export(&records, Format::Html, Profile::Internal);
    assert!(html.contains(head.as_str()));
}

#[test]
fn an_empty_journal_exports_without_panicking() {
    for format in [Format::Markdown, Format::Json, Format::Csv, Format::Html] {
        for profile in [Profile::Internal, Profile::Public] {
            let out = render(
                &ExportInput {
                    incident_id: "empty",
                    records: &[],
                    version: VERSION,
                },
                format,
                profile,
            );
            assert!(!out.is_empty());
            if format != Format::Csv {
                assert!(out.contains(GENESIS), "{format:?}: {out}");
            }
        }
    }
    insta::assert_snapshot!(export(&[], Format::Markdown, Profile::Internal));
    assert_eq!(audit(&[], t("2026-01-01T00:00:00Z")), "");
}

#[test]
fn formats_and_profiles_parse() {
    assert_eq!(Format::parse("md"), Some(Format::Markdown));
    assert_eq!(Format::parse("markdown"), Some(Format::Markdown));
    assert_eq!(Format::parse("json"), Some(Format::Json));
    assert_eq!(Format::parse("csv"), Some(Format::Csv));
    assert_eq!(Format::parse("html"), Some(Format::Html));
    assert_eq!(Format::parse("pdf"), None);
    assert_eq!(Profile::parse("internal"), Some(Profile::Internal));
    assert_eq!(Profile::parse("public"), Some(Profile::Public));
    assert_eq!(Profile::parse("everyone"), None);
}

#[test]
fn the_public_export_never_shows_an_id_made_from_a_title_naming_hosts_and_people() {
    let title = "db7.corp outage after bob deploy";
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = warroom::journal::store::Store::new(dir.path())
        .reserve_id(title, t("2026-03-14T23:50:00Z"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id, "20260314-2350-db7-corp-outage-after-bob-deploy");
    let mut j = Journal::new();
    j.add(
        "2026-03-14T23:50:00Z",
        None,
        "alice",
        Event::IncidentDeclared {
            title: title.into(),
            severity: IncidentSeverity::Sev2,
            commander: Some("alice".into()),
        },
        None,
    );
    j.add(
        "2026-03-14T23:52:00Z",
        None,
        "bob",
        Event::Note {
            text: "rolling back".into(),
            public: true,
        },
        None,
    );
    let render = |format, profile| {
        warroom::export::render(
            &ExportInput {
                incident_id: &id,
                records: &j.records,
                version: VERSION,
            },
            format,
            profile,
        )
    };
    for format in [Format::Markdown, Format::Json, Format::Csv, Format::Html] {
        let out = render(format, Profile::Public).to_lowercase();
        for leak in ["db7", "bob", "corp-outage", "outage-after", "bob-deploy"] {
            assert!(
                !out.contains(leak),
                "{format:?} public export contains {leak:?}:\n{out}"
            );
        }
    }
    let md = render(Format::Markdown, Profile::Public);
    let public_id = md
        .lines()
        .find_map(|l| l.strip_prefix("incident_id: "))
        .unwrap_or_else(|| panic!("{md}"))
        .trim_matches('"')
        .to_string();
    assert!(
        public_id.starts_with("20260314-2350-") && public_id.len() == 22,
        "{public_id}"
    );
    assert_eq!(
        public_id,
        render(Format::Markdown, Profile::Public)
            .lines()
            .find_map(|l| l.strip_prefix("incident_id: "))
            .unwrap_or_default()
            .trim_matches('"'),
        "stable"
    );
    let html = render(Format::Html, Profile::Public);
    let head = html.split("</title>").next().unwrap_or_default();
    assert!(head.contains(&public_id), "{head}");
    // The internal export keeps the id as it is.
    assert!(render(Format::Markdown, Profile::Internal).contains(&id));
}
