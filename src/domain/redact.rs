//! Owns the redaction of secrets and PII from text before anything reaches disk: the rule set
//! (bearer tokens, JWTs, AWS keys, private-key blocks, URL passwords, e-mail and IP addresses, card
//! numbers, and for the public export profile internal host names and URL query strings), and the
//! visible `[REDACTED:<rule>]` markers that replace matches. Nothing derived from a redacted value
//! is kept: a record says only which rules fired.
//!
//! Every rule is a regular expression (Rust's `regex`, linear time, so no ReDoS) plus a check in
//! code for what a regex cannot say: boundaries, the Luhn checksum, a real IPv6 parse, placeholders.
//! Rules run in a fixed order, each over the output of the previous one, so a marker never gets
//! re-matched and redacting already-redacted text changes nothing. Decisions on ambiguous cases:
//!
//! * A URL password may hold `/` and `@` unencoded: it runs to the last `@` that has no `/` between
//!   it and the `@` before it (`u:pa/ss@host/x`, `u:p@ss@host/x`). What sits before the first `/`
//!   being all digits reads as a port and a path (`host:8080/users/a@b`), so such a password
//!   (`u:12/34@host`) is missed.
//! * `user@host:path` (scp-style ssh remotes such as `git@github.com:org/repo.git`, also
//!   `user@host:port`) and URL userinfo without a password (`ssh://git@host/…`, `https://ci@host/`)
//!   are logins, not e-mail addresses, and are left alone; `mailto:` addresses are e-mail.
//!   `icon@2x.png`-style file names (image-extension "domain") are not e-mail either.
//! * IPv4 needs exactly four dot-separated numbers of at most 3 digits, each 0–255, not glued to a
//!   letter, digit or dot: `1.4.2`, `2026.11.28`, `v1.2.3.4` and `1.2.3.4.5` are left alone, a bare
//!   four-part version such as `1.2.3.4` cannot be told apart and is redacted (the safe side).
//! * IPv6 is a maximal run of `[0-9A-Za-z_.:]` with at least two colons that parses as an IPv6
//!   address and contains a decimal digit, so `10:05:33`, MAC addresses, `std::io::Error` and a bare
//!   `::` are left alone. Loopback and unspecified addresses are redacted like any other.
//! * Card numbers need 13–19 digits (optionally in groups of 3–6 split by single spaces or dashes),
//!   a plausible issuer prefix (3, 4, 5, 6, or 2221–2720), the Luhn check, no adjacent letter, digit
//!   or decimal point, and no identifier key in front (`request_id=`, `traceId:`, a JSON key such as
//!   `"order_id"`). The issuer prefix excludes Unix timestamps (s, ms, µs, ns all start with 1 until
//!   2033); adjacency excludes digit runs inside hex fingerprints. Luhn alone passes 1 in 10 random
//!   numbers, so an all-digit id under a non-identifier key may still be redacted.
//! * Placeholders are not secrets: `AKIA…EXAMPLE` (AWS documentation keys), tokens or passwords made
//!   of one repeated character (`xxxx`, `****`), `$VAR`, `${VAR}` and `<token>`.
//! * Markers carry only the rule name, never a hash of the match: a short secret (a card number, a
//!   password) hashed without a key is cheap to brute-force.
//!
//! Known gaps (false negatives): secrets split over several strings (a PEM body in separate log
//! lines or JSON array items), encoded forms (base64 `user:pass`, URL-encoded, JSON-escaped), and
//! secrets in JSON object keys (keys are left alone). An unterminated private-key block is redacted
//! up to the end of the text.

use std::ops::Range;
use std::sync::LazyLock;

// `core::net` holds only the address types and their parsers; nothing here touches the network.
use core::net::Ipv6Addr;
use regex::Regex;
use serde_json::Value;

pub const BEARER_TOKEN: &str = "bearer_token";
pub const JWT: &str = "jwt";
pub const AWS_ACCESS_KEY: &str = "aws_access_key";
pub const PRIVATE_KEY: &str = "private_key";
pub const URL_PASSWORD: &str = "url_password";
pub const EMAIL: &str = "email";
pub const IP_ADDRESS: &str = "ip_address";
pub const CARD_NUMBER: &str = "card_number";
/// Strict (public export) profile only.
pub const INTERNAL_HOST: &str = "internal_host";
/// Strict (public export) profile only: everything after `?` or `#` in a URL.
pub const URL_QUERY: &str = "url_query";

/// Every rule name that can appear in a record, sorted.
pub const RULE_NAMES: [&str; 10] = [
    AWS_ACCESS_KEY,
    BEARER_TOKEN,
    CARD_NUMBER,
    EMAIL,
    INTERNAL_HOST,
    IP_ADDRESS,
    JWT,
    PRIVATE_KEY,
    URL_PASSWORD,
    URL_QUERY,
];

/// The visible marker that replaces a match of `rule`, e.g. `[REDACTED:email]`.
pub fn marker(rule: &str) -> String {
    format!("[REDACTED:{rule}]")
}

/// Which rules run. `Default` = the journal's rules: every rule on, IP addresses included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionRules {
    /// Redact IPv4 and IPv6 addresses.
    pub ip_addresses: bool,
    /// The public profile: also internal host names (`*.internal`, `*.local`, `*.corp`, `*.lan`)
    /// and whole URL query strings (and fragments).
    pub strict: bool,
}

impl Default for RedactionRules {
    fn default() -> Self {
        Self {
            ip_addresses: true,
            strict: false,
        }
    }
}

impl RedactionRules {
    /// The public export profile.
    pub fn strict() -> Self {
        Self {
            ip_addresses: true,
            strict: true,
        }
    }
}

/// A redactor for one set of rules. The regexes are compiled once per process and shared, so a
/// `Redactor` is cheap to create, clone or share by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redactor {
    rules: RedactionRules,
}

impl Redactor {
    pub fn new(rules: RedactionRules) -> Self {
        Self { rules }
    }

    pub fn rules(&self) -> &RedactionRules {
        &self.rules
    }

    /// Returns the text with every match replaced by a visible marker like `[REDACTED:email]`,
    /// and the names of the rules that fired (sorted, deduplicated). Text without matches is
    /// returned unchanged.
    pub fn redact(&self, text: &str) -> (String, Vec<&'static str>) {
        let mut fired = Vec::new();
        let out = self.redact_in(text, None, &mut fired);
        fired.sort_unstable();
        fired.dedup();
        (out, fired)
    }

    /// Redacts every string inside a JSON value (object values, array items; keys are left alone),
    /// returning the rules that fired (sorted, deduplicated). An object key is used as context for
    /// the string under it (an identifier key such as `"request_id"` keeps an all-digit id from
    /// being taken for a card number). Integer numbers that pass the card-number checks are
    /// replaced by the marker string, since a card number can also be logged as a JSON number.
    pub fn redact_json(&self, value: &mut Value) -> Vec<&'static str> {
        let mut fired = Vec::new();
        self.redact_value(value, None, &mut fired);
        fired.sort_unstable();
        fired.dedup();
        fired
    }

    fn redact_value(&self, value: &mut Value, key: Option<&str>, fired: &mut Vec<&'static str>) {
        match value {
            Value::String(s) => {
                *s = self.redact_in(s, key, fired);
            }
            Value::Array(items) => {
                for item in items {
                    self.redact_value(item, key, fired);
                }
            }
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    self.redact_value(v, Some(k), fired);
                }
            }
            Value::Number(n) => {
                let digits = n.to_string();
                if digits.bytes().all(|b| b.is_ascii_digit()) && card_candidate_ok(&digits, key) {
                    *value = Value::String(marker(CARD_NUMBER));
                    fired.push(CARD_NUMBER);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn redact_in(&self, text: &str, key: Option<&str>, fired: &mut Vec<&'static str>) -> String {
        let mut current = text.to_owned();
        for rule in RULES.iter() {
            let on = match rule.when {
                When::Always => true,
                When::IpAddresses => self.rules.ip_addresses,
                When::Strict => self.rules.strict,
            };
            if !on || !(rule.prefilter)(&current) {
                continue;
            }
            if let Some(next) = rule.apply(&current, key) {
                fired.push(rule.name);
                current = next;
            }
        }
        current
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

#[derive(Debug, Clone, Copy)]
enum When {
    Always,
    IpAddresses,
    Strict,
}

/// One match of a rule's regex, with what a check needs to decide.
struct Hit<'t> {
    text: &'t str,
    whole: Range<usize>,
    secret: Range<usize>,
    /// The JSON object key the text sits under, if any.
    key: Option<&'t str>,
}

impl Hit<'_> {
    fn secret_str(&self) -> &str {
        &self.text[self.secret.clone()]
    }
    fn before(&self) -> &str {
        &self.text[..self.whole.start]
    }
    fn after(&self) -> &str {
        &self.text[self.whole.end..]
    }
    /// The secret span when `ok`, else no redaction.
    fn secret_if(&self, ok: bool) -> Option<Range<usize>> {
        ok.then(|| self.secret.clone())
    }
}

/// Decides whether a hit is redacted: pushes the byte ranges of the text that markers replace
/// (usually the secret group, or nothing), in order.
type Check = fn(&Hit<'_>, &mut Vec<Range<usize>>);

#[derive(Debug)]
struct Rule {
    name: &'static str,
    marker: String,
    regex: Regex,
    /// Capture group holding the secret (0 = the whole match); the rest of the match is kept.
    group: usize,
    /// Cheap test that the text could contain a match at all.
    prefilter: fn(&str) -> bool,
    check: Check,
    when: When,
}

impl Rule {
    fn new(name: &'static str, pattern: &str, group: usize, prefilter: fn(&str) -> bool, check: Check) -> Self {
        let regex =
            Regex::new(pattern).unwrap_or_else(|e| panic!("built-in redaction rule {name} does not compile: {e}"));
        Self {
            name,
            marker: marker(name),
            regex,
            group,
            prefilter,
            check,
            when: When::Always,
        }
    }

    fn when(mut self, when: When) -> Self {
        self.when = when;
        self
    }

    /// The text with this rule's accepted hits replaced, or `None` when nothing was replaced.
    fn apply(&self, text: &str, key: Option<&str>) -> Option<String> {
        let mut out: Option<String> = None;
        let mut last = 0;
        let mut spans = Vec::new();
        for caps in self.regex.captures_iter(text) {
            let (Some(whole), Some(secret)) = (caps.get(0), caps.get(self.group)) else {
                continue;
            };
            let hit = Hit {
                text,
                whole: whole.range(),
                secret: secret.range(),
                key,
            };
            spans.clear();
            (self.check)(&hit, &mut spans);
            for span in &spans {
                if span.start < last || span.is_empty() {
                    continue;
                }
                let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
                buf.push_str(&text[last..span.start]);
                buf.push_str(&self.marker);
                last = span.end;
            }
        }
        out.map(|mut buf| {
            buf.push_str(&text[last..]);
            buf
        })
    }
}

/// All rules, in the order they run: whole blocks first, then the forms that keep part of the match
/// (so `scheme://user:pw@host` is a URL password, not an e-mail), then the rest.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        Rule::new(
            PRIVATE_KEY,
            // Up to the matching END line, or to the end of the text when the block was cut.
            r"(?s)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|.*)",
            0,
            |t| t.contains("-----BEGIN"),
            |h, out| out.push(h.secret.clone()),
        ),
        Rule::new(
            URL_PASSWORD,
            // The password may hold `/` and `@`: it runs to the last `@` that has no `/` between it
            // and the `@` before (a `/` after an `@` is in the path). The check tells a password
            // from `host:port/path…@…`.
            r"[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@\[\]]*:([^\s?#@]*(?:@[^\s?#@/]*)*)@",
            1,
            |t| t.contains("://"),
            check_url_password,
        ),
        Rule::new(
            URL_QUERY,
            r#"[A-Za-z][A-Za-z0-9+.-]*://[^\s?#"'<>]*[?#]([^\s"'<>)]+)"#,
            1,
            |t| t.contains("://"),
            |h, out| out.extend(h.secret_if(h.secret_str() != marker(URL_QUERY))),
        )
        .when(When::Strict),
        Rule::new(
            BEARER_TOKEN,
            r"(?-u:\b)(?i:bearer)[ \t]+([A-Za-z0-9._~+/=-]{16,})",
            1,
            |_| true,
            |h, out| out.extend(h.secret_if(!is_placeholder(h.secret_str()))),
        ),
        Rule::new(
            JWT,
            r"eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
            0,
            |t| t.contains("eyJ"),
            |h, out| out.push(h.secret.clone()),
        ),
        Rule::new(
            AWS_ACCESS_KEY,
            r"(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}",
            0,
            |t| t.contains('A'),
            |h, out| {
                let key = h.secret_str();
                let glued = last_char(h.before()).is_some_and(|c| c.is_ascii_alphanumeric())
                    || h.after().starts_with(|c: char| c.is_ascii_alphanumeric());
                out.extend(h.secret_if(!glued && !key.ends_with("EXAMPLE") && !is_placeholder(&key[4..])));
            },
        ),
        Rule::new(
            AWS_ACCESS_KEY,
            // The secret half, in `aws_secret_access_key = …`, `"SecretAccessKey": "…"` and similar.
            r#"(?i:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key)["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9/+]{40})"#,
            1,
            |_| true,
            |h, out| {
                let glued = h
                    .after()
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/' || c == '+');
                out.extend(h.secret_if(!glued && !h.secret_str().contains("EXAMPLE")));
            },
        ),
        Rule::new(
            EMAIL,
            r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}",
            0,
            |t| t.contains('@'),
            |h, out| out.extend(check_email(h)),
        ),
        Rule::new(
            CARD_NUMBER,
            // A run of digit groups split by single spaces or dashes; the check looks for card numbers
            // inside it, so a card followed by more digits (`… 1111 123`) is still found.
            r"[0-9]+(?:[ -][0-9]+)*",
            0,
            |t| t.bytes().any(|b| b.is_ascii_digit()),
            check_card,
        ),
        Rule::new(
            IP_ADDRESS,
            r"[0-9A-Za-z_.]*(?::[0-9A-Za-z_.]*){2,}",
            0,
            |t| t.contains(':') && t.bytes().any(|b| b.is_ascii_digit()),
            |h, out| out.extend(check_ipv6(h)),
        )
        .when(When::IpAddresses),
        Rule::new(
            IP_ADDRESS,
            r"[0-9]+(?:\.[0-9]+)+",
            0,
            |t| t.contains('.'),
            |h, out| out.extend(check_ipv4(h)),
        )
        .when(When::IpAddresses),
        Rule::new(
            INTERNAL_HOST,
            r"(?i)(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:internal|local|corp|lan)",
            0,
            |t| t.contains('.'),
            |h, out| {
                let after = h.after();
                let glued = after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    || after
                        .strip_prefix('.')
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphanumeric()));
                out.extend(h.secret_if(!glued));
            },
        )
        .when(When::Strict),
    ]
});

fn last_char(s: &str) -> Option<char> {
    s.chars().next_back()
}

/// A stand-in rather than a secret: one repeated character (`xxxx`, `****`), `$VAR`, `${VAR}`,
/// `<token>`.
fn is_placeholder(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return true;
    };
    if chars.all(|c| c.eq_ignore_ascii_case(&first)) {
        return true;
    }
    let var = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    };
    (s.starts_with("${") && s.ends_with('}'))
        || s.strip_prefix('$').is_some_and(var)
        || (s.starts_with('<') && s.ends_with('>'))
}

/// The password of a `scheme://user:password@` match: not a port and path (`host:8080/a@b`), not a
/// marker or placeholder; and when the match spans another URL (`http://a:1/x,postgres://u:p@h`),
/// that URL's password.
fn check_url_password(h: &Hit<'_>, out: &mut Vec<Range<usize>>) {
    let mut start = h.secret.start;
    let end = h.secret.end;
    if let Some(i) = h.text[start..end].rfind("://") {
        let after = start + i + 3;
        let Some(colon) = h.text[after..end].find(':') else {
            return;
        };
        if h.text[after..after + colon].contains(['/', '?', '#', '@', '[', ']']) {
            return;
        }
        start = after + colon + 1;
    }
    let pw = &h.text[start..end];
    if let Some(slash) = pw.find('/')
        && pw[..slash].bytes().all(|b| b.is_ascii_digit())
    {
        return;
    }
    if pw != marker(URL_PASSWORD) && !is_placeholder(pw) {
        out.push(start..end);
    }
}

fn check_email(h: &Hit<'_>) -> Option<Range<usize>> {
    // URL userinfo (`ssh://git@host/…`, `https://ci@host/`): a login, not an address.
    if h.before().ends_with("://") {
        return None;
    }
    // scp-style remote or `user@host:port`: `git@github.com:org/repo.git`.
    if let Some(rest) = h.after().strip_prefix(':')
        && rest.starts_with(|c: char| !c.is_whitespace())
    {
        return None;
    }
    // The domain must end where the match ends (`alice@example.com1` is not an address).
    if h.after()
        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    let tld = h
        .secret_str()
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    const FILE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp"];
    h.secret_if(!FILE_EXTENSIONS.contains(&tld.as_str()))
}

fn check_card(h: &Hit<'_>, out: &mut Vec<Range<usize>>) {
    let glued_before = last_char(h.before()).is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    let after = h.after();
    let glued_after = after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        || after
            .strip_prefix('.')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    if glued_before || glued_after || h.secret_str().bytes().filter(u8::is_ascii_digit).count() < 13 {
        return;
    }
    // The digit groups of the run, as byte ranges of the text.
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut offset = h.secret.start;
    for group in h.secret_str().split([' ', '-']) {
        groups.push(offset..offset + group.len());
        offset += group.len() + 1;
    }
    // Left to right, the longest window of consecutive groups that is a card number: one group of
    // 13–19 digits, or several groups of 3–6 digits each.
    let mut i = 0;
    while i < groups.len() {
        let mut found = None;
        // At most 6 groups: 19 digits in groups of at least 3.
        for j in (i..groups.len().min(i + 6)).rev() {
            let window = &groups[i..=j];
            let len: usize = window.iter().map(ExactSizeIterator::len).sum();
            if len > 19 {
                continue;
            }
            if len < 13 {
                break;
            }
            if window.len() > 1 && !window.iter().all(|g| (3..=6).contains(&g.len())) {
                continue;
            }
            let digits: String = window.iter().map(|g| &h.text[g.clone()]).collect();
            if card_candidate_ok(&digits, context_key(h, groups[i].start)) {
                found = Some(j);
                break;
            }
        }
        match found {
            Some(j) => {
                out.push(groups[i].start..groups[j].end);
                i = j + 1;
            }
            None => i += 1,
        }
    }
}

/// The key a value starting at `at` stands under: `request_id=`, `"traceId": "` right before it,
/// else the JSON object key when the value opens the string.
fn context_key<'t>(h: &Hit<'t>, at: usize) -> Option<&'t str> {
    let before = &h.text[..at];
    match key_before(before) {
        Some(key) => Some(key),
        None if before
            .trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace())
            .is_empty() =>
        {
            h.key
        }
        None => None,
    }
}

/// Length, issuer prefix and Luhn for a digit string, and no identifier key in front.
fn card_candidate_ok(digits: &str, key: Option<&str>) -> bool {
    (13..=19).contains(&digits.len())
        && plausible_issuer(digits)
        && luhn_valid(digits)
        && !key.is_some_and(is_identifier_key)
}

/// Major-network prefixes: Amex/Diners/JCB (3), Visa (4), Mastercard/Maestro (5, 2221–2720),
/// Discover/UnionPay/Maestro (6). Excludes Unix timestamps, which start with 1 until 2033.
fn plausible_issuer(digits: &str) -> bool {
    match digits.as_bytes().first() {
        Some(b'3' | b'4' | b'5' | b'6') => true,
        Some(b'2') => digits
            .get(..4)
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| (2221..=2720).contains(&p)),
        _ => false,
    }
}

/// The Luhn (mod 10) checksum over ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The `key` of `key=`, `key: `, `"key": "` right before a value, if any.
fn key_before(before: &str) -> Option<&str> {
    let quotes_or_space = |c: char| c == '"' || c == '\'' || c.is_whitespace();
    let trimmed = before.trim_end_matches(quotes_or_space);
    let trimmed = trimmed.strip_suffix(['=', ':'])?.trim_end_matches(quotes_or_space);
    let start = trimmed
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let key = &trimmed[start..];
    (!key.is_empty()).then_some(key)
}

/// A key naming an identifier or a time (`id`, `request_id`, `traceId`, `order-number`…), whose
/// all-digit value is not taken for a card number. A key mentioning a card never is.
fn is_identifier_key(key: &str) -> bool {
    // Split on separators and camelCase boundaries: `traceID` -> trace, id.
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    const CARD_WORDS: [&str; 7] = ["card", "cardnumber", "pan", "cc", "ccn", "credit", "creditcard"];
    const ID_WORDS: [&str; 18] = [
        "id",
        "ids",
        "uuid",
        "trace",
        "span",
        "request",
        "req",
        "order",
        "commit",
        "sha",
        "seq",
        "sequence",
        "offset",
        "ts",
        "timestamp",
        "time",
        "epoch",
        "nonce",
    ];
    if words.iter().any(|w| CARD_WORDS.contains(&w.as_str())) {
        return false;
    }
    words
        .last()
        .is_some_and(|w| ID_WORDS.contains(&w.as_str()) || (w == "number" && words.len() > 1))
}

fn check_ipv4(h: &Hit<'_>) -> Option<Range<usize>> {
    let glued = last_char(h.before()).is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        || h.after().starts_with(|c: char| c.is_ascii_alphanumeric());
    let octets: Vec<&str> = h.secret_str().split('.').collect();
    let ok = octets.len() == 4
        && octets
            .iter()
            .all(|o| o.len() <= 3 && o.parse::<u16>().is_ok_and(|n| n <= 255));
    h.secret_if(!glued && ok)
}

fn check_ipv6(h: &Hit<'_>) -> Option<Range<usize>> {
    let mut s = h.secret_str().trim_end_matches('.');
    if s.ends_with(':') && !s.ends_with("::") {
        s = &s[..s.len() - 1];
    }
    let mut start = h.secret.start;
    // `ip:2001:db8::1`, `src_ip:fe80::1`: up to three leading labels that cannot be an IPv6 group
    // are dropped (bounded, so a long run of `a:b:c:…` stays linear).
    for _ in 0..4 {
        if s.parse::<Ipv6Addr>().is_ok() {
            return s.bytes().any(|b| b.is_ascii_digit()).then(|| start..start + s.len());
        }
        let (label, rest) = s.split_once(':')?;
        if label.is_empty() || (label.len() <= 4 && label.bytes().all(|b| b.is_ascii_hexdigit())) {
            return None;
        }
        start += label.len() + 1;
        s = rest;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Secrets are assembled at run time from pieces so that secret scanners and push protection do
    // not flag this file; they are fake but have the real shapes.
    fn aws_key() -> String {
        ["AKIA", "2E0A8F3B244C9986"].concat()
    }
    fn aws_secret() -> String {
        let s = ["Zq3vN8xWb1Lk5Tg7Hc2R", "m9Ps4Yd6Fj0Ua8Ee1Oi/"].concat();
        assert_eq!(s.len(), 40);
        s
    }
    fn jwt() -> String {
        [
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
            "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ]
        .join(".")
    }
    fn pem(kind: &str, body: &str) -> String {
        format!("-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----")
    }
    const PEM_BODY: &str = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFc";

    fn journal() -> Redactor {
        Redactor::new(RedactionRules::default())
    }
    fn public() -> Redactor {
        Redactor::new(RedactionRules::strict())
    }

    /// A true positive: `rule` fires, none of `secrets` survives, and the marker is there.
    #[track_caller]
    fn tp(r: &Redactor, rule: &str, text: &str, secrets: &[&str]) -> String {
        let (out, fired) = r.redact(text);
        assert!(
            fired.contains(&rule),
            "{rule} did not fire on {text:?} -> {out:?} ({fired:?})"
        );
        assert!(out.contains(&marker(rule)), "no {rule} marker in {out:?}");
        for secret in secrets {
            assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
        }
        out
    }

    /// A false positive that must stay one: `rule` does not fire.
    #[track_caller]
    fn fp(r: &Redactor, rule: &str, text: &str) {
        let (out, fired) = r.redact(text);
        assert!(!fired.contains(&rule), "{rule} fired on {text:?} -> {out:?}");
        assert!(!out.contains(&marker(rule)), "{rule} marker in {out:?}");
    }

    #[test]
    fn rule_names_are_the_on_disk_strings_and_cover_every_rule() {
        assert_eq!(
            RULE_NAMES,
            [
                "aws_access_key",
                "bearer_token",
                "card_number",
                "email",
                "internal_host",
                "ip_address",
                "jwt",
                "private_key",
                "url_password",
                "url_query"
            ]
        );
        assert!(RULE_NAMES.windows(2).all(|w| w[0] < w[1]));
        for rule in RULES.iter() {
            assert!(RULE_NAMES.contains(&rule.name), "{} missing from RULE_NAMES", rule.name);
        }
        assert_eq!(marker(EMAIL), "[REDACTED:email]");
    }

    #[test]
    fn profiles() {
        assert_eq!(
            RedactionRules::default(),
            RedactionRules {
                ip_addresses: true,
                strict: false
            }
        );
        assert_eq!(
            RedactionRules::strict(),
            RedactionRules {
                ip_addresses: true,
                strict: true
            }
        );
        assert_eq!(public().rules(), &RedactionRules::strict());
    }

    #[test]
    fn bearer_tokens() {
        let r = journal();
        let out = tp(
            &r,
            BEARER_TOKEN,
            "Authorization: Bearer abcdefghijklmnop1234",
            &["abcdefghijklmnop1234"],
        );
        assert_eq!(out, "Authorization: Bearer [REDACTED:bearer_token]");
        let out = tp(
            &r,
            BEARER_TOKEN,
            "curl -H 'authorization: bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0' https://api",
            &["9f8e7d6c5b4a39281706f5e4d3c2b1a0"],
        );
        assert_eq!(
            out,
            "curl -H 'authorization: bearer [REDACTED:bearer_token]' https://api"
        );
        tp(
            &r,
            BEARER_TOKEN,
            "Proxy-Authorization: BEARER tok_16C7e42F292c6912E7710c8",
            &["16C7e42F292c6912E7710c8"],
        );
        tp(
            &r,
            BEARER_TOKEN,
            "sent Bearer a.b-c_d~e+f/g=h1234567890== upstream",
            &["a.b-c_d~e+f/g=h1234567890=="],
        );
        tp(
            &r,
            BEARER_TOKEN,
            "Bearer\tZXhhbXBsZS1vcGFxdWUtdG9rZW4=",
            &["ZXhhbXBsZS1vcGFxdWUtdG9rZW4="],
        );

        fp(&r, BEARER_TOKEN, "Authorization: Bearer <token>");
        fp(&r, BEARER_TOKEN, "Authorization: Bearer $TOKEN");
        fp(&r, BEARER_TOKEN, "Authorization: Bearer ${API_TOKEN}");
        fp(&r, BEARER_TOKEN, "Bearer short123");
        fp(&r, BEARER_TOKEN, "WWW-Authenticate: Bearer realm=\"example\"");
        fp(&r, BEARER_TOKEN, "Bearer xxxxxxxxxxxxxxxxxxxxxxxx");
        fp(&r, BEARER_TOKEN, "the bearer of this letter is authorised");
    }

    #[test]
    fn jwts() {
        let r = journal();
        let token = jwt();
        let signature = "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(tp(&r, JWT, &token, &[&token, signature]), "[REDACTED:jwt]");
        let out = tp(&r, JWT, &format!("GET /cb?id_token={token}&state=1"), &[signature]);
        assert_eq!(out, "GET /cb?id_token=[REDACTED:jwt]&state=1");
        tp(&r, JWT, &format!("{{\"id_token\":\"{token}\"}}"), &[signature]);
        let out = tp(&r, JWT, &format!("session was {token}."), &[signature]);
        assert_eq!(out, "session was [REDACTED:jwt].");
        tp(
            &r,
            JWT,
            "eyJ0eXAiOiJKV1Qi.eyJpc3MiOiJ3YXJy_b29tLWRldiJ9.a-b_c-d_e-f_g-h",
            &["a-b_c-d_e-f_g-h"],
        );

        fp(&r, JWT, "version 1.4.2");
        fp(&r, JWT, "eyJhbGciOiJIUzI1NiJ9");
        fp(&r, JWT, "eyJhbGciOiJIUzI1NiJ9.short.sig");
        fp(&r, JWT, "package-1.22.333.4444");
        fp(&r, JWT, "heyJude.something.elsewhere");
        fp(&r, JWT, "app.configuration.production.yaml");
    }

    #[test]
    fn aws_keys() {
        let r = journal();
        let key = aws_key();
        assert_eq!(
            tp(&r, AWS_ACCESS_KEY, &key, &[&key, "2E0A8F3B244C9986"]),
            "[REDACTED:aws_access_key]"
        );
        let asia = ["ASIA", "Y34FZKBOKMUTVV7A"].concat();
        tp(&r, AWS_ACCESS_KEY, &format!("aws_access_key_id={asia}"), &[&asia]);
        let aroa = ["AROA", "ZXCVBNM123456789"].concat();
        tp(&r, AWS_ACCESS_KEY, &format!("role {aroa}: assumed"), &[&aroa]);
        tp(&r, AWS_ACCESS_KEY, &format!("{{\"AccessKeyId\": \"{key}\"}}"), &[&key]);
        let secret = aws_secret();
        let out = tp(
            &r,
            AWS_ACCESS_KEY,
            &format!("aws_secret_access_key = {secret}"),
            &[&secret],
        );
        assert_eq!(out, "aws_secret_access_key = [REDACTED:aws_access_key]");
        tp(
            &r,
            AWS_ACCESS_KEY,
            &format!("{{\"SecretAccessKey\": \"{secret}\"}}"),
            &[&secret],
        );

        fp(&r, AWS_ACCESS_KEY, &["AKIA", "IOSFODNN7EXAMPLE"].concat());
        fp(&r, AWS_ACCESS_KEY, "AKIAXXXXXXXXXXXXXXXX");
        fp(&r, AWS_ACCESS_KEY, &key[..19]);
        fp(&r, AWS_ACCESS_KEY, &format!("{key}1"));
        fp(&r, AWS_ACCESS_KEY, &format!("X{key}"));
        fp(&r, AWS_ACCESS_KEY, &key.to_ascii_lowercase());
        fp(&r, AWS_ACCESS_KEY, "AKIA is the prefix of long-term access keys");
        fp(
            &r,
            AWS_ACCESS_KEY,
            &["aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYEXAMPLEKEY"].concat(),
        );
    }

    #[test]
    fn private_keys() {
        let r = journal();
        for kind in ["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""] {
            let block = pem(kind, PEM_BODY);
            let out = tp(
                &r,
                PRIVATE_KEY,
                &format!("before\n{block}\nafter"),
                &["MIIEowIBAAK", "p18gnTxKLxoS2tFc"],
            );
            assert_eq!(out, "before\n[REDACTED:private_key]\nafter", "{kind}");
        }
        // JSON-escaped, one line.
        let escaped = pem("RSA ", PEM_BODY).replace('\n', "\\n");
        assert_eq!(
            tp(&r, PRIVATE_KEY, &escaped, &["MIIEowIBAAK"]),
            "[REDACTED:private_key]"
        );
        // Cut off before the END line: redacted to the end of the text.
        let cut = format!("key: -----BEGIN RSA PRIVATE KEY-----\n{}", &PEM_BODY[..40]);
        assert_eq!(
            tp(&r, PRIVATE_KEY, &cut, &["MIIEowIBAAK"]),
            "key: [REDACTED:private_key]"
        );
        // Two blocks: each its own match, the text between kept.
        let two = format!("{}\nmiddle\n{}", pem("EC ", "AAAA"), pem("RSA ", "BBBB"));
        assert_eq!(
            tp(&r, PRIVATE_KEY, &two, &["AAAA", "BBBB"]),
            "[REDACTED:private_key]\nmiddle\n[REDACTED:private_key]"
        );

        fp(
            &r,
            PRIVATE_KEY,
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----",
        );
        fp(
            &r,
            PRIVATE_KEY,
            "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkq\n-----END CERTIFICATE-----",
        );
        fp(&r, PRIVATE_KEY, "the private key was rotated at 10:05");
        fp(&r, PRIVATE_KEY, "BEGIN RSA PRIVATE KEY");
        fp(&r, PRIVATE_KEY, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ops@bastion");
    }

    #[test]
    fn url_passwords() {
        let r = journal();
        let out = tp(
            &r,
            URL_PASSWORD,
            "postgres://admin:s3cr3t@db.example.com:5432/app",
            &["s3cr3t"],
        );
        assert_eq!(out, "postgres://admin:[REDACTED:url_password]@db.example.com:5432/app");
        let out = tp(&r, URL_PASSWORD, "redis://:hunter2hunter2@cache:6379/0", &["hunter2"]);
        assert_eq!(out, "redis://:[REDACTED:url_password]@cache:6379/0");
        let out = tp(&r, URL_PASSWORD, "https://user:p@ss@word@host/path", &["p@ss", "word@"]);
        assert_eq!(out, "https://user:[REDACTED:url_password]@host/path");
        tp(
            &r,
            URL_PASSWORD,
            "mongodb+srv://app:Pa55w0rd!%40x@cluster0.mongodb.net/db",
            &["Pa55w0rd"],
        );
        let out = tp(
            &r,
            URL_PASSWORD,
            "DATABASE_URL=mysql://root:toor-1234@10.0.0.5/prod",
            &["toor-1234", "10.0.0.5"],
        );
        assert_eq!(
            out,
            "DATABASE_URL=mysql://root:[REDACTED:url_password]@[REDACTED:ip_address]/prod"
        );

        // A `/` in the password: all of it goes, and the host is no e-mail address.
        let out = tp(
            &r,
            URL_PASSWORD,
            "postgres://u:pa/ss@db.example.com/x",
            &["pa/ss", "ss@"],
        );
        assert_eq!(out, "postgres://u:[REDACTED:url_password]@db.example.com/x");
        let out = tp(&r, URL_PASSWORD, "postgres://u:pa/ss@host/x", &["pa/ss"]);
        assert_eq!(out, "postgres://u:[REDACTED:url_password]@host/x");
        let out = tp(&r, URL_PASSWORD, "amqp://svc:a/b@c@mq:5672/vh", &["a/b@c"]);
        assert_eq!(out, "amqp://svc:[REDACTED:url_password]@mq:5672/vh");
        // A URL glued to another: the second one's password.
        let out = tp(&r, URL_PASSWORD, "http://a:1/x,postgres://u:s3cr3t@db/app", &["s3cr3t"]);
        assert_eq!(out, "http://a:1/x,postgres://u:[REDACTED:url_password]@db/app");
        fp(&r, URL_PASSWORD, "https://example.com:8443/path");
        fp(&r, URL_PASSWORD, "http://host:8080/users/alice@2x/x");
        fp(&r, URL_PASSWORD, "ssh://git@github.com/org/repo");
        fp(&r, URL_PASSWORD, "postgres://user:${DB_PASSWORD}@db/app");
        fp(&r, URL_PASSWORD, "http://user:****@proxy:3128");
        fp(&r, URL_PASSWORD, "http://localhost:8080/a@b");
        fp(&r, URL_PASSWORD, "amqp://user:<password>@mq");
        fp(
            &r,
            URL_PASSWORD,
            "see user:pass@host without a scheme? no: scheme-less is not a URL",
        );
    }

    #[test]
    fn emails() {
        let r = journal();
        assert_eq!(
            tp(&r, EMAIL, "contact alice@example.com for access", &["alice"]),
            "contact [REDACTED:email] for access"
        );
        tp(
            &r,
            EMAIL,
            "mailto:bob.smith+oncall@mail.example.co.uk",
            &["bob.smith", "oncall"],
        );
        tp(&r, EMAIL, "{\"owner\":\"ops-team@company.io\"}", &["ops-team"]);
        assert_eq!(
            tp(&r, EMAIL, "<carol_d@sub.example.org>", &["carol_d"]),
            "<[REDACTED:email]>"
        );
        assert_eq!(
            tp(&r, EMAIL, "paged ALICE@EXAMPLE.COM.", &["ALICE"]),
            "paged [REDACTED:email]."
        );
        tp(&r, EMAIL, "from alice@example.com: disk full", &["alice"]);

        fp(&r, EMAIL, "alice@");
        fp(&r, EMAIL, "git@github.com:org/repo.git");
        fp(&r, EMAIL, "ssh://git@gitlab.example.com/org/repo");
        fp(&r, EMAIL, "https://deploy@ci.example.com/job/1");
        fp(&r, EMAIL, "user@localhost");
        fp(&r, EMAIL, "assets/icon@2x.png");
        fp(&r, EMAIL, "@alice acked the page");
        fp(&r, EMAIL, "npm i left-pad@1.3.0");
        fp(&r, EMAIL, "image@sha256:9f86d081884c7d65");
    }

    #[test]
    fn ip_addresses() {
        let r = journal();
        assert_eq!(tp(&r, IP_ADDRESS, "10.0.0.1", &["10.0.0.1"]), "[REDACTED:ip_address]");
        assert_eq!(
            tp(&r, IP_ADDRESS, "connect to 192.168.1.254:5432 refused", &["192.168"]),
            "connect to [REDACTED:ip_address]:5432 refused"
        );
        tp(
            &r,
            IP_ADDRESS,
            "from=[203.0.113.7] at 10.0.0.0/8.",
            &["203.0.113.7", "10.0.0.0"],
        );
        assert_eq!(
            tp(&r, IP_ADDRESS, "addr 2001:db8::1: down", &["2001:db8"]),
            "addr [REDACTED:ip_address]: down"
        );
        assert_eq!(
            tp(&r, IP_ADDRESS, "fe80::1%eth0", &["fe80"]),
            "[REDACTED:ip_address]%eth0"
        );
        tp(
            &r,
            IP_ADDRESS,
            "full 2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            &["85a3", "7334"],
        );
        assert_eq!(
            tp(&r, IP_ADDRESS, "https://[2001:db8::42]:443/", &["db8"]),
            "https://[[REDACTED:ip_address]]:443/"
        );
        assert_eq!(
            tp(&r, IP_ADDRESS, "src ::ffff:10.0.0.1 ok", &["ffff", "10.0.0.1"]),
            "src [REDACTED:ip_address] ok"
        );
        tp(&r, IP_ADDRESS, "listening on ::1 and 0.0.0.0", &["::1", "0.0.0.0"]);
        assert_eq!(
            tp(&r, IP_ADDRESS, "ip:2001:db8::1", &["db8"]),
            "ip:[REDACTED:ip_address]"
        );
        assert_eq!(
            tp(&r, IP_ADDRESS, "peer src_ip:fe80::1:", &["fe80"]),
            "peer src_ip:[REDACTED:ip_address]:"
        );
        tp(&r, IP_ADDRESS, "version 1.2.3.4", &["1.2.3.4"]); // four-part versions: the accepted FP

        fp(&r, IP_ADDRESS, "version 1.4.2");
        fp(&r, IP_ADDRESS, "released 2026.11.28");
        fp(&r, IP_ADDRESS, "at 10:05:33");
        fp(&r, IP_ADDRESS, "2026-11-28T10:05:33.123Z");
        fp(&r, IP_ADDRESS, "oid 1.2.3.4.5");
        fp(&r, IP_ADDRESS, "go v1.2.3.4");
        fp(&r, IP_ADDRESS, "256.1.1.1");
        fp(&r, IP_ADDRESS, "std::io::Error and Foo::bar");
        fp(&r, IP_ADDRESS, "mac 00:1a:2b:3c:4d:5e");
        fp(&r, IP_ADDRESS, "pi is 3.14159");
        fp(&r, IP_ADDRESS, "dead::beef");
        fp(&r, IP_ADDRESS, "a :: b");
    }

    #[test]
    fn ip_addresses_can_be_turned_off() {
        let r = Redactor::new(RedactionRules {
            ip_addresses: false,
            strict: false,
        });
        let text = "from 10.0.0.1 and 2001:db8::1 to alice@example.com";
        let (out, fired) = r.redact(text);
        assert_eq!(out, "from 10.0.0.1 and 2001:db8::1 to [REDACTED:email]");
        assert_eq!(fired, vec![EMAIL]);
        let r = Redactor::new(RedactionRules {
            ip_addresses: false,
            strict: true,
        });
        assert_eq!(r.redact("10.0.0.1 db.corp").0, "10.0.0.1 [REDACTED:internal_host]");
    }

    #[test]
    fn card_numbers() {
        let r = journal();
        assert_eq!(
            tp(&r, CARD_NUMBER, "4111111111111111", &["4111"]),
            "[REDACTED:card_number]"
        );
        assert_eq!(
            tp(&r, CARD_NUMBER, "card 4111 1111 1111 1111 exp 12/29", &["4111", "1111"]),
            "card [REDACTED:card_number] exp 12/29"
        );
        tp(&r, CARD_NUMBER, "mc 5555-5555-5555-4444.", &["5555", "4444"]);
        tp(&r, CARD_NUMBER, "amex 378282246310005", &["378282246310005"]);
        tp(&r, CARD_NUMBER, "amex 3782 822463 10005", &["822463"]);
        tp(&r, CARD_NUMBER, "pan=6011111111111117", &["6011111111111117"]);
        tp(
            &r,
            CARD_NUMBER,
            "19 digits 4000000000000000006",
            &["4000000000000000006"],
        );
        tp(&r, CARD_NUMBER, "2-series 2223003122003222", &["2223003122003222"]);
        tp(
            &r,
            CARD_NUMBER,
            "{\"card_id\": \"4111111111111111\"}",
            &["4111111111111111"],
        );
        // Found inside a longer run of digit groups: a CVV after it, two cards, a number before it.
        assert_eq!(
            tp(&r, CARD_NUMBER, "4111 1111 1111 1111 123", &["4111"]),
            "[REDACTED:card_number] 123"
        );
        assert_eq!(
            tp(
                &r,
                CARD_NUMBER,
                "cards 4111 1111 1111 1111 5555 5555 5555 4444",
                &["4111", "5555"]
            ),
            "cards [REDACTED:card_number] [REDACTED:card_number]"
        );
        tp(&r, CARD_NUMBER, "ext 12 4111-1111-1111-1111", &["4111", "1111-1111"]);

        fp(&r, CARD_NUMBER, "4111111111111112"); // Luhn fails
        fp(&r, CARD_NUMBER, "ts=1764323133009"); // Unix ms, Luhn passes
        fp(&r, CARD_NUMBER, "1764323133000000"); // Unix µs, Luhn passes
        fp(&r, CARD_NUMBER, "1764323133000000000"); // Unix ns
        fp(&r, CARD_NUMBER, "request_id=4532015112830366"); // Luhn passes, identifier key
        fp(&r, CARD_NUMBER, "{\"traceId\":\"4532015112830366\"}");
        fp(&r, CARD_NUMBER, "order-id: 4532015112830366");
        fp(&r, CARD_NUMBER, "fingerprint 9f86d081884c7d659a2feaa0c55ad015");
        fp(&r, CARD_NUMBER, "sha 4111111111111111abcd");
        fp(&r, CARD_NUMBER, "abcd4111111111111111");
        fp(&r, CARD_NUMBER, "2026-11-28 10:05:33");
        fp(&r, CARD_NUMBER, "2026112810053313"); // yyyymmddhhmmss.., Luhn passes, not a 2-series BIN
        fp(&r, CARD_NUMBER, "x = 3.4111111111111111");
        fp(&r, CARD_NUMBER, "12345678901234567890");
        fp(&r, CARD_NUMBER, "phone 555 123 4567");
        fp(&r, CARD_NUMBER, "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1");
    }

    #[test]
    fn luhn_and_identifier_keys() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("4111-1111"));
        for key in [
            "id",
            "request_id",
            "traceId",
            "traceID",
            "span.id",
            "order-number",
            "ts",
            "x-request-id",
        ] {
            assert!(is_identifier_key(key), "{key}");
        }
        for key in ["card_id", "cardNumber", "pan", "cc", "note", "number", "valid", "paid"] {
            assert!(!is_identifier_key(key), "{key}");
        }
        assert_eq!(key_before("{\"request_id\": \""), Some("request_id"));
        assert_eq!(key_before("trace=ab id="), Some("id"));
        assert_eq!(key_before("card "), None);
        assert_eq!(key_before(""), None);
    }

    #[test]
    fn internal_hosts_only_in_the_strict_profile() {
        let r = public();
        assert_eq!(
            tp(&r, INTERNAL_HOST, "scrape prometheus.internal failed", &["prometheus"]),
            "scrape [REDACTED:internal_host] failed"
        );
        assert_eq!(
            tp(&r, INTERNAL_HOST, "db-2.corp:5432", &["db-2"]),
            "[REDACTED:internal_host]:5432"
        );
        tp(&r, INTERNAL_HOST, "api.default.svc.cluster.local.", &["default.svc"]);
        tp(&r, INTERNAL_HOST, "http://grafana.lan/d/abc", &["grafana"]);
        tp(&r, INTERNAL_HOST, "NAS.LOCAL", &["NAS"]);
        tp(&r, INTERNAL_HOST, "git@gitlab.corp:org/repo.git", &["gitlab"]);

        fp(&r, INTERNAL_HOST, "the local team owns internal tooling");
        fp(&r, INTERNAL_HOST, "localhost:9090");
        fp(&r, INTERNAL_HOST, "settings.local.json");
        fp(&r, INTERNAL_HOST, "corp.example.com");
        fp(&r, INTERNAL_HOST, "example.com");
        fp(&r, INTERNAL_HOST, "my.localdomain");

        let text = "scrape prometheus.internal and db-2.corp";
        assert_eq!(journal().redact(text), (text.to_owned(), vec![]));
    }

    #[test]
    fn url_queries_only_in_the_strict_profile() {
        let r = public();
        let out = tp(
            &r,
            URL_QUERY,
            "see https://grafana.example.com/d/x?orgId=1&var-host=web-1 now",
            &["orgId", "web-1"],
        );
        assert_eq!(out, "see https://grafana.example.com/d/x?[REDACTED:url_query] now");
        let out = tp(
            &r,
            URL_QUERY,
            "(https://idp.example.com/cb#access_token=abc)",
            &["access_token", "abc"],
        );
        assert_eq!(out, "(https://idp.example.com/cb#[REDACTED:url_query])");
        tp(
            &r,
            URL_QUERY,
            "\"http://10.0.0.1:9090/api/v1/query?query=up\"",
            &["query=up", "10.0.0.1"],
        );
        fp(&r, URL_QUERY, "https://example.com/path");
        fp(&r, URL_QUERY, "what? no url here");
        fp(&r, URL_QUERY, "https://example.com/a ?b=c");

        let text = "https://grafana.example.com/d/x?orgId=1";
        assert_eq!(journal().redact(text), (text.to_owned(), vec![]));
    }

    #[test]
    fn text_without_matches_is_returned_unchanged() {
        for r in [journal(), public()] {
            for text in [
                "",
                "disk full on web-1",
                "p99 latency 1.4s at 10:05:33 (v1.4.2)",
                "ünïcödé → ✓ 日本語",
            ] {
                assert_eq!(r.redact(text), (text.to_owned(), vec![]));
            }
        }
    }

    #[test]
    fn fired_rules_are_sorted_and_deduplicated() {
        let text = format!(
            "{} mailed bob@example.com and carol@example.com from 10.0.0.1 with {}",
            aws_key(),
            jwt()
        );
        let (_, fired) = journal().redact(&text);
        assert_eq!(fired, vec![AWS_ACCESS_KEY, EMAIL, IP_ADDRESS, JWT]);
        // Two rules sharing one name (access key id and secret key) are reported once.
        let text = format!("aws_access_key_id={} aws_secret_access_key={}", aws_key(), aws_secret());
        assert_eq!(journal().redact(&text).1, vec![AWS_ACCESS_KEY]);
    }

    fn paragraph() -> String {
        format!(
            "Authorization: Bearer abcdefghijklmnop1234 id_token={} key {} secret_access_key: {}\n{}\n\
             dsn postgres://admin:s3cr3t@db.prod.internal:5432/app paged alice@example.com from 10.0.0.1 \
             and 2001:db8::1, card 4111 1111 1111 1111, see https://grafana.example.com/d?var=x",
            jwt(),
            aws_key(),
            aws_secret(),
            pem("RSA ", PEM_BODY)
        )
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        for r in [
            journal(),
            public(),
            Redactor::new(RedactionRules {
                ip_addresses: false,
                strict: false,
            }),
        ] {
            let (once, fired) = r.redact(&paragraph());
            assert!(!fired.is_empty());
            let (twice, fired_again) = r.redact(&once);
            assert_eq!(twice, once);
            assert!(
                fired_again.is_empty(),
                "{fired_again:?} fired on already-redacted text {once:?}"
            );
        }
        // Markers alone are inert.
        for name in RULE_NAMES {
            let m = marker(name);
            assert_eq!(public().redact(&m), (m.clone(), vec![]));
        }
    }

    #[test]
    fn deterministic() {
        let a = journal().redact(&paragraph());
        let b = journal().clone().redact(&paragraph());
        assert_eq!(a, b);
    }

    #[test]
    fn redact_json_walks_objects_and_arrays_and_leaves_keys() {
        let mut value = json!({
            "alice@example.com": "key left alone",
            "labels": { "instance": "10.0.0.1:9100", "job": "node" },
            "annotations": [
                { "summary": "token Bearer abcdefghijklmnop1234 leaked" },
                ["nested", ["deep alice@example.com"]],
                42, true, null
            ],
            "payment": { "pan": 4111111111111111u64, "order_id": 4532015112830366u64, "amount": 12 },
            "request_id": "4532015112830366",
            "ids": ["4532015112830366"],
            "note": "4532015112830366"
        });
        let fired = journal().redact_json(&mut value);
        assert_eq!(fired, vec![BEARER_TOKEN, CARD_NUMBER, EMAIL, IP_ADDRESS]);
        assert_eq!(
            value,
            json!({
                "alice@example.com": "key left alone",
                "labels": { "instance": "[REDACTED:ip_address]:9100", "job": "node" },
                "annotations": [
                    { "summary": "token Bearer [REDACTED:bearer_token] leaked" },
                    ["nested", ["deep [REDACTED:email]"]],
                    42, true, null
                ],
                "payment": { "pan": "[REDACTED:card_number]", "order_id": 4532015112830366u64, "amount": 12 },
                "request_id": "4532015112830366",
                "ids": ["4532015112830366"],
                "note": "[REDACTED:card_number]"
            })
        );
        // Again: nothing more.
        let before = value.clone();
        assert!(journal().redact_json(&mut value).is_empty());
        assert_eq!(value, before);
        // A value without secrets is untouched.
        let mut clean = json!({"a": ["b", 1, {"c": "d"}]});
        assert!(journal().redact_json(&mut clean).is_empty());
        assert_eq!(clean, json!({"a": ["b", 1, {"c": "d"}]}));
    }

    #[test]
    fn placeholders() {
        for p in ["", "xxxx", "****", "$TOKEN", "${DB_PASSWORD}", "<token>", "XXXXxxxx"] {
            assert!(is_placeholder(p), "{p:?}");
        }
        for p in ["hunter2", "$ecret", "s3cr3t", "<tok", "${X"] {
            assert!(!is_placeholder(p), "{p:?}");
        }
    }
}
