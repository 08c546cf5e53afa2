//! Runbooks (docs/runbook-format.md): the parser (front matter, step ids, code-block attributes,
//! commands, verify steps, inputs, expansion and masking, lines in errors), the linter (each
//! finding on its line), the shipped runbooks (all parse and lint clean, and say what the OSR
//! says), `warroom runbook list | show | lint` and the runbook parts of `warroom check` through the
//! binary, and property tests: arbitrary text and Markdown-ish documents never panic.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;
use support::{run_warroom, text};

use chrono::NaiveDate;
use proptest::prelude::*;
use warroom::config::load::BUILTIN_RUNBOOKS;
use warroom::domain::runbook::{
    self, ExpandError, InputError, LintProblem, LintSeverity, Risk, Runbook, StepKind, expand, lint, lint_on, mask,
    parse,
};

fn ok(source: &str) -> Runbook {
    parse(source).unwrap_or_else(|e| panic!("{e}\n{source}"))
}

/// Findings as `line: severity: message`, for assertions that name lines.
fn findings(source: &str) -> Vec<String> {
    lint(source)
        .iter()
        .map(|p| format!("{}: {}: {}", p.line, p.severity.word(), p.message))
        .collect()
}

/// Asserts some finding is on `line`, of `severity`, and contains `text`.
fn assert_finding(source: &str, line: usize, severity: LintSeverity, text: &str) {
    let all = lint(source);
    assert!(
        all.iter()
            .any(|p| p.line == line && p.severity == severity && p.message.contains(text)),
        "no {} on line {line} containing {text:?}; found:\n{}",
        severity.word(),
        findings(source).join("\n")
    );
}

fn errors(problems: &[LintProblem]) -> Vec<&LintProblem> {
    problems.iter().filter(|p| p.severity == LintSeverity::Error).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const FULL: &str = r#"---
id: odin/api-errors
title: API errors
owner: team-odin
review_by: 2027-01-31
alerts: [OdinHighErrorRate]
labels:
  service: odin
  env: "=~prod|staging"
min_severity: warning
inputs:
  - name: namespace
    description: where Odin runs
    default: odin
    pattern: '[a-z0-9-]+'
  - name: port
    default: 5432
    pattern: '[0-9]+'
  - name: token
    secret: true
---

# Ignored heading (the title comes from the front matter)

Prose before the first step is the description.

- [ ] Look at the pods {#pods}
  ```sh {risk=read timeout=30s}
  kubectl -n {{namespace}} get pods
  ```
- [ ] Call the API
  ```bash {risk=write}
  curl -H "Authorization: Bearer {{ token }}" http://odin:{{port}}/api
  ```
- [ ] Errors are gone {#verify}
  ```promql verify {description="5xx under 1 %"}
  sum(rate(errors_total[5m])) < 0.01
  ```
- [ ] Tell the team
"#;

#[test]
fn front_matter_is_read_into_typed_fields() {
    let rb = ok(FULL);
    assert_eq!(rb.id, "odin/api-errors");
    assert_eq!(rb.title, "API errors");
    assert_eq!(rb.owner.as_deref(), Some("team-odin"));
    assert_eq!(rb.review_by, NaiveDate::from_ymd_opt(2027, 1, 31));
    assert_eq!(rb.alerts, ["OdinHighErrorRate"]);
    assert_eq!(rb.labels, map(&[("service", "odin"), ("env", "=~prod|staging")]));
    assert_eq!(rb.min_severity.as_deref(), Some("warning"));
    let names: Vec<&str> = rb.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["namespace", "port", "token"]);
    assert_eq!(rb.inputs[0].description.as_deref(), Some("where Odin runs"));
    assert_eq!(rb.inputs[0].pattern.as_deref(), Some("[a-z0-9-]+"));
    // A number written as a default is its text.
    assert_eq!(rb.inputs[1].default.as_deref(), Some("5432"));
    assert!(rb.inputs[2].secret && !rb.inputs[0].secret);
    assert_eq!(rb.inputs.iter().map(|i| i.line).collect::<Vec<_>>(), [12, 16, 19]);
    assert_eq!(rb.description, "Prose before the first step is the description.");
    assert_eq!(lint(FULL), vec![], "{:?}", findings(FULL));
}

#[test]
fn steps_have_kinds_lines_and_the_compat_command_field() {
    let rb = ok(FULL);
    let ids: Vec<&str> = rb.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["pods", "call-the-api", "verify", "tell-the-team"]);
    assert_eq!(rb.steps.iter().map(|s| s.line).collect::<Vec<_>>(), [27, 31, 35, 39]);
    let StepKind::Command(c) = &rb.steps[0].kind else {
        panic!("{:?}", rb.steps[0].kind)
    };
    assert_eq!(
        (c.lang.as_str(), c.risk, c.timeout, c.line),
        ("sh", Risk::Read, Duration::from_secs(30), 28)
    );
    assert_eq!(c.code, "kubectl -n {{namespace}} get pods");
    assert_eq!(rb.steps[0].command.as_deref(), Some(c.code.as_str()));
    let StepKind::Command(c) = &rb.steps[1].kind else {
        panic!("{:?}", rb.steps[1].kind)
    };
    assert_eq!(
        (c.lang.as_str(), c.risk, c.timeout),
        ("bash", Risk::Write, runbook::DEFAULT_TIMEOUT)
    );
    let StepKind::Verify(v) = &rb.steps[2].kind else {
        panic!("{:?}", rb.steps[2].kind)
    };
    assert_eq!(v.promql, "sum(rate(errors_total[5m])) < 0.01");
    assert_eq!(v.description.as_deref(), Some("5xx under 1 %"));
    assert_eq!(rb.steps[2].command, None);
    assert_eq!(rb.steps[3].kind, StepKind::Check);
    assert_eq!(Risk::Destructive.word(), "destructive");
}

#[test]
fn derived_ids_survive_rewording_and_inserting_other_steps() {
    let before = "# T\n- [ ] Check the pods\n- [ ] Drain the node\n- [ ] Tell the team\n";
    let after =
        "# T\n- [ ] Look at the pods first, carefully\n- [ ] A new step\n- [ ] Drain the node\n- [ ] Tell the team\n";
    let ids = |s: &str| ok(s).steps.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(before), ["check-the-pods", "drain-the-node", "tell-the-team"]);
    let after_ids = ids(after);
    assert!(after_ids.contains(&"drain-the-node".to_string()));
    assert!(after_ids.contains(&"tell-the-team".to_string()));
    // An explicit id does not move when its own text is reworded.
    let explicit = |text: &str| ok(&format!("# T\n- [ ] {text} {{#scope}}\n")).steps[0].id.clone();
    assert_eq!(explicit("Identify scope"), explicit("Identify the scope of the outage"));
}

#[test]
fn duplicate_ids_load_with_a_suffix_and_lint_names_the_line() {
    let src = "---\nid: t\ntitle: T\n---\n- [ ] a {#x}\n- [ ] b {#x}\n- [ ] Same words\n- [ ] Same words\n";
    let rb = ok(src);
    let ids: Vec<&str> = rb.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["x", "x-2", "same-words", "same-words-2"]);
    assert_finding(src, 6, LintSeverity::Error, "duplicate step id `x` (first on line 5)");
    assert_finding(src, 8, LintSeverity::Error, "duplicate step id `same-words`");
}

#[test]
fn loose_lists_nested_items_and_markup_still_make_steps() {
    let src = "---\nid: t\ntitle: T\n---\n- [ ] First, with `code` and *emphasis*\n\n  More prose, not the step's text.\n\n- [ ] Parent {#parent}\n  - [ ] Child\n    ```sh {risk=read}\n    ls\n    ```\n  - a plain bullet\n1. [ ] Numbered\n";
    let rb = ok(src);
    let texts: Vec<(&str, &str, usize)> = rb
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.text.as_str(), s.line))
        .collect();
    assert_eq!(
        texts,
        [
            ("first-with-code-and-emphasis", "First, with `code` and emphasis", 5),
            ("parent", "Parent", 9),
            ("child", "Child", 10),
            ("numbered", "Numbered", 15),
        ]
    );
    // The block belongs to the innermost step.
    assert!(matches!(rb.steps[2].kind, StepKind::Command(_)));
    assert_eq!(rb.steps[1].kind, StepKind::Check);
}

#[test]
fn a_missing_or_bad_risk_counts_as_destructive_and_is_an_error() {
    let src = "---\nid: t\ntitle: T\n---\n- [ ] a\n  ```sh\n  ls\n  ```\n- [ ] b\n  ```sh {risk=reed}\n  ls\n  ```\n";
    let rb = ok(src);
    for step in &rb.steps {
        assert!(
            matches!(&step.kind, StepKind::Command(c) if c.risk == Risk::Destructive),
            "{step:?}"
        );
    }
    assert_finding(src, 6, LintSeverity::Error, "this command has no risk");
    assert_finding(
        src,
        10,
        LintSeverity::Error,
        "risk \"reed\" must be read, write or destructive",
    );
}

#[test]
fn attributes_are_checked_on_the_fence_line() {
    let src = "---\nid: t\ntitle: T\n---\n- [ ] a\n  ```sh {risk=read timeout=forever name=x}\n  ls\n  ```\n- [ ] b\n  ```sh {risk=read timeout=0s}\n  ls\n  ```\n- [ ] c\n  ```promql verify {for=5m}\n  up\n  ```\n- [ ] d\n  ```text {risk=read}\n  output\n  ```\n- [ ] e\n  ```sh {risk=read risk=write}\n  ls\n  ```\n- [ ] f\n  ```sh {\"risk\": \"read\"}\n  ls\n  ```\n";
    assert_finding(src, 6, LintSeverity::Error, "timeout \"forever\" is not a duration");
    assert_finding(src, 6, LintSeverity::Error, "unknown attribute `name`");
    assert_finding(src, 10, LintSeverity::Error, "must be longer than 0");
    assert_finding(src, 14, LintSeverity::Error, "unknown attribute `for`");
    assert_finding(src, 18, LintSeverity::Error, "does not run, so it takes no attributes");
    assert_finding(src, 22, LintSeverity::Error, "attribute `risk` is given twice");
    assert_finding(src, 26, LintSeverity::Error, "write them as key=value");
    let rb = ok(src);
    assert!(matches!(&rb.steps[0].kind, StepKind::Command(c) if c.timeout == runbook::DEFAULT_TIMEOUT));
    assert_eq!(rb.steps[3].kind, StepKind::Check, "a text block is documentation");
}

#[test]
fn blocks_outside_steps_and_second_blocks_are_errors() {
    let src = "---\nid: t\ntitle: T\n---\n- [ ] a\n\n```sh {risk=read}\nls\n```\n\n```sh\necho docs only\n```\n\n- [ ] b\n  ```sh {risk=read}\n  ls\n  ```\n  ```promql verify\n  up\n  ```\n";
    assert_finding(src, 7, LintSeverity::Error, "not inside a step");
    assert_finding(src, 19, LintSeverity::Error, "already runs the block on line 16");
    // A plain sh block outside the steps is documentation: nothing said about line 11.
    assert!(lint(src).iter().all(|p| p.line != 11), "{:?}", findings(src));
    assert!(matches!(ok(src).steps[1].kind, StepKind::Command(_)));
}

#[test]
fn parse_errors_name_their_line() {
    let cases: [(&str, usize, &str); 6] = [
        ("---\nid: x\ntitle: T\n- [ ] a\n", 1, "not closed by a `---`"),
        ("---\nid: x\ntitle: [T\nowner: o\n---\n- [ ] a\n", 4, "not valid YAML"),
        ("---\n- a\n- b\n---\n- [ ] a\n", 2, "a YAML mapping"),
        ("---\nid: x\n---\n- [ ] a\n", 1, "no `title`"),
        ("# T\n\n- [ ] a\n  ```sh {risk=read}\n  ls\n- [ ] b\n", 4, "not closed"),
        ("# T\n- [ ] a\n```\nls\n", 3, "not closed"),
    ];
    for (src, line, text) in cases {
        let e = parse(src).err().unwrap_or_else(|| panic!("parsed:\n{src}"));
        assert_eq!(e.line, line, "{e} in:\n{src}");
        assert!(e.message.contains(text), "{e}");
        assert_finding(src, line, LintSeverity::Error, text);
    }
}

#[test]
fn front_matter_problems_are_on_their_key_lines() {
    let src = "---\nid: Bad Id\ntitle: T\nowner: [a]\nreview_by: next week\nalerts: OdinX\nlabels: {\"bad-label\": x, env: \"=~(\"}\nmin_severity: SEV3\nseverity: page\ninputs:\n  - name: ns\n    pattern: '[a-z'\n  - name: port\n    default: abc\n    pattern: '[0-9]+'\n  - name: pw\n    secret: true\n    default: hunter2\n  - name: ns\n  - name: 9x\n    colour: red\n---\n- [ ] {{ns}} {{port}} {{pw}}\n  ```sh {risk=read}\n  echo {{ns}} {{port}} {{pw}}\n  ```\n";
    assert_finding(src, 2, LintSeverity::Error, "id \"Bad Id\" must be lower-case");
    assert_finding(src, 4, LintSeverity::Error, "owner must be text");
    assert_finding(
        src,
        5,
        LintSeverity::Error,
        "review_by must be a date written YYYY-MM-DD",
    );
    assert_finding(src, 6, LintSeverity::Error, "alerts must be a list");
    assert_finding(src, 7, LintSeverity::Error, "\"bad-label\" is not a label name");
    assert_finding(src, 7, LintSeverity::Error, "labels.env");
    assert_finding(
        src,
        8,
        LintSeverity::Error,
        "min_severity \"SEV3\" is not an alert severity",
    );
    assert_finding(
        src,
        9,
        LintSeverity::Error,
        "unknown front matter key `severity` (did you mean `min_severity`?)",
    );
    assert_finding(
        src,
        12,
        LintSeverity::Error,
        "pattern is not a valid regular expression",
    );
    assert_finding(src, 14, LintSeverity::Error, "default does not fit");
    assert_finding(
        src,
        18,
        LintSeverity::Error,
        "secret input `pw` must not have a default",
    );
    assert_finding(src, 19, LintSeverity::Error, "input `ns` is declared twice");
    assert_finding(src, 20, LintSeverity::Error, "input name \"9x\"");
    assert_finding(src, 21, LintSeverity::Error, "unknown input key `colour`");
    // Still loads: none of that makes the runbook unusable.
    assert_eq!(ok(src).id, "Bad Id");
}

#[test]
fn inputs_used_and_declared_are_checked_both_ways() {
    let src = "---\nid: t\ntitle: T\nowner: o\nreview_by: 2030-01-01\ninputs:\n  - name: used\n    pattern: '[a-z]+'\n  - name: unused\n    pattern: '[a-z]+'\n  - name: loose\n---\n- [ ] a\n  ```sh {risk=read}\n  echo {{used}}\n  echo {{missing}} {{loose}}\n  ```\n- [ ] b\n  ```promql verify\n  up{job=\"{{other}}\"} == 1\n  ```\n";
    assert_finding(src, 16, LintSeverity::Error, "`{{missing}}` is not a declared input");
    assert_finding(src, 20, LintSeverity::Error, "`{{other}}` is not a declared input");
    assert_finding(
        src,
        9,
        LintSeverity::Warning,
        "input `unused` is declared but no step uses it",
    );
    assert_finding(
        src,
        11,
        LintSeverity::Warning,
        "input `loose` has no pattern but goes into a shell command",
    );
    assert!(
        lint(src).iter().all(|p| !p.message.contains("`used`")),
        "{:?}",
        findings(src)
    );
}

#[test]
fn review_dates_are_checked_against_the_given_day_only() {
    let src = "---\nid: t\ntitle: T\nowner: o\nreview_by: 2026-01-31\n---\n- [ ] a\n";
    assert_eq!(lint(src), vec![], "lint itself reads no clock");
    let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap_or_default();
    assert_eq!(lint_on(src, day(31)), vec![]);
    let late = lint_on(src, NaiveDate::from_ymd_opt(2026, 2, 1).unwrap_or_default());
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!((late[0].line, late[0].severity), (5, LintSeverity::Warning));
    assert!(late[0].message.contains("has passed"));
}

#[test]
fn small_things_are_said_too() {
    let src = "# Only a title\n\nSome prose.\n";
    assert_finding(src, 1, LintSeverity::Error, "no steps");
    assert_finding(src, 1, LintSeverity::Error, "no `id`");
    assert_finding(src, 1, LintSeverity::Warning, "no `owner`");
    assert_finding(src, 1, LintSeverity::Warning, "no `review_by`");
    assert_eq!(ok(src).id, "only-a-title");
    let checked = "---\nid: t\ntitle: T\nowner: o\nreview_by: 2030-01-01\n---\n- [x] done already\n- [ ] b\n  ```promql verify\n  x > bool 1\n  ```\n";
    assert_finding(checked, 7, LintSeverity::Warning, "checked in the file");
    assert_finding(checked, 9, LintSeverity::Warning, "`bool`");
}

#[test]
fn input_values_take_defaults_and_are_validated() {
    let rb = ok(FULL);
    let values = rb
        .input_values(&map(&[("token", "s3cret")]))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        values,
        map(&[("namespace", "odin"), ("port", "5432"), ("token", "s3cret")])
    );
    let bad = rb
        .input_values(&map(&[
            ("namespace", "odin; rm -rf /"),
            ("port", "54x"),
            ("extra", "1"),
        ]))
        .err()
        .unwrap_or_default();
    assert!(bad.contains(&InputError::Unknown { name: "extra".into() }), "{bad:?}");
    assert!(bad.contains(&InputError::Missing { name: "token".into() }), "{bad:?}");
    assert!(
        bad.iter()
            .any(|e| matches!(e, InputError::NoMatch { name, .. } if name == "namespace")),
        "the pattern is anchored: {bad:?}"
    );
    assert!(
        bad.iter()
            .any(|e| matches!(e, InputError::NoMatch { name, .. } if name == "port"))
    );
    // No pattern: any one-line value, but never a line break.
    assert!(
        rb.input_values(&map(&[("token", "a\nb")]))
            .err()
            .unwrap_or_default()
            .contains(&InputError::Control { name: "token".into() })
    );
}

#[test]
fn commands_expand_and_show_with_secrets_masked() {
    let rb = ok(FULL);
    let values = rb
        .input_values(&map(&[("token", "s3cret")]))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let code = rb.steps[1].command.clone().unwrap_or_default();
    assert_eq!(
        expand(&code, &values),
        Ok("curl -H \"Authorization: Bearer s3cret\" http://odin:5432/api".to_string())
    );
    let shown = mask(&code, &values, &rb.secret_names());
    assert_eq!(shown, "curl -H \"Authorization: Bearer ••••\" http://odin:5432/api");
    assert_eq!(
        expand(&code, &map(&[("port", "1")])),
        Err(ExpandError::Missing {
            names: vec!["token".into()]
        })
    );
    // Go templates and JSONPath keep their braces.
    let t = "kubectl get po -o go-template='{{.metadata.name}}' -o jsonpath='{.items[*]}'";
    assert_eq!(expand(t, &BTreeMap::new()).as_deref(), Ok(t));
}

#[test]
fn runbooks_apply_by_name_labels_and_minimum_severity() {
    let rb = ok(FULL);
    let labels = |sev: &str, env: &str| map(&[("service", "odin"), ("env", env), ("severity", sev)]);
    assert!(rb.applies_to("OdinHighErrorRate", &labels("page", "prod")));
    assert!(rb.applies_to("OdinHighErrorRate", &labels("warning", "staging")));
    assert!(
        !rb.applies_to("OdinHighErrorRate", &labels("info", "prod")),
        "below min_severity"
    );
    assert!(
        !rb.applies_to("OdinHighErrorRate", &labels("page", "dev")),
        "env does not match"
    );
    assert!(
        !rb.applies_to("OdinOther", &labels("page", "prod")),
        "not a listed alert"
    );
    assert!(
        rb.applies_to("OdinHighErrorRate", &map(&[("service", "odin"), ("env", "prod")])),
        "no severity label"
    );
    let by_labels = ok("---\nid: t\ntitle: T\nlabels: {team: db}\n---\n- [ ] a\n");
    assert!(by_labels.applies_to("Anything", &map(&[("team", "db")])));
    assert!(!by_labels.applies_to("Anything", &map(&[("team", "web")])));
    let by_hand = ok("---\nid: t\ntitle: T\n---\n- [ ] a\n");
    assert!(!by_hand.applies_to("Anything", &map(&[])));
}

// ---- The shipped runbooks ----

fn shipped() -> Vec<(&'static str, Runbook)> {
    BUILTIN_RUNBOOKS.iter().map(|(name, text)| (*name, ok(text))).collect()
}

fn shipped_runbook(id: &str) -> Runbook {
    shipped()
        .into_iter()
        .map(|(_, rb)| rb)
        .find(|rb| rb.id == id)
        .unwrap_or_else(|| panic!("no shipped runbook {id}"))
}

#[test]
fn every_shipped_runbook_parses_and_lints_clean() {
    // The day these were written: review dates must lie ahead of it (a fixed day, not the clock).
    let written = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap_or_default();
    let mut ids = BTreeSet::new();
    for (name, text) in BUILTIN_RUNBOOKS {
        let problems = lint_on(text, written);
        assert!(problems.is_empty(), "{name}:\n{problems:#?}");
        let rb = ok(text);
        assert_eq!(format!("{}.md", rb.id), name, "the file is named after the id");
        assert!(ids.insert(rb.id.clone()));
        assert!(
            rb.owner.is_some() && rb.review_by.is_some_and(|d| d > written),
            "{name}"
        );
        assert!(!rb.description.is_empty(), "{name}");
        for step in &rb.steps {
            if let StepKind::Command(c) = &step.kind {
                // Every command's inputs have defaults or are named by the responder; each value is
                // pattern-checked, so nothing unchecked reaches a shell.
                for (input, _) in runbook::placeholders(&c.code) {
                    assert!(rb.input(input).is_some_and(|i| i.pattern.is_some()), "{name}: {input}");
                }
            }
        }
    }
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        [
            "credential-abuse",
            "db-compromise",
            "db-saturation",
            "deployment",
            "high-error-rate",
            "rollback"
        ]
    );
}

#[test]
fn shipped_runbooks_change_the_world_only_where_the_osr_says_to() {
    let mut risky = Vec::new();
    for (_, rb) in shipped() {
        for step in &rb.steps {
            if let StepKind::Command(c) = &step.kind
                && c.risk != Risk::Read
            {
                risky.push(format!("{}/{} {}", rb.id, step.id, c.risk.word()));
            }
        }
    }
    assert_eq!(
        risky,
        [
            "db-compromise/isolate-database destructive",
            "db-compromise/forensic-snapshot write",
            "db-compromise/restore-snapshot destructive",
            "deployment/stage-preprod write",
            "deployment/canary write",
            "deployment/promote write",
            "rollback/revert destructive",
        ]
    );
}

#[test]
fn shipped_runbooks_follow_the_osr_playbooks() {
    let ids = |id: &str| -> Vec<String> { shipped_runbook(id).steps.into_iter().map(|s| s.id).collect() };
    // The demo's journal and teammates name these steps.
    assert_eq!(
        ids("high-error-rate"),
        [
            "identify-scope",
            "check-recent-deploys",
            "tail-logs",
            "rollback-or-hotfix",
            "verify-recovery"
        ]
    );
    let has_all = |id: &str, wanted: &[&str]| {
        let got = ids(id);
        for w in wanted {
            assert!(got.iter().any(|g| g == w), "{id} lacks {w}: {got:?}");
        }
    };
    has_all(
        "credential-abuse",
        &[
            "disable-or-rotate",
            "force-logout",
            "increase-auth-logging",
            "notify-security",
        ],
    );
    has_all(
        "db-compromise",
        &[
            "isolate-database",
            "forensic-snapshot",
            "identify-exposure",
            "restore-snapshot",
            "notify-stakeholders",
        ],
    );
    has_all(
        "deployment",
        &[
            "release-tag",
            "full-ci",
            "stage-preprod",
            "smoke-preprod",
            "canary",
            "watch-slos",
            "promote",
        ],
    );
    has_all(
        "rollback",
        &[
            "mark-incident",
            "revert",
            "smoke-test",
            "document-rollback",
            "close-after-rca",
        ],
    );
    // The canary is watched for 30 minutes of SLOs before promotion.
    let deployment = shipped_runbook("deployment");
    let watch = deployment.step("watch-slos").map(|s| s.kind.clone());
    assert!(
        matches!(&watch, Some(StepKind::Verify(v)) if v.promql.contains("[30m]")),
        "{watch:?}"
    );
    // The rollback reverts to the previous tag, confirmed by typing.
    let rollback = shipped_runbook("rollback");
    let revert = rollback.step("revert").map(|s| s.kind.clone());
    assert!(
        matches!(&revert, Some(StepKind::Command(c)) if c.risk == Risk::Destructive && c.code.contains("{{previous_version}}")),
        "{revert:?}"
    );
}

#[test]
fn shipped_runbooks_apply_to_the_alerts_they_are_for() {
    let runbooks: Vec<Runbook> = shipped().into_iter().map(|(_, rb)| rb).collect();
    let odin = |name: &str, severity: &str| {
        map(&[
            ("alertname", name),
            ("severity", severity),
            ("service", "odin"),
            ("env", "production"),
        ])
    };
    let applying = |name: &str, severity: &str| -> Vec<&str> {
        runbooks
            .iter()
            .filter(|r| r.applies_to(name, &odin(name, severity)))
            .map(|r| r.id.as_str())
            .collect()
    };
    assert_eq!(applying("OdinHighErrorRate", "page"), ["high-error-rate"]);
    assert_eq!(applying("OdinErrorBudgetFastBurn", "critical"), ["high-error-rate"]);
    assert_eq!(applying("OdinAuthFailureSpike", "page"), ["credential-abuse"]);
    assert_eq!(applying("OdinDBSaturation", "page"), ["db-saturation"]);
    assert_eq!(applying("OdinQueueBacklog", "info"), Vec::<&str>::new());
}

// ---- Through the binary ----

fn write(path: &Path, body: &str) -> String {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, body).unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

/// A config whose `[runbooks] dirs` is `runbooks/` beside it, and that directory.
fn config_with_runbooks(dir: &Path, extra: &str) -> (String, std::path::PathBuf) {
    let books = dir.join("runbooks");
    std::fs::create_dir_all(&books).unwrap_or_else(|e| panic!("{e}"));
    let config = write(
        &dir.join("config.toml"),
        &format!("{extra}\n[runbooks]\ndirs = [\"runbooks\"]\n"),
    );
    (config, books)
}

const BROKEN: &str = "---\nid: broken\ntitle: Broken\n---\n- [ ] a\n  ```sh {risk=read}\n  ls\n";
const SLOPPY: &str = "---\nid: sloppy\ntitle: Sloppy\nowner: o\nreview_by: 2099-01-01\n---\n- [ ] a\n  ```sh {risk=maybe}\n  ls {{where}}\n  ```\n";

#[test]
fn list_shows_every_runbook_with_what_it_applies_to() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_warroom(dir.path(), &["runbook", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("APPLIES TO"),
        "{stdout}"
    );
    assert_eq!(lines.len(), 7, "{stdout}");
    let row = lines
        .iter()
        .find(|l| l.starts_with("high-error-rate "))
        .unwrap_or_else(|| panic!("{stdout}"));
    for part in [
        "High Error Rate",
        "platform-oncall",
        "2027-03-01",
        " 5 ",
        "OdinHighErrorRate, OdinErrorBudgetFastBurn",
    ] {
        assert!(row.contains(part), "{part:?} not in {row:?}");
    }
}

#[test]
fn list_names_runbooks_that_do_not_load_and_exits_2() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (config, books) = config_with_runbooks(dir.path(), "");
    let broken = write(&books.join("broken.md"), BROKEN);
    let out = run_warroom(dir.path(), &["runbook", "list", "--config", &config]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("rollback"), "the others are listed");
    assert!(
        text(&out.stderr).contains(&format!("{broken}:6: this code block is not closed")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn show_prints_steps_with_ids_kinds_risks_and_sanitised_commands() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_warroom(dir.path(), &["runbook", "show", "rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for part in [
        "rollback — Rollback Procedure",
        "previous_version (required)",
        "revert  [command · sh · risk destructive · timeout 6m]",
        "$ kubectl -n '{{namespace}}' set image",
        "verify-error-rate  [verify]",
        "? sum(rate(odin_http_request_duration_seconds_count",
        "close-after-rca  [check]",
    ] {
        assert!(stdout.contains(part), "{part:?} not in:\n{stdout}");
    }
    // A hidden bidi override in a command is made visible, never printed raw.
    let (config, books) = config_with_runbooks(dir.path(), "");
    write(
        &books.join("bidi.md"),
        "---\nid: bidi\ntitle: Bidi\n---\n- [ ] a\n  ```sh {risk=read}\n  echo safe \u{202e}fr- mr\n  ```\n",
    );
    let out = run_warroom(dir.path(), &["runbook", "show", "bidi", "--config", &config]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("⟪RLO⟫") && !stdout.contains('\u{202e}'), "{stdout}");
    let out = run_warroom(dir.path(), &["runbook", "show", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no runbook \"nope\" (known: high-error-rate"));
}

#[test]
fn lint_reports_file_and_line_and_exits_1_only_on_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_warroom(dir.path(), &["runbook", "lint"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "6 runbooks: 0 errors, 0 warnings\n");

    let sloppy = write(&dir.path().join("books/sloppy.md"), SLOPPY);
    let out = run_warroom(dir.path(), &["runbook", "lint", &sloppy]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{sloppy}:8: error: risk \"maybe\"")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{sloppy}:9: error: `{{{{where}}}}` is not a declared input")),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 runbook: 2 errors, 0 warnings\n"), "{stdout}");

    // Warnings alone pass; a directory stands for its *.md files.
    let fine = "---\nid: fine\ntitle: Fine\nreview_by: 2099-01-01\n---\n- [ ] a\n";
    let books = dir.path().join("fine");
    write(&books.join("fine.md"), fine);
    write(&books.join("notes.txt"), "not a runbook");
    let out = run_warroom(dir.path(), &["runbook", "lint", &books.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains(":2: warning: no `owner`"),
        "{}",
        text(&out.stdout)
    );

    let missing = dir.path().join("missing.md").display().to_string();
    let out = run_warroom(dir.path(), &["runbook", "lint", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains(&format!("{missing}: error: cannot read")));
}

#[test]
fn lint_without_paths_covers_the_configured_directories_even_broken_ones() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (config, books) = config_with_runbooks(dir.path(), "");
    let broken = write(&books.join("broken.md"), BROKEN);
    let out = run_warroom(dir.path(), &["runbook", "lint", "--config", &config]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{broken}:6: error: this code block is not closed")),
        "{stdout}"
    );
    assert!(stdout.contains("7 runbooks: 1 error"), "{stdout}");
    // An unusable configuration is exit 2.
    let bad = write(&dir.path().join("bad.toml"), "[runbooks]\ndirs = 3\n");
    assert_eq!(
        run_warroom(dir.path(), &["runbook", "lint", "--config", &bad])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn check_includes_the_lint_and_fails_on_its_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (config, books) = config_with_runbooks(dir.path(), "");
    let sloppy = write(&books.join("sloppy.md"), SLOPPY);
    let out = run_warroom(dir.path(), &["check", "--offline", "--config", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{sloppy}:8: error: risk \"maybe\"")),
        "{stderr}"
    );
    std::fs::remove_file(&sloppy).unwrap_or_else(|e| panic!("{e}"));
    write(
        &books.join("old.md"),
        "---\nid: old\ntitle: Old\nowner: o\nreview_by: 2020-01-01\n---\n- [ ] a\n",
    );
    let out = run_warroom(dir.path(), &["check", "--offline", "--config", &config]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "warnings do not fail: {}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("old.md:5: warning: review_by 2020-01-01 has passed"));
}

/// A loopback Prometheus: `/api/v1/rules` answers `rules`, everything else 200 "OK".
fn prometheus(rules: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let body = if request.starts_with("GET /api/v1/rules") {
                rules
            } else {
                "OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn check_lists_alerting_rules_without_a_runbook_as_warnings() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = prometheus(
        r#"{"status":"success","data":{"groups":[{"name":"odin","file":"odin.rules.yml","rules":[
        {"type":"alerting","name":"OdinHighErrorRate","labels":{"severity":"page"},"annotations":{"runbook_url":"runbook://high-error-rate"}},
        {"type":"alerting","name":"OdinDBSaturation","labels":{"severity":"page"},"annotations":{}},
        {"type":"alerting","name":"OdinQueueBacklog","labels":{"severity":"info"},"annotations":{}},
        {"type":"alerting","name":"OdinTLSCertExpiry","labels":{},"annotations":{"runbook_url":"runbook://tls"}},
        {"type":"recording","name":"odin:ratio","query":"1"}]}]}}"#,
    );
    let config = write(
        &dir.path().join("config.toml"),
        &format!("[prometheus]\nurl = \"{url}\"\n"),
    );
    let out = run_warroom(dir.path(), &["check", "--config", &config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: alerting rule OdinQueueBacklog (group \"odin\" in odin.rules.yml): no runbook_url"),
        "{stderr}"
    );
    assert!(stderr.contains("OdinTLSCertExpiry") && stderr.contains("runbook://tls names no known runbook"));
    assert!(
        !stderr.contains("OdinHighErrorRate") && !stderr.contains("OdinDBSaturation"),
        "{stderr}"
    );
    assert!(text(&out.stdout).ends_with("ok\n"));
    // Offline, Prometheus is not asked.
    let out = run_warroom(dir.path(), &["check", "--offline", "--config", &config]);
    assert!(!text(&out.stderr).contains("alerting rule"));
}

// ---- Properties ----

fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n)
}

/// Lines built from the format's own pieces, so the parser's interesting paths are reached.
fn markdownish() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        3 => proptest::sample::select(vec![
            "---", "...", "id: x", "title: T", "owner: o", "review_by: 2027-01-01", "review_by: 2027-13-45",
            "alerts: [A, B]", "alerts: 3", "labels: {a: b, c: \"=~(\"}", "min_severity: page",
            "inputs:", "  - name: ns", "    pattern: '[a-z]+'", "    pattern: '('", "    default: x",
            "    secret: true", "- [ ] step", "- [x] done", "  - [ ] nested", "1. [ ] numbered",
            "- [ ] with id {#id}", "- [ ] {#}", "- plain", "  ```sh {risk=read timeout=5s}", "```",
            "  ```", "~~~", "```promql verify", "  ```sh {risk=", "  ```sh {a=\"b", "```text {x}",
            "  echo {{ns}} {{missing}}", "  up > bool 1", "# Title", "## Section", "> quote",
            "<!-- comment", "-->", "| a | b |", "|---|---|", "", "  ", "\t- [ ] tab",
        ]).prop_map(str::to_string),
        1 => "[ -~]{0,40}",
        1 => proptest::collection::vec(any::<char>(), 0..12).prop_map(|v| v.into_iter().collect::<String>()),
    ];
    proptest::collection::vec(line, 0..40).prop_map(|lines| lines.join("\n"))
}

fn check_document(source: &str) -> Result<(), TestCaseError> {
    let problems = lint(source);
    let day = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap_or_default();
    let dated = lint_on(source, day);
    prop_assert!(dated.len() >= problems.len());
    let line_count = source.lines().count().max(1) + 1;
    for p in &problems {
        prop_assert!(
            p.line >= 1 && p.line <= line_count,
            "line {} of {}: {:?}",
            p.line,
            line_count,
            p
        );
    }
    match parse(source) {
        Err(e) => {
            // What stops loading is among lint's errors, on the same line.
            prop_assert!(
                errors(&problems)
                    .iter()
                    .any(|p| p.line == e.line && p.message == e.message),
                "{e} not in {problems:?}"
            );
        }
        Ok(rb) => {
            let ids: BTreeSet<&str> = rb.steps.iter().map(|s| s.id.as_str()).collect();
            prop_assert_eq!(ids.len(), rb.steps.len(), "step ids are unique");
            prop_assert!(rb.steps.windows(2).all(|w| w[0].line <= w[1].line));
            for step in &rb.steps {
                if let StepKind::Command(c) = &step.kind {
                    prop_assert!(c.timeout > Duration::ZERO && c.timeout <= runbook::MAX_TIMEOUT);
                    prop_assert_eq!(step.command.as_deref(), Some(c.code.as_str()));
                }
                let code = step.command.clone().unwrap_or_default();
                let values: BTreeMap<String, String> = runbook::placeholders(&code)
                    .into_iter()
                    .map(|(n, _)| (n.to_string(), "v".to_string()))
                    .collect();
                let expanded = expand(&code, &values);
                prop_assert!(expanded.is_ok(), "{expanded:?}");
                let secrets: BTreeSet<String> = values.keys().cloned().collect();
                let shown = mask(&code, &values, &secrets);
                prop_assert!(runbook::placeholders(&shown).is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(1_000)))]

    #[test]
    fn arbitrary_text_never_panics(source in proptest::collection::vec(any::<char>(), 0..400)
        .prop_map(|v| v.into_iter().collect::<String>())) {
        check_document(&source)?;
        check_document(&format!("---\n{source}\n---\n- [ ] a\n"))?;
    }

    #[test]
    fn markdownish_documents_never_panic_and_agree_with_lint(source in markdownish()) {
        check_document(&source)?;
        check_document(&format!("---\nid: p\ntitle: P\n---\n{source}"))?;
    }

    #[test]
    fn expansion_and_masking_never_panic(template in "[{} a-z_.\\-]{0,60}") {
        let names: Vec<String> = runbook::placeholders(&template).iter().map(|(n, _)| n.to_string()).collect();
        let values: BTreeMap<String, String> = names.iter().map(|n| (n.clone(), "X".to_string())).collect();
        prop_assert!(expand(&template, &values).is_ok());
        let shown = mask(&template, &BTreeMap::new(), &BTreeSet::new());
        prop_assert_eq!(&shown, &template, "with no values, masking changes nothing");
        if !names.is_empty() {
            prop_assert!(expand(&template, &BTreeMap::new()).is_err());
        }
    }
}

#[test]
fn deep_nesting_and_long_documents_do_not_overflow() {
    let deep_yaml = format!("---\nid: {}\n---\n- [ ] a\n", "[".repeat(10_000));
    assert!(parse(&deep_yaml).is_err());
    let deep_lists = format!(
        "# T\n{}\n",
        (0..2_000)
            .map(|i| format!("{}- [ ] s{i}", "  ".repeat(i)))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let _ = lint(&deep_lists);
    let quotes = format!("# T\n{}- [ ] q\n", ">".repeat(10_000));
    let _ = lint(&quotes);
    let braces = format!(
        "# T\n- [ ] a\n  ```sh {{risk=read}}\n  {}\n  ```\n",
        "{{".repeat(50_000)
    );
    assert!(runbook::placeholders(&ok(&braces).steps[0].command.clone().unwrap_or_default()).is_empty());
}

#[test]
fn windows_line_endings_read_the_same() {
    let src =
        "---\r\nid: t\r\ntitle: T\r\n---\r\n- [ ] a {#a}\r\n  ```sh {risk=read}\r\n  ls\r\n  echo hi\r\n  ```\r\n";
    let rb = ok(src);
    assert_eq!((rb.steps[0].id.as_str(), rb.steps[0].line), ("a", 5));
    assert_eq!(
        rb.steps[0].command.as_deref(),
        Some("ls\necho hi"),
        "no carriage returns reach a shell"
    );
}
