#!/usr/bin/env bash
# The DNS-SD tests run announce and browse in a fresh network namespace: they need unshare
# (util-linux) and ip (iproute2), and root; an interop test talks to python-zeroconf
# (python3-zeroconf, for the system Python). Idempotent: installs only what is missing.
set -euo pipefail
missing=()
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
/usr/bin/python3 -c 'import zeroconf' >/dev/null 2>&1 || missing+=(python3-zeroconf)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo ".ci/dnssd.sh: ${missing[*]} missing and not root: install them, or the DNS-SD tests fail under CI=true" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
echo ".ci/dnssd.sh: unshare, ip and python3-zeroconf present"
