//! The journal commands end to end: declare, note, status, milestone corrections, resolve, list,
//! show (with TTD/TTA/TTM/TTR), timeline (text and JSON), verify (clean, torn, damaged), export.

use std::path::PathBuf;
use std::process::Command;

struct Env {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "").unwrap_or_else(|e| panic!("{e}"));
        Env { dir, config }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env("WARROOM_DATA_DIR", self.data())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .env("USER", "tester")
            .env_remove("WARROOM_CONFIG")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "{args:?} failed: {err}");
        out
    }
}

#[test]
fn an_incident_from_declaration_to_resolution_on_the_command_line() {
    let env = Env::new();
    let id = env
        .ok(&[
            "incident",
            "declare",
            "--title",
            "Checkout 5xx",
            "--severity",
            "SEV2",
            "--commander",
            "alice",
        ])
        .trim()
        .to_string();
    assert!(id.ends_with("-checkout-5xx"), "{id}");
    let note_id = env.ok(&["note", "db", "failover", "started"]).trim().to_string();
    assert_eq!(note_id.len(), 26, "the note's ULID: {note_id}");
    env.ok(&["incident", "milestone", &id, "detected", "--at", "2026-03-14T10:02:00Z"]);
    env.ok(&["incident", "milestone", &id, "started", "--at", "2026-03-14T10:00:00Z"]);
    // A correction: the detection was a minute earlier.
    env.ok(&["incident", "milestone", &id, "detected", "--at", "2026-03-14T10:01:00Z"]);
    env.ok(&[
        "incident",
        "milestone",
        &id,
        "acknowledged",
        "--at",
        "2026-03-14T10:03:00Z",
    ]);
    env.ok(&[
        "incident",
        "milestone",
        &id,
        "mitigated",
        "--at",
        "2026-03-14T10:20:00Z",
    ]);
    env.ok(&["incident", "status", "checkout", "monitoring"]);
    env.ok(&["incident", "resolve", &id]);

    let list = env.ok(&["incident", "list"]);
    assert!(
        list.contains(&id) && list.contains("SEV2") && list.contains("resolved") && list.contains("Checkout 5xx"),
        "{list}"
    );
    let show = env.ok(&["incident", "show", &id]);
    assert!(
        show.contains("TTD 1m00s") && show.contains("TTA 2m00s") && show.contains("TTM 20m00s"),
        "{show}"
    );
    assert!(show.contains("commander     alice"), "{show}");

    let timeline = env.ok(&["timeline", "--incident", &id]);
    assert!(
        timeline.contains("tester") && timeline.contains("db failover started"),
        "{timeline}"
    );
    let json = env.ok(&["timeline", "--incident", &id, "--json"]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 9);
    assert!(lines.iter().all(|l| l["hash"].as_str().is_some_and(|h| h.len() == 64)));
    assert!(
        lines.iter().any(|l| l["supersedes"].is_string()),
        "the corrected milestone supersedes the first"
    );

    let verify = env.ok(&["verify", "--incident", &id]);
    assert!(verify.contains("9 records, chain and checksums intact"), "{verify}");
    let audit = env.ok(&["verify", "--audit"]);
    assert!(audit.contains("chain and checksums intact"), "{audit}");

    let md = env.ok(&["export", "--incident", &id, "--format", "md"]);
    assert!(md.contains("Checkout 5xx") && md.contains("ttd: PT1M"), "{md}");
    assert_eq!(
        md,
        env.ok(&["export", "--incident", &id, "--format", "md"]),
        "the same journal gives the same bytes"
    );
    let audit_export = env.ok(&["export", "--audit", "--since", "2000-01-01"]);
    assert!(audit_export.lines().count() >= 7, "{audit_export}");
}

#[test]
fn verify_names_the_first_bad_line_and_exits_non_zero() {
    let env = Env::new();
    let id = env
        .ok(&["incident", "declare", "--title", "damage drill", "--severity", "SEV4"])
        .trim()
        .to_string();
    for n in 0..4 {
        env.ok(&["note", &format!("note {n}")]);
    }
    let file = env.data().join("incidents").join(&id).join("journal.jsonl");
    let good = std::fs::read_to_string(&file).unwrap_or_default();
    std::fs::write(&file, good.replacen("note 1", "note X", 1)).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = env.run(&["verify", "--incident", &id]);
    assert_eq!(code, 1);
    assert!(err.contains("journal.jsonl:3: checksum mismatch"), "{err}");
    // A torn tail: reported, non-zero; the next writer cuts it off and verify is clean again.
    std::fs::write(&file, &good[..good.len() - 20]).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = env.run(&["verify", "--incident", &id]);
    assert_eq!(code, 1);
    assert!(err.contains("journal.jsonl:5: torn last record"), "{err}");
    env.ok(&["note", "after the crash"]);
    let out = env.ok(&["verify", "--incident", &id]);
    assert!(
        out.contains("5 records, chain and checksums intact") && out.contains("a torn tail was cut off earlier"),
        "{out}"
    );
}

#[test]
fn commands_name_what_is_missing() {
    let env = Env::new();
    let (code, _, err) = env.run(&["note", "hello"]);
    assert_eq!(code, 2);
    assert!(err.contains("no open incident"), "{err}");
    let (code, _, err) = env.run(&["incident", "show", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no incident matches \"nope\""), "{err}");
    env.ok(&["incident", "declare", "--title", "a", "--severity", "SEV3"]);
    let (code, _, err) = env.run(&["incident", "status", "a", "on-fire"]);
    assert_eq!(code, 2);
    assert!(err.contains("\"on-fire\" is not a status"), "{err}");
    let (code, _, err) = env.run(&["incident", "declare", "--title", "b", "--severity", "SEV9"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = env.run(&["export", "--format", "pdf"]);
    assert_eq!(code, 2);
    assert!(err.contains("--format is md, json, csv or html"), "{err}");
}
