//! Attribution methods for image classifiers, one file per method behind one trait
//! ([`Method`]). Each file states the library convention it follows (Captum, pytorch-grad-cam,
//! the RISE reference code). Methods return RAW maps; normalisation is for figures only.
//!
//! - gradient family (Captum): [`saliency`], [`gradient`], [`grad_x_input`], [`smoothgrad`],
//!   [`integrated_gradients`], [`guided_backprop`], [`deconvnet`], [`guided_gradcam`] — all
//!   through the batched gradient helper [`grad`];
//! - CAM family (pytorch-grad-cam): [`cam`] — one base that captures activations (and
//!   gradients) once per image, one short file per weighting;
//! - transformers: [`attention_rollout`] (vit-explain), [`transformer_attribution`] (Chefer et
//!   al.'s reference code), sharing the attention search of [`attention`];
//! - perturbation: [`occlusion_method`] (the `occlusion` method: Captum's map, [`occlusion`],
//!   from full or [`occlusion_incremental`] inference, as the cost model picks, or from
//!   Krypton's approximations, [`occlusion_drill`], with [`occlusion_fidelity`] to the exact
//!   map), [`rise`] (the RISE reference code);
//! - [`baselines`]: `random` and `sobel`, model-free floors under every score;
//! - [`tokens`]: token → grid reshapes for transformer layers (pytorch-grad-cam's
//!   `reshape_transform`).

pub mod attention;
pub mod attention_rollout;
pub mod baselines;
pub mod cam;
pub mod deconvnet;
pub mod error;
pub mod grad;
pub mod grad_x_input;
pub mod gradient;
pub mod guided_backprop;
pub mod guided_gradcam;
pub mod integrated_gradients;
pub mod method;
pub mod occlusion;
pub mod occlusion_drill;
pub mod occlusion_fidelity;
pub mod occlusion_incremental;
pub mod occlusion_method;
pub mod papers;
pub mod params;
pub mod registry;
pub mod resize;
pub mod rise;
pub mod saliency;
pub mod smoothgrad;
pub mod tokens;
pub mod transformer_attribution;

pub use error::{ExplainError, Result};
pub use method::{
    Context, Explanation, MapKind, Method, MethodInfo, Passes, Score, check_image, check_target,
};
pub use params::{ParamValue, Params};
pub use registry::{METHODS, build_method, method_info, method_names, method_params};
