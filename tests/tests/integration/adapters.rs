//! One behaviour table, two frameworks: every case of `CASES` is sent over
//! real HTTP to the axum app and to the actix app of the example servers
//! (`fedauth_examples::{axum_app, actix_app}`, plus a few routes for the
//! typed extractors and the scope and step-up layers), both over a
//! MockIdp-backed registry. Each answer must
//! be exactly the expected one (status, full JSON body, `Content-Type`,
//! `WWW-Authenticate`, `Retry-After`), and the two answers must be
//! identical (status, body bytes, every header but `date`).

mod apps;

use std::net::SocketAddr;

use serde_json::Value;
use tower_fedauth::ErrorCode;

use apps::Fixture;

/// How the case's token is made.
#[derive(Debug, Clone, Copy)]
enum Token {
    /// Signed by the IdP, with user name and email.
    Valid,
    /// Valid, plus a `tenant` claim.
    WithTenant,
    NotAJwt,
    AlgNone,
    Hs256,
    UnknownKid,
    /// Signed by another key that claims the IdP key's kid.
    ForeignKey,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    NoSubject,
    /// A token of the IdP that is down.
    FromDownIdp,
    /// Valid, plus these claims (a JSON object).
    With(&'static str),
    /// Valid, with `auth_time` this many seconds before now, and `acr`.
    AuthTime {
        ago: i64,
        acr: Option<&'static str>,
    },
}

/// The `Authorization` header(s).
#[derive(Debug, Clone, Copy)]
enum Authz {
    None,
    Bearer(Token),
    /// The scheme in lowercase.
    LowerBearer(Token),
    /// The bare token, without scheme.
    Bare(Token),
    Twice(Token),
    Basic,
}

/// The `x-sc-auth` header(s).
#[derive(Debug, Clone, Copy)]
enum Reg {
    None,
    Id(&'static str),
    Twice,
    /// 129 characters.
    TooLong,
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 200 with the example servers' `whoami` JSON.
    Whoami {
        property: Option<&'static str>,
        roles: &'static [&'static str],
    },
    /// 200 with exactly this JSON.
    Json(&'static str),
    /// A refusal with this code.
    Refused {
        code: &'static str,
        msg: &'static str,
        value: Option<&'static str>,
        param: &'static str,
        location: &'static str,
        /// The challenge's parameters after `error_description`, as sent.
        challenge: &'static str,
    },
}

struct Case {
    name: &'static str,
    path: &'static str,
    authz: Authz,
    reg: Reg,
    expect: Expect,
}

const fn refused(code: &'static str, msg: &'static str) -> Expect {
    refused_at(code, msg, None, "Authorization", "header")
}

const fn refused_at(
    code: &'static str,
    msg: &'static str,
    value: Option<&'static str>,
    param: &'static str,
    location: &'static str,
) -> Expect {
    Expect::Refused {
        code,
        msg,
        value,
        param,
        location,
        challenge: "",
    }
}

/// 403 `insufficient_scope` for the scope `read`.
const fn no_read_scope(msg: &'static str) -> Expect {
    Expect::Refused {
        code: "insufficient_scope",
        msg,
        value: Some("read"),
        param: "scope",
        location: "route",
        challenge: ", scope=\"read\"",
    }
}

/// 401 `insufficient_user_authentication` about `param`, with `challenge`.
const fn step_up(msg: &'static str, param: &'static str, challenge: &'static str) -> Expect {
    Expect::Refused {
        code: "insufficient_user_authentication",
        msg,
        value: None,
        param,
        location: "route",
        challenge,
    }
}

const WHOAMI: Expect = Expect::Whoami {
    property: None,
    roles: READER,
};
const ACR_NOT_LISTED: &str =
    "the token's `acr` is not one of the values the route accepts: `urn:mfa`, `urn:hwk`";
const TOO_OLD: &str = "the route requires an authentication at most 300 seconds ago, and the token's `auth_time` is older";
const NO_AUTH_TIME: &str = "the route requires an authentication at most 300 seconds ago, and the token has no `auth_time` claim";
const MFA_WITHIN_300: &str = ", acr_values=\"urn:mfa\", max_age=300";

const READER: &[&str] = &["reader"];
const ADMIN_READER: &[&str] = &["admin", "reader"];
const OK: Reg = Reg::Id("quid-1");
/// `audiences`, an issuer list and `required_claims` (see `apps.rs`).
const API: Reg = Reg::Id("quid-api");
const SCOPED: Expect = Expect::Json(r#"{"scoped":"alice"}"#);

const fn with(claims: &'static str) -> Authz {
    Authz::Bearer(Token::With(claims))
}

const fn authenticated(ago: i64, acr: Option<&'static str>) -> Authz {
    Authz::Bearer(Token::AuthTime { ago, acr })
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Happy paths, roles and properties.
    Case { name: "whoami", path: "/whoami", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: Expect::Whoami { property: None, roles: READER } },
    Case { name: "lowercase scheme", path: "/whoami", authz: Authz::LowerBearer(Token::Valid), reg: OK,
           expect: Expect::Whoami { property: None, roles: READER } },
    Case { name: "bare token", path: "/whoami", authz: Authz::Bare(Token::Valid), reg: OK,
           expect: Expect::Whoami { property: None, roles: READER } },
    Case { name: "property roles", path: "/properties/property-42/whoami", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: Expect::Whoami { property: Some("property-42"), roles: ADMIN_READER } },
    Case { name: "roles merge", path: "/properties/property-7/whoami", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: Expect::Whoami { property: Some("property-7"), roles: &["reader", "viewer"] } },
    Case { name: "admin", path: "/properties/property-42/admin", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: Expect::Whoami { property: Some("property-42"), roles: ADMIN_READER } },
    Case { name: "insufficient_role", path: "/properties/property-7/admin", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: refused_at("insufficient_role",
               "the route requires the role `admin`, which the application does not hold in property `property-7`",
               Some("admin"), "role", "route") },
    Case { name: "property_not_enabled", path: "/properties/property-9/whoami", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: refused_at("property_not_enabled", "the application is not enabled in this property",
               Some("property-9"), "property", "path") },
    Case { name: "property_not_enabled before role", path: "/properties/property-9/admin", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: refused_at("property_not_enabled", "the application is not enabled in this property",
               Some("property-9"), "property", "path") },
    // Request shape and presence.
    Case { name: "missing_token", path: "/whoami", authz: Authz::None, reg: Reg::None,
           expect: refused("missing_token", "no Authorization header") },
    Case { name: "missing_token on admin", path: "/properties/property-42/admin", authz: Authz::None, reg: Reg::None,
           expect: refused("missing_token", "no Authorization header") },
    Case { name: "missing_token with x-sc-auth", path: "/whoami", authz: Authz::None, reg: OK,
           expect: refused("missing_token", "no Authorization header") },
    Case { name: "missing_registration", path: "/whoami", authz: Authz::Bearer(Token::Valid), reg: Reg::None,
           expect: refused_at("missing_registration", "no x-sc-auth header", None, "x-sc-auth", "header") },
    Case { name: "duplicate Authorization", path: "/whoami", authz: Authz::Twice(Token::Valid), reg: OK,
           expect: refused("invalid_request", "duplicate authorization header") },
    Case { name: "duplicate x-sc-auth", path: "/whoami", authz: Authz::Bearer(Token::Valid), reg: Reg::Twice,
           expect: refused_at("invalid_request", "duplicate x-sc-auth header", None, "x-sc-auth", "header") },
    Case { name: "bad scheme", path: "/whoami", authz: Authz::Basic, reg: OK,
           expect: refused("invalid_request", "authorization header uses a scheme other than Bearer") },
    Case { name: "long registration id", path: "/whoami", authz: Authz::Bearer(Token::Valid), reg: Reg::TooLong,
           expect: refused_at("invalid_request", "x-sc-auth must be 1 to 128 characters long", None, "x-sc-auth", "header") },
    // Registration.
    Case { name: "unknown_registration", path: "/whoami", authz: Authz::Bearer(Token::Valid), reg: Reg::Id("quid-nope"),
           expect: refused_at("unknown_registration", "no registration with this id", Some("quid-nope"), "x-sc-auth", "header") },
    Case { name: "registration_disabled", path: "/whoami", authz: Authz::Bearer(Token::Valid), reg: Reg::Id("quid-off"),
           expect: refused_at("registration_disabled", "the registration is disabled", Some("quid-off"), "x-sc-auth", "header") },
    // Token.
    Case { name: "malformed_token", path: "/whoami", authz: Authz::Bearer(Token::NotAJwt), reg: OK,
           expect: refused("malformed_token", "a JWT has exactly three dot-separated parts") },
    Case { name: "alg none", path: "/whoami", authz: Authz::Bearer(Token::AlgNone), reg: OK,
           expect: refused("unsupported_algorithm", "alg `none` is never accepted") },
    Case { name: "alg HS256", path: "/whoami", authz: Authz::Bearer(Token::Hs256), reg: OK,
           expect: refused("unsupported_algorithm", "alg `HS256` is symmetric and never accepted from a key set") },
    Case { name: "unknown_key", path: "/whoami", authz: Authz::Bearer(Token::UnknownKid), reg: OK,
           expect: refused("unknown_key", "no key with kid `no-such-key` in the key set") },
    Case { name: "invalid_signature", path: "/whoami", authz: Authz::Bearer(Token::ForeignKey), reg: OK,
           expect: refused("invalid_signature", "the signature does not verify with the key") },
    Case { name: "token_expired", path: "/whoami", authz: Authz::Bearer(Token::Expired), reg: OK,
           expect: refused("token_expired", "exp 1000000000 is before now minus leeway") },
    Case { name: "token_not_yet_valid", path: "/whoami", authz: Authz::Bearer(Token::NotYetValid), reg: OK,
           expect: refused("token_not_yet_valid", "nbf 4000000000 is after now plus leeway") },
    Case { name: "invalid_issuer", path: "/whoami", authz: Authz::Bearer(Token::WrongIssuer), reg: OK,
           expect: refused("invalid_issuer", "iss `https://evil.example` is not the registration's issuer") },
    Case { name: "invalid_audience", path: "/whoami", authz: Authz::Bearer(Token::WrongAudience), reg: OK,
           expect: refused("invalid_audience", "aud does not name the registration's client") },
    Case { name: "invalid_claims", path: "/whoami", authz: Authz::Bearer(Token::NoSubject), reg: OK,
           expect: refused("invalid_claims", "the subject claim `sub` is missing") },
    Case { name: "idp_unavailable", path: "/whoami", authz: Authz::Bearer(Token::FromDownIdp), reg: Reg::Id("quid-down"),
           expect: refused("idp_unavailable", "the identity provider gave no usable answer") },
    // Typed extractors (routes of this test).
    Case { name: "typed claims", path: "/typed", authz: Authz::Bearer(Token::WithTenant), reg: OK,
           expect: Expect::Json(r#"{"tenant":"t-1"}"#) },
    Case { name: "typed claims missing", path: "/typed", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: refused("invalid_claims", "the claim `tenant` required by the handler is missing") },
    Case { name: "typed role", path: "/properties/property-42/typed-admin", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: Expect::Json(r#"{"admin":"alice"}"#) },
    Case { name: "typed role refused", path: "/properties/property-7/typed-admin", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: refused_at("insufficient_role",
               "the route requires the role `admin`, which the application does not hold in property `property-7`",
               Some("admin"), "role", "route") },
    Case { name: "optional anonymous", path: "/maybe", authz: Authz::None, reg: Reg::None,
           expect: Expect::Json(r#"{"anonymous":true}"#) },
    Case { name: "optional authenticated", path: "/maybe", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: Expect::Json(r#"{"registration":"quid-1","sub":"alice"}"#) },
    Case { name: "optional still verifies", path: "/maybe", authz: Authz::Bearer(Token::Expired), reg: OK,
           expect: refused("token_expired", "exp 1000000000 is before now minus leeway") },
    Case { name: "optional x-sc-auth alone", path: "/maybe", authz: Authz::None, reg: OK,
           expect: refused("missing_token", "no Authorization header") },
    // Access tokens for the platform's API (`quid-api`: `audiences`, an
    // issuer list, `required_claims`): the route answers `{"scoped":…}`.
    Case { name: "api audience, party azp", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "azp": "app-1", "email_verified": true, "tier": "gold", "groups": ["x", "staff"], "scope": "read"}"#), reg: API,
           expect: SCOPED },
    Case { name: "api audience, party client_id", path: "/typed/scope", authz: with(r#"{"aud": ["https://api.platform.example", "other"], "client_id": "app-1", "email_verified": true, "tier": "silver", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: SCOPED },
    Case { name: "api audience, party appid", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "appid": "app-1", "email_verified": true, "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: SCOPED },
    Case { name: "api audience, party cid", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "cid": "app-1", "email_verified": true, "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: SCOPED },
    Case { name: "api audience, wrong party", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "azp": "app-2", "email_verified": true, "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: refused("invalid_audience", "the authorized party (azp) is not the registration's client") },
    Case { name: "api audience, no party", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "email_verified": true, "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: refused("invalid_audience", "the token names no authorized party (azp, client_id, appid, cid)") },
    Case { name: "api missing from aud", path: "/typed/scope", authz: with(r#"{"azp": "app-1", "email_verified": true, "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: refused("invalid_audience", "aud does not name one of the registration's audiences") },
    Case { name: "issuer list, the other issuer", path: "/typed/scope", authz: with(r#"{"iss": "https://idp.old.example", "aud": "https://api.platform.example", "azp": "app-1", "email_verified": true, "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: SCOPED },
    Case { name: "issuer list, another issuer", path: "/typed/scope", authz: with(r#"{"iss": "https://idp.evil.example", "aud": "https://api.platform.example", "azp": "app-1", "email_verified": true, "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: refused("invalid_issuer", "iss `https://idp.evil.example` is not the registration's issuer") },
    Case { name: "required claim, wrong type", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "azp": "app-1", "email_verified": "true", "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: refused("invalid_claims", "the required claim `email_verified` does not have a required value") },
    Case { name: "required claim, none of the values", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "azp": "app-1", "email_verified": true, "tier": "bronze", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: refused("invalid_claims", "the required claim `tier` does not have a required value") },
    Case { name: "required claim, array contains none", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "azp": "app-1", "email_verified": true, "tier": "gold", "groups": ["x", "y"], "scope": "read"}"#), reg: API,
           expect: refused("invalid_claims", "the required claim `groups` does not have a required value") },
    Case { name: "required claim, missing", path: "/typed/scope", authz: with(r#"{"aud": "https://api.platform.example", "azp": "app-1", "tier": "gold", "groups": ["staff"], "scope": "read"}"#), reg: API,
           expect: refused("invalid_claims", "the required claim `email_verified` is missing") },
    Case { name: "cognito access token unchanged", path: "/typed/scope", authz: with(r#"{"token_use": "access", "client_id": "app-1", "scope": "read"}"#), reg: Reg::Id("quid-cognito"),
           expect: SCOPED },
    Case { name: "cognito access token, other client", path: "/typed/scope", authz: with(r#"{"token_use": "access", "client_id": "app-2", "scope": "read"}"#), reg: Reg::Id("quid-cognito"),
           expect: refused("invalid_audience", "client_id does not name the registration's client") },
    // OAuth scopes: `scope` and `scp`, a string (runs of spaces) or an array.
    Case { name: "scope string grants", path: "/scopes/read/whoami", authz: with(r#"{"scope": " openid  read\twrite "}"#), reg: OK,
           expect: WHOAMI },
    Case { name: "scp string grants", path: "/scopes/read/whoami", authz: with(r#"{"scp": "write read"}"#), reg: OK,
           expect: WHOAMI },
    Case { name: "scp array grants", path: "/scopes/read/whoami", authz: with(r#"{"scp": ["write", 7, null, "read"]}"#), reg: OK,
           expect: WHOAMI },
    Case { name: "scp grants when scope does not", path: "/scopes/read/whoami", authz: with(r#"{"scope": "write", "scp": ["read"]}"#), reg: OK,
           expect: WHOAMI },
    Case { name: "scope string lacks it", path: "/scopes/read/whoami", authz: with(r#"{"scope": "openid readonly"}"#), reg: OK,
           expect: no_read_scope("the route requires the scope `read`, which the token's `scope` claim does not grant") },
    Case { name: "scp string lacks it", path: "/scopes/read/whoami", authz: with(r#"{"scp": "read:all"}"#), reg: OK,
           expect: no_read_scope("the route requires the scope `read`, which the token's `scp` claim does not grant") },
    Case { name: "scp array lacks it", path: "/scopes/read/whoami", authz: with(r#"{"scp": ["write", ["read"], {"read": true}, "read write"]}"#), reg: OK,
           expect: no_read_scope("the route requires the scope `read`, which the token's `scp` claim does not grant") },
    Case { name: "both claims lack it", path: "/scopes/read/whoami", authz: with(r#"{"scope": "write", "scp": ["admin"]}"#), reg: OK,
           expect: no_read_scope("the route requires the scope `read`, which the token's `scope` and `scp` claims do not grant") },
    Case { name: "no scope claim", path: "/scopes/read/whoami", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: no_read_scope("the route requires the scope `read`, and the token has neither a `scope` nor an `scp` claim") },
    Case { name: "a role is no scope", path: "/scopes/reader/whoami", authz: with(r#"{"scope": "admin"}"#), reg: OK,
           expect: Expect::Refused { code: "insufficient_scope", value: Some("reader"), param: "scope", location: "route",
               msg: "the route requires the scope `reader`, which the token's `scope` claim does not grant",
               challenge: ", scope=\"reader\"" } },
    Case { name: "a scope is no role", path: "/properties/property-7/admin", authz: with(r#"{"scope": "admin", "scp": ["admin"]}"#), reg: OK,
           expect: refused_at("insufficient_role",
               "the route requires the role `admin`, which the application does not hold in property `property-7`",
               Some("admin"), "role", "route") },
    Case { name: "scope route authenticates first", path: "/scopes/read/whoami", authz: Authz::None, reg: Reg::None,
           expect: refused("missing_token", "no Authorization header") },
    Case { name: "scope layer", path: "/layer/scope", authz: with(r#"{"scp": ["read"]}"#), reg: OK,
           expect: WHOAMI },
    Case { name: "scope layer refuses", path: "/layer/scope", authz: with(r#"{"scp": ["write"]}"#), reg: OK,
           expect: no_read_scope("the route requires the scope `read`, which the token's `scp` claim does not grant") },
    Case { name: "typed scope", path: "/typed/scope", authz: with(r#"{"scope": "read"}"#), reg: OK,
           expect: Expect::Json(r#"{"scoped":"alice"}"#) },
    Case { name: "typed scope refuses", path: "/typed/scope", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: no_read_scope("the route requires the scope `read`, and the token has neither a `scope` nor an `scp` claim") },
    // Step-up (RFC 9470): `acr` among the listed values, `auth_time` recent.
    Case { name: "acr listed", path: "/step-up/whoami?acr=urn:mfa,urn:hwk", authz: with(r#"{"acr": "urn:hwk"}"#), reg: OK,
           expect: WHOAMI },
    Case { name: "acr listed, percent-encoded", path: "/step-up/whoami?acr=urn%3Amfa,urn:hwk&other=x", authz: with(r#"{"acr": "urn:mfa"}"#), reg: OK,
           expect: WHOAMI },
    Case { name: "acr not listed", path: "/step-up/whoami?acr=urn:mfa,urn:hwk", authz: with(r#"{"acr": "urn:pwd"}"#), reg: OK,
           expect: step_up(ACR_NOT_LISTED, "acr", ", acr_values=\"urn:mfa urn:hwk\"") },
    Case { name: "acr absent", path: "/step-up/whoami?acr=urn:mfa,urn:hwk", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: step_up("the route accepts only the `acr` values `urn:mfa`, `urn:hwk`, and the token has no `acr` claim",
               "acr", ", acr_values=\"urn:mfa urn:hwk\"") },
    Case { name: "acr not a string", path: "/step-up/whoami?acr=urn:mfa,urn:hwk", authz: with(r#"{"acr": ["urn:mfa"]}"#), reg: OK,
           expect: step_up("the token's `acr` claim is not a string", "acr", ", acr_values=\"urn:mfa urn:hwk\"") },
    Case { name: "max_age recent", path: "/step-up/whoami?max_age=300", authz: authenticated(10, None), reg: OK,
           expect: WHOAMI },
    Case { name: "max_age too old", path: "/step-up/whoami?max_age=300", authz: authenticated(900, None), reg: OK,
           expect: step_up(TOO_OLD, "max_age", ", max_age=300") },
    Case { name: "max_age without auth_time", path: "/step-up/whoami?max_age=300", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: step_up(NO_AUTH_TIME, "max_age", ", max_age=300") },
    Case { name: "acr and max_age met", path: "/step-up/whoami?acr=urn:mfa&max_age=300", authz: authenticated(10, Some("urn:mfa")), reg: OK,
           expect: WHOAMI },
    Case { name: "acr met, too old", path: "/step-up/whoami?max_age=300&acr=urn:mfa", authz: authenticated(900, Some("urn:mfa")), reg: OK,
           expect: step_up(TOO_OLD, "max_age", MFA_WITHIN_300) },
    Case { name: "recent, acr not listed", path: "/step-up/whoami?acr=urn:mfa&max_age=300", authz: authenticated(10, Some("urn:pwd")), reg: OK,
           expect: step_up("the token's `acr` is not one of the values the route accepts: `urn:mfa`", "acr", MFA_WITHIN_300) },
    Case { name: "no step-up asked", path: "/step-up/whoami", authz: Authz::Bearer(Token::Valid), reg: OK,
           expect: WHOAMI },
    Case { name: "malformed max_age", path: "/step-up/whoami?max_age=5m", authz: authenticated(10, None), reg: OK,
           expect: refused_at("invalid_request", "the query parameter `max_age` is not a whole number of seconds",
               None, "max_age", "query") },
    Case { name: "repeated max_age", path: "/step-up/whoami?max_age=300&max_age=300", authz: authenticated(10, None), reg: OK,
           expect: refused_at("invalid_request", "the query parameter `max_age` is given more than once",
               None, "max_age", "query") },
    Case { name: "malformed acr", path: "/step-up/whoami?acr=urn:mfa,,urn:hwk", authz: with(r#"{"acr": "urn:mfa"}"#), reg: OK,
           expect: refused_at("invalid_request", "the query parameter `acr` is not a comma-separated list of acr values",
               None, "acr", "query") },
    Case { name: "step-up route authenticates first", path: "/step-up/whoami?max_age=x", authz: Authz::None, reg: Reg::None,
           expect: refused("missing_token", "no Authorization header") },
    Case { name: "step-up layer", path: "/layer/step-up", authz: authenticated(10, Some("urn:mfa")), reg: OK,
           expect: WHOAMI },
    Case { name: "step-up layer refuses", path: "/layer/step-up", authz: authenticated(900, Some("urn:mfa")), reg: OK,
           expect: step_up(TOO_OLD, "max_age", MFA_WITHIN_300) },
    Case { name: "typed step-up", path: "/typed/step-up", authz: authenticated(240, Some("urn:mfa")), reg: OK,
           expect: Expect::Json(r#"{"stepped_up":"alice"}"#) },
    Case { name: "typed step-up refuses", path: "/typed/step-up", authz: with(r#"{"acr": "urn:mfa"}"#), reg: OK,
           expect: step_up(NO_AUTH_TIME, "max_age", MFA_WITHIN_300) },
];

/// The status and `error=` of each code (`docs/refusals.md`), written out
/// here independently of the core.
fn contract(code: &str) -> (u16, Option<&'static str>) {
    match code {
        "missing_token" => (401, None),
        "missing_registration" => (401, Some("invalid_request")),
        "invalid_request" => (400, Some("invalid_request")),
        "registration_disabled" | "property_not_enabled" => (403, None),
        "insufficient_role" | "insufficient_scope" => (403, Some("insufficient_scope")),
        "insufficient_user_authentication" => (401, Some("insufficient_user_authentication")),
        "idp_unavailable" => (503, None),
        "malformed_token"
        | "unknown_registration"
        | "unsupported_algorithm"
        | "unknown_key"
        | "invalid_signature"
        | "token_expired"
        | "token_not_yet_valid"
        | "invalid_issuer"
        | "invalid_audience"
        | "invalid_claims" => (401, Some("invalid_token")),
        other => panic!("code {other} is not in this table"),
    }
}

fn error_code(code: &str) -> ErrorCode {
    use ErrorCode::*;
    [
        MissingToken,
        MissingRegistration,
        InvalidRequest,
        MalformedToken,
        UnknownRegistration,
        RegistrationDisabled,
        UnsupportedAlgorithm,
        UnknownKey,
        InvalidSignature,
        TokenExpired,
        TokenNotYetValid,
        InvalidIssuer,
        InvalidAudience,
        InvalidClaims,
        PropertyNotEnabled,
        InsufficientRole,
        InsufficientScope,
        InsufficientUserAuthentication,
        IdpUnavailable,
    ]
    .into_iter()
    .find(|c| c.as_str() == code)
    .unwrap_or_else(|| panic!("unknown code {code}"))
}

/// What one server answered.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    /// Every header but `date`, sorted.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let first = values.next().map(|(_, v)| v.as_str());
        assert!(
            values.next().is_none(),
            "one {name} header at most: {:?}",
            self.headers
        );
        first
    }
}

async fn send(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
) -> Answer {
    let mut req = client.get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let mut headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    Answer {
        status,
        headers,
        body: resp.text().await.unwrap(),
    }
}

fn check(case: &Case, framework: &str, answer: &Answer, status: u16, body: &Value) {
    let at = format!("case `{}` on {framework}", case.name);
    assert_eq!(answer.status, status, "{at}: status; body {}", answer.body);
    let got: Value = serde_json::from_str(&answer.body)
        .unwrap_or_else(|e| panic!("{at}: body is not JSON ({e}): {}", answer.body));
    assert_eq!(&got, body, "{at}: body");
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{at}: Content-Type"
    );
    assert_eq!(
        answer.header("content-length"),
        Some(answer.body.len().to_string().as_str()),
        "{at}: Content-Length"
    );
    let (www, retry) = match case.expect {
        Expect::Refused {
            code, challenge, ..
        } => {
            let (status, bearer_error) = contract(code);
            let www = matches!(status, 401 | 403).then(|| {
                let mut v = "Bearer realm=\"fedauth\"".to_owned();
                if let Some(e) = bearer_error {
                    v += &format!(", error=\"{e}\"");
                }
                if code != "missing_token" {
                    v += &format!(", error_description=\"{}\"", error_code(code).message());
                }
                v + challenge
            });
            (www, (status == 503).then_some("5"))
        }
        _ => (None, None),
    };
    assert_eq!(
        answer.header("www-authenticate"),
        www.as_deref(),
        "{at}: WWW-Authenticate"
    );
    assert_eq!(answer.header("retry-after"), retry, "{at}: Retry-After");
    let known = [
        "content-length",
        "content-type",
        "retry-after",
        "www-authenticate",
    ];
    assert!(
        answer
            .headers
            .iter()
            .all(|(n, _)| known.contains(&n.as_str())),
        "{at}: unexpected headers {:?}",
        answer.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_behaviour_table_for_axum_and_actix() {
    let fx = Fixture::start().await;
    let mut codes = std::collections::BTreeSet::new();
    for case in CASES {
        let (headers, claims) = fx.headers(case);
        let (status, body) = fx.expected(case, claims);
        let axum = send(&fx.client, fx.axum, case.path, &headers).await;
        let actix = send(&fx.client, fx.actix, case.path, &headers).await;
        check(case, "axum", &axum, status, &body);
        check(case, "actix", &actix, status, &body);
        assert_eq!(
            axum, actix,
            "case `{}`: axum and actix answers differ",
            case.name
        );
        if let Expect::Refused { code, .. } = case.expect {
            codes.insert(code);
        }
    }
    // Every errors.md row a request can reach with these registrations.
    let reachable = [
        "missing_token",
        "missing_registration",
        "invalid_request",
        "malformed_token",
        "unknown_registration",
        "registration_disabled",
        "unsupported_algorithm",
        "unknown_key",
        "invalid_signature",
        "token_expired",
        "token_not_yet_valid",
        "invalid_issuer",
        "invalid_audience",
        "invalid_claims",
        "property_not_enabled",
        "insufficient_role",
        "insufficient_scope",
        "insufficient_user_authentication",
        "idp_unavailable",
    ];
    assert_eq!(codes.into_iter().collect::<Vec<_>>(), {
        let mut r = reachable.to_vec();
        r.sort();
        r
    });
    fx.actix_server.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_routes_answer_alike() {
    let fx = Fixture::start().await;
    for (path, status, body, content_type) in [
        ("/health", 200, "ok", "text/plain; charset=utf-8"),
        ("/ready", 503, "warming up", "text/plain; charset=utf-8"),
        (
            "/metrics",
            200,
            "",
            "text/plain; version=0.0.4; charset=utf-8",
        ),
    ] {
        let axum = send(&fx.client, fx.axum, path, &[]).await;
        let actix = send(&fx.client, fx.actix, path, &[]).await;
        for answer in [&axum, &actix] {
            assert_eq!(answer.status, status, "{path}");
            assert_eq!(answer.body, body, "{path}");
            assert_eq!(answer.header("content-type"), Some(content_type), "{path}");
        }
        assert_eq!(axum, actix, "{path}");
    }
    fx.actix_server.stop(true).await;
}
