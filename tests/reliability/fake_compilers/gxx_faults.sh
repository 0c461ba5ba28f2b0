#!/bin/sh
# g++ with faults on request, for tests/reliability. The daemon's environment,
# which its compiler children inherit, says what happens to a kernel whose
# source contains the text $SEJITS_FAKE_MARKER:
#   SEJITS_FAKE_ACTION=hang       write this process's pid to $SEJITS_FAKE_STATE/hung.pid
#                                 and sleep (a compiler that hangs)
#   SEJITS_FAKE_ACTION=hang-once  the same the first time only (it leaves
#                                 $SEJITS_FAKE_STATE/hung-once), g++ afterwards
#   SEJITS_FAKE_ACTION=half       compile, cut the shared object to half its
#                                 size (a write in progress), then hang
# Every other source, and `--version` (part of the daemon's cache keys), is g++'s.
source=
output=
previous=
for arg in "$@"; do
  case "$arg" in *.cc) source=$arg ;; esac
  if [ "$previous" = "-o" ]; then output=$arg; fi
  previous=$arg
done
if [ -n "$SEJITS_FAKE_MARKER" ] && [ -n "$source" ] && grep -qF -- "$SEJITS_FAKE_MARKER" "$source"; then
  case "$SEJITS_FAKE_ACTION" in
    hang) ;;
    half)
      g++ "$@" || exit 1
      size=$(stat -c %s "$output")
      truncate -s $((size / 2)) "$output" ;;
    hang-once)
      if [ -e "$SEJITS_FAKE_STATE/hung-once" ]; then exec g++ "$@"; fi
      : > "$SEJITS_FAKE_STATE/hung-once" ;;
    *) exec g++ "$@" ;;
  esac
  echo $$ > "$SEJITS_FAKE_STATE/hung.pid.tmp"
  mv "$SEJITS_FAKE_STATE/hung.pid.tmp" "$SEJITS_FAKE_STATE/hung.pid"
  exec sleep 300
fi
exec g++ "$@"
