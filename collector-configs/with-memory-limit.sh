#!/bin/sh
# with-memory-limit.sh COMMAND [ARGS...]: runs the collector with its memory
# settings derived from ONE number, the memory its container may use:
#
#   COLLECTOR_MEMORY_LIMIT_MIB  the container's limit; unset: read from the
#                               cgroup (Docker mem_limit, Kubernetes limits,
#                               Railway's plan), else 2000
#   MEMORY_LIMIT_MIB            memory_limiter's hard limit: the limit less a
#                               margin of a fifth, and at least 128 MiB (2000 ->
#                               1600, 400 -> 272). The margin holds what is
#                               decoded between two checks: under ten times the
#                               sustainable load from many clients the gateway
#                               overshot its hard limit by up to ~60 MiB
#                               (tests/e2e TestOverload)
#   MEMORY_SPIKE_LIMIT_MIB      a fifth of that: refusals start at the hard
#                               limit less this
#   GOMEMLIMIT                  the hard limit: the Go runtime collects harder
#                               there, before the kernel's OOM killer would act
#
# The collector cannot compute these itself: a config has no arithmetic, and
# Go does not read a cgroup into GOMEMLIMIT. memory_limiter's limit_percentage
# does read the cgroup, but not outside a container (make run), and leaves
# GOMEMLIMIT unset. Any of the three derived variables, when set, wins.
# POSIX sh: the image's busybox runs it, and so does `make run`.
set -eu

limit=${COLLECTOR_MEMORY_LIMIT_MIB:-}
if [ -z "$limit" ]; then
	# cgroup v2, then v1. "max" (v2) and v1's near-2^63 mean no limit.
	for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
		[ -r "$f" ] || continue
		bytes=$(cat "$f")
		case $bytes in
		'' | *[!0-9]*) ;;
		*) if [ "${#bytes}" -le 15 ]; then limit=$((bytes / 1048576)); fi ;;
		esac
		break
	done
fi
limit=${limit:-2000}

case $limit in
'' | *[!0-9]*)
	echo "with-memory-limit: COLLECTOR_MEMORY_LIMIT_MIB must be a whole number of MiB, got \"$limit\"" >&2
	exit 2
	;;
esac
# Below this the margin and the collector's own baseline leave nothing to work with.
if [ "$limit" -lt 256 ]; then
	echo "with-memory-limit: COLLECTOR_MEMORY_LIMIT_MIB=$limit is below the minimum of 256 MiB" >&2
	exit 2
fi
if [ "$#" -eq 0 ]; then
	echo "usage: with-memory-limit.sh COMMAND [ARGS...]" >&2
	exit 2
fi

margin=$((limit / 5))
if [ "$margin" -lt 128 ]; then margin=128; fi
MEMORY_LIMIT_MIB=${MEMORY_LIMIT_MIB:-$((limit - margin))}
MEMORY_SPIKE_LIMIT_MIB=${MEMORY_SPIKE_LIMIT_MIB:-$((MEMORY_LIMIT_MIB / 5))}
GOMEMLIMIT=${GOMEMLIMIT:-${MEMORY_LIMIT_MIB}MiB}
# Not memory, but every replica starts here: the series a gateway derives
# carry COLLECTOR_INSTANCE_ID as collector_instance_id, so two replicas
# must differ. Railway names each replica; elsewhere the hostname is the
# container's or the pod's own name.
COLLECTOR_INSTANCE_ID=${COLLECTOR_INSTANCE_ID:-${RAILWAY_REPLICA_ID:-$(uname -n)}}
export MEMORY_LIMIT_MIB MEMORY_SPIKE_LIMIT_MIB GOMEMLIMIT COLLECTOR_INSTANCE_ID
exec "$@"
