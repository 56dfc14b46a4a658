//! The crypto backend of jsonwebtoken, chosen by this crate's features.
//!
//! jsonwebtoken panics at the first signature check when it cannot tell
//! which backend to use (none, or both features on through feature
//! unification). We install one explicitly, so users never see that panic.

use std::sync::Once;

/// Install the backend this crate was built with (idempotent).
pub(crate) fn ensure_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        #[cfg(feature = "aws-lc-rs")]
        let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
        #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
        let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
        // Err means another provider was installed first by the application: keep it.
        let _ = provider.install_default();
    });
}
