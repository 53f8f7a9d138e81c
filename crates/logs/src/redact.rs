//! Secret redaction at ingest: runs on every entry (message and field values) before it is
//! indexed, stored or forwarded. Each secret is replaced by a typed marker such as
//! `[REDACTED:private_key]` and counted by kind.
//!
//! Built in: 32-byte hex private keys (with or without `0x`) in key-like context or in
//! anvil's numbered banner list, BIP-39 mnemonics (English; Chinese simplified/traditional)
//! of 12–24 words, keystore JSON `ciphertext`, JWTs, bearer tokens, passwords in URLs, DSNs
//! and `password=` arguments. Operators add their own patterns.

use bip39::Language;
use regex::Regex;
use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

/// Kinds of built-in secrets (marker names).
pub const KINDS: &[&str] = &[
    "private_key",
    "mnemonic",
    "keystore",
    "jwt",
    "bearer_token",
    "password",
];

fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

struct Builtin {
    hex64: Regex,
    banner_key: Regex,
    key_context: Regex,
    keystore: Regex,
    jwt: Regex,
    bearer: Regex,
    url_password: Regex,
    hash_label: Regex,
    kv_password: Regex,
    english: HashSet<&'static str>,
    chinese: HashSet<char>,
}

/// The built-in patterns, by field. A pattern that does not compile fails the tests
/// (`every_builtin_pattern_compiles`); should one ever fail at run time, nothing is let
/// through: [`Redactor::redact`] then replaces the whole text (see [`UNAVAILABLE`]).
const PATTERNS: [(&str, &str); 9] = [
    ("hex64", r"\b(?:0x)?[0-9a-fA-F]{64}\b"),
    ("banner_key", r"(?m)^\(\d+\)\s+(?:0x)?[0-9a-fA-F]{64}\b"),
    // Not `wallet`: wallets log the ids of their transactions (`AddToWallet <txid>`).
    (
        "key_context",
        r"(?i)priv|secret|\bkey\b|key[:=\s]|mnemonic|seed|signer|keystore",
    ),
    ("keystore", r#"("ciphertext"\s*:\s*")[0-9a-fA-F]+(")"#),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+",
    ),
    ("bearer", r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/-]{8,}=*"),
    (
        "url_password",
        r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(@)",
    ),
    // What ends right before a hash: `hash=`, `best=`, `txid `, `Transaction: `, `Block #3: `.
    (
        "hash_label",
        r"(?i)(?:hash|best|txid|tx|wtx|transaction|block(?:\s*#\d+)?|parent|root|receipt)\s*[:=]?\s*(?:0x)?$",
    ),
    (
        "kv_password",
        r#"(?i)(\b(?:password|passwd|pwd|rpcpassword|pass|secret|api[_-]?key|token)\s*[=:]\s*"?)[^\s"&,;]+"#,
    ),
];

/// The marker kind for a field whose name says its value is a secret, matched on the name
/// lowercased with `-` and `.` read as `_` (`private_key`, `privateKey`, `secret-key`,
/// `signer.key`): the value is replaced whole, whatever it looks like.
pub fn secret_field_kind(name: &str) -> Option<&'static str> {
    let n: String = name
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let last = n.rsplit('_').next().unwrap_or(&n);
    const KEYS: &[&str] = &[
        "private_key",
        "privatekey",
        "privkey",
        "priv_key",
        "secret_key",
        "secretkey",
        "signing_key",
        "signer_key",
        "key",
        "pk",
        "sk",
        "prv",
        "keystore",
    ];
    // Not `token`: chain logs name token contracts so.
    const PASSWORDS: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "api_key",
        "apikey",
        "authorization",
        "credential",
        "credentials",
        "client_secret",
        "access_token",
        "refresh_token",
        "rpcpassword",
    ];
    // Also as the last part of a name (`db_password`, `rpc_secret`).
    const PASSWORD_ENDINGS: &[&str] = &["password", "passwd", "pwd", "passphrase", "secret"];
    const MNEMONICS: &[&str] = &[
        "mnemonic",
        "seed",
        "seed_phrase",
        "seedphrase",
        "recovery_phrase",
    ];
    if KEYS.contains(&n.as_str()) || n.ends_with("private_key") || n.ends_with("secret_key") {
        Some("private_key")
    } else if PASSWORDS.contains(&n.as_str()) || PASSWORD_ENDINGS.contains(&last) {
        Some("password")
    } else if MNEMONICS.contains(&n.as_str()) || last == "mnemonic" {
        Some("mnemonic")
    } else {
        None
    }
}

/// Names that hint at keys without being certain (`signer`, `wallet`, `account_key`…): a
/// 32-byte hex value in them is treated as a private key.
fn secret_field_kind_loose(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["key", "priv", "secret", "signer", "wallet", "seed"]
        .iter()
        .any(|w| n.contains(w))
}

fn is_marker(v: &str) -> bool {
    v.starts_with("[REDACTED:") && v.ends_with(']')
}

/// Marker kind used for a whole text when the built-in rules could not be compiled.
pub const UNAVAILABLE: &str = "redactor_unavailable";

/// Compiles the built-in rules; the error names the pattern that failed.
fn compile_builtin() -> Result<Builtin, String> {
    let mut re = PATTERNS
        .iter()
        .map(|(name, p)| Regex::new(p).map_err(|e| format!("built-in pattern {name}: {e}")));
    let mut next = || {
        re.next()
            .unwrap_or_else(|| Err("pattern table too short".into()))
    };
    Ok(Builtin {
        hex64: next()?,
        banner_key: next()?,
        key_context: next()?,
        keystore: next()?,
        jwt: next()?,
        bearer: next()?,
        url_password: next()?,
        hash_label: next()?,
        kv_password: next()?,
        english: Language::English.word_list().iter().copied().collect(),
        chinese: Language::SimplifiedChinese
            .word_list()
            .iter()
            .chain(Language::TraditionalChinese.word_list().iter())
            .filter_map(|w| w.chars().next())
            .collect(),
    })
}

fn builtin() -> Option<&'static Builtin> {
    static B: OnceLock<Option<Builtin>> = OnceLock::new();
    B.get_or_init(|| {
        compile_builtin()
            .map_err(|e| tracing::error!(error = %e, "log redaction unavailable: every log text is withheld"))
            .ok()
    })
    .as_ref()
}

/// A user-defined pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// Marker name (`[REDACTED:<name>]`).
    pub name: String,
    /// What to replace.
    pub regex: Regex,
}

/// Redacts secrets and counts what it replaced.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    patterns: Vec<Pattern>,
    counts: BTreeMap<String, u64>,
}

impl Redactor {
    /// A redactor with the built-in rules plus `patterns`.
    pub fn new(patterns: Vec<Pattern>) -> Redactor {
        Redactor {
            patterns,
            counts: BTreeMap::new(),
        }
    }

    /// Replacements made so far, by kind.
    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    fn count(&mut self, kind: &str, n: usize) {
        if n > 0 {
            *self.counts.entry(kind.to_string()).or_default() += n as u64;
        }
    }

    /// Redacts `text` in place; returns how many secrets were replaced.
    pub fn redact(&mut self, text: &mut String) -> usize {
        let Some(b) = builtin() else {
            // Fail closed: without the built-in rules nothing of the text is kept.
            *text = marker(UNAVAILABLE);
            self.count(UNAVAILABLE, 1);
            return 1;
        };
        let mut total = 0;
        let mut apply =
            |this: &mut Redactor, text: &mut String, re: &Regex, kind: &str, keep_groups: bool| {
                let n = re.find_iter(text).count();
                if n > 0 {
                    let m = marker(kind);
                    let out = if keep_groups {
                        re.replace_all(text, |c: &regex::Captures| {
                            format!(
                                "{}{m}{}",
                                c.get(1).map_or("", |x| x.as_str()),
                                c.get(2).map_or("", |x| x.as_str())
                            )
                        })
                        .into_owned()
                    } else {
                        re.replace_all(text, m.as_str()).into_owned()
                    };
                    *text = out;
                    this.count(kind, n);
                    total += n;
                }
            };
        // Cheap pre-checks keep the common line (no secret) fast.
        if text.contains("eyJ") {
            apply(self, text, &b.jwt, "jwt", false);
        }
        if text.contains("://") && text.contains('@') {
            apply(self, text, &b.url_password, "password", true);
        }
        if contains_ci(text, &["pass", "pwd", "secret", "token", "key"]) {
            apply(self, text, &b.kv_password, "password", true);
        }
        if text.contains("ciphertext") {
            apply(self, text, &b.keystore, "keystore", true);
        }
        if contains_ci(text, &["bearer"]) {
            apply(self, text, &b.bearer, "bearer_token", true);
        }
        if has_hex_run(text, 64) {
            total += self.redact_keys(b, text);
        }
        total += self.redact_mnemonics(b, text);
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for (i, p) in self.patterns.iter().enumerate() {
            let n = p.regex.find_iter(text).count();
            if n > 0 {
                *text = p
                    .regex
                    .replace_all(text, marker(&p.name).as_str())
                    .into_owned();
                hits.push((i, n));
            }
        }
        for (i, n) in hits {
            let name = self.patterns[i].name.clone();
            self.count(&name, n);
            total += n;
        }
        total
    }

    /// Redacts structured fields: names and values go through [`Redactor::redact`] like
    /// message text; a field whose *name* says it holds a secret (`private_key`, `password`,
    /// `pk`, `mnemonic`, …; see [`secret_field_kind`]) has its whole value replaced; and a
    /// 32-byte hex value is a private key when the field name or `context` (the entry's
    /// message, e.g. "private key") is key-like. Returns how many secrets were replaced.
    pub fn redact_fields(&mut self, context: &str, fields: &mut BTreeMap<String, String>) -> usize {
        let mut total = 0;
        if fields.is_empty() {
            return 0;
        }
        // Only asked for a field holding 32 bytes of hex: the common line pays nothing.
        let keyish_context = std::cell::OnceCell::<bool>::new();
        let keyish = || {
            *keyish_context
                .get_or_init(|| builtin().is_some_and(|b| b.key_context.is_match(context)))
        };
        let taken = std::mem::take(fields);
        for (mut name, mut value) in taken {
            total += self.redact(&mut name);
            // A field *named* by 32 bytes of hex is a key logged as a name: no context needed.
            let bare = name.strip_prefix("0x").unwrap_or(&name);
            if bare.len() == 64 && bare.bytes().all(|b| b.is_ascii_hexdigit()) {
                name = marker("private_key");
                self.count("private_key", 1);
                total += 1;
            }
            if let Some(kind) = secret_field_kind(&name) {
                if !value.is_empty() && !is_marker(&value) {
                    value = marker(kind);
                    self.count(kind, 1);
                    total += 1;
                }
            } else {
                if has_hex_run(&value, 64)
                    && (secret_field_kind_loose(&name) || keyish())
                    && let Some(b) = builtin()
                {
                    let n = b.hex64.find_iter(&value).count();
                    if n > 0 {
                        value = b
                            .hex64
                            .replace_all(&value, marker("private_key").as_str())
                            .into_owned();
                        self.count("private_key", n);
                        total += n;
                    }
                }
                total += self.redact(&mut value);
            }
            // Two names that redact to the same marker keep both values.
            let mut key = name;
            while fields.contains_key(&key) {
                key.push('_');
            }
            fields.insert(key, value);
        }
        total
    }

    /// Redacts an entry in place: every field's name and value (with the unredacted message
    /// as their context), then the message.
    pub fn redact_entry(&mut self, e: &mut crate::entry::LogEntry) {
        self.redact_fields(&e.message, &mut e.fields);
        self.redact(&mut e.message);
    }

    /// 64-hex tokens on lines with key-like words, and anvil's `(N) 0x…` banner lines. A
    /// token labelled as a hash (`hash=`, `best=`, `txid `, `Transaction: `, `Block #3: `)
    /// is a hash, whatever else the line says: hashes stay searchable.
    fn redact_keys(&mut self, b: &Builtin, text: &mut String) -> usize {
        let mut n = 0;
        let lines: Vec<String> = text
            .split('\n')
            .map(|line| {
                let keyish = b.key_context.is_match(line) || b.banner_key.is_match(line);
                if keyish && b.hex64.is_match(line) {
                    b.hex64
                        .replace_all(line, |c: &regex::Captures| {
                            let Some(m) = c.get(0) else {
                                return String::new();
                            };
                            if b.hash_label.is_match(&line[..m.start()]) {
                                m.as_str().to_string()
                            } else {
                                n += 1;
                                marker("private_key")
                            }
                        })
                        .into_owned()
                } else {
                    line.to_string()
                }
            })
            .collect();
        if n > 0 {
            *text = lines.join("\n");
            self.count("private_key", n);
        }
        n
    }

    /// Runs of 12–24 BIP-39 words (English, or Chinese characters).
    fn redact_mnemonics(&mut self, b: &Builtin, text: &mut String) -> usize {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        // English: consecutive words separated by single spaces.
        let mut run: Vec<(usize, usize)> = Vec::new();
        let flush = |run: &mut Vec<(usize, usize)>, spans: &mut Vec<(usize, usize)>| {
            if run.len() >= 12 {
                spans.push((run[0].0, run[run.len() - 1].1));
            }
            run.clear();
        };
        let mut i = 0;
        let bytes = text.as_bytes();
        while i < bytes.len() {
            if bytes[i].is_ascii_alphabetic() {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let word = &text[start..i];
                let is_word = (3..=8).contains(&word.len()) && {
                    let mut buf = [0u8; 8];
                    for (d, c) in buf.iter_mut().zip(word.bytes()) {
                        *d = c.to_ascii_lowercase();
                    }
                    std::str::from_utf8(&buf[..word.len()]).is_ok_and(|w| b.english.contains(w))
                };
                let separated = run.last().is_none_or(|&(_, end)| {
                    text[end..start].chars().all(|c| c == ' ') && start - end <= 2
                });
                if is_word && separated {
                    run.push((start, i));
                } else {
                    flush(&mut run, &mut spans);
                    if is_word {
                        run.push((start, i));
                    }
                }
            } else {
                if !matches!(bytes[i], b' ') {
                    flush(&mut run, &mut spans);
                }
                i += 1;
            }
        }
        flush(&mut run, &mut spans);
        if text.is_ascii() {
            return self.replace_spans(text, spans);
        }
        // Chinese: single-character words separated by spaces, or an unbroken run of
        // 12/15/18/21/24 wordlist characters next to a mnemonic-like word.
        let context = text.contains("助记词")
            || text.to_ascii_lowercase().contains("mnemonic")
            || text.contains("seed");
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut j = 0;
        while j < chars.len() {
            if !b.chinese.contains(&chars[j].1) {
                j += 1;
                continue;
            }
            let start = j;
            let mut words = 0;
            let mut spaced = true;
            let mut k = j;
            while k < chars.len() && b.chinese.contains(&chars[k].1) {
                words += 1;
                k += 1;
                if k < chars.len()
                    && chars[k].1 == ' '
                    && chars.get(k + 1).is_some_and(|c| b.chinese.contains(&c.1))
                {
                    k += 1;
                } else if k < chars.len() && b.chinese.contains(&chars[k].1) {
                    spaced = false;
                }
            }
            let end_byte = chars.get(k).map_or(text.len(), |c| c.0);
            let qualifies = (12..=24).contains(&words) && (spaced || (context && words % 3 == 0));
            if qualifies {
                spans.push((chars[start].0, end_byte));
            }
            j = k.max(j + 1);
        }
        self.replace_spans(text, spans)
    }

    fn replace_spans(&mut self, text: &mut String, mut spans: Vec<(usize, usize)>) -> usize {
        if spans.is_empty() {
            return 0;
        }
        spans.sort_unstable();
        let n = spans.len();
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (s, e) in spans {
            if s < last {
                continue;
            }
            out.push_str(&text[last..s]);
            out.push_str(&marker("mnemonic"));
            last = e;
        }
        out.push_str(&text[last..]);
        *text = out;
        self.count("mnemonic", n);
        n
    }
}

/// Whether `text` contains any of the lower-case ASCII `needles`, ignoring case, without
/// allocating (fast pre-check before a regex).
fn contains_ci(text: &str, needles: &[&str]) -> bool {
    let t = text.as_bytes();
    needles.iter().any(|n| {
        let n = n.as_bytes();
        n.len() <= t.len()
            && t.windows(n.len())
                .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
    })
}

/// Whether `text` has a run of at least `n` hex digits (fast pre-check).
fn has_hex_run(text: &str, n: usize) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        if b.is_ascii_hexdigit() {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_builtin_pattern_compiles() {
        // Redaction must never fail open: a broken built-in pattern fails here, not silently
        // in production.
        if let Err(e) = compile_builtin() {
            panic!("{e}");
        }
        assert!(builtin().is_some());
    }

    fn redact(s: &str) -> String {
        let mut r = Redactor::default();
        let mut t = s.to_string();
        r.redact(&mut t);
        t
    }

    const KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn keys_in_key_context_and_banner_lists_go_hashes_stay() {
        assert_eq!(
            redact(&format!("(0) 0x{KEY}")),
            "(0) [REDACTED:private_key]"
        );
        assert_eq!(
            redact(&format!("Private Key: 0x{KEY}")),
            "Private Key: [REDACTED:private_key]"
        );
        assert_eq!(
            redact(&format!("signer key={KEY} loaded")),
            "signer key=[REDACTED:private_key] loaded"
        );
        let hash = format!("Block Hash: 0x{KEY}");
        assert_eq!(redact(&hash), hash, "block and tx hashes are searchable");
    }

    #[test]
    fn mnemonics_jwts_bearers_and_passwords() {
        assert_eq!(
            redact(
                "Mnemonic:          test test test test test test test test test test test junk"
            ),
            "Mnemonic:          [REDACTED:mnemonic]"
        );
        assert_eq!(
            redact("助记词: 的 一 是 在 不 了 有 和 人 这 中 大"),
            "助记词: [REDACTED:mnemonic]"
        );
        assert_eq!(
            redact("同步区块高度在不断增加中"),
            "同步区块高度在不断增加中",
            "ordinary Chinese stays"
        );
        assert_eq!(
            redact(
                "auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok"
            ),
            "auth [REDACTED:jwt] ok"
        );
        assert_eq!(
            redact("Authorization: Bearer abcdef0123456789"),
            "Authorization: Bearer [REDACTED:bearer_token]"
        );
        assert_eq!(
            redact("connecting to postgres://ops:hunter22@db:5432/chain"),
            "connecting to postgres://ops:[REDACTED:password]@db:5432/chain"
        );
        assert_eq!(
            redact("litecoind -rpcpassword=s3cr3t -rpcuser=u"),
            "litecoind -rpcpassword=[REDACTED:password] -rpcuser=u"
        );
        assert_eq!(
            redact(
                r#"{"crypto":{"ciphertext":"d172bf743a674da9966f1c4c6a1d4ec1","cipher":"aes-128-ctr"}}"#
            ),
            r#"{"crypto":{"ciphertext":"[REDACTED:keystore]","cipher":"aes-128-ctr"}}"#
        );
        assert_eq!(redact("eth_getBlockByNumber"), "eth_getBlockByNumber");
    }

    #[test]
    fn user_patterns_and_counts() {
        let mut r = Redactor::new(vec![Pattern {
            name: "api_id".into(),
            regex: Regex::new(r"AKIA[0-9A-Z]{16}").unwrap_or_else(|_| unreachable!()),
        }]);
        let mut t = "key AKIAABCDEFGHIJKLMNOP used".to_string();
        assert_eq!(r.redact(&mut t), 1);
        assert_eq!(t, "key [REDACTED:api_id] used");
        assert_eq!(r.counts()["api_id"], 1);
    }

    fn english() -> Vec<&'static str> {
        bip39::Language::English.word_list().to_vec()
    }

    proptest! {
        #[test]
        fn no_generated_private_key_survives(key in "[0-9a-f]{64}", prefix in prop::sample::select(vec!["0x", ""]),
            ctx in prop::sample::select(vec!["Private Key: ", "private_key=", "(3) ", "signer secret ", "--private-key "])) {
            let out = redact(&format!("{ctx}{prefix}{key} trailing"));
            prop_assert!(!out.contains(&key), "{}", out);
        }

        #[test]
        fn no_generated_mnemonic_survives(idx in prop::collection::vec(0usize..2048, 12..=24), lead in "[a-z ]{0,12}") {
            let words = english();
            let phrase: Vec<&str> = idx.iter().map(|i| words[*i]).collect();
            let phrase = phrase.join(" ");
            let out = redact(&format!("{lead}: {phrase}"));
            prop_assert!(!out.contains(&phrase), "{}", out);
        }

        #[test]
        fn no_generated_url_password_or_bearer_survives(pw in "[A-Za-z0-9!*_~-]{6,24}", tok in "[A-Za-z0-9._-]{12,40}") {
            let out = redact(&format!("dial https://user:{pw}@rpc.example.com/x and Bearer {tok}"));
            prop_assert!(!out.contains(&format!(":{pw}@")), "{}", out);
            prop_assert!(!out.contains(&tok), "{}", out);
        }
    }

    #[test]
    fn field_names_decide_what_is_secret_without_eating_chain_data() {
        for (name, kind) in [
            ("private_key", Some("private_key")),
            ("privateKey", Some("private_key")),
            ("signer.secret-key", Some("private_key")),
            ("pk", Some("private_key")),
            ("db_password", Some("password")),
            ("rpc-secret", Some("password")),
            ("mnemonic", Some("mnemonic")),
            ("token", None),
            ("tx_hash", None),
            ("block_hash", None),
            ("peer", None),
        ] {
            assert_eq!(secret_field_kind(name), kind, "{name}");
        }
        let mut r = Redactor::new(vec![]);
        let hash = "ab".repeat(32);
        let mut f: BTreeMap<String, String> = [
            ("hash".to_string(), hash.clone()),
            ("password".to_string(), "hunter2".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(r.redact_fields("imported block 7", &mut f), 1);
        assert_eq!(f["hash"], hash, "a block hash is not a key");
        assert_eq!(f["password"], "[REDACTED:password]");
        let mut f: BTreeMap<String, String> =
            [("value".to_string(), hash.clone())].into_iter().collect();
        r.redact_fields("loaded private key", &mut f);
        assert_eq!(f["value"], "[REDACTED:private_key]");
    }
}
