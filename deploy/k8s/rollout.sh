#!/usr/bin/env bash
# Roll out a release: migrations first (a Job named after the release), then the Deployments.
#   deploy/k8s/rollout.sh 1.4.0
# Stops at the first failure: if migrate_schemas fails, the running release keeps serving untouched.
set -euo pipefail
release=${1:?usage: rollout.sh <image tag>}
here=$(cd "$(dirname "$0")" && pwd)
namespace=${NAMESPACE:-rdv}

echo "==> Migrations of $release"
sed "s/RELEASE/$release/g" "$here/migrate-job.yaml" | kubectl -n "$namespace" apply -f -
if ! kubectl -n "$namespace" wait --for=condition=complete --timeout=60m "job/rdv-migrate-$release"; then
  kubectl -n "$namespace" logs "job/rdv-migrate-$release" --tail=50 || true
  echo "ERREUR : les migrations de $release ont échoué ; la version en service n'a pas été modifiée." >&2
  exit 1
fi

echo "==> Deployments of $release"
# A throw-away overlay next to the manifests (kustomize takes bases by relative path) with the release's tag.
tmp=$(mktemp -d "$here/.rollout-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/kustomization.yaml" <<YAML
resources: [".."]
images:
  - {name: registry.example.gouv.fr/rdv-service-public, newTag: "$release"}
YAML
kubectl apply -k "$tmp"
for deployment in rdv-web rdv-worker rdv-beat; do
  kubectl -n "$namespace" rollout status "deployment/$deployment" --timeout=15m
done
