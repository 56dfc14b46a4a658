//! How a verification ends, whichever path reached it: the registry's
//! answer as a registration or a refusal, the per-request decision, and
//! the one place outcomes are counted and logged.

use std::sync::Arc;

use crate::context::{AuthContext, TokenFacts};
use crate::error::{AuthError, ErrorCode};
use crate::registry::{Resolved, SourceError};

/// Step 13, made on every request whatever established the token: the
/// property's roles (or `property_not_enabled`), then the context.
pub(super) fn decide(
    resolved: &Resolved,
    property: Option<String>,
    facts: Arc<TokenFacts>,
    user: Option<Arc<crate::User>>,
    labelled: bool,
) -> Result<AuthContext, AuthError> {
    let Some(roles) = resolved.roles_in(property.as_deref()) else {
        return Err(AuthError::at(
            ErrorCode::PropertyNotEnabled,
            "the application is not enabled in this property",
            "property",
            "path",
        )
        .with_value(property.unwrap_or_default()));
    };
    let reg = resolved.registration().clone();
    let ctx = AuthContext::from_facts(reg, property, roles.clone(), facts, labelled);
    Ok(ctx.with_user(user))
}

/// The registry's answer for `id` as a usable registration or a refusal.
pub(super) fn registration_answer(
    id: &str,
    answer: Result<Option<Arc<Resolved>>, SourceError>,
) -> Result<Arc<Resolved>, AuthError> {
    let reg_err = |code, detail: &str| {
        AuthError::at(code, detail.to_owned(), "x-sc-auth", "header").with_value(id)
    };
    match answer {
        Ok(Some(reg)) if !reg.registration().enabled => Err(reg_err(
            ErrorCode::RegistrationDisabled,
            "the registration is disabled",
        )),
        Ok(Some(reg)) => Ok(reg),
        Ok(None) => Err(reg_err(
            ErrorCode::UnknownRegistration,
            "no registration with this id",
        )),
        Err(e) => {
            tracing::warn!(registration = %id, error = %e, "registry source failed");
            Err(reg_err(
                ErrorCode::RegistryUnavailable,
                "the registry source could not be read",
            ))
        }
    }
}

/// The span of one verification (fields filled in as they are learnt).
pub(super) fn verify_span(registration: &str) -> tracing::Span {
    tracing::debug_span!(
        "fedauth.verify",
        registration = %registration,
        issuer = tracing::field::Empty,
        kid = tracing::field::Empty,
    )
}

/// Count and log a verification's outcome, however it was reached
/// (`labelled`: the authenticator counts decisions per registration).
pub(super) fn conclude(
    span: &tracing::Span,
    result: Result<AuthContext, AuthError>,
    resolved: Option<&Resolved>,
    labelled: bool,
) -> Result<AuthContext, AuthError> {
    let ctx = result.map_err(|e| refused(span, e, resolved, labelled))?;
    let _entered = span.enter();
    if let Some(resolved) = resolved {
        resolved.count_accepted(labelled);
    }
    tracing::debug!(outcome = "accepted", subject = %ctx.subject(), "request authenticated");
    Ok(ctx)
}

/// Count and log an acceptance answered from the caches. Nothing else
/// happens in it, so it has no span of its own (a span costs more than
/// the rest of a hit): the event carries the registration itself.
pub(super) fn accepted_at_once(resolved: &Resolved, ctx: AuthContext) -> AuthContext {
    resolved.count_accepted(ctx.registration_label());
    log_accepted(&ctx);
    ctx
}

/// The event of an acceptance answered from the caches (counted by the
/// caller).
pub(super) fn log_accepted(ctx: &AuthContext) {
    tracing::debug!(
        registration = %ctx.registration_id(),
        outcome = "accepted",
        subject = %ctx.subject(),
        "request authenticated"
    );
}

/// Count and log a refusal.
pub(super) fn refused(
    span: &tracing::Span,
    error: AuthError,
    resolved: Option<&Resolved>,
    labelled: bool,
) -> AuthError {
    let _entered = span.enter();
    let registration = resolved.map(|r| r.registration().id.shared());
    crate::metrics::refused(&error, registration, labelled);
    if error.code().status() == http::StatusCode::SERVICE_UNAVAILABLE {
        // A dependency failed: the operator needs what the outgoing request
        // met (URL, status, egress refusal), which the caller is never shown.
        let id = resolved.map_or("", |r| r.registration().id.as_str());
        tracing::warn!(outcome = "refused", code = error.code().as_str(), registration = id, reason = %error.detail(), "dependency unavailable");
    } else {
        tracing::info!(outcome = "refused", code = error.code().as_str(), detail = %error.detail(), "request refused");
    }
    error
}
