//! The values file `helm samza values` writes: one job's computed model in the words of `charts/samza-job`
//! (`jobModel:`), so that the chart renders natively, without a post-renderer, what the post-renderer would have
//! added and changed. GitOps tools that run no post-renderer (Argo CD, Flux) deploy with it.
//!
//! The file carries only what the chart cannot compute itself: the model ConfigMap's body (`data` or gzipped
//! `binaryData`, exactly as [`model_configmap::encode`] wrote it: the model's JSON, or for a model too large for
//! one ConfigMap its inputs, from which the coordinator computes it again), its digest (the pod-template checksum), the
//! active container count (the worker replicas), the changelog partition count (the changelog KafkaTopics'
//! templated `partitions`) and the partition-source annotation. Names, labels and namespaces the chart derives as
//! it does for every other resource. Read back, the file is what the release deploys: the job's previous state when nothing closer to Samza's own
//! (`--previous`, a lock, the coordinator stream) knows it, as the deployed release is for `plan`. A model carried
//! as its inputs comes back by computing it again, which needs the previous state it was planned against when there
//! was one: the file holds only that state's digest, so then only the coordinator stream (or a lock) gives it.
//!
//! A model split over several ConfigMaps (layout `parts`) is refused: the chart renders one model ConfigMap from
//! `jobModel`, and the coordinator's volume would have to project every part.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{
    error::{Error, JobOrigin, Result},
    job,
    manifest::{go_options, Stream},
    model_configmap,
    model_inputs::{ModelInputs, PreviousRef},
    render::RenderedJob,
    samza::{JobModel, SamzaError, SystemStream},
};

/// The chart value that holds the model.
pub const KEY: &str = "jobModel";

/// `jobModel:` as `charts/samza-job` reads it (its values.schema.json describes the same fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobModelValues {
    /// The job the model belongs to: the chart refuses to render another job with it.
    pub job: String,
    pub digest: String,
    pub containers: usize,
    pub changelog_partitions: u32,
    pub partition_source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_data: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct ValuesFile {
    #[serde(rename = "jobModel", default)]
    job_model: Option<Value>,
}

impl JobModelValues {
    /// The values for `job`, with the model ConfigMap the pipeline appended to `stream` for it. `layout_annotation`:
    /// the job's config ConfigMap's `samza.apache.org/model-layout`, for the message that refuses a split model.
    pub fn from_render(
        stream: &Stream,
        job: &RenderedJob,
        layout_annotation: Option<&str>,
    ) -> Result<JobModelValues> {
        let origin = || JobOrigin(format!("job '{}'", job.name));
        let model_cm = stream
            .edited()
            .into_iter()
            .filter(|edited| edited.input_index.is_none())
            .map(|edited| edited.document.value())
            .find(|value| {
                value.as_ref().is_ok_and(|v| {
                    v["kind"] == "ConfigMap"
                        && v["metadata"]["labels"][job::LABEL_ROLE] == "model"
                        && v["metadata"]["labels"][job::LABEL_JOB] == job.name.as_str()
                })
            })
            .transpose()?
            .ok_or_else(|| Error::Job {
                origin: origin(),
                message: "the pipeline added no job-model ConfigMap".into(),
            })?;
        if let Some(index) = model_cm
            .pointer(&format!("/data/{}", job::MODEL_KEY_INDEX))
            .and_then(Value::as_str)
        {
            let parts = model_configmap::PartsIndex::from_json(index).map_or(0, |i| i.parts.len());
            return Err(Error::Samza {
                origin: origin(),
                source: SamzaError::Model {
                    message: split_model_refusal(parts, layout_annotation),
                },
            });
        }
        let entries = |field: &str| -> Option<BTreeMap<String, String>> {
            model_cm.get(field).and_then(Value::as_object).map(|map| {
                map.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
        };
        let annotation = |key: &str| {
            model_cm["metadata"]["annotations"][key]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        Ok(JobModelValues {
            job: job.name.clone(),
            digest: job.digest.clone(),
            containers: job.plan.model.active_container_count(),
            // What templated resources see as `job.changelog_partitions` (template::job_context).
            changelog_partitions: job.plan.model.max_changelog_partitions(),
            partition_source: annotation(job::ANNOTATION_SOURCE),
            data: entries("data"),
            binary_data: entries("binaryData"),
        })
    }

    /// The inputs the values carry instead of the model (a model too large for one ConfigMap), if they do.
    pub fn inputs(&self, origin: &JobOrigin) -> Result<Option<ModelInputs>> {
        let Some(text) = self
            .data
            .as_ref()
            .and_then(|data| data.get(job::MODEL_KEY_INPUTS))
        else {
            return Ok(None);
        };
        ModelInputs::from_json(text)
            .map(Some)
            .map_err(|e| Error::Job {
                origin: origin.clone(),
                message: format!(
                    "{KEY}.data.{} is not a model's inputs: {e}",
                    job::MODEL_KEY_INPUTS
                ),
            })
    }

    /// The previous state the model was planned against when the values carry it as its inputs and so hold only
    /// that state's digest: the model cannot be computed again from the values alone. `None` when they hold the
    /// model itself, or inputs planned against nothing.
    pub fn unheld_state(&self, origin: &JobOrigin) -> Result<Option<PreviousRef>> {
        Ok(self
            .inputs(origin)?
            .filter(ModelInputs::needs_previous_state)
            .map(|inputs| inputs.previous_state))
    }

    /// The model the values carry, decoded as a model ConfigMap is (a model carried as its inputs is computed
    /// again, and checked against its digest).
    pub fn model(&self, origin: &JobOrigin) -> Result<JobModel> {
        if let Some(state) = self.unheld_state(origin)? {
            return Err(Error::PreviousState {
                origin: origin.clone(),
                message: format!("job '{}': {}", self.job, unheld_state_message(&state)),
            });
        }
        let value = json!({"data": self.data, "binaryData": self.binary_data});
        model_configmap::decode_value(&value, origin, &Default::default())?.ok_or_else(|| {
            Error::Job {
                origin: origin.clone(),
                message: format!(
                    "{KEY} holds neither data.{}, data.{} nor binaryData.{}",
                    job::MODEL_KEY,
                    job::MODEL_KEY_INPUTS,
                    job::MODEL_KEY_COMPRESSED
                ),
            }
        })
    }

    /// The file's text: a header saying how to regenerate it, then `jobModel:`.
    pub fn to_yaml(&self, regenerate: &str) -> Result<String> {
        let body = crate::manifest::write_document(&json!({ KEY: self }))?;
        Ok(format!(
            "# Written by helm-samza for deploying charts/samza-job without its post-renderer (GitOps). Do not \
             edit:\n# regenerate with `{regenerate}`.\n{body}"
        ))
    }

    /// The `jobModel` of a values file written by [`JobModelValues::to_yaml`]; `None` when the file has none.
    pub fn read(path: &Path) -> Result<Option<JobModelValues>> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        JobModelValues::parse(&text, path)
    }

    /// [`JobModelValues::read`] of the text of the file at `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Option<JobModelValues>> {
        let unreadable = |message: String| Error::Previous {
            path: path.to_path_buf(),
            message,
        };
        let file: ValuesFile = serde_saphyr::from_str_with_options(text, go_options())
            .map_err(|e| unreadable(format!("not a values file: {e}")))?;
        match file.job_model {
            None => Ok(None),
            Some(Value::Object(map)) if map.is_empty() => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| unreadable(format!("{KEY}: {e}"))),
        }
    }

    /// What differs between these (committed) values and `fresh` ones, in words; empty when they would render
    /// the same job. The partition source is provenance (it names the time of a Kafka query), not a difference.
    /// `counts`: the input partition counts the fresh values were computed with.
    pub fn differences(
        &self,
        fresh: &JobModelValues,
        counts: &BTreeMap<SystemStream, u32>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        if self.job != fresh.job {
            out.push(format!(
                "they hold job '{}', the chart renders job '{}'",
                self.job, fresh.job
            ));
            return out;
        }
        if self.containers != fresh.containers {
            out.push(format!(
                "containers {} → {}",
                self.containers, fresh.containers
            ));
        }
        if self.changelog_partitions != fresh.changelog_partitions {
            out.push(format!(
                "changelog partitions {} → {}",
                self.changelog_partitions, fresh.changelog_partitions
            ));
        }
        // Inputs name their counts; a model carried whole has them in its tasks.
        let origin = JobOrigin(format!("job '{}'", self.job));
        let before = match self.inputs(&origin) {
            Ok(Some(inputs)) => Some(inputs.facts().counts),
            _ => self.model(&origin).ok().map(|m| m.input_partition_counts()),
        };
        if let Some(before) = before {
            let now = counts;
            for (stream, count) in now {
                match before.get(stream) {
                    Some(old) if old == count => {}
                    Some(old) => out.push(format!(
                        "{} has {count} partitions, the values were computed for {old}",
                        stream.name()
                    )),
                    None => out.push(format!("{} is a new input", stream.name())),
                }
            }
            for stream in before.keys().filter(|s| !now.contains_key(*s)) {
                out.push(format!("{} is no longer an input", stream.name()));
            }
        }
        if self.digest != fresh.digest && out.is_empty() {
            out.push(format!(
                "the job model changed (config or Samza version): {} → {}",
                self.digest, fresh.digest
            ));
        }
        if self.digest == fresh.digest && out.is_empty() && !self.same_body(fresh) {
            out.push("the model ConfigMap's body differs from the one its digest names".into());
        }
        out
    }

    /// Whether two values carry the same model ConfigMap body. Inputs are compared without the reference to the
    /// previous state they were kept stable against: the same model digest from the same config and counts is the
    /// same model, whichever state the planner was shown (regenerated from its own values, a model is planned
    /// against itself and comes out the same).
    fn same_body(&self, other: &JobModelValues) -> bool {
        let origin = JobOrigin(String::new());
        match (self.inputs(&origin), other.inputs(&origin)) {
            (Ok(Some(mut mine)), Ok(Some(theirs))) => {
                mine.previous_state = theirs.previous_state.clone();
                mine == theirs
            }
            _ => self.data == other.data && self.binary_data == other.binary_data,
        }
    }
}

/// Why a model carried as its inputs cannot be computed again from the values alone, and what gives the state.
pub fn unheld_state_message(state: &PreviousRef) -> String {
    format!(
        "the values carry the model as its inputs (model layout `inputs`, or `auto` for a model too large for one \
         ConfigMap), planned against a previous state ({}, {}) that they name by its digest but do not hold. Give \
         that state to helm samza values: \
         let it read the job's coordinator stream (drop --offline; bootstrap servers and client settings as for \
         partition discovery), or pass a lock (--lock FILE, written by `helm samza lock`)",
        state.source.as_deref().unwrap_or("source unknown"),
        state.digest.as_deref().unwrap_or("no digest")
    )
}

/// Why `helm samza values` refuses a model split over `parts` ConfigMaps, and what to do instead.
fn split_model_refusal(parts: usize, layout_annotation: Option<&str>) -> String {
    let instead = match layout_annotation {
        Some(layout) => format!(
            "the job's config ConfigMap asks for it (annotation {}: {layout:?}, the chart's job.modelLayout): set \
             job.modelLayout to inputs (or auto, or leave it empty)",
            job::ANNOTATION_MODEL_LAYOUT
        ),
        None => "pass --model-layout inputs (or auto) instead of parts (the flag or HELM_SAMZA_MODEL_LAYOUT)".into(),
    };
    format!(
        "the job model is split into {parts} parts (model layout `parts`), a ConfigMap each, which helm samza \
         values cannot carry: charts/samza-job renders one model ConfigMap from {KEY}. Carry the model as its inputs instead, a \
         few kilobytes from which the coordinator computes it again: {instead}"
    )
}

/// What differs between the objects of two manifest streams (by apiVersion, kind, namespace and name, compared
/// as parsed values, not as text): how the values are proven to render back into the post-renderer's output.
/// At most a few differences are named; empty when the streams deploy the same objects.
pub fn render_back_differences(post_rendered: &[u8], native: &[u8]) -> Result<Vec<String>> {
    const SHOWN: usize = 3;
    let (expected, actual) = (objects(post_rendered)?, objects(native)?);
    let mut out = Vec::new();
    for (key, value) in &expected {
        match actual.get(key) {
            None => out.push(format!("{key} is missing")),
            Some(other) if other != value => out.push(format!(
                "{key} differs{}",
                first_difference(value, other, "")
            )),
            Some(_) => {}
        }
    }
    out.extend(
        actual
            .keys()
            .filter(|key| !expected.contains_key(*key))
            .map(|key| format!("{key} is extra")),
    );
    let more = out.len().saturating_sub(SHOWN);
    out.truncate(SHOWN);
    if more > 0 {
        out.push(format!("and {more} more"));
    }
    Ok(out)
}

fn objects(stream: &[u8]) -> Result<BTreeMap<String, Value>> {
    let stream = Stream::from_bytes(stream)?;
    let mut out = BTreeMap::new();
    for doc in stream.documents() {
        let Some(head) = doc.head()? else { continue };
        let key = format!(
            "{} {}/{}",
            head.kind,
            head.namespace.as_deref().unwrap_or_default(),
            head.name
        );
        out.insert(format!("{} {key}", head.api_version), doc.value()?);
    }
    Ok(out)
}

/// ` at FIELD` for the first field (depth first, in the expected object's order) where two values differ.
fn first_difference(expected: &Value, actual: &Value, path: &str) -> String {
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = format!("{path}.{key}");
                match b.get(key) {
                    None => return format!(" at {here} (missing)"),
                    Some(other) if other != value => return first_difference(value, other, &here),
                    Some(_) => {}
                }
            }
            match b.keys().find(|key| !a.contains_key(*key)) {
                Some(key) => format!(" at {path}.{key} (extra)"),
                None => String::new(),
            }
        }
        _ if path.is_empty() => String::new(),
        _ => format!(" at {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"{"config":{"job.name":"j"},"containers":{"0":{"processor-id":"0","tasks":{
        "Partition 0":{"task-name":"Partition 0","system-stream-partitions":[{"system":"kafka","partition":0,
        "stream":"a"}],"changelog-partition":0}}}},"max-change-log-stream-partitions":1}"#;

    fn values() -> JobModelValues {
        JobModelValues {
            job: "j".into(),
            digest: model_configmap::digest(MODEL),
            containers: 1,
            changelog_partitions: 1,
            partition_source: "kafka: flags".into(),
            data: Some([(job::MODEL_KEY.to_string(), MODEL.to_string())].into()),
            binary_data: None,
        }
    }

    fn counts(a: u32) -> BTreeMap<SystemStream, u32> {
        [(SystemStream::new("kafka", "a"), a)].into()
    }

    #[test]
    fn written_values_read_back_and_carry_their_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samza-values.yaml");
        let text = values()
            .to_yaml("helm samza values r ./chart -o samza-values.yaml")
            .unwrap();
        assert!(text.starts_with("# Written by helm-samza"), "{text}");
        std::fs::write(&path, &text).unwrap();
        let read = JobModelValues::read(&path).unwrap().expect("jobModel");
        assert_eq!(read, values());
        let model = read.model(&JobOrigin("test".into())).unwrap();
        assert_eq!(model.input_partition_counts(), counts(1));
    }

    #[test]
    fn files_without_values_and_foreign_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.yaml");
        for (text, expect) in [
            ("", Ok(false)),
            ("# nothing yet\n", Ok(false)),
            ("worker: {}\n", Ok(false)),
            ("jobModel: {}\n", Ok(false)),
            ("jobModel:\n  job: j\n  replicas: 2\n", Err("jobModel")),
            ("- not a map\n", Err("not a values file")),
        ] {
            std::fs::write(&path, text).unwrap();
            match (JobModelValues::read(&path), expect) {
                (Ok(found), Ok(present)) => assert_eq!(found.is_some(), present, "{text}"),
                (Err(e @ Error::Previous { .. }), Err(needle)) => {
                    assert!(e.to_string().contains(needle), "{text}: {e}")
                }
                (other, _) => panic!("{text}: {:?}", other.map(|v| v.is_some())),
            }
        }
    }

    #[test]
    fn differences_name_what_drifted() {
        let committed = values();
        assert!(committed.differences(&values(), &counts(1)).is_empty());

        let mut fresh = values();
        fresh.partition_source = "kafka: kafka (brokers b at 2026-01-01T00:00:00Z)".into();
        assert!(
            committed.differences(&fresh, &counts(1)).is_empty(),
            "provenance is not drift"
        );

        let mut fresh = values();
        fresh.containers = 2;
        fresh.digest = "sha256:other".into();
        assert_eq!(
            committed.differences(&fresh, &counts(2)),
            [
                "containers 1 → 2",
                "kafka.a has 2 partitions, the values were computed for 1"
            ]
        );

        let mut fresh = values();
        fresh.digest = "sha256:other".into();
        let found = committed.differences(&fresh, &counts(1));
        assert!(found[0].starts_with("the job model changed"), "{found:?}");

        let mut fresh = values();
        fresh.job = "k".into();
        assert_eq!(
            committed.differences(&fresh, &counts(1)),
            ["they hold job 'j', the chart renders job 'k'"]
        );
    }

    /// Values carrying the inputs of a one-input job, as if planned against a previous state from `previous`.
    fn inputs_values(a: u32, previous: Option<&str>) -> JobModelValues {
        use crate::samza::{Config, PartitionFacts, Previous, SamzaVersion};
        let config = Config::from_properties("job.name=j\ntask.inputs=kafka.a\n").unwrap();
        let mut facts = PartitionFacts::default();
        facts.counts.insert(SystemStream::new("kafka", "a"), a);
        let mut model = crate::samza::plan(&config, &facts, None).unwrap().model;
        crate::model_inputs::settle_container_count(&mut model);
        let digest = model_configmap::model_digest(&model, SamzaVersion::default());
        let state = Previous::from_model(&model);
        let inputs = ModelInputs::new(
            "j",
            SamzaVersion::default(),
            &digest,
            &config,
            &facts,
            previous.map(|source| (&state, source)),
        );
        JobModelValues {
            job: "j".into(),
            digest,
            containers: 1,
            changelog_partitions: 0,
            partition_source: "kafka: flags".into(),
            data: Some([(job::MODEL_KEY_INPUTS.to_string(), inputs.to_json())].into()),
            binary_data: None,
        }
    }

    #[test]
    fn values_carrying_inputs_come_back_by_computing_the_model_again() {
        let origin = JobOrigin("samza-values.yaml (jobModel)".into());
        let first = inputs_values(4, None);
        assert!(first.unheld_state(&origin).unwrap().is_none());
        let model = first.model(&origin).unwrap();
        assert_eq!(
            model_configmap::model_digest(&model, Default::default()),
            first.digest
        );
        // The counts are read from the inputs: drift without computing anything.
        assert_eq!(
            first.differences(&inputs_values(4, None), &counts(8)),
            ["kafka.a has 8 partitions, the values were computed for 4"]
        );

        // The same model planned against a state: not drift, whichever state the inputs name.
        let second = inputs_values(4, Some("release r (samza-values.yaml)"));
        assert!(first.differences(&second, &counts(4)).is_empty());
        assert!(second.differences(&first, &counts(4)).is_empty());
        // But the file holds only that state's digest: its model cannot come back from the file alone.
        let state = second.unheld_state(&origin).unwrap().expect("a state");
        assert_eq!(
            state.source.as_deref(),
            Some("release r (samza-values.yaml)")
        );
        let error = second.model(&origin).unwrap_err();
        assert_eq!(error.exit_code(), crate::exit_code::PREVIOUS);
        let message = error.to_string();
        for needle in [
            "samza-values.yaml (jobModel): job 'j'",
            "release r (samza-values.yaml)",
            "coordinator stream",
            "--lock FILE",
        ] {
            assert!(message.contains(needle), "{needle}: {message}");
        }

        // Inputs changed by hand are refused, naming the key.
        let mut broken = first.clone();
        broken.data = Some([(job::MODEL_KEY_INPUTS.to_string(), "{}".to_string())].into());
        let error = broken.model(&origin).unwrap_err().to_string();
        assert!(
            error.contains("jobModel.data.job-model.inputs.json is not a model's inputs"),
            "{error}"
        );
    }

    #[test]
    fn render_back_compares_objects_not_text() {
        let a = "---\n# Source: c/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n\
                 ---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: w\nspec:\n  replicas: 2\n";
        let reordered = "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: w}\nspec: {replicas: 2}\n\
                         ---\n# Source: c/other.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n\
                         data: {k: \"v\"}\n";
        assert!(render_back_differences(a.as_bytes(), reordered.as_bytes())
            .unwrap()
            .is_empty());
        let changed = reordered.replace("replicas: 2", "replicas: 3");
        assert_eq!(
            render_back_differences(a.as_bytes(), changed.as_bytes()).unwrap(),
            ["apps/v1 StatefulSet /w differs at .spec.replicas"]
        );
        let missing = "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: w}\nspec: {replicas: 2}\n";
        assert_eq!(
            render_back_differences(a.as_bytes(), missing.as_bytes()).unwrap(),
            ["v1 ConfigMap /a is missing"]
        );
    }
}
