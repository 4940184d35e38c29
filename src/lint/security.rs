//! SZ5xx: what an attacker inside a Samza pod, or anyone who can read the namespace, would get: root in the
//! container, broad RBAC, an API token nobody needs, credentials in plain text.

use serde_json::Value;

use super::catalogue::{PLAINTEXT_SECRET, RBAC_WILDCARD, SECURITY_CONTEXT, SERVICE_ACCOUNT_TOKEN};
use super::pod::PodView;
use super::{label, Findings, JobContext, LintInput};

pub(crate) fn check_job(ctx: &JobContext, out: &mut Findings) {
    for doc in ctx.workloads() {
        let Some(pod) = PodView::of(doc) else {
            continue;
        };
        security_context(ctx, &pod, out);
        secret_env(ctx, &pod, out);
    }
    for doc in ctx.workers() {
        if let Some(pod) = PodView::of(doc) {
            token(ctx, &pod, out);
        }
    }
    secret_config(ctx, out);
}

pub(crate) fn check_documents(input: &LintInput, out: &mut Findings) {
    for doc in input
        .documents
        .iter()
        .filter(|d| d.kind == "Role" || d.kind == "ClusterRole")
    {
        let Some(rules) = doc.value.get("rules").and_then(Value::as_array) else {
            continue;
        };
        for (i, rule) in rules.iter().enumerate() {
            for field in ["verbs", "resources", "apiGroups"] {
                let wild = rule
                    .get(field)
                    .and_then(Value::as_array)
                    .is_some_and(|v| v.iter().any(|x| x == "*"));
                if wild {
                    out.push(
                        &RBAC_WILDCARD,
                        label(&doc.value, "samza.apache.org/job"),
                        Some(doc.index),
                        Some(format!("rules[{i}].{field}")),
                        format!("{} {} grants '*' in {field}", doc.kind, doc.name),
                    );
                }
            }
        }
    }
}

fn security_context(ctx: &JobContext, pod: &PodView, out: &mut Findings) {
    let pod_sc = pod.get("securityContext");
    for (path, container) in pod.containers() {
        let sc = container.get("securityContext");
        // A container's own setting wins over the pod's.
        let effective = |key: &str| {
            sc.and_then(|s| s.get(key))
                .or_else(|| pod_sc.and_then(|s| s.get(key)))
        };
        let mut problems = Vec::new();
        let non_root = effective("runAsNonRoot") == Some(&Value::Bool(true))
            || effective("runAsUser")
                .and_then(Value::as_u64)
                .is_some_and(|u| u > 0);
        if !non_root {
            problems.push("may run as root (no runAsNonRoot: true or non-zero runAsUser)");
        }
        if sc.and_then(|s| s.get("allowPrivilegeEscalation")) != Some(&Value::Bool(false)) {
            problems.push("allows privilege escalation (allowPrivilegeEscalation is not false)");
        }
        if sc.and_then(|s| s.get("privileged")) == Some(&Value::Bool(true)) {
            problems.push("runs privileged");
        }
        if !problems.is_empty() {
            let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
            out.push(
                &SECURITY_CONTEXT,
                ctx.name(),
                Some(pod.doc.index),
                Some(format!("{path}.securityContext")),
                format!("container '{name}' {}", problems.join("; ")),
            );
        }
    }
}

fn token(ctx: &JobContext, pod: &PodView, out: &mut Findings) {
    let account = pod
        .get("serviceAccountName")
        .or_else(|| pod.get("serviceAccount"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    // The pod's setting wins over the ServiceAccount's; Kubernetes mounts the token when neither says false.
    let mounted = match pod
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
    {
        Some(b) => b,
        None => ctx
            .input
            .documents
            .iter()
            .find(|d| d.kind == "ServiceAccount" && d.name == account)
            .and_then(|sa| sa.value.get("automountServiceAccountToken"))
            .and_then(Value::as_bool)
            .unwrap_or(true),
    };
    if mounted {
        out.push(
            &SERVICE_ACCOUNT_TOKEN,
            ctx.name(),
            Some(pod.doc.index),
            Some(pod.field("automountServiceAccountToken")),
            format!(
                "the token of service account '{account}' is mounted into the workers of {}, which never call the \
                 Kubernetes API",
                pod.doc.name
            ),
        );
    }
}

/// Key (or env var) names that hold credentials, compared lower-case with `-`/`_` taken as `.`.
fn names_a_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['-', '_'], ".");
    let last = n.rsplit('.').next().unwrap_or(&n);
    n.ends_with("sasl.jaas.config")
        || n.ends_with("sas.token")
        || n.ends_with("sas.key")
        || n.ends_with("account.key")
        || n.ends_with("secret.key")
        || n.ends_with("api.key")
        || n.ends_with("access.key")
        || n.ends_with("secret.access.key")
        || [
            "password",
            "passwd",
            "secret",
            "secretkey",
            "token",
            "apikey",
            "credentials",
        ]
        .contains(&last)
}

/// A value that is a reference rather than the secret: empty, a config-provider placeholder (`${file:...}`,
/// `${env:...}`), or a JAAS config whose password is such a placeholder.
fn is_reference(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || (v.starts_with("${") && v.ends_with('}')) {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if lower.contains("loginmodule") {
        // Only the password is secret in a JAAS line; a username alone is fine.
        return match lower.find("password=") {
            None => true,
            Some(at) => v[at + "password=".len()..]
                .trim_start_matches('"')
                .starts_with("${"),
        };
    }
    false
}

fn secret_config(ctx: &JobContext, out: &mut Findings) {
    for (key, value) in &ctx.job.config {
        if names_a_secret(key) && !is_reference(value) {
            out.push(
                &PLAINTEXT_SECRET,
                ctx.name(),
                ctx.job.config_doc,
                Some(ctx.config_field(key)),
                format!(
                    "'{key}' holds a literal credential in the job's ConfigMap (value not shown)"
                ),
            );
        }
    }
}

fn secret_env(ctx: &JobContext, pod: &PodView, out: &mut Findings) {
    for (path, container) in pod.containers() {
        let Some(env) = container.get("env").and_then(Value::as_array) else {
            continue;
        };
        for entry in env {
            let (Some(name), Some(value)) = (
                entry.get("name").and_then(Value::as_str),
                entry.get("value").and_then(Value::as_str),
            ) else {
                continue;
            };
            if names_a_secret(name) && !is_reference(value) && !value.starts_with("$(") {
                out.push(
                    &PLAINTEXT_SECRET,
                    ctx.name(),
                    Some(pod.doc.index),
                    Some(format!("{path}.env[{name}]")),
                    format!("env '{name}' holds a literal credential (value not shown); use valueFrom.secretKeyRef"),
                );
            }
        }
    }
}
