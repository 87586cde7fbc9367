#!/usr/bin/env bash
# Installs what the real-browser test needs, when missing: Chromium and its driver from Debian, and Selenium
# (< 4.52: 4.52 wants a newer certifi than the registry here serves) into .build/browser-python (no virtualenv
# needed, so Debian's python3 without python3-venv works too). Prints the PYTHONPATH to use.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing chromium and chromium-driver" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
target=$PWD/.build/browser-python
if ! PYTHONPATH="$target" python3 -c 'import selenium' 2>/dev/null; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq python3-pip >/dev/null
  fi
  # The target folder is the project's own, so an "externally managed" system Python may install into it.
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore \
    python3 -m pip install -q --disable-pip-version-check --target "$target" 'selenium<4.52'
fi
echo "$target"
