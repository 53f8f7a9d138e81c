//! Message catalogs of the console: every user-facing string of a page, keyed, in English
//! and Simplified Chinese (`crates/server/i18n/*.toml`, compiled in). Templates never hold
//! text of their own; they call [`Catalog::t`].

use std::collections::HashMap;
use std::sync::LazyLock;

/// A console language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// Every language, the fallback first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// BCP 47 tag (`en`, `zh-CN`), as `<html lang>` and the language cookie carry it.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language a tag names (`zh`, `zh-CN`, `zh-Hans`… → Chinese; `en*` → English).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase();
        if t == "zh" || t.starts_with("zh-") {
            Some(Lang::ZhCn)
        } else if t == "en" || t.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language to show: the remembered choice (cookie) if valid, else the first
    /// supported language of `Accept-Language` by its q-values, else English.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(l) = cookie.and_then(Lang::from_tag) {
            return l;
        }
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.unwrap_or("").split(',').take(32) {
            let mut it = part.split(';');
            let Some(l) = it.next().and_then(Lang::from_tag) else {
                continue;
            };
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// This language's catalog.
    pub fn catalog(self) -> &'static Catalog {
        match self {
            Lang::En => &EN,
            Lang::ZhCn => &ZH_CN,
        }
    }
}

/// One language's messages.
#[derive(Debug)]
pub struct Catalog {
    /// The language.
    pub lang: Lang,
    messages: HashMap<String, String>,
}

static EN: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::parse(Lang::En, include_str!("../../i18n/en.toml")));
static ZH_CN: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::parse(Lang::ZhCn, include_str!("../../i18n/zh-CN.toml")));

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

impl Catalog {
    /// Parses a catalog (nested TOML tables, keys joined with `.`). A catalog that does not
    /// parse is logged and left empty, so pages show keys instead of failing (a unit test
    /// keeps the compiled-in catalogs parseable).
    pub fn parse(lang: Lang, text: &str) -> Catalog {
        let mut messages = HashMap::new();
        match text.parse::<toml::Table>() {
            Ok(t) => flatten("", &t, &mut messages),
            Err(e) => {
                tracing::error!(lang = lang.tag(), error = %e, "console catalog does not parse")
            }
        }
        Catalog { lang, messages }
    }

    /// The message for `key`; the key itself when the catalog lacks it (the zh-CN test
    /// finds such leaks).
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        match self.messages.get(key) {
            Some(m) => m,
            None => key,
        }
    }

    /// The message for `key` with `{}` replaced by `arg`.
    pub fn t1(&self, key: &str, arg: impl std::fmt::Display) -> String {
        self.t(key).replacen("{}", &arg.to_string(), 1)
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }

    /// Does the catalog hold `key`?
    pub fn has(&self, key: &str) -> bool {
        self.messages.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_catalogs_parse_and_hold_the_same_keys() {
        let en: BTreeSet<_> = Lang::En.catalog().keys().collect();
        let zh: BTreeSet<_> = Lang::ZhCn.catalog().keys().collect();
        assert!(en.len() > 50, "en catalog has {} keys", en.len());
        assert_eq!(
            en.difference(&zh).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "keys missing in zh-CN"
        );
        assert_eq!(
            zh.difference(&en).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "keys missing in en"
        );
        for k in &zh {
            let (e, z) = (Lang::En.catalog().t(k), Lang::ZhCn.catalog().t(k));
            assert_eq!(
                e.matches("{}").count(),
                z.matches("{}").count(),
                "{k}: placeholders differ"
            );
        }
    }

    /// Every `t("…")`/`t1("…"` key a template or page module names is in the catalog.
    #[test]
    fn every_key_the_templates_use_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/console");
        let mut used = 0;
        for d in [dir, src] {
            for entry in std::fs::read_dir(d).expect("read dir") {
                let path = entry.expect("entry").path();
                let text = std::fs::read_to_string(&path).expect("read");
                for pat in [".t(\"", ".t1(\""] {
                    for (i, _) in text.match_indices(pat) {
                        let rest = &text[i + pat.len()..];
                        let key = &rest[..rest.find('"').expect("closing quote")];
                        if key.contains('{') || key.is_empty() {
                            continue;
                        }
                        used += 1;
                        assert!(
                            Lang::En.catalog().has(key),
                            "{}: key {key} is not in the catalog",
                            path.display()
                        );
                    }
                }
            }
        }
        assert!(used > 50, "only {used} keys found");
    }

    #[test]
    fn negotiation_honours_cookie_then_q_values() {
        assert_eq!(Lang::negotiate(None, None), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::ZhCn
        );
        assert_eq!(
            Lang::negotiate(None, Some("fr;q=1, en;q=0.5, zh;q=0.7")),
            Lang::ZhCn
        );
        assert_eq!(
            Lang::negotiate(Some("en"), Some("zh-CN")),
            Lang::En,
            "the remembered choice wins"
        );
        assert_eq!(Lang::negotiate(Some("xx"), Some("zh-TW")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(None, Some(";;;,en;q=0,de")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some(&"x,".repeat(10_000))), Lang::En);
    }
}
