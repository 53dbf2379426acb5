//! ONNX Runtime: library discovery, environment, CPU/CUDA execution providers, batched sessions, shape probes and gradient sessions.
