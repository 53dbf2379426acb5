//! What `lantern bench` writes: the memory rows (a whole `lantern run` under `/usr/bin/time`)
//! and `bench.csv` / `bench.md`.

use super::timing::MAX_ROUNDS;
use super::*;

/// Peak RSS of whole `lantern run`s over 10 and 200 ImageNet photos (Grad-CAM, no figures):
/// results stream to disk per item, so memory must not grow with the number of images.
pub(super) fn memory_rows(args: &BenchArgs) -> Result<Vec<BenchRow>> {
    let samples = Path::new("data/imagenet/samples");
    if !samples.is_dir() {
        eprintln!(
            "bench: {} missing (run `just fetch`); skipping the memory rows",
            samples.display()
        );
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    for n in [10usize, 200] {
        let dir = args.out.join(format!("rss-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let exp = dir.join("exp.toml");
        std::fs::write(
            &exp,
            format!(
                "[experiment]\nname = \"rss-{n}\"\n[model]\npath = \"data/models/mobilenetv2-12-float.onnx\"\n[runtime]\nbatch = {}\n\
                 [data]\nkind = \"folder\"\nroot = \"{}\"\nlimit = {n}\n[methods.gradcam]\n[output]\nfigures = false\n",
                args.batch,
                samples.display()
            ),
        )?;
        let out = dir.join("out");
        let started = Instant::now();
        let mut cmd = std::process::Command::new(std::env::current_exe()?);
        cmd.args([
            "run",
            exp.to_str().unwrap_or_default(),
            "--out",
            out.to_str().unwrap_or_default(),
        ]);
        if let Some(t) = args.threads {
            cmd.args(["--threads", &t.to_string()]);
        }
        let status = cmd.stderr(std::process::Stdio::null()).status()?;
        let seconds = started.elapsed().as_secs_f64();
        if !status.success() {
            anyhow::bail!("bench: the {n}-image run failed; see {}", out.display());
        }
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json"))?)?;
        let rss = manifest["peak_rss_mb"].as_f64().unwrap_or(f64::NAN);
        eprintln!("run of {n} images: {seconds:.1}s, peak RSS {rss:.0} MiB");
        rows.push(BenchRow {
            model: "mobilenetv2".into(),
            task: format!("lantern run, {n} images (gradcam)"),
            batch: args.batch,
            threads: args
                .threads
                .map(|t| t.to_string())
                .unwrap_or_else(|| "all".into()),
            device: args.device.clone(),
            seconds_per_image: seconds / n as f64,
            forward_passes: n,
            backward_passes: n,
            pure_ort_seconds: f64::NAN,
            overhead: f64::NAN,
            note: format!("peak RSS {rss:.0} MiB"),
        });
    }
    Ok(rows)
}

/// The bench image: cat_dog.png through the imagenet preset when present, else a fixed pattern.
pub(super) fn bench_image(model: &Model) -> Result<Array3<f32>> {
    let photo = Path::new("data/photos/cat_dog.png");
    let (c, h, w) = (model.input.channels, model.input.height, model.input.width);
    if photo.is_file() {
        let p = pipeline::preprocess_for(model, lantern_data::Preset::Imagenet, None, None)?;
        return Ok(lantern_data::load_image(photo, &p, &Default::default())?.tensor);
    }
    Ok(Array3::from_shape_fn((c, h, w), |(k, y, x)| {
        (((k * 7 + y * 3 + x) % 29) as f32 - 14.0) / 10.0
    }))
}

/// Writes bench.csv and bench.md; `notes` (models not timed, and why) end the Markdown footer.
pub(super) fn write_bench(dir: &Path, rows: &[BenchRow], notes: &[String]) -> Result<()> {
    let mut csv = String::from(
        "model,task,batch,threads,device,seconds_per_image,forward_passes,backward_passes,pure_ort_seconds,overhead,note\n",
    );
    let mut md = String::from(
        "| model | task | s/image | passes (fwd+bwd) | pure ORT s | overhead | note |\n|---|---|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{:.6},{},{},{:.6},{:.4},{}\n",
            csv_field(&r.model),
            csv_field(&r.task),
            r.batch,
            r.threads,
            r.device,
            r.seconds_per_image,
            r.forward_passes,
            r.backward_passes,
            r.pure_ort_seconds,
            r.overhead,
            csv_field(&r.note)
        ));
        md.push_str(&format!(
            "| {} | {} | {:.3} | {}+{} | {:.3} | {:.2}× | {} |\n",
            r.model,
            r.task,
            r.seconds_per_image,
            r.forward_passes,
            r.backward_passes,
            r.pure_ort_seconds,
            r.overhead,
            r.note
        ));
    }
    if let Some(r) = rows.last() {
        md.push_str(&format!(
            "\nbatch {} images per ONNX Runtime call for the methods (the gradient-vs-forward rows use the batch in their name), threads {}, device {}; Lantern and pure ORT alternate, at least 3 rounds and up to {MAX_ROUNDS} for tasks under a second (1 for tasks of 300+ passes), medians after a warm-up; overhead = Lantern / pure ORT for the same passes.\n",
            r.batch, r.threads, r.device
        ));
    }
    for note in notes {
        md.push_str(&format!("\n{note}\n"));
    }
    crate::files::write_bytes(&dir.join("bench.csv"), csv.as_bytes())?;
    crate::files::write_bytes(&dir.join("bench.md"), md.as_bytes())?;
    println!("{md}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(csv_field("occlusion"), "occlusion");
        assert_eq!(
            csv_field("lantern run, 10 images"),
            "\"lantern run, 10 images\""
        );
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn cam_passes_are_priced_on_the_graph_stopped_at_the_layer() {
        assert_eq!(cam_backward("gradcam", 3), 3);
        assert_eq!(cam_backward("guided-gradcam", 2), 1);
        assert_eq!(cam_backward("saliency", 1), 0);
    }

    #[test]
    fn architectures_get_the_peer_rows_and_others_every_method() {
        let vit = BenchModel::named("vit_b_16", PathBuf::from("v.onnx"));
        assert_eq!(
            vit.methods.as_deref(),
            Some(&["saliency", "gradcam", "attention-rollout"].map(String::from)[..])
        );
        assert_eq!((vit.batches.as_slice(), vit.scoring), (&[1][..], false));
        let convnext = BenchModel::named("convnext_tiny", PathBuf::from("c.onnx"));
        assert_eq!(
            convnext.methods.as_deref(),
            Some(&["saliency", "gradcam"].map(String::from)[..])
        );
        let other = BenchModel::named("mine", PathBuf::from("m.onnx"));
        assert!(other.methods.is_none() && other.scoring);
        assert_eq!(other.batches, [1, 16]);
        // Every method name the profiles use exists.
        let known = lantern_explain::method_names();
        for m in vit.methods.iter().flatten() {
            assert!(known.contains(&m.as_str()), "{m}");
        }
    }

    #[test]
    fn short_tasks_get_more_rounds() {
        let (mut lantern_calls, mut pure_calls) = (0, 0);
        paired_with(
            3,
            false,
            &mut || {
                lantern_calls += 1;
                Ok(())
            },
            &mut || {
                pure_calls += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((lantern_calls, pure_calls), (MAX_ROUNDS, MAX_ROUNDS));
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub(super) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
