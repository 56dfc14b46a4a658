//! Extractors over what [`FedAuthLayer`](tower_fedauth::FedAuthLayer) put in
//! the request's extensions.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tower_fedauth::{AuthContext, AuthError, ErrorCode, StandardClaims};

use crate::rejection::{Rejection, missing_context};

fn context(parts: &Parts) -> Option<AuthContext> {
    parts.extensions.get::<AuthContext>().cloned()
}

fn require_context(parts: &Parts) -> Result<AuthContext, Rejection> {
    context(parts).ok_or_else(|| missing_context(&parts.headers))
}

/// The refusal for claims that do not fit the handler's type: 401
/// `invalid_claims`. The detail names a missing claim but never quotes a
/// claim's value.
pub(crate) fn invalid_claims(error: &serde_json::Error) -> AuthError {
    let text = error.to_string();
    let detail = match text.strip_prefix("missing field `") {
        Some(rest) => match rest.split_once('`') {
            Some((field, _)) => format!("the claim `{field}` required by the handler is missing"),
            None => "a claim required by the handler is missing".to_owned(),
        },
        None => "a claim does not have the type the handler requires".to_owned(),
    };
    AuthError::token(ErrorCode::InvalidClaims, detail)
}

/// The verified [`AuthContext`]: registration, issuer, subject, property,
/// roles, principal and claims.
///
/// Rejects with 401 `missing_token` when there is none (no layer, or an
/// anonymous request under [`FedAuthLayer::optional`]); `Option<Auth>` is
/// `None` then.
///
/// [`FedAuthLayer::optional`]: tower_fedauth::FedAuthLayer::optional
#[derive(Debug, Clone)]
pub struct Auth(pub AuthContext);

impl Deref for Auth {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        require_context(parts).map(Auth)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Auth {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Rejection> {
        Ok(context(parts).map(Auth))
    }
}

/// The verified claims, deserialised into `T` (default: the registered
/// claims, [`StandardClaims`]). `Claims<serde_json::Value>` gives every claim.
///
/// Rejects with 401 `missing_token` when the request was not authenticated,
/// and with 401 `invalid_claims` when the claims do not deserialise into `T`.
/// `Option<Claims<T>>` is `None` for an unauthenticated request and still
/// rejects claims that do not fit `T`.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims<T = StandardClaims>(pub T);

impl<T> Deref for Claims<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Claims<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

fn claims_of(parts: &Parts) -> Option<tower_fedauth::Claims> {
    parts
        .extensions
        .get::<tower_fedauth::Claims>()
        .cloned()
        .or_else(|| context(parts).map(|ctx| ctx.claims().clone()))
}

fn deserialize<T: DeserializeOwned>(
    claims: &tower_fedauth::Claims,
) -> Result<Claims<T>, Rejection> {
    claims
        .deserialize::<T>()
        .map(Claims)
        .map_err(|e| invalid_claims(&e).into())
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        match claims_of(parts) {
            Some(claims) => deserialize(&claims),
            None => Err(missing_context(&parts.headers)),
        }
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Rejection> {
        claims_of(parts).map(|c| deserialize(&c)).transpose()
    }
}

/// The roles granted to the application for this request (sorted, unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles(pub tower_fedauth::Roles);

impl Deref for Roles {
    type Target = tower_fedauth::Roles;
    fn deref(&self) -> &tower_fedauth::Roles {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Roles {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        require_context(parts).map(|ctx| Roles(ctx.roles().clone()))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Roles {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Rejection> {
        Ok(context(parts).map(|ctx| Roles(ctx.roles().clone())))
    }
}

/// Who the caller is: subject, user name, email and persisted attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal(pub tower_fedauth::Principal);

impl Deref for Principal {
    type Target = tower_fedauth::Principal;
    fn deref(&self) -> &tower_fedauth::Principal {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        require_context(parts).map(|ctx| Principal(ctx.principal().clone()))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Rejection> {
        Ok(context(parts).map(|ctx| Principal(ctx.principal().clone())))
    }
}

/// A role name known at compile time, for [`RequireRole`].
///
/// ```
/// struct Admin;
/// impl fedauth_axum::RoleName for Admin {
///     const NAME: &'static str = "admin";
/// }
/// ```
pub trait RoleName: Send + Sync + 'static {
    /// The role.
    const NAME: &'static str;
}

/// The [`AuthContext`], provided the application holds the role `R` for
/// this request; otherwise 403 `insufficient_role` (401 `missing_token`
/// without a context). Same refusal as [`require_role`](crate::require_role).
pub struct RequireRole<R: RoleName>(pub AuthContext, PhantomData<R>);

impl<R: RoleName> std::fmt::Debug for RequireRole<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RequireRole")
            .field(&R::NAME)
            .field(&self.0)
            .finish()
    }
}

impl<R: RoleName> Clone for RequireRole<R> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<R: RoleName> Deref for RequireRole<R> {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

impl<S: Send + Sync, R: RoleName> FromRequestParts<S> for RequireRole<R> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        let ctx = require_context(parts)?;
        ctx.require_role(R::NAME)?;
        Ok(Self(ctx, PhantomData))
    }
}
