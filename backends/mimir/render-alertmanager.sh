#!/bin/sh
# Renders Mimir's Alertmanager fallback config for the compose stack:
#   render-alertmanager.sh TEMPLATE OUTPUT
# Neither Mimir nor Alertmanager expands variables in that file
# (backends/mimir/alertmanager.yaml says so), and Mimir's image has no shell
# to do it at start, so a one-shot busybox container does it before Mimir
# starts. The rules are harness.RenderAlertmanagerConfig's, which
# tests/deploy holds this script to: on a line `key: "value" # env NAME` or
# `key: value # env NAME`, the value becomes NAME's when NAME is set and not
# empty (escaped for a double-quoted value; a plain one only takes
# [A-Za-z0-9_.:-]); otherwise the line keeps the file's value. A value with
# a line break, one that does not fit a plain value, or a "# env" line of
# another shape is an error. Only POSIX sh and awk: it runs on busybox.
set -eu
in=${1:?usage: render-alertmanager.sh TEMPLATE OUTPUT}
out=${2:?usage: render-alertmanager.sh TEMPLATE OUTPUT}

awk '
function fail(msg) {
	print "render-alertmanager: " FILENAME ":" FNR ": " msg > "/dev/stderr"
	bad = 1
}
function esc(v,    i, c, r) {
	r = ""
	for (i = 1; i <= length(v); i++) {
		c = substr(v, i, 1)
		if (c == "\\" || c == "\"") r = r "\\"
		r = r c
	}
	return r
}
# The length of the double-quoted string s starts with, or 0.
function quotedlen(s,    i, c) {
	for (i = 2; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\") i++
		else if (c == "\"") return i
	}
	return 0
}
!/#[ \t]*env[ \t]+[^ \t]+[ \t]*$/ { print; next }
{
	line = $0
	if (!match(line, /^[ \t]*(-[ \t]+)?[A-Za-z_][A-Za-z0-9_]*:[ \t]+/)) {
		fail("want `key: \"value\" # env NAME` or `key: value # env NAME`"); print; next
	}
	prefix = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1)
	quoted = substr(rest, 1, 1) == "\""
	if (quoted) n = quotedlen(rest)
	else n = match(rest, /^[A-Za-z0-9_.:-]+/) ? RLENGTH : 0
	tail = substr(rest, n + 1)
	if (n == 0 || !match(tail, /^[ \t]+#[ \t]*env[ \t]+[A-Z][A-Z0-9_]*/) || substr(tail, RLENGTH + 1) !~ /^[ \t]*$/) {
		fail("want `key: \"value\" # env NAME` or `key: value # env NAME`"); print; next
	}
	tail = substr(tail, 1, RLENGTH)
	name = tail; sub(/^[ \t]+#[ \t]*env[ \t]+/, "", name)
	v = (name in ENVIRON) ? ENVIRON[name] : ""
	if (v == "") { print; next }
	if (index(v, "\n") > 0 || index(v, "\r") > 0) { fail(name " holds a line break"); print; next }
	if (quoted) { print prefix "\"" esc(v) "\"" tail; next }
	if (v !~ /^[A-Za-z0-9_.:-]+$/) { fail(name " does not fit the plain value it replaces"); print; next }
	print prefix v tail
}
END { exit bad }
' "$in" > "$out.tmp"
# Mimir must never read a half-written file.
mv "$out.tmp" "$out"
