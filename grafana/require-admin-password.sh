#!/bin/sh
# Grafana creates the first admin with password "admin" when none is given
# (it only asks for a change at the first login). A deployment reachable from
# the network must not start like that, so refuse.
if [ -z "${GF_SECURITY_ADMIN_PASSWORD:-}" ] && [ -z "${GF_SECURITY_ADMIN_PASSWORD__FILE:-}" ]; then
  echo "GF_SECURITY_ADMIN_PASSWORD (or GF_SECURITY_ADMIN_PASSWORD__FILE) must be set" >&2
  exit 1
fi
# Railway injects PORT and health-checks it; Grafana's own default is 3000.
if [ -n "${PORT:-}" ] && [ -z "${GF_SERVER_HTTP_PORT:-}" ]; then
  export GF_SERVER_HTTP_PORT="$PORT"
fi
exec /run.sh "$@"
