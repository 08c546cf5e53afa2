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

fn journal_file(env: &Env, id: &str) -> PathBuf {
    env.data().join("incidents").join(id).join("journal.jsonl")
}

#[test]
fn a_repair_made_by_a_command_is_told_on_stderr() {
    let env = Env::new();
    let id = env
        .ok(&["incident", "declare", "--title", "torn drill", "--severity", "SEV4"])
        .trim()
        .to_string();
    env.ok(&["note", "first"]);
    let file = journal_file(&env, &id);
    let good = std::fs::read(&file).unwrap_or_default();
    std::fs::write(&file, &good[..good.len() - 15]).unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = env.run(&["note", "second"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim().len(), 26);
    assert!(
        err.contains("journal.jsonl:2: cut off a torn last record") && err.contains("journal.jsonl.torn-"),
        "{err}"
    );
    // A damaged complete last line is named, kept, and written after.
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let damaged = text.replacen("second", "secxnd", 1);
    std::fs::write(&file, &damaged).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = env.run(&["verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("journal.jsonl:2: checksum mismatch"), "{err}");
    let (code, _, err) = env.run(&["note", "third"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("journal.jsonl:2: checksum mismatch"), "{err}");
    let after = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(after.starts_with(&damaged) && after.lines().count() == 3, "{after}");
}

#[test]
fn a_damaged_journal_still_names_its_incident_and_its_bad_line() {
    let env = Env::new();
    let id = env
        .ok(&["incident", "declare", "--title", "damage", "--severity", "SEV3"])
        .trim()
        .to_string();
    for n in 0..3 {
        env.ok(&["note", &format!("note {n}")]);
    }
    let file = journal_file(&env, &id);
    let good = std::fs::read_to_string(&file).unwrap_or_default();
    std::fs::write(&file, good.replacen("note 1", "note X", 1)).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = env.run(&["verify"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("journal.jsonl:3: checksum mismatch"), "{err}");
    let (code, out, err) = env.run(&["note", "still writing"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim().len(), 26);
    assert!(err.contains("damaged at line 3"), "{err}");
    let list = env.ok(&["incident", "list"]);
    assert!(list.contains(&id) && list.contains("damaged at line 3"), "{list}");
    let show = env.ok(&["incident", "show"]);
    assert!(show.contains("still writing") && show.contains("note 2"), "{show}");
    // Even a damaged declaration: verify looks at the most recent incident and names the line.
    std::fs::write(&file, good.replacen("damage", "damagX", 1)).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = env.run(&["verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("journal.jsonl:1:"), "{err}");
}

#[test]
fn an_audit_log_that_cannot_be_written_does_not_hide_the_declared_incident() {
    let env = Env::new();
    std::fs::create_dir_all(env.data()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(env.data().join("audit"), b"in the way").unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = env.run(&["incident", "declare", "--title", "no audit", "--severity", "SEV3"]);
    assert_eq!(code, 3, "{err}");
    let id = out.trim().to_string();
    assert!(id.ends_with("-no-audit"), "the id is printed: {out:?}");
    assert!(err.contains("the audit log could not be written"), "{err}");
    let list = env.ok(&["incident", "list"]);
    assert!(list.contains(&id), "{list}");
}

#[test]
fn timeline_follow_names_damaged_lines_appended_later() {
    use std::io::BufRead;
    let env = Env::new();
    let id = env
        .ok(&["incident", "declare", "--title", "follow", "--severity", "SEV3"])
        .trim()
        .to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["timeline", "--follow", "--config"])
        .arg(&env.config)
        .env("WARROOM_DATA_DIR", env.data())
        .env("XDG_CONFIG_HOME", env.dir.path().join("xdg"))
        .env("USER", "tester")
        .env_remove("WARROOM_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |text: &str| loop {
        match rx.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok(line) if line.contains(text) => break,
            Ok(_) => {}
            Err(e) => panic!("no line with {text:?}: {e}"),
        }
    };
    wait_for("declared");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(journal_file(&env, &id))
        .unwrap_or_else(|e| panic!("{e}"));
    std::io::Write::write_all(&mut f, b"{\"v\":1,\"broken\":\n").unwrap_or_else(|e| panic!("{e}"));
    env.ok(&["note", "after the damage"]);
    wait_for("after the damage");
    let _ = child.kill();
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("warning:") && err.contains("journal.jsonl:2: not a complete JSON record"),
        "{err}"
    );
}

#[test]
fn verify_with_an_expected_head_finds_records_cut_off_or_sealed_again() {
    use warroom::commands::{Ctx, verify, verify_expecting};
    use warroom::domain::redact::{RedactionRules, Redactor};
    use warroom::journal::record::Record;
    let env = Env::new();
    let id = env
        .ok(&["incident", "declare", "--title", "anchor", "--severity", "SEV3"])
        .trim()
        .to_string();
    for n in 0..3 {
        env.ok(&["note", &format!("note {n}")]);
    }
    let ctx = Ctx {
        store: warroom::journal::store::Store::new(&env.data()),
        actor: "tester".into(),
        incident: None,
        redactor: Redactor::new(RedactionRules::default()),
        now: chrono::DateTime::UNIX_EPOCH,
    };
    let run = |head: Option<&str>| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = match head {
            None => verify(&ctx, false, &mut out, &mut err),
            Some(h) => verify_expecting(&ctx, false, Some(h), &mut out, &mut err),
        };
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    };
    let file = journal_file(&env, &id);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let records: Vec<Record> = text
        .lines()
        .map(|l| Record::parse(l.as_bytes()).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let head = records[3].hash.clone();
    let (code, out, _) = run(Some(&head));
    assert_eq!(code, 0);
    assert!(
        out.contains("is record 4 (line 4); 0 records were written after it"),
        "{out}"
    );
    let (code, out, _) = run(Some(&records[2].hash[..12]));
    assert_eq!(code, 0, "an earlier head with records written after it is fine");
    assert!(out.contains("1 record was written after it"), "{out}");

    // The last record cut off whole: the chain alone cannot tell; the head recorded elsewhere can.
    let cut: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, &cut).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run(None).0, 0);
    let (code, _, err) = run(Some(&head));
    assert_eq!(code, 1);
    assert!(err.contains("is not in the journal"), "{err}");

    // The last record edited and sealed again: the same.
    let mut edited = records[3].clone();
    if let warroom::domain::timeline::Event::Note { text, .. } = &mut edited.body.event {
        *text = "rewritten".into();
    }
    edited.body.summary = "rewritten".into();
    let resealed = edited.body.seal();
    std::fs::write(&file, format!("{cut}{}", String::from_utf8_lossy(&resealed.to_line())))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run(None).0, 0);
    assert_eq!(run(Some(&head)).0, 1);
    assert_eq!(run(Some("12")).0, 2, "too short a prefix is refused");
}

#[test]
fn verify_expect_head_on_the_command_line() {
    let env = Env::new();
    let id = env
        .ok(&["incident", "declare", "--title", "anchor", "--severity", "SEV3"])
        .trim()
        .to_string();
    env.ok(&["note", "first"]);
    env.ok(&["note", "second"]);
    let export: serde_json::Value =
        serde_json::from_str(&env.ok(&["export", "--format", "json"])).unwrap_or_else(|e| panic!("{e}"));
    let head = export["head_hash"]
        .as_str()
        .unwrap_or_else(|| panic!("no head_hash: {export}"))
        .to_string();
    assert_eq!(env.run(&["verify", "--expect-head", &head]).0, 0);
    assert_eq!(
        env.run(&["verify", "--expect-head", "abc"]).0,
        2,
        "a prefix under 8 digits"
    );
    // The last note cut off whole: the chain still verifies, the recorded head does not.
    let file = journal_file(&env, &id);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let kept: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, kept).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.run(&["verify"]).0, 0);
    let (code, _, err) = env.run(&["verify", "--expect-head", &head[..16]]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_broken_runbook_never_stops_a_note() {
    let env = Env::new();
    let runbooks = env.dir.path().join("runbooks");
    std::fs::create_dir_all(&runbooks).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(runbooks.join("broken.md"), "---\nid: [unclosed\n---\n# Broken\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&env.config, "[runbooks]\ndirs = [\"runbooks\"]\n").unwrap_or_else(|e| panic!("{e}"));
    // The cockpit's checks see the broken runbook...
    let (code, _, err) = env.run(&["check", "--offline"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.md"), "{err}");
    // ...but the journal commands do not read runbooks: the incident is declared and noted.
    let id = env.ok(&["incident", "declare", "--title", "Checkout 5xx", "--severity", "SEV2"]);
    let note = env.ok(&["note", "--incident", id.trim(), "rolled back to 1.4.1"]);
    assert_eq!(note.trim().len(), 26, "a ULID: {note}");
}
