//! Journal benchmarks (criterion): group-committed append throughput, a single note from call to
//! durable, and `verify` (a full scan) over one million records.
//! Run: `cargo bench --bench journal` (`-- "typed note"` for the service figure alone); figures go
//! to docs/performance.md.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use warroom::domain::redact::{RedactionRules, Redactor};
use warroom::domain::timeline::Event;
use warroom::journal::file::{self, JournalPaths, Pending};
use warroom::journal::record::{Body, GENESIS, SCHEMA};

fn pending(n: u64) -> Pending {
    let at = Utc.with_ymd_and_hms(2026, 3, 14, 10, 0, 0).single().unwrap_or_default();
    Pending {
        id: format!("01JQBENCH{n:017}"),
        incident: Some("bench".into()),
        occurred_at: at,
        recorded_at: at,
        actor: "warroom".into(),
        event: Event::AlertFired {
            alertname: "OdinHighErrorRate".into(),
            fingerprint: format!("{n:016x}"),
            severity: "page".into(),
            summary: "5xx ratio is 8.0% over 5m (page above 5%)".into(),
        },
        supersedes: None,
    }
}

fn append(c: &mut Criterion) {
    let redactor = Redactor::new(RedactionRules::default());
    let mut group = c.benchmark_group("journal append (fsync per batch)");
    group.sample_size(20);
    for batch in [1u64, 64] {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = JournalPaths::in_dir(&dir.path().join("inc"));
        let events: Vec<Pending> = (0..batch).map(pending).collect();
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &events, |b, events| {
            b.iter(|| file::append(&paths, events, &redactor).expect("append"))
        });
    }
    group.finish();
}

/// A journal of `n` records written in one go (sealed and chained like real ones).
fn big_journal(dir: &std::path::Path, n: u64) -> std::path::PathBuf {
    let path = dir.join("journal.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut prev = GENESIS.to_string();
    for seq in 1..=n {
        let p = pending(seq);
        let record = Body {
            v: SCHEMA,
            seq,
            id: p.id,
            incident: p.incident,
            summary: p.event.summary(),
            event: p.event,
            occurred_at: p.occurred_at,
            recorded_at: p.recorded_at,
            actor: p.actor,
            supersedes: None,
            redaction: None,
            prev_hash: prev,
        }
        .seal();
        prev = record.hash.clone();
        out.write_all(&record.to_line()).expect("write");
    }
    out.flush().expect("flush");
    path
}

fn verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = 1_000_000;
    let path = big_journal(dir.path(), n);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("verify: {n} records, {:.0} MB", size as f64 / 1e6);
    let mut group = c.benchmark_group("journal verify");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements(n));
    group.bench_function("scan 1M records", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                let scan = file::scan(&path).expect("scan");
                assert_eq!(scan.records.len() as u64, n);
            }
            started.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, append, verify);
criterion_main!(benches, service);

/// A typed note through the cockpit's journal service: from submit to the durable report.
fn typed_note(c: &mut Criterion) {
    use warroom::app::msg::Msg;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = warroom::journal::store::Store::new(dir.path());
    let id = "20260314-1000-bench";
    file::append(
        &store.incident(id),
        &[Pending {
            event: Event::IncidentDeclared {
                title: "bench".into(),
                severity: warroom::domain::incident::IncidentSeverity::Sev3,
                commander: None,
            },
            ..pending(0)
        }],
        &Redactor::new(RedactionRules::default()),
    )
    .expect("declare");
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let handle = warroom::journal::service::start(store, Redactor::new(RedactionRules::default()), Some(id.into()), tx)
        .expect("service");
    // Drain the opening report.
    let _ = rx.blocking_recv();
    let mut n = 0u64;
    c.bench_function("typed note: submit to durable (service)", |b| {
        b.iter(|| {
            n += 1;
            let mut note = pending(1_000_000 + n);
            note.event = Event::Note {
                text: format!("note {n}"),
                public: false,
            };
            note.actor = "alice".into();
            let id = note.id.clone();
            handle.submit(vec![note]);
            // Until this very note is reported durable (not any earlier report still in flight).
            loop {
                match rx.blocking_recv() {
                    Some(Msg::Recorded(entries)) if entries.iter().any(|e| e.id == id) => break,
                    Some(_) => {}
                    None => panic!("the journal service stopped"),
                }
            }
        })
    });
}

criterion_group!(service, typed_note);
