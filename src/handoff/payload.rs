//! The hand-off's own button payloads (`#h:…`): built by `render`, read by the edge
//! (`handoff_runtime::chat`). Any `#h:` text that is none of these is `Malformed` and
//! answered by nobody (an old button); text without the prefix is `NotOurs`.

use std::fmt;
use std::str::FromStr;

/// Payload prefix of the hand-off's own buttons.
pub const PREFIX: &str = "#h:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `noi:<code>`: the citizen picked this place.
    Place(String),
    /// `doinoi`: the citizen wants to name another place.
    ChangePlace,
    /// `huy:<id>`: cancel the request.
    Cancel(u64),
    /// `tiep:<id>`: write on to the team about the request.
    Continue(u64),
    /// `dg:<id>:<1|0>`: satisfied or not.
    Rate { id: u64, satisfied: bool },
    /// `boqua`: no rating.
    Skip,
    /// `gui`: a member sends the pending plain-text answer.
    Send,
    /// `khonggui`: a member drops it.
    DontSend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    NotOurs,
    Malformed,
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        match self {
            Payload::Place(code) => write!(f, "noi:{code}"),
            Payload::ChangePlace => f.write_str("doinoi"),
            Payload::Cancel(id) => write!(f, "huy:{id}"),
            Payload::Continue(id) => write!(f, "tiep:{id}"),
            Payload::Rate { id, satisfied } => write!(f, "dg:{id}:{}", u8::from(*satisfied)),
            Payload::Skip => f.write_str("boqua"),
            Payload::Send => f.write_str("gui"),
            Payload::DontSend => f.write_str("khonggui"),
        }
    }
}

impl FromStr for Payload {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Payload, PayloadError> {
        let payload = text.strip_prefix(PREFIX).ok_or(PayloadError::NotOurs)?;
        let mut parts = payload.split(':');
        let head = parts.next().unwrap_or("");
        let id = parts.next().and_then(|n| n.parse::<u64>().ok());
        Ok(match (head, id) {
            ("noi", _) => Payload::Place(payload.trim_start_matches("noi:").to_owned()),
            ("doinoi", _) => Payload::ChangePlace,
            ("huy", Some(id)) => Payload::Cancel(id),
            ("tiep", Some(id)) => Payload::Continue(id),
            ("dg", Some(id)) => Payload::Rate { id, satisfied: parts.next() == Some("1") },
            ("boqua", _) => Payload::Skip,
            ("gui", _) => Payload::Send,
            ("khonggui", _) => Payload::DontSend,
            _ => return Err(PayloadError::Malformed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let cases = [
            ("#h:noi:19774", Payload::Place("19774".into())),
            ("#h:doinoi", Payload::ChangePlace),
            ("#h:huy:12", Payload::Cancel(12)),
            ("#h:tiep:12", Payload::Continue(12)),
            ("#h:dg:12:1", Payload::Rate { id: 12, satisfied: true }),
            ("#h:dg:12:0", Payload::Rate { id: 12, satisfied: false }),
            ("#h:boqua", Payload::Skip),
            ("#h:gui", Payload::Send),
            ("#h:khonggui", Payload::DontSend),
        ];
        for (text, payload) in cases {
            assert_eq!(text.parse::<Payload>(), Ok(payload.clone()), "{text}");
            assert_eq!(payload.to_string(), text);
        }
    }

    #[test]
    fn other_texts_and_old_buttons() {
        let cases = [
            ("huy yeu cau", PayloadError::NotOurs),
            ("#c:menu:chao:1", PayloadError::NotOurs),
            ("#h:huy", PayloadError::Malformed),
            ("#h:tiep:x", PayloadError::Malformed),
            ("#h:", PayloadError::Malformed),
            ("#h:khac:1", PayloadError::Malformed),
        ];
        for (text, error) in cases {
            assert_eq!(text.parse::<Payload>(), Err(error), "{text}");
        }
    }
}
