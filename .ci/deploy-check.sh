#!/usr/bin/env bash
# Checks the deployment files with no cluster, no Docker daemon and no
# network beyond Debian's packages (installed when missing) and the Go
# module proxy:
#   - Kubernetes (deploy/kubernetes): the kubeconform-equivalent Go tests of
#     deploy/: every manifest decoded strictly (unknown, duplicate or
#     miscased fields and wrong types fail) into the k8s.io/api types of its
#     apiVersion/kind, then checked to fit together (secrets readable by
#     the non-root user, pinned image, probes and scrape on the admin port,
#     only the webhooks public, PodDisruptionBudget, job name shelfsync, the
#     ConfigMap's config accepted by shelfsync's own loader);
#   - Docker and compose (deploy/docker, deploy/compose): `docker compose
#     config` (Debian's docker-compose when the compose plugin is missing),
#     `promtool check config` of the stack's Prometheus with the rules, and
#     the deploy/ tests of the image and the stack (no image is built or
#     pulled: that needs a daemon and registries CI does not reach);
#   - systemd (deploy/systemd): `systemd-analyze verify` in a scratch root
#     holding the unit, the built binary and the distribution's units (any
#     output fails), and `systemd-analyze security --offline=true`:
#     exposure above 3.0 fails.
# Works as root or with sudo, without stdin (CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
updated=""
# need COMMAND PACKAGE: installs PACKAGE from Debian when COMMAND is missing.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "deploy-check: installing $2" >&2
	if [ -z "$updated" ]; then
		$sudo_cmd apt-get update -qq >/dev/null
		updated=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== kubernetes: strict decoding into k8s.io/api types and the checks that the manifests fit together"
go test -count=1 -run 'TestManifestsDecodeStrictly|TestDeploymentStarts|TestOnlyWebhooksArePublic|TestScrapeJobIsShelfsync|TestConfigMapConfigLoads' ./deploy

echo "== docker compose config"
compose_file=deploy/compose/compose.yaml
if docker compose version >/dev/null 2>&1; then
	docker compose -f "$compose_file" config -q
else
	need docker-compose docker-compose
	docker-compose -f "$compose_file" config -q
fi
need promtool prometheus
mkdir -p "$scratch/prometheus/rules"
cp deploy/compose/prometheus.yml "$scratch/prometheus/"
cp deploy/prometheus/alerts.yml "$scratch/prometheus/rules/"
promtool check config "$scratch/prometheus/prometheus.yml"
go test -count=1 -run 'TestComposeStackFitsTogether|TestImageCarriesNoSecretsAndChecksHealth' ./deploy

echo "== systemd"
need systemd-analyze systemd
version=$(systemd-analyze --version | awk 'NR == 1 {print $2}')
if [ "${version%%.*}" -lt 250 ]; then
	echo "deploy-check: systemd $version has no 'security --offline' (needs 250 or later)" >&2
	exit 1
fi
unit=deploy/systemd/shelfsync.service
root="$scratch/root"
units=/usr/lib/systemd/system
[ -d "$units" ] || units=/lib/systemd/system
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp -a "$units" "$root/usr/lib/systemd/"
cp "$unit" "$root/etc/systemd/system/"
# the install comment's binary: make build, installed at /usr/local/bin
# the production build's tags; default flags, so the later builds of CI reuse its
# compiled dependencies (verify needs ExecStart's binary to exist and run)
go build -tags nosim -o "$root/usr/local/bin/shelfsync" ./cmd/shelfsync
out=$(systemd-analyze verify --man=no --root="$root" shelfsync.service 2>&1) || {
	echo "$out" >&2
	exit 1
}
if [ -n "$out" ]; then
	echo "systemd-analyze verify: $out" >&2
	exit 1
fi
echo "systemd-analyze verify: ok"
# --threshold is on the 0-100 scale of the 0.0-10.0 exposure printed
systemd-analyze security --offline=true --threshold=30 "$unit" | tail -n 1
echo "deploy-check: ok"
