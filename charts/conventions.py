"""Checks a samza-job rendering (one JSON document per line on stdin, from go-yaml2json) against the conventions
the helm-samza post-renderer relies on; see docs/charts.md. Prints one line per violation and exits 1 if any.
With --post-rendered, the model ConfigMap must be there (added by the post-renderer) instead of absent."""
import json
import sys

JOB, ROLE, STANDBY = "samza.apache.org/job", "samza.apache.org/role", "samza.apache.org/standby-replica"
post_rendered = "--post-rendered" in sys.argv[1:]
docs = [json.loads(line) for line in sys.stdin if line.strip() and line.strip() != "null"]
problems = []


def labels(doc):
    return doc.get("metadata", {}).get("labels") or {}


def name(doc):
    return f'{doc["kind"]}/{doc["metadata"]["name"]}'


job_docs = [d for d in docs if not labels(d).get("app.kubernetes.io/name", "samza-job") in ("kafka", "zookeeper")]
jobs = {labels(d).get(JOB) for d in job_docs}
if len(jobs) != 1 or None in jobs:
    problems.append(f"every resource of the job needs one {JOB} value, found {sorted(map(str, jobs))}")
problems += [f"{name(d)} has no {ROLE} label" for d in job_docs if ROLE not in labels(d)]

configs = [d for d in job_docs if d["kind"] == "ConfigMap" and labels(d).get(ROLE) == "config"]
if len(configs) != 1:
    problems.append(f"expected one ConfigMap with role config, found {len(configs)}")
else:
    config = configs[0]
    data = config.get("data") or {}
    if ("job.properties" in data) == ("job.yaml" in data):
        problems.append("the config ConfigMap needs exactly one of data.job.properties and data.job.yaml")
    if "job.properties" in data:
        keys = [line.split("=", 1)[0] for line in data["job.properties"].splitlines() if line]
        if keys != sorted(keys):
            problems.append("job.properties is not sorted by key")
    model = (config["metadata"].get("annotations") or {}).get("samza.apache.org/model-configmap")
    if not model:
        problems.append("the config ConfigMap lacks the samza.apache.org/model-configmap annotation")
    else:
        found = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == model]
        if found and not post_rendered:
            problems.append(f"the chart renders the model ConfigMap {model} itself")
        if post_rendered and not any(
            "job-model.json" in (d.get("data") or {}) or "job-model.json.gz" in (d.get("binaryData") or {})
            for d in found
        ):
            problems.append(f"the post-renderer did not add the model ConfigMap {model}")

workers = [d for d in job_docs if d["kind"] == "StatefulSet" and labels(d).get(ROLE) == "worker"]
active = [d for d in workers if STANDBY not in labels(d)]
standby = sorted(labels(d)[STANDBY] for d in workers if STANDBY in labels(d))
if len(active) != 1:
    problems.append(f"expected one active worker StatefulSet, found {len(active)}")
if standby != [str(r) for r in range(len(standby))]:
    problems.append(f"standby replicas must be numbered 0..RF-2, found {standby}")
for sts in workers:
    spec = sts["spec"]["template"]["spec"]
    env = {e["name"]: e for e in spec["containers"][0].get("env", [])}
    index = env.get("POD_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    if index != "metadata.labels['apps.kubernetes.io/pod-index']":
        problems.append(f"{name(sts)}: POD_INDEX must come from the pod-index label")
    replica = labels(sts).get(STANDBY)
    want = "$(POD_INDEX)" if replica is None else f"$(POD_INDEX)-{replica}"
    if env.get("SAMZA_CONTAINER_ID", {}).get("value") != want:
        problems.append(f"{name(sts)}: SAMZA_CONTAINER_ID must be {want}")
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{name(sts)}: workers must not mount a service account token")
    for other in workers:
        selector = sts["spec"]["selector"]["matchLabels"]
        pod_labels = other["spec"]["template"]["metadata"]["labels"]
        if other is not sts and all(pod_labels.get(k) == v for k, v in selector.items()):
            problems.append(f"{name(sts)}'s selector also matches the pods of {name(other)}")

coordinators = [d for d in job_docs if d["kind"] == "Deployment" and labels(d).get(ROLE) == "coordinator"]
if len(coordinators) != 1:
    problems.append(f"expected one coordinator Deployment, found {len(coordinators)}")
elif configs:
    model = (configs[0]["metadata"].get("annotations") or {}).get("samza.apache.org/model-configmap")
    volumes = coordinators[0]["spec"]["template"]["spec"].get("volumes", [])
    if not any((v.get("configMap") or {}).get("name") == model for v in volumes):
        problems.append("the coordinator does not mount the model ConfigMap")

for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
