//! The sender constraint against a real mock IdP, through
//! `Authenticator::authenticate`: every check of RFC 9449 §4.3 one by one,
//! the nonces, the registration's modes, certificate-bound tokens,
//! introspection answers with `cnf`, and cache hits that still check each
//! proof. Each refusal is asserted with its status, code and every
//! `WWW-Authenticate` value; the parts (replay cache, nonces, `htu`,
//! certificate headers) have tests of their own (`parts`).

mod caches;
mod dpop;
mod modes;
mod mtls;
mod parts;

use http::Request;

use crate::binding::{ClientCertSource, DpopConfig, PeerCertificate};
use crate::jws::Algorithm;
use crate::registration::{Provider, Registration, RegistrationBuilder};
use crate::registry::InMemoryRegistry;
use crate::testkit::{DpopKey, DpopProof, MockIdp};
use crate::{AuthContext, AuthError, Authenticator, ErrorCode, Immediate};

/// The public URL the authenticators are configured with.
const PUBLIC: &str = "https://api.example.com";

/// The URL of the requests' path under it.
const HTU: &str = "https://api.example.com/whoami";

/// The `algs` of the `DPoP` challenge by default.
const ALGS: &str = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA";

/// The challenge of an `invalid_dpop_proof` refusal.
fn dpop_challenge(error: &str, description: &str) -> String {
    format!(
        "DPoP realm=\"fedauth\", algs=\"{ALGS}\", error=\"{error}\", error_description=\"{description}\""
    )
}

const BAD_PROOF: &str = "The DPoP proof is missing or invalid.";
const BINDING: &str = "The token is bound to a key or certificate the request does not prove.";
const BEARER: &str = "Bearer realm=\"fedauth\"";

/// The challenges of an `invalid_dpop_proof` refusal where bearer tokens
/// are accepted too.
fn bad_proof() -> Vec<String> {
    vec![
        dpop_challenge("invalid_dpop_proof", BAD_PROOF),
        BEARER.into(),
    ]
}

/// The challenges of an `invalid_token_binding` refusal with the `DPoP`
/// scheme, where bearer tokens are accepted too.
fn dpop_binding() -> Vec<String> {
    vec![dpop_challenge("invalid_token", BINDING), BEARER.into()]
}

/// The challenge of an `invalid_token_binding` refusal with the Bearer
/// scheme.
fn bearer_binding() -> Vec<String> {
    vec![format!(
        "Bearer realm=\"fedauth\", error=\"invalid_token\", error_description=\"{BINDING}\""
    )]
}

/// A `jwks` registration at `idp`, changed by `more`.
fn reg(
    idp: &MockIdp,
    id: &str,
    more: impl FnOnce(RegistrationBuilder) -> RegistrationBuilder,
) -> Registration {
    let builder = Registration::builder(id, Provider::Jwks)
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri());
    more(builder).build().unwrap()
}

/// An authenticator over `regs` with `dpop` and `certs`.
fn authenticator(
    regs: Vec<Registration>,
    dpop: DpopConfig,
    certs: ClientCertSource,
) -> Authenticator {
    Authenticator::builder(InMemoryRegistry::new(regs).unwrap())
        .egress(crate::testkit::local_egress())
        .dpop(dpop)
        .client_certificate(certs)
        .build()
}

/// The default setup: `quid-1` (everything default) at a mock IdP, the
/// public URL [`PUBLIC`], and a client's ES256 key.
struct Fx {
    idp: MockIdp,
    auth: Authenticator,
    key: DpopKey,
}

impl Fx {
    async fn start() -> Self {
        Self::with(|_| Vec::new(), DpopConfig::default()).await
    }

    /// With more registrations at the IdP, and `dpop` (its public URL set).
    async fn with(more: impl FnOnce(&MockIdp) -> Vec<Registration>, dpop: DpopConfig) -> Self {
        let idp = MockIdp::start().await;
        let mut regs = vec![reg(&idp, "quid-1", |b| b)];
        regs.extend(more(&idp));
        let dpop = dpop.public_url(PUBLIC.parse().unwrap());
        let auth = authenticator(regs, dpop, ClientCertSource::Connection);
        Self {
            idp,
            auth,
            key: DpopKey::generate(Algorithm::ES256),
        }
    }

    /// A token of the IdP bound to `key`.
    fn bound_to(&self, key: &DpopKey) -> String {
        let n = crate::testkit::token::random_id();
        self.idp
            .token()
            .claim("jti", n)
            .dpop_bound(key)
            .sign(&self.idp.signing_key())
    }

    /// A token bound to the fixture's key.
    fn bound(&self) -> String {
        self.bound_to(&self.key)
    }

    /// A valid proof of the fixture's key for `GET /whoami` with `token`.
    fn proof(&self, token: &str) -> DpopProof {
        DpopProof::new(&self.key).htu(HTU).ath_for(token)
    }
}

/// A request to the authenticator.
#[derive(Clone, Default)]
struct Req {
    method: Option<&'static str>,
    path: Option<&'static str>,
    authorization: Option<String>,
    registration: Option<&'static str>,
    proofs: Vec<String>,
    cert: Option<Vec<u8>>,
    headers: Vec<(&'static str, String)>,
}

impl Req {
    /// `GET /whoami` for `quid-1` with `DPoP <token>` and `proof`.
    fn dpop(token: &str, proof: &DpopProof) -> Self {
        Self {
            authorization: Some(format!("DPoP {token}")),
            proofs: vec![proof.sign()],
            ..Self::default()
        }
    }

    /// `GET /whoami` for `quid-1` with `Bearer <token>`.
    fn bearer(token: &str) -> Self {
        Self {
            authorization: Some(format!("Bearer {token}")),
            ..Self::default()
        }
    }

    fn to(mut self, registration: &'static str) -> Self {
        self.registration = Some(registration);
        self
    }

    fn build(&self) -> Request<()> {
        let mut b = Request::builder()
            .method(self.method.unwrap_or("GET"))
            .uri(self.path.unwrap_or("/whoami"))
            .header("host", "internal:8080")
            .header("x-sc-auth", self.registration.unwrap_or("quid-1"));
        if let Some(authorization) = &self.authorization {
            b = b.header("authorization", authorization);
        }
        for proof in &self.proofs {
            b = b.header("dpop", proof);
        }
        for (name, value) in &self.headers {
            b = b.header(*name, value);
        }
        let mut req = b.body(()).unwrap();
        if let Some(der) = &self.cert {
            req.extensions_mut()
                .insert(PeerCertificate(der.clone().into()));
        }
        req
    }

    async fn send(&self, auth: &Authenticator) -> Result<AuthContext, AuthError> {
        auth.authenticate(&self.build()).await
    }

    /// Answered from the caches at once (`None`: the decision waits).
    fn now(&self, auth: &Authenticator) -> Option<Result<AuthContext, AuthError>> {
        match auth.authenticate_now(&self.build()) {
            Err(e) => Some(Err(e)),
            Ok(Immediate::Accepted(ctx)) => Some(Ok(ctx)),
            Ok(_) => None,
        }
    }
}

/// Every `WWW-Authenticate` value of the refusal as rendered.
fn challenges(auth: &Authenticator, error: &AuthError) -> Vec<String> {
    auth.render(error)
        .headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The refusal of `outcome`: its code, status, challenges and detail.
#[track_caller]
fn assert_refused(
    auth: &Authenticator,
    outcome: Result<AuthContext, AuthError>,
    code: ErrorCode,
    expected: &[String],
    detail: &str,
) -> AuthError {
    let error = outcome.expect_err("refused");
    assert_eq!(error.code(), code, "{error:?}");
    assert_eq!(auth.render(&error).status, code.status(), "{error:?}");
    assert_eq!(challenges(auth, &error), expected, "{error:?}");
    assert_eq!(error.detail(), detail);
    error
}

/// The refusal of the `DPoP` scheme with a token that is not DPoP-bound.
#[track_caller]
fn assert_unbound_dpop_refused(auth: &Authenticator, outcome: Result<AuthContext, AuthError>) {
    assert_refused(
        auth,
        outcome,
        ErrorCode::InvalidTokenBinding,
        &dpop_binding(),
        "the DPoP scheme with a token that is not DPoP-bound (no cnf.jkt)",
    );
}

/// The subject of an accepted request.
#[track_caller]
fn assert_accepted(outcome: Result<AuthContext, AuthError>) -> AuthContext {
    let ctx = outcome.unwrap_or_else(|e| panic!("refused: {e:?}"));
    assert_eq!(ctx.subject(), "alice");
    ctx
}
