//! The post-render pipeline, and nothing else: manifests in → find jobs (`job::scan`) → gather partition facts
//! (`facts::gather`) → compute models (`samza::plan`, behind the safety gate of `plan`) → patch (`manifest`,
//! `template`, `model_configmap`) → manifests out, as one [`Rendered`] value.
//!
//! Each stage takes the previous stage's typed result. All work happens before the first byte is written, so a
//! failure anywhere leaves stdout empty: Helm never sees a partial stream. Every command that renders (post-render,
//! plan, lock, lint) calls [`render`]; what they do with the [`Rendered`] value is theirs.

use std::{borrow::Cow, collections::BTreeMap};

use serde_json::{json, Value};

use crate::{
    error::{Error, JobOrigin, Result},
    facts::{self, FactSources, GatheredFacts},
    job::{self, JobDocs, Scan},
    job_config,
    kafka::SourceKind,
    lock::LockedJob,
    manifest::{apply, Document, ManifestError, Patch, Seg, Stream},
    model_configmap::{self, Carry, EncodedModel, Layout},
    model_inputs::{self, ModelInputs},
    plan::{self, Hazard, Snapshot},
    previous::{self, PreviousModels, PreviousState, StreamState},
    samza::{self, Config, JobModel, Plan, SamzaVersion},
    template::{self, TemplateEngine},
};

/// What the caller decided before the stream was read.
pub struct RenderOptions<'a> {
    pub sources: FactSources<'a>,
    /// Previous job models by job name; the `None` key applies to every job.
    pub previous: PreviousModels,
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
    /// `plan`: the deployed release's models by job and the release's name, the last source of previous state.
    pub deployed: Option<(String, BTreeMap<String, JobModel>)>,
    /// `lock`: what the job's coordinator stream stores wins over the old lock's mappings (re-locking pins what
    /// Samza stored); elsewhere a lock's mappings win and the stream is not read.
    pub stream_over_lock: bool,
    /// How a model is carried (`--model-layout`); a job's config ConfigMap can choose for itself.
    pub model_layout: Layout,
}

/// One job's computed outcome, for summaries and for `plan`.
pub struct RenderedJob {
    pub name: String,
    pub plan: Plan,
    pub digest: String,
    pub facts: GatheredFacts,
    /// What the model was kept stable against and compared with; `None`: a first deploy.
    pub previous: Option<PreviousState>,
    /// What the safety gate found (empty when it passed, or for a first deploy); the render fails on them
    /// unless the gate is open.
    pub hazards: Vec<Hazard>,
    /// The length of the model's JSON: what the coordinator holds and serves.
    pub model_json_bytes: u64,
    /// How the model is carried to the coordinator: `inline`, `parts` or `inputs` (`model_configmap::Layout`).
    pub model_layout: &'static str,
}

/// What a render produced: the output stream, the jobs computed and (with `keep_going`) the jobs that failed.
pub struct Rendered<'a> {
    /// The input itself when nothing changed (no copy of a large stream).
    pub output: Cow<'a, [u8]>,
    pub jobs: Vec<RenderedJob>,
    pub failed: Vec<(String, Error)>,
    /// The stream as split, scanned and edited, for readers of the result (lint); `None` on the pass-through
    /// path, where the stream holds no Samza job and was never split.
    pub parsed: Option<Parsed<'a>>,
}

/// The split stream with the pipeline's edits, and the jobs found in it (indexes into the input stream).
pub struct Parsed<'a> {
    pub stream: Stream<'a>,
    pub scan: Scan,
}

/// The pipeline; with `options.keep_going` a failing job is recorded in `failed` and left unpatched.
pub fn render<'a>(input: &'a [u8], options: &RenderOptions) -> Result<Rendered<'a>> {
    if memchr::memmem::find(input, job::LABEL_PREFIX.as_bytes()).is_none() {
        // Nothing in the stream belongs to a Samza job (every job resource carries a samza.apache.org/ label or
        // annotation): the output is the input, byte for byte, without splitting it.
        if is_blank_stream(input) {
            return Err(Error::EmptyStream);
        }
        // Passed on untouched, but refused as the slow path refuses it: Helm could not read it either.
        if let Err(e) = std::str::from_utf8(input) {
            return Err(ManifestError::NotUtf8 {
                offset: e.valid_up_to(),
            }
            .into());
        }
        return Ok(Rendered {
            output: Cow::Borrowed(input),
            jobs: Vec::new(),
            failed: Vec::new(),
            parsed: None,
        });
    }
    let mut stream = Stream::from_bytes(input)?;
    if stream.documents().iter().all(|doc| doc.is_blank()) {
        // The same failure as on the fast path above, with the same exit code.
        return Err(Error::EmptyStream);
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
                job_contexts.insert(
                    job.name.clone(),
                    template::job_context(
                        &job.name,
                        &job.plan,
                        &job.facts.facts.counts,
                        &job.digest,
                    ),
                );
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
        parsed: Some(Parsed { stream, scan }),
    })
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
    let (config, embedded_lock) = job_config::read_config(&config_value, &origin)?;
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
    let head = &scan.heads[&config_index];
    let allowed = options.allow_unsafe
        || head
            .annotations
            .get(job::ANNOTATION_ALLOW_UNSAFE)
            .is_some_and(|v| v == "true");
    let upgrade = head
        .annotations
        .get(job::ANNOTATION_HELM_UPGRADE)
        .is_some_and(|v| v == "true");
    // A stream that carries the job's model already (it went through helm-samza before, or the chart rendered it
    // from `helm samza values`) carries what is or will be deployed: the last source of previous state, as the
    // deployed release is for `plan`. So post-rendering such a stream changes nothing the same inputs did not.
    let in_stream = match docs.models.first() {
        // A model carried as its inputs names the previous state it was planned against itself (the coordinator
        // stream, read below when it is wanted, or none): planning against the model would record another one,
        // and a stream post-rendered again must come out as it went in.
        Some(&index) if model_configmap::carried_inputs(&stream.documents()[index])?.is_some() => {
            None
        }
        Some(&index) => model_configmap::decode(stream, &stream.documents()[index])?,
        None => None,
    };
    let known = PreviousSources {
        model: options
            .previous
            .get(&Some(docs.name.clone()))
            .or_else(|| options.previous.get(&None)),
        lock: lock.as_ref(),
        deployed: options
            .deployed
            .as_ref()
            .and_then(|(release, models)| Some((models.get(&docs.name)?, release.as_str())))
            .or_else(|| in_stream.as_ref().map(|model| (model, IN_STREAM))),
        stream: if options.stream_over_lock {
            StreamPolicy::OverLock
        } else if upgrade {
            StreamPolicy::Always
        } else {
            StreamPolicy::WhenLive
        },
    };
    let PlannedJob {
        mut plan,
        gathered,
        previous,
        stream: stream_read,
    } = plan_job(
        &config,
        &options.sources,
        &known,
        &scan.kafka_topics,
        &origin,
    )?;
    let stateful = plan::is_stateful(&plan);

    let hazards = match &previous {
        Some(previous) => {
            let diff = plan::diff(&previous.snapshot(), &Snapshot::from_model(&plan.model));
            plan::hazards(&diff, stateful)
        }
        None => Vec::new(),
    };
    if !hazards.is_empty() && !allowed {
        return Err(Error::Unsafe {
            origin,
            message: format!(
                "{} (compared with {}) To deploy anyway pass --allow-unsafe (env HELM_SAMZA_ALLOW_UNSAFE=true) or \
                 annotate the config ConfigMap with {}: \"true\"; `helm samza plan` shows the whole change.",
                hazards.iter().map(|h| format!("[{}] {}", h.id, h.message)).collect::<Vec<_>>().join(" "),
                previous.as_ref().map_or("", |p| p.source.as_str()),
                job::ANNOTATION_ALLOW_UNSAFE
            ),
        });
    }
    if previous.is_none() && stateful && upgrade && !allowed {
        // An upgrade of a job with state, and nothing says what Samza stored: a fresh mapping could hand tasks
        // another task's state. Refuse rather than guess.
        return Err(Error::Unsafe {
            origin,
            message: format!(
                "[no-previous-state] this is a helm upgrade of a job with changelogged stores, and its previous \
                 state is unknown: {}. Without it the changelog mapping cannot be kept. Give it one way: let the \
                 post-renderer read the coordinator stream (drop --offline; bootstrap servers and client settings \
                 as for partition discovery), pass a lock (--lock FILE, written by `helm samza lock`), or pass the \
                 deployed model (--previous FILE, from `helm get manifest RELEASE`). To deploy anyway pass \
                 --allow-unsafe (env HELM_SAMZA_ALLOW_UNSAFE=true).",
                stream_read.describe()
            ),
        });
    }
    // The model's config must tell the containers the truth about how many of them there are.
    model_inputs::settle_container_count(&mut plan.model);
    let active = plan.model.active_container_count();
    let layout = match head.annotations.get(job::ANNOTATION_MODEL_LAYOUT) {
        Some(text) => text.parse::<Layout>().map_err(|message| Error::Job {
            origin: origin.clone(),
            message: format!(
                "{} annotation {}: {message}",
                config_doc.describe(),
                job::ANNOTATION_MODEL_LAYOUT
            ),
        })?,
        None => options.model_layout,
    };
    // Only a split model needs its gzip past one ConfigMap, and only up to the most parts; a model carried as its
    // inputs needs only its digest.
    let keep_up_to = match layout {
        Layout::Parts => model_configmap::MAX_PARTS * model_configmap::MAX_PART_BYTES,
        _ => model_configmap::MAX_PART_BYTES,
    };
    let encoded = model_configmap::encode_model(&plan.model, options.samza_version, keep_up_to);
    let digest = encoded.digest.clone();
    let model_json_bytes = encoded.json_bytes;
    let carry = carry(
        layout,
        encoded,
        || {
            Box::new(ModelInputs::new(
                &docs.name,
                options.samza_version,
                &digest,
                &config,
                &gathered.facts,
                previous.as_ref().map(|p| (&p.state, p.source.as_str())),
            ))
        },
        &origin,
    )?;
    if let (Carry::Inputs(_), Some(previous)) = (&carry, &previous) {
        if !previous.source.starts_with("coordinator stream") && !options.keep_going {
            // The coordinator can read only the stream: it gives the same model when the other source holds
            // what the stream holds, and it refuses to serve anything else.
            eprintln!(
                "note: {origin}: its model is carried as its inputs (model layout) and was kept stable \
                 against the previous state from {}; the coordinator computes it again with the state in the job's \
                 coordinator stream, and serves it only if that gives this model (it does when the {} holds what \
                 the stream holds: check with `helm samza lock --verify-live`)",
                previous.source, previous.source
            );
        }
    }

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
    let mut provenance = gathered.describe();
    // The stream's own model is not named: post-rendering a post-rendered stream again changes nothing.
    if let Some(previous) = previous.as_ref().filter(|p| !p.source.ends_with(IN_STREAM)) {
        provenance.push_str(&format!("; previous state: {}", previous.source));
    }
    let model_layout = carry.layout_name();
    let model_name = model_configmap::configmap_name(head);
    let configmaps = model_configmap::encode(head, &docs.name, &digest, carry, &provenance);
    // The coordinator mounts the model ConfigMap; a split model needs every part in the same volume.
    let parts: Vec<String> = configmaps[1..]
        .iter()
        .filter_map(|cm| cm.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    for &index in &docs.coordinators {
        mount_model(stream, index, &model_name, &parts, edits, &origin)?;
    }
    // A stream that went through helm-samza before carries the old model: the new one replaces it.
    for &index in docs.models.iter().chain(&docs.model_parts) {
        edits.removed.push(index);
    }
    let source = head
        .source
        .clone()
        .unwrap_or_else(|| format!("samza/{}-job-model.yaml", docs.name));
    for configmap in configmaps {
        edits.added.push((source.clone(), configmap));
    }

    Ok(RenderedJob {
        name: docs.name.clone(),
        plan,
        digest,
        facts: gathered,
        previous,
        hazards,
        model_json_bytes,
        model_layout,
    })
}

/// How the model travels, from the layout asked for and the size it encoded to.
fn carry(
    layout: Layout,
    encoded: EncodedModel,
    inputs: impl FnOnce() -> Box<ModelInputs>,
    origin: &JobOrigin,
) -> Result<Carry> {
    let too_large = |message: String| Error::Samza {
        origin: origin.clone(),
        source: samza::SamzaError::Model { message },
    };
    let size = |encoded: &EncodedModel| {
        format!(
            "{}{:.2} MiB of gzipped JSON",
            if encoded.kept() { "" } else { "more than " },
            encoded.carried_bytes() as f64 / 1_048_576.0
        )
    };
    Ok(match layout {
        Layout::Inputs => Carry::Inputs(inputs()),
        _ if encoded.fits_one_configmap() => Carry::Inline(encoded),
        Layout::Auto => Carry::Inputs(inputs()),
        Layout::Inline => {
            return Err(too_large(format!(
                "the job model is {}, more than the {} KiB one ConfigMap carries (model layout `inline`): use \
                 the layout `auto` or `inputs` (the model is computed again by the coordinator), or `parts`",
                size(&encoded),
                model_configmap::MAX_PART_BYTES / 1024
            )))
        }
        Layout::Parts if encoded.parts_needed() > model_configmap::MAX_PARTS => {
            return Err(too_large(format!(
                "the job model is {}, more parts of {} KiB than the {} a model is split into (model layout \
                 `parts`): use the layout `inputs` (the model is computed again by the coordinator)",
                size(&encoded),
                model_configmap::MAX_PART_BYTES / 1024,
                model_configmap::MAX_PARTS
            )))
        }
        Layout::Parts => Carry::Parts(encoded),
    })
}

/// Points the coordinator's model volume at the model ConfigMap and every part (a projected volume), so the
/// parts are files side by side with the index; and back at the model ConfigMap alone when a stream that went
/// through helm-samza before had parts and the model now has none.
fn mount_model(
    stream: &Stream,
    index: usize,
    model: &str,
    parts: &[String],
    edits: &mut Edits,
    origin: &JobOrigin,
) -> Result<()> {
    let doc = &stream.documents()[index];
    if parts.is_empty() && !doc.mentions("projected") {
        return Ok(());
    }
    let value = doc.value()?;
    let volumes = value
        .pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array);
    let names = |volume: &Value| -> Vec<String> {
        let direct = volume.pointer("/configMap/name").and_then(Value::as_str);
        let projected = volume
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|source| source.pointer("/configMap/name").and_then(Value::as_str));
        direct
            .into_iter()
            .chain(projected)
            .map(str::to_string)
            .collect()
    };
    let found = volumes.and_then(|volumes| {
        volumes
            .iter()
            .position(|volume| names(volume).iter().any(|name| name == model))
            .map(|position| (position, volumes[position].get("projected").is_some()))
    });
    let path = |position: usize, last: &str| -> Vec<Seg> {
        vec![
            "spec".into(),
            "template".into(),
            "spec".into(),
            "volumes".into(),
            position.into(),
            last.into(),
        ]
    };
    match found {
        None if parts.is_empty() => {}
        None => {
            return Err(Error::Job {
                origin: origin.clone(),
                message: format!(
                    "{} mounts no volume of the model ConfigMap {model}: a model split into parts needs one (the \
                     samza-job chart's coordinator has it)",
                    doc.describe()
                ),
            })
        }
        Some((_, false)) if parts.is_empty() => {}
        Some((position, _)) if parts.is_empty() => {
            edits
                .patch(index)
                .remove(path(position, "projected"))
                .set(path(position, "configMap"), json!({"name": model, "optional": true}));
        }
        Some((position, projected)) => {
            let mut sources = vec![json!({"configMap": {"name": model}})];
            sources.extend(parts.iter().map(|part| json!({"configMap": {"name": part}})));
            let volume = &volumes.expect("found in them")[position];
            let wanted: Vec<&str> = std::iter::once(model)
                .chain(parts.iter().map(String::as_str))
                .collect();
            if projected && names(volume) == wanted {
                // A stream post-rendered before with the same parts: it stays as it is.
                return Ok(());
            }
            let patch = edits.patch(index);
            // A collection is replaced by removing it and writing it anew (the patch's next round).
            patch.remove(path(position, if projected { "projected" } else { "configMap" }));
            patch.set(path(position, "projected"), json!({"sources": sources}));
        }
    }
    Ok(())
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
    let value = doc.value()?;
    let model = model_configmap::decode_doc(stream, doc, &value)?.ok_or_else(|| Error::Job {
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
    let (digest, model_json_bytes) = model.json_digest(version);
    let mut facts = GatheredFacts::default();
    facts.facts.counts = model.input_partition_counts();
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
        digest,
        facts,
        previous: None,
        hazards: Vec::new(),
        model_json_bytes,
        model_layout: model_configmap::layout_of(&value),
    })
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

/// Where a job's previous state may come from, in precedence order (see `previous`).
pub struct PreviousSources<'a> {
    /// `--previous`.
    pub model: Option<&'a JobModel>,
    pub lock: Option<&'a LockedJob>,
    /// `plan`: the deployed release's model, and the release's name.
    pub deployed: Option<(&'a JobModel, &'a str)>,
    pub stream: StreamPolicy,
}

/// The "release" a model found in the rendered stream stands for (`release <this>` in messages).
const IN_STREAM: &str = "being rendered (its model ConfigMap in the stream)";

/// When the job's coordinator stream is read (never with `--offline`, nor when `--previous` is given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPolicy {
    /// Unless the lock holds the job's mappings, and only when Kafka is in play: some partition count came from
    /// the live cluster. A render whose counts all came from flags, a lock or KafkaTopic resources stays offline,
    /// as it always did.
    WhenLive,
    /// Unless the lock holds the job's mappings (a `helm upgrade`: what Samza stored must be known).
    Always,
    /// Before the lock's mappings, when Kafka is in play (`lock`: re-locking pins what Samza stored).
    OverLock,
}

/// What became of the coordinator stream in one job's render, for messages.
#[derive(Debug)]
pub enum StreamOutcome {
    /// Not read: `--offline`, another source knew the previous state, or no live count was needed.
    NotRead {
        offline: bool,
    },
    NotKafka,
    Absent {
        topic: String,
    },
    /// Read, and empty: the topic exists, nothing was stored yet.
    Empty {
        source: String,
    },
    Read,
    /// Unreadable, and the job keeps no state (a job with state fails instead).
    Failed(String),
}

impl StreamOutcome {
    /// Why no previous state came from the stream, for the upgrade refusal.
    pub fn describe(&self) -> String {
        match self {
            StreamOutcome::NotRead { offline: true } => {
                "--offline, so its coordinator stream was not read, and no lock or --previous holds it".into()
            }
            StreamOutcome::NotRead { offline: false } => {
                "its coordinator stream was not read, and no lock or --previous holds it".into()
            }
            StreamOutcome::NotKafka => {
                "its coordinator system is not a Kafka system, and no lock or --previous holds it".into()
            }
            StreamOutcome::Absent { topic } => format!(
                "its coordinator stream {topic} does not exist (no coordinator has written it yet), and no lock or \
                 --previous holds it"
            ),
            StreamOutcome::Empty { source } => format!(
                "its {source} is empty (no coordinator has written it yet), and no lock or --previous holds it"
            ),
            StreamOutcome::Read => "its coordinator stream holds nothing".into(),
            StreamOutcome::Failed(reason) => format!("its coordinator stream could not be read: {reason}"),
        }
    }
}

/// A job planned: the plan, its facts, the previous state it kept stable against and what the stream said.
pub struct PlannedJob {
    pub plan: Plan,
    pub gathered: GatheredFacts,
    pub previous: Option<PreviousState>,
    pub stream: StreamOutcome,
}

/// One job from its config to its plan: partition facts from the sources, the previous state from the first
/// source that knows it, then Samza's planner.
pub fn plan_job(
    config: &Config,
    sources: &FactSources,
    known: &PreviousSources,
    kafka_topics: &[job::KafkaTopicResource],
    origin: &JobOrigin,
) -> Result<PlannedJob> {
    let samza_error = |source| Error::Samza {
        origin: origin.clone(),
        source,
    };
    let request = samza::required_inputs(config).map_err(samza_error)?;
    let gathered = facts::gather(config, &request, sources, known.lock, kafka_topics, origin)?;

    let given = known
        .model
        .map(|model| PreviousState::from_model(model, "--previous"));
    let locked = known
        .lock
        .and_then(LockedJob::previous)
        .map(|state| PreviousState {
            state,
            source: "lock file".into(),
        });
    let live = gathered
        .records
        .values()
        .flatten()
        .any(|record| record.kind == SourceKind::Kafka);
    let wanted = given.is_none()
        && match known.stream {
            StreamPolicy::WhenLive => locked.is_none() && live,
            StreamPolicy::Always => locked.is_none(),
            StreamPolicy::OverLock => live,
        };
    let (stored, stream) = if sources.offline || !wanted {
        (
            None,
            StreamOutcome::NotRead {
                offline: sources.offline,
            },
        )
    } else {
        match previous::read_coordinator_stream(config, sources.overrides) {
            Ok(StreamState::NotKafka) => (None, StreamOutcome::NotKafka),
            Ok(StreamState::Absent { topic }) => (None, StreamOutcome::Absent { topic }),
            Ok(StreamState::Read(state)) if state.state == samza::Previous::default() => (
                None,
                StreamOutcome::Empty {
                    source: state.source,
                },
            ),
            Ok(StreamState::Read(state)) => (Some(state), StreamOutcome::Read),
            Err(reason) => (None, StreamOutcome::Failed(reason)),
        }
    };
    let deployed = known
        .deployed
        .map(|(model, release)| PreviousState::from_model(model, format!("release {release}")));
    let previous = match known.stream {
        StreamPolicy::OverLock => given.or(stored).or(locked),
        _ => given.or(locked).or(stored),
    }
    .or(deployed);
    let plan = samza::plan(config, &gathered.facts, previous.as_ref().map(|p| &p.state))
        .map_err(samza_error)?;
    if let (None, StreamOutcome::Failed(reason)) = (&previous, &stream) {
        if plan::is_stateful(&plan) {
            return Err(previous::unreadable_stream(origin, reason));
        }
        eprintln!(
            "note: {origin}: its coordinator stream could not be read ({reason}); the job keeps no changelogged \
             state, so it is planned without it"
        );
    }
    Ok(PlannedJob {
        plan,
        gathered,
        previous,
        stream,
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
