#!/usr/bin/env bash
# Installs oidc-provider-mock (a real OpenID provider for the tests) into .build/oidc-provider, when missing, and
# prints the path of a command that starts it. 0.4.x needs Python 3.12 or newer (pyenv's 3.12.1 where there is
# one); otherwise 0.3.x runs under python3 (3.11). No virtualenv needed: the package goes into a folder of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$PWD/.build/oidc-provider
runner=$target/run
if [ -x "$runner" ] && "$runner" --help >/dev/null 2>&1; then
  echo "$runner"
  exit 0
fi
python="" spec=""
candidates=()
if command -v pyenv >/dev/null 2>&1 && prefix=$(pyenv prefix 3.12.1 2>/dev/null); then candidates+=("$prefix/bin/python"); fi
candidates+=(python3.13 python3.12 python3)
for candidate in "${candidates[@]}"; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    python=$(command -v "$candidate") spec='oidc-provider-mock>=0.4,<0.5'
    break
  fi
done
if [ -z "$python" ]; then python=$(command -v python3) spec='oidc-provider-mock>=0.3,<0.4'; fi
source scripts/pip-target.sh
pip_target "$python" "$target" "$spec"
cat >"$runner" <<RUN
#!/usr/bin/env bash
PYTHONPATH="$target/lib" exec "$python" -W ignore -m oidc_provider_mock "\$@"
RUN
chmod +x "$runner"
echo "$runner"
