//! The job-model ConfigMap: how the post-renderer writes a job's model into the stream, and how every reader
//! (plan, lint, `show`, `--previous`, the coordinator) gets it back.
//!
//! The model goes under `data.job-model.json`, or gzipped and base64-encoded under `binaryData.job-model.json.gz`
//! when it would not fit a ConfigMap (1 MiB in all). Encoding and decoding live together so the two forms cannot
//! drift apart; the checksum on pod templates is the digest of the same JSON.

use std::{collections::BTreeMap, io::Read};

use base64::Engine as _;
use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    error::{Error, JobOrigin, Result},
    job,
    manifest::{Document, Head, Stream},
    samza::JobModel,
};

/// A ConfigMap may hold 1 MiB in all; past this much JSON the model goes into binaryData, gzipped.
pub const MAX_PLAIN_MODEL_BYTES: usize = 900 * 1024;

/// `sha256:<hex>` of a model's JSON: the checksum on pod templates and the model ConfigMap.
pub fn digest(model_json: &str) -> String {
    format!("sha256:{:x}", Sha256::digest(model_json.as_bytes()))
}

/// The ConfigMap that carries the model to the coordinator (and so to the containers).
pub fn encode(
    config_head: &Head,
    job: &str,
    model_json: &str,
    digest: &str,
    partition_source: &str,
) -> Value {
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
            job::ANNOTATION_SOURCE: partition_source,
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

    /// Encodes a model with `padding` bytes of config, writes the ConfigMap into a stream and reads it back.
    fn round_trip(padding: usize) -> (Value, JobModel, JobModel) {
        let model = JobModel::from_json(&MODEL.replace("PAD", &"x".repeat(padding))).unwrap();
        let json = model.to_json(SamzaVersion::default());
        let cm = encode(&head(), "j", &json, &digest(&json), "kafka: flags");
        let text = format!("---\n{}", crate::manifest::write_document(&cm).unwrap());
        let models = models_in_stream(text.as_bytes()).unwrap();
        (cm, model, models["j"].clone())
    }

    #[test]
    fn a_model_comes_back_as_it_went_in_plain_or_gzipped() {
        let (cm, sent, read) = round_trip(10);
        assert!(cm["data"][job::MODEL_KEY].is_string());
        assert_eq!(cm["metadata"]["name"], "j-config-model");
        assert_eq!(cm["metadata"]["namespace"], "streams");
        assert_eq!(read, sent);

        let (cm, sent, read) = round_trip(MAX_PLAIN_MODEL_BYTES);
        assert!(cm.get("data").is_none());
        assert!(cm["binaryData"][job::MODEL_KEY_COMPRESSED].is_string());
        assert_eq!(read, sent);
    }
}
