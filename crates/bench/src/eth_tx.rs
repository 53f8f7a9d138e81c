//! EIP-1559 (type 2) transactions, signed locally with explicit nonces.

use crate::BenchError;
use crate::keys::{Account, Address, keccak};
use crate::rlp;

/// An unsigned EIP-1559 transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip1559 {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Tip per gas (wei).
    pub max_priority_fee: u128,
    /// Fee cap per gas (wei).
    pub max_fee: u128,
    /// Gas limit.
    pub gas: u64,
    /// Recipient; `None` deploys a contract.
    pub to: Option<Address>,
    /// Value (wei).
    pub value: u128,
    /// Call data or init code.
    pub data: Vec<u8>,
}

/// A signed transaction ready for `eth_sendRawTransaction`.
#[derive(Debug, Clone)]
pub struct SignedTx {
    /// The raw envelope `0x02 || rlp(...)`.
    pub raw: Vec<u8>,
    /// The transaction hash (keccak of `raw`), as the node reports it.
    pub hash: [u8; 32],
}

impl Eip1559 {
    fn fields(&self, out: &mut Vec<u8>) {
        rlp::uint(out, self.chain_id.into());
        rlp::uint(out, self.nonce.into());
        rlp::uint(out, self.max_priority_fee);
        rlp::uint(out, self.max_fee);
        rlp::uint(out, self.gas.into());
        match &self.to {
            Some(a) => rlp::bytes(out, a),
            None => rlp::bytes(out, &[]),
        }
        rlp::uint(out, self.value);
        rlp::bytes(out, &self.data);
        rlp::list(out, &[]); // empty access list
    }

    /// Signs with `from`'s key (RFC 6979 deterministic, low-s).
    pub fn sign(&self, from: &Account) -> Result<SignedTx, BenchError> {
        let mut payload = Vec::with_capacity(128 + self.data.len());
        self.fields(&mut payload);
        let mut unsigned = Vec::with_capacity(payload.len() + 4);
        unsigned.push(2);
        rlp::list(&mut unsigned, &payload);
        let digest = keccak(&unsigned);
        let (sig, recid) = from
            .key
            .sign_prehash_recoverable(&digest)
            .map_err(|e| BenchError::Input(format!("signing failed: {e}")))?;
        let (r, s) = sig.split_bytes();
        rlp::uint(&mut payload, u128::from(recid.is_y_odd()));
        rlp::bytes(&mut payload, strip(&r));
        rlp::bytes(&mut payload, strip(&s));
        let mut raw = Vec::with_capacity(payload.len() + 4);
        raw.push(2);
        rlp::list(&mut raw, &payload);
        let hash = keccak(&raw);
        Ok(SignedTx { raw, hash })
    }
}

fn strip(b: &[u8]) -> &[u8] {
    let skip = b.iter().take_while(|x| **x == 0).count();
    &b[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{DEV_MNEMONIC, derive_accounts};
    use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};

    #[test]
    fn signature_recovers_to_the_sender() {
        let a = derive_accounts(DEV_MNEMONIC, 0, 1)
            .expect("derive")
            .remove(0);
        let tx = Eip1559 {
            chain_id: 31337,
            nonce: 7,
            max_priority_fee: 1_000_000_000,
            max_fee: 100_000_000_000,
            gas: 21_000,
            to: Some([0x11; 20]),
            value: 1,
            data: vec![],
        };
        let signed = tx.sign(&a).expect("sign");
        assert_eq!(signed.raw[0], 2);
        assert_eq!(signed.hash, keccak(&signed.raw));
        // Rebuild the signing digest and recover the public key from (r, s, v).
        let mut payload = Vec::new();
        tx.fields(&mut payload);
        let mut unsigned = vec![2];
        rlp::list(&mut unsigned, &payload);
        let digest = keccak(&unsigned);
        let (sig, rec) = a.key.sign_prehash_recoverable(&digest).expect("sign");
        let vk = VerifyingKey::recover_from_prehash(&digest, &sig, rec).expect("recover");
        assert_eq!(&vk, a.key.verifying_key());
        assert!(sig.normalize_s().is_none(), "low-s signature");
        let _ = (
            Signature::from_slice(&sig.to_bytes()),
            RecoveryId::from_byte(0),
        );
        // Deterministic: the same transaction signs to the same bytes.
        assert_eq!(tx.sign(&a).expect("sign").raw, signed.raw);
    }
}
