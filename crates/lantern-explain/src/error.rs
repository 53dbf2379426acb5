/// Errors from attribution methods. Messages name the method and parameter involved.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    Runtime(#[from] lantern_runtime::RuntimeError),
    #[error("unknown method {name:?}; available: {available}")]
    UnknownMethod { name: String, available: String },
    #[error("method {method}: unknown parameter {key:?}; it takes: {accepted}")]
    UnknownParam {
        method: String,
        key: String,
        accepted: String,
    },
    #[error("method {method}: parameter {key} = {value:?}: {message}")]
    BadParam {
        method: String,
        key: String,
        value: String,
        message: String,
    },
    #[error(
        "target class {target} is out of range: the model has {classes} classes (0..{classes})"
    )]
    TargetOutOfRange { target: usize, classes: usize },
    #[error("{method}: {message}")]
    Failed { method: String, message: String },
}

pub type Result<T, E = ExplainError> = std::result::Result<T, E>;
