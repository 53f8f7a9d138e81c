//! The subset of RLP that typed transactions need: byte strings, integers and lists.

/// Appends the RLP encoding of a byte string.
pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    if b.len() == 1 && b[0] < 0x80 {
        out.push(b[0]);
    } else {
        header(out, 0x80, b.len());
        out.extend_from_slice(b);
    }
}

/// Appends an unsigned integer (big-endian, no leading zeros; zero is the empty string).
pub fn uint(out: &mut Vec<u8>, v: u128) {
    let be = v.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    bytes(out, &be[skip..]);
}

/// Appends a list whose items are already encoded in `payload`.
pub fn list(out: &mut Vec<u8>, payload: &[u8]) {
    header(out, 0xc0, payload.len());
    out.extend_from_slice(payload);
}

fn header(out: &mut Vec<u8>, base: u8, len: usize) {
    if len < 56 {
        out.push(base + len as u8);
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        out.push(base + 55 + (8 - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    #[test]
    fn yellow_paper_examples() {
        assert_eq!(enc(|o| bytes(o, b"dog")), vec![0x83, b'd', b'o', b'g']);
        assert_eq!(enc(|o| uint(o, 0)), vec![0x80]);
        assert_eq!(enc(|o| uint(o, 15)), vec![0x0f]);
        assert_eq!(enc(|o| uint(o, 1024)), vec![0x82, 0x04, 0x00]);
        let mut payload = Vec::new();
        bytes(&mut payload, b"cat");
        bytes(&mut payload, b"dog");
        assert_eq!(
            enc(|o| list(o, &payload)),
            vec![0xc8, 0x83, b'c', b'a', b't', 0x83, b'd', b'o', b'g']
        );
        let long = [b'a'; 56];
        let e = enc(|o| bytes(o, &long));
        assert_eq!(&e[..2], &[0xb8, 56]);
        assert_eq!(e.len(), 58);
    }
}
