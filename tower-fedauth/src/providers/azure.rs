//! `azure-ad`: Microsoft Entra ID (Azure AD).
//!
//! - Keys: `tenant` (a tenant GUID, or `common` / `organizations` /
//!   `consumers`), optional `version` (`1`, `2`, `any`; default `any`),
//!   optional `allowed_tenants` (tenant GUIDs narrowing a multi-tenant
//!   `tenant`; without it a warning is logged at load).
//! - Issuers: v2 `https://login.microsoftonline.com/{tid}/v2.0`, v1
//!   `https://sts.windows.net/{tid}/`; the `ver` claim (`2.0` / `1.0`) says
//!   which applies, and `version` which are accepted. `tid` must be a GUID
//!   the `tenant` admits (a GUID `tenant` only itself; `common` any;
//!   `organizations` any but [`CONSUMERS_TENANT_ID`]; `consumers` only that
//!   one) and, when listed, one of `allowed_tenants`; the form is filled
//!   with `tid` and `iss` must equal it exactly. An `issuer` override may
//!   hold [`TENANT_TEMPLATE`], filled the same way.
//! - Keys: `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`
//!   (`/discovery/keys` when `version = 1`); a key whose `issuer` member is
//!   a concrete tenant signs only that tenant's tokens (either version).
//! - Discovery: the tenant's own document. Token kind by explicit typing.
//!   RS256.
//! - Audience: ID tokens: `aud` names `client_id`. Access tokens for the
//!   platform's API (`audiences`): `aud` names the API — `api://{GUID}`
//!   (v1, the Application ID URI) or the bare GUID (v2) — and either form
//!   listed accepts the other (`AzureAd::names_api`); the calling
//!   application is the authorized party, `azp` in v2 tokens and `appid`
//!   in v1, both in the default `authorized_party_claims`.

use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::config::{AzureAd, AzureVersion, ProviderConfig};
use super::preset::{
    Checked, Claims, KeySource, Loader, Preset, Tokens, invalid_issuer, issuer_claim,
};
use crate::error::AuthError;
use crate::registration::{
    Ctx, Provider, Registration, RegistrationError, field_names, read, shown,
};
use crate::verify::printable;

/// The keys of an `azure-ad` registration, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    tenant: Option<String>,
    version: Option<AzureVersion>,
    allowed_tenants: Option<Vec<String>>,
}

/// Reads [`Keys`] into [`AzureAd`].
pub(super) const LOADER: Loader = Loader {
    keys: field_names::<Keys>,
    load: |cx, keys| load(cx, read(cx, keys, &[])?).map(ProviderConfig::AzureAd),
};

fn load(cx: &Ctx, keys: Keys) -> Result<AzureAd, RegistrationError> {
    let written = cx.required("tenant", keys.tenant.as_deref(), Provider::AzureAd)?;
    let tenant = tenant(cx, written)?;
    let allowed_tenants = match &keys.allowed_tenants {
        Some(list) => Some(allowed_tenants(cx, &tenant, list)?),
        None => None,
    };
    Ok(AzureAd {
        tenant,
        version: keys.version.unwrap_or_default(),
        allowed_tenants,
    })
}

impl Preset for AzureAd {
    fn tokens(&self) -> Tokens {
        Tokens::RS256
    }

    /// A multi-tenant registration that names no tenants admits every
    /// tenant of its kind (`common`: all of Entra ID): said once, at load.
    fn check(&self, _: &Ctx, reg: &Registration) -> Result<(), RegistrationError> {
        if !is_guid(&self.tenant) && self.allowed_tenants.is_none() {
            tracing::warn!(
                registration = %reg.id,
                tenant = %self.tenant,
                "azure-ad registration with a multi-tenant tenant and no allowed_tenants: tokens of every tenant it admits pass"
            );
        }
        Ok(())
    }

    /// One form per accepted version, `{tenantid}` for multi-tenant ones.
    fn issuers(&self) -> Vec<String> {
        Ver::accepted(self.version)
            .map(|v| issuer(v, self.tenant_or_template()))
            .collect()
    }

    fn key_source(&self, _: &[String]) -> Option<KeySource> {
        KeySource::direct(&keys_url(self.version, &self.tenant))
    }

    fn discovery_url(&self) -> Option<Url> {
        Url::parse(&discovery_url(self.version, &self.tenant)).ok()
    }

    /// `ver` selects the issuer form (as `version` allows), `tid` (a GUID
    /// of the registration's tenants) fills it, and `iss` must equal the
    /// result exactly. With an `issuer` override, its forms are the only
    /// ones (each `{tenantid}` filled from `tid`), and `iss` must equal one.
    fn check_issuer(&self, reg: &Registration, _: &[String], claims: &Claims) -> Checked {
        let iss = issuer_claim(claims)?;
        let tid = self.tenant_id(claims)?;
        let matches = match reg.issuer.as_slice() {
            [] => iss == issuer(self.token_version(claims)?, tid),
            custom => custom
                .iter()
                .any(|form| iss == form.replace(TENANT_TEMPLATE, tid)),
        };
        if matches {
            Ok(())
        } else {
            Err(invalid_issuer(format!(
                "iss `{}` is not the issuer of tenant {tid}",
                printable(iss, 128)
            )))
        }
    }

    /// Entra ID names one API two ways: v1 access tokens by its Application
    /// ID URI (`api://{GUID}` unless the API set another), v2 ones by its
    /// application (client) id, the bare GUID. So a listed `api://{GUID}`
    /// also accepts `{GUID}` and a listed GUID also accepts `api://{GUID}`
    /// (GUIDs compared case-insensitively). Only forms the registration
    /// lists count: the calling application's `client_id` never names the
    /// API, and a custom Application ID URI (`https://…`) matches only as
    /// written.
    fn names_api(&self, audiences: &[String], aud: &str) -> bool {
        audiences.iter().any(|api| {
            api == aud
                || api_guid(api)
                    .zip(api_guid(aud))
                    .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
        })
    }

    /// A key's concrete `issuer` names the token's issuer, or the same
    /// tenant in the other version's form.
    fn key_may_sign(&self, key_issuer: &str, iss: &str, claims: &Claims) -> bool {
        let tid = claims
            .get("tid")
            .and_then(Value::as_str)
            .filter(|t| is_guid(t));
        iss == key_issuer
            || tid.is_some_and(|tid| {
                [Ver::V1, Ver::V2]
                    .iter()
                    .any(|v| issuer(*v, tid) == key_issuer)
            })
    }
}

impl AzureAd {
    /// The tenant, or the template for multi-tenant registrations.
    fn tenant_or_template(&self) -> &str {
        if is_guid(&self.tenant) {
            &self.tenant
        } else {
            TENANT_TEMPLATE
        }
    }

    /// The token's `tid`: a GUID, admitted by the registration's tenant
    /// and, when the registration lists them, one of its `allowed_tenants`.
    fn tenant_id<'c>(&self, claims: &'c Map<String, Value>) -> Result<&'c str, AuthError> {
        let tid = match claims.get("tid") {
            Some(Value::String(tid)) if is_guid(tid) => tid.as_str(),
            Some(Value::String(tid)) => {
                return Err(invalid_issuer(format!(
                    "tid `{}` is not a tenant GUID",
                    printable(tid, 64)
                )));
            }
            Some(_) => return Err(invalid_issuer("tid is not a string")),
            None => return Err(invalid_issuer("tid is missing")),
        };
        let tenant = self.tenant.as_str();
        let admitted = match tenant {
            "common" => true,
            "consumers" => tid.eq_ignore_ascii_case(CONSUMERS_TENANT_ID),
            "organizations" => !tid.eq_ignore_ascii_case(CONSUMERS_TENANT_ID),
            single => tid.eq_ignore_ascii_case(single),
        };
        if !admitted {
            return Err(invalid_issuer(format!(
                "tid `{tid}` is not a tenant of `{tenant}`"
            )));
        }
        // A multi-tenant registration narrowed to the tenants it serves.
        match &self.allowed_tenants {
            Some(list) if !list.iter().any(|t| t.eq_ignore_ascii_case(tid)) => Err(invalid_issuer(
                format!("tid `{tid}` is not one of the registration's allowed_tenants"),
            )),
            _ => Ok(tid),
        }
    }

    /// The token's version, by its `ver` claim, if the registration
    /// accepts it.
    fn token_version(&self, claims: &Map<String, Value>) -> Result<Ver, AuthError> {
        let ver = match claims.get("ver").and_then(Value::as_str) {
            Some("1.0") => Ver::V1,
            Some("2.0") => Ver::V2,
            Some(other) => {
                return Err(invalid_issuer(format!(
                    "ver `{}` is neither 1.0 nor 2.0",
                    printable(other, 16)
                )));
            }
            None => {
                return Err(invalid_issuer(
                    "ver is missing: the issuer form cannot be told",
                ));
            }
        };
        if !ver.accepted_by(self.version) {
            return Err(invalid_issuer(format!(
                "{ver:?} tokens are not accepted by this registration"
            )));
        }
        Ok(ver)
    }
}

/// A tenant GUID or one of Microsoft's multi-tenant names, lowercased
/// because issuers and key URLs are built from it and compared exactly.
fn tenant(cx: &Ctx, tenant: &str) -> Result<String, RegistrationError> {
    let lower = tenant.to_ascii_lowercase();
    if is_guid(&lower) || matches!(lower.as_str(), "common" | "organizations" | "consumers") {
        Ok(lower)
    } else {
        Err(cx.err(
            "tenant",
            format!(
                "{:?} is neither a tenant GUID nor common, organizations or consumers",
                shown(tenant)
            ),
        ))
    }
}

/// `allowed_tenants` of an `azure-ad` registration whose `tenant` is
/// `tenant` (already checked): lowercase GUIDs, deduplicated. Only a
/// multi-tenant `tenant` can be narrowed: with a tenant GUID the list could
/// only repeat it, so it is refused rather than silently meaningless; so is
/// an entry the `tenant` itself never admits (the personal-account tenant
/// under `organizations`, any other under `consumers`), since no token of
/// it could pass.
fn allowed_tenants(
    cx: &Ctx,
    tenant: &str,
    list: &[String],
) -> Result<Vec<String>, RegistrationError> {
    const FIELD: &str = "allowed_tenants";
    if is_guid(tenant) {
        return Err(cx.err(
            FIELD,
            format!(
                "is only used with a multi-tenant tenant (common, organizations or consumers); tenant {tenant} already admits only itself"
            ),
        ));
    }
    if list.is_empty() {
        return Err(cx.err(
            FIELD,
            "must not be empty (omit the key to admit every tenant of `tenant`)",
        ));
    }
    let consumers = CONSUMERS_TENANT_ID;
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for entry in list {
        let lower = entry.to_ascii_lowercase();
        if !is_guid(&lower) {
            return Err(cx.err(FIELD, format!("{:?} is not a tenant GUID", shown(entry))));
        }
        let admitted = match tenant {
            "organizations" => lower != consumers,
            "consumers" => lower == consumers,
            _ => true,
        };
        if !admitted {
            return Err(cx.err(
                FIELD,
                format!(
                    "{lower} is never admitted by tenant {tenant}, so no token of it could pass"
                ),
            ));
        }
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    Ok(out)
}

/// The placeholder of multi-tenant issuers, filled from the token's `tid`.
pub const TENANT_TEMPLATE: &str = "{tenantid}";

/// The tenant of personal Microsoft accounts (`consumers`).
pub const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// A token version, as the `ver` claim names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ver {
    V1,
    V2,
}

impl Ver {
    fn accepted_by(self, version: AzureVersion) -> bool {
        matches!(
            (self, version),
            (_, AzureVersion::Any) | (Ver::V1, AzureVersion::V1) | (Ver::V2, AzureVersion::V2)
        )
    }

    /// The versions a registration accepts, v2 first.
    fn accepted(version: AzureVersion) -> impl Iterator<Item = Ver> {
        [Ver::V2, Ver::V1]
            .into_iter()
            .filter(move |v| v.accepted_by(version))
    }
}

/// The GUID an API audience names, as `api://{GUID}` or `{GUID}`.
fn api_guid(aud: &str) -> Option<&str> {
    let guid = aud.strip_prefix("api://").unwrap_or(aud);
    is_guid(guid).then_some(guid)
}

/// Whether `s` is a GUID (`8-4-4-4-12` hex digits).
pub(crate) fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The issuer of a token version for a tenant (GUID or [`TENANT_TEMPLATE`]).
fn issuer(ver: Ver, tenant: &str) -> String {
    match ver {
        Ver::V1 => format!("https://sts.windows.net/{tenant}/"),
        Ver::V2 => format!("https://login.microsoftonline.com/{tenant}/v2.0"),
    }
}

/// The tenant's key URL: v1 keys for v1-only registrations, else v2 keys
/// (Microsoft signs both token versions with the keys listed there).
fn keys_url(version: AzureVersion, tenant: &str) -> String {
    match version {
        AzureVersion::V1 => format!("https://login.microsoftonline.com/{tenant}/discovery/keys"),
        _ => format!("https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"),
    }
}

/// The discovery document of the tenant (v1 for v1-only registrations).
fn discovery_url(version: AzureVersion, tenant: &str) -> String {
    match version {
        AzureVersion::V1 => {
            format!("https://login.microsoftonline.com/{tenant}/.well-known/openid-configuration")
        }
        _ => format!(
            "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::registration::Provider;
    use serde_json::json;

    const X: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const Y: &str = "11111111-2222-3333-4444-555555555555";

    fn reg(tenant: &str, version: AzureVersion) -> Registration {
        Registration::builder("quid", Provider::AzureAd)
            .client_id("app")
            .tenant(tenant)
            .version(version)
            .build()
            .unwrap()
    }

    fn code(reg: &Registration, claims: Value) -> Option<ErrorCode> {
        let ProviderConfig::AzureAd(azure) = &reg.provider else {
            panic!("not azure-ad: {reg:?}");
        };
        azure
            .check_issuer(reg, &[], claims.as_object().unwrap())
            .err()
            .map(|e| e.code())
    }

    #[test]
    fn versions_and_tenants() {
        let v2 = |tid: &str, iss_tid: &str| json!({"iss": issuer(Ver::V2, iss_tid), "tid": tid, "ver": "2.0"});
        let v1 = |tid: &str| json!({"iss": issuer(Ver::V1, tid), "tid": tid, "ver": "1.0"});
        let single = reg(X, AzureVersion::Any);
        assert_eq!(code(&single, v2(X, X)), None);
        assert_eq!(code(&single, v1(X)), None);
        assert_eq!(code(&single, v2(Y, Y)), Some(ErrorCode::InvalidIssuer));
        assert_eq!(
            code(&reg(X, AzureVersion::V2), v1(X)),
            Some(ErrorCode::InvalidIssuer)
        );
        assert_eq!(code(&reg(X, AzureVersion::V1), v1(X)), None);

        let multi = reg("common", AzureVersion::Any);
        assert_eq!(code(&multi, v2(Y, Y)), None);
        assert_eq!(code(&multi, v2(X, Y)), Some(ErrorCode::InvalidIssuer));
        assert_eq!(
            code(&multi, v2("contoso", "contoso")),
            Some(ErrorCode::InvalidIssuer)
        );
        assert_eq!(
            code(&multi, json!({"iss": issuer(Ver::V2, X), "tid": X})),
            Some(ErrorCode::InvalidIssuer)
        );
        assert_eq!(
            code(&reg("consumers", AzureVersion::Any), v2(X, X)),
            Some(ErrorCode::InvalidIssuer)
        );
        let msa = CONSUMERS_TENANT_ID;
        assert_eq!(
            code(&reg("consumers", AzureVersion::Any), v2(msa, msa)),
            None
        );
        assert_eq!(
            code(&reg("organizations", AzureVersion::Any), v2(msa, msa)),
            Some(ErrorCode::InvalidIssuer)
        );
    }

    /// `api://{GUID}` and `{GUID}` name one API, only when one is listed.
    #[test]
    fn api_audience_forms() {
        let reg = reg(X, AzureVersion::Any);
        let ProviderConfig::AzureAd(azure) = &reg.provider else {
            panic!("not azure-ad: {reg:?}");
        };
        let names = |listed: &[&str], aud: &str| {
            let listed: Vec<String> = listed.iter().map(|s| (*s).to_owned()).collect();
            azure.names_api(&listed, aud)
        };
        let uri = format!("api://{Y}");
        assert!(names(&[&uri], &uri));
        assert!(names(&[&uri], Y));
        assert!(names(&[Y], &uri));
        assert!(names(&[Y], &Y.to_uppercase()));
        assert!(!names(&[&uri], X), "another GUID");
        assert!(!names(
            &["api://contoso.example/api"],
            "contoso.example/api"
        ));
        assert!(!names(&["https://api.contoso.example"], Y));
        assert!(
            !names(&[&format!("api://{Y}/x")], Y),
            "a path is another URI"
        );
        assert!(!names(&[], Y));
    }

    #[test]
    fn key_issuer_names_the_tenant() {
        let claims = json!({"iss": issuer(Ver::V1, X), "tid": X});
        let claims = claims.as_object().unwrap();
        let iss = issuer(Ver::V1, X);
        let reg = reg(X, AzureVersion::Any);
        let ProviderConfig::AzureAd(azure) = &reg.provider else {
            panic!("not azure-ad: {reg:?}");
        };
        let key_may_sign = |key_issuer: &str| azure.key_may_sign(key_issuer, &iss, claims);
        assert!(key_may_sign(&issuer(Ver::V2, X)));
        assert!(key_may_sign(&issuer(Ver::V1, X)));
        assert!(!key_may_sign(&issuer(Ver::V2, Y)));
    }
}
