//! Redaction through the public API (`warroom::domain::redact`): a paragraph with one planted secret
//! of each kind leaves none of them behind, in text and in JSON, under both profiles; adversarial
//! inputs stay fast (the regex engine is linear-time); 10,000 short lines are cheap.
//! Secrets are assembled at run time so that secret scanners do not flag this file.

use serde_json::json;
use warroom::domain::redact::{RULE_NAMES, RedactionRules, Redactor, marker};

/// (rule, the planted text, the parts of it that must not survive).
fn planted() -> Vec<(&'static str, String, Vec<String>)> {
    let bearer = ["kJ8s2LqP0xN4", "vR7tY1wZ3mB6"].concat();
    let jwt = [
        "eyJhbGciOiJSUzI1NiJ9",
        "eyJzdWIiOiJvcHMtYm90In0",
        "c2lnbmF0dXJlLXBhcnQtb25l",
    ]
    .join(".");
    let akid = ["ASIA", "Q7X2M9K4B8N1P3R5"].concat();
    let skey = ["h8Kd93Lq0Zx7Vb2Nm5Tr", "1Wc6Yp4Ge9Ja3Sf8Ud0/"].concat();
    let pem_body = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\nZ1BjP5CE/Wm/Rr500P+6ZbXqSnB4mWbEQHeEa";
    let pem = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{pem_body}\n-----END OPENSSH PRIVATE KEY-----");
    vec![
        (
            "bearer_token",
            format!("Authorization: Bearer {bearer}"),
            vec![bearer.clone()],
        ),
        ("jwt", jwt.clone(), vec![jwt.clone(), "c2lnbmF0dXJlLXBhcnQtb25l".into()]),
        (
            "aws_access_key",
            akid.clone(),
            vec![akid.clone(), "Q7X2M9K4B8N1P3R5".into()],
        ),
        (
            "aws_access_key",
            format!("aws_secret_access_key={skey}"),
            vec![skey.clone()],
        ),
        ("private_key", pem, pem_body.lines().map(str::to_owned).collect()),
        (
            "url_password",
            "amqps://svc:Tr0ub4dor&3@mq.example.net:5671/".into(),
            vec!["Tr0ub4dor&3".into()],
        ),
        (
            "url_password",
            "postgres://svc:Kx9/q2Lm@db.example.net/app".into(),
            vec!["Kx9/q2Lm".into(), "q2Lm".into()],
        ),
        (
            "email",
            "oncall.lead+pager@example.org".into(),
            vec!["oncall.lead".into(), "pager@example.org".into()],
        ),
        ("ip_address", "198.51.100.23".into(), vec!["198.51.100.23".into()]),
        ("ip_address", "2001:db8:1f::7".into(), vec!["2001:db8:1f::7".into()]),
        (
            "card_number",
            "5555 5555 5555 4444".into(),
            vec!["5555 5555 5555 4444".into(), "4444".into()],
        ),
    ]
}

fn paragraph() -> String {
    let mut text = String::from("Incident note: web-1 returned 502 at 10:05:33 after deploy v1.4.2 on 2026.11.28.");
    for (i, (_, secret, _)) in planted().iter().enumerate() {
        text.push_str(&format!("\n step {i}: saw {secret}, then retried."));
    }
    text
}

#[test]
fn no_planted_secret_survives_in_text() {
    for rules in [RedactionRules::default(), RedactionRules::strict()] {
        let (out, fired) = Redactor::new(rules.clone()).redact(&paragraph());
        for (rule, _, parts) in planted() {
            assert!(fired.contains(&rule), "{rule} did not fire ({rules:?}): {out}");
            assert!(out.contains(&marker(rule)));
            for part in parts {
                assert!(!out.contains(&part), "{rule}: {part:?} survived ({rules:?}):\n{out}");
            }
        }
        // The text around the secrets is kept.
        assert!(out.starts_with("Incident note: web-1 returned 502 at 10:05:33 after deploy v1.4.2 on 2026.11.28."));
        assert_eq!(out.matches(", then retried.").count(), planted().len());
        let mut sorted = fired.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(fired, sorted);
        assert!(fired.iter().all(|f| RULE_NAMES.contains(f)));
    }
}

#[test]
fn no_planted_secret_survives_in_json() {
    let original = json!({
        "message": paragraph(),
        "lines": planted().into_iter().map(|(_, s, _)| s).collect::<Vec<_>>(),
        "nested": { "deeper": [{ "annotation": planted()[1].1 }] },
    });
    let mut value = original.clone();
    let fired = Redactor::new(RedactionRules::default()).redact_json(&mut value);
    let stored = json!({ "value": value, "redacted": fired }).to_string();
    for (rule, _, parts) in planted() {
        assert!(fired.contains(&rule), "{rule}");
        for part in parts {
            // In JSON text a newline is escaped; compare against both forms.
            assert!(!stored.contains(&part), "{rule}: {part:?} survived");
            assert!(
                !stored.contains(&part.replace('\n', "\\n")),
                "{rule}: {part:?} survived"
            );
        }
    }
    assert_ne!(value, original);
}

#[test]
fn strict_profile_redacts_more() {
    let text = "scrape http://prometheus.internal:9090/api/v1/query?query=up from db-2.corp";
    let (journal, fired) = Redactor::new(RedactionRules::default()).redact(text);
    assert_eq!(journal, text);
    assert!(fired.is_empty());
    let (public, fired) = Redactor::new(RedactionRules::strict()).redact(text);
    assert_eq!(
        public,
        "scrape http://[REDACTED:internal_host]:9090/api/v1/query?[REDACTED:url_query] from [REDACTED:internal_host]"
    );
    assert_eq!(fired, vec!["internal_host", "url_query"]);
}

#[test]
fn ten_thousand_short_lines() {
    let redactor = Redactor::new(RedactionRules::strict());
    let lines: Vec<String> = (0..10_000)
        .map(|i| match i % 4 {
            0 => format!(
                "GET /api/v1/items/{i} 200 in {}ms from 10.0.{}.{}",
                i % 500,
                i % 256,
                (i * 7) % 256
            ),
            1 => format!("user{i}@example.com acked alert HighLatency-{i}"),
            2 => format!("request_id={i:016} span=abc{i:x} ok"),
            _ => format!("plain log line number {i} with nothing secret in it"),
        })
        .collect();
    let mut redacted = 0;
    for line in &lines {
        let (out, fired) = redactor.redact(line);
        if !fired.is_empty() {
            redacted += 1;
            assert!(out.contains("[REDACTED:"));
        } else {
            assert_eq!(&out, line);
        }
    }
    assert_eq!(redacted, 5_000);
}

#[test]
fn adversarial_inputs_stay_linear() {
    let redactor = Redactor::new(RedactionRules::strict());
    let inputs = [
        "a".repeat(1 << 20),
        format!("-----BEGIN RSA PRIVATE KEY-----{}", "A".repeat(1 << 20)),
        "ey.".repeat(10_000),
        "eyJ".repeat(100_000),
        "key=".repeat(100_000),
        "1.".repeat(200_000),
        "1:".repeat(200_000),
        "a@".repeat(200_000),
        "4111 ".repeat(100_000),
        "12345 ".repeat(100_000),
        "a_:".repeat(200_000),
        "ip:".repeat(200_000),
        "https://".repeat(50_000),
    ];
    // The regex engine is linear by construction; what is checked here is that these inputs
    // finish at all and come out no bigger (speed is for `cargo bench`, never a test).
    for input in &inputs {
        let (out, _) = redactor.redact(input);
        assert!(out.len() <= input.len() + 64, "{:?}…", &input[..16]);
    }
}
