//! The `model` command: one job's model from a config file, for people and for tests; plus the loading of
//! partition sources and previous models that every planning command shares.

use std::path::Path;

use crate::{
    cli::{ModelArgs, ModelOutput, SourceArgs},
    error::{Error, JobOrigin, Result},
    facts::FactSources,
    kafka::{KnownCounts, Overrides, Scoped},
    lock::Lock,
    samza::{Config, JobModel},
};

/// Partition sources loaded from the command line, owned, so `FactSources` can borrow them.
pub struct SourceInputs {
    pub flags: KnownCounts,
    pub lock: Option<Lock>,
    pub offline: bool,
    pub overrides: Overrides,
}

impl SourceInputs {
    pub fn load(args: &SourceArgs) -> Result<SourceInputs> {
        // An empty item (a trailing comma in HELM_SAMZA_PARTITIONS) is no flag.
        let flags = KnownCounts::from_flags(
            args.known
                .partitions
                .iter()
                .filter(|p| !p.trim().is_empty()),
        )
        .map_err(|e| Error::Usage(e.to_string()))?;
        let lock = match &args.known.lock {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                Some(Lock::parse(&text).map_err(|message| Error::Previous {
                    path: path.clone(),
                    message,
                })?)
            }
        };
        let parse_scoped = |values: &[String], flag: &str| -> Result<Vec<Scoped>> {
            values
                .iter()
                .map(|v| {
                    v.parse::<Scoped>()
                        .map_err(|e| Error::Usage(format!("{flag}: {e}")))
                })
                .collect()
        };
        let overrides = Overrides {
            bootstrap_servers: parse_scoped(&args.bootstrap_servers, "--bootstrap-servers")?,
            kafka_config: parse_scoped(&args.kafka_config, "--kafka-config")?,
            timeout: args.kafka_timeout,
            ..Overrides::default()
        }
        .with_process_env();
        Ok(SourceInputs {
            flags,
            lock,
            offline: args.offline,
            overrides,
        })
    }

    pub fn fact_sources(&self) -> FactSources<'_> {
        FactSources {
            flags: &self.flags,
            lock: self.lock.as_ref(),
            offline: self.offline,
            overrides: &self.overrides,
        }
    }
}

/// Reads a job-model JSON file of any Samza version's shape.
pub fn read_model_file(path: &Path) -> Result<JobModel> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    JobModel::from_json(&text).map_err(|e| Error::Previous {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads a Samza config: `.properties` by default, a YAML/JSON map for `.yaml`, `.yml` and `.json`.
///
/// A `.properties` file is decoded as ISO-8859-1, byte for byte, as Samza's `PropertiesConfigLoader` reads it
/// (`Properties.load(InputStream)`): non-ASCII text belongs in `\uXXXX` escapes, and a UTF-8 `é` means the
/// two characters Samza sees, `Ã©`. (A config in a ConfigMap is YAML text, already characters.)
pub fn read_config_file(path: &Path) -> Result<Config> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let origin = JobOrigin(path.display().to_string());
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml" | "json") => {
            let text = String::from_utf8(bytes).map_err(|e| Error::Job {
                origin: origin.clone(),
                message: format!("not UTF-8 text: {e}"),
            })?;
            crate::render::config_from_yaml(&text).map_err(|message| Error::Job { origin, message })
        }
        _ => {
            let text = crate::samza::properties::decode_latin1(bytes);
            Config::from_properties(&text).map_err(|source| Error::Samza { origin, source })
        }
    }
}

pub fn run(args: &ModelArgs) -> Result<String> {
    let config = read_config_file(&args.config)?;
    let origin = JobOrigin(args.config.display().to_string());
    let version = args.samza_version;
    version
        .check_features(&config)
        .map_err(|source| Error::Samza {
            origin: origin.clone(),
            source,
        })?;
    let previous_model = args.previous.as_deref().map(read_model_file).transpose()?;
    let inputs = SourceInputs::load(&args.source)?;
    let job_name = config.job_name().unwrap_or_default().to_string();
    let locked = inputs.lock.as_ref().and_then(|l| l.jobs.get(&job_name));
    let previous = crate::render::previous_state(previous_model.as_ref(), locked);
    let (plan, gathered) = crate::render::plan_job(
        &config,
        &inputs.fact_sources(),
        locked,
        &[],
        previous.as_ref(),
        &origin,
    )?;
    let mut text = match args.output {
        ModelOutput::Json if args.pretty => plan.model.to_json_pretty(version),
        ModelOutput::Json => plan.model.to_json(version),
        ModelOutput::Yaml => {
            let value: serde_json::Value =
                serde_json::from_str(&plan.model.to_json(version)).expect("our own JSON parses");
            crate::manifest::write_document(&value)?
        }
        ModelOutput::Summary => {
            let mut text = plan.model.summary();
            text.push_str(&format!("partition counts from: {}\n", gathered.describe()));
            text
        }
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}
