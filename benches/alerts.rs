//! Alert benchmarks (criterion): parse an Alertmanager answer of 10,000 alerts, merge two HA
//! members, and turn them into the Alerts pane's grouped rows; refresh with a new snapshot; and
//! the memory the pane holds for 10,000 alerts (counted by a global allocator, printed once).
//! Run: `cargo bench --bench alerts`; figures go to docs/performance.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use warroom::app::panes::alerts::AlertsPane;
use warroom::sources::alertmanager::{merge, parse_alerts};
use warroom::sources::http::Response;

/// Counts the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_900_000, 0).unwrap_or_default()
}

/// An Alertmanager `GET /api/v2/alerts` body of `n` alerts shaped like a large fleet's: 200 alert
/// names over 50 services, instance and pod labels, a summary and a runbook link, a tenth silenced.
fn body(n: usize, shift: i64) -> Vec<u8> {
    let alerts: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let name = format!("Alert{:03}", i % 200);
            let service = format!("svc-{:02}", i % 50);
            let severity = ["page", "critical", "warning", "info"][i % 4];
            let silenced: Vec<String> = if i % 10 == 0 {
                vec!["6246c048-1609-45a0-b6e3-b8b938eb74f2".into()]
            } else {
                vec![]
            };
            let state = if silenced.is_empty() { "active" } else { "suppressed" };
            let starts = start() + Duration::seconds(i as i64 % 3600 + shift);
            serde_json::json!({
                "annotations": {
                    "summary": format!("{name} on {service}: error ratio 7.3% over 5m (threshold 5%)"),
                    "runbook_url": format!("https://runbooks.example.invalid/{name}")
                },
                "endsAt": "2026-11-28T23:00:39.813Z",
                "fingerprint": format!("{:016x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                "receivers": [{"name": "pager"}],
                "startsAt": starts.to_rfc3339(),
                "status": {"inhibitedBy": [], "silencedBy": silenced, "state": state},
                "updatedAt": "2026-11-28T23:00:19.817Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
                "labels": {
                    "alertname": name,
                    "service": service,
                    "severity": severity,
                    "instance": format!("10.0.{}.{}:9100", i / 250, i % 250),
                    "pod": format!("{service}-7d9f8c-{i:05}"),
                    "namespace": "prod",
                    "job": "node"
                }
            })
        })
        .collect();
    serde_json::to_vec(&alerts).unwrap_or_default()
}

const N: usize = 10_000;

/// One run of each stage, timed, for the breakdown in docs/performance.md.
fn stages(body: &[u8]) {
    let response = Response {
        status: 200,
        body: body.to_vec(),
    };
    let t = std::time::Instant::now();
    let parsed = parse_alerts(&response).unwrap_or_default();
    let parse = t.elapsed();
    let second = parse_alerts(&response).unwrap_or_default();
    let t = std::time::Instant::now();
    let merged_two = merge(vec![parsed.clone(), second]);
    let merge_two = t.elapsed();
    let t = std::time::Instant::now();
    let merged = merge(vec![parsed]);
    let merge_one = t.elapsed();
    let mut book = warroom::domain::alert::AlertBook::default();
    let t = std::time::Instant::now();
    book.apply_snapshot(merged, start());
    let apply = t.elapsed();
    let all: Vec<usize> = (0..book.alerts().len()).collect();
    let t = std::time::Instant::now();
    let groups = warroom::domain::alert::group(book.alerts(), &all, &["alertname".into(), "service".into()]);
    let grouping = t.elapsed();
    println!(
        "stages (one run): parse {parse:?}, merge of one member {merge_one:?}, merge of two {merge_two:?} ({} alerts), book {apply:?}, grouping {grouping:?} ({} groups)",
        merged_two.len(),
        groups.len()
    );
}

fn pane_from(bodies: &[Vec<u8>]) -> AlertsPane {
    let members = bodies
        .iter()
        .map(|b| {
            parse_alerts(&Response {
                status: 200,
                body: b.clone(),
            })
            .unwrap_or_default()
        })
        .collect();
    let mut pane = AlertsPane::default();
    pane.apply_snapshot(merge(members), start());
    pane
}

fn bench(c: &mut Criterion) {
    let one = body(N, 0);
    let later = body(N, 7);
    println!("Alertmanager answer for {N} alerts: {} bytes", one.len());

    // Memory the pane holds for 10,000 alerts (book, groups, rows), after parsing is done.
    let before = LIVE.load(Ordering::Relaxed);
    let pane = pane_from(std::slice::from_ref(&one));
    let held = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "memory held by the Alerts pane for {N} alerts: {:.1} MiB ({} bytes per alert), {} rows",
        held as f64 / (1024.0 * 1024.0),
        held / N as isize,
        pane.rows().len()
    );
    drop(pane);
    stages(&one);

    c.bench_function("parse 10k alerts into pane rows", |b| {
        b.iter(|| pane_from(std::slice::from_ref(&one)))
    });
    c.bench_function("parse and merge 2 HA members x 10k into pane rows", |b| {
        b.iter(|| pane_from(&[one.clone(), one.clone()]))
    });
    c.bench_function("refresh: apply a new 10k snapshot to a pane of 10k", |b| {
        let mut pane = pane_from(std::slice::from_ref(&one));
        let next = merge(vec![
            parse_alerts(&Response {
                status: 200,
                body: later.clone(),
            })
            .unwrap_or_default(),
        ]);
        b.iter(|| pane.apply_snapshot(next.clone(), start() + Duration::seconds(30)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
