//! The floor under any ONNX Runtime tool's start-up (issue 16, item 3): a process that only loads
//! the ONNX Runtime library, builds one CPU session for MODEL and runs it once on zeros — no
//! Lantern code on the way. Time the whole process against Lantern's whole `lantern explain`:
//!
//! `cargo build --release -p lantern-runtime --example ort_floor`, then e.g.
//! `hyperfine 'target/release/examples/ort_floor data/models/mobilenetv2-12-float.onnx 2'`
//! (arguments: the model, intra-op threads; the model's first input must be float `[1,3,224,224]`
//! or have a symbolic batch).

use ort::session::Session;
use ort::value::TensorRef;

fn main() {
    let mut args = std::env::args().skip(1);
    let model = args.next().expect("usage: ort_floor MODEL.onnx [THREADS]");
    let threads: usize = args.next().map_or(2, |t| t.parse().expect("THREADS"));
    let library =
        lantern_runtime::library::find_library(None, false).expect("ONNX Runtime (just setup)");
    let env = ort::init_from(&library)
        .expect("ONNX Runtime loads")
        .build()
        .expect("environment");
    let mut session = Session::builder(&env)
        .expect("session builder")
        .with_intra_threads(threads)
        .expect("threads")
        .commit_from_file(&model)
        .expect("session");
    let input = session.inputs()[0].name().to_string();
    let x = ndarray::Array4::<f32>::zeros((1, 3, 224, 224));
    let outputs = session
        .run(ort::inputs![input => TensorRef::from_array_view(x.view()).expect("tensor")])
        .expect("run");
    println!("{} outputs", outputs.len());
}
