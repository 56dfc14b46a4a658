//! The order of checks: one list, shared by the decision, its refusals and
//! `fedauth explain`. When several checks would fail, the first in this
//! order is the one reported, so the same request always gets the same
//! answer; no claim is read for a decision before [`Check::Signature`].

use super::ErrorCode;

/// One check of a request's decision, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Check {
    /// The auth headers: present once, visible ASCII, known scheme, sizes.
    Request,
    /// The registration exists, is enabled, and the registry answers.
    Registration,
    /// The token is three base64url parts with JSON objects.
    Structure,
    /// The token's `alg` is allowed for the registration and the key.
    Algorithm,
    /// A key with the token's `kid` is published, and the IdP answers.
    Key,
    /// The signature verifies (opaque tokens: the IdP's answer).
    Signature,
    /// The token is of the kind the registration accepts (`typ`,
    /// `token_use`).
    TokenKind,
    /// `iss` is the registration's issuer.
    Issuer,
    /// `aud` (or the provider's client claim) names the registration's
    /// client, with its authorized party when it names several.
    Audience,
    /// `exp`, `nbf`, `iat` with the leeway.
    Time,
    /// Every other claim rule, and the userinfo answer for claims the
    /// token lacks.
    Claims,
    /// The sender constraint: the DPoP proof (RFC 9449) and the client
    /// certificate (RFC 8705) of a bound token, and the registration's
    /// `dpop` and `mtls` modes. A DPoP proof whose own structure is broken
    /// may be refused before [`Check::Structure`]: it is read without the
    /// token.
    SenderConstraint,
    /// The user directory knows the subject and does not block it.
    User,
    /// The application is enabled in the request's property, and the
    /// request meets the route's requirements: the role the platform
    /// granted, then the token's OAuth scope, then its authentication
    /// (`acr`, `auth_time`).
    Property,
}

impl Check {
    /// Every check, in order.
    pub const ALL: [Check; 14] = [
        Check::Request,
        Check::Registration,
        Check::Structure,
        Check::Algorithm,
        Check::Key,
        Check::Signature,
        Check::TokenKind,
        Check::Issuer,
        Check::Audience,
        Check::Time,
        Check::Claims,
        Check::SenderConstraint,
        Check::User,
        Check::Property,
    ];

    /// A short name, for `fedauth explain` and logs.
    pub fn name(self) -> &'static str {
        match self {
            Check::Request => "header",
            Check::Registration => "registration",
            Check::Structure => "structure",
            Check::Algorithm => "algorithm",
            Check::Key => "key",
            Check::Signature => "signature",
            Check::TokenKind => "token kind",
            Check::Issuer => "issuer",
            Check::Audience => "audience",
            Check::Time => "time",
            Check::Claims => "claims",
            Check::SenderConstraint => "sender constraint",
            Check::User => "user directory",
            Check::Property => "roles",
        }
    }
}

impl ErrorCode {
    /// The check that refuses with this code. `idp_unavailable` belongs to
    /// [`Check::Key`] unless the refusal says otherwise (a userinfo fetch
    /// is part of [`Check::Claims`]: see [`AuthError::check`](super::AuthError::check)).
    pub fn check(self) -> Check {
        use ErrorCode::*;
        match self {
            InvalidRequest | MissingToken | MissingRegistration => Check::Request,
            UnknownRegistration | RegistrationDisabled | RegistryUnavailable => Check::Registration,
            MalformedToken => Check::Structure,
            UnsupportedAlgorithm => Check::Algorithm,
            UnknownKey | IdpUnavailable => Check::Key,
            InvalidSignature | InactiveToken | VerificationRefused => Check::Signature,
            InvalidTokenUse => Check::TokenKind,
            InvalidIssuer => Check::Issuer,
            InvalidAudience => Check::Audience,
            TokenExpired | TokenNotYetValid => Check::Time,
            InvalidClaims => Check::Claims,
            InvalidDpopProof | UseDpopNonce | InvalidTokenBinding => Check::SenderConstraint,
            UserUnknown | UserBlocked | DirectoryUnavailable => Check::User,
            PropertyNotEnabled
            | InsufficientRole
            | InsufficientScope
            | InsufficientUserAuthentication => Check::Property,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_in_order_and_every_code_has_its_check() {
        let mut sorted = Check::ALL;
        sorted.sort();
        assert_eq!(sorted, Check::ALL);
        assert_eq!(ErrorCode::MissingToken.check(), Check::Request);
        assert_eq!(ErrorCode::InvalidAudience.check(), Check::Audience);
        for code in [
            ErrorCode::InsufficientRole,
            ErrorCode::InsufficientScope,
            ErrorCode::InsufficientUserAuthentication,
        ] {
            assert_eq!(code.check(), Check::Property);
        }
    }
}
