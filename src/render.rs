//! The post-render pipeline: manifests in → find jobs → gather partition facts → plan → patch → manifests out.
//!
//! Each stage takes the previous stage's typed result. All work happens before the first byte is written, so a
//! failure anywhere leaves stdout empty: Helm never sees a partial stream.

use std::{borrow::Cow, collections::BTreeMap};

use base64::Engine as _;
use flate2::{write::GzEncoder, Compression};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    error::{Error, JobOrigin, Result},
    facts::{self, FactSources, GatheredFacts},
    job::{self, JobDocs, Scan},
    lock::{Lock, LockedJob},
    manifest::{apply, Document, Flavor, Patch, Stream},
    samza::{self, Config, JobModel, Plan, Previous, SamzaVersion},
    template::TemplateEngine,
};

/// A ConfigMap may hold 1 MiB in all; past this much JSON the model goes into binaryData, gzipped.
pub const MAX_PLAIN_MODEL_BYTES: usize = 900 * 1024;

/// What the caller decided before the stream was read.
pub struct RenderOptions<'a> {
    pub sources: FactSources<'a>,
    /// Previous job models by job name; the `None` key applies to every job.
    pub previous: BTreeMap<Option<String>, JobModel>,
    pub samza_version: SamzaVersion,
    /// Open the safety gate (`--allow-unsafe`); a job can also open it for itself with the config ConfigMap's
    /// annotation `samza.apache.org/allow-unsafe: "true"`.
    pub allow_unsafe: bool,
    /// Record a job's failure (planning, partitions, templates) and go on with the others, instead of failing
    /// the whole render: `lint` reports those failures as findings.
    pub keep_going: bool,
    /// A job whose model is already in the stream (it went through helm-samza before) keeps that model instead
    /// of being planned again: `lint` of post-rendered manifests checks what would be deployed.
    pub reuse_models: bool,
}

/// One job's computed outcome, for summaries and for `plan`.
pub struct RenderedJob {
    pub name: String,
    pub plan: Plan,
    pub model_json: String,
    pub digest: String,
    pub facts: GatheredFacts,
}

/// What a render produced: the output stream, the jobs computed and (with `keep_going`) the jobs that failed.
pub struct Rendered<'a> {
    /// The input itself when nothing changed (no copy of a large stream).
    pub output: Cow<'a, [u8]>,
    pub jobs: Vec<RenderedJob>,
    pub failed: Vec<(String, Error)>,
}

/// Runs the whole pipeline over `input` and returns the output stream and what was computed per job.
pub fn post_render(input: &[u8], options: &RenderOptions) -> Result<(Vec<u8>, Vec<RenderedJob>)> {
    let rendered = render(input, options)?;
    Ok((rendered.output.into_owned(), rendered.jobs))
}

/// The pipeline; with `options.keep_going` a failing job is recorded in `failed` and left unpatched.
pub fn render<'a>(input: &'a [u8], options: &RenderOptions) -> Result<Rendered<'a>> {
    if memchr::memmem::find(input, job::LABEL_PREFIX.as_bytes()).is_none() {
        // Nothing in the stream belongs to a Samza job (every job resource carries a samza.apache.org/ label or
        // annotation): the output is the input, byte for byte, without splitting it.
        if is_blank_stream(input) {
            return Err(empty_stream());
        }
        return Ok(Rendered {
            output: Cow::Borrowed(input),
            jobs: Vec::new(),
            failed: Vec::new(),
        });
    }
    let mut stream = Stream::from_bytes(input)?;
    if stream.documents().iter().all(|doc| doc.is_blank()) {
        return Err(Error::Usage(
            "the manifest stream is empty: nothing to post-render (Helm would deploy nothing)"
                .into(),
        ));
    }
    let scan = job::scan(&stream)?;
    let engine = TemplateEngine::new();
    let mut edits = Edits::default();
    let mut rendered = Vec::new();
    let mut job_contexts = serde_json::Map::new();
    let mut failed = Vec::new();
    for docs in scan.jobs.values() {
        let mut job_edits = Edits::default();
        match render_job(&stream, &scan, docs, options, &mut job_edits) {
            Ok(job) => {
                edits.absorb(job_edits);
                job_contexts.insert(job.name.clone(), template_context(&job));
                rendered.push(job);
            }
            Err(err) if options.keep_going => failed.push((docs.name.clone(), err)),
            Err(err) => return Err(err),
        }
    }
    if let Err(err) = render_templates(&stream, &scan, &engine, &job_contexts, &mut edits) {
        if !options.keep_going {
            return Err(err);
        }
        failed.push((String::new(), err));
    }
    for (index, patch) in &edits.patches {
        let text = apply(&stream.documents()[*index], patch)?;
        stream.replace(*index, text);
    }
    for &index in &edits.removed {
        stream.replace(index, String::new());
    }
    for (source, value) in &edits.added {
        stream.append(source, value)?;
    }
    let mut out = Vec::with_capacity(input.len() + 4096);
    stream
        .write(&mut out)
        .map_err(|e| Error::io("<stdout buffer>", e))?;
    Ok(Rendered {
        output: Cow::Owned(out),
        jobs: rendered,
        failed,
    })
}

/// `sha256:<hex>` of a model's JSON: the checksum on pod templates and the model ConfigMap.
pub fn digest(model_json: &str) -> String {
    format!("sha256:{:x}", Sha256::digest(model_json.as_bytes()))
}

fn empty_stream() -> Error {
    Error::EmptyStream
}

/// Only separators, comments and blank lines (what Helm would deploy nothing from); stops at the first content.
fn is_blank_stream(input: &[u8]) -> bool {
    input.split(|&b| b == b'\n').all(|line| {
        let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        let line = line.strip_prefix(b"---").unwrap_or(line);
        let trimmed = line.trim_ascii();
        trimmed.is_empty() || trimmed.starts_with(b"#")
    })
}

/// Every change to make to the stream, collected first so a document edited for two reasons (a templated worker)
/// is patched once, and nothing is changed unless everything succeeded.
#[derive(Default)]
struct Edits {
    patches: BTreeMap<usize, Patch>,
    added: Vec<(String, Value)>,
    removed: Vec<usize>,
}

impl Edits {
    fn patch(&mut self, index: usize) -> &mut Patch {
        self.patches.entry(index).or_default()
    }

    /// Takes over one job's edits once that job has succeeded.
    fn absorb(&mut self, other: Edits) {
        for (index, patch) in other.patches {
            self.patch(index).extend(patch);
        }
        self.added.extend(other.added);
        self.removed.extend(other.removed);
    }
}

fn render_job(
    stream: &Stream,
    scan: &Scan,
    docs: &JobDocs,
    options: &RenderOptions,
    edits: &mut Edits,
) -> Result<RenderedJob> {
    let origin = JobOrigin(format!("job '{}'", docs.name));
    let config_index = match docs.configs.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::Job {
                origin,
                message: format!(
                    "no ConfigMap labelled {}={} and {}=config holds the job's Samza config",
                    job::LABEL_JOB,
                    docs.name,
                    job::LABEL_ROLE
                ),
            })
        }
        many => {
            return Err(Error::Job {
                origin,
                message: format!(
                    "{} ConfigMaps claim to hold the job's config: {}",
                    many.len(),
                    describe_docs(stream, many)
                ),
            })
        }
    };
    let config_doc = &stream.documents()[config_index];
    let origin = JobOrigin(format!("job '{}' ({})", docs.name, config_doc.describe()));
    let active_workers: Vec<usize> = docs
        .workers
        .iter()
        .filter(|w| w.standby.is_none())
        .map(|w| w.index)
        .collect();
    if active_workers.len() != 1 {
        return Err(Error::Job {
            origin,
            message: format!(
                "expected one worker StatefulSet labelled {}={} and {}=worker, found {}{}",
                job::LABEL_JOB,
                docs.name,
                job::LABEL_ROLE,
                active_workers.len(),
                if active_workers.is_empty() {
                    String::new()
                } else {
                    format!(": {}", describe_docs(stream, &active_workers))
                }
            ),
        });
    }

    let config_value = config_doc.value()?;
    let (config, embedded_lock) = read_config(&config_value, &origin)?;
    options
        .samza_version
        .check_features(&config)
        .map_err(|source| Error::Samza {
            origin: origin.clone(),
            source,
        })?;
    if options.reuse_models {
        if let Some(&index) = docs.models.first() {
            return reuse_model(stream, index, &docs.name, &origin, options.samza_version);
        }
    }
    let lock = options
        .sources
        .lock
        .and_then(|l| l.jobs.get(&docs.name))
        .cloned()
        .or(embedded_lock);
    let previous_model = options
        .previous
        .get(&Some(docs.name.clone()))
        .or_else(|| options.previous.get(&None));
    let previous = previous_state(previous_model, lock.as_ref());
    let (mut plan, gathered) = plan_job(
        &config,
        &options.sources,
        lock.as_ref(),
        &scan.kafka_topics,
        previous.as_ref(),
        &origin,
    )?;

    let allowed = options.allow_unsafe
        || scan.heads[&config_index]
            .annotations
            .get(job::ANNOTATION_ALLOW_UNSAFE)
            .is_some_and(|v| v == "true");
    let baseline = match previous_model {
        Some(model) => Some(crate::plan::Snapshot::from_model(model)),
        None => lock.as_ref().map(crate::plan::Snapshot::from_lock),
    };
    if let (Some(baseline), false) = (baseline, allowed) {
        let diff = crate::plan::diff(&baseline, &crate::plan::Snapshot::from_model(&plan.model));
        let hazards = crate::plan::hazards(&diff, is_stateful(&plan));
        if !hazards.is_empty() {
            return Err(Error::Unsafe {
                origin,
                message: format!(
                    "{} To deploy anyway pass --allow-unsafe (env HELM_SAMZA_ALLOW_UNSAFE=true) or annotate the \
                     config ConfigMap with {}: \"true\"; `helm samza plan` shows the whole change.",
                    hazards.iter().map(|h| format!("[{}] {}", h.id, h.message)).collect::<Vec<_>>().join(" "),
                    job::ANNOTATION_ALLOW_UNSAFE
                ),
            });
        }
    }

    let active = plan.model.active_container_count();
    // The model's config must tell the containers the truth about how many of them there are.
    plan.model
        .config
        .set("job.container.count", active.to_string());
    let model_json = plan.model.to_json(options.samza_version);
    let digest = digest(&model_json);

    for worker in &docs.workers {
        let patch = edits.patch(worker.index);
        patch.set(["spec", "replicas"], json!(active));
        patch.set(pod_annotation(job::ANNOTATION_CHECKSUM), json!(digest));
    }
    for &index in &docs.coordinators {
        edits
            .patch(index)
            .set(pod_annotation(job::ANNOTATION_CHECKSUM), json!(digest));
    }
    let config_head = &scan.heads[&config_index];
    let model_cm = model_configmap(config_head, &docs.name, &model_json, &digest, &gathered)?;
    // A stream that went through helm-samza before carries the old model: the new one replaces it.
    for &index in &docs.models {
        edits.removed.push(index);
    }
    let source = config_head
        .source
        .clone()
        .unwrap_or_else(|| format!("samza/{}-job-model.yaml", docs.name));
    edits.added.push((source, model_cm));

    Ok(RenderedJob {
        name: docs.name.clone(),
        plan,
        model_json,
        digest,
        facts: gathered,
    })
}

/// The job as its model in the stream says it is: no partition counts needed, nothing changed.
fn reuse_model(
    stream: &Stream,
    index: usize,
    job: &str,
    origin: &JobOrigin,
    version: SamzaVersion,
) -> Result<RenderedJob> {
    let doc = &stream.documents()[index];
    let model = model_in_document(doc)?.ok_or_else(|| Error::Job {
        origin: origin.clone(),
        message: format!("{} holds no job model", doc.describe()),
    })?;
    let samza_error = |source| Error::Samza {
        origin: origin.clone(),
        source,
    };
    let config = model.config.clone();
    let changelog_topics =
        samza::changelog::changelog_topics(&config, model.max_changelog_partitions())
            .map_err(samza_error)?;
    let internal_topics = samza::changelog::internal_topics(&config).map_err(samza_error)?;
    let model_json = model.to_json(version);
    let digest = digest(&model_json);
    let mut facts = GatheredFacts::default();
    for (stream_name, count) in crate::plan::Snapshot::from_model(&model).inputs {
        let (system, name) = stream_name.split_once('.').unwrap_or((&stream_name, ""));
        facts
            .facts
            .counts
            .insert(samza::SystemStream::new(system, name), count);
    }
    Ok(RenderedJob {
        name: job.to_string(),
        plan: Plan {
            changelog_mapping: model
                .tasks()
                .map(|t| (t.name.clone(), t.changelog_partition))
                .collect(),
            config,
            model,
            changelog_topics,
            internal_topics,
        },
        model_json,
        digest,
        facts,
    })
}

/// A job with changelogged stores: its state lives in Kafka partitions that must not move.
pub fn is_stateful(plan: &Plan) -> bool {
    plan.changelog_topics
        .iter()
        .any(|t| matches!(t.purpose, samza::changelog::TopicPurpose::Changelog { .. }))
}

fn pod_annotation(key: &str) -> [&str; 5] {
    ["spec", "template", "metadata", "annotations", key]
}

fn describe_docs(stream: &Stream, indexes: &[usize]) -> String {
    indexes
        .iter()
        .map(|&i| stream.documents()[i].describe().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Samza config from the ConfigMap's `job.properties` or `job.yaml`, plus an embedded `samza.lock`.
pub fn read_config(value: &Value, origin: &JobOrigin) -> Result<(Config, Option<LockedJob>)> {
    let data = value.get("data").and_then(Value::as_object);
    for key in [
        job::CONFIG_KEY_PROPERTIES,
        job::CONFIG_KEY_YAML,
        job::CONFIG_KEY_LOCK,
    ] {
        if let Some(found) = data.and_then(|d| d.get(key)) {
            if !found.is_string() {
                return Err(Error::Job {
                    origin: origin.clone(),
                    message: format!("data.{key} must be a string (the file's text), not {found}"),
                });
            }
        }
    }
    let get = |key: &str| data.and_then(|d| d.get(key)).and_then(Value::as_str);
    let config = match (get(job::CONFIG_KEY_PROPERTIES), get(job::CONFIG_KEY_YAML)) {
        (Some(text), None) => Config::from_properties(text).map_err(|source| Error::Samza {
            origin: JobOrigin(format!("{origin}, data.{}", job::CONFIG_KEY_PROPERTIES)),
            source,
        })?,
        (None, Some(text)) => config_from_yaml(text).map_err(|message| Error::Job {
            origin: JobOrigin(format!("{origin}, data.{}", job::CONFIG_KEY_YAML)),
            message,
        })?,
        (Some(_), Some(_)) => {
            return Err(Error::Job {
                origin: origin.clone(),
                message: format!(
                    "the config ConfigMap has both data.{} and data.{}; keep one",
                    job::CONFIG_KEY_PROPERTIES,
                    job::CONFIG_KEY_YAML
                ),
            })
        }
        (None, None) => {
            return Err(Error::Job {
                origin: origin.clone(),
                message: format!(
                    "the config ConfigMap has neither data.{} nor data.{}",
                    job::CONFIG_KEY_PROPERTIES,
                    job::CONFIG_KEY_YAML
                ),
            })
        }
    };
    let lock = match get(job::CONFIG_KEY_LOCK) {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => {
            let lock = Lock::parse(text).map_err(|message| Error::Job {
                origin: JobOrigin(format!("{origin}, data.{}", job::CONFIG_KEY_LOCK)),
                message,
            })?;
            let name = value
                .pointer(&format!(
                    "/metadata/labels/{}",
                    job::LABEL_JOB.replace('/', "~1")
                ))
                .and_then(Value::as_str)
                .unwrap_or_default();
            lock.jobs.get(name).cloned()
        }
    };
    Ok((config, lock))
}

/// A Samza config given as a YAML (or JSON) map of keys to scalar values.
pub fn config_from_yaml(text: &str) -> std::result::Result<Config, String> {
    let value: Value = serde_saphyr::from_str_with_options(text, crate::manifest::go_options())
        .map_err(|e| format!("not a YAML map of Samza config keys: {e}"))?;
    let Value::Object(map) = value else {
        return Err("not a YAML map of Samza config keys to values".into());
    };
    let mut entries = indexmap::IndexMap::new();
    for (key, value) in map {
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            other => {
                return Err(format!(
                    "key '{key}': Samza config values are strings, numbers or booleans, not {}",
                    if other.is_array() { "a list" } else { "a map" }
                ))
            }
        };
        entries.insert(key, text);
    }
    Ok(Config::from_map(entries))
}

/// Samza's previous state for a job: a previous model wins, else the lock's mappings (the lock plays the role of
/// Samza's coordinator stream), else none (a first deploy).
pub fn previous_state(model: Option<&JobModel>, lock: Option<&LockedJob>) -> Option<Previous> {
    if let Some(model) = model {
        return Some(Previous::from_model(model));
    }
    let lock = lock?;
    if lock.changelog.is_empty() && lock.assignment.is_empty() {
        return None;
    }
    Some(Previous {
        changelog: lock.changelog.clone(),
        task_container: lock.assignment.clone(),
        task_ssps: lock
            .task_inputs
            .iter()
            .map(|(task, ssps)| {
                let set = ssps
                    .iter()
                    .map(|(system, stream, partition)| {
                        samza::Ssp::new(&samza::SystemStream::new(system, stream), *partition)
                    })
                    .collect();
                (task.clone(), set)
            })
            .collect(),
    })
}

/// One job from its config to its plan: partition facts from the sources, then Samza's planner.
pub fn plan_job(
    config: &Config,
    sources: &FactSources,
    lock: Option<&LockedJob>,
    kafka_topics: &[job::KafkaTopicResource],
    previous: Option<&Previous>,
    origin: &JobOrigin,
) -> Result<(Plan, GatheredFacts)> {
    let samza_error = |source| Error::Samza {
        origin: origin.clone(),
        source,
    };
    let request = samza::required_inputs(config).map_err(samza_error)?;
    let gathered = facts::gather(config, &request, sources, lock, kafka_topics, origin)?;
    let plan = samza::plan(config, &gathered.facts, previous).map_err(samza_error)?;
    Ok((plan, gathered))
}

/// The ConfigMap that carries the model to the coordinator (and so to the containers).
fn model_configmap(
    config_head: &crate::manifest::Head,
    job: &str,
    model_json: &str,
    digest: &str,
    gathered: &GatheredFacts,
) -> Result<Value> {
    let name = config_head
        .annotations
        .get(job::ANNOTATION_MODEL_CONFIGMAP)
        .cloned()
        .unwrap_or_else(|| format!("{}-model", config_head.name));
    let mut labels = serde_json::Map::new();
    for (key, value) in &config_head.labels {
        if key.starts_with("app.kubernetes.io/") || key == "helm.sh/chart" {
            labels.insert(key.clone(), json!(value));
        }
    }
    labels.insert(job::LABEL_JOB.into(), json!(job));
    labels.insert(job::LABEL_ROLE.into(), json!("model"));
    let mut metadata = json!({
        "name": name,
        "labels": labels,
        "annotations": {
            job::ANNOTATION_CHECKSUM: digest,
            job::ANNOTATION_SOURCE: gathered.describe(),
        },
    });
    if let Some(namespace) = &config_head.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata});
    if model_json.len() <= MAX_PLAIN_MODEL_BYTES {
        cm["data"] = json!({ job::MODEL_KEY: model_json });
    } else {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        std::io::Write::write_all(&mut gz, model_json.as_bytes()).expect("writing to memory");
        let bytes = gz.finish().expect("writing to memory");
        cm["binaryData"] = json!({ job::MODEL_KEY_COMPRESSED: base64::engine::general_purpose::STANDARD.encode(bytes) });
    }
    Ok(cm)
}

/// What templates see as `job`.
fn template_context(job: &RenderedJob) -> Value {
    let model = &job.plan.model;
    let inputs: serde_json::Map<String, Value> = job
        .facts
        .facts
        .counts
        .iter()
        .map(|(ss, n)| (format!("{}.{}", ss.system, ss.stream), json!(n)))
        .collect();
    let changelogs: Vec<Value> = job
        .plan
        .changelog_topics
        .iter()
        .map(|t| {
            json!({"system": t.system, "name": t.name, "partitions": t.partitions,
                   "replication_factor": t.replication_factor, "properties": t.properties})
        })
        .collect();
    json!({
        "name": job.name,
        "containers": model.active_container_count(),
        "container_ids": model.containers.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        "tasks": model.tasks().count(),
        "inputs": inputs,
        "changelog_partitions": model.max_changelog_partitions(),
        "changelog_topics": changelogs,
        "model_digest": job.digest,
    })
}

fn render_templates(
    stream: &Stream,
    scan: &Scan,
    engine: &TemplateEngine,
    jobs: &serde_json::Map<String, Value>,
    edits: &mut Edits,
) -> Result<()> {
    let mut targets: Vec<(usize, Option<&str>)> = Vec::new();
    for (name, docs) in &scan.jobs {
        // A job that failed (only with keep_going) has no plan to render its templates with; its failure is
        // already reported.
        if jobs.contains_key(name) {
            targets.extend(docs.templated.iter().map(|&i| (i, Some(name.as_str()))));
        }
    }
    targets.extend(scan.templated_unowned.iter().map(|&i| (i, None)));
    targets.sort_unstable();
    for (index, job_name) in targets {
        let doc: &Document = &stream.documents()[index];
        let origin = JobOrigin(doc.describe().to_string());
        let job_value = match job_name {
            Some(name) => jobs.get(name).cloned(),
            None if jobs.len() == 1 => jobs.values().next().cloned(),
            None => None,
        };
        let mut context = json!({ "jobs": jobs });
        if let Some(job_value) = job_value {
            context["job"] = job_value;
        }
        let context = minijinja::Value::from(minijinja::value::Serde(context));
        for scalar in doc.string_scalars()? {
            let rendered =
                engine
                    .render_scalar(&scalar.value, &context)
                    .map_err(|e| Error::Template {
                        origin: origin.clone(),
                        field: crate::manifest::display_path(&scalar.path),
                        message: e.message,
                    })?;
            if let Some(new_value) = rendered {
                edits.patch(index).set(scalar.path.clone(), new_value);
            }
        }
    }
    Ok(())
}

/// Flavor-independent name of where an added document is filed.
pub fn flavor_name(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Helm3 => "helm3",
        Flavor::Helm4 => "helm4",
        Flavor::Plain => "plain",
    }
}

/// The `post-render` command: options from the command line, then the pipeline.
pub fn run_post_render<'a>(
    args: &crate::cli::PostRenderArgs,
    input: &'a [u8],
) -> Result<Cow<'a, [u8]>> {
    let inputs = crate::model::SourceInputs::load(&args.source)?;
    let mut previous = BTreeMap::new();
    for entry in &args.previous {
        previous.extend(read_previous_arg(entry)?);
    }
    let options = RenderOptions {
        sources: inputs.fact_sources(),
        previous,
        samza_version: args.samza_version,
        allow_unsafe: args.allow_unsafe,
        keep_going: false,
        reuse_models: false,
    };
    render(input, &options).map(|rendered| rendered.output)
}

/// `--previous [JOB=]FILE`: a job-model JSON (for JOB, or every job), or a saved manifest stream holding
/// model ConfigMaps (each for its own job).
pub fn read_previous_arg(entry: &str) -> Result<BTreeMap<Option<String>, JobModel>> {
    let (job, path) = match entry.split_once('=') {
        Some((job, path)) if !job.is_empty() && !job.contains('/') => (Some(job.to_string()), path),
        _ => (None, entry),
    };
    let path = std::path::Path::new(path);
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let looks_like_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if looks_like_json {
        let text = String::from_utf8_lossy(&bytes);
        let model = JobModel::from_json(&text).map_err(|e| Error::Previous {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        return Ok([(job, model)].into());
    }
    let models = models_in_stream(&bytes).map_err(|e| Error::Previous {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if models.is_empty() {
        return Err(Error::Previous {
            path: path.to_path_buf(),
            message: "neither a job-model JSON nor a manifest stream with helm-samza job-model ConfigMaps".into(),
        });
    }
    let chosen: BTreeMap<Option<String>, JobModel> = models
        .into_iter()
        .filter(|(name, _)| job.as_ref().is_none_or(|j| j == name))
        .map(|(name, model)| (Some(name), model))
        .collect();
    if chosen.is_empty() {
        // A mistyped job name would silently leave the job without its previous state (and the gate open).
        return Err(Error::Previous {
            path: path.to_path_buf(),
            message: format!("holds no job model for job '{}'", job.unwrap_or_default()),
        });
    }
    Ok(chosen)
}

/// The job models in a manifest stream that went through helm-samza (e.g. `helm get manifest`), by job.
pub fn models_in_stream(bytes: &[u8]) -> Result<BTreeMap<String, JobModel>> {
    let stream = Stream::from_bytes(bytes)?;
    let mut models = BTreeMap::new();
    for doc in stream.documents() {
        if !doc.mentions(job::MODEL_KEY) {
            continue;
        }
        let Some(head) = doc.head()? else { continue };
        if head.kind != "ConfigMap"
            || head.labels.get(job::LABEL_ROLE).map(String::as_str) != Some("model")
        {
            continue;
        }
        let Some(name) = head.labels.get(job::LABEL_JOB) else {
            continue;
        };
        if let Some(model) = model_in_document(doc)? {
            models.insert(name.clone(), model);
        }
    }
    Ok(models)
}

/// The job model a model ConfigMap holds, plain or gzipped; `None` when it holds neither key.
fn model_in_document(doc: &Document) -> Result<Option<JobModel>> {
    let value = doc.value()?;
    let origin = JobOrigin(doc.describe().to_string());
    let json = if let Some(text) = value
        .pointer(&format!("/data/{}", job::MODEL_KEY))
        .and_then(Value::as_str)
    {
        text.to_string()
    } else if let Some(b64) = value
        .pointer(&format!("/binaryData/{}", job::MODEL_KEY_COMPRESSED))
        .and_then(Value::as_str)
    {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| Error::Job {
                origin: origin.clone(),
                message: format!("binaryData is not base64: {e}"),
            })?;
        let mut text = String::new();
        let limit = samza::limits::MAX_MODEL_JSON_BYTES;
        std::io::Read::read_to_string(
            &mut std::io::Read::take(flate2::read::GzDecoder::new(&bytes[..]), limit + 1),
            &mut text,
        )
        .map_err(|e| Error::Job {
            origin: origin.clone(),
            message: format!("binaryData is not gzip: {e}"),
        })?;
        if text.len() as u64 > limit {
            return Err(Error::Job {
                origin,
                message: format!(
                    "binaryData expands to more than {limit} bytes, more than any job model; it is not one"
                ),
            });
        }
        text
    } else {
        return Ok(None);
    };
    JobModel::from_json(&json)
        .map(Some)
        .map_err(|source| Error::Samza { origin, source })
}

/// `helm-samza show`: one paragraph per job model found in a post-rendered stream.
pub fn show(bytes: &[u8]) -> Result<String> {
    // Reading models skips documents that cannot hold one; here every document is read, so that a broken
    // stream is reported instead of being summed up as "no model".
    for doc in Stream::from_bytes(bytes)?.documents() {
        doc.value()?;
    }
    let models = models_in_stream(bytes)?;
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
