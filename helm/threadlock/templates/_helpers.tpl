{{/* Names, labels and the derived settings every template shares. */}}

{{- define "threadlock.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name, at most 47 characters, so that every name derived from it fits Kubernetes'
limits: the etcd StatefulSet "<fullname>-etcd" must stay within 52 (its pods get the label
controller-revision-hash=<name>-<10-character hash>, and a label value holds 63), and Service
names such as "<fullname>-etcd-peer" within 63 (DNS-1035 labels). */}}
{{- define "threadlock.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 47 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "threadlock.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object; add a component (or a selector) to them. */}}
{{- define "threadlock.labels" -}}
app.kubernetes.io/name: {{ include "threadlock.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "threadlock.commonLabels" . }}
{{- end }}

{{/* The labels that a selector does not use (pod templates add the selector's own). */}}
{{- define "threadlock.commonLabels" -}}
helm.sh/chart: {{ include "threadlock.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: threadlock
{{- end }}

{{/* The coordinator's pods. */}}
{{- define "threadlock.selectorLabels" -}}
app.kubernetes.io/name: {{ include "threadlock.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: coordinator
{{- end }}

{{/* The bundled etcd's pods. */}}
{{- define "threadlock.etcd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "threadlock.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: etcd
{{- end }}

{{- define "threadlock.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "threadlock.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "threadlock.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "threadlock.etcd.fullname" -}}
{{- printf "%s-etcd" (include "threadlock.fullname" .) }}
{{- end }}

{{/* Headless Service that gives each etcd member a stable DNS name for peer traffic. */}}
{{- define "threadlock.etcd.peerService" -}}
{{- printf "%s-etcd-peer" (include "threadlock.fullname" .) }}
{{- end }}

{{/* DNS name of etcd member $i: <statefulset>-<i>.<headless service>.<ns>.svc.<domain>. */}}
{{- define "threadlock.etcd.memberHost" -}}
{{- $root := index . 0 }}
{{- printf "%s-%d.%s.%s.svc.%s" (include "threadlock.etcd.fullname" $root) (index . 1) (include "threadlock.etcd.peerService" $root) $root.Release.Namespace $root.Values.clusterDomain }}
{{- end }}

{{/* Static bootstrap member list: name=http://host:2380,... for every replica. */}}
{{- define "threadlock.etcd.initialCluster" -}}
{{- $root := . }}
{{- $members := list }}
{{- range $i := until (int .Values.etcd.bundled.replicas) }}
{{- $host := include "threadlock.etcd.memberHost" (list $root $i) }}
{{- $members = append $members (printf "%s-%d=http://%s:2380" (include "threadlock.etcd.fullname" $root) $i $host) }}
{{- end }}
{{- join "," $members }}
{{- end }}

{{/* What the coordinator gets as THREADLOCK_ETCD_ENDPOINTS. Bundled: every member by its own
DNS name, not one Service address: the coordinator's etcd client fails over between the
endpoints it is given, so a member that is down costs one retry, not the connections that a
Service happened to route to it. */}}
{{- define "threadlock.etcdEndpoints" -}}
{{- if eq .Values.etcd.mode "bundled" }}
{{- $root := . }}
{{- $members := list }}
{{- range $i := until (int .Values.etcd.bundled.replicas) }}
{{- $members = append $members (printf "http://%s:2379" (include "threadlock.etcd.memberHost" (list $root $i))) }}
{{- end }}
{{- join "," $members }}
{{- else }}
{{- join "," .Values.etcd.external.endpoints }}
{{- end }}
{{- end }}

{{/* Port the kubelet's gRPC probes call: the plaintext, health-only port, always. With TLS
the API port cannot answer them (native gRPC probes do not speak TLS); without, a separate port
still lets a NetworkPolicy keep the API port to networkPolicy.clientFrom while the kubelet,
whose source address no policy peer can name portably, reaches the probes. */}}
{{- define "threadlock.probePort" -}}
{{ .Values.server.healthPort }}
{{- end }}

{{/* host:port for the server's listeners: server.bindAddress ("0.0.0.0", or "[::]" for
IPv6 and dual-stack) and a port. */}}
{{- define "threadlock.listen" -}}
{{- $root := index . 0 }}
{{- printf "%s:%v" $root.Values.server.bindAddress (index . 1) }}
{{- end }}

{{/* Cross-field checks the JSON schema cannot express; each names the values to fix. */}}
{{- define "threadlock.validate" -}}
{{- $v := .Values }}
{{- if empty $v.image.repository }}
{{- fail "image.repository: required: the registry and name of the image you built and pushed (docs/deploy.md, section 1), e.g. --set image.repository=registry.example.com/threadlock" }}
{{- end }}
{{- if not $v.etcd.tls.enabled }}
{{- range $v.etcd.external.endpoints }}
{{- if hasPrefix "https://" . }}
{{- fail (printf "etcd.external.endpoints: %s is https:// but etcd.tls.enabled is false; enable etcd.tls (with etcd.tls.secretName) or give an http:// endpoint" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (eq $v.etcd.mode "external") (empty $v.etcd.external.endpoints) }}
{{- fail "etcd.external.endpoints: give at least one endpoint when etcd.mode is \"external\"" }}
{{- end }}
{{- if and (eq $v.etcd.mode "bundled") (regexMatch "^v?3\\.5\\.[0-2]([^0-9]|$)" (toString $v.etcd.bundled.image.tag)) }}
{{- fail (printf "etcd.bundled.image.tag: %s is in etcd 3.5.0-3.5.2, which has etcd's data-inconsistency bug (the coordinator refuses it): use 3.5.3 or later (the default is the tested 3.6 release)" $v.etcd.bundled.image.tag) }}
{{- end }}
{{- if and (eq $v.etcd.mode "bundled") $v.etcd.tls.enabled }}
{{- fail "etcd.tls.enabled: TLS to etcd is for etcd.mode \"external\"; the bundled etcd is reached in-cluster (restrict it with networkPolicy.enabled)" }}
{{- end }}
{{- if and $v.etcd.tls.enabled (empty $v.etcd.tls.secretName) }}
{{- fail "etcd.tls.secretName: required when etcd.tls.enabled is true" }}
{{- end }}
{{- if and $v.tls.enabled (empty $v.tls.secretName) }}
{{- fail "tls.secretName: required when tls.enabled is true" }}
{{- end }}
{{- if and $v.tls.clientCASecretName (not $v.tls.enabled) }}
{{- fail "tls.clientCASecretName: mutual TLS needs tls.enabled: true" }}
{{- end }}
{{- if gt (int $v.server.minTtl) (int $v.server.maxTtl) }}
{{- fail (printf "server.maxTtl: must be at least server.minTtl (%v), got %v" $v.server.minTtl $v.server.maxTtl) }}
{{- end }}
{{- if eq (int $v.server.port) (int $v.server.healthPort) }}
{{- fail "server.healthPort: must differ from server.port" }}
{{- end }}
{{- /* Container ports; service.port may equal metrics.port: the two live on separate Services. */}}
{{- if and $v.metrics.enabled (has (int $v.metrics.port) (list (int $v.server.port) (int $v.server.healthPort))) }}
{{- fail "metrics.port: must differ from server.port and server.healthPort" }}
{{- end }}
{{- if and $v.http.enabled (has (int $v.http.port) (list (int $v.server.port) (int $v.server.healthPort))) }}
{{- fail "http.port: must differ from server.port and server.healthPort" }}
{{- end }}
{{- if and $v.http.enabled $v.metrics.enabled (eq (int $v.http.port) (int $v.metrics.port)) }}
{{- fail "http.port: must differ from metrics.port" }}
{{- end }}
{{- if and $v.http.enabled (eq (int $v.service.httpPort) (int $v.service.port)) }}
{{- fail "service.httpPort: must differ from service.port (both are ports of one Service)" }}
{{- end }}
{{- $needed := add (int $v.preStopDelaySeconds) (ceil $v.server.shutdownGrace | int) 5 }}
{{- if le (int $v.terminationGracePeriodSeconds) $needed }}
{{- fail (printf "terminationGracePeriodSeconds: must exceed preStopDelaySeconds + server.shutdownGrace + 5 s of cleanup = %d, got %v" $needed $v.terminationGracePeriodSeconds) }}
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled: needs metrics.enabled: true" }}
{{- end }}
{{- if and $v.statusPage.enabled (not $v.metrics.enabled) }}
{{- fail "statusPage.enabled: needs metrics.enabled: true (the page is served on the metrics port)" }}
{{- end }}
{{- if and $v.statusPage.enabled $v.auth.enabled }}
{{- fail "statusPage.enabled: not with auth.enabled: the metrics port has no TLS and listens on every address of the pod, and the page's viewers send credentials (docs/metrics.md)" }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.maxReplicas: must be at least autoscaling.minReplicas" }}
{{- end }}
{{- end }}
