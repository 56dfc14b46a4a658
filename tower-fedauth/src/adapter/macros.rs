//! The boilerplate of the adapters' own types, written once.
//!
//! Rust's orphan rule lets only the adapter crate implement its
//! framework's traits (`FromRequestParts`, `IntoResponse`, `FromRequest`,
//! `ResponseError`) for a type, so each adapter declares its own
//! extractors and rejection; these macros give them the same plain-Rust
//! impls and the same documentation, as `axum-core`'s
//! `__define_rejection!` does for axum. They are not part of the public
//! API.

/// The extractor types every adapter offers, with their documentation and
/// plain-Rust impls (`Deref`, `Debug`, `Clone`): `Auth`, `Claims<T>`,
/// `Roles`, `Principal`, `RequireRole<R>`, `RequireScope<S>` and
/// `RequireStepUp<P>`. The adapter (`$krate`, for
/// the examples) adds its framework's extraction impls, which answer
/// through [`RequestAuth`](crate::adapter::RequestAuth).
#[doc(hidden)]
#[macro_export]
macro_rules! __define_extractors {
    ($krate:ident) => {
        /// The verified [`AuthContext`](tower_fedauth::AuthContext):
        /// registration, issuer, subject, property, roles, principal and
        /// claims.
        ///
        /// Refused with 401 `missing_token` when the request has none (no
        /// authentication on this route, or an anonymous request let
        /// through by the optional layer or middleware); `Option<Auth>` is
        /// `None` then.
        #[derive(Debug, Clone)]
        pub struct Auth(pub $crate::AuthContext);
        $crate::__impl_deref!(Auth => $crate::AuthContext);

        /// The verified claims, deserialised into `T` (default: the
        /// registered claims, [`StandardClaims`](tower_fedauth::StandardClaims)).
        /// `Claims<serde_json::Value>` gives every claim.
        ///
        /// Refused with 401 `missing_token` when the request was not
        /// authenticated, and with 401 `invalid_claims` when the claims do
        /// not deserialise into `T` (the detail names a missing claim and
        /// never quotes a claim's value). `Option<Claims<T>>` is `None` for
        /// an unauthenticated request; claims that do not fit `T` are still
        /// refused under axum, and give `None` under actix-web, whose
        /// `Option` turns every refusal into `None`.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Claims<T = $crate::StandardClaims>(pub T);

        impl<T> ::core::ops::Deref for Claims<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T> ::core::ops::DerefMut for Claims<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }

        /// The roles granted to the application for this request (sorted,
        /// unique); 401 `missing_token` without a verified context.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Roles(pub $crate::Roles);
        $crate::__impl_deref!(Roles => $crate::Roles);

        /// Who the caller is: subject, user name, email and persisted
        /// attributes; 401 `missing_token` without a verified context.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Principal(pub $crate::Principal);
        $crate::__impl_deref!(Principal => $crate::Principal);

        $crate::__define_requirement_extractor! {
            /// The [`AuthContext`](tower_fedauth::AuthContext), provided the
            /// application holds the role `R` for this request; otherwise 403
            /// `insufficient_role` (401 `missing_token` without a context).
            /// Same refusal as [`require_role`](crate::require_role).
            ///
            /// ```
            #[doc = ::core::concat!("use ", ::core::stringify!($krate), "::{RequireRole, RoleName};")]
            ///
            /// struct Admin;
            /// impl RoleName for Admin {
            ///     const NAME: &'static str = "admin";
            /// }
            ///
            /// async fn admin_only(admin: RequireRole<Admin>) -> String {
            ///     admin.subject().to_owned()
            /// }
            /// ```
            pub struct RequireRole<R: RoleName> = role_of;
        }

        $crate::__define_requirement_extractor! {
            /// The [`AuthContext`](tower_fedauth::AuthContext), provided the
            /// token grants the OAuth scope `S` (its `scope` or `scp`
            /// claim); otherwise 403 `insufficient_scope` with `scope="…"`
            /// in the challenge (401 `missing_token` without a context).
            /// Same refusal as [`require_scope`](crate::require_scope).
            ///
            /// ```
            #[doc = ::core::concat!("use ", ::core::stringify!($krate), "::{RequireScope, ScopeName};")]
            ///
            /// struct Read;
            /// impl ScopeName for Read {
            ///     const NAME: &'static str = "read";
            /// }
            ///
            /// async fn reader(ctx: RequireScope<Read>) -> String {
            ///     ctx.subject().to_owned()
            /// }
            /// ```
            pub struct RequireScope<S: ScopeName> = scope_of;
        }

        $crate::__define_requirement_extractor! {
            /// The [`AuthContext`](tower_fedauth::AuthContext), provided the
            /// user's authentication meets the step-up rule `P` (RFC 9470:
            /// an accepted `acr`, a recent enough `auth_time`); otherwise
            /// 401 `insufficient_user_authentication` with `acr_values` and
            /// `max_age` in the challenge (401 `missing_token` without a
            /// context). Same refusal as
            /// [`require_step_up`](crate::require_step_up).
            ///
            /// ```
            #[doc = ::core::concat!("use ", ::core::stringify!($krate), "::{RequireStepUp, StepUpPolicy};")]
            /// use std::time::Duration;
            ///
            /// struct RecentMfa;
            /// impl StepUpPolicy for RecentMfa {
            ///     const ACR: &'static [&'static str] = &["urn:example:mfa"];
            ///     const MAX_AGE: Option<Duration> = Some(Duration::from_secs(300));
            /// }
            ///
            /// async fn transfer(ctx: RequireStepUp<RecentMfa>) -> String {
            ///     ctx.subject().to_owned()
            /// }
            /// ```
            pub struct RequireStepUp<P: StepUpPolicy> = step_up_of;
        }
    };
}

/// An extractor of the context that checks the [`Requirement`] its type
/// parameter names (`$ctor`: the `Requirement` constructor from the
/// parameter's trait), with `Debug`, `Clone` and `Deref`; the adapter adds
/// the extraction impls, which check `Self::REQUIREMENT`.
///
/// [`Requirement`]: crate::adapter::Requirement
#[doc(hidden)]
#[macro_export]
macro_rules! __define_requirement_extractor {
    ($(#[$meta:meta])* pub struct $name:ident<$p:ident: $bound:ident> = $ctor:ident;) => {
        $(#[$meta])*
        pub struct $name<$p: $crate::adapter::$bound>(
            pub $crate::AuthContext,
            ::core::marker::PhantomData<$p>,
        );

        impl<$p: $crate::adapter::$bound> $name<$p> {
            /// The requirement this extractor checks.
            const REQUIREMENT: $crate::adapter::Requirement =
                $crate::adapter::Requirement::$ctor::<$p>();
        }

        impl<$p: $crate::adapter::$bound> ::core::fmt::Debug for $name<$p> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_tuple(::core::stringify!($name))
                    .field(&Self::REQUIREMENT)
                    .field(&self.0)
                    .finish()
            }
        }

        impl<$p: $crate::adapter::$bound> ::core::clone::Clone for $name<$p> {
            fn clone(&self) -> Self {
                Self(self.0.clone(), ::core::marker::PhantomData)
            }
        }

        impl<$p: $crate::adapter::$bound> ::core::ops::Deref for $name<$p> {
            type Target = $crate::AuthContext;
            fn deref(&self) -> &$crate::AuthContext {
                &self.0
            }
        }
    };
}

/// `Deref` of a newtype to its only field.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_deref {
    ($name:ident => $target:ty) => {
        impl ::core::ops::Deref for $name {
            type Target = $target;
            fn deref(&self) -> &$target {
                &self.0
            }
        }
    };
}

/// An adapter's rejection: a typed [`AuthError`](crate::AuthError) with
/// `error()`, `into_error()`, `From<AuthError>`, `Display` and `Error`;
/// the adapter adds how its framework renders it.
#[doc(hidden)]
#[macro_export]
macro_rules! __define_rejection {
    ($(#[$meta:meta])* pub struct $name:ident;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            error: $crate::AuthError,
        }

        impl $name {
            /// The typed error.
            pub fn error(&self) -> &$crate::AuthError {
                &self.error
            }

            /// The typed error, by value.
            pub fn into_error(self) -> $crate::AuthError {
                self.error
            }
        }

        impl ::core::convert::From<$crate::AuthError> for $name {
            fn from(error: $crate::AuthError) -> Self {
                Self { error }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(&self.error, f)
            }
        }

        impl ::std::error::Error for $name {
            fn source(&self) -> ::core::option::Option<&(dyn ::std::error::Error + 'static)> {
                ::core::option::Option::Some(&self.error)
            }
        }
    };
}
