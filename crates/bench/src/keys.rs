//! Sender accounts: BIP-39 seed → BIP-32 path `m/44'/60'/0'/0/i` → secp256k1 key → address.
//!
//! The same derivation as anvil, hardhat, ganache and MetaMask, so `test test … junk` yields
//! anvil's well-known dev accounts and any wallet can inspect the load accounts.

use crate::BenchError;
use hmac::{Hmac, Mac};
use k256::ecdsa::SigningKey;
use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{NonZeroScalar, Scalar, U256};
use sha2::Sha512;
use sha3::{Digest, Keccak256};

/// The mnemonic anvil, hardhat and ganache use for their dev accounts.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

const HARDENED: u32 = 0x8000_0000;

/// A 20-byte account address.
pub type Address = [u8; 20];

/// A signing key with its address.
#[derive(Clone)]
pub struct Account {
    /// The secp256k1 key.
    pub key: SigningKey,
    /// Its Ethereum address.
    pub address: Address,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        write!(f, "Account({})", hex_address(&self.address))
    }
}

impl Account {
    /// The account for a private key.
    pub fn from_key(key: SigningKey) -> Self {
        let address = address_of(&key);
        Self { key, address }
    }
}

/// Keccak-256.
pub fn keccak(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// The address of a key: the last 20 bytes of keccak(uncompressed public key).
pub fn address_of(key: &SigningKey) -> Address {
    let point = key.verifying_key().as_affine().to_encoded_point(false);
    let hash = keccak(&point.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    out
}

/// `0x`-prefixed lowercase hex of an address.
pub fn hex_address(a: &Address) -> String {
    format!("0x{}", hex(a))
}

pub use chainops_core::hex::encode as hex;

/// Parses `0x…` hex of any even length.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, BenchError> {
    let t = s.strip_prefix("0x").unwrap_or(s);
    chainops_core::hex::decode(t).ok_or_else(|| {
        BenchError::Input(format!(
            "{s:?}: not hex (an even number of 0-9a-f digits, optionally after 0x)"
        ))
    })
}

/// Parses a `0x` address of 20 bytes.
pub fn parse_address(s: &str) -> Result<Address, BenchError> {
    let v = parse_hex(s)?;
    v.try_into()
        .map_err(|_| BenchError::Input(format!("{s:?}: an address has 20 bytes (40 hex digits)")))
}

/// Derives `count` accounts `m/44'/60'/0'/0/{first..first+count}` from a BIP-39 mnemonic
/// (English or Chinese word lists; words and checksum checked by the bip39 crate, so a typo
/// is an error instead of a different, unfunded set of accounts).
pub fn derive_accounts(mnemonic: &str, first: u32, count: u32) -> Result<Vec<Account>, BenchError> {
    let words: Vec<&str> = mnemonic.split_whitespace().collect();
    if words.len() < 12 {
        return Err(BenchError::Input(
            "mnemonic: needs at least 12 words (BIP-39); use the node's dev mnemonic or a generated one".into(),
        ));
    }
    let parsed = bip39::Mnemonic::parse(words.join(" ")).map_err(|e| {
        BenchError::Input(match e {
            bip39::Error::BadWordCount(n) => format!(
                "mnemonic: needs at least 12 words (BIP-39 phrases have 12, 15, 18, 21 or 24; this has {n}); use the node's dev mnemonic or a generated one"
            ),
            bip39::Error::UnknownWord(i) => format!(
                "mnemonic: word {} (\"{}\") is not in a BIP-39 word list; check its spelling",
                i + 1,
                words.get(i).copied().unwrap_or("")
            ),
            bip39::Error::InvalidChecksum => {
                "mnemonic: the BIP-39 checksum does not match: a word is wrong or out of order"
                    .into()
            }
            other => format!("mnemonic: {other}"),
        })
    })?;
    let seed = parsed.to_seed("");
    let (mut key, mut chain) = master(&seed)?;
    for index in [44 | HARDENED, 60 | HARDENED, HARDENED, 0] {
        (key, chain) = child(&key, &chain, index)?;
    }
    (first..first.saturating_add(count))
        .map(|i| {
            let (k, _) = child(&key, &chain, i)?;
            let sk = SigningKey::from(k);
            Ok(Account::from_key(sk))
        })
        .collect()
}

type HmacSha512 = Hmac<Sha512>;

fn hmac512(key: &[u8], parts: &[&[u8]]) -> [u8; 64] {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail.
    let mut mac = match HmacSha512::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn master(seed: &[u8]) -> Result<(NonZeroScalar, [u8; 32]), BenchError> {
    let i = hmac512(b"Bitcoin seed", &[seed]);
    let key = scalar(&i[..32]).ok_or_else(|| {
        BenchError::Input("mnemonic gives an invalid BIP-32 master key; use another".into())
    })?;
    let mut chain = [0u8; 32];
    chain.copy_from_slice(&i[32..]);
    Ok((key, chain))
}

fn scalar(bytes: &[u8]) -> Option<NonZeroScalar> {
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Option::from(NonZeroScalar::from_repr(arr.into()))
}

/// BIP-32 private child derivation.
fn child(
    parent: &NonZeroScalar,
    chain: &[u8; 32],
    index: u32,
) -> Result<(NonZeroScalar, [u8; 32]), BenchError> {
    let i = if index & HARDENED != 0 {
        hmac512(chain, &[&[0u8], &parent.to_bytes(), &index.to_be_bytes()])
    } else {
        let public = SigningKey::from(*parent)
            .verifying_key()
            .as_affine()
            .to_encoded_point(true);
        hmac512(chain, &[public.as_bytes(), &index.to_be_bytes()])
    };
    let tweak = <Scalar as Reduce<U256>>::reduce_bytes(i[..32].into());
    let sum: Scalar = tweak + parent.as_ref();
    let key = Option::<NonZeroScalar>::from(NonZeroScalar::new(sum)).ok_or_else(|| {
        BenchError::Input(format!(
            "BIP-32 index {index} gives an invalid key; use another"
        ))
    })?;
    let mut c = [0u8; 32];
    c.copy_from_slice(&i[32..]);
    Ok((key, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_mnemonic_gives_anvils_accounts() {
        let a = derive_accounts(DEV_MNEMONIC, 0, 2).expect("derive");
        assert_eq!(
            hex_address(&a[0].address),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        assert_eq!(
            hex(&a[0].key.to_bytes()),
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        assert_eq!(
            hex_address(&a[1].address),
            "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
        );
    }

    #[test]
    fn mistyped_or_reordered_mnemonics_are_refused() {
        let typo = DEV_MNEMONIC.replace("junk", "junkk");
        let e = derive_accounts(&typo, 0, 1).expect_err("typo");
        assert!(
            e.to_string()
                .contains("(\"junkk\") is not in a BIP-39 word list"),
            "{e}"
        );
        let mut words: Vec<&str> = DEV_MNEMONIC.split_whitespace().collect();
        words.swap(0, 11);
        let e = derive_accounts(&words.join(" "), 0, 1).expect_err("order");
        assert!(e.to_string().contains("checksum"), "{e}");
        // Extra spaces are not a different phrase.
        let spaced = DEV_MNEMONIC.replace(' ', "   ");
        assert_eq!(
            derive_accounts(&spaced, 0, 1).expect("spaced")[0].address,
            derive_accounts(DEV_MNEMONIC, 0, 1).expect("dev")[0].address
        );
    }

    #[test]
    fn short_mnemonic_is_refused() {
        let e = derive_accounts("a b c", 0, 1).expect_err("short");
        assert!(e.to_string().contains("12 words"), "{e}");
    }

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(parse_hex("0x00ff").expect("hex"), vec![0, 255]);
        assert!(parse_hex("0x0").is_err());
        assert!(parse_hex("zz").is_err());
        assert!(parse_address("0x1234").is_err());
    }
}
