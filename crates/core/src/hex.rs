//! Lower-case hexadecimal encoding, shared by tokens, keys and transaction ids (the hex
//! crate; a hand-written decoder built on `u8::from_str_radix` accepted `"+f"`).

/// Lower-case hex of `bytes`, without prefix.
pub fn encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Bytes of a hex string (no prefix, either case), if it is one.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    hex::decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(encode(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(decode("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(decode("0"), None);
        assert_eq!(decode("zz"), None);
        // Signs are not digits.
        assert_eq!(decode("+f"), None);
        assert_eq!(decode("-1"), None);
        assert_eq!(decode("中文"), None);
    }
}
