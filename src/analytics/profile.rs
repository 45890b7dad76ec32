//! Who the user is and what goes with every event: the user id, the traits
//! merged by identify calls, and the super properties merged into every track
//! and screen call. All three are kept in the store's `meta` table, written
//! before the call that changed them returns.

use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Longest user id, group id or alias accepted.
pub(crate) const MAX_USER_ID_BYTES: usize = 256;

pub(crate) const META_USER_ID: &str = "user_id";
pub(crate) const META_TRAITS: &str = "traits";
pub(crate) const META_SUPER_PROPERTIES: &str = "super_properties";

/// A JSON object, parsed.
pub type Object = Map<String, Value>;

/// The profile in force. Readers (every track call) take a snapshot; writers
/// (identify, alias, reset, super properties) are serialized by the tracker's
/// profile lock and store the new value before they put it in force.
#[derive(Debug, Default)]
pub struct Profile {
    user_id: RwLock<Option<Arc<str>>>,
    traits: RwLock<Arc<Object>>,
    /// `None` when empty: the track path then leaves properties untouched.
    supers: RwLock<Option<Arc<Object>>>,
}

impl Profile {
    /// The profile kept in the store (`meta` values); a value that is not what
    /// it should be (damage) is dropped, named in the returned warnings.
    pub fn restore(
        user_id: Option<String>,
        traits: Option<String>,
        supers: Option<String>,
    ) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let user_id = user_id.filter(|u| match validate_id(u, "user id") {
            Ok(()) => true,
            Err(e) => {
                warnings.push(format!("the stored user id was dropped: {}", e.message));
                false
            }
        });
        let mut object = |text: Option<String>, what: &str| -> Object {
            match text.map(|t| parse_object(&t, what)) {
                Some(Ok(o)) => o,
                Some(Err(e)) => {
                    warnings.push(format!("the stored {what} were dropped: {}", e.message));
                    Object::new()
                }
                None => Object::new(),
            }
        };
        let traits = object(traits, "traits");
        let supers = object(supers, "super properties");
        let profile = Profile {
            user_id: RwLock::new(user_id.map(Arc::from)),
            traits: RwLock::new(Arc::new(traits)),
            supers: RwLock::new((!supers.is_empty()).then(|| Arc::new(supers))),
        };
        (profile, warnings)
    }

    pub fn user_id(&self) -> Option<Arc<str>> {
        self.user_id.read().clone()
    }

    pub fn set_user_id(&self, id: Option<Arc<str>>) {
        *self.user_id.write() = id;
    }

    pub fn traits(&self) -> Arc<Object> {
        Arc::clone(&self.traits.read())
    }

    pub fn set_traits(&self, traits: Object) {
        *self.traits.write() = Arc::new(traits);
    }

    pub fn supers(&self) -> Option<Arc<Object>> {
        self.supers.read().clone()
    }

    pub fn set_supers(&self, supers: Object) {
        *self.supers.write() = (!supers.is_empty()).then(|| Arc::new(supers));
    }
}

/// Checks a user id, group id or alias: non-empty, at most 256 bytes, no
/// control characters.
pub fn validate_id(id: &str, what: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid(format!("the {what} is empty")));
    }
    if id.len() > MAX_USER_ID_BYTES {
        return Err(Error::invalid(format!(
            "the {what} is {} bytes; at most {MAX_USER_ID_BYTES} are allowed",
            id.len()
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::invalid(format!("the {what} contains control characters")));
    }
    Ok(())
}

/// Parses one JSON object, checked as strictly as event properties are.
pub fn parse_object(text: &str, what: &str) -> Result<Object> {
    crate::hit::validate_json_object(text)
        .map_err(|e| Error::invalid(e.message.replacen("properties", what, 1)))?;
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    serde::Deserialize::deserialize(&mut de)
        .map_err(|e: serde_json::Error| Error::invalid(format!("{what} are not valid JSON: {e}")))
}

/// `base` with `over`'s keys set on it (top level: a key in `over` replaces
/// the same key in `base`).
pub fn merged(base: &Object, over: Object) -> Object {
    let mut out = base.clone();
    out.extend(over);
    out
}

/// Serializes an object (never fails for a `Map` of `Value`s).
pub fn to_text(o: &Object) -> String {
    serde_json::to_string(o).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_stored_profile_is_dropped_with_a_warning() {
        let (p, warnings) =
            Profile::restore(Some("u\u{1}".into()), Some("[1]".into()), Some(r#"{"a":1}"#.into()));
        assert_eq!(p.user_id(), None);
        assert!(p.traits().is_empty());
        assert_eq!(p.supers().map(|s| s.len()), Some(1));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn ids_are_checked() {
        assert!(validate_id("user-1", "user id").is_ok());
        assert!(validate_id("", "user id").is_err());
        assert!(validate_id(&"x".repeat(257), "user id").is_err());
        assert!(validate_id("a\nb", "group id").unwrap_err().message.contains("group id"));
    }
}
