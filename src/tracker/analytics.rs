//! The analytics calls: identify, alias, group, screen, reset, the context,
//! super properties, sessions and consent. Each change the host asks for is
//! stored before it is put in force and before the call returns; the hits
//! these calls make are queued like any other (durable before send).

use std::sync::Arc;

use crate::analytics::consent::Consent;
use crate::analytics::context::parse_host_context;
use crate::analytics::profile::{self, merged, parse_object, to_text, validate_id, Object};
use crate::analytics::session::{self, Touch};
use crate::analytics::{Reset, META_CONSENT};
use crate::config::DropReason;
use crate::error::{Error, Result};
use crate::hit::{new_message_id, Call, NewHit};
use crate::runtime::Completion;
use crate::store::writer::Op;

use super::Tracker;

type Entries = Vec<(String, Option<String>)>;

fn entry(key: &str, value: Option<String>) -> (String, Option<String>) {
    (key.to_owned(), value)
}

impl Tracker {
    /// Identifies the user: `user_id` (`None` keeps the current one) and
    /// `traits` merged over the kept ones (top-level keys replace). Both are
    /// stored before the call returns; an `identify` call with the merged
    /// traits is queued. Hits tracked before keep the user id they had.
    pub fn identify(
        &self,
        user_id: Option<&str>,
        traits: Option<&str>,
        done: Option<Completion>,
    ) -> Result<()> {
        self.open_gate(|| {
            self.check_enabled()?;
            if let Some(u) = user_id {
                validate_id(u, "user id")?;
            }
            let update = traits.map(|t| parse_object(t, "traits")).transpose()?;
            let _change = self.analytics.changes.lock();
            let traits = match update {
                Some(u) => merged(&self.analytics.profile.traits(), u),
                None => (*self.analytics.profile.traits()).clone(),
            };
            let body = to_text(&traits);
            let hit = self.new_hit(Call::Identify, "", &body)?;
            let mut entries = vec![entry(profile::META_TRAITS, Some(body))];
            if let Some(u) = user_id {
                entries.push(entry(profile::META_USER_ID, Some(u.to_owned())));
            }
            self.put_meta(entries)?;
            self.analytics.profile.set_traits(traits);
            if let Some(u) = user_id {
                self.analytics.profile.set_user_id(Some(Arc::from(u)));
            }
            self.accept(hit, done)
        })
    }

    /// The user id in force; `None` when none is set.
    pub fn user_id(&self) -> Result<Option<String>> {
        self.open_gate(|| Ok(self.analytics.profile.user_id().map(|u| u.to_string())))
    }

    /// Links the current identity (the user id, or the anonymous id without
    /// one) to `new_user_id` with an `alias` call, then makes `new_user_id`
    /// the user id (stored before the call returns).
    pub fn alias(&self, new_user_id: &str, done: Option<Completion>) -> Result<()> {
        self.open_gate(|| {
            self.check_enabled()?;
            validate_id(new_user_id, "new user id")?;
            let _change = self.analytics.changes.lock();
            let previous = match self.analytics.profile.user_id() {
                Some(u) => u,
                None => self.identity.visitor_id(),
            };
            let mut hit = self.new_hit(Call::Alias, &previous, "{}")?;
            let new_id: Arc<str> = Arc::from(new_user_id);
            hit.stamp.user_id = Some(Arc::clone(&new_id));
            self.put_meta(vec![entry(profile::META_USER_ID, Some(new_user_id.to_owned()))])?;
            self.analytics.profile.set_user_id(Some(new_id));
            self.accept(hit, done)
        })
    }

    /// Associates the user with a group (`group_id`, `traits` of the group).
    pub fn group(&self, group_id: &str, traits: Option<&str>, done: Option<Completion>) -> Result<()> {
        self.open_gate(|| {
            self.check_enabled()?;
            validate_id(group_id, "group id")?;
            let hit = NewHit::segment(
                Call::Group,
                group_id,
                traits,
                self.clock.now_ms(),
                self.config.max_event_bytes,
            )?;
            self.accept(hit, done)
        })
    }

    /// A `screen` call: `name` and `properties` (super properties merged in).
    pub fn screen(&self, name: &str, properties: Option<&str>, done: Option<Completion>) -> Result<()> {
        self.segment_call(Call::Screen, name, properties, done)
    }

    /// Forgets what `what` names (`Reset` flags), in one store transaction:
    /// the user id and traits, the anonymous id (a new one is made), the
    /// session (a new one starts now), the super properties. Hits queued
    /// before keep the identity they were tracked with.
    pub fn reset(&self, what: Reset) -> Result<()> {
        self.open_gate(|| {
            let _change = self.analytics.changes.lock();
            let mut entries: Entries = Vec::new();
            if what.contains(Reset::USER) {
                entries.push(entry(profile::META_USER_ID, None));
                entries.push(entry(profile::META_TRAITS, None));
            }
            let visitor = what.contains(Reset::ANONYMOUS_ID).then(new_message_id);
            if let Some(v) = &visitor {
                entries.push(entry("visitor_id", Some(v.clone())));
            }
            if what.contains(Reset::SUPER_PROPERTIES) {
                entries.push(entry(profile::META_SUPER_PROPERTIES, None));
            }
            if !entries.is_empty() {
                self.put_meta(entries)?;
            }
            if what.contains(Reset::USER) {
                self.analytics.profile.set_user_id(None);
                self.analytics.profile.set_traits(Object::new());
            }
            if let Some(v) = visitor {
                self.identity.set_visitor_id(Arc::from(v.as_str()));
            }
            if what.contains(Reset::SUPER_PROPERTIES) {
                self.analytics.profile.set_supers(Object::new());
            }
            if what.contains(Reset::SESSION) {
                self.restart_session()?;
            }
            Ok(())
        })
    }

    /// Merges `json` (a JSON object) into the host's part of the event context:
    /// top-level keys replace, a `null` value removes its key. Hits tracked
    /// from now on carry the new context; queued ones keep theirs.
    pub fn set_context(&self, json: &str) -> Result<()> {
        self.open_gate(|| {
            let update = parse_host_context(json)?;
            self.analytics.contexts.change(update);
            Ok(())
        })
    }

    /// Merges `json` into the super properties (top-level keys replace); they
    /// are merged into every later track and screen call's properties
    /// (explicit properties win). Stored before the call returns.
    pub fn register_super_properties(&self, json: &str) -> Result<()> {
        self.open_gate(|| {
            let update = parse_object(json, "super properties")?;
            let _change = self.analytics.changes.lock();
            let current = self.analytics.profile.supers().map(|s| (*s).clone()).unwrap_or_default();
            self.set_supers(merged(&current, update))
        })
    }

    /// Removes one super property (nothing to remove is not an error).
    pub fn unregister_super_property(&self, key: &str) -> Result<()> {
        self.open_gate(|| {
            let _change = self.analytics.changes.lock();
            let mut current = self.analytics.profile.supers().map(|s| (*s).clone()).unwrap_or_default();
            if current.remove(key).is_none() {
                return Ok(());
            }
            self.set_supers(current)
        })
    }

    fn set_supers(&self, supers: Object) -> Result<()> {
        let value = (!supers.is_empty()).then(|| to_text(&supers));
        self.put_meta(vec![entry(profile::META_SUPER_PROPERTIES, value)])?;
        self.analytics.profile.set_supers(supers);
        Ok(())
    }

    /// Starts a new session now (a game's match, a new visit); returns its id.
    pub fn session_start(&self) -> Result<i64> {
        self.open_gate(|| self.restart_session())
    }

    /// The session id (Unix ms of its start) the next hit gets. The first
    /// call after start decides, as a hit would, whether the kept session
    /// goes on, and counts as activity.
    pub fn session_id(&self) -> Result<i64> {
        self.open_gate(|| {
            let mono = self.clock.mono_ms();
            match self.analytics.sessions.current(mono) {
                Some(s) => Ok(s.id),
                None => {
                    let touch = self.analytics.sessions.touch(self.clock.now_ms(), mono);
                    self.after_touch(&touch)?;
                    Ok(touch.now.id)
                }
            }
        })
    }

    fn restart_session(&self) -> Result<i64> {
        let touch = self.analytics.sessions.restart(self.clock.now_ms(), self.clock.mono_ms());
        self.after_touch(&touch)?;
        Ok(touch.now.id)
    }

    /// Stores the session a touch started (and its events, when recorded).
    fn after_touch(&self, touch: &Touch) -> Result<()> {
        if let Some(value) = &touch.persist {
            self.put_meta(vec![entry(session::META_SESSION, Some(value.clone()))])?;
        }
        if self.analytics.track_session_events && touch.started && self.check_enabled().is_ok() {
            if let Some((ended, last_wall)) = touch.ended {
                self.session_event(session::SESSION_ENDED, ended, last_wall)?;
            }
            self.session_event(session::SESSION_STARTED, touch.now, touch.now.id)?;
        }
        Ok(())
    }

    /// Records the app entering the background for sessions, and keeps the
    /// session's last activity in the store (the process may be killed there).
    pub(super) fn enter_background_session(&self) {
        self.analytics.sessions.enter_background(self.clock.mono_ms());
        if let Some(value) = self.analytics.sessions.snapshot() {
            let entries = vec![entry(session::META_SESSION, Some(value))];
            let _ = self.writer.submit(Op::PutMeta { entries, reply: None });
        }
    }

    /// Sets the user's consent, stored before the call returns. `Pending`:
    /// calls are accepted and stored, nothing is sent and no remote
    /// configuration fetched. `Granted`: everything stored goes out.
    /// `Denied`: every queued hit is purged (reported as `ConsentDenied`;
    /// returns how many) and later calls get `Suppressed`. Race-free with
    /// concurrent calls: it waits for those in progress, so a hit tracked
    /// concurrently is accepted before it (and purged) or refused.
    pub fn set_consent(&self, consent: Consent) -> Result<u64> {
        let closed = self.gate.write();
        if *closed {
            return Err(Error::closed());
        }
        self.put_meta(vec![entry(META_CONSENT, Some(consent.meta_value().to_owned()))])?;
        self.analytics.consent.set(consent);
        match consent {
            Consent::Denied => {
                let stored =
                    self.writer.call(|reply| Op::DeleteAll { reason: DropReason::ConsentDenied, reply })?;
                Ok(stored + self.delivery.purge_memory(DropReason::ConsentDenied, &self.reporter))
            }
            Consent::Granted => {
                self.delivery.consent_changed();
                Ok(0)
            }
            Consent::Pending => Ok(0),
        }
    }

    pub fn consent(&self) -> Result<Consent> {
        self.open_gate(|| Ok(self.analytics.consent.get()))
    }

    fn new_hit(&self, call: Call, subject: &str, body: &str) -> Result<NewHit> {
        NewHit::segment(call, subject, Some(body), self.clock.now_ms(), self.config.max_event_bytes)
    }

    fn put_meta(&self, entries: Entries) -> Result<()> {
        self.writer.call(|reply| Op::PutMeta { entries, reply: Some(reply) }).map(drop)
    }
}
