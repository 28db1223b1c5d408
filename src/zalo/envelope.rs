//! A signed webhook body read in one pass: the signing fields and the event.
//!
//! Why not `serde_json::Value`: building the whole tree (a `BTreeMap` per object, a
//! `String` per key) and dropping it was about a third of the webhook handler's CPU.
//! Here serde reads only the fields `event.rs` uses and skips the rest. The meaning is
//! `Event::parse`'s on a `Value`, and a test holds the two readers to the same answers:
//! every field is lenient (a value of another type reads as absent, as `Value::get`
//! would give nothing usable). A body this reader cannot take the same way (not an
//! object, a key given twice, which `Value` resolves as the last one wins) goes through
//! `Value` instead, so odd bodies keep their old answers. One difference is left: a
//! lone surrogate escape (`"\ud800"`) inside a field this reader skips is accepted,
//! where `Value` refuses the whole body. JSON's grammar allows it, and the field is not
//! used.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::event::{Event, EventError, UserIdAt, signing_fields};

/// What the webhook needs from a body.
#[derive(Debug, PartialEq)]
pub struct Envelope {
    /// `app_id` and `timestamp` as the strings used in the signature.
    pub app_id: Option<String>,
    pub timestamp: Option<String>,
    pub event: Result<Event, EventError>,
}

impl Envelope {
    /// Reads a body; an error means it is not JSON.
    pub fn read(body: &[u8]) -> Result<Envelope, serde_json::Error> {
        // Invalid UTF-8 is refused as `Value` refuses it, even in a skipped field.
        if let Ok(text) = std::str::from_utf8(body)
            && let Ok(Lenient(Some(fast))) = serde_json::from_str::<Lenient<Body>>(text)
        {
            return Ok(fast.envelope());
        }
        serde_json::from_slice::<Value>(body).map(|value| Envelope::from_value(&value))
    }

    /// The same through `serde_json::Value` (the reference reading).
    pub fn from_value(body: &Value) -> Envelope {
        let (app_id, timestamp) = signing_fields(body);
        Envelope { app_id, timestamp, event: Event::parse(body) }
    }
}

#[derive(Default, Deserialize)]
struct Body {
    #[serde(default)]
    app_id: Id,
    #[serde(default)]
    timestamp: Id,
    #[serde(default)]
    event_name: Id,
    #[serde(default)]
    user_id: Id,
    #[serde(default)]
    sender: Lenient<Who>,
    #[serde(default)]
    recipient: Lenient<Who>,
    #[serde(default)]
    follower: Lenient<Who>,
    #[serde(default)]
    message: Lenient<Message>,
}

#[derive(Default, Deserialize)]
struct Who {
    #[serde(default)]
    id: Id,
}

#[derive(Default, Deserialize)]
struct Message {
    #[serde(default)]
    msg_id: Id,
    #[serde(default)]
    text: Text,
}

impl Body {
    /// Moves the fields out; only the one user id the event's kind picks is copied.
    fn envelope(self) -> Envelope {
        let Body { app_id, timestamp, event_name, user_id, sender, recipient, follower, message } =
            self;
        let id_of = |who: &Lenient<Who>| who.0.as_ref().and_then(|w| w.id.0.clone());
        let user_id_at = |at| match at {
            UserIdAt::Sender => id_of(&sender),
            UserIdAt::Recipient => id_of(&recipient),
            UserIdAt::Follower => id_of(&follower),
            UserIdAt::UserId => user_id.0.clone(),
        };
        let (msg_id, text) = message.0.map_or((None, None), |m| (m.msg_id.0, m.text.0));
        let event = Event::build(event_name.0, user_id_at, msg_id, text);
        Envelope { app_id: app_id.0, timestamp: timestamp.0, event }
    }
}

/// An id: a non-empty string, or a number kept as its decimal text (`event.rs`'s
/// `id_string`); anything else reads as absent.
#[derive(Default)]
struct Id(Option<String>);

/// A text: any string, empty included (`Value::as_str`); anything else reads as absent.
#[derive(Default)]
struct Text(Option<String>);

/// An object read as `T`; anything else reads as absent.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

/// Implements `expecting` and, for each kind of JSON value listed, a visit that skips
/// the value and reads the field as absent (`Default`).
macro_rules! absent_otherwise {
    ($($kind:ident)*) => {
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        $(absent_otherwise!(@visit $kind);)*
    };
    (@visit seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
    (@visit map) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
    (@visit numbers) => {
        absent_otherwise!(@scalar visit_u64(u64));
        absent_otherwise!(@scalar visit_i64(i64));
        absent_otherwise!(@scalar visit_f64(f64));
    };
    (@visit str) => { absent_otherwise!(@scalar visit_str(&str)); };
    (@visit bool) => { absent_otherwise!(@scalar visit_bool(bool)); };
    (@visit unit) => { absent_otherwise!(@scalar visit_unit()); };
    (@scalar $method:ident($($arg:ty)?)) => {
        fn $method<E: serde::de::Error>(self $(, _: $arg)?) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = Id;

    absent_otherwise!(bool unit seq map);

    fn visit_str<E>(self, s: &str) -> Result<Id, E> {
        Ok(Id((!s.is_empty()).then(|| s.to_owned())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Id, E> {
        Ok(Id(Some(serde_json::Number::from(n).to_string())))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Id, E> {
        Ok(Id(Some(serde_json::Number::from(n).to_string())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Id, E> {
        Ok(Id(serde_json::Number::from_f64(n).map(|n| n.to_string())))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        d.deserialize_any(IdVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    absent_otherwise!(bool unit numbers seq map);

    fn visit_str<E>(self, s: &str) -> Result<Text, E> {
        Ok(Text(Some(s.to_owned())))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    absent_otherwise!(bool unit numbers str seq);

    /// Only a map is read as `T` (a derived struct would also take an array, by
    /// position, where `Value::get` finds nothing).
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lenient<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Lenient<T>, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both readers give the same answer, for ordinary and for odd bodies.
    #[test]
    fn reads_every_body_as_the_value_reader_does() {
        let bodies = [
            r#"{"app_id":"1","event_name":"user_send_text","sender":{"id":"246845883529197922"},"recipient":{"id":"9"},"message":{"text":"xin chào","msg_id":"96d3cdf3af150460909"},"timestamp":"154390853474"}"#,
            r#"{"event_name":"user_send_image","sender":{"id":"5"},"message":{"msg_id":"m2","attachments":[{"type":"image","payload":{"url":"http://x"}}]}}"#,
            r#"{"event_name":"follow","oa_id":"9","follower":{"id":246845883529197922},"source":"oa_profile"}"#,
            r#"{"event_name":"unfollow","follower":{"id":"7"}}"#,
            r#"{"event_name":"user_click_chatnow","user_id":"8"}"#,
            r#"{"event_name":"oa_send_text","sender":{"id":"9"},"recipient":{"id":"3"},"message":{"msg_id":"m","text":"hi"}}"#,
            r#"{"event_name":"user_seen_message","recipient":{"id":"3"},"message":{"msg_ids":["a","b"]}}"#,
            r#"{"event_name":"user_withdraw","follower":{"id":"4"}}"#,
            r#"{"event_name":"user_withdraw","sender":{"id":"5"},"follower":{"id":"4"}}"#,
            r#"{"event_name":"user_withdraw","user_id":"","sender":{"id":"5"}}"#,
            r#"{"event_name":"shop_has_order"}"#,
            r#"{"app_id":360846524940903967,"timestamp":1735693200123,"event_name":"user_send_text"}"#,
            r#"{"app_id":-12,"timestamp":1.5e3,"event_name":12}"#,
            // Odd types: read as absent, never an error.
            r#"{"app_id":true,"timestamp":null,"event_name":"user_send_text","sender":"5","message":{"text":12,"msg_id":{"x":1}}}"#,
            r#"{"event_name":"user_send_text","sender":["5"],"message":[{"text":"x"}]}"#,
            r#"{"event_name":"user_send_text","sender":{"id":["5"]},"message":{"text":["x"],"msg_id":[]}}"#,
            r#"{"event_name":"user_send_text","sender":{"id":""},"message":{"text":""}}"#,
            r#"{"event_name":null,"sender":{"id":"5"}}"#,
            r#"{"event_name":"","sender":{"id":"5"}}"#,
            r#"{}"#,
            // Escapes in keys and values.
            r#"{"event\u005fname":"user_send_text","sender":{"id":"\u0035"},"message":{"text":"a\nb\u00e0"}}"#,
            // A key given twice: the last one wins, as in a `Value`.
            r#"{"event_name":"follow","event_name":"user_send_text","sender":{"id":"1","id":"2"}}"#,
            r#"{"event_name":"user_send_text","message":{"text":"a"},"message":{"text":"b"}}"#,
            // Not objects.
            r#"[1,2]"#,
            r#""user_send_text""#,
            r#"12"#,
            r#"null"#,
            // Deep nesting in a skipped field.
            r#"{"event_name":"user_send_text","info":{"a":[[[{"b":[1,{"c":null}]}]]]},"sender":{"id":"5","x":{"y":[]}}}"#,
        ];
        for body in bodies {
            let reference = Envelope::from_value(&serde_json::from_str(body).unwrap());
            assert_eq!(Envelope::read(body.as_bytes()).unwrap(), reference, "{body}");
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_an_error() {
        for body in ["", "{", r#"{"event_name":"x"} trailing"#, r#"{"a":"\q"}"#, "nul"] {
            assert!(Envelope::read(body.as_bytes()).is_err(), "{body}");
        }
        assert!(Envelope::read(b"{\"a\":\"\xff\"}").is_err(), "invalid UTF-8");
    }
}
