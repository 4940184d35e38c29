//! `helm-samza show`: one paragraph per job model found in a post-rendered manifest stream (a file, stdin, or
//! `helm get manifest` output). The models are read with `model_configmap`, as plan and `--previous` read them.

use std::path::PathBuf;

use clap::Args;

use crate::{
    error::{Error, Result},
    exit_code,
    manifest::Stream,
    model_configmap, stdio,
};

/// Show the job models in a post-rendered manifest stream (a file, `-` for stdin, or `helm get manifest` output).
#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  helm get manifest my-release | helm-samza show\n  helm-samza show rendered.yaml"
)]
pub struct ShowArgs {
    /// The manifest stream; `-` or nothing for stdin.
    #[arg(value_name = "FILE", default_value = "-")]
    pub file: PathBuf,
}

pub fn run(args: &ShowArgs) -> Result<i32> {
    let from_stdin = args.file.as_os_str() == "-";
    let input = if from_stdin {
        stdio::read_stdin(1 << 16)?
    } else {
        std::fs::read(&args.file).map_err(|e| Error::io(&args.file, e))?
    };
    let name = if from_stdin {
        "<stdin>".to_owned()
    } else {
        args.file.display().to_string()
    };
    let text = show(&input).map_err(|e| e.in_input(&name))?;
    stdio::write_stdout(text.as_bytes()).map(|()| exit_code::OK)
}

fn show(bytes: &[u8]) -> Result<String> {
    // Reading models skips documents that cannot hold one; here every document is read, so that a broken
    // stream is reported instead of being summed up as "no model".
    let stream = Stream::from_bytes(bytes)?;
    for doc in stream.documents() {
        doc.value()?;
    }
    // As post-render and lint: an empty stream is a failed `helm get manifest` or a wrong file, not "no model".
    if stream.documents().iter().all(|doc| doc.is_blank()) {
        return Err(Error::EmptyStream);
    }
    let models = model_configmap::models_in_stream(bytes)?;
    if models.is_empty() {
        return Ok("no helm-samza job model in this stream\n".into());
    }
    let mut text = String::new();
    for (job, model) in &models {
        text.push_str(&format!("job {job}:\n"));
        for line in model.summary().lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
    }
    Ok(text)
}
