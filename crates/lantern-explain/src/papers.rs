//! The paper (or reference implementation) behind each method, for `lantern methods`. The
//! conventions each method follows are in its own file's doc comment.

/// Every registry name with its reference, in registry order.
pub const PAPERS: &[(&str, &str)] = &[
    (
        "saliency",
        "Simonyan, Vedaldi & Zisserman 2014, Deep Inside Convolutional Networks (arXiv:1312.6034)",
    ),
    (
        "gradient",
        "Simonyan et al. 2014 (the signed input gradient)",
    ),
    (
        "grad-x-input",
        "Shrikumar et al. 2016, Not Just a Black Box (arXiv:1605.01713)",
    ),
    (
        "smoothgrad",
        "Smilkov et al. 2017, SmoothGrad (arXiv:1706.03825)",
    ),
    (
        "integrated-gradients",
        "Sundararajan, Taly & Yan 2017, Axiomatic Attribution for Deep Networks (ICML)",
    ),
    (
        "guided-backprop",
        "Springenberg et al. 2015, Striving for Simplicity (arXiv:1412.6806)",
    ),
    (
        "deconvnet",
        "Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks (ECCV)",
    ),
    ("guided-gradcam", "Selvaraju et al. 2017, Grad-CAM (ICCV)"),
    (
        "gradcam",
        "Selvaraju et al. 2017, Grad-CAM: Visual Explanations from Deep Networks (ICCV)",
    ),
    ("gradcam++", "Chattopadhay et al. 2018, Grad-CAM++ (WACV)"),
    ("xgradcam", "Fu et al. 2020, Axiom-based Grad-CAM (BMVC)"),
    ("layercam", "Jiang et al. 2021, LayerCAM (IEEE TIP)"),
    (
        "hirescam",
        "Draelos & Carin 2020, HiResCAM (arXiv:2011.08891)",
    ),
    ("scorecam", "Wang et al. 2020, Score-CAM (CVPR workshops)"),
    ("ablationcam", "Desai & Ramaswamy 2020, Ablation-CAM (WACV)"),
    ("eigencam", "Muhammad & Yeasin 2020, Eigen-CAM (IJCNN)"),
    (
        "occlusion",
        "Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks (ECCV)",
    ),
    (
        "occlusion-incremental",
        "Zeiler & Fergus 2014; incremental inference as Nakandala et al. 2019, Krypton (SIGMOD)",
    ),
    ("rise", "Petsiuk, Das & Saenko 2018, RISE (BMVC)"),
    (
        "attention-rollout",
        "Abnar & Zuidema 2020, Quantifying Attention Flow in Transformers (ACL)",
    ),
    (
        "transformer-attribution",
        "Chefer, Gur & Wolf 2021, Generic Attention-model Explainability (ICCV)",
    ),
];

/// The reference of one method (empty for an unknown name).
pub fn paper(name: &str) -> &'static str {
    PAPERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_method_names_its_paper() {
        let names: Vec<&str> = PAPERS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, crate::registry::method_names());
    }
}
