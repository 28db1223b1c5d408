//! Button payloads: what a dialog button sends back when tapped, as if typed.
//!
//! `#c:<dialog>:<node>:<n>` (choice `n`, 1-based, of that node), `#g:<dialog>:<node>` (go
//! to that node), `#u:menu` (the main menu). Built by `render`, read by `engine`; any
//! other text starting with `#` is something the user typed. A payload of ours that no
//! longer parses (an old button) is `PayloadError::Malformed`, so the engine can say so.

use std::fmt;
use std::str::FromStr;

use super::model::Target;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Choice `number` (1-based, as shown) of `at`.
    Choice { at: Target, number: usize },
    /// Go to a node.
    Go(Target),
    /// The main menu.
    Menu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// Not a button payload of ours: text the user typed.
    NotOurs,
    /// Ours, but not in a shape this version reads (an old or altered button).
    Malformed,
}

impl Payload {
    /// Whether `text` is meant as one of our payloads (well formed or not).
    pub fn is_ours(text: &str) -> bool {
        ["#c:", "#g:", "#u:"].iter().any(|prefix| text.starts_with(prefix))
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Choice { at, number } => write!(f, "#c:{}:{}:{number}", at.dialog, at.node),
            Payload::Go(at) => write!(f, "#g:{}:{}", at.dialog, at.node),
            Payload::Menu => f.write_str("#u:menu"),
        }
    }
}

impl FromStr for Payload {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Payload, PayloadError> {
        if !Payload::is_ours(text) {
            return Err(PayloadError::NotOurs);
        }
        let target =
            |dialog: &str, node: &str| Target { dialog: dialog.to_owned(), node: node.to_owned() };
        let mut parts = text[1..].split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("c"), Some(dialog), Some(node), Some(n), None) => match n.parse() {
                Ok(number) => Ok(Payload::Choice { at: target(dialog, node), number }),
                Err(_) => Err(PayloadError::Malformed),
            },
            (Some("g"), Some(dialog), Some(node), None, None) => {
                Ok(Payload::Go(target(dialog, node)))
            }
            (Some("u"), Some("menu"), None, None, None) => Ok(Payload::Menu),
            _ => Err(PayloadError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(dialog: &str, node: &str) -> Target {
        Target { dialog: dialog.into(), node: node.into() }
    }

    #[test]
    fn payloads_round_trip() {
        let cases = [
            ("#c:dvc:gioi_thieu:1", Payload::Choice { at: at("dvc", "gioi_thieu"), number: 1 }),
            ("#c:menu:chao:12", Payload::Choice { at: at("menu", "chao"), number: 12 }),
            ("#g:khan_cap:gia_cong_an", Payload::Go(at("khan_cap", "gia_cong_an"))),
            ("#u:menu", Payload::Menu),
        ];
        for (text, payload) in cases {
            assert_eq!(text.parse::<Payload>(), Ok(payload.clone()), "{text}");
            assert_eq!(payload.to_string(), text);
        }
    }

    #[test]
    fn typed_hashes_and_old_buttons_are_told_apart() {
        let cases = [
            ("#", PayloadError::NotOurs),
            ("#c", PayloadError::NotOurs),
            ("#1", PayloadError::NotOurs),
            ("xin chào", PayloadError::NotOurs),
            ("#c:::", PayloadError::Malformed),
            ("#c:dvc:gioi_thieu", PayloadError::Malformed),
            ("#c:dvc:gioi_thieu:99999999999999999999", PayloadError::Malformed),
            ("#c:dvc:a:1:2", PayloadError::Malformed),
            ("#g:dvc", PayloadError::Malformed),
            ("#u:x", PayloadError::Malformed),
        ];
        for (text, error) in cases {
            assert_eq!(text.parse::<Payload>(), Err(error), "{text}");
        }
    }
}
