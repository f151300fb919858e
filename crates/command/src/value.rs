//! A parameter value: bytes, because a path on a Unix host need not be UTF-8. Most values
//! are text; in JSON and YAML a value that is not UTF-8 is written `{hex: "..."}`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// Values by parameter name.
pub type Values = BTreeMap<String, Value>;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Value(Vec<u8>);

impl Value {
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// A command-line argument as the OS gave it (any bytes on Unix).
    #[cfg(unix)]
    pub fn from_os(arg: impl Into<std::ffi::OsString>) -> Self {
        use std::os::unix::ffi::OsStringExt;
        Self(arg.into().into_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The value as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// For people: invalid bytes shown as U+FFFD.
    pub fn to_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self(text.as_bytes().to_vec())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self(text.into_bytes())
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => write!(f, "{text:?}"),
            None => write!(f, "bytes{:?}", self.0),
        }
    }
}

/// `name=value` as history shows it; values with spaces or quotes in `'…'`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_lossy();
        let plain = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || "-_./:@%+,=".contains(c));
        if plain {
            f.write_str(&text)
        } else {
            f.write_str(&crate::quote::quote(text.as_bytes()))
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Text(String),
    Bytes { hex: String },
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(text) => s.serialize_str(text),
            None => Repr::Bytes {
                hex: self.0.iter().map(|b| format!("{b:02x}")).collect(),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Text(text) => Ok(Self(text.into_bytes())),
            Repr::Bytes { hex } => decode_hex(&hex)
                .map(Self)
                .ok_or_else(|| serde::de::Error::custom("hex: not an even run of hex digits")),
        }
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_non_utf8_bytes() {
        let v = Value::from_bytes(vec![b'a', 0xff, b'\n']);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"hex":"61ff0a"}"#);
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), v);
        let text = Value::from("nginx");
        assert_eq!(serde_json::to_string(&text).unwrap(), r#""nginx""#);
    }

    #[test]
    fn display_is_short_for_plain_values() {
        assert_eq!(Value::from("nginx").to_string(), "nginx");
        assert_eq!(Value::from("a b").to_string(), "'a b'");
    }
}
