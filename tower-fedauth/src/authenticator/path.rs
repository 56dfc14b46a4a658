//! The decision of one request, read top to bottom in
//! [`Authenticator::advance`]: the checks of [`Check`] in their order, each
//! answered from memory where the caches allow it, or naming the I/O it
//! waits for ([`Wait`]).
//!
//! Two drivers run the same steps, so every check is written once and no
//! lookup is made (or counted) twice:
//! - [`Authenticator::authenticate_now`] runs them until a step must wait.
//!   A caller that repeats its token ends there, synchronously, before any
//!   future is built: one clock read for all the caches, the credentials
//!   borrowed from the headers, only the context allocated.
//! - [`Authenticator::finish`] performs each wait and goes on.
//!
//! In front of the steps, the thread's hot set (`hot`) answers the
//! credentials this thread met twice in a row in the shared caches.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use super::decision::{
    accepted_at_once, conclude, decide, log_accepted, refused, registration_answer, verify_span,
};
use super::{Authenticator, hot};
use crate::binding::{Presented, Scheme};
use crate::context::{AuthContext, TokenFacts};
use crate::error::AuthError;
#[cfg(doc)]
use crate::error::Check;
use crate::headers::{CredentialRefs, Credentials, RequestView};
use crate::registry::{Answer, Resolved};
use crate::token_cache::Verified;

/// What [`Authenticator::authenticate_now`] decided without waiting.
#[derive(Debug)]
pub enum Immediate {
    /// Neither auth header.
    Anonymous,
    /// Accepted from the caches: the registration and the verified token
    /// were both there, and no user directory is configured.
    Accepted(AuthContext),
    /// The rest may wait on I/O or a signature check: finish it with
    /// [`Authenticator::finish`].
    Pending(Pending),
}

/// A request part way through its decision: its credentials and what the
/// steps already established.
pub struct Pending {
    credentials: Credentials,
    /// What the request presented for the sender constraint (boxed: most
    /// requests never wait, and this keeps [`Immediate`] small).
    presented: Box<Presented<'static>>,
    decision: Decision,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("credentials", &self.credentials)
            .field("property", &self.decision.property)
            .field("progress", &self.decision.progress())
            .finish()
    }
}

/// What the steps established so far, one field per step, filled in order.
#[derive(Default)]
pub(super) struct Decision {
    /// Read with the headers (step 1); used by the last step.
    property: Option<String>,
    /// Step 2: the usable registration.
    registration: Option<Arc<Resolved>>,
    /// The registry cache's answer it came from, when it came from there
    /// (the hot set keeps it to know when to let go).
    held: Option<Answer>,
    /// Steps 3–11: what the token established.
    facts: Option<Arc<TokenFacts>>,
    /// The verified-token entry it came from, when it came from there.
    cached: Option<Arc<Verified>>,
    /// The verified-token cache was asked (and missed): not asked again.
    token_asked: bool,
    /// Before step 3: the key of a `DPoP` request's proof, read from its
    /// header without the token.
    proof: Option<crate::binding::EarlyProof>,
    /// Step 12 passed (the proof's `jti` is recorded: never checked twice).
    bound: bool,
    /// Step 12: a fresh DPoP nonce for the response.
    nonce: Option<Arc<str>>,
    /// Step 12: the user directory's answer (`None` inside: no user).
    user: Option<Option<Arc<crate::User>>>,
}

impl Decision {
    fn new(property: Option<String>) -> Self {
        Self {
            property,
            ..Self::default()
        }
    }

    /// How far the steps got, for `Debug`.
    fn progress(&self) -> &'static str {
        match (&self.registration, &self.facts) {
            (None, _) => "started",
            (Some(_), None) => "registered",
            (Some(_), Some(_)) => "established",
        }
    }
}

/// The I/O a step waits for, with what it needs of the steps before.
pub(super) enum Wait {
    /// Step 2: the registry source.
    Registration,
    /// Steps 3–11: the key set (and discovery, userinfo), or the
    /// introspection / verification endpoint, and the signature check.
    Token(Arc<Resolved>),
    /// Step 12: the user directory, for the token's subject.
    User(Arc<Resolved>, Arc<TokenFacts>),
}

/// Where [`Authenticator::advance`] stopped.
pub(super) enum Step {
    /// Every check passed: the context (the registration stays in the
    /// decision).
    Done(AuthContext),
    /// A step needs I/O first.
    Wait(Wait),
}

impl Authenticator {
    /// The decision, in the order of checks ([`Check`]), from what
    /// `decision` holds and what the caches answer at `now`. Step 1, the
    /// headers, is read before (it yields `creds`).
    fn advance(
        &self,
        creds: CredentialRefs<'_>,
        presented: &Presented<'_>,
        decision: &mut Decision,
        now: Instant,
    ) -> Result<Step, AuthError> {
        let inner = &*self.inner;
        // Each step's answer stays in `decision`: borrowed here, moved into
        // the context at the end, so no reference count is touched twice (a
        // shared-cache hit's counts are cache lines every core writes).
        // 2. The registration exists, is enabled, and the registry answers.
        if decision.registration.is_none() {
            let Some((answer, held)) = inner.registry.cached(creds.registration, now) else {
                return Ok(Step::Wait(Wait::Registration));
            };
            decision.registration = Some(registration_answer(creds.registration, Ok(answer))?);
            decision.held = Some(held);
        }
        let Some(found) = &decision.registration else {
            return Ok(Step::Wait(Wait::Registration));
        };
        // The `DPoP` scheme's shape and its proof's header, read without
        // the token (a broken proof is refused before step 3).
        if presented.scheme == Scheme::Dpop && decision.proof.is_none() {
            decision.proof = inner.binding.early(found.registration(), presented)?;
        }
        // 3–11. The token: verified before (the verified-token cache), or
        // structure, algorithm, key, signature, kind, issuer, audience,
        // time and claims now (`Authenticator::verify_signed`, or the
        // opaque token's endpoint).
        if decision.facts.is_none() {
            let hit = match decision.token_asked {
                true => None,
                false => self.cached_facts(found.registration(), creds.token, now),
            };
            decision.token_asked = true;
            let Some(hit) = hit else {
                return Ok(Step::Wait(Wait::Token(found.clone())));
            };
            decision.facts = Some(hit.facts.clone());
            decision.cached = Some(hit);
        }
        // 12. The sender constraint: the DPoP proof and the client
        // certificate, against what the token is bound to — on every
        // request, whatever answered the token.
        if let (false, Some(facts)) = (decision.bound, &decision.facts) {
            decision.nonce = inner.binding.check(
                found.registration(),
                &facts.confirmation,
                presented,
                decision.proof.as_ref(),
                creds.token,
            )?;
            decision.bound = true;
        }
        // 13. The user directory, if one is configured.
        let user = match (&inner.directory, &mut decision.user, &decision.facts) {
            (None, _, _) => None,
            (Some(_), Some(user), _) => user.take(),
            (Some(_), None, Some(facts)) => {
                return Ok(Step::Wait(Wait::User(found.clone(), facts.clone())));
            }
            (Some(_), None, None) => return Ok(Step::Wait(Wait::Token(found.clone()))),
        };
        // 14. The property's roles (route requirements are the adapters'
        // guards, after this). The last step: the token's facts move into
        // the context.
        let Some(facts) = decision.facts.take() else {
            return Ok(Step::Wait(Wait::Token(found.clone())));
        };
        let property = decision.property.take();
        let ctx = decide(found, property, facts, user, inner.registration_labels)?;
        Ok(Step::Done(match decision.nonce.take() {
            Some(nonce) => ctx.with_dpop_nonce(nonce),
            None => ctx,
        }))
    }

    /// Perform what `wait` waits for, filling its step of `decision`.
    async fn wait(
        &self,
        creds: &Credentials,
        decision: &mut Decision,
        wait: Wait,
    ) -> Result<(), AuthError> {
        match wait {
            Wait::Registration => {
                decision.registration = Some(self.registration(&creds.registration).await?);
            }
            // The paths that may fetch are boxed on their own, so their
            // large state machines are neither built nor moved on a hit.
            Wait::Token(found) => {
                let reg = found.registration();
                decision.facts = Some(match reg.provider.uses_signed_tokens() {
                    true => Box::pin(self.verify_signed(reg, &creds.token)).await?,
                    false => Box::pin(self.inner.opaque.facts(reg, &creds.token)).await?,
                });
            }
            Wait::User(found, facts) => {
                let subject = &facts.principal.subject;
                decision.user = Some(self.check_user(found.registration(), subject).await?);
            }
        }
        Ok(())
    }

    /// Run the steps to the end, waiting where they ask to.
    async fn run(
        &self,
        creds: &Credentials,
        presented: &Presented<'_>,
        decision: &mut Decision,
    ) -> Result<AuthContext, AuthError> {
        loop {
            match self.advance(creds.as_refs(), presented, decision, Instant::now())? {
                Step::Done(ctx) => return Ok(ctx),
                Step::Wait(wait) => self.wait(creds, decision, wait).await?,
            }
        }
    }

    /// Authenticate a request as far as the caches allow, without waiting:
    /// a header refusal, an anonymous request, a registration refusal known
    /// to the registry cache, or an acceptance of a token verified before
    /// are all answered here. Counted and logged like
    /// [`Authenticator::authenticate`].
    ///
    /// ```
    /// use tower_fedauth::{Authenticator, Immediate};
    /// # async fn run(auth: Authenticator, req: http::Request<()>) {
    /// let ctx = match auth.authenticate_now(&req) {
    ///     Err(refusal) => return,
    ///     Ok(Immediate::Anonymous) => return,
    ///     Ok(Immediate::Accepted(ctx)) => ctx,
    ///     Ok(Immediate::Pending(pending)) => match auth.finish(pending).await {
    ///         Ok(ctx) => ctx,
    ///         Err(refusal) => return,
    ///     },
    /// };
    /// # }
    /// ```
    // Not inlined into the adapters: one symbol for the whole synchronous
    // decision in profiles and instruction counts
    // (`bench/scripts/server-instructions.sh`), for the price of a call.
    #[inline(never)]
    pub fn authenticate_now(&self, req: &impl RequestView) -> Result<Immediate, AuthError> {
        // 1. The request's shape, the token, the registration id.
        let Some((refs, property)) = self.read_request(req)? else {
            return Ok(Immediate::Anonymous);
        };
        // One clock read for all the caches: nothing waits between them.
        let now = Instant::now();
        let inner = &*self.inner;
        let presented = Presented::read(req, refs.scheme, inner.binding.cert_source());
        let creds = hot::Credentials {
            owner: inner.owner,
            registration: refs.registration,
            token: refs.token,
            property: None,
        };
        // This thread's own entry first.
        let mut offer_under = None;
        if inner.hot {
            let asked = hot::Credentials {
                property: property.as_deref(),
                ..creds
            };
            // The entry's token is checked against this request's proof
            // and certificate, as a shared-cache hit is (step 12).
            let mut outcome = Ok(None);
            let found = hot::lookup(&asked, now, |resolved, facts| {
                inner.registry.count_hit();
                inner.tokens.count_hit();
                let reg = resolved.registration();
                outcome = inner
                    .binding
                    .early(reg, &presented)
                    .and_then(|proof| {
                        let proof = proof.as_ref();
                        let bound = &facts.confirmation;
                        inner
                            .binding
                            .check(reg, bound, &presented, proof, refs.token)
                    })
                    .map_err(|e| {
                        let labelled = inner.registration_labels;
                        refused(&verify_span(refs.registration), e, Some(resolved), labelled)
                    });
                if outcome.is_ok() {
                    resolved.count_accepted(inner.registration_labels);
                }
                outcome.is_ok()
            });
            let nonce = outcome?;
            match found {
                hot::Lookup::Hit(ctx) => {
                    log_accepted(&ctx);
                    return Ok(Immediate::Accepted(match nonce {
                        Some(nonce) => ctx.with_dpop_nonce(nonce),
                        None => ctx,
                    }));
                }
                hot::Lookup::Miss(hash) => offer_under = Some(hash),
                hot::Lookup::Never => {}
            }
        }
        let mut decision = Decision::new(property);
        match self.advance(refs, &presented, &mut decision, now) {
            Ok(Step::Done(ctx)) => {
                if let (Some(hash), Some(held), Some(cached)) =
                    (offer_under, decision.held, decision.cached)
                {
                    let offered = hot::Credentials {
                        property: ctx.property(),
                        ..creds
                    };
                    hot::offer(hash, &offered, &ctx, held, cached);
                }
                Ok(Immediate::Accepted(
                    match decision.registration.as_deref() {
                        Some(found) => accepted_at_once(found, ctx),
                        None => ctx,
                    },
                ))
            }
            Ok(Step::Wait(_)) => Ok(Immediate::Pending(Pending {
                credentials: refs.to_owned(),
                presented: Box::new(presented.into_owned()),
                decision,
            })),
            Err(e) => {
                let span = verify_span(refs.registration);
                let labelled = inner.registration_labels;
                Err(refused(
                    &span,
                    e,
                    decision.registration.as_deref(),
                    labelled,
                ))
            }
        }
    }

    /// Finish what [`Authenticator::authenticate_now`] left pending.
    pub async fn finish(&self, pending: Pending) -> Result<AuthContext, AuthError> {
        let Pending {
            credentials,
            presented,
            decision,
        } = pending;
        self.verify_from(&credentials, &presented, decision).await
    }

    /// Verify credentials read elsewhere (the token and registration id,
    /// and the property the request is for), presented as a bearer token
    /// without a client certificate: a bound token is refused
    /// (`invalid_token_binding`).
    pub async fn verify(
        &self,
        credentials: &Credentials,
        property: Option<String>,
    ) -> Result<AuthContext, AuthError> {
        let presented = Presented::default();
        self.verify_from(credentials, &presented, Decision::new(property))
            .await
    }

    /// Run the rest of the steps in the request's span; count and log the
    /// outcome once.
    async fn verify_from(
        &self,
        credentials: &Credentials,
        presented: &Presented<'_>,
        mut decision: Decision,
    ) -> Result<AuthContext, AuthError> {
        let span = verify_span(&credentials.registration);
        let result = self
            .run(credentials, presented, &mut decision)
            .instrument(span.clone())
            .await;
        let labelled = self.inner.registration_labels;
        conclude(&span, result, decision.registration.as_deref(), labelled)
    }
}

#[cfg(test)]
mod tests;
