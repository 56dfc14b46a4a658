//! Application registrations: what the platform knows about one third-party
//! application (its IdP, client id, allowed algorithms, roles).
//!
//! A [`Registration`] only exists validated: registry files
//! (`crate::registry`) and [`Registration::builder`] go through the same
//! rules, so request-time code can trust every field.

mod builder;
mod de;
mod field;
mod id;
mod keys;
mod model;
mod raw;
mod rules;
mod validate;

pub use builder::RegistrationBuilder;
pub(crate) use de::from_value;
pub use field::{DEFAULT_LEEWAY_SECONDS, MAX_CACHE_SECONDS, MAX_LEEWAY_SECONDS, RegistrationError};
pub(crate) use id::check_id;
pub use id::{InvalidRegistrationId, MAX_ID_LEN, RegistrationId};
pub use model::{
    ALLOWED_ALGORITHMS, AzureVersion, ClaimsMapping, ClientAuthMethod,
    DEFAULT_AUTHORIZED_PARTY_CLAIMS, DEFAULT_CACHE_SECONDS, HttpMethod, IntrospectionConfig,
    Provider, Registration, Secret, TokenUse, VerificationConfig, default_algorithms,
    default_token_use,
};

#[cfg(test)]
mod narrowing_tests;
#[cfg(test)]
mod tests;
