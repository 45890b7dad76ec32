//! The Segment call an event hit stands for. The `type` column holds the call's
//! subject: the event name (`track`), the screen name (`screen`), the group id
//! (`group`), the previous id (`alias`), nothing (`identify`, stored as "").

/// Which Segment HTTP API call an event is sent as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Call {
    /// `{"type":"track","event":…,"properties":…}`: the default.
    #[default]
    Track,
    /// `{"type":"screen","name":…,"properties":…}`.
    Screen,
    /// `{"type":"identify","traits":…}`.
    Identify,
    /// `{"type":"group","groupId":…,"traits":…}`.
    Group,
    /// `{"type":"alias","previousId":…}` (the new id is the hit's `userId`).
    Alias,
}

impl Call {
    /// The stored code (`hits.call`; NULL in rows stored before schema 4 = 0).
    pub(crate) fn code(self) -> i64 {
        match self {
            Call::Track => 0,
            Call::Screen => 1,
            Call::Identify => 2,
            Call::Group => 3,
            Call::Alias => 4,
        }
    }

    pub(crate) fn from_code(code: Option<i64>) -> Option<Call> {
        Some(match code.unwrap_or(0) {
            0 => Call::Track,
            1 => Call::Screen,
            2 => Call::Identify,
            3 => Call::Group,
            4 => Call::Alias,
            _ => return None,
        })
    }

    /// The call's `type` on the wire.
    pub fn wire_type(self) -> &'static str {
        match self {
            Call::Track => "track",
            Call::Screen => "screen",
            Call::Identify => "identify",
            Call::Group => "group",
            Call::Alias => "alias",
        }
    }

    /// The wire key of the stored subject (`type` column); `None` for identify.
    pub(crate) fn subject_key(self) -> Option<&'static str> {
        match self {
            Call::Track => Some("event"),
            Call::Screen => Some("name"),
            Call::Identify => None,
            Call::Group => Some("groupId"),
            Call::Alias => Some("previousId"),
        }
    }

    /// The wire key of the stored body: `properties` or `traits`; `None` for
    /// alias, which has neither.
    pub(crate) fn body_key(self) -> Option<&'static str> {
        match self {
            Call::Track | Call::Screen => Some("properties"),
            Call::Identify | Call::Group => Some("traits"),
            Call::Alias => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_null_is_track() {
        for c in [Call::Track, Call::Screen, Call::Identify, Call::Group, Call::Alias] {
            assert_eq!(Call::from_code(Some(c.code())), Some(c));
        }
        assert_eq!(Call::from_code(None), Some(Call::Track));
        assert_eq!(Call::from_code(Some(9)), None);
    }
}
