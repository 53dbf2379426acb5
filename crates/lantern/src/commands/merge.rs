//! `lantern merge DIR`: the tables and report of a sharded run, once every shard has run.

use crate::report;
use crate::run::store::RunPlan;
use anyhow::{Context as _, Result, bail};
use std::path::Path;
use std::process::ExitCode;

/// `lantern merge DIR`: assemble tables and report from every shard's item rows.
pub fn merge(dir: &Path) -> Result<ExitCode> {
    let plan_path = dir.join("plan.json");
    let run_plan: RunPlan =
        serde_json::from_slice(&std::fs::read(&plan_path).with_context(|| {
            format!("{} not found: is this a run folder?", plan_path.display())
        })?)
        .with_context(|| format!("reading {}", plan_path.display()))?;
    let assembled = report::assemble(dir, &run_plan, None)?;
    let missing = run_plan.items.len() - assembled.ok - assembled.failed;
    eprintln!(
        "merged {}: {} ok, {} failed, {} missing",
        dir.display(),
        assembled.ok,
        assembled.failed,
        missing
    );
    if missing > 0 {
        bail!(
            "{missing} work item(s) have no result yet: run the remaining shards, then merge again"
        );
    }
    report::merge_manifests(dir)?;
    Ok(if assembled.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
