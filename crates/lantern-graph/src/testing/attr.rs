//! Attributes written as constants, so that a test's cases can be one `const` table (a row
//! per case, as tract's and ONNX's test suites list them) instead of a call per case.

use crate::ir::{a_int, a_ints, a_string};
use crate::proto::AttributeProto;

/// One node attribute as a constant.
#[derive(Debug, Clone, Copy)]
pub enum Attr {
    Int(&'static str, i64),
    Ints(&'static str, &'static [i64]),
    Str(&'static str, &'static str),
}

impl Attr {
    pub fn proto(self) -> AttributeProto {
        match self {
            Attr::Int(name, v) => a_int(name, v),
            Attr::Ints(name, v) => a_ints(name, v),
            Attr::Str(name, v) => a_string(name, v),
        }
    }
}

/// The attribute protos of `list`, in order.
pub fn attrs(list: &[Attr]) -> Vec<AttributeProto> {
    list.iter().map(|a| a.proto()).collect()
}
