#!/bin/sh
# Neither Mimir nor the Alertmanager expands variables in the Alertmanager
# fallback file, so the image renders it from the ALERT_* variables before
# Mimir starts (render-alertmanager.sh says how); unset ones keep the
# template's safe values, which mail nobody. A MIMIR_ALERTMANAGER_CONFIG of
# your own is left alone: Mimir reads that instead of the rendered file.
set -eu
sh /usr/local/bin/render-alertmanager.sh /etc/mimir/alertmanager.yaml /tmp/alertmanager.yaml
exec /bin/mimir "$@"
