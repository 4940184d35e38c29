//! SZ4xx: running the job day to day: disruption budgets, probes, spreading over nodes, where the state
//! lives, shutdown time against Samza's commit interval, and the sizes the API server and client-side apply
//! accept.

use flate2::{write::GzEncoder, Compression};
use serde_json::Value;

use super::catalogue::{
    CLIENT_SIDE_APPLY_SIZE, CONFIGMAP_SIZE, GRACE_PERIOD, MISSING_ANTI_AFFINITY, MISSING_PDB,
    MISSING_PROBES, RELEASE_SIZE, STATE_VOLUME,
};
use super::pod::{env_value, PodView};
use super::{label, Findings, JobContext, LintDoc, LintInput};

/// Kubernetes' limit on a ConfigMap's data (`corev1.MaxSecretSize`, shared by ConfigMaps).
const CONFIGMAP_LIMIT: usize = 1024 * 1024;
/// Kubernetes' limit on the total size of an object's annotations, keys and values (`TotalAnnotationSizeLimitB`).
const ANNOTATIONS_LIMIT: usize = 256 * 1024;
/// Kubernetes' limit on a Secret's data, where Helm keeps each release revision (`corev1.MaxSecretSize`).
const SECRET_LIMIT: usize = 1024 * 1024;
/// Where client-side `kubectl apply` keeps its copy of the object.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Samza's `task.commit.ms` default.
const DEFAULT_COMMIT_MS: i64 = 60_000;
/// Kubernetes' `terminationGracePeriodSeconds` default.
const DEFAULT_GRACE_SECONDS: i64 = 30;

pub(crate) fn check(ctx: &JobContext, out: &mut Findings) {
    pdb(ctx, out);
    for doc in ctx.workloads() {
        if let Some(pod) = PodView::of(doc) {
            probes(ctx, &pod, out);
        }
    }
    anti_affinity(ctx, out);
    state_volume(ctx, out);
    grace_period(ctx, out);
}

pub(crate) fn check_documents(input: &LintInput, out: &mut Findings) {
    for doc in &input.documents {
        client_side_apply_size(doc, out);
    }
    release_size(input, out);
    for doc in input.documents.iter().filter(|d| d.kind == "ConfigMap") {
        let size = configmap_data_size(&doc.value);
        if size > CONFIGMAP_LIMIT {
            let job = label(&doc.value, "samza.apache.org/job");
            out.push(
                &CONFIGMAP_SIZE,
                job,
                Some(doc.index),
                Some("data".to_owned()),
                format!(
                    "ConfigMap data is {size} bytes (document {} bytes); Kubernetes accepts at most {CONFIGMAP_LIMIT}",
                    doc.raw_len
                ),
            );
        }
    }
}

/// SZ407: client-side `kubectl apply` writes the whole object, as JSON, into an annotation, and the API server
/// limits an object's annotations to 256 KiB in total.
fn client_side_apply_size(doc: &LintDoc, out: &mut Findings) {
    let annotations = doc
        .value
        .pointer("/metadata/annotations")
        .and_then(Value::as_object);
    let others: usize = annotations.map_or(0, |a| {
        a.iter()
            .filter(|(key, _)| *key != LAST_APPLIED)
            .map(|(key, value)| key.len() + value.as_str().map_or(0, str::len))
            .sum()
    });
    // kubectl's copy is the object without that annotation, and always has an annotation map (`{}` at least).
    let mut object = doc.value.clone();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(a) = annotations.as_object_mut() {
            a.shift_remove(LAST_APPLIED);
        }
    }
    // kubectl's copy is the object's JSON as Go encodes it, with the encoder's newline at the end.
    let copy = go_json_len(&object) + 1;
    let total = others + LAST_APPLIED.len() + copy;
    if total > ANNOTATIONS_LIMIT {
        // A part of a split model exists because the model is too large for one object, and Helm's release
        // Secret cannot hold it either (SZ408): only server-side apply takes it.
        let part = doc
            .value
            .pointer("/metadata/labels/samza.apache.org~1role")
            .and_then(Value::as_str)
            == Some(crate::job::ROLE_MODEL_PART);
        out.push(
            &CLIENT_SIDE_APPLY_SIZE,
            label(&doc.value, "samza.apache.org/job"),
            Some(doc.index),
            Some(format!("metadata.annotations[{LAST_APPLIED}]")),
            format!(
                "client-side `kubectl apply` would store this {} as a {copy}-byte annotation ({total} bytes of \
                 annotations in all); the API server accepts at most {ANNOTATIONS_LIMIT}: {}",
                doc.kind,
                if part {
                    "apply a model split into parts with `kubectl apply --server-side`"
                } else {
                    "deploy it with Helm or `kubectl apply --server-side`"
                }
            ),
        );
    }
}

/// SZ408: Helm records each release revision in a Secret (`sh.helm.release.v1.<release>.v<n>`) whose `release`
/// key is the release (manifest, chart, values) as JSON, gzip-compressed at best compression and base64-encoded;
/// the API server limits a Secret's data to 1 MiB. The manifest alone is a lower bound of that size (the chart's
/// own files come on top, some tens of KB for the samza-job chart), so above the limit Helm is sure to fail.
fn release_size(input: &LintInput, out: &mut Findings) {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    for doc in &input.documents {
        // Writing to memory cannot fail.
        let _ = serde_json::to_writer(&mut gz, &doc.value);
    }
    let compressed = gz.finish().map_or(0, |bytes| bytes.len());
    let encoded = compressed.div_ceil(3) * 4;
    // The finding points at the biggest resource: the first candidate to shrink or move to another release.
    let biggest = input.documents.iter().max_by_key(|doc| doc.raw_len);
    if let Some(biggest) = biggest.filter(|_| encoded > SECRET_LIMIT) {
        out.push(
            &RELEASE_SIZE,
            label(&biggest.value, "samza.apache.org/job"),
            Some(biggest.index),
            None,
            format!(
                "as a Helm release the rendered manifests alone take {encoded} bytes (gzip + base64) of the \
                 release Secret, which the API server limits to {SECRET_LIMIT}: `helm install`/`upgrade` would fail \
                 with `Secret \"sh.helm.release.v1...\" is invalid: data: Too long`; the biggest resource is this \
                 {} ({} bytes)",
                biggest.kind, biggest.raw_len
            ),
        );
    }
}

/// The length of `value` as Go's `encoding/json` writes it (kubectl is written in Go): compact, with `<`, `>`,
/// `&`, U+2028 and U+2029 escaped as `\uXXXX`, and control characters as `\n`-style or `\u00XX` escapes.
fn go_json_len(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(b) => 4 + usize::from(!b),
        // Kubernetes reads a whole float as an integer (1.0 is written 1).
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9e15 => {
                (f as i64).to_string().len()
            }
            _ => n.to_string().len(),
        },
        Value::String(s) => go_string_len(s),
        Value::Array(items) => {
            2 + items.len().saturating_sub(1) + items.iter().map(go_json_len).sum::<usize>()
        }
        Value::Object(map) => {
            2 + map.len().saturating_sub(1)
                + map
                    .iter()
                    .map(|(k, v)| go_string_len(k) + 1 + go_json_len(v))
                    .sum::<usize>()
        }
    }
}

fn go_string_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// What the API server counts (`ValidateConfigMap`): the bytes of the values of `data` and the decoded bytes of
/// the values of `binaryData`; keys do not count.
fn configmap_data_size(value: &Value) -> usize {
    let sum = |field: &str, decoded: bool| {
        value.get(field).and_then(Value::as_object).map_or(0, |m| {
            m.values()
                .map(|v| {
                    let v = v.as_str().unwrap_or("");
                    if decoded {
                        let v = v.trim();
                        v.len() / 4 * 3 - (v.len() - v.trim_end_matches('=').len())
                    } else {
                        v.len()
                    }
                })
                .sum::<usize>()
        })
    };
    sum("data", false) + sum("binaryData", true)
}

/// `selector` (a LabelSelector) selects pods with `labels`.
fn selects(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let labels_ok = match_labels.is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let exprs = selector.get("matchExpressions").and_then(Value::as_array);
    let exprs_ok = exprs.is_none_or(|es| {
        es.iter().all(|e| {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map_or(vec![], |v| v.iter().filter_map(Value::as_str).collect());
            let have = labels.get(key).and_then(Value::as_str);
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => have.is_some_and(|h| values.contains(&h)),
                Some("NotIn") => have.is_none_or(|h| !values.contains(&h)),
                Some("Exists") => have.is_some(),
                Some("DoesNotExist") => have.is_none(),
                _ => false,
            }
        })
    });
    labels_ok && exprs_ok
}

/// An empty selector selects every pod of the namespace in `policy/v1`, and none in `policy/v1beta1`.
fn pdb_selects(pdb: &LintDoc, labels: &serde_json::Map<String, Value>) -> bool {
    let Some(selector) = pdb.value.pointer("/spec/selector") else {
        return false;
    };
    let empty_part = |v: &Value| {
        v.is_null()
            || v.as_object().is_some_and(|o| o.is_empty())
            || v.as_array().is_some_and(|a| a.is_empty())
    };
    if selector
        .as_object()
        .is_none_or(|m| m.values().all(empty_part))
    {
        return pdb.value.get("apiVersion").and_then(Value::as_str) == Some("policy/v1");
    }
    selects(selector, labels)
}

fn same_namespace(a: &LintDoc, b: &LintDoc) -> bool {
    match (&a.namespace, &b.namespace) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

fn pdb(ctx: &JobContext, out: &mut Findings) {
    for doc in ctx.workers() {
        let Some(labels) = PodView::of(doc).and_then(|p| p.labels()) else {
            continue;
        };
        let covered = ctx.input.documents.iter().any(|d| {
            d.kind == "PodDisruptionBudget" && same_namespace(d, doc) && pdb_selects(d, labels)
        });
        if !covered {
            out.push(
                &MISSING_PDB,
                ctx.name(),
                Some(doc.index),
                Some("spec.template.metadata.labels".to_owned()),
                format!(
                    "no PodDisruptionBudget selects the pods of {} {}",
                    doc.kind, doc.name
                ),
            );
        }
    }
}

fn probes(ctx: &JobContext, pod: &PodView, out: &mut Findings) {
    for (path, container) in pod.containers() {
        let missing: Vec<&str> = ["livenessProbe", "readinessProbe"]
            .into_iter()
            .filter(|p| container.get(*p).is_none_or(Value::is_null))
            .collect();
        if !missing.is_empty() {
            let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
            out.push(
                &MISSING_PROBES,
                ctx.name(),
                Some(pod.doc.index),
                Some(path),
                format!("container '{name}' has no {}", missing.join(" and no ")),
            );
        }
    }
}

fn spreads_over_nodes(pod: &PodView) -> bool {
    let anti = pod.get("affinity").and_then(|a| a.get("podAntiAffinity"));
    let has_terms = anti.is_some_and(|a| {
        [
            "requiredDuringSchedulingIgnoredDuringExecution",
            "preferredDuringSchedulingIgnoredDuringExecution",
        ]
        .iter()
        .any(|k| {
            a.get(*k)
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty())
        })
    });
    let spread = pod
        .get("topologySpreadConstraints")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("topologyKey").and_then(Value::as_str) == Some("kubernetes.io/hostname")
            })
        });
    has_terms || spread
}

fn anti_affinity(ctx: &JobContext, out: &mut Findings) {
    let active = match &ctx.job.model {
        Ok(m) => m.containers,
        Err(_) => ctx
            .workers()
            .next()
            .and_then(|d| d.value.pointer("/spec/replicas"))
            .and_then(Value::as_u64)
            .unwrap_or(1) as usize,
    };
    let standby = ctx.job.worker_docs.len() > 1;
    if active < 2 && !standby {
        return;
    }
    for doc in ctx.workers() {
        let Some(pod) = PodView::of(doc) else {
            continue;
        };
        if !spreads_over_nodes(&pod) {
            let why = if standby {
                "active and standby containers may share a node".to_owned()
            } else {
                format!("the job's {active} containers may all land on one node")
            };
            out.push(
                &MISSING_ANTI_AFFINITY,
                ctx.name(),
                Some(doc.index),
                Some(pod.field("affinity.podAntiAffinity")),
                format!(
                    "{why}: no pod anti-affinity or hostname topology spread on {} {}",
                    doc.kind, doc.name
                ),
            );
        }
    }
}

/// The volume mounted at `dir` (or at a parent of it): its name, if any mount covers the directory.
fn mount_covering<'a>(container: &'a Value, dir: &str) -> Option<&'a str> {
    let dir = dir.trim_end_matches('/');
    container
        .get("volumeMounts")?
        .as_array()?
        .iter()
        .filter_map(|m| {
            Some((
                m.get("mountPath")?.as_str()?.trim_end_matches('/'),
                m.get("name")?.as_str()?,
            ))
        })
        .filter(|(path, _)| dir == *path || dir.starts_with(&format!("{path}/")) || path.is_empty())
        .max_by_key(|(path, _)| path.len())
        .map(|(_, name)| name)
}

fn state_volume(ctx: &JobContext, out: &mut Findings) {
    let stores = ctx.job.config.persistent_store_names();
    if stores.is_empty() {
        return;
    }
    let without_changelog: Vec<&str> = stores
        .iter()
        .copied()
        .filter(|s| matches!(ctx.job.config.store_changelog(s), Ok(None)))
        .collect();
    for doc in ctx.workers() {
        let Some(pod) = PodView::of(doc) else {
            continue;
        };
        let Some((path, container)) = pod.samza_container() else {
            continue;
        };
        // LOGGED_STORE_BASE_DIR overrides job.logged.store.base.dir; Samza's default is the working directory.
        let (dir, field) = match env_value(container, "LOGGED_STORE_BASE_DIR") {
            Some(d) => (d.to_owned(), format!("{path}.env[LOGGED_STORE_BASE_DIR]")),
            None => match ctx.config("job.logged.store.base.dir") {
                Some(d) => (d.to_owned(), ctx.config_field("job.logged.store.base.dir")),
                None => {
                    let cwd = container
                        .get("workingDir")
                        .and_then(Value::as_str)
                        .unwrap_or("/");
                    (cwd.to_owned(), format!("{path}.workingDir"))
                }
            },
        };
        let Some(volume) = mount_covering(container, &dir) else {
            out.push(
                &STATE_VOLUME,
                ctx.name(),
                Some(doc.index),
                Some(field),
                format!(
                    "the state of store(s) {} goes to '{dir}', which is on no volume: it sits in the container's \
                     writable layer (or cannot be written on a read-only root filesystem) and is lost on every \
                     restart",
                    stores.join(", ")
                ),
            );
            continue;
        };
        let ephemeral = pod
            .get("volumes")
            .and_then(Value::as_array)
            .is_some_and(|vs| {
                vs.iter().any(|v| {
                    v.get("name").and_then(Value::as_str) == Some(volume)
                        && v.get("emptyDir").is_some()
                })
            });
        if ephemeral && !without_changelog.is_empty() {
            out.push(
                &STATE_VOLUME,
                ctx.name(),
                Some(doc.index),
                Some(pod.field("volumes")),
                format!(
                    "store(s) {} have no changelog and live on emptyDir volume '{volume}': their state is gone \
                     for good when the pod moves",
                    without_changelog.join(", ")
                ),
            );
        }
    }
}

fn grace_period(ctx: &JobContext, out: &mut Findings) {
    let commit_ms = ctx
        .config("task.commit.ms")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(DEFAULT_COMMIT_MS);
    if commit_ms <= 0 {
        return;
    }
    for doc in ctx.workers() {
        let Some(pod) = PodView::of(doc) else {
            continue;
        };
        let grace = pod
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(DEFAULT_GRACE_SECONDS);
        if grace * 1000 < commit_ms {
            out.push(
                &GRACE_PERIOD,
                ctx.name(),
                Some(doc.index),
                Some(pod.field("terminationGracePeriodSeconds")),
                format!(
                    "terminationGracePeriodSeconds is {grace}s{} but task.commit.ms is {commit_ms} ms: a stopped pod \
                     can be killed before its final commit",
                    if pod.get("terminationGracePeriodSeconds").is_none() { " (Kubernetes' default)" } else { "" }
                ),
            );
        }
    }
}
