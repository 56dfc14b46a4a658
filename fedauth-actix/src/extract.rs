//! Extractors over what [`FedAuth`](crate::FedAuth) put in the request's
//! extensions: `Auth`, `Claims<T>`, `Roles`, `Principal`,
//! `RequireRole<R>`, `RequireScope<S>` and `RequireStepUp<P>`, declared by the core with their documentation. What
//! each one answers is decided by the core's
//! [`RequestAuth`](tower_fedauth::adapter::RequestAuth); this is actix's
//! plumbing around it.
//!
//! actix-web's `Option<T>` extractor is `None` whenever `T` is refused, so
//! `Option<Claims<T>>` is also `None` for claims that do not fit `T`.

use std::future::{Ready, ready};
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use tower_fedauth::adapter::{RoleName, ScopeName, StepUpPolicy};

use crate::response::{Rejection, with_auth};

tower_fedauth::__define_extractors!(fedauth_actix);

/// `FromRequest` for a newtype over the context (`Auth`) or one of its
/// parts (`Roles = roles`).
macro_rules! context_extractor {
    ($name:ident $(= $part:ident)?) => {
        impl FromRequest for $name {
            type Error = Rejection;
            type Future = Ready<Result<Self, Rejection>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(with_auth(req, |found| {
                    Ok(Self(found.require_context()? $(.$part())?.clone()))
                }))
            }
        }
    };
}

context_extractor!(Auth);
context_extractor!(Roles = roles);
context_extractor!(Principal = principal);

impl<T: DeserializeOwned> FromRequest for Claims<T> {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(with_auth(req, |found| found.require_claims().map(Self)))
    }
}

/// `FromRequest` for an extractor that checks the requirement its type
/// parameter names.
macro_rules! requirement_extractor {
    ($name:ident<$p:ident: $bound:ident>) => {
        impl<$p: $bound> FromRequest for $name<$p> {
            type Error = Rejection;
            type Future = Ready<Result<Self, Rejection>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(with_auth(req, |found| {
                    let ctx = found.require(&Self::REQUIREMENT)?;
                    Ok(Self(ctx.clone(), PhantomData))
                }))
            }
        }
    };
}

requirement_extractor!(RequireRole<R: RoleName>);
requirement_extractor!(RequireScope<S: ScopeName>);
requirement_extractor!(RequireStepUp<P: StepUpPolicy>);
