//! The user's consent to collection, shared by the tracker (which refuses calls
//! when it is denied) and the delivery thread (which sends nothing and fetches
//! no remote configuration until it is granted).

use std::sync::atomic::{AtomicU8, Ordering::SeqCst};

/// The user's answer to the consent question.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Consent {
    /// Collected and sent: the default, and the behaviour without a consent flow.
    #[default]
    Granted,
    /// Not answered yet: calls are accepted and stored with their own
    /// timestamps; nothing goes on the network until it is granted.
    Pending,
    /// Refused: everything queued was purged and later calls are refused.
    Denied,
}

impl Consent {
    /// The value kept in the store's `meta` table.
    pub(crate) fn meta_value(self) -> &'static str {
        match self {
            Consent::Granted => "granted",
            Consent::Pending => "pending",
            Consent::Denied => "denied",
        }
    }

    pub(crate) fn from_meta(value: &str) -> Option<Consent> {
        match value {
            "granted" => Some(Consent::Granted),
            "pending" => Some(Consent::Pending),
            "denied" => Some(Consent::Denied),
            _ => None,
        }
    }
}

/// The consent in force; changed only by `Tracker::set_consent`.
#[derive(Debug)]
pub struct ConsentCell(AtomicU8);

impl ConsentCell {
    pub fn new(c: Consent) -> Self {
        ConsentCell(AtomicU8::new(c as u8))
    }

    pub fn get(&self) -> Consent {
        match self.0.load(SeqCst) {
            0 => Consent::Granted,
            1 => Consent::Pending,
            _ => Consent::Denied,
        }
    }

    pub fn set(&self, c: Consent) {
        self.0.store(c as u8, SeqCst);
    }

    /// Whether anything may go on the network.
    pub fn allows_network(&self) -> bool {
        self.get() == Consent::Granted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_values_round_trip_and_the_cell_holds_each_state() {
        let cell = ConsentCell::new(Consent::default());
        assert!(cell.allows_network());
        for c in [Consent::Granted, Consent::Pending, Consent::Denied] {
            assert_eq!(Consent::from_meta(c.meta_value()), Some(c));
            cell.set(c);
            assert_eq!(cell.get(), c);
            assert_eq!(cell.allows_network(), c == Consent::Granted);
        }
        assert_eq!(Consent::from_meta("yes"), None);
    }
}
