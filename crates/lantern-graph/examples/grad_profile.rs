//! Where the time of a gradient-exporting graph goes, against the plain forward model.
//!
//! ```text
//! cargo run --release -p lantern-graph --example grad_profile -- MODEL.onnx \
//!     [--layer T] [--baseline OLD_GRAD.onnx]… [--threads N] [--reps N] [--batches 1,16] \
//!     [--profile OPS] [--write GRAD.onnx]
//! ```
//!
//! Builds the gradient graph of MODEL (the default CAM layer exported, as `lantern bench`
//! does), then times one forward batch and one gradient batch of the same size, alternating
//! forward, gradient, baselines… `--reps` times per batch size (ONNX Runtime CPU sessions with
//! all graph optimisations, like lantern-runtime's), and prints medians and the ratios. With
//! `--profile OPS`, ONNX Runtime's profiler runs every gradient graph 10 times at the first
//! batch size and the kernel time is summed per op type (the OPS most expensive types, plus
//! the forward model for reference). `--baseline` adds gradient graphs written earlier
//! (`lantern grad`, or `--write` of an older build) to the same alternation, so before/after
//! numbers come from one run.
//!
//! The ONNX Runtime library: `ORT_DYLIB_PATH`, else `<workspace>/.lantern/ort` (`just setup`).

use lantern_core::SplitMix64;
use lantern_graph::{
    GradientSpec, ModelProto, TensorShapes, build_gradient_graph, default_cam_layer, encode_model,
    expose_all_tensors, graph_io, load_model,
};
use ndarray::{ArrayD, IxDyn};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{Tensor, ValueType};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    model: PathBuf,
    layer: Option<String>,
    baselines: Vec<PathBuf>,
    threads: Option<usize>,
    reps: usize,
    batches: Vec<usize>,
    profile: Option<usize>,
    write: Option<PathBuf>,
}

fn args() -> Res<Args> {
    let mut a = Args {
        model: PathBuf::new(),
        layer: None,
        baselines: Vec::new(),
        threads: None,
        reps: 9,
        batches: vec![1, 16],
        profile: None,
        write: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{s} needs a value"));
        match s.as_str() {
            "--layer" => a.layer = Some(val()?),
            "--baseline" => a.baselines.push(val()?.into()),
            "--threads" => a.threads = Some(val()?.parse()?),
            "--reps" => a.reps = val()?.parse()?,
            "--batches" => {
                a.batches = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--profile" => a.profile = Some(val()?.parse()?),
            "--write" => a.write = Some(val()?.into()),
            _ if s.starts_with("--") => return Err(format!("unknown option {s}").into()),
            _ => a.model = s.into(),
        }
    }
    if a.model.as_os_str().is_empty() {
        return Err("usage: grad_profile MODEL.onnx [options] (see the source)".into());
    }
    Ok(a)
}

fn ort_library() -> Res<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return Ok(p.into());
    }
    let capi = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.lantern/ort/onnxruntime/capi");
    lantern_core::ort_library::library_in_capi(&capi)
        .ok_or_else(|| format!("no libonnxruntime.so* in {} (just setup)", capi.display()).into())
}

fn session(
    env: &ort::environment::Environment,
    bytes: &[u8],
    threads: Option<usize>,
    profile: Option<&Path>,
) -> Res<Session> {
    let mut b = Session::builder(env)?.with_optimization_level(GraphOptimizationLevel::All)?;
    if let Some(t) = threads {
        b = b.with_intra_threads(t)?.with_inter_threads(1)?;
    }
    if let Some(p) = profile {
        b = b.with_profiling(p)?;
    }
    Ok(b.commit_from_memory(bytes)?)
}

fn run(s: &mut Session, feeds: &[(&str, &ArrayD<f32>)]) -> Res<()> {
    let values: Vec<(String, ort::value::DynValue)> = feeds
        .iter()
        .map(|(n, a)| Ok((n.to_string(), Tensor::from_array((*a).clone())?.into_dyn())))
        .collect::<Res<_>>()?;
    s.run(values)?;
    Ok(())
}

fn uniform(shape: &[usize], seed: u64) -> ArrayD<f32> {
    let mut r = SplitMix64::new(seed);
    let n = shape.iter().product();
    let v = (0..n).map(|_| r.uniform(0.0, 1.0) as f32).collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape")
}

/// Static shapes at batch 1 from one run with every tensor exposed (as lantern-runtime does).
fn probe(
    env: &ort::environment::Environment,
    m: &ModelProto,
    input: &str,
    x: &ArrayD<f32>,
) -> Res<TensorShapes> {
    let mut s = session(env, &encode_model(&expose_all_tensors(m)), None, None)?;
    let names: Vec<String> = s.outputs().iter().map(|o| o.name().to_string()).collect();
    let out = s.run(vec![(
        input.to_string(),
        Tensor::from_array(x.clone())?.into_dyn(),
    )])?;
    let mut map = HashMap::new();
    for n in names {
        if let Some(v) = out.get(&n)
            && let ValueType::Tensor { shape, .. } = v.dtype()
        {
            map.insert(n, (0..shape.len()).map(|i| shape[i]).collect());
        }
    }
    map.insert(
        input.to_string(),
        x.shape().iter().map(|&d| d as i64).collect(),
    );
    Ok(TensorShapes(map))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Kernel time per op type (ms per run) from an ONNX Runtime profile (one JSON event per line;
/// read with string matching, which is all this needs).
fn per_op(path: &str, runs: usize) -> Res<Vec<(String, f64, usize)>> {
    let text = std::fs::read_to_string(path)?;
    let _ = std::fs::remove_file(path);
    let field = |line: &str, key: &str| -> Option<String> {
        let rest = &line[line.find(&format!("\"{key}\" :"))? + key.len() + 4..];
        let rest = rest.trim_start().trim_start_matches('"');
        let end = rest.find(['"', ',', '}'])?;
        Some(rest[..end].to_string())
    };
    let mut by: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for line in text.lines() {
        if !line.contains("\"cat\" : \"Node\"") || !line.contains("_kernel_time\"") {
            continue;
        }
        let (Some(op), Some(dur)) = (field(line, "op_name"), field(line, "dur")) else {
            continue;
        };
        let entry = by.entry(op).or_default();
        entry.0 += dur.parse::<f64>().unwrap_or(0.0) / 1e3 / runs as f64;
        entry.1 += 1;
    }
    let mut v: Vec<_> = by
        .into_iter()
        .map(|(k, (ms, n))| (k, ms, n / runs))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(v)
}

fn main() -> Res<()> {
    let a = args()?;
    let env = ort::init_from(ort_library()?)?
        .with_name("grad_profile")
        .build()?;
    let m = load_model(&a.model)?;
    let (input, dims, _) = graph_io(&m)?;
    let item: Vec<usize> = dims[1..]
        .iter()
        .map(|d| {
            d.map(|v| v as usize)
                .ok_or("the input needs static non-batch dims")
        })
        .collect::<Result<_, _>>()?;
    let with_batch = |n: usize| [vec![n], item.clone()].concat();
    let x1 = uniform(&with_batch(1), 1);
    let shapes = probe(&env, &m, &input, &x1)?;
    let layer = match &a.layer {
        Some(l) => l.clone(),
        None => default_cam_layer(&m, &shapes).ok_or("no default CAM layer; pass --layer")?,
    };
    let spec = GradientSpec {
        layers: vec![layer.clone()],
        ..Default::default()
    };
    let t = Instant::now();
    let grad = encode_model(&build_gradient_graph(&m, &shapes, &spec)?);
    eprintln!(
        "{}: gradient graph built in {:.2} s ({:.1} MB), layer {layer}",
        a.model.display(),
        t.elapsed().as_secs_f64(),
        grad.len() as f64 / 1e6
    );
    if let Some(w) = &a.write {
        std::fs::write(w, &grad)?;
    }
    let fwd_bytes = encode_model(&m);
    let mut graphs: Vec<(String, Vec<u8>)> = vec![("gradient".into(), grad)];
    for b in &a.baselines {
        graphs.push((b.display().to_string(), std::fs::read(b)?));
    }
    let mut fwd = session(&env, &fwd_bytes, a.threads, None)?;
    let mut grads: Vec<Session> = graphs
        .iter()
        .map(|(_, bytes)| session(&env, bytes, a.threads, None))
        .collect::<Res<_>>()?;
    let k = grads[0]
        .inputs()
        .iter()
        .find(|i| i.name() == "seed")
        .and_then(|i| match i.dtype() {
            ValueType::Tensor { shape, .. } => shape.get(1).copied(),
            _ => None,
        })
        .ok_or("no seed input")? as usize;
    println!(
        "threads: {}",
        a.threads
            .map_or("ONNX Runtime default".into(), |t| t.to_string())
    );
    for &n in &a.batches {
        let x = uniform(&with_batch(n), 2);
        let mut seed = ArrayD::<f32>::zeros(IxDyn(&[n, k]));
        for r in 0..n {
            seed[[r, 1]] = 1.0;
        }
        let gfeeds = [("input", &x), ("seed", &seed)];
        run(&mut fwd, &[(input.as_str(), &x)])?;
        for g in grads.iter_mut() {
            run(g, &gfeeds)?;
        }
        let mut tf = Vec::new();
        let mut tg = vec![Vec::new(); grads.len()];
        for _ in 0..a.reps.max(1) {
            let t = Instant::now();
            run(&mut fwd, &[(input.as_str(), &x)])?;
            tf.push(t.elapsed().as_secs_f64());
            for (g, v) in grads.iter_mut().zip(tg.iter_mut()) {
                let t = Instant::now();
                run(g, &gfeeds)?;
                v.push(t.elapsed().as_secs_f64());
            }
        }
        let f = median(&mut tf);
        println!(
            "batch {n}: forward {:.2} ms (fastest {:.2})",
            f * 1e3,
            tf[0] * 1e3
        );
        for ((name, _), v) in graphs.iter().zip(tg.iter_mut()) {
            let g = median(v);
            println!(
                "  {name}: {:.2} ms  (×{:.2} forward; fastest {:.2} ms, ×{:.2})",
                g * 1e3,
                g / f,
                v[0] * 1e3,
                v[0] / tf[0]
            );
        }
    }
    if let Some(top) = a.profile {
        let n = a.batches[0];
        let x = uniform(&with_batch(n), 2);
        let mut seed = ArrayD::<f32>::zeros(IxDyn(&[n, k]));
        seed[[0, 1]] = 1.0;
        let runs = 10;
        let dir = std::env::temp_dir().join(format!("grad_profile_{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut all = vec![("forward".to_string(), fwd_bytes)];
        all.extend(graphs);
        for (name, bytes) in &all {
            let mut s = session(&env, bytes, a.threads, Some(&dir.join("p")))?;
            for _ in 0..runs {
                if name == "forward" {
                    run(&mut s, &[(input.as_str(), &x)])?;
                } else {
                    run(&mut s, &[("input", &x), ("seed", &seed)])?;
                }
            }
            let ops = per_op(&s.end_profiling()?, runs)?;
            let total: f64 = ops.iter().map(|o| o.1).sum();
            println!("profile {name}, batch {n}: kernels {total:.2} ms per run");
            for (op, ms, count) in ops.iter().take(top) {
                println!(
                    "  {op:<20} {ms:8.2} ms {:5.1} %  ×{count}",
                    100.0 * ms / total
                );
            }
        }
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(())
}
