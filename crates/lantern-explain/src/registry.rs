//! Method names → constructors. The names are the public interface (configs, `--method`,
//! file names); add to this table, never rename.

use crate::attention_rollout::AttentionRollout;
use crate::baselines::{ModelFree, RandomMap, SobelMap};
use crate::cam::{
    AblationCam, Cam, EigenCam, GradCam, GradCamPlusPlus, HiResCam, LayerCam, ScoreCam, XGradCam,
};
use crate::deconvnet::Deconvnet;
use crate::error::{ExplainError, Result};
use crate::grad_x_input::GradXInput;
use crate::gradient::Gradient;
use crate::guided_backprop::GuidedBackprop;
use crate::guided_gradcam::GuidedGradCam;
use crate::integrated_gradients::IntegratedGradients;
use crate::method::{Method, MethodInfo};
use crate::occlusion_method::OcclusionMethod;
use crate::params::Params;
use crate::rise::Rise;
use crate::saliency::Saliency;
use crate::smoothgrad::SmoothGrad;
use crate::transformer_attribution::TransformerAttribution;
use std::collections::BTreeMap;

type Constructor = fn(&Params) -> Result<Box<dyn Method>>;

fn boxed<M: Method + 'static>(m: Result<M>) -> Result<Box<dyn Method>> {
    m.map(|m| Box::new(m) as Box<dyn Method>)
}

/// Every method Lantern knows, in the order reports list them.
pub const METHODS: &[(&str, Constructor)] = &[
    ("saliency", |_| boxed(Ok(Saliency))),
    ("gradient", |_| boxed(Ok(Gradient))),
    ("grad-x-input", |_| boxed(Ok(GradXInput))),
    ("smoothgrad", |p| boxed(SmoothGrad::from_params(p))),
    ("integrated-gradients", |p| {
        boxed(IntegratedGradients::from_params(p))
    }),
    ("guided-backprop", |_| boxed(Ok(GuidedBackprop))),
    ("deconvnet", |_| boxed(Ok(Deconvnet))),
    ("guided-gradcam", |p| boxed(GuidedGradCam::from_params(p))),
    ("gradcam", |p| boxed(Cam::new(GradCam, p))),
    ("gradcam++", |p| boxed(Cam::new(GradCamPlusPlus, p))),
    ("xgradcam", |p| boxed(Cam::new(XGradCam, p))),
    ("layercam", |p| boxed(Cam::new(LayerCam, p))),
    ("hirescam", |p| boxed(Cam::new(HiResCam, p))),
    ("scorecam", |p| boxed(ScoreCam::from_params(p))),
    ("ablationcam", |p| boxed(AblationCam::from_params(p))),
    ("eigencam", |p| boxed(Cam::new(EigenCam, p))),
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
    ("random", |_| boxed(Ok(ModelFree(RandomMap)))),
    ("sobel", |_| boxed(Ok(ModelFree(SobelMap)))),
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

/// The facts of the method called `name` (built with its default parameters), for callers
/// that hold a name rather than a method; `None` for an unknown name.
pub fn method_info(name: &str) -> Option<MethodInfo> {
    let (_, make) = METHODS.iter().find(|(n, _)| *n == name)?;
    make(&Params::new(name, BTreeMap::new()))
        .ok()
        .map(|m| m.info())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    #[test]
    fn every_method_builds_with_defaults_and_names_itself() {
        for (name, _) in METHODS {
            let m = build_method(name, &Params::new(name, BTreeMap::new())).unwrap();
            assert_eq!(m.name(), *name);
        }
        assert_eq!(METHODS.len(), 23);
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
