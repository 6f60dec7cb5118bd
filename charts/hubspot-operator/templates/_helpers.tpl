{{/* Chart name, overridable. */}}
{{- define "hubspot-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "hubspot-operator.fullname" -}}
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

{{- define "hubspot-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the operator pods; never change them after a release (selectors are immutable). */}}
{{- define "hubspot-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hubspot-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hubspot-operator.labels" -}}
helm.sh/chart: {{ include "hubspot-operator.chart" . }}
{{ include "hubspot-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hubspot-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "hubspot-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hubspot-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false (name an existing ServiceAccount)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "hubspot-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "hubspot-operator.leaseName" -}}
{{- default (include "hubspot-operator.fullname" .) .Values.leaderElection.leaseName -}}
{{- end -}}

{{/*
The permissions the operator uses on the resources it watches, and nothing more:
its three kinds (read, update finalizers on the object, write status), Secrets read-only
(credentials and database URLs it is pointed at), and Events to report what it did.
*/}}
{{- define "hubspot-operator.watchRules" -}}
- apiGroups: ["hubspot-operator.dev"]
  resources: ["hubspotintegrations", "fieldmappings", "syncfilters"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["hubspot-operator.dev"]
  resources: ["hubspotintegrations/status", "fieldmappings/status", "syncfilters/status"]
  verbs: ["update", "patch"]
- apiGroups: ["hubspot-operator.dev"]
  resources: ["hubspotintegrations/finalizers", "fieldmappings/finalizers", "syncfilters/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
