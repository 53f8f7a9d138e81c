//! Parsing of `0x`-prefixed hex quantities as EVM nodes return them.

use chainops_core::ports::ChainError;
use serde_json::Value;

/// Parses a hex quantity field of `v` (`"0x1a"`) as u128.
pub fn quantity(v: &Value, method: &str, field: &str) -> Result<u128, ChainError> {
    let s = v
        .as_str()
        .ok_or_else(|| decode(method, format!("{field} is not a string: {v}")))?;
    parse_quantity(s).ok_or_else(|| decode(method, format!("{field} is not a hex quantity: {s}")))
}

/// Parses `"0x…"` into u128; `None` when malformed or too large.
pub fn parse_quantity(s: &str) -> Option<u128> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    // `from_str_radix` alone would take `0x+1`.
    if digits.is_empty() || digits.len() > 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(digits, 16).ok()
}

/// Same as [`quantity`] narrowed to u64.
pub fn quantity_u64(v: &Value, method: &str, field: &str) -> Result<u64, ChainError> {
    let q = quantity(v, method, field)?;
    u64::try_from(q).map_err(|_| decode(method, format!("{field} does not fit 64 bits: {q}")))
}

pub(crate) fn decode(method: &str, detail: String) -> ChainError {
    ChainError::Decode {
        method: method.to_string(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quantities() {
        assert_eq!(parse_quantity("0x7a69"), Some(31337));
        assert_eq!(parse_quantity("0x0"), Some(0));
        assert_eq!(parse_quantity("7a69"), None);
        assert_eq!(parse_quantity("0x"), None);
        assert_eq!(parse_quantity("0xzz"), None);
        // `from_str_radix` alone took a sign.
        assert_eq!(parse_quantity("0x+1"), None);
        assert_eq!(parse_quantity("0x中"), None);
        assert_eq!(parse_quantity(&format!("0x{}", "f".repeat(33))), None);
    }
}
