//! Per-event rules from the remote configuration, applied to `track` calls when
//! they are made (in every callback mode, without host code):
//!
//! ```json
//! "events": {
//!   "*":         {"sample_rate": 0.5},
//!   "Level Up":  {"drop": true},
//!   "Purchase":  {"remove_properties": ["card_number"], "max_bytes": 2048, "sample_rate": 1}
//! }
//! ```
//!
//! An event's own rule wins field by field over the default (`"*"`), but for
//! `remove_properties`, whose lists add up. `drop`
//! refuses the event; `sample_rate` (0..1) keeps that share of the events
//! (drawn per event) and the kept ones carry the rate in
//! `context.attracker.sampleRate` so the collector can scale counts;
//! `remove_properties` removes those top-level property keys; `max_bytes`
//! refuses an event whose name and properties together are larger.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// One rule as written; `None` fields fall back to the default rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rule {
    pub drop: Option<bool>,
    pub sample_rate: Option<f64>,
    pub remove_properties: Option<Vec<String>>,
    pub max_bytes: Option<u32>,
}

impl Rule {
    fn or(&self, default: &Rule) -> Rule {
        Rule {
            drop: self.drop.or(default.drop),
            sample_rate: self.sample_rate.or(default.sample_rate),
            // Keys to remove add up: an event's own list does not bring back
            // what the default removes from every event.
            remove_properties: match (&self.remove_properties, &default.remove_properties) {
                (Some(own), Some(all)) => Some(all.iter().chain(own).cloned().collect()),
                (own, all) => own.clone().or_else(|| all.clone()),
            },
            max_bytes: self.max_bytes.or(default.max_bytes),
        }
    }

    /// True when the rule changes nothing.
    pub fn is_noop(&self) -> bool {
        !self.drop.unwrap_or(false)
            && self.sample_rate.is_none_or(|r| r >= 1.0)
            && self.remove_properties.as_ref().is_none_or(Vec::is_empty)
            && self.max_bytes.is_none()
    }
}

/// Every rule of a document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventRules {
    default: Rule,
    by_name: HashMap<String, Rule>,
}

impl EventRules {
    /// True when no event has a rule.
    pub fn is_empty(&self) -> bool {
        self.default.is_noop() && self.by_name.is_empty()
    }

    /// The rule for `event`: its own, field by field over the default.
    pub fn for_event(&self, event: &str) -> Rule {
        match self.by_name.get(event) {
            Some(r) => r.or(&self.default),
            None => self.default.clone(),
        }
    }

    /// Reads the document's `events` object. A rule or field that is not as
    /// documented is ignored alone, with a warning.
    pub fn parse(events: &Value, warn: &mut impl FnMut(String)) -> EventRules {
        let mut rules = EventRules::default();
        let Some(map) = events.as_object() else {
            warn("remote config: events ignored: not an object".into());
            return rules;
        };
        for (name, v) in map {
            let Some(fields) = v.as_object() else {
                warn(format!("remote config: events.{name} ignored: not an object"));
                continue;
            };
            let rule = parse_rule(name, fields, warn);
            if name == "*" {
                rules.default = rule;
            } else {
                rules.by_name.insert(name.clone(), rule);
            }
        }
        rules
    }
}

fn parse_rule(name: &str, fields: &Map<String, Value>, warn: &mut impl FnMut(String)) -> Rule {
    let mut rule = Rule::default();
    let mut bad = |key: &str, why: &str| warn(format!("remote config: events.{name}.{key} ignored: {why}"));
    for (key, v) in fields {
        match key.as_str() {
            "drop" => match v.as_bool() {
                Some(b) => rule.drop = Some(b),
                None => bad(key, "not a boolean"),
            },
            "sample_rate" => match v.as_f64() {
                Some(r) if (0.0..=1.0).contains(&r) => rule.sample_rate = Some(r),
                _ => bad(key, "not a number between 0 and 1"),
            },
            "remove_properties" => {
                match v.as_array().map(|a| a.iter().map(Value::as_str).collect::<Option<Vec<_>>>()) {
                    Some(Some(keys)) => {
                        rule.remove_properties = Some(keys.into_iter().map(str::to_owned).collect())
                    }
                    _ => bad(key, "not an array of strings"),
                }
            }
            "max_bytes" => match v.as_u64() {
                Some(n) if (1..=u64::from(u32::MAX)).contains(&n) => rule.max_bytes = Some(n as u32),
                _ => bad(key, "not a positive integer"),
            },
            _ => bad(key, "unknown field"),
        }
    }
    rule
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(doc: &str) -> (EventRules, Vec<String>) {
        let mut warnings = Vec::new();
        let r = EventRules::parse(&serde_json::from_str(doc).unwrap(), &mut |w| warnings.push(w));
        (r, warnings)
    }

    #[test]
    fn an_events_own_rule_wins_field_by_field_over_the_default() {
        let (r, w) = rules(
            r#"{"*":{"sample_rate":0.5,"max_bytes":100},
                "Purchase":{"remove_properties":["card"],"sample_rate":1},
                "Spam":{"drop":true}}"#,
        );
        assert!(w.is_empty(), "{w:?}");
        let p = r.for_event("Purchase");
        assert_eq!((p.sample_rate, p.max_bytes), (Some(1.0), Some(100)));
        assert_eq!(p.remove_properties, Some(vec!["card".to_string()]));
        assert_eq!(r.for_event("Spam").drop, Some(true));
        assert_eq!(r.for_event("Other").sample_rate, Some(0.5));
        assert!(!r.is_empty());
        assert!(rules("{}").0.is_empty());
        let (r, _) = rules(r#"{"*":{"remove_properties":["email"]},"P":{"remove_properties":["card"]}}"#);
        assert_eq!(r.for_event("P").remove_properties, Some(vec!["email".to_string(), "card".to_string()]));
    }

    #[test]
    fn bad_fields_are_ignored_one_by_one() {
        let (r, w) = rules(
            r#"{"*":{"sample_rate":2},"A":{"drop":"yes","max_bytes":0,"remove_properties":[1],"x":1},"B":3}"#,
        );
        assert_eq!(w.len(), 6, "{w:?}");
        assert_eq!(r.for_event("A"), Rule::default());
        assert!(r.is_empty() || r.for_event("A").is_noop());
    }
}
