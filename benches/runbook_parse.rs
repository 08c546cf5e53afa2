//! Runbook parse and lint time against document size (criterion): a runbook of 1×, 10× and 100×
//! the steps of a typical one (front matter with inputs, command, verify and check steps), so the
//! figures show whether time grows linearly. No test asserts wall-clock time; the figures are
//! recorded in docs/performance.md. Run: `cargo bench --bench runbook_parse`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use warroom::domain::runbook::{lint, parse};

/// A runbook whose body repeats a block of five steps `copies` times (ids kept unique).
fn document(copies: usize) -> String {
    let mut doc = String::from(
        "---\nid: bench\ntitle: Bench\nowner: team\nreview_by: 2030-01-01\nalerts: [OdinHighErrorRate]\nmin_severity: warning\ninputs:\n  - name: namespace\n    default: odin\n    pattern: '[a-z0-9-]+'\n  - name: prometheus_url\n    default: http://prometheus:9090\n    pattern: 'https?://[A-Za-z0-9.:/-]+'\n---\n\n# Bench\n\nThe prose before the steps, with *some* `markup` and a [link](https://example.invalid).\n\n",
    );
    for i in 0..copies {
        doc.push_str(&format!(
            "- [ ] Identify scope: which service, endpoints and status codes carry the errors {{#scope-{i}}}\n  ```sh {{risk=read timeout=30s}}\n  promtool query instant '{{{{prometheus_url}}}}' 'topk(10, sum by (route) (rate(x_count{{code=~\"5..\"}}[5m])))'\n  ```\n- [ ] Check recent deploys and migrations (anything in the last hour is a suspect)\n  ```sh {{risk=read}}\n  kubectl -n '{{{{namespace}}}}' rollout history deployment/odin\n  ```\n- [ ] Roll back if it is a regression {{#rollback-{i}}}\n  - See the Rollback Procedure runbook.\n- [ ] Verify recovery: 5xx ratio back under 1 % {{#verify-{i}}}\n  ```promql verify {{description=\"under 1 %\"}}\n  sum(rate(x_count{{code=~\"5..\"}}[5m])) / sum(rate(x_count[5m])) < 0.01\n  ```\n- [ ] Tell the team, step {i}\n"
        ));
    }
    doc
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("runbook");
    for copies in [1, 10, 100] {
        let doc = document(copies);
        assert!(parse(&doc).is_ok_and(|rb| rb.steps.len() == 5 * copies));
        group.throughput(Throughput::Bytes(doc.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse", format!("{copies}x")), &doc, |b, doc| {
            b.iter(|| parse(std::hint::black_box(doc)))
        });
        group.bench_with_input(BenchmarkId::new("lint", format!("{copies}x")), &doc, |b, doc| {
            b.iter(|| lint(std::hint::black_box(doc)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
