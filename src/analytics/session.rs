//! Sessions: a session id (Unix ms of the session's start) on every event. A
//! session ends only when a hit is tracked after more inactivity than the
//! foreground timeout, or after longer than the background timeout spent in the
//! background; or when the host starts one (`at_session_start`, `at_reset`).
//! Inactivity is measured on the monotonic clock, so a wall-clock jump neither
//! ends a session nor keeps one alive. Across restarts (the process was not in
//! the foreground while it was not running) the background timeout applies to
//! the time since the last activity, measured on the wall clock kept in the
//! store.

use parking_lot::Mutex;

/// Default foreground inactivity before a new session: 30 minutes.
pub(crate) const DEFAULT_FOREGROUND_TIMEOUT_MS: u32 = 30 * 60 * 1000;
/// Default time in the background before a new session: 5 minutes.
pub(crate) const DEFAULT_BACKGROUND_TIMEOUT_MS: u32 = 5 * 60 * 1000;
/// How stale the last activity kept in the store may get while tracking.
const PERSIST_EVERY_MS: i64 = 10_000;
/// The events recorded when sessions start and end (`track_session_events`).
pub(crate) const SESSION_STARTED: &str = "Session Started";
pub(crate) const SESSION_ENDED: &str = "Session Ended";
/// The `meta` key: `"<session id> <last activity, Unix ms>"`.
pub(crate) const META_SESSION: &str = "session";

/// The session a hit is tracked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InSession {
    /// Unix ms of the session's start.
    pub id: i64,
    /// Monotonic ms since it started.
    pub elapsed_ms: i64,
}

/// What `Sessions::touch` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touch {
    pub now: InSession,
    /// The session that just ended (as of its last activity, wall ms) when this
    /// touch started a new one.
    pub ended: Option<(InSession, i64)>,
    pub started: bool,
    /// The `meta` value to store, when it is due.
    pub persist: Option<String>,
}

#[derive(Debug)]
struct State {
    /// None until the first hit after start decides (continued or new).
    current: Option<Current>,
    /// Kept from the store: (session id, last activity wall ms).
    restored: Option<(i64, i64)>,
    background_since_mono: Option<i64>,
    /// Set on return to the foreground after longer than the background timeout.
    rotate_next: bool,
    persisted_wall: i64,
}

#[derive(Clone, Copy, Debug)]
struct Current {
    id: i64,
    start_mono: i64,
    last_mono: i64,
    last_wall: i64,
}

/// The session state of one tracker.
#[derive(Debug)]
pub struct Sessions {
    foreground_ms: i64,
    background_ms: i64,
    state: Mutex<State>,
}

impl Sessions {
    /// `restored` is the `meta` value the store kept, if any.
    pub fn new(foreground_ms: u32, background_ms: u32, restored: Option<&str>) -> Self {
        Sessions {
            foreground_ms: foreground_ms.into(),
            background_ms: background_ms.into(),
            state: Mutex::new(State {
                current: None,
                restored: restored.and_then(parse_meta),
                background_since_mono: None,
                rotate_next: false,
                persisted_wall: 0,
            }),
        }
    }

    /// A hit is tracked at `wall` / `mono`: the session it belongs to, starting
    /// a new one when the last has timed out.
    pub fn touch(&self, wall: i64, mono: i64) -> Touch {
        let mut st = self.state.lock();
        let mut ended = None;
        let current = match (st.current, st.restored.take()) {
            (Some(c), _) => {
                let in_background = st.background_since_mono.map(|b| mono - b.max(c.last_mono));
                let timed_out = st.rotate_next
                    || in_background.is_some_and(|ms| ms > self.background_ms)
                    || mono - c.last_mono > self.foreground_ms;
                if timed_out {
                    ended = Some((in_session(&c, c.last_mono), c.last_wall));
                    None
                } else {
                    Some(c)
                }
            }
            // The process restarted: the session goes on if its last activity
            // was recent enough (and not in the future: a clock set back).
            (None, Some((id, last_wall))) => {
                let gap = wall - last_wall;
                if (0..=self.background_ms).contains(&gap) && id <= wall {
                    Some(Current { id, start_mono: mono - (wall - id), last_mono: mono, last_wall: wall })
                } else {
                    let last_mono = mono - gap.max(0);
                    let c = Current { id, start_mono: mono - (wall - id).max(0), last_mono, last_wall };
                    ended = Some((in_session(&c, last_mono), last_wall));
                    None
                }
            }
            (None, None) => None,
        };
        st.rotate_next = false;
        let started = current.is_none();
        // A new session's id is later than the one it follows, even when the
        // wall clock stands still or was set back.
        let id = ended.map_or(wall, |(e, _)| wall.max(e.id + 1));
        let mut c = current.unwrap_or(Current { id, start_mono: mono, last_mono: mono, last_wall: wall });
        c.last_mono = c.last_mono.max(mono);
        c.last_wall = wall;
        st.current = Some(c);
        if st.background_since_mono.is_some() {
            st.background_since_mono = Some(mono);
        }
        let persist = (started || (wall - st.persisted_wall).abs() >= PERSIST_EVERY_MS).then(|| {
            st.persisted_wall = wall;
            meta_value(c.id, wall)
        });
        Touch { now: in_session(&c, mono), ended, started, persist }
    }

    /// Ends the session now: the next hit starts a new one (`at_session_start`,
    /// `at_reset`), which starts at once. Returns the touch of the new session.
    pub fn restart(&self, wall: i64, mono: i64) -> Touch {
        {
            let mut st = self.state.lock();
            if st.current.is_none() && st.restored.is_some() {
                drop(st);
                self.touch(wall, mono);
                st = self.state.lock();
            }
            st.rotate_next = true;
        }
        self.touch(wall, mono)
    }

    /// The session in force at `mono` without touching it: `None` before the
    /// first hit of this process decided whether the kept one goes on.
    pub fn current(&self, mono: i64) -> Option<InSession> {
        self.state.lock().current.map(|c| in_session(&c, mono))
    }

    pub fn enter_background(&self, mono: i64) {
        let mut st = self.state.lock();
        st.background_since_mono.get_or_insert(mono);
    }

    pub fn enter_foreground(&self, mono: i64) {
        let mut st = self.state.lock();
        if let Some(since) = st.background_since_mono.take() {
            let last = st.current.map_or(since, |c| c.last_mono);
            if mono - since.max(last) > self.background_ms {
                st.rotate_next = true;
            }
        }
    }

    /// The `meta` value for the session in force (at close and on entering the
    /// background), so the next process can continue it.
    pub fn snapshot(&self) -> Option<String> {
        let mut st = self.state.lock();
        let c = st.current?;
        st.persisted_wall = c.last_wall;
        Some(meta_value(c.id, c.last_wall))
    }
}

fn in_session(c: &Current, mono: i64) -> InSession {
    InSession { id: c.id, elapsed_ms: (mono - c.start_mono).max(0) }
}

fn meta_value(id: i64, last_wall: i64) -> String {
    format!("{id} {last_wall}")
}

fn parse_meta(v: &str) -> Option<(i64, i64)> {
    let (id, last) = v.split_once(' ')?;
    Some((id.parse().ok()?, last.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const T0: i64 = 1_795_366_000_000;

    fn sessions() -> Sessions {
        Sessions::new(30 * MIN as u32, 5 * MIN as u32, None)
    }

    #[test]
    fn the_first_hit_starts_a_session_named_by_its_start() {
        let s = sessions();
        assert_eq!(s.current(0), None);
        let t = s.touch(T0, 1000);
        assert!(t.started && t.ended.is_none());
        assert_eq!(t.now, InSession { id: T0, elapsed_ms: 0 });
        assert_eq!(t.persist.as_deref(), Some(&*format!("{T0} {T0}")));
        let t = s.touch(T0 + 500, 1500);
        assert_eq!(t.now, InSession { id: T0, elapsed_ms: 500 });
        assert!(!t.started && t.persist.is_none());
    }

    #[test]
    fn foreground_inactivity_longer_than_the_timeout_rotates() {
        let s = sessions();
        s.touch(T0, 0);
        assert!(!s.touch(T0 + 29 * MIN, 29 * MIN).started, "activity keeps it alive");
        assert!(!s.touch(T0 + 58 * MIN, 58 * MIN).started);
        let t = s.touch(T0 + 89 * MIN, 89 * MIN);
        assert!(t.started);
        assert_eq!(t.now.id, T0 + 89 * MIN);
        let (ended, last_wall) = t.ended.unwrap();
        assert_eq!((ended.id, ended.elapsed_ms, last_wall), (T0, 58 * MIN, T0 + 58 * MIN));
    }

    #[test]
    fn the_wall_clock_jumping_does_not_rotate() {
        let s = sessions();
        s.touch(T0, 0);
        let t = s.touch(T0 + 24 * 60 * MIN, MIN);
        assert!(!t.started, "the monotonic clock says one minute passed");
        assert_eq!(t.now.elapsed_ms, MIN);
    }

    #[test]
    fn the_background_timeout_applies_to_time_spent_in_the_background() {
        let s = sessions();
        s.touch(T0, 0);
        s.enter_background(MIN);
        assert!(!s.touch(T0 + 5 * MIN, 5 * MIN).started, "4 minutes in the background");
        // Activity in the background resets its timer.
        assert!(!s.touch(T0 + 9 * MIN, 9 * MIN).started);
        s.enter_foreground(15 * MIN);
        let t = s.touch(T0 + 15 * MIN, 15 * MIN);
        assert!(t.started, "6 minutes in the background without activity");
        s.enter_background(16 * MIN);
        s.enter_foreground(18 * MIN);
        assert!(!s.touch(T0 + 18 * MIN, 18 * MIN).started, "2 minutes in the background");
    }

    #[test]
    fn a_kept_session_goes_on_after_a_short_restart_only() {
        let kept = format!("{T0} {}", T0 + MIN);
        let s = Sessions::new(30 * MIN as u32, 5 * MIN as u32, Some(&kept));
        let t = s.touch(T0 + 3 * MIN, 7);
        assert!(!t.started);
        assert_eq!(t.now, InSession { id: T0, elapsed_ms: 3 * MIN });

        let s = Sessions::new(30 * MIN as u32, 5 * MIN as u32, Some(&kept));
        let t = s.touch(T0 + 7 * MIN, 7);
        assert!(t.started);
        assert_eq!(t.ended.map(|(e, w)| (e.id, w)), Some((T0, T0 + MIN)));

        let s = Sessions::new(30 * MIN as u32, 5 * MIN as u32, Some("damaged"));
        assert!(s.touch(T0, 0).ended.is_none(), "a damaged value is no session");
    }

    #[test]
    fn restart_starts_a_new_session_at_once() {
        let s = sessions();
        s.touch(T0, 0);
        let t = s.restart(T0 + 1000, 1000);
        assert!(t.started);
        assert_eq!(t.now.id, T0 + 1000);
        assert_eq!(t.ended.unwrap().0.id, T0);
        assert_eq!(s.snapshot().as_deref(), Some(&*format!("{} {}", T0 + 1000, T0 + 1000)));
    }
}
