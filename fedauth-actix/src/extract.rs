//! Extractors over what [`FedAuth`](crate::FedAuth) put in the request's
//! extensions.
//!
//! actix-web's `Option<T>` extractor is `None` whenever `T` is refused, so
//! `Option<Claims<T>>` is also `None` for claims that do not fit `T`.

use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;
use tower_fedauth::{AuthContext, AuthError, ErrorCode, StandardClaims};

use crate::response::{Rejection, missing_context};

fn require_context(req: &HttpRequest) -> Result<AuthContext, Rejection> {
    req.extensions()
        .get::<AuthContext>()
        .cloned()
        .ok_or_else(|| missing_context(req))
}

/// The refusal for claims that do not fit the handler's type: 401
/// `invalid_claims`, worded as in fedauth-axum. The detail names a missing
/// claim but never quotes a claim's value.
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

/// The verified [`AuthContext`]; 401 `missing_token` without one.
#[derive(Debug, Clone)]
pub struct Auth(pub AuthContext);

impl Deref for Auth {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

impl FromRequest for Auth {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(require_context(req).map(Auth))
    }
}

/// The verified claims deserialised into `T` (default [`StandardClaims`];
/// `Claims<serde_json::Value>` gives every claim). 401 `missing_token`
/// without a context, 401 `invalid_claims` when the claims do not fit `T`.
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

impl<T: DeserializeOwned> FromRequest for Claims<T> {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = req
            .extensions()
            .get::<tower_fedauth::Claims>()
            .cloned()
            .or_else(|| {
                req.extensions()
                    .get::<AuthContext>()
                    .map(|c| c.claims().clone())
            });
        ready(match claims {
            Some(claims) => claims
                .deserialize::<T>()
                .map(Claims)
                .map_err(|e| invalid_claims(&e).into()),
            None => Err(missing_context(req)),
        })
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

impl FromRequest for Roles {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(require_context(req).map(|ctx| Roles(ctx.roles().clone())))
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

impl FromRequest for Principal {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(require_context(req).map(|ctx| Principal(ctx.principal().clone())))
    }
}

/// A role name known at compile time, for [`RequireRole`].
///
/// ```
/// struct Admin;
/// impl fedauth_actix::RoleName for Admin {
///     const NAME: &'static str = "admin";
/// }
/// ```
pub trait RoleName: 'static {
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

impl<R: RoleName> FromRequest for RequireRole<R> {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(require_context(req).and_then(|ctx| {
            ctx.require_role(R::NAME)?;
            Ok(Self(ctx, PhantomData))
        }))
    }
}
