//! Hardening (issue 8): outside test vectors (Wycheproof), the RFC 8725
//! checklist, property tests, and IdPs that misbehave on purpose.

mod faults;
mod props;
mod rfc8725;
mod wycheproof;
