#!/usr/bin/env bash
# Installs what the real-browser test needs, when missing: Chromium and its driver from Debian, and Selenium
# (< 4.52: 4.52 wants a newer certifi than the registry here serves) in a virtualenv under .build/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing chromium and chromium-driver" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
venv=.build/browser-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'selenium<4.52'
fi
echo "$venv/bin/python"
