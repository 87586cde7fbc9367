#!/usr/bin/env bash
# `make test`: builds, then runs every test target against the project's PostgreSQL. Tests make their own
# databases (prefix portico_t_<run>); whatever a crashed run left behind is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/pg.sh start
run_id="portico_t_$$"
export PORTICO_TEST_DATABASE_URL=${PORTICO_TEST_DATABASE_URL:-$(scripts/pg.sh url postgres)}
export PORTICO_TEST_DB_PREFIX=$run_id
export PORTICO_MIGRATIONS=$PWD/sql
export PORTICO_TEMPLATES=$PWD/templates
trap 'scripts/pg.sh dropprefix "$run_id" >/dev/null 2>&1 || true' EXIT
swift build --build-tests ${SWIFT_BUILD_FLAGS:-}
export PORTICO_BIN=$PWD/.build/debug/portico
# HAProxy fronts the replicas of the rolling-restart test (Debian's package, installed when missing).
if ! command -v haproxy >/dev/null 2>&1 && ! [ -x /usr/sbin/haproxy ]; then
  echo "installing haproxy" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
# A real OpenID provider for the identity-provider tests.
PORTICO_OIDC_PROVIDER=$(scripts/oidc-provider-deps.sh)
export PORTICO_OIDC_PROVIDER
# An outside HTTP/1.1 conformance linter for the proxy's traffic.
PORTICO_HTTPOLICE=$(scripts/httpolice-deps.sh)
export PORTICO_HTTPOLICE
log=.build/test-output.log
# The fault tests load the machine on purpose (processes under load, outages, restarts): in the whole suite they
# run after the rest, each in a process of its own, so that they neither starve the others' timing nor share a
# process's clients with one another. Each has a time limit; `timeout` bounds a process that could not honour it.
faults=(PostgresStoppedUnderLoadTests DatabaseOutageUnderLoadTests RollingRestartTests GracefulShutdownTests UpstreamAbuseTests SoakTests)
set +e
if [ $# -eq 0 ]; then
  skip=$(IFS='|'; echo "${faults[*]}")
  swift test --skip-build ${SWIFT_TEST_FLAGS:-} --skip "$skip" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  for suite in "${faults[@]}"; do
    # Each takes at most about 1.5 minutes but the soak, which runs PORTICO_SOAK_SECONDS (5 minutes) after its setup.
    limit=240
    [ "$suite" = SoakTests ] && limit=$(( ${PORTICO_SOAK_SECONDS:-300} + 180 ))
    for attempt in 1 2 3; do
      timeout --kill-after=30 "$limit" swift test --skip-build ${SWIFT_TEST_FLAGS:-} --filter "$suite" </dev/null 2>&1 | tee -a "$log"
      result=${PIPESTATUS[0]}
      # `timeout` ends `swift test`, not the test process it started.
      [ "$result" -eq 124 ] && pkill -KILL -f "porticoPackageTests.xctest.*--filter $suite" || true
      # A run that hangs (an intermittent stall of these tests' process, under investigation: it has been seen to
      # print nothing at all, before any test starts) is tried again, up to three runs, loudly and with the
      # processes then running for the record; a test that fails is not.
      if [ "$result" -eq 124 ] && [ "$attempt" -lt 3 ]; then
        echo "WARNING: $suite timed out; running it once more. Processes then:" >&2
        ps -eo pid,ppid,etime,stat,args | grep -E 'swift|xctest|portico|postgres' | grep -v grep >&2 || true
        continue
      fi
      break
    done
    [ "$result" -eq 0 ] || status=1
  done
else
  swift test --skip-build ${SWIFT_TEST_FLAGS:-} "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
fi
# The real-browser test runs with the whole suite (not with a --filter of Swift tests).
browser_total=0 browser_failed=0
if [ $# -eq 0 ]; then
  browser_total=1
  if ! scripts/browser-test.sh; then browser_failed=1; status=1; fi
fi
set -e
# One plain summary line, whatever the runners printed before it.
total=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | awk '{ sum += $1 } END { print sum + 0 }')
# Failed tests only: the run's own closing line ("✘ Test run with N tests … failed") is not one of them.
failed=$(grep -E '^✘ Test .* failed after' "$log" | grep -cv '^✘ Test run with' || true)
total=$((${total:-0} + browser_total)) failed=$((${failed:-0} + browser_failed))
echo "tests: $((total - failed)) passed, ${failed} failed"
exit "$status"
