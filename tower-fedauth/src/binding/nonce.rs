//! Server nonces for DPoP proofs (RFC 9449 §8), stateless: the nonce of a
//! period is an HMAC-SHA256 of the period's number under a secret, so any
//! server holding the secret knows the current and previous nonces
//! without storing what it handed out. A proof is accepted with the nonce
//! of the current period or of the previous one (so a nonce issued just
//! before a rotation still works for one period).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::registration::Secret;

/// How a proof's nonce compares with the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// This period's nonce.
    Current,
    /// The previous period's: accepted, and the response carries the new
    /// one.
    Previous,
    /// Any other value.
    Stale,
}

/// The nonces of one period and the one before.
struct Period {
    number: u64,
    current: Arc<str>,
    previous: Arc<str>,
}

pub(crate) struct Nonces {
    key: Vec<u8>,
    rotation: u64,
    period: RwLock<Option<Period>>,
}

impl Nonces {
    /// Nonces rotating every `rotation` (at least a second), derived from
    /// `secret`, or from a random secret of this process when none.
    pub(crate) fn new(secret: Option<&Secret>, rotation: Duration) -> Self {
        let key = match secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => {
                let mut key = vec![0u8; 32];
                // Without the system's randomness, a secret of the process's
                // hash seeds: nonces only bound a proof's freshness.
                if getrandom::fill(&mut key).is_err() {
                    use std::hash::{BuildHasher, RandomState};
                    for (i, chunk) in key.chunks_mut(8).enumerate() {
                        let seed = RandomState::new().hash_one(i).to_le_bytes();
                        chunk.copy_from_slice(&seed[..chunk.len()]);
                    }
                }
                key
            }
        };
        Self {
            key,
            rotation: rotation.as_secs().max(1),
            period: RwLock::new(None),
        }
    }

    fn derive(&self, number: u64) -> Arc<str> {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC accepts keys of any length");
        mac.update(b"fedauth dpop nonce\0");
        mac.update(&number.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..18]).into()
    }

    /// The period of the unix second `now`, derived once per period.
    fn with_period<R>(&self, now: u64, f: impl FnOnce(&Period) -> R) -> R {
        let number = now / self.rotation;
        {
            let read = self.period.read().unwrap_or_else(|e| e.into_inner());
            if let Some(period) = read.as_ref().filter(|p| p.number == number) {
                return f(period);
            }
        }
        let period = Period {
            number,
            current: self.derive(number),
            previous: self.derive(number.wrapping_sub(1)),
        };
        let out = f(&period);
        let mut write = self.period.write().unwrap_or_else(|e| e.into_inner());
        if write.as_ref().is_none_or(|p| p.number < number) {
            *write = Some(period);
        }
        out
    }

    /// The nonce to hand out at `now`.
    pub(crate) fn current(&self, now: u64) -> Arc<str> {
        self.with_period(now, |p| p.current.clone())
    }

    /// How `nonce` compares with the server's at `now`.
    pub(crate) fn freshness(&self, nonce: &str, now: u64) -> Freshness {
        self.with_period(now, |p| {
            if *p.current == *nonce {
                Freshness::Current
            } else if *p.previous == *nonce {
                Freshness::Previous
            } else {
                Freshness::Stale
            }
        })
    }
}
