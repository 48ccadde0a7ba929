#!/bin/sh
# The image's two entrypoints; anything else runs as given (the Dagster Helm chart passes
# `dagster code-server start ...`, the K8sRunLauncher `dagster api execute_run ...`).
set -eu
case "${1:-code-location}" in
  code-location)
    shift $(( $# > 0 ? 1 : 0 ))
    exec dagster code-server start -m chicago_risk.definitions -h 0.0.0.0 -p 4000 "$@" ;;
  api)
    shift
    exec chicago-risk serve --host 0.0.0.0 "$@" ;;
  *)
    exec "$@" ;;
esac
