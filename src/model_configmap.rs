//! The job-model ConfigMap: how the post-renderer writes a job's model into the stream, and how every reader
//! (plan, lint, `show`, `--previous`, the coordinator) gets it back.
//!
//! A model is carried in one of four ways (its *layout*), all under the one ConfigMap the coordinator mounts:
//! - **plain**: the JSON under `data.job-model.json`, up to [`MAX_PLAIN_MODEL_BYTES`];
//! - **gzip**: past that, gzipped under `binaryData.job-model.json.gz`, up to [`MAX_PART_BYTES`] of gzip;
//! - **parts** (`--model-layout parts`): past that, the gzip split into parts of at most [`MAX_PART_BYTES`], one
//!   ConfigMap each (`<model>-part-N`, key `job-model.json.gz.part-N`), listed in order with their sizes and
//!   digests by an index under `data.job-model.index.json`; the coordinator's volume projects them all, and the
//!   coordinator joins them. At most [`MAX_PARTS`]. Kubernetes accepts every part, but Helm stores the whole
//!   release in one Secret of 1 MiB, so this serves `kubectl apply --server-side` and GitOps tools;
//! - **inputs** (the default past one ConfigMap): the model's inputs under `data.job-model.inputs.json`
//!   (`model_inputs`), a few kilobytes whatever the model's size; the coordinator computes the model again and
//!   serves it only if its digest is the one computed here.
//!
//! Encoding and decoding live together so the forms cannot drift apart; the checksum on pod templates is the
//! digest of the same JSON in every layout (so it covers every part).
//!
//! The post-renderer writes the model once, straight into its encoding ([`encode_model`]): the JSON is hashed as
//! it streams and kept as text while it fits, and past the limit gzipped as it streams, so a large model's JSON is
//! never held whole.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
};

use base64::Engine as _;
use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    error::{Error, JobOrigin, Result},
    job,
    manifest::{Document, Head, Stream},
    model_inputs::ModelInputs,
    samza::{JobModel, SamzaVersion},
};

/// A ConfigMap may hold 1 MiB in all; past this much JSON the model goes into binaryData, gzipped.
pub const MAX_PLAIN_MODEL_BYTES: usize = 900 * 1024;

/// The most gzip one ConfigMap carries (the gzip layout, and each part): 1 MiB less room for the index, the
/// metadata and the labels a chart adds.
pub const MAX_PART_BYTES: usize = 900 * 1024;

/// The most parts a model is split into (7.2 MiB of gzip, some 600,000 ordinary tasks): every part is another
/// object the API server stores and the kubelet watches, rewritten whole on every deploy that changes the model,
/// and joined in the coordinator's memory. A larger model is carried as its inputs, a few kilobytes.
pub const MAX_PARTS: usize = 8;

/// How a job's model is carried to the coordinator (`--model-layout`, or the config ConfigMap's
/// `samza.apache.org/model-layout`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// In one ConfigMap when it fits (plain, or gzipped), else as its inputs.
    #[default]
    Auto,
    /// In one ConfigMap, or not at all: a model too large is refused.
    Inline,
    /// In one ConfigMap when it fits, else split over several.
    Parts,
    /// As its inputs, always.
    Inputs,
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Layout, String> {
        <Layout as clap::ValueEnum>::from_str(text.trim(), true)
            .map_err(|_| format!("{text:?} is not a model layout (auto, inline, parts, inputs)"))
    }
}

/// `sha256:<hex>` of a model's JSON: the checksum on pod templates and the model ConfigMap.
pub fn digest(model_json: &str) -> String {
    digest_bytes(model_json.as_bytes())
}

/// `sha256:<hex>` of bytes.
pub fn digest_bytes(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// [`digest`] of the model's JSON, hashed as the writer streams it (the JSON is never held).
pub fn model_digest(model: &JobModel, version: SamzaVersion) -> String {
    model.json_digest(version).0
}

/// How much of the model writer's output is buffered before it is hashed and kept or compressed.
const WRITE_BUFFER: usize = 64 * 1024;

/// A model's JSON as its ConfigMap carries it, and the JSON's [`digest`].
pub struct EncodedModel {
    pub digest: String,
    /// The length of the model's JSON.
    pub json_bytes: u64,
    body: Body,
}

enum Body {
    /// `data`: the JSON itself, up to [`MAX_PLAIN_MODEL_BYTES`].
    Plain(String),
    /// The JSON gzipped.
    Gzip(Vec<u8>),
    /// More gzip than [`encode_model`] was asked to keep: only the digest is kept.
    Dropped { at_least: usize },
}

impl EncodedModel {
    /// Whether one ConfigMap carries it (plain, or gzipped within [`MAX_PART_BYTES`]).
    pub fn fits_one_configmap(&self) -> bool {
        match &self.body {
            Body::Plain(_) => true,
            Body::Gzip(gzip) => gzip.len() <= MAX_PART_BYTES,
            Body::Dropped { .. } => false,
        }
    }

    /// Whether the gzip was kept (it can be split into parts).
    pub fn kept(&self) -> bool {
        !matches!(self.body, Body::Dropped { .. })
    }

    /// The bytes the ConfigMap would hold: the JSON, or its gzip.
    pub fn carried_bytes(&self) -> usize {
        match &self.body {
            Body::Plain(json) => json.len(),
            Body::Gzip(gzip) => gzip.len(),
            Body::Dropped { at_least } => *at_least,
        }
    }

    /// How many parts of at most [`MAX_PART_BYTES`] the gzip makes (1 for a model that fits).
    pub fn parts_needed(&self) -> usize {
        self.carried_bytes().div_ceil(MAX_PART_BYTES).max(1)
    }
}

/// Writes the model's JSON in the shape of `version` once, into the encoding its ConfigMap carries. Gzip past
/// `keep_up_to` bytes is not kept (nor compressed further), only the digest: a model carried as its inputs needs
/// nothing else, and one that needs more than [`MAX_PARTS`] parts is refused.
pub fn encode_model(model: &JobModel, version: SamzaVersion, keep_up_to: usize) -> EncodedModel {
    let sink = Sink {
        hasher: Sha256::new(),
        plain: Vec::new(),
        gzip: None,
        keep_up_to,
        dropped: None,
        bytes: 0,
    };
    let mut writer = std::io::BufWriter::with_capacity(WRITE_BUFFER, sink);
    model
        .write_json(version, &mut writer)
        .expect("encoding in memory");
    let sink = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("encoding in memory");
    let body = match (sink.dropped, sink.gzip) {
        (Some(at_least), _) => Body::Dropped { at_least },
        (None, None) => {
            Body::Plain(String::from_utf8(sink.plain).expect("serde_json writes UTF-8"))
        }
        (None, Some(gzip)) => Body::Gzip(gzip.finish().expect("encoding in memory")),
    };
    EncodedModel {
        digest: format!("sha256:{:x}", sink.hasher.finalize()),
        json_bytes: sink.bytes,
        body,
    }
}

/// The far end of [`encode_model`]'s writer: hashes everything, keeps it while it fits `data`, and from the
/// first byte past [`MAX_PLAIN_MODEL_BYTES`] compresses instead (what was kept first).
struct Sink {
    hasher: Sha256,
    plain: Vec<u8>,
    gzip: Option<GzEncoder<Vec<u8>>>,
    keep_up_to: usize,
    /// Set when the gzip passed one ConfigMap and was let go: its size then.
    dropped: Option<usize>,
    /// JSON bytes written.
    bytes: u64,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        if self.dropped.is_some() {
            return Ok(buf.len());
        }
        match &mut self.gzip {
            Some(gzip) if gzip.get_ref().len() > self.keep_up_to => {
                self.dropped = Some(gzip.get_ref().len());
                self.gzip = None;
            }
            Some(gzip) => gzip.write_all(buf)?,
            None if self.plain.len() + buf.len() > MAX_PLAIN_MODEL_BYTES => {
                let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
                gzip.write_all(&std::mem::take(&mut self.plain))?;
                gzip.write_all(buf)?;
                self.gzip = Some(gzip);
            }
            None => self.plain.extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How the model goes into the stream, decided by the caller (`render`) from the layout asked for.
pub enum Carry {
    /// One ConfigMap: plain or gzipped, as the model encoded.
    Inline(EncodedModel),
    /// Split over parts (the model must be gzipped).
    Parts(EncodedModel),
    /// As its inputs.
    Inputs(Box<ModelInputs>),
}

impl Carry {
    /// The layout's name, as `--model-layout` spells it (`inline` for plain or gzip); [`layout_of`] reads it back.
    pub fn layout_name(&self) -> &'static str {
        match self {
            Carry::Inline(_) => "inline",
            Carry::Parts(_) => "parts",
            Carry::Inputs(_) => "inputs",
        }
    }
}

/// The layout a model ConfigMap's value was written in, named as [`Carry::layout_name`] names it.
pub fn layout_of(value: &Value) -> &'static str {
    let data = |key: &str| value.pointer(&format!("/data/{key}")).is_some();
    if data(job::MODEL_KEY_INPUTS) {
        "inputs"
    } else if data(job::MODEL_KEY_INDEX) {
        "parts"
    } else {
        "inline"
    }
}

/// The index of a model split over several ConfigMaps (`data.job-model.index.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartsIndex {
    /// Always `gzip`: the parts joined in order are the model's JSON gzipped.
    pub encoding: String,
    /// [`digest`] of the model's JSON.
    pub model_digest: String,
    pub parts: Vec<PartEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartEntry {
    pub config_map: String,
    pub key: String,
    pub bytes: usize,
    /// [`digest_bytes`] of the part's (decoded) bytes.
    pub sha256: String,
}

impl PartsIndex {
    pub fn from_json(text: &str) -> std::result::Result<PartsIndex, String> {
        let index: PartsIndex = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if index.encoding != "gzip" {
            return Err(format!("encoding {:?} is not gzip", index.encoding));
        }
        if index.parts.is_empty() || index.parts.len() > MAX_PARTS {
            return Err(format!(
                "it lists {} parts (1 to {MAX_PARTS})",
                index.parts.len()
            ));
        }
        Ok(index)
    }

    /// The parts' bytes joined, each checked against its size and digest; `part` gets a part's bytes by its
    /// entry (`None`: not there).
    pub fn join(
        &self,
        mut part: impl FnMut(&PartEntry) -> std::result::Result<Option<Vec<u8>>, String>,
    ) -> std::result::Result<Vec<u8>, String> {
        let mut joined = Vec::with_capacity(self.parts.iter().map(|p| p.bytes).sum());
        for (n, entry) in self.parts.iter().enumerate() {
            let bytes = part(entry)?.ok_or_else(|| {
                format!(
                    "part {} of {} ({} of ConfigMap {}) is missing",
                    n + 1,
                    self.parts.len(),
                    entry.key,
                    entry.config_map
                )
            })?;
            let sha = digest_bytes(&bytes);
            if bytes.len() != entry.bytes || sha != entry.sha256 {
                return Err(format!(
                    "part {} of {} ({} of ConfigMap {}) is {} bytes with digest {sha}, the index says {} bytes \
                     with digest {}: the parts are from different renders",
                    n + 1,
                    self.parts.len(),
                    entry.key,
                    entry.config_map,
                    bytes.len(),
                    entry.bytes,
                    entry.sha256
                ));
            }
            joined.extend_from_slice(&bytes);
        }
        Ok(joined)
    }
}

/// The name of the ConfigMap that carries the model to the coordinator (and so to the containers).
pub fn configmap_name(config_head: &Head) -> String {
    config_head
        .annotations
        .get(job::ANNOTATION_MODEL_CONFIGMAP)
        .cloned()
        .unwrap_or_else(|| format!("{}-model", config_head.name))
}

/// The name of part `n` (from 1) of a split model.
pub fn part_name(model_configmap: &str, n: usize) -> String {
    format!("{model_configmap}-part-{n}")
}

/// The ConfigMaps that carry the model to the coordinator: the model ConfigMap first, then any parts.
pub fn encode(
    config_head: &Head,
    job: &str,
    digest: &str,
    carry: Carry,
    partition_source: &str,
) -> Vec<Value> {
    let name = configmap_name(config_head);
    let configmap = |name: &str, role: &str| {
        // The config ConfigMap's labels (the chart's own and any common labels a chart adds), but its role.
        let mut labels = serde_json::Map::new();
        for (key, value) in &config_head.labels {
            if key != job::LABEL_ROLE {
                labels.insert(key.clone(), json!(value));
            }
        }
        labels.insert(job::LABEL_JOB.into(), json!(job));
        labels.insert(job::LABEL_ROLE.into(), json!(role));
        let mut metadata = json!({
            "name": name,
            "labels": labels,
            "annotations": {
                job::ANNOTATION_CHECKSUM: digest,
                job::ANNOTATION_SOURCE: partition_source,
            },
        });
        if let Some(namespace) = &config_head.namespace {
            metadata["namespace"] = json!(namespace);
        }
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata})
    };
    let with = |mut cm: Value, field: &str, key: &str, text: String| {
        // The text moves into the ConfigMap (`json!` would copy it).
        let mut entries = serde_json::Map::new();
        entries.insert(key.into(), Value::String(text));
        cm[field] = Value::Object(entries);
        cm
    };
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    match carry {
        Carry::Inline(EncodedModel {
            body: Body::Plain(json),
            ..
        }) => vec![with(
            configmap(&name, "model"),
            "data",
            job::MODEL_KEY,
            json,
        )],
        Carry::Inline(EncodedModel {
            body: Body::Dropped { .. },
            ..
        }) => unreachable!("a model in one ConfigMap fits it"),
        Carry::Inline(EncodedModel {
            body: Body::Gzip(gzip),
            ..
        }) => vec![with(
            configmap(&name, "model"),
            "binaryData",
            job::MODEL_KEY_COMPRESSED,
            base64(&gzip),
        )],
        Carry::Parts(model) => {
            // Only a model past one ConfigMap is split (`render::carry`): gzipped, and kept.
            let Body::Gzip(bytes) = &model.body else {
                unreachable!("a model split into parts is gzipped and kept")
            };
            let mut parts = Vec::new();
            let mut entries = Vec::new();
            for (i, chunk) in bytes.chunks(MAX_PART_BYTES).enumerate() {
                let part = part_name(&name, i + 1);
                let key = format!("{}{}", job::MODEL_KEY_PART_PREFIX, i + 1);
                entries.push(PartEntry {
                    config_map: part.clone(),
                    key: key.clone(),
                    bytes: chunk.len(),
                    sha256: digest_bytes(chunk),
                });
                parts.push(with(
                    configmap(&part, job::ROLE_MODEL_PART),
                    "binaryData",
                    &key,
                    base64(chunk),
                ));
            }
            let index = PartsIndex {
                encoding: "gzip".into(),
                model_digest: digest.to_string(),
                parts: entries,
            };
            let index = serde_json::to_string_pretty(&index).expect("index serializes");
            let mut all = vec![with(
                configmap(&name, "model"),
                "data",
                job::MODEL_KEY_INDEX,
                index,
            )];
            all.extend(parts);
            all
        }
        Carry::Inputs(inputs) => vec![with(
            configmap(&name, "model"),
            "data",
            job::MODEL_KEY_INPUTS,
            inputs.to_json(),
        )],
    }
}

/// The job models in a manifest stream that went through helm-samza (e.g. `helm get manifest`), by job.
pub fn models_in_stream(bytes: &[u8]) -> Result<BTreeMap<String, JobModel>> {
    let stream = Stream::from_bytes(bytes)?;
    let mut models = BTreeMap::new();
    for doc in stream.documents() {
        if !doc.mentions("job-model.") {
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
        if let Some(model) = decode(&stream, doc)? {
            models.insert(name.clone(), model);
        }
    }
    Ok(models)
}

/// The inputs a model ConfigMap carries instead of its model (the inputs layout), if it does.
pub fn carried_inputs(doc: &Document) -> Result<Option<ModelInputs>> {
    if !doc.mentions(job::MODEL_KEY_INPUTS) {
        return Ok(None);
    }
    let value = doc.value()?;
    Ok(value
        .pointer(&format!("/data/{}", job::MODEL_KEY_INPUTS))
        .and_then(Value::as_str)
        .and_then(|text| ModelInputs::from_json(text).ok()))
}

/// Part ConfigMaps of split models in `stream`, by name (with their namespace, for a stream of several).
pub fn parts_in_stream(stream: &Stream) -> Result<BTreeMap<String, Value>> {
    let mut parts = BTreeMap::new();
    for doc in stream.documents() {
        if !doc.mentions(job::MODEL_KEY_PART_PREFIX) {
            continue;
        }
        let Some(head) = doc.head()? else { continue };
        if head.kind == "ConfigMap"
            && head.labels.get(job::LABEL_ROLE).map(String::as_str) == Some(job::ROLE_MODEL_PART)
        {
            parts.insert(head.name.clone(), doc.value()?);
        }
    }
    Ok(parts)
}

/// The job model a model ConfigMap of `stream` holds, in any layout; `None` when it holds none of the keys.
pub fn decode(stream: &Stream, doc: &Document) -> Result<Option<JobModel>> {
    decode_doc(stream, doc, &doc.value()?)
}

/// [`decode`] of a document whose value the caller has parsed already.
pub fn decode_doc(stream: &Stream, doc: &Document, value: &Value) -> Result<Option<JobModel>> {
    let parts = if layout_of(value) == "parts" {
        parts_in_stream(stream)?
    } else {
        BTreeMap::new()
    };
    decode_value(value, &JobOrigin(doc.describe().to_string()), &parts)
}

/// [`decode`] of a ConfigMap's value, or of anything holding its `data` and `binaryData` (the chart's `jobModel`);
/// `parts`: the part ConfigMaps a split model's index names, by name.
pub fn decode_value(
    value: &Value,
    origin: &JobOrigin,
    parts: &BTreeMap<String, Value>,
) -> Result<Option<JobModel>> {
    let origin = origin.clone();
    let failed = |message: String| Error::Job {
        origin: origin.clone(),
        message,
    };
    let unbase64 = |b64: &str, what: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| failed(format!("{what} is not base64: {e}")))
    };
    let ungzip = |bytes: &[u8], what: &str| {
        gunzip(bytes)
            .and_then(|bytes| String::from_utf8(bytes).map_err(std::io::Error::other))
            .map_err(|e| failed(format!("{what} is not gzip: {e}")))
    };
    let text = |key: &str, field: &str| {
        value
            .pointer(&format!("/{field}/{key}"))
            .and_then(Value::as_str)
    };
    let json = if let Some(text) = text(job::MODEL_KEY, "data") {
        text.to_string()
    } else if let Some(b64) = text(job::MODEL_KEY_COMPRESSED, "binaryData") {
        ungzip(&unbase64(b64, "binaryData")?, "binaryData")?
    } else if let Some(index) = text(job::MODEL_KEY_INDEX, "data") {
        let index = PartsIndex::from_json(index).map_err(|e| {
            failed(format!(
                "{} is not a parts index: {e}",
                job::MODEL_KEY_INDEX
            ))
        })?;
        let joined = index
            .join(|entry| {
                let Some(part) = parts.get(&entry.config_map) else {
                    return Ok(None);
                };
                match part
                    .pointer(&format!("/binaryData/{}", entry.key))
                    .and_then(Value::as_str)
                {
                    Some(b64) => base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map(Some)
                        .map_err(|e| {
                            format!(
                                "{} of ConfigMap {} is not base64: {e}",
                                entry.key, entry.config_map
                            )
                        }),
                    None => Ok(None),
                }
            })
            .map_err(|e| failed(format!("the model's parts cannot be joined: {e}")))?;
        ungzip(&joined, "the joined parts")?
    } else if let Some(inputs) = text(job::MODEL_KEY_INPUTS, "data") {
        let inputs = ModelInputs::from_json(inputs).map_err(|e| {
            failed(format!(
                "{} is not a model's inputs: {e}",
                job::MODEL_KEY_INPUTS
            ))
        })?;
        return inputs
            .recompute(|| {
                Err(format!(
                    "this job's model was planned against the previous state in its coordinator stream ({}) and \
                     is carried as its inputs (it is too large for a ConfigMap); only the coordinator stream knows \
                     that state: read it live (drop --offline), or use the lock (`helm samza lock`)",
                    inputs.previous_state.source.as_deref().unwrap_or("source unknown")
                ))
            })
            .map(Some)
            .map_err(|e| failed(e.to_string()));
    } else {
        return Ok(None);
    };
    JobModel::from_json(&json)
        .map(Some)
        .map_err(|source| Error::Samza { origin, source })
}

/// The model JSON from its gzipped form (`binaryData`, or the file Kubernetes mounts from it), read with a cap:
/// a small gzip that expands past any job model (`samza::limits::MAX_MODEL_JSON_BYTES`) is refused, not
/// inflated whole.
pub fn gunzip(compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    let limit = crate::samza::limits::MAX_MODEL_JSON_BYTES;
    let mut json = Vec::new();
    GzDecoder::new(compressed)
        .take(limit + 1)
        .read_to_end(&mut json)?;
    if json.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "it expands to more than {limit} bytes, more than any job model"
        )));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samza::SamzaVersion;

    const MODEL: &str = r#"{"config":{"job.name":"j","padding":"PAD"},
      "containers":{"0":{"processor-id":"0","tasks":{"Partition 0":{"task-name":"Partition 0",
        "system-stream-partitions":[{"system":"kafka","partition":0,"stream":"a"}],"changelog-partition":0}}}},
      "max-change-log-stream-partitions":1}"#;

    fn head() -> Head {
        Head {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "j-config".into(),
            namespace: Some("streams".into()),
            labels: [(
                "app.kubernetes.io/name".to_string(),
                "samza-job".to_string(),
            )]
            .into(),
            annotations: Default::default(),
            source: None,
            is_hook: false,
        }
    }

    /// Encodes a model with `padding` bytes of config, writes the ConfigMap into a stream and reads it back; also
    /// the JSON written, and the JSON the ConfigMap holds.
    fn round_trip(padding: usize) -> (Value, JobModel, JobModel, String, String) {
        let model = JobModel::from_json(&MODEL.replace("PAD", &"x".repeat(padding))).unwrap();
        let json = model.to_json(SamzaVersion::default());
        let encoded = encode_model(&model, SamzaVersion::default(), usize::MAX);
        let digest_written = encoded.digest.clone();
        let cm = encode(
            &head(),
            "j",
            &digest_written,
            Carry::Inline(encoded),
            "kafka: flags",
        )
        .remove(0);
        assert_eq!(
            cm["metadata"]["annotations"][job::ANNOTATION_CHECKSUM],
            digest(&json)
        );
        let held = match cm["data"][job::MODEL_KEY].as_str() {
            Some(text) => text.to_string(),
            None => {
                let b64 = cm["binaryData"][job::MODEL_KEY_COMPRESSED]
                    .as_str()
                    .unwrap();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                String::from_utf8(gunzip(&bytes).unwrap()).unwrap()
            }
        };
        let text = format!("---\n{}", crate::manifest::write_document(&cm).unwrap());
        let models = models_in_stream(text.as_bytes()).unwrap();
        (cm, model, models["j"].clone(), json, held)
    }

    #[test]
    fn a_model_comes_back_as_it_went_in_plain_or_gzipped() {
        let (cm, sent, read, json, held) = round_trip(10);
        assert!(cm["data"][job::MODEL_KEY].is_string());
        assert_eq!(cm["metadata"]["name"], "j-config-model");
        assert_eq!(cm["metadata"]["namespace"], "streams");
        assert_eq!((read, held), (sent, json));

        let (cm, sent, read, json, held) = round_trip(MAX_PLAIN_MODEL_BYTES);
        assert!(cm.get("data").is_none());
        assert!(cm["binaryData"][job::MODEL_KEY_COMPRESSED].is_string());
        assert_eq!((read, held), (sent, json));
    }

    /// The encoder decides while the JSON streams: a model of exactly the limit stays plain, one byte more is
    /// gzipped, and either way the ConfigMap holds the JSON byte for byte with its digest.
    #[test]
    fn the_limit_is_decided_on_the_whole_json() {
        let base = round_trip(0).3.len();
        let (cm, .., json, held) = round_trip(MAX_PLAIN_MODEL_BYTES - base);
        assert_eq!(json.len(), MAX_PLAIN_MODEL_BYTES);
        assert!(cm["data"][job::MODEL_KEY].is_string());
        assert_eq!(held, json);
        let (cm, .., json, held) = round_trip(MAX_PLAIN_MODEL_BYTES - base + 1);
        assert_eq!(json.len(), MAX_PLAIN_MODEL_BYTES + 1);
        assert!(cm.get("data").is_none());
        assert_eq!(held, json);
    }

    #[test]
    fn the_streamed_digest_is_the_digest_of_the_json() {
        let model = JobModel::from_json(&MODEL.replace("PAD", "p")).unwrap();
        for version in ["0.14", "1.7"] {
            let version = SamzaVersion::parse(version).unwrap();
            assert_eq!(
                model_digest(&model, version),
                digest(&model.to_json(version))
            );
        }
    }

    /// The models read back from a stream of the ConfigMaps `encode` made.
    fn models_of(cms: &[Value]) -> Result<BTreeMap<String, JobModel>> {
        let mut text = String::new();
        for cm in cms {
            text.push_str("---\n");
            text.push_str(&crate::manifest::write_document(cm).unwrap());
        }
        models_in_stream(text.as_bytes())
    }

    /// A model of `tasks` tasks whose JSON hardly compresses (random stream names), so that it needs parts.
    fn incompressible(tasks: usize) -> JobModel {
        use std::fmt::Write as _;
        let mut seed: u64 = 7;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let mut tasks_json = String::new();
        for t in 0..tasks {
            if t > 0 {
                tasks_json.push(',');
            }
            let stream: String = (0..24)
                .map(|_| char::from(b'a' + (next() % 26) as u8))
                .collect();
            write!(
                tasks_json,
                r#""Partition {t}":{{"task-name":"Partition {t}","system-stream-partitions":[{{"system":"kafka","partition":{t},"stream":"{stream}"}}],"changelog-partition":{t}}}"#
            )
            .unwrap();
        }
        JobModel::from_json(&format!(
            r#"{{"config":{{"job.name":"j"}},"containers":{{"0":{{"processor-id":"0","tasks":{{{tasks_json}}}}}}},"max-change-log-stream-partitions":{tasks}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_model_split_into_parts_comes_back_whole_and_each_part_fits() {
        let model = incompressible(40_000);
        let json = model.to_json(SamzaVersion::default());
        let encoded = encode_model(&model, SamzaVersion::default(), usize::MAX);
        assert!(!encoded.fits_one_configmap());
        let needed = encoded.parts_needed();
        assert!(needed >= 2, "{needed}");
        let digest_written = encoded.digest.clone();
        let cms = encode(
            &head(),
            "j",
            &digest_written,
            Carry::Parts(encoded),
            "kafka: flags",
        );
        assert_eq!(cms.len(), needed + 1);
        for part in &cms[1..] {
            assert_eq!(
                part["metadata"]["labels"][job::LABEL_ROLE],
                job::ROLE_MODEL_PART
            );
            let (_, b64) = part["binaryData"]
                .as_object()
                .unwrap()
                .iter()
                .next()
                .unwrap();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.as_str().unwrap())
                .unwrap();
            assert!(bytes.len() <= MAX_PART_BYTES);
            assert_eq!(
                part["metadata"]["annotations"][job::ANNOTATION_CHECKSUM],
                digest(&json)
            );
        }
        let models = models_of(&cms).unwrap();
        assert_eq!(models["j"].to_json(SamzaVersion::default()), json);
        // A part from another render: refused, naming the part.
        let mut other = cms.clone();
        let key = format!("{}2", job::MODEL_KEY_PART_PREFIX);
        other[2]["binaryData"][&key] = json!("AAAA");
        let error = models_of(&other).unwrap_err().to_string();
        assert!(error.contains("part 2 of"), "{error}");
        // A missing part: refused too.
        let missing = models_of(&cms[..cms.len() - 1]).unwrap_err().to_string();
        assert!(missing.contains("is missing"), "{missing}");
    }

    #[test]
    fn the_layout_names_parse_and_others_are_refused() {
        assert_eq!("Inputs".parse::<Layout>().unwrap(), Layout::Inputs);
        assert_eq!(" parts ".parse::<Layout>().unwrap(), Layout::Parts);
        let error = "split".parse::<Layout>().unwrap_err();
        assert!(error.contains("auto, inline, parts, inputs"), "{error}");
    }
}
