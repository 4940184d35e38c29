//! A Samza job config that ran elsewhere (YARN, the 2016 Kubernetes proof of concept, a standalone runner)
//! turned into values for the `samza-job` chart, such that the chart renders the same config back.
//!
//! The chart assembles its config from friendly `job.*` values, `configFile` and the `config` map, the map
//! winning key by key ([charts.md]). Every key the job keeps goes into `config` as one flat entry (`"a.b.c":
//! "v"`): a nested map cannot hold both `a.b` and `a.b.c`, and a flat key is flattened to itself. Values are
//! written as double-quoted YAML strings, so no value changes type on the way (`"1"`, `"true"`, `"0x10"`,
//! `"${basedir}"` stay strings). The friendly values that would render keys of their own (the example inputs
//! and class, the Kafka system's bootstrap servers and checkpoints, `job.default.system`) are emptied, so the
//! chart adds nothing the job did not have — except three keys every deployment needs and Samza defaults
//! anyway: `job.container.count`, `cluster-manager.container.memory.mb` and `cluster-manager.container.cpu.cores`
//! (Samza's defaults 1, 1024 and 1 are also the chart's).
//!
//! Keys that mean nothing on Kubernetes are left out and listed with the reason and the chart value that
//! replaces them ([`Dropped`]); the rule of which key that is lives in [`kubernetes_meaning`].

use std::collections::BTreeMap;

use crate::samza::{Config, SamzaError};

/// A key of the original config that is not in the values' `config`, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub key: String,
    pub reason: &'static str,
    /// The chart value that now carries what the key meant, if any (e.g. `job.memoryMb: 2048`).
    pub replaced_by: Option<String>,
}

/// The values file and what it left out.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The values file's text (YAML), comments included.
    pub values: String,
    pub dropped: Vec<Dropped>,
    /// Chart values the job cannot run without and the config could not give (the image).
    pub required: Vec<String>,
    /// The job's name as the chart labels it (`samza.apache.org/job`), which keys its `samza.lock` entry.
    pub job_label: String,
}

/// What the config file was, for the values' `configFormat` and the header comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Properties,
    Yaml,
}

/// The PoC's job factory (`eliaslevy.samza.job.kubernetes.KubernetesJobFactory`): with it, the `kubernetes.*`
/// keys were what sized the job, whatever `job.container.count` said.
const POC_FACTORY_SUFFIX: &str = "KubernetesJobFactory";

const YARN: &str =
    "YARN's settings (resource manager, queues, application master); no YARN runs the job";
const FACTORY: &str =
    "the job factory that submits the job to YARN; the chart's workers run the containers instead";
const SIZE: &str =
    "the container size YARN (or the proof of concept) requested; the chart sizes the worker pods";
const COUNT: &str =
    "the container count; the post-renderer sets the worker replicas from the job model";
const PACKAGE: &str =
    "the job's package for YARN to download; on Kubernetes the job's jars come in its image";
const HOST_AFFINITY: &str =
    "host affinity: pods have no fixed hosts; each worker keeps its local state on its \
     own volume claim (worker.state), and a task restores what it lacks from its changelog";
const POC_IMAGE: &str = "the proof of concept's image";
const POC_NODES: &str = "the proof of concept's node selector";
const POC_GRACE: &str = "the proof of concept's termination grace period (which it never applied)";
const POC_OUT: &str = "the proof of concept's output file for its generated manifests";

/// Why `key` means nothing on Kubernetes, and which friendly value (if any) takes it over; `None` for a key the
/// job keeps.
pub fn kubernetes_meaning(key: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match key {
        "yarn.package.path" => (PACKAGE, Some("image")),
        "yarn.container.count" | "job.container.count" | "kubernetes.pod.count" => {
            (COUNT, Some("job.containerCount"))
        }
        "yarn.container.memory.mb"
        | "cluster-manager.container.memory.mb"
        | "kubernetes.container.memory" => (SIZE, Some("job.memoryMb")),
        "yarn.container.cpu.cores"
        | "cluster-manager.container.cpu.cores"
        | "kubernetes.container.cpu.cores" => (SIZE, Some("job.cpuCores")),
        "yarn.samza.host-affinity.enabled" | "job.host-affinity.enabled" => (HOST_AFFINITY, None),
        "job.factory.class" => (FACTORY, None),
        "kubernetes.container.image" => (POC_IMAGE, Some("image")),
        "kubernetes.node.selector" => (POC_NODES, Some("worker.nodeSelector")),
        "kubernetes.pod.termination.grace.period.sec" => {
            (POC_GRACE, Some("worker.terminationGracePeriodSeconds"))
        }
        "kubernetes.resources.out" => (POC_OUT, None),
        _ if key.starts_with("yarn.") => (YARN, None),
        _ => return None,
    })
}

/// Turns `config` into chart values. `image` (`REPOSITORY[:TAG|@DIGEST]`) overrides what the config says.
///
/// Refuses a config that is no Samza job: no `job.name` (nor `app.name`), or no inputs and no `app.class`
/// (a high-level job declares its inputs in code).
pub fn values_for(
    config: &Config,
    format: Format,
    source: &str,
    image: Option<&str>,
) -> Result<Imported, SamzaError> {
    let name = config.job_name()?;
    if name.trim().is_empty() {
        return Err(SamzaError::Config {
            key: "job.name".into(),
            message: "the job name is empty; set job.name to the job's name".into(),
        });
    }
    let has = |key: &str| config.get(key).is_some_and(|v| !v.trim().is_empty());
    if !has("task.inputs") && !has("app.class") {
        return Err(SamzaError::Config {
            key: "task.inputs".into(),
            message: "the config declares no inputs: neither task.inputs nor app.class (a high-level \
                      application declares its inputs in code) is set. If the job's runner was given its \
                      application class in code, name it with --app-class; else this is no Samza job config"
                .into(),
        });
    }
    let poc = config
        .get("job.factory.class")
        .is_some_and(|f| f.ends_with(POC_FACTORY_SUFFIX));

    let mut kept: BTreeMap<String, String> = config
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut job = Friendly::default();
    let mut dropped = Vec::new();
    let mut worker = Vec::new();
    // Keys of a sized group whose value no friendly value can carry: they stay in `config`, as they were.
    let mut keep = std::collections::BTreeSet::new();

    // The sized values: the first key (in Samza's order, or the PoC's when it ran the job) whose value the
    // chart's friendly value can carry exactly. When it cannot, every key of the group stays in `config`,
    // where it wins over the friendly default.
    type Read = fn(&str) -> Option<String>;
    let resource_groups: [(&str, [&str; 3], Read); 3] = [
        (
            "containerCount",
            [
                "job.container.count",
                "yarn.container.count",
                "kubernetes.pod.count",
            ],
            |v| positive_integer(v, 1),
        ),
        (
            "memoryMb",
            [
                "cluster-manager.container.memory.mb",
                "yarn.container.memory.mb",
                "kubernetes.container.memory",
            ],
            memory_mb,
        ),
        (
            "cpuCores",
            [
                "cluster-manager.container.cpu.cores",
                "yarn.container.cpu.cores",
                "kubernetes.container.cpu.cores",
            ],
            |v| Some(quoted(v)),
        ),
    ];
    for (value, [primary, fallback, poc_key], read) in resource_groups {
        let keys = if poc {
            [poc_key, primary, fallback]
        } else {
            [primary, fallback, poc_key]
        };
        let Some(&winner) = keys.iter().find(|k| kept.contains_key(**k)) else {
            continue;
        };
        let Some(text) = read(&kept[winner]) else {
            keep.extend(keys.iter().map(|k| (*k).to_owned()));
            continue;
        };
        // The other keys of the group would be left over; the winner speaks for all of them.
        for key in keys {
            if kept.remove(key).is_some() {
                let (reason, _) = kubernetes_meaning(key).expect("a listed key");
                dropped.push(Dropped {
                    key: key.into(),
                    reason,
                    replaced_by: Some(if key == winner {
                        format!("job.{value}: {text}")
                    } else {
                        format!("job.{value} (from {winner}, which wins)")
                    }),
                });
            }
        }
        job.push(value, text);
    }

    // The image: the PoC names it; a YARN package cannot become one.
    let mut image_values = None;
    if let Some(given) = image {
        image_values = Some(image_reference(given));
    } else if let Some(poc_image) = kept.get("kubernetes.container.image") {
        image_values = Some(image_reference(poc_image));
    }
    let mut required = Vec::new();
    if image_values.is_none() {
        required.push(
            "image.repository and image.tag: the image with the Samza distribution and the job's jars \
             (`--image` here, or set them in the values)"
                .to_owned(),
        );
    }

    if let Some(text) = kept.get("kubernetes.node.selector").cloned() {
        if let Some(selector) = node_selector(&text) {
            worker.push(("nodeSelector", selector));
        }
    }
    if let Some(seconds) = kept
        .get("kubernetes.pod.termination.grace.period.sec")
        .and_then(|v| positive_integer(v, 0))
    {
        worker.push(("terminationGracePeriodSeconds", seconds));
    }

    // Every other key without meaning here.
    let rest: Vec<String> = kept
        .keys()
        .filter(|k| kubernetes_meaning(k).is_some() && !keep.contains(*k))
        .cloned()
        .collect();
    for key in rest {
        kept.remove(&key);
        let (reason, replacement) = kubernetes_meaning(&key).expect("filtered");
        let set_in_worker = |field: &str| worker.iter().any(|(k, _)| *k == field);
        let replaced_by = match replacement {
            Some("image") if image_values.is_none() => {
                Some("image.repository, image.tag (REQUIRED, not set)".to_owned())
            }
            Some("image") => Some("image.repository, image.tag".to_owned()),
            Some(value @ "worker.nodeSelector") if !set_in_worker("nodeSelector") => {
                Some(format!("{value} (not `key:value,...`: set it yourself)"))
            }
            Some(value @ "worker.terminationGracePeriodSeconds")
                if !set_in_worker("terminationGracePeriodSeconds") =>
            {
                Some(format!(
                    "{value} (not a number of seconds: set it yourself)"
                ))
            }
            other => other.map(str::to_owned),
        };
        dropped.push(Dropped {
            key,
            reason,
            replaced_by,
        });
    }
    dropped.sort_by(|a, b| a.key.cmp(&b.key));

    // The job's identity as friendly values, when the chart renders them back exactly.
    // What the chart's config ConfigMap cannot carry: it writes keys and values into a YAML block as they are
    // (escaping only line breaks and tabs in values), and Helm 3's values check refuses DEL and C1 controls.
    for (key, value) in &kept {
        let uncarried = |text: &str, breaks: bool| {
            text.chars().find(|&c| {
                let allowed = c == '\t' || (breaks && (c == '\n' || c == '\r'));
                (c.is_control() && !allowed) || c == '\u{2028}' || c == '\u{2029}'
            })
        };
        if let Some((c, what)) = uncarried(key, false)
            .map(|c| (c, "name"))
            .or_else(|| uncarried(value, true).map(|c| (c, "value")))
        {
            return Err(SamzaError::Config {
                key: key.escape_debug().to_string(),
                message: format!(
                    "its {what} holds U+{:04X} (a control character or line separator), which the chart's config \
                     ConfigMap cannot carry (Helm writes it into YAML as it is); remove it",
                    c as u32
                ),
            });
        }
    }
    fn take(
        job: &mut Friendly,
        kept: &mut BTreeMap<String, String>,
        key: &str,
        value: &'static str,
    ) {
        let text = kept.get(key).filter(|v| !v.is_empty()).cloned();
        if text.is_some() {
            kept.remove(key);
        }
        job.push(value, quoted(text.as_deref().unwrap_or_default()));
    }
    take(&mut job, &mut kept, "job.name", "name");
    take(&mut job, &mut kept, "job.id", "id");
    match kept.get("task.inputs").and_then(|v| input_list(v)) {
        Some(list) => {
            kept.remove("task.inputs");
            job.push("inputs", list);
        }
        None => job.push("inputs", "[]".into()),
    }
    take(&mut job, &mut kept, "task.class", "taskClass");
    take(&mut job, &mut kept, "app.class", "appClass");
    // Friendly values that would add keys the job does not have.
    job.push("defaultSystem", quoted(""));
    job.push("kafkaSystem", quoted(""));
    job.push("checkpoints", "false".into());

    // The chart labels a job by job.name, else app.name (`samza-job.jobName`), whatever Samza prefers.
    let labelled = config
        .get("job.name")
        .filter(|n| !n.is_empty())
        .unwrap_or(name);
    let job_label = job_label(labelled);
    let values = render_values(
        source,
        format,
        &job,
        image_values.as_ref(),
        &worker,
        &kept,
        &dropped,
        &required,
    );
    Ok(Imported {
        values,
        dropped,
        required,
        job_label,
    })
}

/// The `samza.apache.org/job` label the chart gives a job (`samza-job.jobName`): lower case, every run of
/// characters other than `a-z0-9-` one `-`, at most 63 characters, no `-` at either end.
pub fn job_label(name: &str) -> String {
    let mut label = String::new();
    let mut in_run = false;
    for c in name.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            label.push(c);
            in_run = false;
        } else if !in_run {
            label.push('-');
            in_run = true;
        }
    }
    let truncated: String = label.chars().take(63).collect();
    truncated.trim_matches('-').to_owned()
}

/// The `job` block, in the order it is written.
#[derive(Debug, Default)]
struct Friendly(Vec<(&'static str, String)>);

impl Friendly {
    fn push(&mut self, key: &'static str, yaml: String) {
        self.0.push((key, yaml));
    }
}

/// The YAML text of one string: JSON's double-quoted form, which YAML reads the same, with `\uXXXX` escapes also
/// for what JSON writes as is but YAML may not hold or reads as a line break: DEL, the C1 controls (NEL among
/// them), the line and paragraph separators, and the two non-characters U+FFFE and U+FFFF.
fn quoted(text: &str) -> String {
    let json = serde_json::to_string(text).expect("a string serializes");
    let awkward = |c: char| {
        matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
        )
    };
    if !json.contains(awkward) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if awkward(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Text for a YAML comment: as it is when it is plain, else quoted, so a line break cannot end the comment.
fn in_comment(text: &str) -> String {
    if text.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// A number the chart renders back as the same text (so `02` or `+2` stay in `config`).
fn positive_integer(text: &str, least: u64) -> Option<String> {
    let n: u64 = text.parse().ok()?;
    (n >= least && n.to_string() == text && n <= i32::MAX as u64).then(|| n.to_string())
}

/// `job.memoryMb` from a Samza megabyte count, or from the PoC's Kubernetes quantity (`1Gi`, `512Mi`); the
/// chart's schema wants at least 128.
fn memory_mb(text: &str) -> Option<String> {
    const MI: u64 = 1 << 20;
    let mb = if let Some(n) = text.strip_suffix("Gi") {
        n.parse::<u64>().ok()? * 1024
    } else if let Some(n) = text.strip_suffix("Mi") {
        n.parse::<u64>().ok()?
    } else if let Some(n) = text.strip_suffix('G') {
        let bytes = n.parse::<u64>().ok()? * 1_000_000_000;
        (bytes % MI == 0).then_some(bytes / MI)?
    } else if let Some(n) = text.strip_suffix('M') {
        let bytes = n.parse::<u64>().ok()? * 1_000_000;
        (bytes % MI == 0).then_some(bytes / MI)?
    } else {
        // Samza's keys are megabytes; the PoC's default unit would be bytes, which no one wrote.
        return positive_integer(text, 128);
    };
    (128..=i32::MAX as u64)
        .contains(&mb)
        .then(|| mb.to_string())
}

/// `task.inputs` as the chart's `job.inputs` list, when joining it with `,` gives the same text back and every
/// entry has the `system.stream` form the chart's schema asks for.
fn input_list(text: &str) -> Option<String> {
    let items: Vec<&str> = text.split(',').collect();
    let fits = |item: &&str| {
        !item.is_empty()
            && item.trim() == *item
            && item
                .split_once('.')
                .is_some_and(|(s, r)| !s.is_empty() && !r.is_empty())
    };
    if !items.iter().all(fits) {
        return None;
    }
    let quoted_items: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    Some(format!("[{}]", quoted_items.join(", ")))
}

/// The PoC's `kubernetes.node.selector` (`k1:v1,k2:v2`; it failed on anything else) as a YAML flow map.
fn node_selector(text: &str) -> Option<String> {
    let mut entries = Vec::new();
    for entry in text.split(',') {
        let (key, value) = entry.split_once(':')?;
        if key.is_empty() || value.contains(':') {
            return None;
        }
        entries.push(format!("{}: {}", quoted(key), quoted(value)));
    }
    Some(format!("{{{}}}", entries.join(", ")))
}

/// `REPOSITORY[:TAG][@sha256:DIGEST]` as the chart's `image` block.
fn image_reference(text: &str) -> Vec<(&'static str, String)> {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (text, None),
    };
    // A tag is after the last `:` that follows the last `/` (a registry's port is before it).
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    let mut block = vec![("repository", quoted(repository))];
    block.push((
        "tag",
        quoted(tag.unwrap_or(if digest.is_some() { "" } else { "latest" })),
    ));
    if let Some(digest) = digest {
        block.push(("digest", quoted(digest)));
    }
    block
}

#[allow(clippy::too_many_arguments)]
fn render_values(
    source: &str,
    format: Format,
    job: &Friendly,
    image: Option<&Vec<(&'static str, String)>>,
    worker: &[(&str, String)],
    config: &BTreeMap<String, String>,
    dropped: &[Dropped],
    required: &[String],
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Values for the samza-job chart, imported from {source} by `helm samza import`.\n\
         # Rendered, the chart's config ConfigMap holds the same Samza config, less the keys below.\n",
        source = in_comment(source)
    ));
    if !required.is_empty() {
        out.push_str("#\n# REQUIRED before deploying:\n");
        for item in required {
            out.push_str(&format!("#   {item}\n"));
        }
    }
    if !dropped.is_empty() {
        out.push_str("#\n# Left out, as they mean nothing on Kubernetes:\n");
        for d in dropped {
            out.push_str(&format!("#   {}: {}", in_comment(&d.key), d.reason));
            if let Some(by) = &d.replaced_by {
                out.push_str(&format!(" -> {by}"));
            }
            out.push('\n');
        }
    }
    out.push_str("job:\n");
    for (key, value) in &job.0 {
        out.push_str(&format!("  {key}: {value}\n"));
    }
    out.push_str("image:\n");
    match image {
        Some(block) => {
            for (key, value) in block {
                out.push_str(&format!("  {key}: {value}\n"));
            }
        }
        // An empty repository fails the chart's schema, so nothing deploys before it is set.
        None => out.push_str("  repository: \"\"  # REQUIRED, and tag\n"),
    }
    if !worker.is_empty() {
        out.push_str("worker:\n");
        for (key, value) in worker {
            out.push_str(&format!("  {key}: {value}\n"));
        }
    }
    if format == Format::Yaml {
        out.push_str("configFormat: yaml\n");
    }
    if config.is_empty() {
        out.push_str("config: {}\n");
    } else {
        out.push_str("# Every other key of the job, as it was (flat keys: the chart flattens nothing here).\n");
        out.push_str("config:\n");
        for (key, value) in config {
            out.push_str(&format!("  {}: {}\n", quoted(key), quoted(value)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn keys_without_meaning_on_kubernetes_are_named_with_their_replacement() {
        for (key, replacement) in [
            ("yarn.package.path", Some("image")),
            ("yarn.am.container.memory.mb", None),
            ("job.factory.class", None),
            ("cluster-manager.container.memory.mb", Some("job.memoryMb")),
            ("cluster-manager.container.cpu.cores", Some("job.cpuCores")),
            ("job.container.count", Some("job.containerCount")),
            ("yarn.container.count", Some("job.containerCount")),
            ("job.host-affinity.enabled", None),
            ("kubernetes.container.image", Some("image")),
            ("kubernetes.pod.count", Some("job.containerCount")),
            ("kubernetes.container.memory", Some("job.memoryMb")),
            ("kubernetes.container.cpu.cores", Some("job.cpuCores")),
            ("kubernetes.node.selector", Some("worker.nodeSelector")),
            (
                "kubernetes.pod.termination.grace.period.sec",
                Some("worker.terminationGracePeriodSeconds"),
            ),
        ] {
            assert_eq!(
                kubernetes_meaning(key).map(|m| m.1),
                Some(replacement),
                "{key}"
            );
        }
        for kept in [
            "job.name",
            "task.inputs",
            "cluster-manager.container.retry.count",
            "stores.s.changelog",
        ] {
            assert_eq!(kubernetes_meaning(kept), None, "{kept}");
        }
    }

    #[test]
    fn a_config_without_a_name_or_inputs_is_refused_naming_the_key() {
        let no_name = values_for(
            &config(&[("task.inputs", "kafka.a")]),
            Format::Properties,
            "f",
            None,
        );
        assert!(
            matches!(no_name, Err(SamzaError::Config { ref key, .. }) if key == "job.name"),
            "{no_name:?}"
        );
        let no_inputs = values_for(
            &config(&[("job.name", "j"), ("task.class", "C")]),
            Format::Properties,
            "f",
            None,
        );
        assert!(
            matches!(no_inputs, Err(SamzaError::Config { ref key, .. }) if key == "task.inputs"),
            "{no_inputs:?}"
        );
        assert!(values_for(
            &config(&[("job.name", "j"), ("app.class", "A")]),
            Format::Properties,
            "f",
            None
        )
        .is_ok());
    }

    #[test]
    fn sizes_become_friendly_values_only_when_they_render_back_exactly() {
        assert_eq!(positive_integer("2", 1).as_deref(), Some("2"));
        assert_eq!(positive_integer("02", 1), None);
        assert_eq!(positive_integer("0", 1), None);
        assert_eq!(memory_mb("2Gi").as_deref(), Some("2048"));
        assert_eq!(memory_mb("512Mi").as_deref(), Some("512"));
        assert_eq!(memory_mb("1024").as_deref(), Some("1024"));
        assert_eq!(memory_mb("64"), None);
        assert_eq!(memory_mb("1G"), None);
        assert_eq!(
            input_list("kafka.a,kafka.b").as_deref(),
            Some(r#"["kafka.a", "kafka.b"]"#)
        );
        assert_eq!(input_list("kafka.a, kafka.b"), None);
        assert_eq!(input_list("nodot"), None);
        assert_eq!(
            node_selector("zone:a,disk:ssd").as_deref(),
            Some(r#"{"zone": "a", "disk": "ssd"}"#)
        );
        assert_eq!(node_selector("zone=a"), None);
        assert_eq!(quoted("a\u{85}b\u{2028}\"\n"), r#""a\u0085b\u2028\"\n""#);
    }

    #[test]
    fn a_size_no_friendly_value_can_carry_stays_in_config_with_its_fallback() {
        let imported = values_for(
            &config(&[
                ("job.name", "j"),
                ("task.inputs", "kafka.a"),
                ("job.container.count", "02"),
                ("yarn.container.count", "3"),
                ("yarn.queue", "q"),
            ]),
            Format::Properties,
            "f",
            None,
        )
        .unwrap();
        let dropped: Vec<&str> = imported.dropped.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(dropped, ["yarn.queue"]);
        assert!(imported.values.contains("\"job.container.count\": \"02\""));
        assert!(imported.values.contains("\"yarn.container.count\": \"3\""));
        assert!(!imported.values.contains("containerCount"));
    }

    #[test]
    fn an_image_reference_splits_into_repository_tag_and_digest() {
        let text = |r: &str| {
            image_reference(r)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            text("reg:5000/team/job:1.2"),
            r#"repository="reg:5000/team/job" tag="1.2""#
        );
        assert_eq!(text("job"), r#"repository="job" tag="latest""#);
        assert_eq!(
            text("job@sha256:ab"),
            r#"repository="job" tag="" digest="sha256:ab""#
        );
    }

    #[test]
    fn the_job_label_is_the_charts() {
        assert_eq!(job_label("Page_View Counter"), "page-view-counter");
        assert_eq!(job_label("__x__"), "x");
        // The chart labels by job.name first, though Samza names the job (and its stream) by app.name first.
        let label = |pairs: &[(&str, &str)]| {
            values_for(&config(pairs), Format::Properties, "f", None)
                .unwrap()
                .job_label
        };
        assert_eq!(
            label(&[
                ("app.name", "App_X"),
                ("job.name", "job-y"),
                ("app.class", "A")
            ]),
            "job-y"
        );
        assert_eq!(label(&[("app.name", "App_X"), ("app.class", "A")]), "app-x");
    }
}
