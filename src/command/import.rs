//! `helm samza import`: a Samza job that runs elsewhere (YARN, the old Kubernetes proof of concept) as values
//! for the `samza-job` chart, and with `--from-kafka` its coordinator stream as a `samza.lock`, so the first
//! deploy on Kubernetes keeps every task's changelog partition. The values are `import`'s; the lock is the
//! `lock` module's; this file reads the inputs, says what was left out and writes the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::{
    error::{Error, JobOrigin, Result},
    exit_code,
    flags::KafkaArgs,
    import::{self, Format},
    job_config::read_config_file,
    kafka::{
        client_settings_for, read_stored_state, KafkaError, LiveKafkaSystems, PartitionSource,
        TopicQuery,
    },
    lock::{Discovery, Lock, LockedJob, LOCK_VERSION},
    samza::{coordinator_stream, Config, SamzaError, StoredState, SystemStream},
    stdio,
};

/// Turn a running Samza job (its .properties, and with --from-kafka its coordinator stream) into chart values
/// and a samza.lock.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:\n  \
    helm samza import wikipedia-stats.properties -o values.yaml --image registry.example/wikipedia:1.0\n  \
    helm template stats charts/samza-job -f values.yaml       # the same config, in the config ConfigMap\n  \
    helm samza import stats.properties --from-kafka --bootstrap-servers kafka:9092 -o values.yaml --lock-file samza.lock\n  \
    helm samza import --from-kafka --job-name wikipedia-stats --bootstrap-servers kafka:9092 -o values.yaml\n\n\
    Keys that mean nothing on Kubernetes (yarn.*, job.factory.class, container sizes and counts, host affinity,\n\
    the proof of concept's kubernetes.*) are left out and listed on stderr and at the top of the values, with\n\
    the chart value that replaces them. With --from-kafka and a file, keys whose stored value differs from the\n\
    file are named on stderr (values are never printed); the file wins. Without a file the stored config is\n\
    imported.\n\n\
    Exit codes: 0 written; 10 not a Samza job config (no job.name, no inputs: the key is named); 12 no Kafka\n\
    client settings (no bootstrap servers); 13 a YAML config that is not a map of keys; 16 the coordinator\n\
    stream is missing, unreadable, or written in a newer protocol version; 64 usage; 74 a file could not be\n\
    read or written. On any error nothing is written to stdout and no file is written.")]
pub struct ImportArgs {
    /// The job's config: a .properties file (as Samza's job runner reads it), or a YAML/JSON map of keys
    /// (`.yaml`, `.yml`, `.json`). Optional with --from-kafka: then the config the job stored is imported.
    #[arg(value_name = "JOB.properties")]
    pub config: Option<PathBuf>,

    /// Write the values here instead of to stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The job's image, `REPOSITORY[:TAG][@sha256:DIGEST]` (YARN's package cannot become one).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// The job's application class, for a config that names none because its runner was given the class in
    /// code (a local or standalone runner's config): becomes `app.class`.
    #[arg(long = "app-class", value_name = "CLASS")]
    pub app_class: Option<String>,

    /// Also read the job's coordinator stream on Kafka and write samza.lock from it.
    #[arg(long = "from-kafka")]
    pub from_kafka: bool,

    /// Where --from-kafka writes the lock. Default: samza.lock beside the values file (or in the current
    /// folder when the values go to stdout).
    #[arg(long = "lock-file", value_name = "FILE", requires = "from_kafka")]
    pub lock_file: Option<PathBuf>,

    /// With --from-kafka: the inputs' partition counts as Kafka has them now, instead of the counts the job last
    /// ran with (the highest stored partition + 1 of each input).
    #[arg(long = "live-counts", requires = "from_kafka")]
    pub live_counts: bool,

    /// The job's name, when no config file is given (--from-kafka reads the stream of this job).
    #[arg(
        long = "job-name",
        value_name = "NAME",
        conflicts_with = "config",
        requires = "from_kafka"
    )]
    pub job_name: Option<String>,

    /// The job's id, with --job-name [default: 1].
    #[arg(long = "job-id", value_name = "ID", requires = "job_name")]
    pub job_id: Option<String>,

    #[command(flatten)]
    pub kafka: KafkaArgs,
}

pub fn run(args: &ImportArgs) -> Result<i32> {
    let (file_config, format, source) = match &args.config {
        Some(path) => {
            let format = match path.extension().and_then(|e| e.to_str()) {
                Some("yaml" | "yml" | "json") => Format::Yaml,
                _ => Format::Properties,
            };
            (Some(read_config_file(path)?), format, file_name(path))
        }
        None if args.from_kafka && args.job_name.is_some() => {
            (None, Format::Properties, String::new())
        }
        None => {
            return Err(Error::Usage(
                "give the job's config file (JOB.properties), or --from-kafka with --job-name"
                    .into(),
            ))
        }
    };

    let mut lock = None;
    let config = if args.from_kafka {
        let identity = match &file_config {
            Some(config) => config.clone(),
            None => {
                let mut map = indexmap::IndexMap::new();
                map.insert(
                    "job.name".to_owned(),
                    args.job_name.clone().unwrap_or_default(),
                );
                if let Some(id) = &args.job_id {
                    map.insert("job.id".to_owned(), id.clone());
                }
                Config::from_map(map)
            }
        };
        let (stored, topic, brokers) = read_stream(&identity, args)?;
        warn_skipped(&stored, &topic);
        let config = match file_config {
            Some(config) => {
                compare_configs(&config, &stored, &topic);
                config
            }
            None => {
                if stored.config.is_empty() {
                    return Err(Error::PreviousState {
                        origin: JobOrigin(format!("coordinator stream `{topic}` on {brokers}")),
                        message: "it holds no set-config messages, so there is no config to import; give \
                                  the job's config file"
                            .into(),
                    });
                }
                Config::from_map(stored.config.clone().into_iter().collect())
            }
        };
        let discovery = Discovery {
            source: "coordinator-stream".into(),
            brokers: brokers.split(',').map(str::to_owned).collect(),
            at: None,
        };
        lock = Some(LockedJob::from_stored(&stored, discovery));
        config
    } else {
        file_config.expect("a file without --from-kafka")
    };

    let mut config = config;
    if let Some(class) = &args.app_class {
        if config.get("app.class").is_some_and(|c| c != class) {
            return Err(Error::Usage(format!(
                "--app-class {class}: the config already names app.class {}",
                config.get("app.class").unwrap_or_default()
            )));
        }
        config.set("app.class", class.clone());
    }
    let source = if source.is_empty() {
        "its coordinator stream".to_owned()
    } else {
        source
    };
    let origin = JobOrigin(
        args.config
            .as_ref()
            .map_or_else(|| source.clone(), |p| p.display().to_string()),
    );
    let imported =
        import::values_for(&config, format, &source, args.image.as_deref()).map_err(|source| {
            Error::Samza {
                origin: origin.clone(),
                source,
            }
        })?;

    if let (Some(locked), true) = (lock.as_mut(), args.live_counts) {
        live_counts(locked, &config, args)?;
    }

    // Every input was read and checked before anything is written: the lock, then the values (stdout last).
    if let Some(locked) = lock {
        if locked.changelog.is_empty() && locked.assignment.is_empty() {
            eprintln!(
                "note: the coordinator stream stores no changelog mapping or assignment (the job never started, \
                 or its stream was emptied): the lock pins nothing but the counts it found"
            );
        }
        let path = lock_path(args);
        let mut file = Lock {
            version: LOCK_VERSION,
            jobs: Default::default(),
        };
        file.jobs.insert(imported.job_label.clone(), locked);
        crate::output_file::write(&path, file.to_json().as_bytes(), 0o644)
            .map_err(|e| Error::io(&path, e))?;
        eprintln!("wrote {} (job {})", path.display(), imported.job_label);
    }
    for dropped in &imported.dropped {
        match &dropped.replaced_by {
            Some(by) => eprintln!("left out {}: {} -> {by}", dropped.key, dropped.reason),
            None => eprintln!("left out {}: {}", dropped.key, dropped.reason),
        }
    }
    for item in &imported.required {
        eprintln!("required: {item}");
    }
    match &args.output {
        Some(path) => {
            crate::output_file::write(path, imported.values.as_bytes(), 0o644)
                .map_err(|e| Error::io(path, e))?;
            eprintln!("wrote {}", path.display());
            Ok(exit_code::OK)
        }
        None => stdio::write_stdout(imported.values.as_bytes()).map(|()| exit_code::OK),
    }
}

/// `--live-counts`: each stored input's partition count from its system's cluster, noting the streams whose
/// count changed since the job last ran (the first deploy then plans that change, and `plan` shows it).
fn live_counts(locked: &mut LockedJob, config: &Config, args: &ImportArgs) -> Result<()> {
    let kafka = LiveKafkaSystems::new(config.as_map().clone(), args.kafka.overrides());
    let mut by_system: BTreeMap<String, Vec<SystemStream>> = BTreeMap::new();
    for stream in locked.inputs.keys() {
        by_system
            .entry(stream.system.to_string())
            .or_default()
            .push(stream.clone());
    }
    for (system, streams) in by_system {
        let query = TopicQuery::counts(&system, streams.iter().map(|s| s.stream.to_string()));
        let facts = kafka.fetch(&query).map_err(|source| Error::Kafka {
            origin: JobOrigin(format!("the inputs of system {system}")),
            source: Box::new(source),
        })?;
        for stream in streams {
            let Some(&live) = facts.counts.get(&*stream.stream) else {
                return Err(Error::Kafka {
                    origin: JobOrigin(format!("input {}", stream.name())),
                    source: Box::new(KafkaError::TopicMissing {
                        system: system.clone(),
                        topic: stream.stream.to_string(),
                        brokers: facts.source.brokers.join(","),
                    }),
                });
            };
            let stored = locked.inputs.insert(stream.clone(), live).unwrap_or(0);
            if stored != live {
                eprintln!(
                    "note: input {}: {live} partition(s) now, the job last ran with {stored}: the first deploy \
                     plans that change (`helm samza plan` shows it)",
                    stream.name()
                );
            }
        }
        locked.discovered.insert(
            system,
            Discovery {
                source: facts.source.kind.as_str().to_owned(),
                brokers: facts.source.brokers,
                at: facts.source.at,
            },
        );
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn lock_path(args: &ImportArgs) -> PathBuf {
    if let Some(path) = &args.lock_file {
        return path.clone();
    }
    match args.output.as_deref().and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("samza.lock"),
        _ => PathBuf::from("samza.lock"),
    }
}

/// The job's coordinator stream, read whole; a missing stream is an error here (there is nothing to import).
fn read_stream(config: &Config, args: &ImportArgs) -> Result<(StoredState, String, String)> {
    let origin = args
        .config
        .as_ref()
        .map_or_else(|| "--job-name".to_owned(), |p| p.display().to_string());
    let samza = |source: SamzaError| Error::Samza {
        origin: JobOrigin(origin.clone()),
        source,
    };
    let topic = coordinator_stream::stream_name(config).map_err(samza)?;
    // Without a config (--job-name) the system's name only picks flags scoped to it.
    let system = match coordinator_stream::stream_system(config) {
        Ok(system) => system,
        Err(_) if args.config.is_none() => "kafka",
        Err(error) => return Err(samza(error)),
    };
    let factory_key = format!("systems.{system}.samza.factory");
    if let Some(factory) = config
        .get(&factory_key)
        .filter(|f| !f.contains("KafkaSystemFactory"))
    {
        return Err(samza(SamzaError::Config {
            key: factory_key.clone(),
            message: format!(
                "the job's coordinator system `{system}` is not a Kafka system ({factory}), so it has no \
                 coordinator stream to import; leave out --from-kafka"
            ),
        }));
    }
    let overrides = args.kafka.overrides();
    let settings = client_settings_for(system, config.as_map(), &overrides).map_err(|source| {
        Error::Kafka {
            origin: JobOrigin(format!("coordinator stream `{topic}`")),
            source: Box::new(source),
        }
    })?;
    let brokers = settings.brokers();
    let unreadable = |message: String| Error::PreviousState {
        origin: JobOrigin(format!("coordinator stream `{topic}`")),
        message,
    };
    match read_stored_state(&settings, system, &topic) {
        Ok(Some(stored)) => Ok((stored, topic.clone(), brokers)),
        Ok(None) => Err(unreadable(format!(
            "does not exist on {brokers}: nothing to import. Check job.name and job.id (the topic is \
             __samza_coordinator_<job.name>_<job.id>, `_` as `-`) and that the job ran on this cluster"
        ))),
        Err(error) => Err(unreadable(error.to_string())),
    }
}

/// Types Samza writes that a Kubernetes deployment has no use for; any other skipped type is unknown.
const SAMZA_TYPES_NOT_NEEDED: &[(&str, &str)] = &[
    ("set-container-host-assignment", "YARN host locality"),
    (
        "set-checkpoint",
        "Samza 0.9 checkpoints, superseded by the checkpoint topic",
    ),
    (
        "set-execution-env-container-id-mapping",
        "YARN container ids",
    ),
    ("set-migration-info", "Samza 0.9 → 0.10 migration marker"),
    ("delete", "deletes written by Samza 0.10"),
];

fn warn_skipped(stored: &StoredState, topic: &str) {
    let mut unknown = Vec::new();
    for (kind, count) in &stored.skipped {
        match SAMZA_TYPES_NOT_NEEDED.iter().find(|(k, _)| k == kind) {
            Some((_, what)) => eprintln!(
                "note: coordinator stream `{topic}`: skipped {count} `{kind}` message(s) ({what}; not used on \
                 Kubernetes)"
            ),
            None => unknown.push(format!("`{kind}` ({count})")),
        }
    }
    if !unknown.is_empty() {
        eprintln!(
            "warning: coordinator stream `{topic}`: skipped messages of types helm-samza does not know: {}; \
             they are not in the lock (a newer Samza, or another writer, may have put them there)",
            unknown.join(", ")
        );
    }
}

/// Names the keys whose stored value (the config the job was last submitted with) differs from the file's;
/// values are not printed, as config values can be secrets.
fn compare_configs(file: &Config, stored: &StoredState, topic: &str) {
    if stored.config.is_empty() {
        return;
    }
    let mut differ = Vec::new();
    let mut only_file = Vec::new();
    let mut only_stored = Vec::new();
    for (key, value) in file.iter() {
        match stored.config.get(key) {
            Some(stored_value) if stored_value != value => differ.push(key),
            Some(_) => {}
            None => only_file.push(key),
        }
    }
    for key in stored.config.keys() {
        if !file.contains_key(key) {
            only_stored.push(key.as_str());
        }
    }
    if differ.is_empty() && only_file.is_empty() && only_stored.is_empty() {
        return;
    }
    let mut parts = Vec::new();
    if !differ.is_empty() {
        parts.push(format!("different value: {}", differ.join(", ")));
    }
    if !only_file.is_empty() {
        parts.push(format!("only in the file: {}", only_file.join(", ")));
    }
    if !only_stored.is_empty() {
        parts.push(format!("only in the stream: {}", only_stored.join(", ")));
    }
    eprintln!(
        "warning: the config the job last ran with (set-config in `{topic}`) differs from the file, which is \
         imported: {}",
        parts.join("; ")
    );
}
