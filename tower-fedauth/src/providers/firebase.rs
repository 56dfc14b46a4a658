//! `firebase`: Firebase Authentication.
//!
//! - Keys: `project_id`; `client_id` may then be omitted (the audience is
//!   the project), and if given must equal it.
//! - Issuer `https://securetoken.google.com/{project_id}`; `aud` = the
//!   project id (`audiences` is refused at load); keys from Google's X.509 certificate map
//!   ([`FIREBASE_KEYS_URL`], `Cache-Control: max-age` honoured); RS256.
//! - The header must carry a `kid` (else `unknown_key`, before any fetch).
//! - `sub` a non-empty string of at most 128 characters; `iat` present;
//!   `auth_time` a number not in the future (leeway applies) — else
//!   `invalid_claims`. A future `iat` is `token_not_yet_valid`, like any
//!   token's.

use serde::Deserialize;
use serde_json::Value;

use super::config::{Firebase, ProviderConfig};
use super::preset::{Checked, Claims, ClientId, KeySource, Loader, Preset, Tokens, invalid_claims};
use crate::claims::as_numeric_date;
use crate::error::{AuthError, ErrorCode};
use crate::registration::{
    Ctx, Provider, Registration, RegistrationError, field_names, read, shown,
};
use crate::token::JoseHeader;

/// Where Google publishes the keys of Firebase ID tokens (X.509 certificate map).
pub const FIREBASE_KEYS_URL: &str =
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com";

/// Longest Firebase `sub` (Firebase's own verifier's rule).
const MAX_SUB_CHARS: usize = 128;

/// The keys of a `firebase` registration, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    project_id: Option<String>,
}

/// Reads [`Keys`] into [`Firebase`].
pub(super) const LOADER: Loader = Loader {
    keys: field_names::<Keys>,
    load: |cx, keys| load(cx, read(cx, keys, &[])?).map(ProviderConfig::Firebase),
};

/// The project id: the issuer and the audience are built from it.
fn load(cx: &Ctx, keys: Keys) -> Result<Firebase, RegistrationError> {
    let project = cx.required("project_id", keys.project_id.as_deref(), Provider::Firebase)?;
    if !project
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c))
    {
        return Err(cx.err(
            "project_id",
            format!("{:?} is not a Firebase project id", shown(project)),
        ));
    }
    Ok(Firebase {
        project_id: project.to_owned(),
    })
}

impl Preset for Firebase {
    fn tokens(&self) -> Tokens {
        Tokens::RS256
    }

    fn client_id(&self) -> ClientId<'_> {
        ClientId::DefaultsTo(&self.project_id)
    }

    fn without_api_audience(&self) -> Option<&'static str> {
        Some("Firebase ID tokens name the project as their audience")
    }

    /// Firebase tokens name the project as audience: another client id
    /// could never match.
    fn check(&self, cx: &Ctx, reg: &Registration) -> Result<(), RegistrationError> {
        let p = &self.project_id;
        match reg.client_id.as_deref() {
            Some(c) if c != p => Err(cx.err(
                "client_id",
                format!(
                    "must equal project_id ({p:?}) for provider firebase: Firebase tokens name the project as audience"
                ),
            )),
            _ => Ok(()),
        }
    }

    fn issuers(&self) -> Vec<String> {
        vec![format!(
            "https://securetoken.google.com/{}",
            self.project_id
        )]
    }

    fn key_source(&self, _: &[String]) -> Option<KeySource> {
        KeySource::direct(FIREBASE_KEYS_URL)
    }

    fn check_key_id(&self, header: &JoseHeader) -> Checked {
        if header.kid.is_none() {
            return Err(AuthError::token(
                ErrorCode::UnknownKey,
                "Firebase tokens must name their key (`kid`)",
            ));
        }
        Ok(())
    }

    /// `sub`, `iat` and `auth_time`.
    fn check_claims(&self, now: i64, leeway: i64, claims: &Claims) -> Checked {
        match claims.get("sub") {
            Some(Value::String(s)) if s.is_empty() => return Err(invalid_claims("sub is empty")),
            Some(Value::String(s)) if s.chars().count() > MAX_SUB_CHARS => {
                return Err(invalid_claims(format!(
                    "sub is longer than {MAX_SUB_CHARS} characters"
                )));
            }
            Some(Value::String(_)) => {}
            _ => return Err(invalid_claims("sub is missing or not a string")),
        }
        if claims.get("iat").and_then(as_numeric_date).is_none() {
            return Err(invalid_claims("iat is missing"));
        }
        match claims.get("auth_time").and_then(as_numeric_date) {
            Some(t) if t <= now.saturating_add(leeway) => Ok(()),
            Some(t) => Err(invalid_claims(format!(
                "auth_time {t} is after now plus leeway"
            ))),
            None => Err(invalid_claims("auth_time is missing or not a number")),
        }
    }
}
