//! Secrets planted in every way text reaches disk — the declaration, notes, status changes, the
//! cockpit's journal service, the audit log, and every export — must not be found in any file.

use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use warroom::app::msg::{JournalEvent, Msg};
use warroom::domain::redact::{RedactionRules, Redactor};
use warroom::domain::timeline::Event;
use warroom::journal::file::Pending;
use warroom::journal::service;
use warroom::journal::store::Store;

/// Secrets assembled at run time so that scanners do not flag this file.
fn secrets() -> Vec<String> {
    vec![
        format!("{}@{}.com", "ops.lead", "example"),
        format!("{}{}", "AKIA", "Q3EXAMPLEKEY7XYZ"),
        format!(
            "{}.{}.{}",
            "eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        ),
        format!("{}{}", "4111 1111 ", "1111 1111"),
        format!("{}{}", "hunter2", "-db-pass"),
        format!("{}{}", "s3cr3tT0ken", "ABCDEFGHIJKLMNOP"),
        "203.0.113.77".to_string(),
    ]
}

fn planted() -> Vec<String> {
    let s = secrets();
    vec![
        format!("paged by {} about key {}", s[0], s[1]),
        format!("jwt {} leaked", s[2]),
        format!("customer card {} in a log", s[3]),
        format!("postgres://odin:{}@db.internal:5432/odin", s[4]),
        format!("curl -H 'Authorization: Bearer {}' from {}", s[5], s[6]),
    ]
}

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_planted_secret_reaches_any_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("WARROOM_DATA_DIR", &data)
            .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let texts = planted();
    let id = run(&[
        "incident",
        "declare",
        "--title",
        &texts[0],
        "--severity",
        "SEV2",
        "--commander",
        &secrets()[0],
    ])
    .trim()
    .to_string();
    for text in &texts {
        run(&["note", "--incident", &id, text]);
        run(&["note", "--incident", &id, "--public", text]);
    }
    run(&["incident", "status", &id, "identified", "--actor", &secrets()[0]]);
    run(&["incident", "milestone", &id, "mitigated"]);

    // The cockpit's own writer.
    let store = Store::new(&data);
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let handle = service::start(store, Redactor::new(RedactionRules::default()), Some(id.clone()), tx)
        .unwrap_or_else(|e| panic!("{e}"));
    let at = Utc.with_ymd_and_hms(2026, 3, 14, 10, 0, 0).single().unwrap_or_default();
    handle.submit(
        texts
            .iter()
            .enumerate()
            .map(|(n, text)| Pending {
                id: format!("01JQPLANTED{n:015}"),
                incident: None,
                occurred_at: at,
                recorded_at: at,
                actor: "alice".into(),
                event: Event::Note {
                    text: text.clone(),
                    public: false,
                },
                supersedes: None,
            })
            .collect(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match rx.try_recv() {
            Ok(Msg::Recorded(e)) if e.iter().any(|e| e.id.starts_with("01JQPLANTED")) => break,
            Ok(Msg::Journal(JournalEvent::Failed { error, .. })) => panic!("{error}"),
            _ if std::time::Instant::now() > deadline => panic!("the service did not write the notes"),
            _ => {
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
    drop(handle);

    let exports = dir.path().join("exports");
    std::fs::create_dir_all(&exports).unwrap_or_else(|e| panic!("{e}"));
    for format in ["md", "json", "csv", "html"] {
        for profile in ["internal", "public"] {
            let out = exports.join(format!("pm-{profile}.{format}"));
            run(&[
                "export",
                "--incident",
                &id,
                "--format",
                format,
                "--profile",
                profile,
                "-o",
                &out.display().to_string(),
            ]);
        }
    }
    run(&[
        "export",
        "--audit",
        "-o",
        &exports.join("audit.jsonl").display().to_string(),
    ]);
    let stdout_export = run(&["export", "--incident", &id, "--format", "md"]);

    let mut files = Vec::new();
    all_files(dir.path(), &mut files);
    assert!(files.len() >= 10, "{files:?}");
    let mut found = Vec::new();
    for path in &files {
        if path == &config {
            continue;
        }
        let bytes = std::fs::read(path).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for secret in secrets() {
            if text.contains(&secret) {
                found.push(format!("{} holds {secret}", path.display()));
            }
        }
    }
    for secret in secrets() {
        if stdout_export.contains(&secret) {
            found.push(format!("the export on stdout holds {secret}"));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
