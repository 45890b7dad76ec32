//! The analytics client on top of the hit queue: who the user is (`profile`),
//! what goes with every event (`context`, super properties), sessions,
//! consent, and the remote configuration's per-event rules. The tracker calls
//! into it on the host's thread; nothing here blocks on I/O but the writes of
//! the changes the host asks for, made before its call returns.

pub mod consent;
pub mod context;
pub mod profile;
pub mod rules;
pub mod session;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result, Status};
use crate::hit::{random_u64, Call};
use consent::ConsentCell;
use context::Contexts;
use profile::{parse_object, to_text, Profile};
use rules::EventRules;
use session::Sessions;

/// The `meta` key of the consent.
pub(crate) const META_CONSENT: &str = "consent";

/// What the store kept of the analytics state (raw `meta` values).
#[derive(Clone, Debug, Default)]
pub struct Kept {
    pub user_id: Option<String>,
    pub traits: Option<String>,
    pub super_properties: Option<String>,
    pub consent: Option<String>,
    pub session: Option<String>,
}

impl Kept {
    /// The `meta` keys read at open, in `Kept` field order.
    pub const KEYS: [&'static str; 5] = [
        profile::META_USER_ID,
        profile::META_TRAITS,
        profile::META_SUPER_PROPERTIES,
        META_CONSENT,
        session::META_SESSION,
    ];
}

/// The analytics state of one tracker.
pub struct Analytics {
    pub profile: Profile,
    pub sessions: Sessions,
    pub contexts: Contexts,
    /// Shared with the delivery thread.
    pub consent: Arc<ConsentCell>,
    /// Record "Session Started" / "Session Ended" events.
    pub track_session_events: bool,
    /// Serializes the host's changes (identify, alias, reset, super
    /// properties), so what is stored and what is in force agree.
    pub changes: Mutex<()>,
}

/// What a track or screen call stores after the super properties and the
/// remote rules: its body (`None`: the properties as given) and the sample
/// rate that kept it.
#[derive(Debug, Default, PartialEq)]
pub struct Prepared {
    pub body: Option<String>,
    pub sample_rate: Option<f64>,
}

impl Analytics {
    /// Merges the super properties into a `track` or `screen` call's
    /// properties (explicit ones win) and, for `track`, applies the remote
    /// rule for `name`. `Suppressed` when the rule drops or samples it out,
    /// `TooLarge` over the rule's size cap.
    pub fn prepare(
        &self,
        call: Call,
        name: &str,
        properties: Option<&str>,
        rules: Option<&EventRules>,
    ) -> Result<Prepared> {
        let supers = self.profile.supers();
        let rule = rules.filter(|_| call == Call::Track).map(|r| r.for_event(name)).filter(|r| !r.is_noop());
        if supers.is_none() && rule.is_none() {
            return Ok(Prepared::default());
        }
        let mut prepared = Prepared::default();
        if let Some(rule) = &rule {
            if rule.drop == Some(true) {
                return Err(Error::new(
                    Status::Suppressed,
                    format!("the remote configuration drops event '{}'", crate::hit::shorten(name)),
                ));
            }
            if let Some(rate) = rule.sample_rate.filter(|r| *r < 1.0) {
                // 53 random bits: a uniform double in [0, 1).
                let draw = (random_u64() >> 11) as f64 / (1u64 << 53) as f64;
                if draw >= rate {
                    return Err(Error::new(
                        Status::Suppressed,
                        format!(
                            "event '{}' was sampled out by the remote configuration (sample_rate {rate})",
                            crate::hit::shorten(name)
                        ),
                    ));
                }
                prepared.sample_rate = Some(rate);
            }
        }
        let removes = rule.as_ref().and_then(|r| r.remove_properties.as_ref()).filter(|k| !k.is_empty());
        if supers.is_some() || removes.is_some() {
            let mut props = match properties {
                Some(text) => parse_object(text, "properties")?,
                None => Default::default(),
            };
            for (k, v) in supers.iter().flat_map(|s| s.iter()) {
                props.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for k in removes.into_iter().flatten() {
                props.remove(k);
            }
            prepared.body = Some(to_text(&props));
        }
        if let Some(cap) = rule.and_then(|r| r.max_bytes) {
            let size = name.len() + prepared.body.as_deref().or(properties).map_or(2, str::len);
            if size > cap as usize {
                return Err(Error::new(
                    Status::TooLarge,
                    format!(
                        "event '{}' is {size} bytes; the remote configuration's limit for it is {cap}",
                        crate::hit::shorten(name)
                    ),
                ));
            }
        }
        Ok(prepared)
    }
}

/// What `Tracker::reset` forgets: a set of flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reset(u32);

impl Reset {
    /// The user id and traits.
    pub const USER: Reset = Reset(1);
    /// The anonymous (visitor) id: a new one is made.
    pub const ANONYMOUS_ID: Reset = Reset(2);
    /// The session: a new one starts.
    pub const SESSION: Reset = Reset(4);
    /// The super properties.
    pub const SUPER_PROPERTIES: Reset = Reset(8);
    /// All of the above.
    pub const ALL: Reset = Reset(15);

    /// The flags in `bits`; `Err` for a bit that names nothing (or no bit).
    pub fn from_bits(bits: u32) -> Result<Reset> {
        if bits == 0 || bits & !Reset::ALL.0 != 0 {
            return Err(Error::invalid(format!(
                "reset flags 0x{bits:x} are not a combination of AT_RESET_USER, AT_RESET_ANONYMOUS_ID, \
                 AT_RESET_SESSION and AT_RESET_SUPER_PROPERTIES"
            )));
        }
        Ok(Reset(bits))
    }

    pub fn contains(self, other: Reset) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn bits(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analytics(supers: &str) -> Analytics {
        let (profile, _) = Profile::restore(None, None, Some(supers.to_owned()));
        Analytics {
            profile,
            sessions: Sessions::new(60_000, 60_000, None),
            contexts: Contexts::new(Default::default(), Default::default()),
            consent: Arc::new(ConsentCell::new(consent::Consent::Granted)),
            track_session_events: false,
            changes: Mutex::new(()),
        }
    }

    fn rules(doc: &str) -> EventRules {
        EventRules::parse(&serde_json::from_str(doc).unwrap(), &mut |w| panic!("{w}"))
    }

    #[test]
    fn explicit_properties_win_over_super_properties() {
        let a = analytics(r#"{"plan":"pro","level":1}"#);
        let p = a.prepare(Call::Track, "e", Some(r#"{"level":7,"x":true}"#), None).unwrap();
        let v: serde_json::Value = serde_json::from_str(p.body.as_deref().unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"plan":"pro","level":7,"x":true}));
        let p = a.prepare(Call::Screen, "s", None, None).unwrap();
        assert_eq!(p.body.as_deref(), Some(r#"{"level":1,"plan":"pro"}"#));
        assert!(a.prepare(Call::Track, "e", Some("[1]"), None).is_err());
    }

    #[test]
    fn without_super_properties_or_rules_the_properties_are_kept_as_given() {
        let a = analytics("{}");
        assert_eq!(
            a.prepare(Call::Track, "e", Some(r#"{"b":1, "a":2}"#), None).unwrap(),
            Prepared::default()
        );
        let r = rules(r#"{"Other":{"drop":true}}"#);
        assert_eq!(a.prepare(Call::Track, "e", Some("{}"), Some(&r)).unwrap(), Prepared::default());
    }

    #[test]
    fn rules_drop_strip_and_cap_track_calls_only() {
        let a = analytics("{}");
        let r = rules(r#"{"Spam":{"drop":true},"P":{"remove_properties":["card"],"max_bytes":30}}"#);
        assert_eq!(a.prepare(Call::Track, "Spam", None, Some(&r)).unwrap_err().status, Status::Suppressed);
        assert!(a.prepare(Call::Screen, "Spam", None, Some(&r)).is_ok(), "screens are not filtered");
        let p = a.prepare(Call::Track, "P", Some(r#"{"card":"4111","sku":"a"}"#), Some(&r)).unwrap();
        assert_eq!(p.body.as_deref(), Some(r#"{"sku":"a"}"#));
        let big = format!(r#"{{"sku":"{}"}}"#, "x".repeat(30));
        assert_eq!(a.prepare(Call::Track, "P", Some(&big), Some(&r)).unwrap_err().status, Status::TooLarge);
    }
}
