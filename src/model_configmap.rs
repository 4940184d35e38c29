//! The job-model ConfigMap: how the post-renderer writes a job's model into the stream, and how every reader
//! (plan, lint, `show`, `--previous`, the coordinator) gets it back.
//!
//! The model goes under `data.job-model.json`, or gzipped and base64-encoded under `binaryData.job-model.json.gz`
//! when it would not fit a ConfigMap (1 MiB in all). Encoding and decoding live together so the two forms cannot
//! drift apart; the checksum on pod templates is the digest of the same JSON.
//!
//! The post-renderer writes the model once, straight into its encoding ([`encode_model`]): the JSON is hashed as
//! it streams and kept as text while it fits, and past the limit gzipped and base64-encoded as it streams, so a
//! large model's JSON is never held whole.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
};

use base64::Engine as _;
use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    error::{Error, JobOrigin, Result},
    job,
    manifest::{Document, Head, Stream},
    samza::{JobModel, SamzaVersion},
};

/// A ConfigMap may hold 1 MiB in all; past this much JSON the model goes into binaryData, gzipped.
pub const MAX_PLAIN_MODEL_BYTES: usize = 900 * 1024;

/// `sha256:<hex>` of a model's JSON: the checksum on pod templates and the model ConfigMap.
pub fn digest(model_json: &str) -> String {
    format!("sha256:{:x}", Sha256::digest(model_json.as_bytes()))
}

/// [`digest`] of the model's JSON, hashed as the writer streams it (the JSON is never held).
pub fn model_digest(model: &JobModel, version: SamzaVersion) -> String {
    let mut hasher = Sha256::new();
    let mut writer = std::io::BufWriter::with_capacity(WRITE_BUFFER, &mut hasher);
    model
        .write_json(version, &mut writer)
        .and_then(|()| writer.flush())
        .expect("hashing in memory");
    drop(writer);
    format!("sha256:{:x}", hasher.finalize())
}

/// How much of the model writer's output is buffered before it is hashed and kept or compressed.
const WRITE_BUFFER: usize = 64 * 1024;

/// A model's JSON as its ConfigMap carries it, and the JSON's [`digest`].
pub struct EncodedModel {
    pub digest: String,
    body: Body,
}

enum Body {
    /// `data`: the JSON itself, up to [`MAX_PLAIN_MODEL_BYTES`].
    Plain(String),
    /// `binaryData`: the JSON gzipped, base64-encoded.
    Gzip(String),
}

/// Writes the model's JSON in the shape of `version` once, into the encoding its ConfigMap carries.
pub fn encode_model(model: &JobModel, version: SamzaVersion) -> EncodedModel {
    let sink = Sink {
        hasher: Sha256::new(),
        plain: Vec::new(),
        gzip: None,
    };
    let mut writer = std::io::BufWriter::with_capacity(WRITE_BUFFER, sink);
    model
        .write_json(version, &mut writer)
        .expect("encoding in memory");
    let sink = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("encoding in memory");
    let body = match sink.gzip {
        None => Body::Plain(String::from_utf8(sink.plain).expect("serde_json writes UTF-8")),
        Some(gzip) => Body::Gzip(gzip.finish().expect("encoding in memory").into_inner()),
    };
    EncodedModel {
        digest: format!("sha256:{:x}", sink.hasher.finalize()),
        body,
    }
}

type Base64Writer =
    base64::write::EncoderStringWriter<'static, base64::engine::GeneralPurpose, String>;

/// The far end of [`encode_model`]'s writer: hashes everything, keeps it while it fits `data`, and from the
/// first byte past [`MAX_PLAIN_MODEL_BYTES`] compresses instead (what was kept first).
struct Sink {
    hasher: Sha256,
    plain: Vec<u8>,
    gzip: Option<GzEncoder<Base64Writer>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        match &mut self.gzip {
            Some(gzip) => gzip.write_all(buf)?,
            None if self.plain.len() + buf.len() > MAX_PLAIN_MODEL_BYTES => {
                let base64 = Base64Writer::new(&base64::engine::general_purpose::STANDARD);
                let mut gzip = GzEncoder::new(base64, Compression::best());
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

/// The ConfigMap that carries the model to the coordinator (and so to the containers).
pub fn encode(config_head: &Head, job: &str, model: EncodedModel, partition_source: &str) -> Value {
    let name = config_head
        .annotations
        .get(job::ANNOTATION_MODEL_CONFIGMAP)
        .cloned()
        .unwrap_or_else(|| format!("{}-model", config_head.name));
    // The config ConfigMap's labels (the chart's own and any common labels a chart adds), but its role.
    let mut labels = serde_json::Map::new();
    for (key, value) in &config_head.labels {
        if key != job::LABEL_ROLE {
            labels.insert(key.clone(), json!(value));
        }
    }
    labels.insert(job::LABEL_JOB.into(), json!(job));
    labels.insert(job::LABEL_ROLE.into(), json!("model"));
    let mut metadata = json!({
        "name": name,
        "labels": labels,
        "annotations": {
            job::ANNOTATION_CHECKSUM: model.digest,
            job::ANNOTATION_SOURCE: partition_source,
        },
    });
    if let Some(namespace) = &config_head.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata});
    // The text moves into the ConfigMap (`json!` would copy it).
    let (field, key, text) = match model.body {
        Body::Plain(json) => ("data", job::MODEL_KEY, json),
        Body::Gzip(base64) => ("binaryData", job::MODEL_KEY_COMPRESSED, base64),
    };
    let mut entries = serde_json::Map::new();
    entries.insert(key.into(), Value::String(text));
    cm[field] = Value::Object(entries);
    cm
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
        if let Some(model) = decode(doc)? {
            models.insert(name.clone(), model);
        }
    }
    Ok(models)
}

/// The job model a model ConfigMap holds, plain or gzipped; `None` when it holds neither key.
pub fn decode(doc: &Document) -> Result<Option<JobModel>> {
    decode_value(&doc.value()?, &JobOrigin(doc.describe().to_string()))
}

/// [`decode`] of a ConfigMap's value, or of anything holding its `data` and `binaryData` (the chart's `jobModel`).
pub fn decode_value(value: &Value, origin: &JobOrigin) -> Result<Option<JobModel>> {
    let origin = origin.clone();
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
        let text = gunzip(&bytes)
            .and_then(|bytes| String::from_utf8(bytes).map_err(std::io::Error::other))
            .map_err(|e| Error::Job {
                origin: origin.clone(),
                message: format!("binaryData is not gzip: {e}"),
            })?;
        text
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
        let cm = encode(
            &head(),
            "j",
            encode_model(&model, SamzaVersion::default()),
            "kafka: flags",
        );
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
}
