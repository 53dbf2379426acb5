//! `lantern methods`: every attribution method with its parameters, their defaults (read from
//! the method itself, see `lantern_explain::method_params`) and the paper it follows.

use anyhow::Result;
use std::process::ExitCode;

pub fn methods() -> Result<ExitCode> {
    print!("{}", listing()?);
    Ok(ExitCode::SUCCESS)
}

fn listing() -> Result<String> {
    let mut out = String::new();
    for name in lantern_explain::method_names() {
        out.push_str(&format!(
            "{name}\n    paper: {}\n",
            lantern_explain::papers::paper(name)
        ));
        let params = lantern_explain::method_params(name)?;
        if params.is_empty() {
            out.push_str("    parameters: none\n");
        }
        for (key, default) in params {
            out.push_str(&format!("    --param {key}=…  (default {default})\n"));
        }
    }
    out.push_str(
        "\nUse: lantern explain --method NAME [--param key=value]…, or [methods.NAME] in an experiment file.\n",
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_every_method_with_parameters_and_paper() {
        let text = super::listing().unwrap();
        for name in lantern_explain::method_names() {
            assert!(text.lines().any(|l| l == name), "{name} missing");
        }
        assert!(text.contains("--param window=…  (default 32)"), "{text}");
        assert!(text.contains("Selvaraju"));
    }
}
