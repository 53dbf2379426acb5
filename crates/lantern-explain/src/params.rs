//! Method parameters as given on the command line (`--param k=v`) or in a TOML table. Each
//! method reads the keys it knows through [`Params`]; any key left unread is an error, so a typo
//! never silently falls back to a default.

use crate::error::{ExplainError, Result};
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl ParamValue {
    /// `k=v` strings from the CLI: numbers and booleans are typed, the rest is text.
    pub fn parse(text: &str) -> ParamValue {
        if let Ok(i) = text.parse::<i64>() {
            ParamValue::Int(i)
        } else if let Ok(f) = text.parse::<f64>() {
            ParamValue::Float(f)
        } else if let Ok(b) = text.parse::<bool>() {
            ParamValue::Bool(b)
        } else {
            ParamValue::Text(text.to_string())
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Text(s) => f.write_str(s),
        }
    }
}

/// A method's parameters plus a record of which keys were read, each with its default as text
/// (what `lantern methods` lists).
pub struct Params {
    method: String,
    values: BTreeMap<String, ParamValue>,
    read: RefCell<BTreeMap<String, String>>,
}

impl Params {
    pub fn new(method: &str, values: BTreeMap<String, ParamValue>) -> Params {
        Params {
            method: method.to_string(),
            values,
            read: RefCell::new(BTreeMap::new()),
        }
    }

    fn bad(&self, key: &str, value: &ParamValue, message: &str) -> ExplainError {
        ExplainError::BadParam {
            method: self.method.clone(),
            key: key.to_string(),
            value: value.to_string(),
            message: message.to_string(),
        }
    }

    fn get(&self, key: &str, default: impl ToString) -> Option<&ParamValue> {
        self.read
            .borrow_mut()
            .entry(key.to_string())
            .or_insert_with(|| default.to_string());
        self.values.get(key)
    }

    /// Every key read so far with its default, in key order.
    pub fn read_keys(&self) -> Vec<(String, String)> {
        self.read
            .borrow()
            .iter()
            .map(|(k, d)| (k.clone(), d.clone()))
            .collect()
    }

    pub fn usize_or(&self, key: &str, default: usize) -> Result<usize> {
        match self.get(key, default) {
            None => Ok(default),
            Some(ParamValue::Int(i)) if *i >= 0 => Ok(*i as usize),
            Some(v) => Err(self.bad(key, v, "expected a non-negative integer")),
        }
    }

    /// An optional non-negative integer (`None` when absent).
    pub fn usize_opt(&self, key: &str) -> Result<Option<usize>> {
        match self.get(key, "none") {
            None => Ok(None),
            Some(ParamValue::Int(i)) if *i >= 0 => Ok(Some(*i as usize)),
            Some(v) => Err(self.bad(key, v, "expected a non-negative integer")),
        }
    }

    pub fn positive_usize_or(&self, key: &str, default: usize) -> Result<usize> {
        let v = self.usize_or(key, default)?;
        if v == 0 {
            return Err(self.bad(key, &ParamValue::Int(0), "must be at least 1"));
        }
        Ok(v)
    }

    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key, default) {
            None => Ok(default),
            Some(ParamValue::Int(i)) => Ok(*i as f64),
            Some(ParamValue::Float(x)) if x.is_finite() => Ok(*x),
            Some(v) => Err(self.bad(key, v, "expected a finite number")),
        }
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key, default) {
            None => Ok(default),
            Some(ParamValue::Bool(b)) => Ok(*b),
            Some(v) => Err(self.bad(key, v, "expected true or false")),
        }
    }

    /// A text choice among `allowed` (the first is the default).
    pub fn choice(&self, key: &str, allowed: &[&'static str]) -> Result<&'static str> {
        let default = match allowed {
            [only] => only.to_string(),
            [first, rest @ ..] => format!("{first} (or {})", rest.join(", ")),
            [] => String::new(),
        };
        match self.get(key, default) {
            None => Ok(allowed[0]),
            Some(ParamValue::Text(s)) => allowed
                .iter()
                .find(|a| **a == s.as_str())
                .copied()
                .ok_or_else(|| {
                    self.bad(
                        key,
                        &ParamValue::Text(s.clone()),
                        &format!("expected one of {}", allowed.join(", ")),
                    )
                }),
            Some(v) => Err(self.bad(key, v, &format!("expected one of {}", allowed.join(", ")))),
        }
    }

    pub fn text(&self, key: &str) -> Result<Option<String>> {
        match self.get(key, "none") {
            None => Ok(None),
            Some(ParamValue::Text(s)) => Ok(Some(s.clone())),
            Some(v) => Ok(Some(v.to_string())),
        }
    }

    /// Call after construction: any key the method did not read is an error naming it.
    pub fn finish(&self) -> Result<()> {
        let read = self.read.borrow();
        if let Some(key) = self.values.keys().find(|k| !read.contains_key(*k)) {
            return Err(ExplainError::UnknownParam {
                method: self.method.clone(),
                key: key.clone(),
                accepted: read.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_keys_are_errors_naming_the_key() {
        let mut values = BTreeMap::new();
        values.insert("windw".to_string(), ParamValue::Int(3));
        let p = Params::new("occlusion", values);
        assert_eq!(p.usize_or("window", 32).unwrap(), 32);
        let err = p.finish().unwrap_err().to_string();
        assert!(err.contains("windw") && err.contains("window"), "{err}");
    }

    #[test]
    fn values_are_typed() {
        assert_eq!(ParamValue::parse("64"), ParamValue::Int(64));
        assert_eq!(ParamValue::parse("0.15"), ParamValue::Float(0.15));
        assert_eq!(ParamValue::parse("true"), ParamValue::Bool(true));
        assert_eq!(ParamValue::parse("blur"), ParamValue::Text("blur".into()));
    }
}
