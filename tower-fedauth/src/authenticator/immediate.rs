//! The cache-hit path: a request whose registration and token are both in
//! the caches is answered synchronously, before any future is built.
//!
//! This is what most requests of a caller that repeats its token take, so
//! the layers call it first: it borrows the credentials from the headers,
//! reads the clock once for all the caches, asks the thread's hot set
//! (`hot`), then the registry and verified-token caches, and allocates
//! only the context.
//! Anything it cannot finish goes on as a [`Pending`] that carries what was
//! already established, so no lookup is made (or counted) twice.

use std::sync::Arc;
use std::time::Instant;

use super::decision::{
    accepted_at_once, decide, log_accepted, refused, registration_answer, verify_span,
};
use super::{Authenticator, hot};
use crate::context::{AuthContext, TokenFacts};
use crate::error::AuthError;
use crate::headers::{Credentials, RequestView};
use crate::registry::Resolved;

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

/// A request part way through authentication: its credentials, its
/// property and what the caches already answered.
pub struct Pending {
    credentials: Credentials,
    property: Option<String>,
    progress: Progress,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("credentials", &self.credentials)
            .field("property", &self.property)
            .field("progress", &self.progress.name())
            .finish()
    }
}

/// How far the cache-hit path got.
pub(super) enum Progress {
    /// Nothing looked up yet.
    Started,
    /// The registration is usable; the token cache was asked and missed
    /// (or the provider's tokens are opaque and it was not asked).
    Registered(Arc<Resolved>),
    /// The token is established; the user directory remains.
    Established(Arc<Resolved>, Arc<TokenFacts>),
}

impl Progress {
    fn name(&self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Registered(_) => "registered",
            Self::Established(..) => "established",
        }
    }
}

impl Authenticator {
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
    pub fn authenticate_now(&self, req: &impl RequestView) -> Result<Immediate, AuthError> {
        let Some((refs, property)) = self.read_request(req)? else {
            return Ok(Immediate::Anonymous);
        };
        // One clock read for all the caches: nothing waits between them.
        let now = Instant::now();
        let inner = &*self.inner;
        // The property is filled in where it is borrowed: from the request
        // for the lookup, from the context for the offer.
        let creds = hot::Credentials {
            owner: inner.owner,
            registration: refs.registration,
            token: refs.token,
            property: None,
        };
        // This thread's own entry first (see `hot`). The shared caches'
        // generations are read before their lookups, to be kept with what
        // those lookups answer.
        let mut offer_under = None;
        if inner.hot {
            let generations = hot::Generations {
                registry: inner.registry.generation(),
                tokens: inner.tokens.generation(),
            };
            let asked = hot::Credentials {
                property: property.as_deref(),
                ..creds
            };
            match hot::lookup(&asked, now, generations, |resolved| {
                inner.registry.count_hit();
                inner.tokens.count_hit();
                resolved.count_accepted(inner.registration_labels);
            }) {
                hot::Lookup::Hit(ctx) => {
                    log_accepted(&ctx);
                    return Ok(Immediate::Accepted(ctx));
                }
                hot::Lookup::Miss(hash) => offer_under = Some((hash, generations)),
                hot::Lookup::Never => {}
            }
        }
        let progress = match inner.registry.cached(refs.registration, now) {
            None => Progress::Started,
            Some((answer, held)) => {
                let found = registration_answer(refs.registration, Ok(answer)).map_err(|e| {
                    let span = verify_span(refs.registration);
                    refused(&span, e, None, inner.registration_labels)
                })?;
                match self.cached_facts(found.registration(), refs.token, now) {
                    None => Progress::Registered(found),
                    Some(hit) if inner.directory.is_some() => {
                        Progress::Established(found, hit.facts.clone())
                    }
                    Some(hit) => {
                        let labelled = inner.registration_labels;
                        return match decide(&found, property, hit.facts.clone(), None, labelled) {
                            Ok(ctx) => {
                                if let Some((hash, generations)) = offer_under {
                                    let offered = hot::Credentials {
                                        property: ctx.property(),
                                        ..creds
                                    };
                                    hot::offer(hash, &offered, &ctx, held, &hit, generations);
                                }
                                Ok(Immediate::Accepted(accepted_at_once(&found, ctx)))
                            }
                            Err(e) => {
                                let span = verify_span(refs.registration);
                                Err(refused(&span, e, Some(&found), labelled))
                            }
                        };
                    }
                }
            }
        };
        Ok(Immediate::Pending(Pending {
            credentials: refs.to_owned(),
            property,
            progress,
        }))
    }

    /// Finish what [`Authenticator::authenticate_now`] left pending.
    pub async fn finish(&self, pending: Pending) -> Result<AuthContext, AuthError> {
        let Pending {
            credentials,
            property,
            progress,
        } = pending;
        self.verify_from(&credentials, property, progress).await
    }
}

#[cfg(test)]
mod tests;
