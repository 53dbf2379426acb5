//! What can go wrong while scoring a map. Messages name the metric and the setting involved.

/// Errors from the faithfulness metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    Runtime(#[from] lantern_runtime::RuntimeError),
    #[error(transparent)]
    Graph(#[from] lantern_graph::GraphError),
    /// Arrays whose shapes do not fit together (map vs image, batch vs model).
    #[error("{metric}: {message}")]
    Shape {
        metric: &'static str,
        message: String,
    },
    /// A setting outside its range (a zero step, a target beyond the logits, …).
    #[error("{metric}: {message}")]
    Setting {
        metric: &'static str,
        message: String,
    },
    /// A metric name that is not in the registry.
    #[error("unknown metric {name:?}; available: {available}")]
    UnknownMetric { name: String, available: String },
    /// The caller's map function failed while a metric recomputed a map.
    #[error("{metric}: recomputing the map failed: {source}")]
    Map {
        metric: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Writing a summary table failed.
    #[error("writing {path}: {message}")]
    Write {
        path: std::path::PathBuf,
        message: String,
    },
}

pub type Result<T, E = MetricsError> = std::result::Result<T, E>;

pub(crate) fn shape_error(metric: &'static str, message: impl Into<String>) -> MetricsError {
    MetricsError::Shape {
        metric,
        message: message.into(),
    }
}

pub(crate) fn setting_error(metric: &'static str, message: impl Into<String>) -> MetricsError {
    MetricsError::Setting {
        metric,
        message: message.into(),
    }
}
