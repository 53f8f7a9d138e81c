//! Rewrites 0.4-era syntax the parser does not accept into equivalent text of the *same
//! length*, so every byte offset (and so every line and column) of the original stays valid.
//!
//! | 0.4 construct | rewritten to |
//! |---|---|
//! | `throw;` | `_thr_;` (an identifier the analysis reads as a revert, [`THROW`]) |
//! | `var (a, , b) = f();` | `    (a, , b) = f();` (tuple assignment; recorded in `var_tuples`) |
//! | `_` placeholder without `;` | `_;` (a following blank becomes the `;`) |
//! | `function () payable onlyOwner {` | `fallback () payable onlyOwner {` |
//! | later keywords used as names (`fallback`, `receive`, `emit`, `virtual`, `calldata`, `instance`…) | the same name with its last letter replaced by `_` |
//! | assembly labels `loop:` | blanks (the `jump(loop)` calls still parse) |
//! | `emit E(x);` under a pragma older than 0.4.21 (`^0.4.19` built by a newer 0.4) | kept: an emit statement |
//! | `uint256 transient locked;` (0.8.24) | `transient` blanked (the parser does not know it yet) |
//!
//! Only code is rewritten: comments, strings and hex literals are left alone.

/// What `throw` becomes; detectors treat a bare expression statement of it as a revert.
pub const THROW: &str = "_thr_";

/// Names later Solidity versions made keywords, with the 0.MINOR that did; code for older
/// compilers uses them as identifiers. (`instance` is a keyword of the parser, never of solc.)
const LATER_KEYWORDS: &[(&str, u32)] = &[
    ("fallback", 6),
    ("receive", 6),
    ("virtual", 6),
    ("override", 6),
    ("immutable", 6),
    ("try", 6),
    ("catch", 6),
    ("abstract", 6),
    ("type", 6),
    ("unchecked", 8),
    ("calldata", 5),
    ("instance", u32::MAX),
];

/// The rewritten text and what was changed.
#[derive(Debug, Clone, Default)]
pub struct Rewritten {
    /// Same length as the input.
    pub text: String,
    /// (byte offset, what) of every rewrite, for diagnostics and tests.
    pub changes: Vec<(usize, &'static str)>,
    /// Offsets of `var (…)` tuple declarations (their names are declared there).
    pub var_tuples: Vec<usize>,
}

/// A code token: identifier/keyword/number, or one punctuation byte.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tok {
    start: usize,
    end: usize,
}

/// Byte ranges of code (outside comments and string literals) split into tokens.
fn tokens(src: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        match c {
            b'/' if src.get(i + 1) == Some(&b'/') => {
                while i < src.len() && src[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < src.len() && !(src[i] == b'*' && src[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'"' | b'\'' => {
                i += 1;
                while i < src.len() && src[i] != c && src[i] != b'\n' {
                    if src[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' => {
                let start = i;
                while i < src.len()
                    && (src[i].is_ascii_alphanumeric() || src[i] == b'_' || src[i] == b'$')
                {
                    i += 1;
                }
                out.push(Tok { start, end: i });
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                // One token per character: a multi-byte character is one token, so slicing
                // the source at token bounds never cuts through it.
                let mut end = i + 1;
                while src.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
                    end += 1;
                }
                out.push(Tok { start: i, end });
                i = end;
            }
        }
    }
    out
}

/// The lowest `0.MINOR.PATCH` a `pragma solidity` allows, if any.
pub fn pragma_min_version(src: &str) -> Option<(u32, u32)> {
    let at = src.find("pragma solidity")?;
    let rest = &src[at + "pragma solidity".len()..];
    let rest = &rest[..rest.find(';')?];
    rest.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|v| {
            let mut p = v.split('.');
            let (major, minor, patch) = (p.next()?, p.next()?, p.next().unwrap_or("0"));
            (major == "0").then_some(())?;
            Some((minor.parse().ok()?, patch.parse().ok()?))
        })
        .min()
}

/// Applies every rewrite. `old` says the code predates 0.6 (later keywords are names there).
pub fn rewrite(src: &str) -> Rewritten {
    let version = pragma_min_version(src);
    // Without a pragma, assume old code: modern code that fails to parse is rare.
    let minor = version.map_or(4, |(m, _)| m);
    let pre_emit = version.is_none_or(|v| v < (4, 21));
    let pre_constructor = version.is_none_or(|v| v < (4, 22));
    let bytes = src.as_bytes();
    let toks = tokens(bytes);
    let mut out = bytes.to_vec();
    let mut r = Rewritten::default();
    let text = |t: &Tok| &src[t.start..t.end];
    let mut assembly_depth: Option<usize> = None;
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate() {
        let word = text(t);
        let next = toks.get(k + 1).map(text);
        let prev = k.checked_sub(1).and_then(|p| toks.get(p)).map(text);
        match word {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if assembly_depth.is_some_and(|d| depth < d) {
                    assembly_depth = None;
                }
            }
            "assembly" if next == Some("{") => assembly_depth = Some(depth + 1),
            _ => {}
        }
        if assembly_depth.is_some() {
            // `label:` (not `:=`): blank it.
            let is_ident = word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if is_ident && next == Some(":") {
                let colon = toks[k + 1];
                let after = toks.get(k + 2).map(text);
                if after != Some("=") || toks[k + 2].start != colon.end {
                    out[t.start..colon.end].fill(b' ');
                    r.changes.push((t.start, "assembly label"));
                }
            }
            continue;
        }
        match word {
            "throw" => {
                out[t.start..t.end].copy_from_slice(THROW.as_bytes());
                r.changes.push((t.start, "throw"));
            }
            "var" if next == Some("(") => {
                out[t.start..t.end].fill(b' ');
                r.var_tuples.push(t.start);
                r.changes.push((t.start, "var tuple"));
            }
            "_" if matches!(prev, Some(";" | "{" | "}" | ")")) && next != Some(";") => {
                // A blank after `_` becomes the `;`; else the blank before moves `_` left.
                if bytes.get(t.end).is_some_and(|b| *b == b' ' || *b == b'\t') {
                    out[t.end] = b';';
                } else if bytes.get(t.end).is_some_and(|b| *b == b'\n' || *b == b'\r')
                    && t.start > 0
                    && bytes[t.start - 1].is_ascii_whitespace()
                    && bytes[t.start - 1] != b'\n'
                {
                    out[t.start - 1] = b'_';
                    out[t.start] = b';';
                } else {
                    continue;
                }
                r.changes.push((t.start, "placeholder without ;"));
            }
            "function" if next == Some("(") && is_fallback_definition(src, &toks, k) => {
                out[t.start..t.end].copy_from_slice(b"fallback");
                r.changes.push((t.start, "unnamed fallback"));
            }
            w if prev != Some(".")
                && LATER_KEYWORDS
                    .iter()
                    .any(|(k, since)| *k == w && minor < *since) =>
            {
                rename(&mut out, t);
                r.changes.push((t.start, "later keyword as a name"));
            }
            // `emit Name(` is an emit statement even under an older pragma (`^0.4.19` code
            // compiled by 0.4.21+): a declaration never has `(` after its name.
            "emit"
                if !(next.is_some_and(starts_ident) && toks.get(k + 2).map(text) == Some("("))
                    && (pre_emit || next.is_none_or(|n| !starts_ident(n))) =>
            {
                rename(&mut out, t);
                r.changes.push((t.start, "emit as a name"));
            }
            // 0.8.24's `transient` data location, which the parser does not know yet: blanked
            // (`uint256 transient locked;` parses as `uint256           locked;`).
            "transient" if next.is_some_and(starts_ident) && minor >= 8 => {
                out[t.start..t.end].fill(b' ');
                r.changes.push((t.start, "transient storage"));
            }
            "constructor" if pre_constructor && next != Some("(") => {
                rename(&mut out, t);
                r.changes.push((t.start, "constructor as a name"));
            }
            _ => {}
        }
    }
    r.text = String::from_utf8(out).unwrap_or_else(|_| src.to_string());
    r
}

fn starts_ident(s: &str) -> bool {
    s.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'$')
}

fn rename(out: &mut [u8], t: &Tok) {
    out[t.end - 1] = b'_';
}

/// `function (` starts an unnamed fallback definition (a body follows before any `;`), not a
/// function-type declaration.
fn is_fallback_definition(src: &str, toks: &[Tok], k: usize) -> bool {
    let mut parens = 0i32;
    for t in &toks[k + 1..] {
        match &src[t.start..t.end] {
            "(" => parens += 1,
            ")" => parens -= 1,
            "{" if parens == 0 => return true,
            ";" | "=" if parens == 0 => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_byte_characters_are_whole_tokens() {
        // Found by fuzzing: a byte token inside `é` or `中` was sliced out of the source.
        for s in [
            "pragma solidity ^0.4.24;\ncontract J { uint dep\u{fffd}osits; }",
            "contract P { function f(address t) { t arget.delegatecall(中); } function ( 文 }",
        ] {
            assert_eq!(rewrite(s).text.len(), s.len());
        }
    }

    fn rw(s: &str) -> String {
        let r = rewrite(s);
        assert_eq!(r.text.len(), s.len(), "length kept");
        r.text
    }

    #[test]
    fn old_constructs_become_parseable_text_of_the_same_length() {
        assert_eq!(rw("if (x) throw;"), "if (x) _thr_;");
        assert_eq!(
            rw("var (a, , b) = f(); var c = 1;"),
            "    (a, , b) = f(); var c = 1;"
        );
        assert_eq!(rw("modifier m { if (x) _\n }"), "modifier m { if (x)_;\n }");
        assert_eq!(rw("modifier m { _ }"), "modifier m { _;}");
        assert_eq!(
            rw("function () payable onlyOwner { }"),
            "fallback () payable onlyOwner { }"
        );
        assert_eq!(
            rw("function (uint) external returns (uint) f;"),
            "function (uint) external returns (uint) f;"
        );
        assert_eq!(
            rw("pragma solidity ^0.4.18; contract C { uint receive; function fallback() {} }"),
            "pragma solidity ^0.4.18; contract C { uint receiv_; function fallbac_() {} }"
        );
        assert_eq!(
            rw("pragma solidity ^0.4.24; contract C { function f() { emit E(1); uint emit; } }"),
            "pragma solidity ^0.4.24; contract C { function f() { emit E(1); uint emi_; } }"
        );
        // `^0.4.19` code that emits (built by a 0.4.21+ compiler) and throws.
        assert_eq!(
            rw(
                "pragma solidity ^0.4.19; contract C { function f() { if (x) throw; emit E(1); uint emit; } }"
            ),
            "pragma solidity ^0.4.19; contract C { function f() { if (x) _thr_; emit E(1); uint emi_; } }"
        );
        assert_eq!(
            rw("pragma solidity ^0.8.24; contract C { uint256 transient locked; uint transient; }"),
            "pragma solidity ^0.8.24; contract C { uint256           locked; uint transient; }"
        );
        assert_eq!(
            rw("assembly { loop:\n jump(loop) x := 1 }"),
            "assembly {      \n jump(loop) x := 1 }"
        );
        // Comments and strings are not code.
        assert_eq!(
            rw("// throw;\n\"throw\"; /* var ( */"),
            "// throw;\n\"throw\"; /* var ( */"
        );
        // Modern code keeps its keywords.
        assert_eq!(
            rw("pragma solidity ^0.8.0; contract C { receive() external payable {} }"),
            "pragma solidity ^0.8.0; contract C { receive() external payable {} }"
        );
    }

    #[test]
    fn pragma_versions() {
        assert_eq!(
            pragma_min_version("pragma solidity ^0.4.24;"),
            Some((4, 24))
        );
        assert_eq!(
            pragma_min_version("pragma solidity >=0.5.0 <0.7.0;"),
            Some((5, 0))
        );
        assert_eq!(pragma_min_version("contract C {}"), None);
    }
}
