//! `fedauth explain`: run the real verification of one token and print
//! each check, in the order the authenticator runs them, with pass or fail.
//!
//! The verification is the library's own: the refusal code tells which
//! check failed, every check before it passed, the ones after were not
//! reached. What is shown of the token is its header and a few claims
//! (never its signature); nothing of the registration's secrets.
//!
//! With `--dpop`, `--method`, `--url` and `--client-cert` the request is
//! a sender-constrained one, and the sender-constraint step shows each of
//! its checks ([`binding`]).

mod binding;

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{Map, Value};
use tower_fedauth::adapter::Requirement;
use tower_fedauth::binding::{DpopConfig, PeerCertificate};
use tower_fedauth::egress::EgressPolicy;
use tower_fedauth::registry::FileRegistry;
use tower_fedauth::{AuthContext, AuthError, Authenticator, Check, PropertyResolver, Registration};

use crate::args::{Args, UsageError};

pub const HELP: &str = "\
fedauth explain: why is this token accepted or refused?

Usage:
  fedauth explain --registry FILE --registration ID --token TOKEN [options]

Runs the real verification (the registry file's registration, its identity
provider's keys fetched over the network) and prints each check with PASS
or FAIL: header, registration, token structure, algorithm, key, signature,
token kind, issuer, audience, time, claims, user directory, property and
roles; then the final HTTP status and refusal code. The token's header and
main claims are shown; its signature and the registration's secrets never.
A DPoP proof or a client certificate adds each sender-constraint check:
proof header, signature, htm, htu, iat, ath, nonce, the proof's key against
the token's cnf.jkt, jti; the certificate against cnf x5t#S256.

Options:
  --registry FILE       the registry file (.toml or .json)
  --registration ID     the x-sc-auth value
  --token TOKEN         the Authorization value (`-`: read it from stdin;
                        prefer that: command lines are visible to others)
  --token-file PATH     read the token from a file instead
  --property ID         the property the request is for
  --scope SCOPE         a route's required OAuth scope (repeatable): checked
                        in the token's scope / scp claims after the rest
  --dpop PROOF          the request's DPoP header (repeatable); a token
                        without a scheme is then sent as `DPoP <token>`
  --method METHOD       the request's method (default GET): a proof's htm
  --url URL             the URL the request was sent to, as the server's
                        public URL plus the path: a proof's htu (required
                        with --dpop)
  --client-cert FILE    the client certificate (PEM or DER) the connection
                        presented, for certificate-bound tokens
  --allow-http          accept http:// IdP URLs (local IdPs)
  --allow-network CIDR  also fetch from this network or exact host name
                        (repeatable); by default only public unicast
                        addresses are fetched, as the servers do

Exit status: 0 accepted; 1 refused or the registry file is bad; 2 usage
error.
";

const PROPERTY_HEADER: &str = "x-fedauth-property";

struct Input {
    registry: String,
    registration: String,
    token: String,
    property: Option<String>,
    egress: EgressPolicy,
    scopes: Vec<String>,
    proofs: Vec<String>,
    method: http::Method,
    url: Option<url::Url>,
    /// The client certificate, DER.
    client_cert: Option<Vec<u8>>,
}

fn read_token(args: &mut Args) -> Result<String, UsageError> {
    let token = match (args.option("token")?, args.option("token-file")?) {
        (Some(_), Some(_)) => {
            return Err(UsageError("give --token or --token-file, not both".into()));
        }
        (None, None) => return Err(UsageError("--token (or --token-file) is required".into())),
        (Some(t), None) if t == "-" => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| UsageError(format!("cannot read the token from stdin: {e}")))?;
            s
        }
        (Some(t), None) => t,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| UsageError(format!("--token-file {path}: {e}")))?,
    };
    Ok(token.trim().to_owned())
}

/// `--allow-http` and every `--allow-network`.
fn egress(args: &mut Args) -> Result<EgressPolicy, UsageError> {
    let mut policy = EgressPolicy::new().allow_http(args.flag("allow-http"));
    for entry in args.options("allow-network")? {
        policy = policy
            .allow(&entry)
            .map_err(|e| UsageError(format!("--allow-network: {e}")))?;
    }
    Ok(policy)
}

/// `--url`: an absolute http(s) URL without fragment.
fn request_url(args: &mut Args) -> Result<Option<url::Url>, UsageError> {
    let Some(text) = args.option("url")? else {
        return Ok(None);
    };
    match url::Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(Some(url)),
        _ => Err(UsageError(format!("--url: {text:?} is not an http(s) URL"))),
    }
}

/// `--client-cert FILE`: the DER of the first certificate of a PEM file, or
/// the file as it is when it is not PEM.
fn client_cert(args: &mut Args) -> Result<Option<Vec<u8>>, UsageError> {
    let Some(path) = args.option("client-cert")? else {
        return Ok(None);
    };
    let bytes =
        std::fs::read(&path).map_err(|e| UsageError(format!("--client-cert {path}: {e}")))?;
    let text = String::from_utf8_lossy(&bytes);
    let Some((_, rest)) = text.split_once("-----BEGIN CERTIFICATE-----") else {
        return Ok(Some(bytes));
    };
    let body: String = rest
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map(Some)
        .map_err(|_| UsageError(format!("--client-cert {path}: the PEM is not base64")))
}

pub fn run(mut args: Args) -> Result<ExitCode, UsageError> {
    if args.wants_help() {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let input = Input {
        registry: args.required("registry")?,
        registration: args.required("registration")?,
        token: read_token(&mut args)?,
        property: args.option("property")?,
        egress: egress(&mut args)?,
        scopes: args.options("scope")?,
        proofs: args.options("dpop")?,
        method: match args.option("method")? {
            None => http::Method::GET,
            Some(m) => http::Method::from_bytes(m.as_bytes())
                .map_err(|_| UsageError(format!("--method: {m:?} is not an HTTP method")))?,
        },
        url: request_url(&mut args)?,
        client_cert: client_cert(&mut args)?,
    };
    if !input.proofs.is_empty() && input.url.is_none() {
        return Err(UsageError(
            "--dpop needs --url: the URL the request was sent to, which the proof's htu must name"
                .into(),
        ));
    }
    args.positionals().and_then(|rest| match rest.first() {
        Some(extra) => Err(UsageError(format!("unexpected argument {extra:?}"))),
        None => Ok(()),
    })?;
    let registry = match FileRegistry::load(&input.registry) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    Ok(crate::runtime().block_on(explain(&input, registry)))
}

async fn explain(input: &Input, registry: Arc<FileRegistry>) -> ExitCode {
    let registration = registry.registrations().get(&input.registration);
    let mut builder = Authenticator::builder_arc(registry).egress(input.egress.clone());
    if let Some(url) = &input.url {
        // The server's public URL is the origin: the path is the request's.
        let origin = url::Url::parse(&url.origin().ascii_serialization()).ok();
        builder = builder
            .dpop(origin.map_or_else(DpopConfig::default, |o| DpopConfig::default().public_url(o)));
    }
    if input.property.is_some() {
        builder = builder.property(PropertyResolver::Header(http::HeaderName::from_static(
            PROPERTY_HEADER,
        )));
    }
    let auth = builder.build();
    let scheme_given = input.token.contains(' ');
    let authorization = match input.proofs.is_empty() || scheme_given {
        true => input.token.clone(),
        false => format!("DPoP {}", input.token),
    };
    let mut request = http::Request::builder()
        .method(input.method.clone())
        .uri(input.url.as_ref().map_or("/", url::Url::as_str))
        .header(http::header::AUTHORIZATION, &authorization)
        .header("x-sc-auth", &input.registration);
    if let Some(property) = &input.property {
        request = request.header(PROPERTY_HEADER, property);
    }
    for proof in &input.proofs {
        request = request.header("dpop", proof);
    }
    let request = match request.body(()) {
        Ok(mut r) => {
            if let Some(der) = &input.client_cert {
                r.extensions_mut()
                    .insert(PeerCertificate(bytes::Bytes::from(der.clone())));
            }
            r
        }
        Err(_) => {
            println!(
                "FAIL  header          a header value is not valid in HTTP (control characters?)"
            );
            println!("\nresult: refused, HTTP 400, code invalid_request");
            return ExitCode::FAILURE;
        }
    };

    let (scheme, bare) = authorization
        .split_once(' ')
        .map_or(("", authorization.as_str()), |(s, t)| (s, t.trim()));
    let presented = binding::Presented {
        dpop: scheme.eq_ignore_ascii_case("dpop"),
        proofs: &input.proofs,
        method: input.method.as_str(),
        url: input.url.as_ref().map(url::Url::as_str),
        cert: input.client_cert.as_deref(),
    };
    let (header, claims) = decode(bare);
    println!(
        "registration {} in {}",
        shown(&input.registration),
        input.registry
    );
    describe_token(&header, &claims);
    println!();

    let outcome = auth.authenticate(&request).await;
    let failed_at = outcome.as_ref().err().map(AuthError::check);
    // A broken DPoP proof is refused before the token is read.
    let early = outcome.as_ref().err().is_some_and(binding::refused_early);
    for check in Check::ALL {
        let name = check.name();
        let line = match failed_at {
            _ if early && check > Check::Registration && check < Check::SenderConstraint => {
                format!(" --   {name:<15} not reached (the DPoP proof was refused first)")
            }
            Some(at) if check == at => {
                let e = outcome
                    .as_ref()
                    .err()
                    .map(|e| format!("{}: {}", e.code(), e.detail()));
                format!("FAIL  {name:<15} {}", e.unwrap_or_default())
            }
            Some(at) if check > at => format!(" --   {name:<15} not reached"),
            _ if check == Check::SenderConstraint => {
                format!("PASS  {name:<15} {}", binding::summary(&presented, &claims))
            }
            _ => format!(
                "PASS  {name:<15} {}",
                passed(
                    check,
                    registration.as_deref(),
                    &header,
                    &claims,
                    outcome.as_ref().ok()
                )
            ),
        };
        println!("{line}");
        if check == Check::SenderConstraint && failed_at.is_none_or(|at| at >= check) {
            binding::print_steps(
                &presented,
                registration.as_deref(),
                &claims,
                outcome.as_ref().err(),
            );
        }
    }
    let outcome = outcome.and_then(|ctx| route_scopes(&input.scopes, ctx));
    println!();
    match outcome {
        Ok(ctx) => {
            println!(
                "result: accepted, subject {}, roles [{}]",
                shown(ctx.subject()),
                ctx.roles().iter().collect::<Vec<_>>().join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!(
                "result: refused, HTTP {}, code {} ({})",
                e.status().as_u16(),
                e.code(),
                e.code().message()
            );
            ExitCode::FAILURE
        }
    }
}

/// The header and payload of a compact JWS, if they decode; never the
/// signature.
fn decode(token: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut parts = token.split('.');
    let mut part = || {
        parts
            .next()
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p.trim_end_matches('='))
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
            .unwrap_or_default()
    };
    (part(), part())
}

/// A value for display: printable ASCII, bounded.
fn shown(s: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(120)
        .collect();
    if s.chars().count() > 120 {
        out.push('…');
    }
    out
}

fn value(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).map(|v| match v {
        Value::String(s) => shown(s),
        other => shown(&other.to_string()),
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn describe_token(header: &Map<String, Value>, claims: &Map<String, Value>) {
    if header.is_empty() {
        println!("token: not a JWT with a readable header (an opaque token?)");
        return;
    }
    let list = |map: &Map<String, Value>, keys: &[&str]| {
        keys.iter()
            .filter_map(|k| value(map, k).map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "token header (unverified): {}",
        list(header, &["alg", "kid", "typ"])
    );
    println!(
        "token claims (unverified): {}",
        list(
            claims,
            &[
                "iss",
                "sub",
                "aud",
                "azp",
                "client_id",
                "token_use",
                "tid",
                "ver",
                "cnf"
            ]
        )
    );
    let t = now();
    for key in ["exp", "nbf", "iat"] {
        if let Some(at) = claims.get(key).and_then(Value::as_i64) {
            let when = if at >= t {
                format!("in {} s", at - t)
            } else {
                format!("{} s ago", t - at)
            };
            println!("token {key}: {at} ({when})");
        }
    }
}

/// The route's scopes, after the decision: a line each; the first missing
/// one refuses.
fn route_scopes(scopes: &[String], ctx: AuthContext) -> Result<AuthContext, AuthError> {
    for scope in scopes {
        match Requirement::scope(scope.as_str()).check(&ctx) {
            Ok(()) => println!("PASS  {:<15} {} granted", "scope", shown(scope)),
            Err(e) => {
                println!("FAIL  {:<15} {}: {}", "scope", e.code(), e.detail());
                return Err(e);
            }
        }
    }
    Ok(ctx)
}

/// Which audience and authorized party a token that passed the audience
/// check named.
fn audience_matched(reg: &Registration, claims: &Map<String, Value>) -> String {
    let client = reg.client_id().map(shown).unwrap_or_else(|| "-".into());
    let names = |want: &str| match claims.get("aud") {
        Some(Value::String(a)) => a == want,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(want)),
        _ => false,
    };
    let party = reg
        .authorized_party_claims
        .iter()
        .find(|c| claims.contains_key(c.as_str()))
        .map(|c| format!("; authorized party `{c}` is the client {client}"))
        .unwrap_or_default();
    match reg.audiences.iter().find(|a| names(a)) {
        Some(api) => format!("names the API {}{party}", shown(api)),
        None => format!("names client {client}{party}"),
    }
}

/// What a passed check established.
fn passed(
    check: Check,
    reg: Option<&Registration>,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    ctx: Option<&AuthContext>,
) -> String {
    let none = || "-".to_owned();
    match check {
        Check::Request => "Authorization and x-sc-auth are well-formed".into(),
        Check::Registration => reg.map_or_else(none, |r| {
            format!(
                "{}: provider {}, client {}, enabled",
                r.id,
                r.provider,
                r.client_id().map(shown).unwrap_or_else(none)
            )
        }),
        Check::Structure => "three base64url parts, JSON header and payload".into(),
        Check::Algorithm => format!(
            "{} is allowed ({})",
            value(header, "alg").unwrap_or_else(none),
            reg.map(|r| r
                .algorithms
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", "))
                .unwrap_or_default()
        ),
        Check::Key => format!(
            "key {} found",
            value(header, "kid").map_or("(no kid: the only candidate)".into(), |k| format!(
                "kid {k}"
            ))
        ),
        Check::Signature => "verifies".into(),
        Check::TokenKind => format!(
            "accepted kind: {}",
            reg.map_or_else(none, |r| r.token_use.to_string())
        ),
        Check::Issuer => {
            value(claims, "iss").unwrap_or_else(|| "not checked for this registration".into())
        }
        Check::Audience => reg.map_or_else(none, |r| audience_matched(r, claims)),
        Check::Time => "within exp / nbf / iat, with leeway".into(),
        Check::Claims => {
            let required: Vec<&str> = reg
                .map(|r| r.required_claims.iter().map(|(name, _)| name).collect())
                .unwrap_or_default();
            let met = match required.is_empty() {
                true => String::new(),
                false => format!("; required claims met: {}", required.join(", ")),
            };
            format!(
                "subject {}{met}",
                ctx.map(|c| shown(c.subject())).unwrap_or_else(none)
            )
        }
        Check::User => match ctx.and_then(|c| c.user()) {
            Some(user) => format!("known user {}", shown(&user.id)),
            None => "no user directory configured".into(),
        },
        Check::Property => match ctx {
            Some(c) => format!(
                "property {}, roles [{}]",
                c.property().map(shown).unwrap_or_else(|| "(none)".into()),
                c.roles().iter().collect::<Vec<_>>().join(", ")
            ),
            None => none(),
        },
        _ => none(),
    }
}
