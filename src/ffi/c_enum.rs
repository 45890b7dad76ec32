//! One definition per C enumeration. A C enum is a `uint32_t` typedef (written
//! out, so cbindgen sees it) followed by one `c_enum!` that lists its values,
//! each with its doc, its number and (usually) the core enum variant it stands
//! for. From that list come, and only from it:
//!  - the `pub const` of every value;
//!  - `CEnumType::from_c` (a value from C, checked: "7 is not an at_x" for any
//!    other number) and `CEnumType::to_c`, whose match is exhaustive, so a core
//!    variant added without a C value does not compile;
//!  - the table (`CEnum`) holding the names, used by `at_status_str` and by the
//!    header generator, which writes the `#define`s right after their typedef
//!    (cbindgen does not expand macros; see examples/header/layout.rs).
//!
//! Adding a value is one line here (plus the core variant it stands for).

use std::ffi::CStr;

use crate::error::Result;

/// One value of a C enumeration.
#[derive(Debug)]
pub struct CValue {
    pub name: &'static CStr,
    pub value: u32,
    /// The doc comment's lines, as written after `///`.
    pub doc: &'static [&'static str],
}

/// A C enumeration: its typedef's name and its values, in order.
#[derive(Debug)]
pub struct CEnum {
    pub c_type: &'static str,
    pub values: &'static [CValue],
}

impl CEnum {
    /// The value numbered `value`, if there is one.
    pub fn get(&self, value: u32) -> Option<&'static CValue> {
        self.values.iter().find(|v| v.value == value)
    }
}

/// A core enum with a C enumeration (see the module docs).
pub(crate) trait CEnumType: Sized {
    /// The core value for a C value; `AT_ERR_INVALID_ARGUMENT` for any other number.
    fn from_c(value: u32) -> Result<Self>;
    fn to_c(self) -> u32;
}

/// A NUL-terminated name for the table, at compile time.
pub(crate) const fn c_name(with_nul: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(with_nul.as_bytes()) {
        Ok(name) => name,
        Err(_) => panic!("a C enum value's name must not contain NUL"),
    }
}

/// See the module docs. `TABLE: c_type <=> CoreEnum { VALUES }`, each value
/// `/// doc` `NAME = number => Variant,` (`=> Variant` left out for a value with
/// no core counterpart, like `AT_OK`).
macro_rules! c_enum {
    (
        $table:ident: $c_type:ident <=> $core:ident {
            $( $(#[doc = $doc:literal])* $name:ident = $value:literal $(=> $variant:ident)?, )*
        }
    ) => {
        $( $(#[doc = $doc])* pub const $name: $c_type = $value; )*

        #[doc(hidden)]
        pub const $table: $crate::ffi::c_enum::CEnum = $crate::ffi::c_enum::CEnum {
            c_type: stringify!($c_type),
            values: &[$(
                $crate::ffi::c_enum::CValue {
                    name: $crate::ffi::c_enum::c_name(concat!(stringify!($name), "\0")),
                    value: $value,
                    doc: &[$($doc),*],
                },
            )*],
        };

        impl $crate::ffi::c_enum::CEnumType for $core {
            #[allow(unreachable_patterns)]
            fn from_c(value: u32) -> $crate::error::Result<Self> {
                match value {
                    $( $( $name => Ok($core::$variant), )? )*
                    other => Err($crate::error::Error::invalid(format!(
                        "{other} is not an {}",
                        stringify!($c_type)
                    ))),
                }
            }

            fn to_c(self) -> u32 {
                match self {
                    $( $( $core::$variant => $name, )? )*
                }
            }
        }
    };
}

/// Every C enumeration, for the header generator (examples/header/), which
/// refuses a `c_enum!` missing here.
#[doc(hidden)]
pub fn tables() -> Vec<&'static CEnum> {
    use crate::ffi::status::STATUSES;
    use crate::ffi::types::*;
    vec![
        &STATUSES,
        &OFFLINE_MODES,
        &DURABILITIES,
        &SYNCHRONOUS_MODES,
        &CALLBACK_MODES,
        &OPT_OUT_POLICIES,
        &CONSENTS,
        &LOG_LEVELS,
        &DROP_REASONS,
        &AUTH_SCHEMES,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;
    use crate::error::Status;
    use crate::ffi::status::STATUSES;
    use crate::ffi::types::*;
    use std::collections::HashSet;

    /// Every value with a core counterpart converts both ways; every other
    /// number is refused with a message naming the C type.
    fn check<T: CEnumType + std::fmt::Debug>(table: &CEnum, without_core: usize) {
        let converted: Vec<u32> =
            table.values.iter().filter_map(|v| T::from_c(v.value).ok()).map(T::to_c).collect();
        let expected: Vec<u32> = table.values.iter().map(|v| v.value).skip(without_core).collect();
        assert_eq!(converted, expected, "{}", table.c_type);
        let names: HashSet<_> = table.values.iter().map(|v| v.name).collect();
        let numbers: HashSet<_> = table.values.iter().map(|v| v.value).collect();
        assert_eq!(names.len(), table.values.len(), "{}: a name twice", table.c_type);
        assert_eq!(numbers.len(), table.values.len(), "{}: a number twice", table.c_type);
        let past = table.values.iter().map(|v| v.value).max().unwrap() + 1;
        let err = T::from_c(past).unwrap_err();
        assert_eq!(err.status, Status::InvalidArgument);
        assert_eq!(err.message, format!("{past} is not an {}", table.c_type));
    }

    #[test]
    fn every_c_enum_converts_both_ways_and_refuses_other_numbers() {
        check::<Status>(&STATUSES, 1); // AT_OK is no error
        check::<OfflineMode>(&OFFLINE_MODES, 0);
        check::<Durability>(&DURABILITIES, 0);
        check::<Synchronous>(&SYNCHRONOUS_MODES, 0);
        check::<CallbackMode>(&CALLBACK_MODES, 0);
        check::<OptOutPolicy>(&OPT_OUT_POLICIES, 0);
        check::<LogLevel>(&LOG_LEVELS, 0);
        check::<DropReason>(&DROP_REASONS, 0);
        check::<AuthScheme>(&AUTH_SCHEMES, 0);
        check::<Consent>(&CONSENTS, 0);
        assert_eq!(tables().len(), 10);
    }

    #[test]
    fn status_names_come_from_the_table() {
        let name = |s| unsafe { CStr::from_ptr(crate::ffi::at_status_str(s)) }.to_str().unwrap();
        assert_eq!(name(crate::ffi::AT_OK), "AT_OK");
        assert_eq!(name(crate::ffi::AT_ERR_KEY_REJECTED), "AT_ERR_KEY_REJECTED");
        assert_eq!(name(Status::Storage.to_c()), "AT_ERR_STORAGE");
        assert_eq!(name(11), "AT_UNKNOWN_STATUS");
    }
}
