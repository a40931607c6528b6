{{/* Name of the chart, or nameOverride. */}}
{{- define "outbound-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of every object: fullnameOverride, else <release>-<name> (just the release name when it already holds the chart name). */}}
{{- define "outbound-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select the operator's pods (Deployment, Service, PDB). */}}
{{- define "outbound-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "outbound-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/* Labels of every object. */}}
{{- define "outbound-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "outbound-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: outbound-operator
{{- end }}

{{- define "outbound-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "outbound-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The --watch-label-selector of this release's shard (empty: every OutboundTask). */}}
{{- define "outbound-operator.shardSelector" -}}
{{- $s := .Values.sharding }}
{{- if and $s.shard $s.remainder }}
{{- fail "sharding.shard and sharding.remainder exclude each other: one release per shard, and one for the remainder" }}
{{- else if $s.shard }}
{{- printf "%s=%s" $s.key $s.shard }}
{{- else if $s.remainder }}
{{- printf "!%s" $s.key }}
{{- end }}
{{- end }}


{{/* The Lease, as NOTES.txt names it: leaderElection.leaseName, else the operator's rule (one name per watch scope, the same for every install method: src/controller/shard.rs). */}}
{{- define "outbound-operator.leaseDescription" -}}
{{- if .Values.leaderElection.leaseName }}
{{- .Values.leaderElection.leaseName }}
{{- else if and (not .Values.watchNamespace) (not (include "outbound-operator.shardSelector" .)) }}
{{- "outbound-operator-leader" }}
{{- else }}
{{- "outbound-operator-leader-<scope>-<hash>, derived from what it watches (kubectl get lease -n " }}{{ .Release.Namespace }})
{{- end }}
{{- end }}

{{/* What the controller reads and writes where it watches (ClusterRole or Role). Same rules as manifests/clusterrole.yaml, whose comments say why each is needed. */}}
{{- define "outbound-operator.controllerRules" -}}
- apiGroups: ["outbound.dev"]
  resources: ["outboundtasks", "outboundaccounts"]
  verbs: ["list", "watch"]
- apiGroups: ["outbound.dev"]
  resources: ["outboundtasks"]
  verbs: ["patch"]
- apiGroups: ["outbound.dev"]
  resources: ["outboundtasks/status", "outboundaccounts/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/* Labels of the ServiceMonitor and the PrometheusRule: the chart's, `release:
monitoring.prometheusRelease` (what kube-prometheus-stack selects by) unless empty or given in
`labels`, and `labels`. Called with (dict "root" $ "labels" <their labels>). */}}
{{- define "outbound-operator.monitoringLabels" -}}
{{ include "outbound-operator.labels" .root }}
{{- $release := .root.Values.monitoring.prometheusRelease }}
{{- if and $release (not (hasKey (.labels | default dict) "release")) }}
release: {{ $release | quote }}
{{- end }}
{{- with .labels }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{/* The top of a CRD's metadata (see templates/crds.yaml), between newlines. */}}
{{- define "outbound-operator.crdMetadata" }}
metadata:
  labels:
    {{- include "outbound-operator.labels" . | nindent 4 }}
  {{- if .Values.crds.keep }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
{{ end }}
