//! ONNX model IO (prost messages for the ONNX IR), inspection, surgery and reverse-mode autodiff into gradient-exporting graphs.
