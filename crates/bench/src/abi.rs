//! Solidity ABI encoding for user-given calls like `transfer(address,uint256)`.
//!
//! Supports the types load tests call with: `address`, `uintN`, `intN` (non-negative
//! decimal or hex), `bool`, `bytesN` (N ≤ 32), `bytes` and `string`.

use crate::BenchError;
use crate::keys::{keccak, parse_hex};

/// A parsed function signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Canonical signature, e.g. `transfer(address,uint256)`.
    pub signature: String,
    /// Argument types.
    pub inputs: Vec<String>,
}

impl Function {
    /// Parses `name(type,…)`.
    pub fn parse(sig: &str) -> Result<Self, BenchError> {
        let s: String = sig.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = || {
            BenchError::Input(format!(
                "call {sig:?}: expected a signature like `transfer(address,uint256)`"
            ))
        };
        let open = s.find('(').ok_or_else(bad)?;
        if !s.ends_with(')') || open == 0 {
            return Err(bad());
        }
        let name = &s[..open];
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad());
        }
        let inner = &s[open + 1..s.len() - 1];
        let inputs: Vec<String> = if inner.is_empty() {
            vec![]
        } else {
            inner.split(',').map(canonical).collect()
        };
        for t in &inputs {
            kind(t).map_err(|e| BenchError::Input(format!("call {sig:?}: {e}")))?;
        }
        // The selector hashes the canonical signature: `transfer(address,uint)` is
        // `transfer(address,uint256)` on chain.
        Ok(Self {
            signature: format!("{name}({})", inputs.join(",")),
            inputs,
        })
    }

    /// The 4-byte selector.
    pub fn selector(&self) -> [u8; 4] {
        let h = keccak(self.signature.as_bytes());
        [h[0], h[1], h[2], h[3]]
    }

    /// Selector plus encoded arguments.
    pub fn encode(&self, args: &[String]) -> Result<Vec<u8>, BenchError> {
        if args.len() != self.inputs.len() {
            return Err(BenchError::Input(format!(
                "call {}: takes {} argument(s), {} given",
                self.signature,
                self.inputs.len(),
                args.len()
            )));
        }
        let mut head = Vec::with_capacity(32 * args.len());
        let mut tail = Vec::new();
        for (i, (t, a)) in self.inputs.iter().zip(args).enumerate() {
            let ctx = |e: String| {
                BenchError::Input(format!("call {} argument {}: {e}", self.signature, i + 1))
            };
            match kind(t).map_err(ctx)? {
                Kind::Static => head.extend_from_slice(&word(t, a).map_err(ctx)?),
                Kind::Dynamic => {
                    let offset = 32 * self.inputs.len() + tail.len();
                    head.extend_from_slice(&uint_word(offset as u128));
                    let data = if t == "string" {
                        a.as_bytes().to_vec()
                    } else {
                        parse_hex(a).map_err(|e| ctx(e.to_string()))?
                    };
                    tail.extend_from_slice(&uint_word(data.len() as u128));
                    tail.extend_from_slice(&data);
                    tail.resize(tail.len().div_ceil(32) * 32, 0);
                }
            }
        }
        let mut out = self.selector().to_vec();
        out.extend(head);
        out.extend(tail);
        Ok(out)
    }
}

/// The canonical spelling of a type alias (`uint` → `uint256`, `int` → `int256`,
/// `byte` → `bytes1`).
fn canonical(t: &str) -> String {
    match t {
        "uint" => "uint256".into(),
        "int" => "int256".into(),
        "byte" => "bytes1".into(),
        t => t.to_string(),
    }
}

enum Kind {
    Static,
    Dynamic,
}

fn kind(t: &str) -> Result<Kind, String> {
    let sized = |prefix: &str, max: u32, step: u32| -> bool {
        t.strip_prefix(prefix).is_some_and(|n| {
            n.is_empty() && prefix != "bytes"
                || n.parse::<u32>()
                    .is_ok_and(|n| n > 0 && n <= max && n % step == 0)
        })
    };
    match t {
        "address" | "bool" => Ok(Kind::Static),
        "string" | "bytes" => Ok(Kind::Dynamic),
        _ if sized("uint", 256, 8) || sized("int", 256, 8) || sized("bytes", 32, 1) => {
            Ok(Kind::Static)
        }
        _ => Err(format!(
            "type {t:?} is not supported (address, uintN, intN, bool, bytesN, bytes, string)"
        )),
    }
}

fn uint_word(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

fn word(t: &str, a: &str) -> Result<[u8; 32], String> {
    let mut w = [0u8; 32];
    if t == "address" {
        let b = parse_hex(a).map_err(|e| e.to_string())?;
        if b.len() != 20 {
            return Err(format!("{a:?} is not a 20-byte address"));
        }
        w[12..].copy_from_slice(&b);
    } else if t == "bool" {
        w[31] = match a {
            "true" | "1" => 1,
            "false" | "0" => 0,
            _ => return Err(format!("{a:?} is not a bool (true/false)")),
        };
    } else if let Some(size) = t.strip_prefix("bytes") {
        let b = parse_hex(a).map_err(|e| e.to_string())?;
        let n: usize = size.parse().map_err(|_| format!("bad type {t}"))?;
        if b.len() != n {
            return Err(format!("{a:?} must have exactly {n} bytes for {t}"));
        }
        w[..n].copy_from_slice(&b);
    } else {
        let v = if let Some(h) = a.strip_prefix("0x") {
            u128::from_str_radix(h, 16)
        } else {
            a.parse::<u128>()
        }
        .map_err(|_| format!("{a:?} is not a non-negative integer below 2^128"))?;
        // uintN holds N bits, intN (non-negative values) N-1.
        let bits = t
            .trim_start_matches("uint")
            .trim_start_matches("int")
            .parse::<u32>()
            .unwrap_or(256)
            - u32::from(!t.starts_with('u'));
        if bits < 128 && v >> bits != 0 {
            return Err(format!("{a} does not fit in {t}"));
        }
        w = uint_word(v);
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::hex;

    #[test]
    fn transfer_selector_and_encoding() {
        let f = Function::parse("transfer(address, uint256)").expect("parse");
        assert_eq!(hex(&f.selector()), "a9059cbb");
        let data = f
            .encode(&[
                "0x00000000000000000000000000000000000000aa".into(),
                "5".into(),
            ])
            .expect("encode");
        assert_eq!(data.len(), 4 + 64);
        assert_eq!(data[4 + 31], 0xaa);
        assert_eq!(data[4 + 63], 5);
    }

    #[test]
    fn dynamic_string_is_offset_encoded() {
        let f = Function::parse("set(string)").expect("parse");
        let data = f.encode(&["hi".into()]).expect("encode");
        assert_eq!(data.len(), 4 + 32 * 3);
        assert_eq!(data[4 + 31], 32); // offset
        assert_eq!(data[4 + 63], 2); // length
        assert_eq!(&data[4 + 64..4 + 66], b"hi");
    }

    #[test]
    fn aliases_hash_as_their_canonical_types_and_values_must_fit() {
        // Issue 14: `uint` was hashed as written, giving the wrong selector.
        let a = Function::parse("transfer(address,uint)").expect("parse");
        let b = Function::parse("transfer(address,uint256)").expect("parse");
        assert_eq!(a.signature, "transfer(address,uint256)");
        assert_eq!(a.selector(), [0xa9, 0x05, 0x9c, 0xbb]);
        assert_eq!(a.selector(), b.selector());
        let f = Function::parse("f(uint8,int8)").expect("parse");
        assert!(f.encode(&["255".into(), "127".into()]).is_ok());
        assert!(
            f.encode(&["256".into(), "0".into()]).is_err(),
            "uint8 holds 0..=255"
        );
        assert!(
            f.encode(&["0".into(), "128".into()]).is_err(),
            "int8 holds up to 127"
        );
    }

    #[test]
    fn bad_input_is_named() {
        assert!(Function::parse("transfer").is_err());
        let e = Function::parse("f(uint7)").expect_err("bad type");
        assert!(e.to_string().contains("uint7"), "{e}");
        let f = Function::parse("f(bool)").expect("parse");
        let e = f.encode(&["maybe".into()]).expect_err("bad bool");
        assert!(e.to_string().contains("argument 1"), "{e}");
        assert!(f.encode(&[]).is_err());
    }
}
