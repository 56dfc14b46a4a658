//! Microsoft Entra ID (Azure AD): issuer forms per token version, tenants,
//! the `{tenantid}` template of multi-tenant registrations, and the
//! signing-key `issuer` restriction.

use serde_json::{Map, Value};

use super::{invalid_issuer, issuer_claim};
use crate::error::AuthError;
use crate::registration::{AzureVersion, Registration};
use crate::verify::printable;

/// The placeholder of multi-tenant issuers, filled from the token's `tid`.
pub const TENANT_TEMPLATE: &str = "{tenantid}";

/// The tenant of personal Microsoft accounts (`consumers`).
pub const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// A token version, as the `ver` claim names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ver {
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
    pub(super) fn accepted(version: AzureVersion) -> impl Iterator<Item = Ver> {
        [Ver::V2, Ver::V1]
            .into_iter()
            .filter(move |v| v.accepted_by(version))
    }
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
pub(super) fn issuer(ver: Ver, tenant: &str) -> String {
    match ver {
        Ver::V1 => format!("https://sts.windows.net/{tenant}/"),
        Ver::V2 => format!("https://login.microsoftonline.com/{tenant}/v2.0"),
    }
}

/// The tenant's key URL: v1 keys for v1-only registrations, else v2 keys
/// (Microsoft signs both token versions with the keys listed there).
pub(super) fn keys_url(version: AzureVersion, tenant: &str) -> String {
    match version {
        AzureVersion::V1 => format!("https://login.microsoftonline.com/{tenant}/discovery/keys"),
        _ => format!("https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"),
    }
}

/// The discovery document of the tenant (v1 for v1-only registrations).
pub(super) fn discovery_url(version: AzureVersion, tenant: &str) -> String {
    match version {
        AzureVersion::V1 => {
            format!("https://login.microsoftonline.com/{tenant}/.well-known/openid-configuration")
        }
        _ => format!(
            "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
        ),
    }
}

/// The registration's tenant, or the template for multi-tenant ones.
pub(super) fn tenant_or_template(reg: &Registration) -> &str {
    match reg.tenant.as_deref() {
        Some(t) if is_guid(t) => t,
        _ => TENANT_TEMPLATE,
    }
}

/// The token's `tid`: a GUID, admitted by the registration's tenant and, when
/// the registration lists them, one of its `allowed_tenants`.
fn tenant_id<'c>(reg: &Registration, claims: &'c Map<String, Value>) -> Result<&'c str, AuthError> {
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
    let tenant = reg.tenant.as_deref().unwrap_or_default();
    let allowed = match tenant {
        "common" => true,
        "consumers" => tid.eq_ignore_ascii_case(CONSUMERS_TENANT_ID),
        "organizations" => !tid.eq_ignore_ascii_case(CONSUMERS_TENANT_ID),
        single => tid.eq_ignore_ascii_case(single),
    };
    if !allowed {
        return Err(invalid_issuer(format!(
            "tid `{tid}` is not a tenant of `{tenant}`"
        )));
    }
    // A multi-tenant registration narrowed to the tenants it serves.
    match &reg.allowed_tenants {
        Some(list) if !list.iter().any(|t| t.eq_ignore_ascii_case(tid)) => Err(invalid_issuer(
            format!("tid `{tid}` is not one of the registration's allowed_tenants"),
        )),
        _ => Ok(tid),
    }
}

/// `iss` of an Entra ID token: `ver` selects the issuer form (v1 or v2, as
/// the registration's `version` allows), `tid` (a GUID of the registration's
/// tenant) fills it, and `iss` must equal the result exactly. With an
/// `issuer` override, the override is the only form (its `{tenantid}`, if
/// any, filled from `tid`).
pub(super) fn check_issuer(
    reg: &Registration,
    claims: &Map<String, Value>,
) -> Result<(), AuthError> {
    let iss = issuer_claim(claims)?;
    let tid = tenant_id(reg, claims)?;
    let expected = match reg.issuer.as_deref() {
        Some(custom) => custom.replace(TENANT_TEMPLATE, tid),
        None => {
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
            if !ver.accepted_by(reg.version) {
                return Err(invalid_issuer(format!(
                    "{ver:?} tokens are not accepted by this registration"
                )));
            }
            issuer(ver, tid)
        }
    };
    if iss == expected {
        Ok(())
    } else {
        Err(invalid_issuer(format!(
            "iss `{}` is not the issuer of tenant {tid}",
            printable(iss, 128)
        )))
    }
}

/// Whether a key's concrete `issuer` may sign this (already accepted)
/// token: it names the token's issuer, or the same tenant in the other
/// version's form.
pub(super) fn key_may_sign(key_issuer: &str, claims: &Map<String, Value>) -> bool {
    let iss = claims.get("iss").and_then(Value::as_str);
    let tid = claims
        .get("tid")
        .and_then(Value::as_str)
        .filter(|t| is_guid(t));
    iss == Some(key_issuer)
        || tid.is_some_and(|tid| {
            [Ver::V1, Ver::V2]
                .iter()
                .any(|v| issuer(*v, tid) == key_issuer)
        })
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
        check_issuer(reg, claims.as_object().unwrap())
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

    #[test]
    fn key_issuer_names_the_tenant() {
        let claims = json!({"iss": issuer(Ver::V1, X), "tid": X});
        let claims = claims.as_object().unwrap();
        assert!(key_may_sign(&issuer(Ver::V2, X), claims));
        assert!(key_may_sign(&issuer(Ver::V1, X), claims));
        assert!(!key_may_sign(&issuer(Ver::V2, Y), claims));
    }
}
