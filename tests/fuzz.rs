//! Fuzz targets for every reader of untrusted bytes: the manifest stream, Java properties, `samza.lock`,
//! previous job models (as JSON and inside a manifest stream), the `helm samza values` file and the
//! coordinator's HTTP request handling (over a real socket). Each target feeds arbitrary bytes, mutations of
//! the repository's own inputs (`tests/fixtures`, `tests/corpus`) and structure-aware generated values, and
//! asserts that the reader never panics, that a refusal is its typed error, and that what it accepts reads back
//! as written.
//!
//! These are proptest targets, not cargo-fuzz ones: cargo-fuzz (libFuzzer) needs a nightly toolchain for
//! `-Z sanitizer`, and the project builds with stable Rust only. Proptest runs on stable inside the normal
//! `cargo test`, a few hundred cases per target so that each stays within seconds; set `PROPTEST_CASES` to run
//! longer, e.g. `PROPTEST_CASES=100000 cargo test --release --test fuzz`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use helm_samza::lock::{Lock, LockedJob};
use helm_samza::manifest::Stream;
use helm_samza::samza::{
    self, properties, Config, JobModel, PartitionFacts, SamzaError, SamzaVersion, Ssp, SystemStream,
};
use proptest::prelude::*;

/// Seeds longer than this are cut: a mutation of a 2 MB chart render costs a parse of 2 MB per case.
const MAX_SEED: usize = 16 * 1024;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("{} is part of the repository", dir.display());
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The repository's own inputs with one of the given extensions, sorted, each cut to [`MAX_SEED`] bytes.
fn seeds(extensions: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut paths = Vec::new();
    files_under(&root.join("fixtures"), &mut paths);
    files_under(&root.join("corpus"), &mut paths);
    paths.retain(|p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
    });
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| {
            let mut bytes = std::fs::read(p).unwrap();
            bytes.truncate(MAX_SEED);
            bytes
        })
        .collect();
    assert!(
        !seeds.is_empty(),
        "no seed files ({extensions:?}) under tests/"
    );
    seeds
}

fn yaml_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| seeds(&["yaml"]))
}

fn properties_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| seeds(&["properties"]))
}

fn json_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| seeds(&["json"]))
}

/// Bytes that a mutation splices in: the format's own punctuation more often than noise.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"-:=#!\\\n\r\t {}[]\",'&*|>u0".to_vec()),
        1 => any::<u8>(),
    ]
}

/// One of `seeds`, cut at a random point and with up to eight bytes overwritten, inserted or removed.
fn mutated(seeds: &'static [Vec<u8>]) -> impl Strategy<Value = Vec<u8>> {
    (
        0..seeds.len(),
        any::<prop::sample::Index>(),
        prop::collection::vec(
            (any::<prop::sample::Index>(), 0u8..3, interesting_byte()),
            0..8,
        ),
    )
        .prop_map(move |(seed, cut, edits)| {
            let mut bytes = seeds[seed].clone();
            bytes.truncate(cut.index(bytes.len() + 1).max(bytes.len() / 2));
            for (at, op, byte) in edits {
                let at = at.index(bytes.len() + 1);
                match op {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes.push(byte),
                }
            }
            bytes
        })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- the manifest stream -------------------------------------------------------------------------------------

/// Splitting never loses or changes a byte; reading a document's head and value gives a value or a
/// `ManifestError`, never a panic.
fn check_stream(bytes: &[u8]) -> Result<(), TestCaseError> {
    let stream = match Stream::from_bytes(bytes) {
        Ok(stream) => stream,
        Err(e) => {
            prop_assert!(std::str::from_utf8(bytes).is_err(), "refused UTF-8: {e}");
            return Ok(());
        }
    };
    let mut out = Vec::new();
    stream.write(&mut out).unwrap();
    prop_assert!(out == bytes, "the stream did not come out byte for byte");
    for doc in stream.documents() {
        let head = doc.head();
        let value = doc.value();
        if let (Ok(Some(_)), Err(e)) = (&head, &value) {
            // A head can be read from a document whose full value cannot; the refusal must name it.
            prop_assert!(!e.to_string().is_empty());
        }
        let _ = doc.string_scalars();
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_manifest_stream_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_stream(&bytes)?;
    }

    #[test]
    fn fuzz_manifest_stream_mutated_corpus(bytes in mutated(yaml_seeds())) {
        check_stream(&bytes)?;
    }

    /// Documents assembled from separators, comments, flow and block YAML, anchors and aliases.
    #[test]
    fn fuzz_manifest_stream_structured(parts in prop::collection::vec(prop_oneof![
        Just("---\n".to_string()),
        Just("--- # c\n".to_string()),
        Just("...\n".to_string()),
        Just("# Source: c/templates/x.yaml\n".to_string()),
        "[a-z]{1,8}: [a-zA-Z0-9 ]{0,12}\n",
        "  - [a-z]{1,6}\n",
        Just("kind: ConfigMap\nmetadata:\n  name: m\n  labels: {samza.apache.org/job: j, samza.apache.org/role: config}\n".to_string()),
        Just("data:\n  job.properties: |\n    job.name=j\n".to_string()),
        Just("a: &x [1, 2]\nb: *x\n".to_string()),
        Just("{\"kind\": \"Secret\", \"stringData\": {\"k\": \"v\"}}\n".to_string()),
        Just("key: \"unterminated\n".to_string()),
        Just("\t- tab\n".to_string()),
        Just("\r\n".to_string()),
    ], 0..24)) {
        check_stream(parts.concat().as_bytes())?;
    }
}

// ---- Java properties -----------------------------------------------------------------------------------------

/// A refusal is `SamzaError::Properties` naming a line of the text.
fn check_properties(text: &str) -> Result<(), TestCaseError> {
    match properties::parse(text) {
        Ok(_) => {}
        Err(SamzaError::Properties { line, message }) => {
            let lines = text.split(['\n', '\r']).count();
            prop_assert!(
                line >= 1 && line <= lines,
                "line {line} of {lines}: {message}"
            );
            prop_assert!(message.contains("\\u"), "{message}");
        }
        Err(other) => prop_assert!(false, "not a properties error: {other:?}"),
    }
    Ok(())
}

/// Writes `s` so that `Properties.load` reads it back: what `Properties.store` escapes, plus non-ASCII as
/// `\uXXXX` (surrogate pairs for astral characters).
fn escape_properties(s: &str, is_key: bool) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        match c {
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_properties_arbitrary_text(text in any::<String>()) {
        check_properties(&text)?;
    }

    #[test]
    fn fuzz_properties_mutated_corpus(bytes in mutated(properties_seeds())) {
        check_properties(&properties::decode_latin1(bytes))?;
    }

    /// Properties text made of the format's own pieces: separators, escapes, continuations, comments.
    #[test]
    fn fuzz_properties_structured(parts in prop::collection::vec(prop_oneof![
        "[a-z.]{1,10}",
        Just("=".to_string()), Just(":".to_string()), Just(" ".to_string()), Just("\t".to_string()),
        Just("\\\n  ".to_string()), Just("\\\r\n".to_string()), Just("\\".to_string()),
        Just("\\u00e9".to_string()), Just("\\uD83D\\uDE00".to_string()), Just("\\uD83D".to_string()),
        Just("\\u12".to_string()), Just("\\uzzzz".to_string()),
        Just("\n".to_string()), Just("\r".to_string()), Just("\n# c\\\n".to_string()), Just("\n!".to_string()),
    ], 0..32)) {
        check_properties(&parts.concat())?;
    }

    /// Any keys and values, escaped as `Properties.store` would write them, read back as they were.
    #[test]
    fn fuzz_properties_round_trip(pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..8)) {
        let text: String = pairs
            .iter()
            .map(|(k, v)| format!("{}={}\n", escape_properties(k, true), escape_properties(v, false)))
            .collect();
        let parsed = properties::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text:?}")))?;
        let mut want: indexmap::IndexMap<String, String> = indexmap::IndexMap::new();
        for (k, v) in pairs {
            // Rust strings hold no lone surrogates, so every character escapes to a valid `\u` sequence.
            want.insert(k, v);
        }
        prop_assert_eq!(parsed, want);
    }
}

// ---- helm samza import ---------------------------------------------------------------------------------------

/// A config becomes chart values or a `SamzaError::Config`, never a panic; the values are YAML that reads back
/// to the config: every `config` entry as it was, the job's name, id, inputs and class as the friendly values,
/// and every other key named as left out.
fn check_import(config: &Config) -> Result<(), TestCaseError> {
    use helm_samza::import::{values_for, Format};
    let imported = match values_for(config, Format::Properties, "fuzz.properties", None) {
        Ok(imported) => imported,
        Err(SamzaError::Config { .. }) => return Ok(()),
        Err(other) => {
            return Err(TestCaseError::fail(format!(
                "not a config error: {other:?}"
            )))
        }
    };
    let values: serde_json::Value = serde_saphyr::from_str(&imported.values)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{}", imported.values)))?;
    let kept = values["config"].as_object().cloned().unwrap_or_default();
    let job = &values["job"];
    let dropped: std::collections::BTreeSet<&str> =
        imported.dropped.iter().map(|d| d.key.as_str()).collect();
    for (key, value) in &kept {
        prop_assert_eq!(config.get(key), value.as_str(), "config entry {:?}", key);
    }
    for (key, value) in config.iter() {
        let friendly = match key {
            "job.name" => job["name"].as_str().map(str::to_owned),
            "job.id" => job["id"].as_str().map(str::to_owned),
            "task.class" => job["taskClass"].as_str().map(str::to_owned),
            "app.class" => job["appClass"].as_str().map(str::to_owned),
            "task.inputs" => job["inputs"].as_array().map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            _ => None,
        };
        prop_assert!(
            kept.contains_key(key) || dropped.contains(key) || friendly.as_deref() == Some(value),
            "{:?}={:?} is lost:\n{}",
            key,
            value,
            imported.values
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_import_mutated_corpus(bytes in mutated(properties_seeds())) {
        if let Ok(config) = Config::from_properties(&properties::decode_latin1(bytes)) {
            check_import(&config)?;
        }
    }

    /// Any keys and values beside a name and inputs, the keys sometimes ones import leaves out or turns into
    /// friendly values.
    #[test]
    fn fuzz_import_structured(
        name in any::<String>(),
        inputs in prop_oneof!["kafka\\.[a-z]{1,5}(,kafka\\.[a-z]{1,5}){0,2}", any::<String>()],
        pairs in prop::collection::vec((prop_oneof![
            any::<String>(),
            prop::sample::select(vec![
                "job.container.count", "yarn.container.count", "kubernetes.pod.count", "job.factory.class",
                "cluster-manager.container.memory.mb", "kubernetes.container.memory", "yarn.package.path",
                "kubernetes.container.image", "kubernetes.node.selector", "job.id", "task.class", "app.class",
                "kubernetes.pod.termination.grace.period.sec", "job.host-affinity.enabled", "yarn.queue",
            ]).prop_map(str::to_owned),
        ], prop_oneof!["[0-9]{1,5}(Gi|Mi)?", "[a-z]{1,4}:[a-z]{1,4}(,[a-z]{1,4}:[a-z]{1,4})?", any::<String>()]), 0..12),
    ) {
        let mut map = indexmap::IndexMap::new();
        map.insert("job.name".to_owned(), name);
        map.insert("task.inputs".to_owned(), inputs);
        for (key, value) in pairs {
            map.insert(key, value);
        }
        check_import(&Config::from_map(map))?;
    }
}

// ---- samza.lock ----------------------------------------------------------------------------------------------

fn check_lock(text: &str) -> Result<(), TestCaseError> {
    match Lock::parse(text) {
        Ok(lock) => {
            let again = Lock::parse(&lock.to_json()).map_err(TestCaseError::fail)?;
            prop_assert_eq!(again, lock);
        }
        Err(message) => prop_assert!(
            message.starts_with("not a samza.lock file")
                || message.starts_with("lock format version"),
            "{message}"
        ),
    }
    Ok(())
}

fn locked_job() -> impl Strategy<Value = LockedJob> {
    let name = "[A-Za-z0-9 ._-]{1,12}";
    (
        prop::collection::btree_map("kafka\\.[a-z]{1,6}", any::<u32>(), 0..4),
        prop::collection::btree_map(name, any::<u32>(), 0..4),
        prop::collection::btree_map(name, "[0-9]{1,3}", 0..4),
        prop::collection::btree_map(
            name,
            prop::collection::vec(("kafka", "[a-z]{1,6}", any::<u32>(), -1i32..3), 0..3),
            0..3,
        ),
        prop::option::of("sha256:[0-9a-f]{8}"),
        prop::collection::btree_map(name, "[0-9]{1,3}-[0-9]", 0..3),
    )
        .prop_map(
            |(inputs, changelog, assignment, task_inputs, digest, standby)| LockedJob {
                inputs: inputs
                    .into_iter()
                    .map(|(name, n)| (SystemStream::parse(&name, "lock").unwrap(), n))
                    .collect(),
                topics: BTreeMap::new(),
                discovered: BTreeMap::new(),
                changelog,
                assignment,
                standby,
                task_inputs: task_inputs
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k,
                            v.into_iter()
                                .map(|(s, t, p, b)| {
                                    Ssp::new(&SystemStream::new(&s, &t), p).with_key_bucket(b)
                                })
                                .collect(),
                        )
                    })
                    .collect(),
                digest,
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_lock_arbitrary_text(text in any::<String>()) {
        check_lock(&text)?;
    }

    #[test]
    fn fuzz_lock_mutated(bytes in mutated(lock_seeds())) {
        check_lock(&String::from_utf8_lossy(&bytes))?;
    }

    /// Any lock the tool could write reads back equal.
    #[test]
    fn fuzz_lock_round_trip(jobs in prop::collection::btree_map("[a-z-]{1,10}", locked_job(), 0..3)) {
        let lock = Lock { version: helm_samza::lock::LOCK_VERSION, jobs };
        prop_assert_eq!(Lock::parse(&lock.to_json()).map_err(TestCaseError::fail)?, lock);
    }
}

/// Locks written by the tool for generated jobs, and the JSON fixtures (most are not locks: the reader must
/// refuse them with its own message).
fn lock_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = json_seeds().to_vec();
        let job = LockedJob {
            inputs: [
                (SystemStream::new("kafka", "PageViewEvent"), 4),
                (SystemStream::new("kafka", "AdClickEvent"), 2),
            ]
            .into(),
            changelog: [
                ("Partition 0".to_string(), 0),
                ("Partition 1".to_string(), 1),
            ]
            .into(),
            assignment: [("Partition 0".to_string(), "0".to_string())].into(),
            task_inputs: [(
                "Partition 0".to_string(),
                vec![Ssp::new(&SystemStream::new("kafka", "PageViewEvent"), 0)],
            )]
            .into(),
            digest: Some("sha256:00".into()),
            ..LockedJob::default()
        };
        let lock = Lock {
            version: 1,
            jobs: [("page-views".to_string(), job)].into(),
        };
        seeds.push(lock.to_json().into_bytes());
        seeds
    })
}

// ---- previous job models -------------------------------------------------------------------------------------

fn check_model_json(text: &str) -> Result<(), TestCaseError> {
    match JobModel::from_json(text) {
        Ok(model) => {
            // What was read is written and read again to the same model.
            let again = JobModel::from_json(&model.to_json(SamzaVersion::default()))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(again, model);
        }
        Err(SamzaError::Previous { message }) => prop_assert!(!message.is_empty()),
        Err(other) => prop_assert!(false, "not a previous-model error: {other:?}"),
    }
    Ok(())
}

/// Models in a manifest stream (`--previous FILE`, `helm get manifest`): a model or a typed error.
fn check_models_in_stream(bytes: &[u8]) {
    if let Err(e) = helm_samza::model_configmap::models_in_stream(bytes) {
        assert!(!e.to_string().is_empty());
        let code = e.exit_code();
        assert!((10..=74).contains(&code), "exit code {code} for {e}");
    }
}

/// A job planned from generated counts: the models the tool itself writes.
fn planned_model() -> impl Strategy<Value = JobModel> {
    (
        prop::collection::vec(1u32..12, 1..3),
        1u32..4,
        prop::sample::select(vec![
            samza::config::GROUP_BY_PARTITION,
            samza::config::GROUP_BY_SSP,
            samza::config::ALL_SSP_TO_SINGLE_TASK,
        ]),
        1u32..3,
    )
        .prop_filter_map(
            "more containers than tasks",
            |(counts, containers, grouper, standby)| {
                let mut c = Config::default();
                c.set("job.name", "fuzz");
                let names: Vec<String> = (0..counts.len()).map(|i| format!("kafka.s{i}")).collect();
                c.set("task.inputs", names.join(","));
                c.set("job.container.count", containers.to_string());
                c.set("job.systemstreampartition.grouper.factory", grouper);
                c.set("job.standbytasks.replication.factor", standby.to_string());
                let facts = PartitionFacts {
                    counts: names
                        .iter()
                        .zip(&counts)
                        .map(|(n, c)| (SystemStream::parse(n, "t").unwrap(), *c))
                        .collect(),
                    topics: BTreeMap::new(),
                };
                samza::plan(&c, &facts, None).ok().map(|p| p.model)
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_previous_model_arbitrary_text(text in any::<String>()) {
        check_model_json(&text)?;
        check_models_in_stream(text.as_bytes());
    }

    #[test]
    fn fuzz_previous_model_mutated_json(bytes in mutated(json_seeds())) {
        check_model_json(&String::from_utf8_lossy(&bytes))?;
    }

    /// A planned model, written in any Samza version's shape and then damaged.
    #[test]
    fn fuzz_previous_model_structured(
        model in planned_model(),
        version in prop::sample::select(vec!["0.9", "0.12", "0.13", "1.0", "1.1", "1.6", "1.7", "1.8"]),
        cut in any::<prop::sample::Index>(),
    ) {
        let json = model.to_json(SamzaVersion::parse(version).unwrap());
        let back = JobModel::from_json(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.containers.len(), model.containers.len());
        let cut = cut.index(json.len());
        check_model_json(&String::from_utf8_lossy(&json.as_bytes()[..cut]))?;
    }

    /// Model ConfigMaps in a manifest stream in every layout (plain, gzipped, inputs, parts), whole or damaged.
    #[test]
    fn fuzz_previous_model_in_streams(bytes in mutated(stream_seeds())) {
        check_models_in_stream(&bytes);
    }
}

/// Post-rendered streams holding model ConfigMaps, plain and gzipped (`binaryData`).
fn stream_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let plain = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: j-model\n  labels: \
                     {samza.apache.org/job: j, samza.apache.org/role: model}\ndata:\n  job-model.json: '{\"config\":\
                     {\"job.name\":\"j\"},\"containers\":{\"0\":{\"processor-id\":\"0\",\"tasks\":{}}}}'\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, br#"{"config":{"job.name":"j"},"containers":{}}"#).unwrap();
        let gzipped = format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: j-model\n  labels: \
             {{samza.apache.org/job: j, samza.apache.org/role: model}}\nbinaryData:\n  job-model.json.gz: {}\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, gz.finish().unwrap())
        );
        let mut seeds = vec![
            plain.as_bytes().to_vec(),
            gzipped.into_bytes(),
            inputs_seed().into_bytes(),
            parts_seed().into_bytes(),
        ];
        seeds.extend(yaml_seeds().iter().take(8).cloned());
        seeds
    })
}

/// A model ConfigMap of the inputs layout (a model computed again when read).
fn inputs_seed() -> String {
    let mut config = Config::default();
    config.set("job.name", "j");
    config.set("task.inputs", "kafka.a");
    let facts = PartitionFacts {
        counts: [(SystemStream::new("kafka", "a"), 3)].into_iter().collect(),
        topics: BTreeMap::new(),
    };
    let (inputs, _) = helm_samza::model_inputs::ModelInputs::plan(
        "j",
        SamzaVersion::default(),
        &config,
        &facts,
        None,
    )
    .unwrap();
    format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: j-model\n  labels: \
         {{samza.apache.org/job: j, samza.apache.org/role: model}}\ndata:\n  job-model.inputs.json: {}\n",
        serde_json::to_string(&inputs.to_json()).unwrap()
    )
}

/// A model split into two parts, with its index.
fn parts_seed() -> String {
    use base64::Engine as _;
    let json = r#"{"config":{"job.name":"j"},"containers":{"0":{"processor-id":"0","tasks":{}}}}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, json.as_bytes()).unwrap();
    let gzip = gz.finish().unwrap();
    let (one, two) = gzip.split_at(gzip.len() / 2);
    let entry = |n: usize, bytes: &[u8]| {
        serde_json::json!({"configMap": format!("j-model-part-{n}"), "key": format!("job-model.json.gz.part-{n}"),
            "bytes": bytes.len(), "sha256": helm_samza::model_configmap::digest_bytes(bytes)})
    };
    let index = serde_json::json!({"encoding": "gzip", "modelDigest": helm_samza::model_configmap::digest(json),
        "parts": [entry(1, one), entry(2, two)]});
    let part = |n: usize, bytes: &[u8]| {
        format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: j-model-part-{n}\n  labels: \
             {{samza.apache.org/job: j, samza.apache.org/role: model-part}}\nbinaryData:\n  \
             job-model.json.gz.part-{n}: {}\n",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    };
    format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: j-model\n  labels: \
         {{samza.apache.org/job: j, samza.apache.org/role: model}}\ndata:\n  job-model.index.json: {}\n{}{}",
        serde_json::to_string(&index.to_string()).unwrap(),
        part(1, one),
        part(2, two)
    )
}

/// The seeds of the layouts read back as the models they carry: the mutations start from valid documents.
#[test]
fn the_layout_seeds_read_back() {
    for seed in [inputs_seed(), parts_seed()] {
        let models = helm_samza::model_configmap::models_in_stream(seed.as_bytes())
            .unwrap_or_else(|e| panic!("{e}\n{seed}"));
        assert!(models.contains_key("j"), "{seed}");
    }
}

#[test]
fn seeds_are_found() {
    assert!(yaml_seeds().len() >= 10);
    assert!(properties_seeds().len() >= 10);
    assert!(json_seeds().len() >= 5);
}

// ---- the values file of `helm samza values` ------------------------------------------------------------------

/// A values file reads as values, as none, or as its typed error (exit 16); the model of values that read is
/// decoded or refused with a typed error, never a panic.
fn check_values_file(text: &str) -> Result<(), TestCaseError> {
    use helm_samza::{chart_values::JobModelValues, error::Error};
    match JobModelValues::parse(text, Path::new("samza-values.yaml")) {
        Ok(Some(values)) => {
            let _ = values.model(&helm_samza::error::JobOrigin("fuzz".into()));
            let again = JobModelValues::parse(
                &values
                    .to_yaml("helm samza values")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?,
                Path::new("again.yaml"),
            )
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(again, Some(values));
        }
        Ok(None) => {}
        Err(Error::Previous { .. }) => {}
        Err(other) => prop_assert!(false, "not the values reader's own error: {other}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_values_file_arbitrary_text(text in any::<String>()) {
        check_values_file(&text)?;
    }

    #[test]
    fn fuzz_values_file_mutated(bytes in mutated(yaml_seeds())) {
        check_values_file(&String::from_utf8_lossy(&bytes))?;
    }

    /// Any values the tool could write read back equal.
    #[test]
    fn fuzz_values_file_round_trip(
        job in "[a-z0-9-]{1,20}",
        containers in 1usize..10_000,
        changelog_partitions in 0u32..100_000,
        source in any::<String>(),
        body in any::<String>(),
        gzip in any::<bool>(),
    ) {
        use helm_samza::chart_values::JobModelValues;
        let entries = |key: &str| Some(BTreeMap::from([(key.to_string(), body.clone())]));
        let values = JobModelValues {
            job,
            digest: helm_samza::model_configmap::digest(&body),
            containers,
            changelog_partitions,
            partition_source: source,
            data: if gzip { None } else { entries("job-model.json") },
            binary_data: if gzip { entries("job-model.json.gz") } else { None },
        };
        let text = values.to_yaml("helm samza values r ./chart -o samza-values.yaml")
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let read = JobModelValues::parse(&text, Path::new("samza-values.yaml"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read, Some(values));
    }
}

/// A coordinator serving a small model on loopback, shared by the request-handling target's cases (it lives as
/// long as the test process).
fn coordinator_addr() -> std::net::SocketAddr {
    static ADDR: OnceLock<std::net::SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let model = dir.join("job-model.json");
        std::fs::write(
            &model,
            r#"{"config":{"job.name":"fuzz"},"containers":{"0":{"processor-id":"0","tasks":{}}},"max-change-log-stream-partitions":0}"#,
        )
        .unwrap();
        let running = helm_samza::coordinator::start(&helm_samza::coordinator::Settings {
            model,
            listen: "127.0.0.1:0".into(),
            kafka: Default::default(),
            poll_interval: None,
            write_coordinator_stream: false,
        })
        .expect("the coordinator starts");
        let addr = running.addr();
        // Kept serving for the rest of the process.
        Box::leak(Box::new(running));
        addr
    })
}

/// Sends `request` (then closes the writing side) and returns the whole answer.
fn exchange(request: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(coordinator_addr()).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    // The server may answer and close before reading everything: a failed write is not the server's failure.
    let _ = stream.write_all(request);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// A request line and headers built from pieces a client might send, well-formed or not.
fn request_strategy() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "get", "", "GET GET"]);
    let target = prop_oneof![
        prop::sample::select(vec![
            "/",
            "/healthz",
            "/readyz",
            "/metrics",
            "/containerHeartbeat?executionContainerId=w-0",
            "/containerHeartbeat",
            "/model/sha256:abc/",
            "/model/sha256%3Aabc/containerHeartbeat?executionContainerId=x",
            "/model/",
            "*",
        ])
        .prop_map(str::to_owned),
        "/[ -~]{0,64}",
        "[^\r\n]{0,64}",
    ];
    let version =
        prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0", "HTTP/2", "", "HTTP/1.1 extra"]);
    let headers = prop::collection::vec(
        prop_oneof![
            Just("Accept-Encoding: gzip".to_owned()),
            Just("accept-encoding: br;q=1, gzip;q=0.5".to_owned()),
            "[A-Za-z-]{1,16}: [ -~]{0,32}",
            "[^\r\n]{0,48}",
        ],
        0..6,
    );
    let ending = prop::sample::select(vec!["\r\n\r\n", "\n\n", "\r\n", ""]);
    (method, target, version, headers, ending).prop_map(|(m, t, v, h, e)| {
        let mut text = format!("{m} {t} {v}");
        for header in h {
            text.push_str("\r\n");
            text.push_str(&header);
        }
        text.push_str(e);
        text.into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    /// The coordinator's request handling, over a real socket: whatever a client sends, the answer is a whole
    /// HTTP status line with a documented status, or none (the connection ended); the server keeps serving.
    #[test]
    fn fuzz_coordinator_requests(
        request in prop_oneof![
            request_strategy(),
            prop::collection::vec(any::<u8>(), 0..2048),
            prop::collection::vec(any::<u8>(), 16_000..17_000),
        ]
    ) {
        let answer = exchange(&request);
        if !answer.is_empty() {
            let text = String::from_utf8_lossy(&answer);
            let status: Option<u16> = text
                .strip_prefix("HTTP/1.1 ")
                .and_then(|rest| rest.get(..3))
                .and_then(|code| code.parse().ok());
            prop_assert!(
                status.is_some_and(|s| [200, 400, 404, 405, 409, 431, 500, 503].contains(&s)),
                "{:?} got {:?}",
                String::from_utf8_lossy(&request),
                text.lines().next()
            );
        }
        let health = exchange(b"GET /healthz HTTP/1.1\r\n\r\n");
        prop_assert!(health.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&health));
    }
}
