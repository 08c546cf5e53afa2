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
    assert_eq!(redaction.original_sha256, None, "no hash of what was redacted");
    assert!(!on_disk.contains("original_sha256"), "{on_disk}");
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

/// Collects messages until one matches `want` (waiting on the channel, up to 10 s), returning all
/// of them, the match last.
fn collect_until(rx: &mut tokio::sync::mpsc::Receiver<Msg>, what: &str, want: impl Fn(&Msg) -> bool) -> Vec<Msg> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    rt.block_on(async {
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(msg)) => {
                    let done = want(&msg);
                    seen.push(msg);
                    if done {
                        return seen;
                    }
                }
                Ok(None) => panic!("{what}: the service stopped; saw {seen:?}"),
                Err(_) => panic!("no {what} within 10 s; saw {seen:?}"),
            }
        }
    })
}

/// Waits (up to 10 s) for a message matching `want`, returning it.
fn wait_for(rx: &mut tokio::sync::mpsc::Receiver<Msg>, what: &str, want: impl Fn(&Msg) -> bool) -> Msg {
    collect_until(rx, what, want)
        .pop()
        .unwrap_or_else(|| panic!("{what}: nothing received"))
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
    wait_for(
        &mut rx,
        "bob's entry",
        |m| matches!(m, Msg::Recorded(e) if e.iter().any(|e| e.actor == "bob")),
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

fn start_service(store: &Store, id: Option<&str>) -> (service::JournalHandle, tokio::sync::mpsc::Receiver<Msg>) {
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    let handle =
        service::start(store.clone(), redactor(), id.map(str::to_string), tx).unwrap_or_else(|e| panic!("{e}"));
    (handle, rx)
}

fn opened(msg: &Msg) -> bool {
    matches!(msg, Msg::Journal(JournalEvent::Opened { .. }))
}

fn recorded_ids(msgs: &[Msg]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| match m {
            Msg::Recorded(entries) => Some(entries.iter().map(|e| e.id.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether some process waits (blocked) for the flock on the file with this inode.
fn someone_waits_for_lock(inode: u64) -> bool {
    std::fs::read_to_string("/proc/locks")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("->") && l.contains("FLOCK") && l.contains(&format!(":{inode} ")))
}

#[test]
fn open_cuts_a_torn_tail_only_under_the_lock_after_reading_again() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let paths = store.incident(&id);
    file::append(&paths, &[note(1), note(2)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let full = std::fs::read(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    // Another writer holds the lock in the middle of writing its record: half of it is on disk.
    let lock = file::lock(&paths).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&paths.file, &full[..full.len() - 40]).unwrap_or_else(|e| panic!("{e}"));
    let (handle, mut rx) = start_service(&store, Some(&id));
    // The service sees the torn tail and must wait for the lock before cutting anything.
    let inode = std::fs::metadata(&paths.lock).map(|m| m.ino()).unwrap_or(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !someone_waits_for_lock(inode) {
        assert!(
            std::time::Instant::now() < deadline,
            "the service never waited for the journal lock before repairing"
        );
        std::thread::yield_now();
    }
    // The writer finishes its record (and acknowledges it), then lets go.
    std::fs::write(&paths.file, &full).unwrap_or_else(|e| panic!("{e}"));
    drop(lock);
    let Msg::Journal(JournalEvent::Opened { entries, notice, .. }) = wait_for(&mut rx, "the opened incident", opened)
    else {
        unreachable!()
    };
    assert_eq!(entries.len(), 3, "{notice:?}");
    assert_eq!(notice, None, "nothing was torn once the lock was held");
    assert_eq!(
        std::fs::read(&paths.file).unwrap_or_default(),
        full,
        "the finished record is kept"
    );
    assert_eq!(files_in(&paths.dir), ["journal.jsonl", "journal.lock"]);
    drop(handle);
}

#[test]
fn torn_tails_kept_aside_never_overwrite_an_earlier_copy() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = journal_with(&dir.path().join("inc"), 3);
    let full = std::fs::read(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    let mut kept_bytes = Vec::new();
    for round in 0..3 {
        // The same torn record at the same offset, three times over.
        std::fs::write(&paths.file, &full[..full.len() - 9]).unwrap_or_else(|e| panic!("{e}"));
        let (_, report) = file::append(&paths, &[note(10 + round)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
        let kept = report
            .kept
            .unwrap_or_else(|| panic!("round {round}: nothing kept aside"));
        kept_bytes.push((kept.clone(), std::fs::read(&kept).unwrap_or_default()));
        std::fs::write(&paths.file, &full).unwrap_or_else(|e| panic!("{e}"));
    }
    let names: Vec<_> = kept_bytes.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        names.iter().collect::<std::collections::BTreeSet<_>>().len(),
        3,
        "{names:?}"
    );
    for (path, bytes) in &kept_bytes {
        assert_eq!(
            std::fs::read(path).unwrap_or_default(),
            *bytes,
            "{} was overwritten",
            path.display()
        );
    }
}

#[test]
fn a_damaged_complete_last_record_is_reported_never_cut_off() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = journal_with(&dir.path().join("inc"), 4);
    let text = std::fs::read_to_string(&paths.file).unwrap_or_default();
    let damaged = text.replacen("note number 4", "note number Z", 1);
    std::fs::write(&paths.file, &damaged).unwrap_or_else(|e| panic!("{e}"));
    let err = file::scan(&paths.file).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains(":4: checksum mismatch"),
        "a complete bad line is damage, not a torn tail: {err}"
    );
    let (records, report) = file::append(&paths, &[note(5)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.repaired, None);
    assert_eq!(report.kept, None);
    assert_eq!(report.damaged.as_ref().map(|d| d.line), Some(4), "{report:?}");
    let after = std::fs::read_to_string(&paths.file).unwrap_or_default();
    assert!(after.starts_with(&damaged), "the damaged line stays: {after}");
    assert_eq!(after.lines().count(), 5);
    // The new record continues the chain from the last valid record.
    assert_eq!(records[0].body.seq, 4);
    assert_eq!(files_in(&paths.dir), ["journal.jsonl", "journal.lock"]);
    // Only a last line without its end of line, or zero bytes, is torn.
    let mut zeros = text.clone().into_bytes();
    zeros.extend([0u8; 300]);
    let scan = file::scan_bytes(&paths.file, &zeros).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.torn.map(|t| (t.line, t.bytes)), Some((5, 300)));
}

#[test]
fn a_file_left_empty_by_a_failed_first_append_counts_as_new() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = JournalPaths::in_dir(&dir.path().join("inc"));
    std::fs::create_dir_all(&paths.dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&paths.file, b"").unwrap_or_else(|e| panic!("{e}"));
    let (_, report) = file::append(&paths, &[note(1)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.created,
        "the directory entry of an empty file is synced as for a new one"
    );
    let (_, report) = file::append(&paths, &[note(2)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.created);
}

/// The bytes `records` have on disk when appended after `base` (a copy of a journal).
fn lines_after(base: &[u8], records: &[Pending]) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = JournalPaths::in_dir(dir.path());
    std::fs::write(&paths.file, base).unwrap_or_else(|e| panic!("{e}"));
    let (written, _) = file::append(&paths, records, &redactor()).unwrap_or_else(|e| panic!("{e}"));
    written.iter().map(|r| r.to_line()).collect()
}

#[test]
fn recovery_rewrites_held_records_in_place_from_memory_keeping_other_writers_records() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = journal_with(&dir.path().join("inc"), 2);
    let base = std::fs::read(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    let inode = std::fs::metadata(&paths.file).map(|m| m.ino()).unwrap_or(0);
    let held = [note(3), note(4)];
    let ours = lines_after(&base, &held);
    // Our write was cut short: the first record and half of the second reached the file.
    let mut partial = base.clone();
    partial.extend(&ours[0]);
    partial.extend(&ours[1][..ours[1].len() / 2]);
    std::fs::write(&paths.file, &partial).unwrap_or_else(|e| panic!("{e}"));
    let resume = file::Resume {
        offset: base.len() as u64,
        inode,
    };

    // Alone: the file is cut back and both records written again, with nothing kept aside.
    let (records, _) = file::recover(&paths, Some(resume), &held, &redactor()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records.iter().map(|r| r.body.seq).collect::<Vec<_>>(), [3, 4]);
    let mut expected = base.clone();
    expected.extend(ours.concat());
    assert_eq!(std::fs::read(&paths.file).unwrap_or_default(), expected);
    assert_eq!(
        files_in(&paths.dir),
        ["journal.jsonl", "journal.lock"],
        "no temporary file"
    );
    assert_eq!(
        std::fs::metadata(&paths.file).map(|m| m.ino()).unwrap_or(0),
        inode,
        "rewritten in place"
    );

    // With another writer in between: it cut our torn record off (keeping it aside) and appended
    // its own after our first record. That record stays, byte for byte; ours follow it.
    std::fs::write(&paths.file, &partial).unwrap_or_else(|e| panic!("{e}"));
    let mut bob = note(7);
    bob.actor = "bob".into();
    let (bobs, _) = file::append(&paths, &[bob], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let (records, _) = file::recover(&paths, Some(resume), &held, &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let scan = file::scan(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.torn, None);
    let ids: Vec<&str> = scan.records.iter().map(|r| r.body.id.as_str()).collect();
    assert_eq!(ids, [note(1).id, note(2).id, note(3).id, note(7).id, note(4).id]);
    assert_eq!(scan.records[3], bobs[0]);
    assert_eq!(records.iter().map(|r| r.body.seq).collect::<Vec<_>>(), [3, 5]);
}

const CHILD: &str = "WARROOM_JOURNAL_TEST_CHILD";

/// Runs test `name` again alone in a child process (where it may change process-wide limits) and
/// fails if it fails there. Returns true in the parent, false in the child (which runs the body).
fn rerun_in_child(name: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return false;
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "in the child:\n{text}"
    );
    true
}

/// Limits (soft) the size any file of this process may grow to, `None` lifting the limit; writes
/// past it fail with EFBIG (SIGXFSZ is ignored), after writing what fits.
fn limit_file_size(limit: Option<u64>) {
    // SAFETY: ignoring a signal installs no handler code; done before the limit can trigger it.
    unsafe {
        nix::sys::signal::signal(nix::sys::signal::Signal::SIGXFSZ, nix::sys::signal::SigHandler::SigIgn)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let value = limit.map_or("unlimited".to_string(), |n| n.to_string());
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--fsize={value}:"))
        .status()
        .unwrap_or_else(|e| panic!("prlimit: {e}"));
    assert!(status.success(), "prlimit failed");
}

#[test]
fn a_write_cut_short_is_never_reported_durable_until_written_again() {
    use std::os::unix::fs::MetadataExt;
    if rerun_in_child("a_write_cut_short_is_never_reported_durable_until_written_again") {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let paths = store.incident(&id);
    let (handle, mut rx) = start_service(&store, Some(&id));
    wait_for(&mut rx, "the opened incident", opened);
    let base = std::fs::read(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    let inode = std::fs::metadata(&paths.file).map(|m| m.ino()).unwrap_or(0);
    let batch: Vec<Pending> = (1..=4).map(note).collect();
    let ids: Vec<String> = batch.iter().map(|p| p.id.clone()).collect();
    let lines = lines_after(
        &base,
        &batch
            .iter()
            .map(|p| Pending {
                incident: Some(id.clone()),
                ..p.clone()
            })
            .collect::<Vec<_>>(),
    );
    // Room for the first record and half of the second: the write is cut short there.
    limit_file_size(Some((base.len() + lines[0].len() + lines[1].len() / 2) as u64));
    handle.submit(batch);
    // Three failures: the follower has read the file (and its complete first record) since.
    let mut msgs = Vec::new();
    for n in 1..=3 {
        msgs.extend(collect_until(&mut rx, &format!("failure {n}"), |m| {
            matches!(m, Msg::Journal(JournalEvent::Failed { .. }))
        }));
    }
    let Some(Msg::Journal(JournalEvent::Failed { held, .. })) = msgs.last() else {
        unreachable!()
    };
    assert_eq!(*held, 4);
    // Opening the incident again reads the held records back, but they are not durable yet.
    handle.open(Some(id.clone()));
    let reopened = collect_until(&mut rx, "the reopened incident", opened);
    let Some(Msg::Journal(JournalEvent::Opened { entries, .. })) = reopened.last() else {
        unreachable!()
    };
    let ours: Vec<&warroom::domain::timeline::TimelineEntry> = entries.iter().filter(|e| ids.contains(&e.id)).collect();
    assert_eq!(ours.len(), 1, "the first record is complete in the file");
    assert!(ours.iter().all(|e| e.durability == Durability::Pending), "{ours:?}");
    msgs.extend(reopened);
    let early: Vec<String> = recorded_ids(&msgs).into_iter().filter(|i| ids.contains(i)).collect();
    assert!(early.is_empty(), "reported durable while held: {early:?}");
    let on_disk = std::fs::read(&paths.file).unwrap_or_default();
    assert!(on_disk.len() > base.len(), "part of the batch is in the file");

    // The disk has room again: the held records are written again and reported once, durable.
    limit_file_size(None);
    let msgs = collect_until(&mut rx, "the recovery", |m| {
        matches!(m, Msg::Journal(JournalEvent::Recovered))
    });
    let reported = recorded_ids(&msgs);
    assert_eq!(reported, ids, "each held record reported once");
    for m in &msgs {
        if let Msg::Recorded(entries) = m {
            assert!(entries.iter().all(|e| e.durability == Durability::Durable));
        }
    }
    let mut expected = base.clone();
    expected.extend(lines.concat());
    assert_eq!(std::fs::read(&paths.file).unwrap_or_default(), expected);
    assert_eq!(
        std::fs::metadata(&paths.file).map(|m| m.ino()).unwrap_or(0),
        inode,
        "written in place"
    );
    assert_eq!(
        files_in(&paths.dir),
        ["journal.jsonl", "journal.lock"],
        "no temporary or kept file"
    );

    // The follower passes them later without reporting them again.
    let mut bob = note(9);
    bob.actor = "bob".into();
    file::append(&paths, &[bob], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let msgs = collect_until(
        &mut rx,
        "bob's entry",
        |m| matches!(m, Msg::Recorded(e) if e.iter().any(|e| e.actor == "bob")),
    );
    let again: Vec<String> = recorded_ids(&msgs).into_iter().filter(|i| ids.contains(i)).collect();
    assert!(again.is_empty(), "reported again by the follower: {again:?}");
    drop(handle);
}

#[test]
fn the_follower_does_not_report_again_what_this_process_wrote() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let (handle, mut rx) = start_service(&store, Some(&id));
    wait_for(&mut rx, "the opened incident", opened);
    handle.submit(vec![note(1)]);
    let msgs = collect_until(&mut rx, "the note", |m| matches!(m, Msg::Recorded(_)));
    assert_eq!(recorded_ids(&msgs), [note(1).id]);
    let mut bob = note(2);
    bob.actor = "bob".into();
    file::append(&store.incident(&id), &[bob], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let msgs = collect_until(
        &mut rx,
        "bob's entry",
        |m| matches!(m, Msg::Recorded(e) if e.iter().any(|e| e.actor == "bob")),
    );
    assert_eq!(recorded_ids(&msgs), [note(2).id], "only bob's entry is new");
    drop(handle);
}

#[test]
fn the_follower_names_each_damaged_line_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let paths = store.incident(&id);
    let (handle, mut rx) = start_service(&store, Some(&id));
    wait_for(&mut rx, "the opened incident", opened);
    let writer = |n: usize, actor: &str| {
        let mut p = note(n);
        p.actor = actor.into();
        file::append(&paths, &[p], &redactor()).unwrap_or_else(|e| panic!("{e}"))
    };
    writer(1, "bob");
    let raw = |bytes: &[u8]| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&paths.file)
            .unwrap_or_else(|e| panic!("{e}"));
        std::io::Write::write_all(&mut f, bytes).unwrap_or_else(|e| panic!("{e}"));
    };
    raw(b"{\"v\":1,\"garbage\n"); // line 3
    writer(2, "carol"); // line 4
    // Line 5: a valid record copied from elsewhere, which does not continue the chain.
    let lines: Vec<String> = std::fs::read_to_string(&paths.file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    raw(format!("{}\n", lines[1]).as_bytes());
    writer(3, "dave"); // line 6
    let msgs = collect_until(
        &mut rx,
        "dave's entry",
        |m| matches!(m, Msg::Recorded(e) if e.iter().any(|e| e.actor == "dave")),
    );
    let notices: Vec<&String> = msgs
        .iter()
        .filter_map(|m| match m {
            Msg::Journal(JournalEvent::Notice(text)) => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(
        notices[0].contains("line 3") && notices[0].contains("not a complete JSON record"),
        "{notices:?}"
    );
    assert!(
        notices[1].contains("line 5") && notices[1].contains("chain broken"),
        "{notices:?}"
    );
    drop(handle);
}

#[test]
fn a_failed_audit_append_is_held_retried_and_cleared() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    // The audit log cannot be written: its directory is a file.
    let blocker = store.audit().dir;
    std::fs::write(&blocker, b"in the way").unwrap_or_else(|e| panic!("{e}"));
    let (handle, mut rx) = start_service(&store, Some(&id));
    wait_for(&mut rx, "the opened incident", opened);
    let mut status = note(1);
    status.event = Event::StatusChanged {
        status: warroom::domain::incident::IncidentStatus::Identified,
    };
    handle.submit(vec![status.clone()]);
    let Msg::Journal(JournalEvent::Failed { error, held }) = wait_for(&mut rx, "the audit failure", |m| {
        matches!(m, Msg::Journal(JournalEvent::Failed { .. }))
    }) else {
        unreachable!()
    };
    assert!(error.contains("audit log"), "{error}");
    assert_eq!(held, 1, "the lifecycle entry is held for the audit log");
    std::fs::remove_file(&blocker).unwrap_or_else(|e| panic!("{e}"));
    wait_for(&mut rx, "the recovery", |m| {
        matches!(m, Msg::Journal(JournalEvent::Recovered))
    });
    let audit = file::scan(&store.audit().file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audit.records.len(), 1);
    assert_eq!(audit.records[0].body.id, status.id);
    drop(handle);
}

#[test]
fn close_writes_what_is_queued_and_stops() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let (handle, mut rx) = start_service(&store, Some(&id));
    wait_for(&mut rx, "the opened incident", opened);
    // Observed entries wait for company; the audited one goes to the audit log too.
    let observed: Vec<Pending> = (1..=3)
        .map(|n| Pending {
            actor: "warroom".into(),
            event: Event::AlertFired {
                alertname: format!("Alert{n}"),
                fingerprint: format!("{n:016x}"),
                severity: "page".into(),
                summary: "firing".into(),
            },
            ..note(n)
        })
        .collect();
    handle.submit(observed);
    let mut silence = note(4);
    silence.event = Event::SilenceExpired {
        id: "s1".into(),
        matchers: "alertname=Alert1".into(),
    };
    handle.audit_only(vec![silence]);
    assert_eq!(handle.close(Duration::from_secs(10)), service::Closed::Flushed);
    assert_eq!(
        file::scan(&store.incident(&id).file)
            .map(|s| s.records.len())
            .unwrap_or(0),
        4
    );
    assert_eq!(file::scan(&store.audit().file).map(|s| s.records.len()).unwrap_or(0), 1);
}

#[test]
fn close_on_a_full_disk_says_what_was_never_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let paths = store.incident(&id);
    let (handle, mut rx) = start_service(&store, Some(&id));
    wait_for(&mut rx, "the opened incident", opened);
    std::fs::remove_file(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("/dev/full", &paths.file).unwrap_or_else(|e| panic!("{e}"));
    handle.submit(vec![note(1), note(2)]);
    match handle.close(Duration::from_millis(600)) {
        service::Closed::Held { journal, audit, error } => {
            assert_eq!((journal, audit), (2, 0));
            assert!(error.contains("journal.jsonl"), "{error}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_resolved_incident_gives_way_to_one_declared_elsewhere() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, a) = store_with_incident(dir.path());
    let mut resolved = note(1);
    resolved.event = Event::StatusChanged {
        status: warroom::domain::incident::IncidentStatus::Resolved,
    };
    file::append(&store.incident(&a), &[resolved], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let (handle, mut rx) = start_service(&store, Some(&a));
    wait_for(&mut rx, "incident A", opened);
    // Another process declares incident B.
    let b = store
        .reserve_id("checkout errors", at(60))
        .unwrap_or_else(|e| panic!("{e}"));
    let declare = Pending {
        id: "01JQTESTB00000000000000000".into(),
        event: Event::IncidentDeclared {
            title: "checkout errors".into(),
            severity: IncidentSeverity::Sev3,
            commander: None,
        },
        ..note(2)
    };
    file::append(&store.incident(&b), &[declare], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let Msg::Journal(JournalEvent::Opened { id, entries, .. }) = wait_for(
        &mut rx,
        "incident B",
        |m| matches!(m, Msg::Journal(JournalEvent::Opened { id, .. }) if *id == b),
    ) else {
        unreachable!()
    };
    assert_eq!(id, b);
    assert!(Incident::from_entries(&entries).is_some_and(|i| i.is_open()));
    drop(handle);
}

#[test]
fn declarations_of_the_same_title_at_the_same_minute_get_their_own_journals() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::new(dir.path());
    let first = store.reserve_id("db failover", at(0)).unwrap_or_else(|e| panic!("{e}"));
    let second = store.reserve_id("db failover", at(0)).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(first, second, "a reserved id is never handed out again");

    let threads = 8;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|n| {
            let barrier = std::sync::Arc::clone(&barrier);
            let data = dir.path().join("cli");
            std::thread::spawn(move || {
                let ctx = warroom::commands::Ctx {
                    store: Store::new(&data),
                    actor: format!("user{n}"),
                    incident: None,
                    redactor: redactor(),
                    now: at(30),
                };
                let (mut out, mut err) = (Vec::new(), Vec::new());
                barrier.wait();
                let code =
                    warroom::commands::declare(&ctx, "checkout 5xx", IncidentSeverity::Sev2, None, &mut out, &mut err);
                assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
                String::from_utf8_lossy(&out).trim().to_string()
            })
        })
        .collect();
    let ids: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|_| panic!("a declaring thread panicked")))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), threads, "{ids:?}");
    let store = Store::new(&dir.path().join("cli"));
    for id in &ids {
        let scan = file::scan(&store.incident(id).file).unwrap_or_else(|e| panic!("{e}"));
        let declared = scan
            .records
            .iter()
            .filter(|r| matches!(r.body.event, Event::IncidentDeclared { .. }))
            .count();
        assert_eq!(declared, 1, "{id}");
    }
}

#[test]
fn a_damaged_journal_keeps_its_incident_visible_with_its_problem() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (store, id) = store_with_incident(dir.path());
    let paths = store.incident(&id);
    file::append(&paths, &[note(1), note(2), note(3)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&paths.file).unwrap_or_default();
    std::fs::write(&paths.file, text.replacen("note number 2", "note number X", 1)).unwrap_or_else(|e| panic!("{e}"));
    let info = store.read(&id).unwrap_or_else(|e| panic!("{e}"));
    assert!(info.incident.as_ref().is_some_and(|i| i.is_open()));
    assert_eq!(info.entries.len(), 3, "the declaration, note 1 and note 3 read");
    assert!(
        info.problem.as_deref().is_some_and(|p| p.contains("line 3")),
        "{:?}",
        info.problem
    );
    assert_eq!(store.active(), Some(id.clone()));
    let (handle, mut rx) = start_service(&store, None);
    let Msg::Journal(JournalEvent::Opened {
        id: opened_id,
        entries,
        notice,
    }) = wait_for(&mut rx, "the damaged incident", opened)
    else {
        unreachable!()
    };
    assert_eq!(opened_id, id);
    assert_eq!(entries.len(), 3);
    assert!(notice.is_some_and(|n| n.contains("line 3")));
    drop(handle);
}

#[test]
fn records_of_earlier_versions_with_an_original_hash_still_parse_and_verify() {
    use warroom::journal::record::{Body, Redaction, SCHEMA};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = JournalPaths::in_dir(dir.path());
    let old = Body {
        v: SCHEMA,
        seq: 1,
        id: note(1).id,
        incident: Some("test".into()),
        event: Event::Note {
            text: "[REDACTED:email] paged".into(),
            public: false,
        },
        occurred_at: at(1),
        recorded_at: at(1),
        actor: "alice".into(),
        summary: "[REDACTED:email] paged".into(),
        supersedes: None,
        redaction: Some(Redaction {
            rules: vec!["email".into()],
            original_sha256: Some("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8".into()),
        }),
        prev_hash: GENESIS.into(),
    }
    .seal();
    let line = old.to_line();
    assert!(String::from_utf8_lossy(&line).contains(r#""original_sha256":"5e88"#));
    std::fs::write(&paths.file, &line).unwrap_or_else(|e| panic!("{e}"));
    let (records, _) = file::append(&paths, &[note(2)], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let scan = file::scan(&paths.file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.records.len(), 2);
    assert_eq!(scan.records[0], old);
    assert_eq!(records[0].body.prev_hash, old.hash);
}

#[test]
fn an_event_that_cannot_be_redacted_is_replaced_never_written_as_it_was() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = JournalPaths::in_dir(dir.path());
    // A count that looks like a card number: redaction makes it a marker string, and the event
    // no longer fits its type.
    let card = ["4111", "1111", "1111", "1111"].concat();
    let mut p = note(1);
    p.event = Event::SilenceCreated {
        id: "s1".into(),
        matchers: "alertname=OdinHighErrorRate".into(),
        ends_at: at(3600),
        comment: "maintenance".into(),
        matched: card.parse().unwrap_or_else(|e| panic!("{e}")),
    };
    let (records, _) = file::append(&paths, &[p], &redactor()).unwrap_or_else(|e| panic!("{e}"));
    let on_disk = std::fs::read_to_string(&paths.file).unwrap_or_default();
    assert!(!on_disk.contains(&card), "{on_disk}");
    assert!(
        !on_disk.contains("alertname=OdinHighErrorRate"),
        "nothing of the original: {on_disk}"
    );
    match &records[0].body.event {
        Event::Note { text, public } => {
            assert!(text.contains("silence.created event could not be redacted"), "{text}");
            assert!(!public);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        records[0].body.redaction.as_ref().map(|r| r.rules.clone()),
        Some(vec!["card_number".to_string()])
    );
}
