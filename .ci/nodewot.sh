#!/usr/bin/env bash
# Installs the Eclipse Thingweb node-wot peer of the HTTP interop tests (interop/nodewot) from its
# committed lockfile. Idempotent: npm ci runs only when node_modules does not match the lockfile and
# the node version it was installed with.
set -euo pipefail
cd "$(dirname "$0")/../interop/nodewot"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "nodewot.sh: node and npm are missing and apt-get is not available: install Node.js 18 or newer" >&2
		exit 1
	fi
	pkgs=()
	command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
	command -v npm >/dev/null 2>&1 || pkgs+=(npm)
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi

stamp=node_modules/.wotgen-installed
want="$(sha256sum package-lock.json | cut -d' ' -f1) node $(node --version)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "nodewot.sh: node_modules is current ($want)"
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
echo "nodewot.sh: installed node-wot ($want)"
