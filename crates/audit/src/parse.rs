//! Parsing: solang-parser first on the text as written; if that fails, on the tolerant
//! rewrite ([`crate::tolerant`]); if that fails inside an `assembly` block, with the block
//! blanked (and a note). Offsets always refer to the original text.

use crate::source::SourceFile;
use crate::tolerant::{self, Rewritten};
use solang_parser::pt::SourceUnit;

/// A parse failure at a place.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the parser said.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// A parsed file.
#[derive(Debug)]
pub struct Parsed {
    /// The source as read.
    pub file: SourceFile,
    /// The syntax tree (offsets into `file.text`).
    pub unit: SourceUnit,
    /// The rewrite used, if the text as written did not parse.
    pub rewritten: Option<Rewritten>,
    /// Byte ranges of assembly blocks that were blanked to parse (not analysed).
    pub skipped_assembly: Vec<(usize, usize)>,
}

impl Parsed {
    /// True when `throw` was rewritten at `offset` (a revert).
    pub fn is_throw_at(&self, offset: usize) -> bool {
        self.file.text.get(offset..offset + 5) == Some("throw")
    }
}

fn diagnostic(file: &SourceFile, offset: usize, message: String) -> Diagnostic {
    let (line, column) = file.line_col(offset);
    Diagnostic {
        file: file.path.display().to_string(),
        line,
        column,
        message,
    }
}

fn first_error(text: &str) -> Result<SourceUnit, (usize, String)> {
    solang_parser::parse(text, 0)
        .map(|(unit, _)| unit)
        .map_err(|diags| {
            diags
                .into_iter()
                .next()
                .map_or((0, "cannot parse".to_string()), |d| {
                    (d.loc.start(), d.message)
                })
        })
}

/// The `assembly { … }` block (body range) containing `offset`, if any.
fn assembly_block_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let mut search = 0;
    while let Some(found) = text[search..].find("assembly") {
        let at = search + found;
        search = at + 8;
        let open = at + 8 + text[at + 8..].find('{')?;
        if !text[at + 8..open].trim().is_empty() && !text[at + 8..open].trim().starts_with('"') {
            continue;
        }
        let mut depth = 0;
        for (i, c) in text[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        let close = open + i;
                        if (open..=close).contains(&offset) {
                            return Some((open + 1, close));
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// Parses a file (see the module doc for the fallbacks).
pub fn parse(file: SourceFile) -> Result<Parsed, Diagnostic> {
    let original = match first_error(&file.text) {
        Ok(unit) => {
            return Ok(Parsed {
                file,
                unit,
                rewritten: None,
                skipped_assembly: Vec::new(),
            });
        }
        Err(e) => e,
    };
    let mut rewritten = tolerant::rewrite(&file.text);
    let mut skipped = Vec::new();
    for _ in 0..8 {
        match first_error(&rewritten.text) {
            Ok(unit) => {
                return Ok(Parsed {
                    file,
                    unit,
                    rewritten: Some(rewritten),
                    skipped_assembly: skipped,
                });
            }
            Err((at, message)) => match assembly_block_at(&rewritten.text, at) {
                Some((start, end)) if !skipped.contains(&(start, end)) => {
                    let blanked: String = rewritten.text[start..end]
                        .chars()
                        .map(|c| if c == '\n' { '\n' } else { ' ' })
                        .collect();
                    if blanked.len() != end - start {
                        break;
                    }
                    rewritten.text.replace_range(start..end, &blanked);
                    skipped.push((start, end));
                }
                _ => {
                    return Err(diagnostic(&file, at, message));
                }
            },
        }
    }
    Err(diagnostic(&file, original.0, original.1))
}

#[cfg(test)]
mod old_syntax {
    use super::*;

    /// Every 0.4-era construct the tolerant step handles parses, and the keywords solc itself
    /// reserves still fail with a located diagnostic.
    #[test]
    fn old_constructs_parse() {
        let cases = [
            ("var", "contract C { function f() { var x = 1; } }"),
            (
                "var tuple",
                "contract C { function f() { var (a, , b) = g(); } }",
            ),
            (
                "tuple assign",
                "contract C { function f() { (a, , b) = g(); } }",
            ),
            ("bare _", "contract C { modifier m { if (x) _\n } }"),
            (
                "unnamed fallback",
                "contract C { function () payable onlyOwner { } }",
            ),
            (
                "constant fn",
                "contract C { function f() constant returns (uint) { return 1; } }",
            ),
            ("years", "contract C { uint x = 1 years; }"),
            (
                "suicide",
                "contract C { function f() { suicide(msg.sender); } }",
            ),
            ("fallback ident", "contract C { function fallback() { } }"),
            ("receive ident", "contract C { uint receive; }"),
            (
                "calldata ident",
                "contract C { function f(bytes calldata) { } }",
            ),
            ("instance ident", "contract C { address instance; }"),
            ("emit ident", "contract C { uint emit; }"),
            ("virtual ident", "contract C { uint virtual; }"),
            (
                "assembly label",
                "contract C { function f() { assembly { loop:\n jump(loop) } } }",
            ),
            (
                "assembly =:",
                "contract C { function f() { assembly { 1 =: x } } }",
            ),
            (
                "sha3",
                "contract C { function f() { bytes32 h = sha3(1); } }",
            ),
            (
                "call.value",
                "contract C { function f() { msg.sender.call.value(1)(); } }",
            ),
            ("constructor name", "contract C { function C() { } }"),
            (
                "event no emit",
                "contract C { event E(); function f() { E(); } }",
            ),
            ("unicode", "contract C { string s = \"héllo\"; }"),
            ("kw override", "contract C { uint override; }"),
            ("kw immutable", "contract C { uint immutable; }"),
            ("kw unchecked", "contract C { uint unchecked; }"),
            ("kw try", "contract C { uint try; }"),
            ("kw catch", "contract C { uint catch; }"),
            ("kw leave", "contract C { uint leave; }"),
            ("kw abstract", "contract C { uint abstract; }"),
            ("kw error", "contract C { uint error; }"),
            ("kw revert", "contract C { uint revert; }"),
            ("kw type", "contract C { uint type; }"),
            ("kw constructor", "contract C { uint constructor; }"),
            ("kw payable", "contract C { uint payable; }"),
            ("kw switch", "contract C { uint switch; }"),
            ("kw default", "contract C { uint default; }"),
            ("kw case", "contract C { uint case; }"),
            ("kw global", "contract C { uint global; }"),
            ("kw instance2", "contract C { uint instance; }"),
            ("kw unicode", "contract C { uint unicode; }"),
            ("kw after", "contract C { uint after; }"),
            ("kw interface id", "contract C { uint interface; }"),
            ("kw anonymous", "contract C { uint anonymous; }"),
            ("kw indexed", "contract C { uint indexed; }"),
            ("kw external", "contract C { uint external; }"),
            ("kw byte", "contract C { byte b; }"),
            ("kw seconds", "contract C { uint x = now + 1 seconds; }"),
        ];
        for (name, src) in cases {
            let keyword_in_solc_too = matches!(
                name,
                "kw payable" | "kw interface id" | "kw anonymous" | "kw indexed" | "kw external"
            );
            let f = SourceFile::new("t.sol", src.into());
            match parse(f) {
                Ok(_) => assert!(!keyword_in_solc_too, "{name} should not parse"),
                Err(d) => {
                    assert!(keyword_in_solc_too, "{name}: {d}");
                    assert_eq!((d.file.as_str(), d.line), ("t.sol", 1), "{name}: {d}");
                    assert!(d.column > 1, "{d}");
                }
            }
        }
    }

    #[test]
    fn offsets_survive_the_rewrite() {
        let src = "pragma solidity ^0.4.18;\ncontract C {\n  function f() {\n    if (x) throw;\n    uint y = 1;\n  }\n}\n";
        let p = parse(SourceFile::new("t.sol", src.into())).expect("parses");
        assert!(p.rewritten.is_some());
        assert!(p.is_throw_at(src.find("throw").expect("throw")));
    }
}
