//! `helm samza import`: a job's config → values for `charts/samza-job` → `helm template` (real Helm 3 and 4, no
//! post-renderer) → the config ConfigMap holds the same Samza config, less the keys that mean nothing on
//! Kubernetes. Compared as key/value maps, both sides read by helm-samza's one config reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use helm_samza::job_config::{read_config, read_config_file};
use helm_samza::manifest::Stream;
use serde_json::Value;

use crate::support::{
    helm::HelmHome,
    run::{fixture, Test},
    tools::{corpus_dir, repo_root},
};

/// The keys the chart renders from friendly values whatever the job says, each with Samza's default.
const SIZED: &[(&str, &str)] = &[
    ("job.container.count", "1"),
    ("cluster-manager.container.memory.mb", "1024"),
    ("cluster-manager.container.cpu.cores", "1"),
];

/// Written out here, not asked of helm-samza: the keys the import must leave out.
fn means_nothing_on_kubernetes(key: &str) -> bool {
    key.starts_with("yarn.")
        || key.starts_with("kubernetes.")
        || [
            "job.factory.class",
            "job.host-affinity.enabled",
            "job.container.count",
            "cluster-manager.container.memory.mb",
            "cluster-manager.container.cpu.cores",
        ]
        .contains(&key)
}

fn every_config() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let corpus = corpus_dir().join("hello-samza");
    for dir in [
        corpus.clone(),
        corpus.join("legacy-1.0.0-SNAPSHOT-a096c75"),
        corpus.join("legacy-0.9.1-ff399e6"),
    ] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "properties") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 30, "the hello-samza corpus: {files:?}");
    files.push(fixture("import/poc-page-views.properties"));
    files.push(fixture("import/yarn-job.yaml"));
    files
}

fn as_map(config: &helm_samza::samza::Config) -> BTreeMap<String, String> {
    config
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The Samza config of the chart's config ConfigMap in `helm template`'s output.
fn rendered_config(home: &HelmHome, values: &Path) -> BTreeMap<String, String> {
    let mut cmd = home.cmd(["template", "imported"]);
    cmd.arg(repo_root().join("charts/samza-job"))
        .arg("-f")
        .arg(values)
        // The only value the import cannot know (YARN's package is no image).
        .args(["--set", "image.repository=example/job,image.tag=1.0"]);
    let out = cmd.output().expect("run helm template");
    assert!(
        out.status.success(),
        "helm {} template -f {}: {}",
        home.version(),
        values.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let stream = Stream::split(&text);
    let configmap: Value = stream
        .documents()
        .iter()
        .filter(|d| d.head().unwrap().is_some())
        .map(|d| d.value().unwrap())
        .find(|d| {
            d["kind"] == "ConfigMap" && d["metadata"]["labels"]["samza.apache.org/role"] == "config"
        })
        .expect("the config ConfigMap");
    let (config, _) = read_config(&configmap, &helm_samza::error::JobOrigin("rendered".into()))
        .expect("the rendered config reads");
    as_map(&config)
}

/// The value Samza reads for a sized key: the key, its YARN fallback, the proof of concept's key, or the default.
fn sized_value(original: &BTreeMap<String, String>, key: &str, default: &str) -> String {
    let poc = original
        .get("job.factory.class")
        .is_some_and(|f| f.ends_with("KubernetesJobFactory"));
    let (fallback, poc_key) = match key {
        "job.container.count" => ("yarn.container.count", "kubernetes.pod.count"),
        "cluster-manager.container.memory.mb" => {
            ("yarn.container.memory.mb", "kubernetes.container.memory")
        }
        _ => ("yarn.container.cpu.cores", "kubernetes.container.cpu.cores"),
    };
    let order = if poc {
        [poc_key, key, fallback]
    } else {
        [key, fallback, poc_key]
    };
    let value = order
        .iter()
        .find_map(|k| original.get(*k))
        .cloned()
        .unwrap_or_else(|| default.to_owned());
    // The proof of concept gave memory as a Kubernetes quantity.
    match value.strip_suffix("Gi") {
        Some(gi) => (gi.parse::<u64>().unwrap() * 1024).to_string(),
        None => value,
    }
}

#[test]
fn every_hello_samza_config_and_a_proof_of_concept_config_round_trip_through_the_chart() {
    let homes = [HelmHome::bare(3), HelmHome::bare(4)];
    let dir = tempfile::tempdir().unwrap();
    for (n, file) in every_config().iter().enumerate() {
        let values = dir.path().join(format!("values-{n}.yaml"));
        let mut original = as_map(&read_config_file(file).unwrap());
        let mut args = vec![
            "import".to_owned(),
            file.display().to_string(),
            "-o".to_owned(),
            values.display().to_string(),
        ];
        // A local runner's config names no application: its runner was given the class in code.
        if !original.contains_key("app.class") && !original.contains_key("task.inputs") {
            let class = "samza.examples.GivenInCode";
            args.extend(["--app-class".to_owned(), class.to_owned()]);
            original.insert("app.class".into(), class.into());
        }
        let out = Test::new().args(&args).run().success();
        assert!(out.stdout_str().is_empty(), "values go to -o, not stdout");
        let stderr = out.stderr.clone();
        let text = std::fs::read_to_string(&values).unwrap();

        let mut expected: BTreeMap<String, String> = original
            .iter()
            .filter(|(k, _)| !means_nothing_on_kubernetes(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, default) in SIZED {
            expected.insert((*key).to_owned(), sized_value(&original, key, default));
        }
        // Every key left out is named, on stderr and in the values' header, with its reason.
        for key in original.keys().filter(|k| means_nothing_on_kubernetes(k)) {
            assert!(
                stderr.contains(&format!("left out {key}: ")),
                "{}: {key} not reported: {stderr}",
                file.display()
            );
            assert!(
                text.contains(&format!("#   {key}: ")),
                "{}: {key} not in the header",
                file.display()
            );
        }
        if original.contains_key("yarn.package.path") {
            assert!(stderr.contains("required: image.repository"), "{stderr}");
        }
        for home in &homes {
            let rendered = rendered_config(home, &values);
            assert_eq!(
                rendered,
                expected,
                "{} through Helm {}; values:\n{text}",
                file.display(),
                home.version()
            );
        }
    }
}

#[test]
fn the_proof_of_concepts_kubernetes_keys_become_chart_values() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    Test::new()
        .args([
            "import",
            fixture("import/poc-page-views.properties")
                .to_str()
                .unwrap(),
            "-o",
            values.to_str().unwrap(),
        ])
        .run()
        .success();
    let home = HelmHome::bare(4);
    let out = home
        .cmd(["template", "pv"])
        .arg(repo_root().join("charts/samza-job"))
        .arg("-f")
        .arg(&values)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let stream = Stream::split(&text);
    let worker: Value = stream
        .documents()
        .iter()
        .filter(|d| d.head().unwrap().is_some())
        .map(|d| d.value().unwrap())
        .find(|d| d["kind"] == "StatefulSet")
        .expect("the worker StatefulSet");
    let pod = &worker["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["image"],
        "registry.example:5000/streams/page-views:0.9.1-3"
    );
    assert_eq!(pod["nodeSelector"]["pool"], "streams");
    assert_eq!(pod["nodeSelector"]["disk"], "ssd");
    assert_eq!(pod["terminationGracePeriodSeconds"], 60);
    assert_eq!(
        pod["containers"][0]["resources"]["limits"]["memory"],
        "2048Mi"
    );
}
