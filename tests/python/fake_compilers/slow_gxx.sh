#!/bin/sh
# g++ that takes $SEJITS_SLOW_COMPILE_SECONDS (default 3) longer to compile a
# kernel, for the tests of background compilation. `--version` (part of the
# daemon's cache keys) answers at once.
case " $* " in
  *" --version "*|*" -dumpfullversion "*|*" -dumpversion "*) exec g++ "$@" ;;
esac
sleep "${SEJITS_SLOW_COMPILE_SECONDS:-3}"
exec g++ "$@"
