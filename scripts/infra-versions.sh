# Pinned versions of the infrastructure binaries used by tests and `kratix-temporal dev`.
# Sourced by scripts/build-infra.sh; src/infra/binaries.ts reads the same values from this file.
TEMPORAL_CLI_VERSION=v1.5.1
KUBERNETES_VERSION=v1.33.13
ETCD_VERSION=v3.6.16
# OpenTelemetry Collector (scripts/otelcol: OTLP receiver + file exporter) for the tracing test:
# core and contrib modules at one release, with the core's stable (v1.x) modules of that release.
OTELCOL_VERSION=v0.161.0
OTELCOL_STABLE_VERSION=v1.67.0
# The S3-compatible server of the BucketStateStore tests: gofakes3 behind scripts/s3-server/main.go.
GOFAKES3_VERSION=v1.2.0
