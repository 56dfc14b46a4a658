//! Application registrations: what the platform knows about one third-party
//! application (its IdP, client id, allowed algorithms, roles).
//!
//! A [`Registration`] only exists validated: registry files
//! (`crate::registry`) and [`Registration::builder`] go through the same
//! rules, so request-time code can trust every field.

mod builder;
mod de;
mod document;
mod field;
mod id;
mod model;
mod raw;
mod required;
mod rules;
mod validate;
mod values;

pub use builder::RegistrationBuilder;
pub(crate) use de::from_value;
pub(crate) use field::{Ctx, field_names, read, read_table, shown};
pub use field::{DEFAULT_LEEWAY_SECONDS, MAX_CACHE_SECONDS, MAX_LEEWAY_SECONDS, RegistrationError};
pub(crate) use id::check_id;
pub use id::{InvalidRegistrationId, MAX_ID_LEN, RegistrationId};
pub use model::Registration;
pub(crate) use raw::RawRegistration;
pub use required::RequiredClaims;
pub(crate) use rules::cache_seconds;
pub use values::{
    ALLOWED_ALGORITHMS, BindingMode, ClaimsMapping, DEFAULT_AUTHORIZED_PARTY_CLAIMS, Secret,
    TokenUse,
};
// The provider settings a registration carries, where they were before the
// presets became modules of `crate::providers`.
pub use crate::providers::{
    AzureVersion, ClientAuthMethod, DEFAULT_CACHE_SECONDS, HttpMethod, IntrospectionConfig,
    Provider, ProviderConfig, VerificationConfig,
};

#[cfg(test)]
mod narrowing_tests;
#[cfg(test)]
mod tests;
