//! Extractors over what [`FedAuthLayer`](tower_fedauth::FedAuthLayer) put in
//! the request's extensions: `Auth`, `Claims<T>`, `Roles`, `Principal`,
//! `RequireRole<R>`, `RequireScope<S>` and `RequireStepUp<P>`, declared by the core with their documentation.
//! What each one answers is decided by the core's [`RequestAuth`]; this is
//! axum's plumbing around it.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tower_fedauth::adapter::{RequestAuth, RoleName, ScopeName, StepUpPolicy};

use crate::rejection::Rejection;

tower_fedauth::__define_extractors!(fedauth_axum);

fn found(parts: &Parts) -> RequestAuth<'_> {
    RequestAuth::of(&parts.extensions, &parts.headers)
}

/// `FromRequestParts` and `OptionalFromRequestParts` for a newtype over the
/// context (`Auth`) or one of its parts (`Roles = roles`).
macro_rules! context_extractor {
    ($name:ident $(= $part:ident)?) => {
        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = Rejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
                let ctx = found(parts).require_context()?;
                Ok(Self(ctx $(.$part())?.clone()))
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $name {
            type Rejection = Rejection;

            async fn from_request_parts(
                parts: &mut Parts,
                _: &S,
            ) -> Result<Option<Self>, Rejection> {
                Ok(found(parts).context().map(|ctx| Self(ctx $(.$part())?.clone())))
            }
        }
    };
}

context_extractor!(Auth);
context_extractor!(Roles = roles);
context_extractor!(Principal = principal);

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        Ok(Self(found(parts).require_claims()?))
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Rejection> {
        let claims = found(parts).claims().transpose()?;
        Ok(claims.map(Self))
    }
}

/// `FromRequestParts` for an extractor that checks the requirement its
/// type parameter names.
macro_rules! requirement_extractor {
    ($name:ident<$p:ident: $bound:ident>) => {
        impl<S: Send + Sync, $p: $bound> FromRequestParts<S> for $name<$p> {
            type Rejection = Rejection;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
                let ctx = found(parts).require(&Self::REQUIREMENT)?;
                Ok(Self(ctx.clone(), PhantomData))
            }
        }
    };
}

requirement_extractor!(RequireRole<R: RoleName>);
requirement_extractor!(RequireScope<P: ScopeName>);
requirement_extractor!(RequireStepUp<P: StepUpPolicy>);
