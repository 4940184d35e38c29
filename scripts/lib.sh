# shellcheck shell=bash
# Shell functions shared by scripts/demo and anyone driving helm-samza by hand: a Tansu broker on a free loopback
# port, project-local Helm homes for Helm 3 and Helm 4 with our plugins installed, and the post-renderer flags for
# each version. Source it from bash (`source scripts/lib.sh`); it needs the tools from scripts/setup.
#
# Everything lives under <repo>/.work (ignored), so nothing touches the user's own Helm config or plugins.

SAMZA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SAMZA_TOOLS=${HELM_SAMZA_TOOLS:-$SAMZA_REPO/.tools}
SAMZA_WORK=${SAMZA_WORK:-$SAMZA_REPO/.work}

samza_die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# samza_tool NAME -> path of an installed tool, or exit telling the user to run scripts/setup.
samza_tool() {
    local path=$SAMZA_TOOLS/bin/$1
    [[ -x $path ]] || samza_die "missing $1: run scripts/setup"
    echo "$path"
}

# free_port -> a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_broker [ADVERTISED_URL]
# Starts Tansu (in-memory storage) on a free loopback port and waits until it accepts connections.
# Sets BROKER_PID, BROKER_PORT and BROKER (host:port, what Kafka clients take as bootstrap servers).
# ADVERTISED_URL defaults to the listener; pass e.g. tcp://127.0.0.1:9 to imitate `kubectl port-forward`, where
# the advertised address is unreachable and only the bootstrap address works.
# Stop it with stop_broker (install `trap stop_broker EXIT` right after starting it).
start_broker() {
    local tansu log
    tansu=$(samza_tool tansu)
    BROKER_PORT=$(free_port)
    BROKER=127.0.0.1:$BROKER_PORT
    mkdir -p "$SAMZA_WORK"
    log=$SAMZA_WORK/tansu-$BROKER_PORT.log
    # Tansu also reads LISTENER_URL, STORAGE_ENGINE... from the environment: every setting is passed explicitly.
    "$tansu" broker \
        --listener-url "tcp://$BROKER" \
        --advertised-listener-url "${1:-tcp://$BROKER}" \
        --storage-engine memory://tansu/ \
        >"$log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$BROKER_PORT") 2>/dev/null; then
            return 0
        fi
        kill -0 "$BROKER_PID" 2>/dev/null || {
            cat "$log" >&2
            samza_die "tansu exited before accepting connections on $BROKER"
        }
        sleep 0.1
    done
    stop_broker
    samza_die "tansu did not accept connections on $BROKER within 10s (log: $log)"
}

# stop_broker: stops the broker start_broker started (by its process id), if it is still running.
stop_broker() {
    if [[ -n ${BROKER_PID:-} ]]; then
        kill "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
        BROKER_PID=
    fi
}

# create_topic NAME PARTITIONS: creates a topic on the broker start_broker started.
create_topic() {
    [[ -n ${BROKER:-} ]] || samza_die "create_topic $1: no broker; call start_broker first"
    "$(samza_tool tansu)" topic create "$1" --partitions "$2" --broker "tcp://$BROKER" >/dev/null ||
        samza_die "could not create topic $1 with $2 partitions on $BROKER"
}

# helm_home_for 3|4 -> the project-local Helm home for that version (created if needed).
helm_home_for() {
    local home=$SAMZA_WORK/helm$1
    mkdir -p "$home/config" "$home/data/plugins" "$home/cache"
    echo "$home"
}

# samza_helm 3|4 ARGS... : runs that Helm version against its project-local home.
# Helm 4 installs plugins under $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says, so both point there.
samza_helm() {
    local version=$1 home helm
    shift
    helm=$(samza_tool "helm$version")
    home=$(helm_home_for "$version")
    HELM_CONFIG_HOME=$home/config HELM_DATA_HOME=$home/data HELM_CACHE_HOME=$home/cache \
        HELM_PLUGINS=$home/data/plugins "$helm" "$@"
}

# install_plugins 3|4 [BINARY]: (re)installs our plugins from this checkout into that version's home:
# `samza` on both, `samza-postrender` on Helm 4 (Helm 3 cannot load postrenderer/v1 plugins). The install hook
# links BINARY (default: target/release/helm-samza) as the plugins' bin/helm-samza.
install_plugins() {
    local version=$1 binary=${2:-${CARGO_TARGET_DIR:-$SAMZA_REPO/target}/release/helm-samza}
    [[ -x $binary ]] || samza_die "no helm-samza binary at $binary: run cargo build --release"
    local plugins=(samza)
    [[ $version == 4 ]] && plugins+=(samza-postrender)
    local name
    for name in "${plugins[@]}"; do
        samza_helm "$version" plugin uninstall "$name" >/dev/null 2>&1 || true
    done
    HELM_SAMZA_BINARY=$binary samza_helm "$version" plugin install "$SAMZA_REPO" >/dev/null ||
        samza_die "helm$version plugin install $SAMZA_REPO failed"
    if [[ $version == 4 ]]; then
        HELM_SAMZA_BINARY=$binary samza_helm 4 plugin install "$SAMZA_REPO/plugins/samza-postrender" >/dev/null ||
            samza_die "helm4 plugin install $SAMZA_REPO/plugins/samza-postrender failed"
    fi
}

# post_renderer_flags 3|4 -> the flags that run our post-renderer, one per line (read them with mapfile).
# Helm 3 takes an executable path and needs `post-render` as an argument; Helm 4 takes the plugin name and the
# plugin passes `post-render` itself. Extra --post-renderer-args go after these on both.
post_renderer_flags() {
    case $1 in
    # Helm names a plugin installed from a local directory after that directory.
    3) printf '%s\n' --post-renderer "$(helm_home_for 3)/data/plugins/${SAMZA_REPO##*/}/bin/helm-samza" \
        --post-renderer-args post-render ;;
    4) printf '%s\n' --post-renderer samza-postrender ;;
    *) samza_die "post_renderer_flags: Helm $1? only 3 and 4" ;;
    esac
}

# validate_manifests FILE [KUBE_VERSION]: checks every document against the official Kubernetes schemas
# (kubernetes-validate --strict: unknown fields fail too). Prints only failures; returns non-zero on any.
validate_manifests() {
    local out
    if ! out=$("$(samza_tool kubernetes-validate)" --strict -k "${2:-1.34.0}" "$1" 2>&1); then
        echo "$out" | grep -v '^INFO' >&2
        return 1
    fi
}

# checkov_summary FILE -> "checkov: N passed, M failed" for the CKV_K8S_* checks on FILE.
checkov_summary() {
    "$(samza_tool checkov)" -f "$1" --framework kubernetes -o json --quiet 2>/dev/null |
        python3 -c 'import json, sys
report = json.load(sys.stdin)
summary = (report[0] if isinstance(report, list) else report)["summary"]
print("checkov: %d passed, %d failed" % (summary["passed"], summary["failed"]))'
}
