//! The soak driver: model.

use super::*;
/// How a forged token is forged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Forgery {
    AttackerKey,
    AlgNone,
    Hs256Confusion,
    WrongAudience,
    Expired,
    Tampered,
}

impl Forgery {
    pub(crate) const ALL: [Forgery; 6] = [
        Forgery::AttackerKey,
        Forgery::AlgNone,
        Forgery::Hs256Confusion,
        Forgery::WrongAudience,
        Forgery::Expired,
        Forgery::Tampered,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Forgery::AttackerKey => "forged: attacker key, real kid",
            Forgery::AlgNone => "forged: alg none",
            Forgery::Hs256Confusion => "forged: HS256, public key as secret",
            Forgery::WrongAudience => "forged: wrong audience",
            Forgery::Expired => "forged: expired",
            Forgery::Tampered => "forged: tampered payload",
        }
    }

    /// The refusal code the order of checks prescribes for this forgery.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            Forgery::AttackerKey | Forgery::Tampered => "invalid_signature",
            Forgery::AlgNone | Forgery::Hs256Confusion => "unsupported_algorithm",
            Forgery::WrongAudience => "invalid_audience",
            Forgery::Expired => "token_expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Class {
    Fresh,
    Pooled,
    Forged(Forgery),
}

impl Class {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Class::Fresh => "valid: fresh",
            Class::Pooled => "valid: reused (pool)",
            Class::Forged(f) => f.name(),
        }
    }

    pub(crate) fn is_valid(self) -> bool {
        !matches!(self, Class::Forged(_))
    }
}

/// Where a request was sent relative to the outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Phase {
    Before,
    Outage,
    Grace,
    After,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Before => "before the outage",
            Phase::Outage => "during the outage",
            Phase::Grace => "grace after the outage",
            Phase::After => "after the outage",
        }
    }

    pub(crate) fn in_window(self) -> bool {
        matches!(self, Phase::Outage | Phase::Grace)
    }
}

/// What a request got: an HTTP status, or a transport failure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Status(u16, Option<String>),
    TransportError,
    Timeout,
}

impl Outcome {
    pub(crate) fn label(&self) -> String {
        match self {
            Outcome::Status(s, Some(code)) => format!("{s} {code}"),
            Outcome::Status(s, None) => format!("{s}"),
            Outcome::TransportError => "transport error".into(),
            Outcome::Timeout => "timeout".into(),
        }
    }

    pub(crate) fn is_5xx(&self) -> bool {
        matches!(self, Outcome::Status(s, _) if *s >= 500)
    }

    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            Outcome::Status(_, code) => code.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) class: Class,
    pub(crate) phase: Phase,
    /// The token's `kid` names a key first published during the outage.
    pub(crate) outage_key: bool,
    pub(crate) outcome: Outcome,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) counts: HashMap<Key, u64>,
    pub(crate) connections: u64,
    pub(crate) connect_errors: u64,
    pub(crate) subject_mismatch: u64,
    pub(crate) examples: BTreeMap<&'static str, Vec<String>>,
}

impl Stats {
    pub(crate) fn example(&mut self, kind: &'static str, text: String) {
        let list = self.examples.entry(kind).or_default();
        if list.len() < EXAMPLES {
            list.push(text);
        }
    }

    pub(crate) fn merge(&mut self, other: Stats) {
        for (k, v) in other.counts {
            *self.counts.entry(k).or_default() += v;
        }
        self.connections += other.connections;
        self.connect_errors += other.connect_errors;
        self.subject_mismatch += other.subject_mismatch;
        for (kind, list) in other.examples {
            for text in list {
                self.example(kind, text);
            }
        }
    }
}

/// The key the IdP signs with now.
#[derive(Clone)]
pub(crate) struct Signing {
    pub(crate) generation: u64,
    pub(crate) key: TestKey,
    /// First published while the IdP was down: the server cannot have seen it.
    pub(crate) outage_key: bool,
}

#[derive(Clone)]
pub(crate) struct PoolToken {
    pub(crate) token: Arc<str>,
    pub(crate) subject: Arc<str>,
    pub(crate) generation: u64,
    pub(crate) outage_key: bool,
}

/// A token to send and what is known about it.
pub(crate) struct Minted {
    pub(crate) class: Class,
    pub(crate) token: String,
    /// The subject a `200` must name (valid tokens only).
    pub(crate) subject: Option<Arc<str>>,
    pub(crate) outage_key: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) t: f64,
    pub(crate) rss_kib: Option<u64>,
    pub(crate) requests: u64,
    pub(crate) status_5xx: u64,
    pub(crate) valid_refused: u64,
}

/// Everything the workers, the IdP controller and the sampler share.
pub(crate) struct Ctx {
    pub(crate) idp: MockIdp,
    pub(crate) attacker: TestKey,
    pub(crate) signing: RwLock<Signing>,
    pub(crate) pool: Mutex<VecDeque<PoolToken>>,
    pub(crate) addr: SocketAddr,
    pub(crate) start: Instant,
    pub(crate) deadline: Instant,
    pub(crate) grace_ms: u64,
    pub(crate) outage_on_ms: AtomicU64,
    pub(crate) outage_off_ms: AtomicU64,
    pub(crate) outage_now: AtomicBool,
    pub(crate) rotations: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) status_5xx: AtomicU64,
    pub(crate) valid_refused: AtomicU64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Ctx {
    pub(crate) fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub(crate) fn phase(&self, sent_ms: u64) -> Phase {
        let on = self.outage_on_ms.load(Ordering::SeqCst);
        let off = self.outage_off_ms.load(Ordering::SeqCst);
        if on == u64::MAX || sent_ms < on {
            Phase::Before
        } else if off == u64::MAX || sent_ms < off {
            Phase::Outage
        } else if sent_ms < off + self.grace_ms {
            Phase::Grace
        } else {
            Phase::After
        }
    }

    pub(crate) fn signing(&self) -> Signing {
        self.signing
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Publish a new key next to the current one, drop older ones, and sign
    /// with the new key from now on.
    pub(crate) fn rotate(&self) {
        let mut signing = self.signing.write().unwrap_or_else(PoisonError::into_inner);
        let generation = signing.generation + 1;
        let key = TestKey::ed25519(format!("soak-key-{generation}"));
        let outage_key = self.outage_now.load(Ordering::SeqCst);
        // Publish first, then sign with it.
        self.idp.set_keys(vec![key.clone(), signing.key.clone()]);
        *signing = Signing {
            generation,
            key,
            outage_key,
        };
        drop(signing);
        // Tokens of keys no longer published leave the pool of valid ones.
        lock(&self.pool).retain(|t| t.generation + 1 >= generation);
        self.rotations.fetch_add(1, Ordering::SeqCst);
        eprintln!(
            "[{:7.1}s] rotated: now signing with soak-key-{generation}{}",
            self.start.elapsed().as_secs_f64(),
            if outage_key {
                " (IdP down: never seen by the server)"
            } else {
                ""
            }
        );
    }

    pub(crate) fn set_outage(&self, down: bool) {
        let at = self.elapsed_ms();
        self.outage_now.store(down, Ordering::SeqCst);
        self.idp.set_outage(down);
        if down {
            self.outage_on_ms.store(at, Ordering::SeqCst);
        } else {
            self.outage_off_ms.store(at, Ordering::SeqCst);
        }
        eprintln!(
            "[{:7.1}s] IdP {}",
            at as f64 / 1000.0,
            if down { "down" } else { "up again" }
        );
    }

    /// The token for request number `n` of connection `conn`.
    pub(crate) fn mint(&self, conn: usize, n: u64) -> Minted {
        let signing = self.signing();
        let slot = n % 10;
        if (6..=8).contains(&slot) {
            let pool = lock(&self.pool);
            if !pool.is_empty() {
                let t = pool[(n.wrapping_mul(7919) as usize) % pool.len()].clone();
                drop(pool);
                return Minted {
                    class: Class::Pooled,
                    token: t.token.to_string(),
                    subject: Some(t.subject),
                    outage_key: t.outage_key,
                };
            }
        }
        if slot == 9 {
            let forgery = Forgery::ALL[((n / 10) % Forgery::ALL.len() as u64) as usize];
            let (token, outage_key) = self.forge(forgery, &signing, conn, n);
            return Minted {
                class: Class::Forged(forgery),
                token,
                subject: None,
                outage_key,
            };
        }
        let subject: Arc<str> = format!("user-{conn}-{n}").into();
        let token = self
            .idp
            .token()
            .subject(&*subject)
            .claim("jti", format!("{conn}-{n}"))
            .sign(&signing.key);
        if n % POOL_EVERY == 0 {
            let mut pool = lock(&self.pool);
            if pool.len() >= POOL_SIZE {
                pool.pop_front();
            }
            pool.push_back(PoolToken {
                token: token.as_str().into(),
                subject: subject.clone(),
                generation: signing.generation,
                outage_key: signing.outage_key,
            });
        }
        Minted {
            class: Class::Fresh,
            token,
            subject: Some(subject),
            outage_key: signing.outage_key,
        }
    }

    /// A forged token, and whether its `kid` names a key published during
    /// the outage.
    pub(crate) fn forge(
        &self,
        forgery: Forgery,
        signing: &Signing,
        conn: usize,
        n: u64,
    ) -> (String, bool) {
        let kid = signing.key.kid().to_owned();
        let base = self
            .idp
            .token()
            .subject(format!("mallory-{conn}-{n}"))
            .claim("jti", format!("{conn}-{n}"));
        let token = match forgery {
            Forgery::AttackerKey => base.kid(kid).sign(&self.attacker),
            Forgery::AlgNone => base.kid(kid).unsigned(),
            Forgery::Hs256Confusion => base
                .kid(kid)
                .sign_hs256(signing.key.public_key_pem().as_bytes()),
            Forgery::WrongAudience => base.audience("another-app").sign(&signing.key),
            Forgery::Expired => base
                .claim("iat", unix_now() - 1200)
                .claim("exp", unix_now() - 600)
                .sign(&signing.key),
            Forgery::Tampered => {
                // A valid token (from the pool when there is one, so that its
                // original may sit in the verified-token cache) with a
                // rewritten payload and the original signature.
                let pooled = {
                    let pool = lock(&self.pool);
                    match pool.len() {
                        0 => None,
                        len => Some(pool[(n as usize) % len].clone()),
                    }
                };
                return match pooled {
                    Some(t) => (tamper(&t.token), t.outage_key),
                    None => (tamper(&base.sign(&signing.key)), signing.outage_key),
                };
            }
        };
        (token, signing.outage_key)
    }
}

/// Rewrite `sub` (and extend `exp`) in a signed token, keeping its signature.
pub(crate) fn tamper(token: &str) -> String {
    let mut parts = token.splitn(3, '.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return token.to_owned();
    };
    let mut claims: serde_json::Map<String, Value> = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    claims.insert("sub".into(), Value::from("admin"));
    claims.insert("exp".into(), Value::from(unix_now() + 3600));
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    format!("{header}.{payload}.{signature}")
}
