//! Ranked full-text search over knowledge-base articles, reading Chinese: BM25 over terms —
//! lower-cased Latin words (the last word of a query also matches as a prefix, so
//! suggestions work while someone types) and, for CJK text, overlapping character bigrams
//! (and single characters, for one-character queries), the usual way to index Chinese
//! without a dictionary. Titles weigh three times the body. Pure: the desk builds an
//! [`Index`] from the store's rows ([`crate::kb`]).

use chainops_store::kb::ArticleRow;
use std::collections::{BTreeMap, HashMap};

/// Most results a search returns.
pub const MAX_RESULTS: usize = 50;

const K1: f64 = 1.2;
const B: f64 = 0.75;
const TITLE_WEIGHT: u32 = 3;

/// Whether `c` is written without spaces between words (Han, kana, Hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF
        | 0x20000..=0x2FA1F)
}

/// The terms of `text`: Latin words (2+ characters) and CJK bigrams and characters.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    let flush_word = |w: &mut String, out: &mut Vec<String>| {
        if w.chars().count() >= 2 {
            out.push(std::mem::take(w));
        }
        w.clear();
    };
    let flush_run = |r: &mut Vec<char>, out: &mut Vec<String>| {
        for c in r.iter() {
            out.push(c.to_string());
        }
        for pair in r.windows(2) {
            out.push(pair.iter().collect());
        }
        r.clear();
    };
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            run.push(c);
        } else if c.is_alphanumeric() {
            flush_run(&mut run, &mut out);
            word.push(c);
        } else {
            flush_word(&mut word, &mut out);
            flush_run(&mut run, &mut out);
        }
    }
    flush_word(&mut word, &mut out);
    flush_run(&mut run, &mut out);
    out
}

/// The terms a query searches for: CJK runs as bigrams (a single character alone), words.
fn query_terms(q: &str) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let mut last_word = None;
    let lower: String = q.chars().flat_map(char::to_lowercase).collect();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find(|c: char| c.is_alphanumeric()) {
        rest = &rest[start..];
        let first = rest.chars().next().unwrap_or(' ');
        let cjk = is_cjk(first);
        let end = rest
            .find(|c: char| !c.is_alphanumeric() || is_cjk(c) != cjk)
            .unwrap_or(rest.len());
        let piece = &rest[..end];
        if cjk {
            let chars: Vec<char> = piece.chars().collect();
            if chars.len() == 1 {
                out.push(piece.to_string());
            } else {
                out.extend(chars.windows(2).map(|p| p.iter().collect::<String>()));
            }
            last_word = None;
        } else if piece.chars().count() >= 2 {
            out.push(piece.to_string());
            last_word = Some(piece.to_string());
        } else {
            last_word = Some(piece.to_string());
        }
        rest = &rest[end..];
    }
    // Only a query ending in a word (not a space) is still being typed.
    let typing = !q.ends_with(char::is_whitespace);
    (out, last_word.filter(|_| typing))
}

/// One indexed article version.
#[derive(Debug, Clone)]
struct Doc {
    row: ArticleRow,
    tf: HashMap<String, u32>,
    len: u32,
}

/// The searchable knowledge base.
#[derive(Debug, Default)]
pub struct Index {
    docs: Vec<Doc>,
    df: BTreeMap<String, u32>,
    avg_len: f64,
    /// The store version (article count, newest change) it was built from.
    pub(crate) version: (i64, i64),
}

/// Who is searching: requesters see published public articles only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A requester (the portal, the public pages and API).
    Public,
    /// Staff: drafts and internal articles too.
    Staff,
}

/// A search hit.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The version found (the viewer's language when the article has one).
    pub article: ArticleRow,
    /// Relevance (BM25).
    pub score: f64,
}

impl Index {
    /// Indexes `rows`.
    pub fn build(rows: Vec<ArticleRow>, version: (i64, i64)) -> Index {
        let mut docs = Vec::with_capacity(rows.len());
        let mut df: BTreeMap<String, u32> = BTreeMap::new();
        let mut total = 0u64;
        for row in rows {
            let mut tf: HashMap<String, u32> = HashMap::new();
            for t in terms(&row.title) {
                *tf.entry(t).or_default() += TITLE_WEIGHT;
            }
            for t in terms(&row.body) {
                *tf.entry(t).or_default() += 1;
            }
            for t in tf.keys() {
                *df.entry(t.clone()).or_default() += 1;
            }
            let len = tf.values().sum::<u32>().max(1);
            total += u64::from(len);
            docs.push(Doc { row, tf, len });
        }
        let avg_len = if docs.is_empty() {
            1.0
        } else {
            total as f64 / docs.len() as f64
        };
        Index {
            docs,
            df,
            avg_len,
            version,
        }
    }

    fn visible(d: &ArticleRow, who: Audience) -> bool {
        who == Audience::Staff || (d.public && d.published)
    }

    /// Every version `who` may see.
    pub fn all(&self, who: Audience) -> Vec<&ArticleRow> {
        self.docs
            .iter()
            .map(|d| &d.row)
            .filter(|r| Self::visible(r, who))
            .collect()
    }

    /// One version of every article `who` may see: the one in `lang` when there is one.
    pub fn one_per_article(&self, lang: &str, who: Audience) -> Vec<&ArticleRow> {
        let mut chosen: Vec<&ArticleRow> = Vec::new();
        for a in self.all(who) {
            match chosen.iter().position(|x| x.id == a.id) {
                Some(i) if a.lang == lang => chosen[i] = a,
                Some(_) => {}
                None => chosen.push(a),
            }
        }
        chosen
    }

    /// The versions of article `id` that `who` may see.
    pub fn versions(&self, id: &str, who: Audience) -> Vec<&ArticleRow> {
        self.docs
            .iter()
            .map(|d| &d.row)
            .filter(|r| r.id == id && Self::visible(r, who))
            .collect()
    }

    /// Articles matching `q`, best first, one version each (in `lang` when there is one),
    /// at most `limit`.
    pub fn search(&self, q: &str, lang: &str, who: Audience, limit: usize) -> Vec<Hit> {
        let (mut qterms, prefix) = query_terms(q);
        // A word still being typed also matches the words it starts (at most 20 of them).
        let mut expansions: Vec<String> = Vec::new();
        if let Some(p) = &prefix {
            expansions = self
                .df
                .range(p.clone()..)
                .take_while(|(k, _)| k.starts_with(p.as_str()))
                .filter(|(k, _)| k.as_str() != p)
                .take(20)
                .map(|(k, _)| k.clone())
                .collect();
            if p.chars().count() < 2 {
                qterms.retain(|t| t != p);
            }
        }
        if qterms.is_empty() && expansions.is_empty() {
            return Vec::new();
        }
        let n = self.docs.len() as f64;
        let idf = |t: &str| {
            let df = f64::from(self.df.get(t).copied().unwrap_or(0));
            ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
        };
        let mut best: HashMap<&str, Hit> = HashMap::new();
        for d in &self.docs {
            if !Self::visible(&d.row, who) {
                continue;
            }
            let norm = K1 * (1.0 - B + B * f64::from(d.len) / self.avg_len);
            let bm25 = |t: &str| {
                let f = f64::from(d.tf.get(t).copied().unwrap_or(0));
                if f == 0.0 {
                    0.0
                } else {
                    idf(t) * f * (K1 + 1.0) / (f + norm)
                }
            };
            let mut score: f64 = qterms.iter().map(|t| bm25(t)).sum();
            // The best completion of the word being typed counts as that word.
            score += expansions.iter().map(|t| bm25(t)).fold(0.0_f64, f64::max);
            if score <= 0.0 {
                continue;
            }
            let hit = Hit {
                article: d.row.clone(),
                score,
            };
            match best.get(d.row.id.as_str()) {
                Some(h) if h.article.lang == lang || (d.row.lang != lang && h.score >= score) => {}
                _ => {
                    best.insert(&d.row.id, hit);
                }
            }
        }
        let mut hits: Vec<Hit> = best.into_values().collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.article.id.cmp(&b.article.id))
        });
        hits.truncate(limit.min(MAX_RESULTS));
        hits
    }
}
