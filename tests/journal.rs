//! The journal on disk: append and read back, torn tails at every byte offset, single-bit damage,
//! repair before appending, and the background service (group commit, pending then durable,
//! entries from other writers, a full disk held and retried).

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use warroom::app::msg::{JournalEvent, Msg};
use warroom::domain::incident::{Incident, IncidentSeverity};
use warroom::domain::redact::{RedactionRules, Redactor};
use warroom::domain::timeline::{Durability, Event};
use warroom::journal::file::{self, JournalPaths, Pending};
use warroom::journal::record::GENESIS;
use warroom::journal::service;
use warroom::journal::store::Store;

fn at(s: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 10, 0, 0).single().unwrap_or_default() + chrono::Duration::seconds(s)
}

fn redactor() -> Redactor {
    Redactor::new(RedactionRules::default())
}

fn note(n: usize) -> Pending {
    Pending {
        id: format!("01JQTEST{n:018}"),
        incident: Some("test".into()),
        occurred_at: at(n as i64),
        recorded_at: at(n as i64),
        actor: "alice".into(),
        event: Event::Note {
            text: format!("note number {n}"),
            public: false,
        },
        supersedes: None,
    }
}

fn journal_with(dir: &Path, n: usize) -> JournalPaths {
    let paths = JournalPaths::in_dir(dir);
    for i in 0..n {
        file::append(&paths, &[note(i + 1)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    }
    paths
}

#[test]
fn appended_records_read_back_chained_and_numbered() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = journal_with(&dir.path().join("inc"), 3);
    let (more, report) = file::append(&paths, &[note(4), note(5)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.repaired, None);
    assert_eq!(more.len(), 2);
    let scan = file::scan(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.torn, None);
    let seqs: Vec<u64> = scan.records.iter().map(|r| r.body.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(scan.records[0].body.prev_hash, GENESIS);
    for pair in scan.records.windows(2) {
        assert_eq!(pair[1].body.prev_hash, pair[0].hash);
    }
    assert_eq!(
        scan.records[4].entry().event,
        Event::Note {
            text: "note number 5".into(),
            public: false
        }
    );
    assert_eq!(scan.head_hash(), scan.records[4].hash);
}

#[test]
fn a_tail_cut_at_every_byte_offset_keeps_every_earlier_record_and_is_repaired_on_append() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = journal_with(&dir.path().join("inc"), 4);
    let full = std::fs::read(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    let last_start = full[..full.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    for cut in last_start + 1..full.len() {
        let scan = file::scan_bytes(&paths.file, &full[..cut]).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(scan.records.len(), 3, "cut at {cut}");
        assert_eq!(scan.valid_len, last_start as u64, "cut at {cut}");
        assert_eq!(scan.torn.as_ref().map(|t| t.line), Some(4), "cut at {cut}");
    }
    // A writer finding a torn tail cuts it off (keeping it aside) and continues the chain.
    std::fs::write(&paths.file, &full[..full.len() - 7]).unwrap_or_else(|e| panic!("{e}"));
    let (records, report) = file::append(&paths, &[note(9)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.repaired.map(|t| t.line), Some(4));
    assert_eq!(records[0].body.seq, 4);
    let scan = file::scan(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.records.len(), 4);
    assert_eq!(scan.torn, None);
    let kept: Vec<_> = std::fs::read_dir(&paths.dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().contains(".torn-"))
                .count()
        })
        .unwrap_or(0)
        .to_string()
        .into_bytes();
    assert_eq!(kept, b"1", "the torn bytes are kept aside");
}

#[test]
fn flipping_any_single_bit_is_detected() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = journal_with(&dir.path().join("inc"), 5);
    let full = std::fs::read(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    let mut undetected = Vec::new();
    for byte in 0..full.len() {
        for bit in 0..8 {
            let mut damaged = full.clone();
            damaged[byte] ^= 1 << bit;
            let detected = match file::scan_bytes(&paths.file, &damaged) {
                Err(_) => true,
                Ok(scan) => scan.torn.is_some() || scan.records.len() != 5,
            };
            if !detected {
                undetected.push((byte, bit));
            }
        }
    }
    assert!(
        undetected.is_empty(),
        "{} flips went unnoticed, e.g. {:?}",
        undetected.len(),
        &undetected[..undetected.len().min(5)]
    );
}

#[test]
fn damage_before_the_tail_names_the_line_and_is_never_dropped() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = journal_with(&dir.path().join("inc"), 4);
    let text = std::fs::read_to_string(&paths.file).unwrap_or_default();
    std::fs::write(&paths.file, text.replacen("note number 2", "note number X", 1)).unwrap_or_else(|e| panic!("{e}"));
    let err = file::scan(&paths.file).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains(":2: checksum mismatch"), "{err}");
    // Writing goes on (a damaged old line must not stop the responders), and the damage stays
    // where it is, still reported: nothing is cut off or rewritten.
    file::append(&paths, &[note(5)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let after = std::fs::read_to_string(&paths.file).unwrap_or_default();
    assert!(after.contains("note number X") && after.lines().count() == 5, "{after}");
    let err = file::scan(&paths.file).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains(":2: checksum mismatch"), "{err}");
    // Removing a record breaks the chain, and says where.
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&paths.file, format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3]))
        .unwrap_or_else(|e| panic!("{e}"));
    let err = file::scan(&paths.file).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains(":2: chain broken"), "{err}");
}

#[test]
fn secrets_are_redacted_before_the_record_reaches_disk() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = JournalPaths::in_dir(&dir.path().join("inc"));
    let mut p = note(1);
    p.event = Event::Note {
        text: "alice@example.com pasted Bearer abcdefghijklmnopqrstuvwxyz012345".into(),
        public: false,
    };
    let (records, _) = file::append(&paths, &[p], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let on_disk = std::fs::read_to_string(&paths.file).unwrap_or_default();
    assert!(
        !on_disk.contains("alice@example.com") && !on_disk.contains("abcdefghijklmnopqrstuvwxyz012345"),
        "{on_disk}"
    );
    let redaction = records[0]
        .body
        .redaction
        .clone()
        .unwrap_or_else(|| panic!("redaction recorded"));
    assert_eq!(redaction.rules, ["bearer_token", "email"]);
    assert_eq!(redaction.original_sha256.len(), 64);
}

fn store_with_incident(dir: &Path) -> (Store, String) {
    let store = Store::new(dir);
    let id = store.new_id("odin 5xx", at(0));
    let declare = Pending {
        event: Event::IncidentDeclared {
            title: "odin 5xx".into(),
            severity: IncidentSeverity::Sev2,
            commander: Some("alice".into()),
        },
        ..note(0)
    };
    file::append(&store.incident(&id), &[declare], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    (store, id)
}

/// Waits (up to 10 s) for a message matching `want`, returning it.
fn wait_for(rx: &mut tokio::sync::mpsc::Receiver<Msg>, what: &str, want: impl Fn(&Msg) -> bool) -> Msg {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match rx.try_recv() {
            Ok(msg) if want(&msg) => return msg,
            Ok(_) => {}
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                assert!(std::time::Instant::now() < deadline, "no {what} within 10 s");
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[test]
fn the_service_opens_the_active_incident_group_commits_and_follows_other_writers() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let handle = service::start(store.clone(), redactor(), None, tx).unwrap_or_else(|e| panic!("{e}"));
    let opened = wait_for(&mut rx, "the opened incident", |m| {
        matches!(m, Msg::Journal(JournalEvent::Opened { .. }))
    });
    let Msg::Journal(JournalEvent::Opened {
        id: opened_id, entries, ..
    }) = opened
    else {
        unreachable!()
    };
    assert_eq!(opened_id, id);
    assert!(Incident::from_entries(&entries).is_some_and(|i| i.is_open()));

    // 100 entries submitted at once are written in two syncs (64 + 36) and come back durable.
    let batch: Vec<Pending> = (1..=100).map(note).collect();
    handle.submit(batch);
    let mut durable = 0;
    let mut messages = 0;
    while durable < 100 {
        let Msg::Recorded(entries) = wait_for(&mut rx, "durable entries", |m| matches!(m, Msg::Recorded(_))) else {
            continue;
        };
        assert!(entries.iter().all(|e| e.durability == Durability::Durable));
        durable += entries
            .iter()
            .filter(|e| e.actor == "alice" && matches!(e.event, Event::Note { .. }))
            .count();
        messages += 1;
    }
    assert!(messages <= 4, "100 entries took {messages} messages (group commit)");
    let scan = file::scan(&store.incident(&id).file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.records.len(), 101);

    // Another writer (another process) appends: the service reports it within a second.
    let mut other = note(500);
    other.actor = "bob".into();
    file::append(&store.incident(&id), &[other], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    wait_for(
        &mut rx,
        "bob's entry",
        |m| matches!(m, Msg::Recorded(e) if e.iter().any(|e| e.actor == "bob")),
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    drop(handle);
}

#[test]
fn a_full_disk_holds_entries_in_memory_reports_it_and_writes_them_once_it_clears() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let paths = store.incident(&id);
    let good = std::fs::read(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let handle = service::start(store.clone(), redactor(), Some(id.clone()), tx).unwrap_or_else(|e| panic!("{e}"));
    wait_for(&mut rx, "the opened incident", |m| {
        matches!(m, Msg::Journal(JournalEvent::Opened { .. }))
    });
    // The journal now sits on a device that is always full.
    std::fs::remove_file(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("/dev/full", &paths.file).unwrap_or_else(|e| panic!("{e}"));
    handle.submit(vec![note(1), note(2)]);
    let failed = wait_for(&mut rx, "the failure", |m| {
        matches!(m, Msg::Journal(JournalEvent::Failed { .. }))
    });
    let Msg::Journal(JournalEvent::Failed { error, held }) = failed else {
        unreachable!()
    };
    assert!(error.contains("ENOSPC") || error.contains("No space"), "{error}");
    assert_eq!(held, 2);
    // The disk clears: the held entries are written (the file is rewritten and synced, not trusted).
    std::fs::remove_file(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&paths.file, &good).unwrap_or_else(|e| panic!("{e}"));
    let recorded = wait_for(
        &mut rx,
        "the held entries",
        |m| matches!(m, Msg::Recorded(e) if e.len() == 2),
    );
    let Msg::Recorded(entries) = recorded else {
        unreachable!()
    };
    assert!(entries.iter().all(|e| e.durability == Durability::Durable));
    wait_for(&mut rx, "the recovery", |m| {
        matches!(m, Msg::Journal(JournalEvent::Recovered))
    });
    let scan = file::scan(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.records.len(), 3);
    drop(handle);
}
