//! Method names → constructors. The names are the public interface (configs, `--method`,
//! file names); add to this table, never rename.

use crate::attention_rollout::AttentionRollout;
use crate::cam::{
    AblationCam, EigenCam, GradCam, GradCamPlusPlus, HiResCam, LayerCam, ScoreCam, XGradCam,
};
use crate::deconvnet::Deconvnet;
use crate::error::{ExplainError, Result};
use crate::grad_x_input::GradXInput;
use crate::gradient::Gradient;
use crate::guided_backprop::GuidedBackprop;
use crate::guided_gradcam::GuidedGradCam;
use crate::integrated_gradients::IntegratedGradients;
use crate::method::Method;
use crate::occlusion_method::OcclusionMethod;
use crate::params::Params;
use crate::rise::Rise;
use crate::saliency::Saliency;
use crate::smoothgrad::SmoothGrad;
use crate::transformer_attribution::TransformerAttribution;

type Constructor = fn(&Params) -> Result<Box<dyn Method>>;

fn boxed<M: Method + 'static>(m: Result<M>) -> Result<Box<dyn Method>> {
    m.map(|m| Box::new(m) as Box<dyn Method>)
}

/// Every method Lantern knows, in the order reports list them.
pub const METHODS: &[(&str, Constructor)] = &[
    ("saliency", |p| boxed(Saliency::from_params(p))),
    ("gradient", |p| boxed(Gradient::from_params(p))),
    ("grad-x-input", |p| boxed(GradXInput::from_params(p))),
    ("smoothgrad", |p| boxed(SmoothGrad::from_params(p))),
    ("integrated-gradients", |p| {
        boxed(IntegratedGradients::from_params(p))
    }),
    ("guided-backprop", |p| boxed(GuidedBackprop::from_params(p))),
    ("deconvnet", |p| boxed(Deconvnet::from_params(p))),
    ("guided-gradcam", |p| boxed(GuidedGradCam::from_params(p))),
    ("gradcam", |p| boxed(GradCam::from_params(p))),
    ("gradcam++", |p| boxed(GradCamPlusPlus::from_params(p))),
    ("xgradcam", |p| boxed(XGradCam::from_params(p))),
    ("layercam", |p| boxed(LayerCam::from_params(p))),
    ("hirescam", |p| boxed(HiResCam::from_params(p))),
    ("scorecam", |p| boxed(ScoreCam::from_params(p))),
    ("ablationcam", |p| boxed(AblationCam::from_params(p))),
    ("eigencam", |p| boxed(EigenCam::from_params(p))),
    ("occlusion", |p| boxed(OcclusionMethod::from_params(p))),
    // An alias of `occlusion` with `incremental = "on"`.
    ("occlusion-incremental", |p| {
        boxed(OcclusionMethod::incremental_from_params(p))
    }),
    ("rise", |p| boxed(Rise::from_params(p))),
    ("attention-rollout", |p| {
        boxed(AttentionRollout::from_params(p))
    }),
    ("transformer-attribution", |p| {
        boxed(TransformerAttribution::from_params(p))
    }),
];

pub fn method_names() -> Vec<&'static str> {
    METHODS.iter().map(|(n, _)| *n).collect()
}

/// One method's parameters and their defaults, read from the method itself: it is built with no
/// parameters and every key it reads is recorded (`lantern methods` prints them).
pub fn method_params(name: &str) -> Result<Vec<(String, String)>> {
    let params = Params::new(name, Default::default());
    build_method(name, &params)?;
    Ok(params.read_keys())
}

/// Builds a method from its name and parameters; unknown names and unknown keys are errors.
pub fn build_method(name: &str, params: &Params) -> Result<Box<dyn Method>> {
    let (_, make) =
        METHODS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| ExplainError::UnknownMethod {
                name: name.to_string(),
                available: method_names().join(", "),
            })?;
    let method = make(params)?;
    params.finish()?;
    Ok(method)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;
    use std::collections::BTreeMap;

    #[test]
    fn every_method_builds_with_defaults_and_names_itself() {
        for (name, _) in METHODS {
            let m = build_method(name, &Params::new(name, BTreeMap::new())).unwrap();
            assert_eq!(m.name(), *name);
        }
        assert_eq!(METHODS.len(), 21);
    }

    #[test]
    fn parameters_and_defaults_come_from_the_methods() {
        let occlusion = method_params("occlusion").unwrap();
        assert!(
            occlusion.contains(&("window".to_string(), "32".to_string())),
            "{occlusion:?}"
        );
        assert!(
            occlusion.contains(&("stride".to_string(), "14".to_string())),
            "{occlusion:?}"
        );
        let ig = method_params("integrated-gradients").unwrap();
        assert!(
            ig.iter()
                .any(|(k, d)| k == "method" && d.starts_with("riemann_trapezoid")),
            "{ig:?}"
        );
        assert!(method_params("saliency").unwrap().is_empty());
        assert!(method_params("bogus").is_err());
    }

    #[test]
    fn typos_and_conflicts_are_errors() {
        let mut v = BTreeMap::new();
        v.insert("step".to_string(), ParamValue::Int(16));
        let err = build_method(
            "integrated-gradients",
            &Params::new("integrated-gradients", v),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("step"), "{err}");
        let mut v = BTreeMap::new();
        v.insert("layer".to_string(), ParamValue::Text("a".into()));
        v.insert("layers".to_string(), ParamValue::Text("a,b".into()));
        assert!(build_method("gradcam", &Params::new("gradcam", v)).is_err());
        let mut v = BTreeMap::new();
        v.insert("method".to_string(), ParamValue::Text("simpson".into()));
        assert!(
            build_method(
                "integrated-gradients",
                &Params::new("integrated-gradients", v)
            )
            .is_err()
        );
    }
}
