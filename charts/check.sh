#!/bin/sh
# Checks the charts the way docs/charts.md promises: `helm lint --strict` of every chart with Helm 3 and Helm 4,
# with default values and with every values file of the charts' ci/ folders and examples/; `helm template` of
# each, validated with kubernetes-validate --strict for Kubernetes 1.30 and 1.34; checkov on the default
# samza-job rendering, where only the checks listed in docs/charts.md may fail; and every samza-job rendering
# against the conventions the post-renderer relies on (charts/conventions.py).
#
# Tools come from <repo>/.tools/bin (override with HELM_SAMZA_TOOLS); run scripts/setup to install them.
# HELM3_TEMPLATE_ARGS / HELM4_TEMPLATE_ARGS are added to every `helm template` of samza-job (e.g. the
# post-renderer flags, which differ between Helm 3 and Helm 4); with either set, the model ConfigMap must be in
# the output.
# Each Helm gets a Helm home of its own under a temporary folder.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
tools=${HELM_SAMZA_TOOLS:-$repo/.tools}
for tool in helm3 helm4 kubernetes-validate checkov go-yaml2json; do
  if [ ! -x "$tools/bin/$tool" ]; then
    echo "charts/check.sh: $tools/bin/$tool is missing: run scripts/setup" >&2
    exit 2
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

helm() {
  version=$1
  shift
  home=$work/helm$version
  mkdir -p "$home"
  HELM_CONFIG_HOME=$home/config HELM_DATA_HOME=$home/data HELM_CACHE_HOME=$home/cache HELM_PLUGINS=$home/data/plugins \
    "$tools/bin/helm$version" "$@"
}

# With HELM_SAMZA_BINARY set (and no explicit template arguments), every samza-job rendering goes through that
# helm-samza as post-renderer: its path on Helm 3, the samza-postrender plugin (installed into this run's Helm 4
# home) on Helm 4. Its options come from HELM_SAMZA_* variables, e.g. HELM_SAMZA_OFFLINE and
# HELM_SAMZA_PARTITIONS, which Helm passes on to the post-renderer.
if [ -n "${HELM_SAMZA_BINARY:-}" ] && [ -z "${HELM3_TEMPLATE_ARGS:-}${HELM4_TEMPLATE_ARGS:-}" ]; then
  HELM3_TEMPLATE_ARGS="--post-renderer $HELM_SAMZA_BINARY --post-renderer-args post-render"
  cp -R "$repo/plugins/samza-postrender" "$work/samza-postrender"
  rm -rf "$work/samza-postrender/install-binary" "$work/samza-postrender/bin"
  cp "$repo/scripts/install-binary" "$work/samza-postrender/install-binary"
  helm 4 plugin install "$work/samza-postrender" >"$work/plugin.txt" 2>&1 || { cat "$work/plugin.txt" >&2; exit 1; }
  HELM4_TEMPLATE_ARGS="--post-renderer samza-postrender"
fi

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# chart, then values files (none: default values)
check() {
  chart=$1
  values=${2:-}
  label="$chart${values:+ -f $values}"
  for version in 3 4; do
    set -- "$repo/charts/$chart"
    [ -n "$values" ] && set -- "$@" -f "$repo/$values"
    # The subchart symlinks make Helm log a line about them on stderr; only the exit code matters here.
    helm "$version" lint --strict "$@" >"$work/lint.txt" 2>&1 || { cat "$work/lint.txt" >&2; fail "helm$version lint $label"; }
    out=$work/rendered-$version.yaml
    extra=""
    [ "$chart" = samza-job ] && eval "extra=\${HELM${version}_TEMPLATE_ARGS:-}"
    # shellcheck disable=SC2086 # the extra arguments are meant to be split into words
    helm "$version" template check "$@" --namespace samza-check $extra >"$out" 2>"$work/template.err" \
      || { cat "$work/template.err" >&2; fail "helm$version template $label"; continue; }
    if [ "$chart" = samza-job ]; then
      "$tools/bin/go-yaml2json" <"$out" | python3 "$repo/charts/conventions.py" ${extra:+--post-rendered} >"$work/conventions.txt" \
        || { cat "$work/conventions.txt" >&2; fail "post-renderer conventions: helm$version template $label"; }
    fi
    for kube in 1.30.0 1.34.0; do
      "$tools/bin/kubernetes-validate" --strict -k "$kube" "$out" >"$work/validate.txt" 2>&1 \
        || { grep -v '^INFO' "$work/validate.txt" >&2; fail "kubernetes-validate $kube: helm$version template $label"; }
    done
  done
}

for chart in samza-job kafka zookeeper; do
  check "$chart"
  for values in "$repo/charts/$chart"/ci/*.yaml; do
    [ -e "$values" ] && check "$chart" "${values#"$repo"/}"
  done
done
for values in "$repo"/examples/*.yaml; do
  check samza-job "${values#"$repo"/}"
done

# checkov: the default rendering may fail only CKV_K8S_43 (image digest: the chart cannot know your image's).
# shellcheck disable=SC2086 # the extra arguments are meant to be split into words
helm 4 template check "$repo/charts/samza-job" --namespace samza-check ${HELM4_TEMPLATE_ARGS:-} >"$work/default.yaml" 2>/dev/null
"$tools/bin/checkov" -f "$work/default.yaml" --framework kubernetes --compact --quiet --skip-download -o json >"$work/checkov.json" 2>"$work/checkov.err" || true
unexpected=$(python3 - "$work/checkov.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
reports = report if isinstance(report, list) else [report]
allowed = {"CKV_K8S_43"}
failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
print(" ".join(sorted({c["check_id"] for c in failed} - allowed)))
EOF
)
if [ ! -s "$work/checkov.json" ]; then
  cat "$work/checkov.err" >&2
  fail "checkov produced no report"
fi
[ -z "$unexpected" ] || fail "checkov: unexpected failed checks on the default samza-job rendering: $unexpected"

# checkov on the images' Dockerfiles (the coordinator's, and the Argo CD plugin sidecar's): only CKV_DOCKER_2 (a
# Docker HEALTHCHECK, which Kubernetes ignores; the chart probes /healthz and /readyz, Argo CD talks to its sidecar
# over a socket) may fail. No Docker engine needed: checkov reads the file.
for dockerfile in Dockerfile plugins/argocd/Dockerfile; do
  "$tools/bin/checkov" -f "$repo/$dockerfile" --framework dockerfile --compact --quiet --skip-download -o json >"$work/checkov-dockerfile.json" 2>"$work/checkov-dockerfile.err" || true
  unexpected=$(python3 - "$work/checkov-dockerfile.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
reports = report if isinstance(report, list) else [report]
passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
failed = {c["check_id"] for r in reports for c in r.get("results", {}).get("failed_checks", [])}
print(" ".join(sorted(failed - {"CKV_DOCKER_2"})) if passed else "no-checks-ran")
EOF
)
  [ -s "$work/checkov-dockerfile.json" ] || { cat "$work/checkov-dockerfile.err" >&2; fail "checkov produced no report on $dockerfile"; }
  [ -z "$unexpected" ] || fail "checkov: unexpected failed checks on $dockerfile: $unexpected"
done

if [ "$failures" -gt 0 ]; then
  echo "charts/check.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "charts/check.sh: all chart checks passed"
