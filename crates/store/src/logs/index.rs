//! The full-text index of log rows.
//!
//! Consecutive rows (by id, inside one block) are indexed together in chunks of up to
//! [`CHUNK`] rows; a chunk's document is keyed by its first row id. A document holds every
//! distinct *word* of the chunk's messages and field values once (log lines repeat most of
//! their words). Words are the runs between [`is_separator`] characters, with hex runs
//! longer than [`INDEXED_HEX`] cut to their prefix (hashes are searched from their start;
//! indexing 64 random characters per hash would triple the index).
//!
//! - SQLite: the document is the chunk's distinct lowercase trigrams, each written as a
//!   letters-only token for FTS5's `ascii` tokenizer (no trigrams across word boundaries,
//!   each trigram hashed once per chunk).
//! - PostgreSQL: the document is the distinct words, under a `pg_trgm` GIN index.
//!
//! A search term is cut into pieces the same way; every piece occurs inside some word of
//! a matching document, so documents give candidate chunks, never miss one, and the
//! row-level substring recheck makes the result exact.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Rows per index document.
pub(super) const CHUNK: i64 = 32;
/// Hex runs longer than this are indexed by their prefix only.
const INDEXED_HEX: usize = 16;
/// Trigram tokens used per search term at most (spread over the term).
const MAX_QUERY_TOKENS: usize = 12;

/// Characters that end a word (whitespace and the punctuation of JSON and `key=value`).
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '{'
                | '}'
                | ','
                | ':'
                | '='
                | '['
                | ']'
                | '('
                | ')'
                | ';'
                | '\''
                | '`'
                | '<'
                | '>'
        )
}

/// The words of `text` as indexed: runs between separators, long hex runs cut.
fn words(text: &str) -> impl Iterator<Item = Cow<'_, str>> {
    text.split(is_separator)
        .filter(|w| w.len() >= 3)
        .map(cut_hex)
}

/// `word` with every hex run longer than [`INDEXED_HEX`] cut to that length.
fn cut_hex(word: &str) -> Cow<'_, str> {
    let b = word.as_bytes();
    let mut run = 0;
    if !b.iter().any(|c| {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        run > INDEXED_HEX
    }) {
        return Cow::Borrowed(word);
    }
    let mut out = String::with_capacity(word.len());
    let mut run = 0;
    for c in word.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run <= INDEXED_HEX {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Calls `f` with every lowercase trigram of `word`, packed into a `u64` (injective).
fn trigrams(word: &str, mut f: impl FnMut(u64)) {
    if word.is_ascii() {
        let b = word.as_bytes();
        for w in b.windows(3) {
            let [a, b2, c] = [w[0], w[1], w[2]].map(|x| u64::from(x.to_ascii_lowercase()));
            f((a << 14) | (b2 << 7) | c);
        }
    } else {
        let chars: Vec<char> = word.to_lowercase().chars().collect();
        for w in chars.windows(3) {
            if w.iter().all(char::is_ascii) {
                let [a, b2, c] = [w[0], w[1], w[2]].map(|x| x as u64);
                f((a << 14) | (b2 << 7) | c);
            } else {
                let [a, b2, c] = [w[0], w[1], w[2]].map(|x| x as u64);
                f((1 << 63) | (a << 42) | (b2 << 21) | c);
            }
        }
    }
}

/// Writes a packed trigram as a letters-only token: 5 letters for ASCII trigrams, 14 for
/// others (distinct lengths, so the two never collide).
fn push_token(out: &mut String, mut v: u64) {
    let len = if v >> 63 == 0 { 5 } else { 14 };
    for _ in 0..len {
        out.push(char::from(b'a' + (v % 26) as u8));
        v /= 26;
    }
}

/// A fast, non-cryptographic hasher for the per-chunk sets (keys are our own data).
#[derive(Default, Clone, Copy)]
pub(super) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxSet<T> = HashSet<T, BuildHasherDefault<FxHasher>>;

/// Which document format the backend indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DocKind {
    /// Letters-only trigram tokens (SQLite FTS5, `ascii` tokenizer).
    Trigrams,
    /// Distinct words (PostgreSQL `pg_trgm`).
    Words,
}

/// Builds one chunk's document from its rows' texts.
pub(super) struct DocBuilder<'a> {
    kind: DocKind,
    words: FxSet<Cow<'a, str>>,
    grams: FxSet<u64>,
    doc: String,
}

impl<'a> DocBuilder<'a> {
    /// An empty document of `kind`.
    pub fn new(kind: DocKind) -> Self {
        DocBuilder {
            kind,
            words: FxSet::default(),
            grams: FxSet::default(),
            doc: String::new(),
        }
    }

    /// Adds a row's message or fields text.
    pub fn add(&mut self, text: &'a str) {
        for w in words(text) {
            if self.words.contains(&w) {
                continue;
            }
            match self.kind {
                DocKind::Trigrams => {
                    let (grams, doc) = (&mut self.grams, &mut self.doc);
                    trigrams(&w, |g| {
                        if grams.insert(g) {
                            if !doc.is_empty() {
                                doc.push(' ');
                            }
                            push_token(doc, g);
                        }
                    });
                }
                DocKind::Words => {
                    if !self.doc.is_empty() {
                        self.doc.push(' ');
                    }
                    self.doc.push_str(&w);
                }
            }
            self.words.insert(w);
        }
    }

    /// The document so far; the builder starts a new, empty one.
    pub fn take(&mut self) -> String {
        self.words.clear();
        self.grams.clear();
        std::mem::take(&mut self.doc)
    }
}

/// What a search term requires of a document: SQLite FTS5 tokens (all must occur) or
/// PostgreSQL word pieces (each must occur inside the document). Empty: no index help
/// (the term has no piece of three characters); the recheck alone decides.
pub(super) fn query_needles(term: &str, kind: DocKind) -> Vec<String> {
    let pieces: Vec<Cow<'_, str>> = words(term).collect();
    match kind {
        DocKind::Words => pieces.iter().map(|p| p.to_string()).collect(),
        DocKind::Trigrams => {
            let mut grams: Vec<u64> = Vec::new();
            for p in &pieces {
                trigrams(p, |g| grams.push(g));
            }
            let mut seen = FxSet::default();
            grams.retain(|g| seen.insert(*g));
            let step = grams.len().div_ceil(MAX_QUERY_TOKENS).max(1);
            grams
                .into_iter()
                .step_by(step)
                .map(|g| {
                    let mut t = String::new();
                    push_token(&mut t, g);
                    t
                })
                .collect()
        }
    }
}

/// A term prepared for the case-insensitive substring recheck.
#[derive(Debug, Clone)]
pub(super) struct Needle {
    lower: String,
    ascii: bool,
}

impl Needle {
    /// Prepares `term`.
    pub fn new(term: &str) -> Needle {
        Needle {
            lower: term.to_lowercase(),
            ascii: term.is_ascii(),
        }
    }

    /// Whether `hay` contains the term, ignoring case (ASCII terms: ASCII case folding,
    /// like SQL `LIKE`; others: Unicode lowercase).
    pub fn found_in(&self, hay: &str) -> bool {
        if self.ascii {
            let n = self.lower.as_bytes();
            n.is_empty()
                || hay
                    .as_bytes()
                    .windows(n.len())
                    .any(|w| w.eq_ignore_ascii_case(n))
        } else {
            hay.to_lowercase().contains(&self.lower)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(kind: DocKind, texts: &[&'static str]) -> String {
        let mut b = DocBuilder::new(kind);
        for t in texts {
            b.add(t);
        }
        b.take()
    }

    #[test]
    fn words_split_json_and_key_values_and_cut_long_hex() {
        let h = "0x0dc2d26eb5826af459572363699ef622898d8e09fb9fa240f4cb941059c95500";
        let got: Vec<String> = words(&format!(r#"{{"hash":"{h}"}} number=12 ok 区块高度"#))
            .map(|w| w.into_owned())
            .collect();
        assert_eq!(
            got,
            vec!["hash", "0x0dc2d26eb5826af4", "number", "区块高度"]
        );
    }

    #[test]
    fn documents_hold_each_word_and_trigram_once() {
        assert_eq!(
            doc(DocKind::Words, &["new block 12", "new block 13", "{}"]),
            "new block"
        );
        let d = doc(DocKind::Trigrams, &["abcd", "ABCD bcd"]);
        // abc, bcd: two ASCII tokens of five letters, case folded.
        assert_eq!(d.split(' ').count(), 2);
        assert!(d.split(' ').all(|t| t.len() == 5));
        let cjk = doc(DocKind::Trigrams, &["连接超时"]);
        assert_eq!(cjk.split(' ').map(str::len).collect::<Vec<_>>(), [14, 14]);
    }

    #[test]
    fn every_query_token_is_in_the_document_of_a_matching_text() {
        let text = r#"Imported new chain segment number=19000001 hash=0xabcdef0123456789abcdef {"peer":"10.0.0.7:30303"}"#;
        for kind in [DocKind::Trigrams, DocKind::Words] {
            let d = doc(kind, &[text]);
            for term in [
                "chain segment",
                "number=19000",
                "0xabcdef0123456789abcdef",
                "0.0.7:303",
                "IMPORTED",
            ] {
                let needles = query_needles(term, kind);
                assert!(!needles.is_empty(), "{term}");
                for n in needles {
                    match kind {
                        DocKind::Trigrams => assert!(d.split(' ').any(|t| t == n), "{term}"),
                        DocKind::Words => {
                            assert!(d.to_lowercase().contains(&n.to_lowercase()), "{term}")
                        }
                    }
                }
            }
            assert!(query_needles("ok", kind).is_empty());
        }
        assert!(
            query_needles(
                "a much longer search term than twelve trigrams",
                DocKind::Trigrams
            )
            .len()
                <= MAX_QUERY_TOKENS
        );
    }

    #[test]
    fn the_recheck_ignores_case() {
        assert!(Needle::new("nonce TOO").found_in("Nonce too low"));
        assert!(!Needle::new("nonce too high").found_in("Nonce too low"));
        assert!(Needle::new("连接超时").found_in("同步失败：节点连接超时"));
        assert!(Needle::new("ÄRGER").found_in("großer ärger"));
    }
}
