{{/*
Names. One release = one Samza job, so resources are named after the release (like most charts) and
labelled with the Samza job name, which the helm-samza post-renderer uses to group them.
*/}}
{{- define "samza-job.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "samza-job.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Resource names get suffixes of up to 18 characters ("-worker-standby-NN"). A StatefulSet's name must stay
within 52 characters, because Kubernetes labels its pods with controller-revision-hash=<name>-<10-character
hash> and label values end at 63; so the base stays <= 34.
*/}}
{{- define "samza-job.base" -}}
{{- include "samza-job.fullname" . | trunc 34 | trimSuffix "-" -}}
{{- end -}}

{{- define "samza-job.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "samza-job.base" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
A config value as Samza sees it: a string. YAML numbers reach templates as float64, whose default
formatting would turn 536870912 into 5.36870912e+08.
*/}}
{{- define "samza-job.str" -}}
{{- if kindIs "float64" . -}}
{{- if eq . (float64 (int64 .)) -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else if kindIs "invalid" . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* Flattens nested maps of `config` into dotted Samza keys: (dict "prefix" "" "map" m "out" out). */}}
{{- define "samza-job.flatten" -}}
{{- $prefix := .prefix -}}
{{- $out := .out -}}
{{- range $k, $v := .map -}}
{{- $key := ternary $k (printf "%s.%s" $prefix $k) (eq $prefix "") -}}
{{- if kindIs "map" $v -}}
{{- include "samza-job.flatten" (dict "prefix" $key "map" $v "out" $out) -}}
{{- else if kindIs "slice" $v -}}
{{- $items := list -}}
{{- range $v }}{{ $items = append $items (include "samza-job.str" .) }}{{ end -}}
{{- $_ := set $out $key (join "," $items) -}}
{{- else if not (kindIs "invalid" $v) -}}
{{- $_ := set $out $key (include "samza-job.str" $v) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Parses Java properties text into (dict "text" t "out" out): comments (# !), blank lines, key=value, key:value,
key value, and lines continued with a trailing backslash. Escaped separators inside keys are not supported.
*/}}
{{- define "samza-job.parseProperties" -}}
{{- $out := .out -}}
{{- $pending := "" -}}
{{- range $raw := splitList "\n" (replace "\r" "" .text) -}}
{{- $line := trim $raw -}}
{{- if $pending -}}
{{- $line = printf "%s%s" $pending $line -}}
{{- $pending = "" -}}
{{- else if or (eq $line "") (hasPrefix "#" $line) (hasPrefix "!" $line) -}}
{{- $line = "" -}}
{{- end -}}
{{- if and $line (regexMatch "(^|[^\\\\])(\\\\\\\\)*\\\\$" $line) -}}
{{- $pending = trimSuffix "\\" $line -}}
{{- else if $line -}}
{{- $parts := regexSplit "\\s*[=:]\\s*|\\s+" $line 2 -}}
{{- $value := ternary (index $parts 1) "" (eq (len $parts) 2) -}}
{{- $_ := set $out (index $parts 0) (replace "\\\\" "\\" $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The bootstrap servers of the job's Kafka system. */}}
{{- define "samza-job.bootstrapServers" -}}
{{- if .Values.job.bootstrapServers -}}
{{- .Values.job.bootstrapServers -}}
{{- else if .Values.kafka.enabled -}}
{{- $kafka := dict "Values" .Values.kafka "Release" .Release "Chart" (dict "Name" "kafka") -}}
{{- printf "%s.%s.svc:%v" (include "kafka.fullname" $kafka) .Release.Namespace (.Values.kafka.clientPort | default 9092) -}}
{{- else -}}
kafka:9092
{{- end -}}
{{- end -}}

{{/*
The job's Samza config as JSON (string -> string): friendly values < configFile < config.
Everything else (labels, replicas, JVM options, topics) is derived from this one map, so a YARN properties
file and the friendly values lead to the same resources.
*/}}
{{- define "samza-job.config" -}}
{{- $c := dict -}}
{{- $j := .Values.job -}}
{{- with $j.name }}{{ $_ := set $c "job.name" (include "samza-job.str" .) }}{{ end -}}
{{- with $j.id }}{{ $_ := set $c "job.id" (include "samza-job.str" .) }}{{ end -}}
{{- with $j.inputs }}{{ $_ := set $c "task.inputs" (join "," .) }}{{ end -}}
{{- with $j.taskClass }}{{ $_ := set $c "task.class" . }}{{ end -}}
{{- with $j.appClass }}{{ $_ := set $c "app.class" . }}{{ end -}}
{{- with $j.defaultSystem }}{{ $_ := set $c "job.default.system" . }}{{ end -}}
{{- with $j.containerCount }}{{ $_ := set $c "job.container.count" (include "samza-job.str" .) }}{{ end -}}
{{- if gt (int ($j.standbyReplicationFactor | default 1)) 1 -}}
{{- $_ := set $c "job.standbytasks.replication.factor" (include "samza-job.str" $j.standbyReplicationFactor) -}}
{{- end -}}
{{- with $j.memoryMb }}{{ $_ := set $c "cluster-manager.container.memory.mb" (include "samza-job.str" .) }}{{ end -}}
{{- with $j.cpuCores }}{{ $_ := set $c "cluster-manager.container.cpu.cores" (include "samza-job.str" .) }}{{ end -}}
{{- with $j.taskOpts }}{{ $_ := set $c "task.opts" . }}{{ end -}}
{{- with $j.kafkaSystem -}}
{{- $sys := . -}}
{{- $servers := include "samza-job.bootstrapServers" $ -}}
{{- $_ := set $c (printf "systems.%s.samza.factory" $sys) "org.apache.samza.system.kafka.KafkaSystemFactory" -}}
{{- $_ := set $c (printf "systems.%s.consumer.bootstrap.servers" $sys) $servers -}}
{{- $_ := set $c (printf "systems.%s.producer.bootstrap.servers" $sys) $servers -}}
{{- with $j.defaultReplicationFactor -}}
{{- $_ := set $c (printf "systems.%s.default.stream.replication.factor" $sys) (include "samza-job.str" .) -}}
{{- end -}}
{{- /* Secured Kafka: what the Java client needs besides the secrets, which never enter the config. */ -}}
{{- with $j.kafkaSecurity -}}
{{- range $client := list "consumer" "producer" -}}
{{- with $.Values.job.kafkaSecurity.protocol -}}
{{- $_ := set $c (printf "systems.%s.%s.security.protocol" $sys $client) . -}}
{{- end -}}
{{- with $.Values.job.kafkaSecurity.sasl.mechanism -}}
{{- $_ := set $c (printf "systems.%s.%s.sasl.mechanism" $sys $client) . -}}
{{- end -}}
{{- if $.Values.job.kafkaSecurity.tls.caSecret -}}
{{- $_ := set $c (printf "systems.%s.%s.ssl.truststore.type" $sys $client) "PEM" -}}
{{- $_ := set $c (printf "systems.%s.%s.ssl.truststore.location" $sys $client) (printf "/etc/samza/kafka-ca/%s" $.Values.job.kafkaSecurity.tls.caKey) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $j.checkpoints -}}
{{- $_ := set $c "task.checkpoint.factory" "org.apache.samza.checkpoint.kafka.KafkaCheckpointManagerFactory" -}}
{{- $_ := set $c "task.checkpoint.system" $sys -}}
{{- end -}}
{{- if $.Values.zookeeper.enabled -}}
{{- $zk := dict "Values" $.Values.zookeeper "Release" $.Release "Chart" (dict "Name" "zookeeper") -}}
{{- $_ := set $c "job.coordinator.zk.connect" (printf "%s.%s.svc:%v" (include "zookeeper.fullname" $zk) $.Release.Namespace ($.Values.zookeeper.clientPort | default 2181)) -}}
{{- end -}}
{{- end -}}
{{- range $name, $serde := $j.serializers -}}
{{- $_ := set $c (printf "serializers.registry.%s.class" $name) $serde -}}
{{- end -}}
{{- range $store, $keys := $j.stores -}}
{{- $_ := set $c (printf "stores.%s.factory" $store) "org.apache.samza.storage.kv.RocksDbKeyValueStorageEngineFactory" -}}
{{- include "samza-job.flatten" (dict "prefix" (printf "stores.%s" $store) "map" ($keys | default dict) "out" $c) -}}
{{- end -}}
{{- $o := dict -}}
{{- with .Values.configFile -}}
{{- include "samza-job.parseProperties" (dict "text" . "out" $o) -}}
{{- end -}}
{{- include "samza-job.flatten" (dict "prefix" "" "map" (.Values.config | default dict) "out" $o) -}}
{{- /* Samza reads these keys with a deprecated fallback (yarn.*); a friendly default must not hide a fallback
       key of a migrated file, since Samza would then ignore it. */ -}}
{{- range $primary, $fallback := dict "job.container.count" "yarn.container.count" "cluster-manager.container.memory.mb" "yarn.container.memory.mb" "cluster-manager.container.cpu.cores" "yarn.container.cpu.cores" -}}
{{- if and (hasKey $o $fallback) (not (hasKey $o $primary)) -}}
{{- $_ := unset $c $primary -}}
{{- end -}}
{{- end -}}
{{- toJson (merge $o $c) -}}
{{- end -}}

{{/* The Samza job name as a DNS label: the value of samza.apache.org/job. */}}
{{- define "samza-job.jobName" -}}
{{- $c := include "samza-job.config" . | fromJson -}}
{{- $name := index $c "job.name" | default (index $c "app.name") | default "" -}}
{{- if not $name -}}
{{- fail "job.name is not set: set job.name in values, in configFile or in config" -}}
{{- end -}}
{{- regexReplaceAll "[^a-z0-9-]+" (lower $name) "-" | trunc 63 | trimAll "-" -}}
{{- end -}}

{{- define "samza-job.selectorLabels" -}}
app.kubernetes.io/name: {{ include "samza-job.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of every resource: (dict "ctx" $ "role" role "component" component). */}}
{{- define "samza-job.labels" -}}
{{ include "samza-job.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
samza.apache.org/job: {{ include "samza-job.jobName" .ctx }}
samza.apache.org/role: {{ .role }}
{{- /* commonLabels: on every object and pod; the chart's own labels above win (a repeated key is left out). */}}
{{- $own := list "helm.sh/chart" "app.kubernetes.io/version" "app.kubernetes.io/managed-by" "samza.apache.org/job" "samza.apache.org/role" "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/component" }}
{{- range $key, $value := .ctx.Values.commonLabels }}
{{- if not (has $key $own) }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* commonAnnotations, as lines for a metadata.annotations block (empty when there are none). */}}
{{- define "samza-job.commonAnnotations" -}}
{{- $annotations := dict -}}
{{- range $key, $value := .Values.commonAnnotations }}{{ $_ := set $annotations $key (toString $value) }}{{ end -}}
{{- with $annotations }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{- define "samza-job.image" -}}
{{- $tag := "" -}}
{{- if not (kindIs "invalid" .tag) }}{{ $tag = toString .tag }}{{ end -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else if $tag -}}
{{- printf "%s:%s" .repository $tag -}}
{{- else -}}
{{- /* No tag: the repository alone (the registry's latest), never "repository:". */ -}}
{{- .repository -}}
{{- end -}}
{{- end -}}

{{- define "samza-job.coordinatorUrl" -}}
{{- printf "http://%s-coordinator.%s.svc:%v/" (include "samza-job.base" .) .Release.Namespace .Values.coordinator.port -}}
{{- end -}}

{{- define "samza-job.modelConfigMap" -}}
{{- printf "%s-model" (include "samza-job.base" .) -}}
{{- end -}}

{{/*
The KafkaTopic API: strimzi.apiVersion when set; else kafka.strimzi.io/v1 when the cluster serves it (Strimzi
0.49 and later; 1.x serves nothing else), else kafka.strimzi.io/v1beta2 (older Strimzi, and `helm template`
without --api-versions, which knows no cluster). The KafkaTopic spec fields the chart writes (topicName,
partitions, replicas, config) are the same in both versions.
*/}}
{{- define "samza-job.strimziApiVersion" -}}
{{- if .Values.strimzi.apiVersion -}}
{{- .Values.strimzi.apiVersion -}}
{{- else if .Capabilities.APIVersions.Has "kafka.strimzi.io/v1/KafkaTopic" -}}
kafka.strimzi.io/v1
{{- else -}}
kafka.strimzi.io/v1beta2
{{- end -}}
{{- end -}}

{{/*
One Strimzi KafkaTopic: (dict "ctx" $ "topic" name "partitions" p "replicas" rf "config" map "role" role).
`partitions` is either a number or a post-renderer template expression, which is rendered as a quoted string
and turned back into a number by the post-renderer; with "resolved" (the number `helm samza values` computed) the
expression is written as the post-renderer would have rendered it, the annotation kept as it keeps it.
*/}}
{{- define "samza-job.kafkaTopic" -}}
apiVersion: {{ include "samza-job.strimziApiVersion" .ctx }}
kind: KafkaTopic
metadata:
  name: {{ regexReplaceAll "[^a-z0-9.-]+" (lower .topic) "-" | trunc 253 | trimAll "-." }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "samza-job.labels" (dict "ctx" .ctx "role" .role "component" "topics") | nindent 4 }}
    strimzi.io/cluster: {{ .ctx.Values.strimzi.cluster }}
  {{- if kindIs "string" .partitions }}
  annotations:
    # Rendered by the helm-samza post-renderer with the computed job model.
    samza.apache.org/template: "true"
  {{- end }}
spec:
  topicName: {{ .topic | quote }}
  partitions: {{ if hasKey . "resolved" }}{{ .resolved | int }}{{ else if kindIs "string" .partitions }}{{ .partitions | quote }}{{ else }}{{ .partitions }}{{ end }}
  replicas: {{ .replicas | int }}
  config:
    {{- range $k := keys .config | sortAlpha }}
    {{ $k }}: {{ index $.config $k | quote }}
    {{- end }}
{{- end -}}
