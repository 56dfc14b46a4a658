//! Chainable setters of the configuration structs.
//!
//! Every configuration struct is `#[non_exhaustive]`: code outside the
//! crate starts from `Default` and changes what it needs
//! (`FetchConfig::default().timeout(d).max_body_bytes(n)`), so a new
//! setting is a new field and a new setter, never a breaking change to a
//! struct literal. The fields stay public to read.

/// `setters!(Config { field: Type, … })` writes, for each field, a setter
/// named after it: `pub fn field(mut self, field: Type) -> Self`, which
/// links to the field's documentation.
macro_rules! setters {
    ($config:ident { $($field:ident: $ty:ty),+ $(,)? }) => {
        impl $config {
            $(
                #[doc = concat!(
                    "Sets [`", stringify!($field), "`](Self#structfield.",
                    stringify!($field), ")."
                )]
                pub fn $field(mut self, $field: $ty) -> Self {
                    self.$field = $field;
                    self
                }
            )+
        }
    };
}

pub(crate) use setters;
