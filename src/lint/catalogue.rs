//! The table of every lint check: id, slug, severity, the one-line reason and how to fix it.
//!
//! One table feeds the checks (which push findings by referring to an entry), the SARIF rule list, the JUnit
//! test cases and docs/lint.md, so an id can never mean two things. Ids are grouped by area: SZ1xx Samza
//! config, SZ2xx job model, SZ3xx resources, SZ4xx operations, SZ5xx security. Ids are never reused.

use super::Severity;

/// One lint check.
#[derive(Debug, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    /// Why it matters, in one line.
    pub reason: &'static str,
    /// What to change.
    pub fix: &'static str,
}

impl Check {
    /// True when `name` is this check's id or slug (case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        let name = name.trim();
        name.eq_ignore_ascii_case(self.id) || name.eq_ignore_ascii_case(self.slug)
    }
}

/// Looks a check up by id or slug.
pub fn find_check(name: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.is_named(name))
}

macro_rules! checks {
    ($($konst:ident = $id:literal $slug:literal $sev:ident, $reason:literal, $fix:literal;)*) => {
        $(pub(crate) const $konst: Check = Check {
            id: $id, slug: $slug, severity: Severity::$sev, reason: $reason, fix: $fix,
        };)*
        /// Every check, in id order.
        pub const CHECKS: &[Check] = &[$($konst),*];
    };
}

checks! {
    MISSING_REQUIRED_KEY = "SZ101" "missing-required-key" Error,
        "Samza refuses to start a job without this config key.",
        "Set the key in the job config (values `job`, `config` or `configFile` of the samza-job chart).";
    UNKNOWN_KEY = "SZ102" "unknown-key" Warning,
        "A config key that Samza does not read but that is spelled almost like one it does: most likely a typo, silently ignored.",
        "Rename the key to the suggested one; if it really is a key of your own, disable the check for this job.";
    UNDEFINED_SYSTEM = "SZ103" "undefined-system" Error,
        "An input, output or internal stream names a system that no `systems.<system>.samza.factory` defines; Samza fails at start.",
        "Define the system (`systems.<system>.samza.factory=...`) or fix the system part of the stream name.";
    CHANGELOG_WITHOUT_SYSTEM = "SZ104" "changelog-without-system" Error,
        "A store's changelog has no `system.` prefix and neither `job.changelog.system` nor `job.default.system` is set; Samza cannot create the changelog.",
        "Write the changelog as `system.stream`, or set `job.changelog.system` or `job.default.system`.";
    UNDEFINED_SERDE = "SZ105" "undefined-serde" Error,
        "A store, system or stream uses a serde name that no `serializers.registry.<name>.class` defines; the container fails at start.",
        "Register the serde (`serializers.registry.<name>.class=<SerdeFactory>`) or fix the name.";
    UNKNOWN_GROUPER = "SZ106" "unknown-grouper" Error,
        "The grouper factory is not one Samza ships (or sits in the wrong key); the job fails, and helm-samza cannot plan it.",
        "Use one of Samza's grouper factories for that key (see the message).";
    MODEL_REFUSED = "SZ201" "model-refused" Error,
        "The job model cannot be computed: Samza would refuse it (for example more containers than tasks), or the config asks for what the targeted --samza-version lacks; the job never starts.",
        "Change what the message names: usually lower `job.container.count` to at most the number of tasks.";
    IDLE_CONTAINERS = "SZ202" "idle-containers" Warning,
        "Containers without tasks: pods that cost resources and do no work, or a container count the job silently does not get.",
        "Lower `job.container.count` to the number of containers that get tasks.";
    UNEVEN_CONTAINERS = "SZ203" "uneven-containers" Warning,
        "Tasks are spread unevenly: the busiest container has at least 25% more tasks than the least busy one and sets the job's pace.",
        "Pick a container count that divides the number of tasks (the message lists some).";
    CHANGELOG_TOPIC_PARTITIONS = "SZ204" "changelog-topic-partitions" Error,
        "A KafkaTopic for a changelog has a partition count other than the job model's `max-change-log-stream-partitions`; Samza refuses to start on a mismatch.",
        "Set the KafkaTopic's `spec.partitions` to the model's count (the samza-job chart's Strimzi topics do this with a template).";
    CHANGELOG_PARTITIONS_EXCEED_TASKS = "SZ205" "changelog-partitions-exceed-tasks" Warning,
        "The changelog topics have more partitions than the job has tasks: state of tasks that no longer exist stays behind and the task set changed under a stateful job.",
        "Check that the change of inputs or grouper was intended; the unused partitions are harmless but never read again.";
    UNSAFE_CHANGE = "SZ206" "unsafe-change" Error,
        "Compared with the job's previous state (the lock, which holds Samza's stored mapping), the change would endanger its state: the safety gate of `helm samza plan` and the post-renderer refuses it at deploy time.",
        "Run `helm samza plan` to see the whole change and do what the message says; deploy it on purpose with the gate open (`--allow-unsafe`) only after moving the state yourself.";
    HEAP_EXCEEDS_LIMIT = "SZ301" "heap-exceeds-limit" Error,
        "The JVM's maximum heap (`-Xmx`) is at or above the container's memory limit: the pod is OOM-killed once the heap fills.",
        "Lower `-Xmx` in `task.opts` (or JAVA_OPTS) or raise the memory limit; leave at least a quarter of the limit for off-heap memory.";
    HEAP_HEADROOM = "SZ302" "heap-headroom" Warning,
        "Less than max(25% of the memory limit, 256 MiB) is left beside the heap for metaspace, threads, direct buffers and RocksDB.",
        "Lower `-Xmx` or raise the memory limit so the headroom fits.";
    MISSING_RESOURCES = "SZ303" "missing-resources" Warning,
        "A container without CPU and memory requests or a memory limit: it is scheduled blindly and can be evicted first or starve its node.",
        "Set `resources.requests.cpu`, `resources.requests.memory` and `resources.limits.memory`.";
    COORDINATOR_MEMORY = "SZ304" "coordinator-memory" Warning,
        "The coordinator's memory limit is below what it needs for this job model: it holds the model's JSON, reads it (or, for a model carried as its inputs, computes it) and writes the coordinator stream from it, and is OOM-killed before it serves the model.",
        "Raise the coordinator's memory limit (samza-job chart: `coordinator.resources.limits.memory`) to at least the size the finding names.";
    MISSING_PDB = "SZ401" "missing-pdb" Warning,
        "No PodDisruptionBudget covers the workers: a node drain can stop every container of the job at once.",
        "Add a PodDisruptionBudget whose selector matches the worker pods (the samza-job chart: `podDisruptionBudget.enabled`).";
    MISSING_PROBES = "SZ402" "missing-probes" Warning,
        "A container without liveness or readiness probe: a hung JVM is never restarted, or a pod counts as ready before it is.",
        "Add `livenessProbe` and `readinessProbe` (and a `startupProbe` long enough for a state restore).";
    MISSING_ANTI_AFFINITY = "SZ403" "missing-anti-affinity" Warning,
        "Several containers (or active and standby containers) may be scheduled on one node, and one node failure then takes them all.",
        "Add a pod anti-affinity or a topology spread constraint on `kubernetes.io/hostname`.";
    STATE_VOLUME = "SZ404" "state-volume" Warning,
        "A stateful job whose store directory is not on a volume, or whose stores without changelog live on an emptyDir: local state is lost or unwritable.",
        "Mount a persistent volume (or at least an emptyDir for changelogged stores) at LOGGED_STORE_BASE_DIR.";
    GRACE_PERIOD = "SZ405" "grace-period" Warning,
        "`terminationGracePeriodSeconds` is shorter than `task.commit.ms`: a pod stopped mid-interval is killed before Samza commits and flushes its stores.",
        "Raise `terminationGracePeriodSeconds` to at least `task.commit.ms` plus the time a store flush takes.";
    CONFIGMAP_SIZE = "SZ406" "configmap-size" Error,
        "A ConfigMap holds more than 1 MiB of data; the API server rejects it.",
        "Move large data out of the ConfigMap (a volume, an image, a compressed file).";
    CLIENT_SIDE_APPLY_SIZE = "SZ407" "client-side-apply-size" Warning,
        "A resource too big for client-side `kubectl apply` (and tools applying that way, e.g. Argo CD's default sync): its copy in the `kubectl.kubernetes.io/last-applied-configuration` annotation would exceed the API server's 262144-byte annotation limit, so that apply fails; `helm install`/`upgrade` and server-side apply are not affected.",
        "Deploy with Helm, or apply server-side (`kubectl apply --server-side`, Argo CD `ServerSideApply=true`); or shrink the resource (fewer partitions per job, a smaller config).";
    RELEASE_SIZE = "SZ408" "release-size" Error,
        "The rendered release is too big for Helm to record: Helm keeps each release revision gzip-compressed and base64-encoded in one Secret, which the API server limits to 1 MiB, so `helm install`/`upgrade` fails after rendering.",
        "Split the jobs over several releases (one release per job), or shrink the models (fewer partitions per job); or keep releases in Helm's SQL storage (`HELM_DRIVER=sql`).";
    SECURITY_CONTEXT = "SZ501" "security-context" Warning,
        "A container may run as root, escalate privileges or run privileged.",
        "Set `runAsNonRoot: true`, `allowPrivilegeEscalation: false` and no `privileged: true` in the pod or container securityContext.";
    RBAC_WILDCARD = "SZ502" "rbac-wildcard" Warning,
        "A Role or ClusterRole grants `*` (every verb, resource or API group): far more than any Samza job needs.",
        "List the verbs, resources and API groups explicitly.";
    SERVICE_ACCOUNT_TOKEN = "SZ503" "service-account-token" Warning,
        "A Kubernetes API token is mounted into pods that never call the API; whoever gets code execution in the job gets the token.",
        "Set `automountServiceAccountToken: false` on the pod spec or on its ServiceAccount.";
    PLAINTEXT_SECRET = "SZ504" "plaintext-secret" Error,
        "A credential is written in plain text into a ConfigMap or a container env value, readable by anyone who can read the namespace's ConfigMaps and pods.",
        "Keep it in a Secret (env `valueFrom.secretKeyRef`, a mounted file) and reference it, e.g. a Kafka config provider `${file:/path:key}`.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slugs_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in CHECKS {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(seen.insert(c.slug), "duplicate slug {}", c.slug);
            assert!(c.id.len() == 5 && c.id.starts_with("SZ"), "bad id {}", c.id);
            assert!(
                c.slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "bad slug {}",
                c.slug
            );
            assert!(
                !c.reason.contains('\n') && c.reason.ends_with('.'),
                "reason of {} is not one sentence line",
                c.id
            );
        }
        let ids: Vec<_> = CHECKS.iter().map(|c| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "CHECKS must be in id order");
    }

    #[test]
    fn lookup_by_id_or_slug_ignores_case() {
        assert_eq!(
            find_check("sz301").map(|c| c.slug),
            Some("heap-exceeds-limit")
        );
        assert_eq!(find_check("Heap-Headroom").map(|c| c.id), Some("SZ302"));
        assert_eq!(find_check("SZ999"), None);
    }
}
