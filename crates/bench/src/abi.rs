//! Solidity ABI encoding for user-given calls like `transfer(address,uint256)`, on
//! alloy-dyn-abi: every Solidity type, arrays and tuples included
//! (`f((uint256,address[]),bytes32[2])`), with values written as Solidity literals
//! (`(5, [0xab…])`, negative `intN`, hex or decimal numbers) and range-checked for their width.

use crate::BenchError;
use alloy_dyn_abi::{DynSolType, DynSolValue, JsonAbiExt, Specifier};

/// A parsed function signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// Canonical signature, e.g. `transfer(address,uint256)`.
    pub signature: String,
    /// Argument types, canonical (`uint` → `uint256`).
    pub inputs: Vec<String>,
    abi: alloy_json_abi::Function,
    types: Vec<DynSolType>,
}

impl Function {
    /// Parses `name(type,…)`; parameter names are allowed (`transfer(address to, uint amt)`).
    pub fn parse(sig: &str) -> Result<Self, BenchError> {
        let bad = |detail: String| {
            BenchError::Input(format!(
                "call {sig:?}: {detail}; expected a signature like `transfer(address,uint256)`"
            ))
        };
        if !sig.trim_end().ends_with(')') {
            return Err(bad("no argument list".into()));
        }
        let abi = alloy_json_abi::Function::parse(sig).map_err(|e| bad(e.to_string()))?;
        let types = abi
            .inputs
            .iter()
            .map(|p| p.resolve())
            .collect::<Result<Vec<DynSolType>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        // The selector hashes the canonical signature: `transfer(address,uint)` is
        // `transfer(address,uint256)` on chain.
        Ok(Self {
            signature: abi.signature(),
            inputs: types
                .iter()
                .map(DynSolType::sol_type_name)
                .map(|t| t.into_owned())
                .collect(),
            abi,
            types,
        })
    }

    /// The 4-byte selector.
    pub fn selector(&self) -> [u8; 4] {
        self.abi.selector().0
    }

    /// Selector plus encoded arguments, each written as a Solidity literal.
    pub fn encode(&self, args: &[String]) -> Result<Vec<u8>, BenchError> {
        if args.len() != self.inputs.len() {
            return Err(BenchError::Input(format!(
                "call {}: takes {} argument(s), {} given",
                self.signature,
                self.inputs.len(),
                args.len()
            )));
        }
        let values = self
            .types
            .iter()
            .zip(args)
            .enumerate()
            .map(|(i, (t, a))| {
                t.coerce_str(a).map_err(|e| {
                    BenchError::Input(format!(
                        "call {} argument {} ({}): {e}",
                        self.signature,
                        i + 1,
                        self.inputs[i]
                    ))
                })
            })
            .collect::<Result<Vec<DynSolValue>, _>>()?;
        self.abi
            .abi_encode_input(&values)
            .map_err(|e| BenchError::Input(format!("call {}: {e}", self.signature)))
    }
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
    fn arrays_tuples_and_negative_integers_encode_as_solidity_does() {
        let f = Function::parse("f((uint256,address[]),int8,bytes32[2])").expect("parse");
        assert_eq!(f.signature, "f((uint256,address[]),int8,bytes32[2])");
        let zero = format!("0x{}", "00".repeat(32));
        let data = f
            .encode(&[
                "(5, [0x00000000000000000000000000000000000000aa])".into(),
                "-1".into(),
                format!("[{zero}, {zero}]"),
            ])
            .expect("encode");
        // head: tuple offset, int8, bytes32[2] inline; tail: the tuple (uint, offset, len, addr).
        assert_eq!(data.len(), 4 + 32 * 4 + 32 * 4);
        assert_eq!(data[4 + 31], 0x80, "the tuple starts after the 4-word head");
        assert!(
            data[4 + 32..4 + 64].iter().all(|b| *b == 0xff),
            "-1 sign-extends"
        );
        assert_eq!(data[4 + 128 + 31], 5);
        assert_eq!(data[4 + 128 + 127], 0xaa);
        let e = f
            .encode(&["(5)".into(), "0".into(), format!("[{zero}]")])
            .expect_err("short tuple");
        assert!(e.to_string().contains("argument 1"), "{e}");
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
