#!/usr/bin/env bash
# Installs HTTPolice (an HTTP/1.1 conformance linter from PyPI) into .build/httpolice, when missing, and prints the
# path of a command that runs it. The conformance tests feed it what the gateway sent and received. bitstring is
# held below 4: HTTPolice 0.9 builds bit strings from integers, which bitstring 4 refuses.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$PWD/.build/httpolice
runner=$target/run
if [ -x "$runner" ] && "$runner" --version >/dev/null 2>&1; then
  echo "$runner"
  exit 0
fi
python=$(command -v python3)
source scripts/pip-target.sh
pip_target "$python" "$target" 'HTTPolice==0.9.0' 'bitstring<4'
cat >"$runner" <<RUN
#!/usr/bin/env bash
PYTHONPATH="$target/lib" exec "$python" -W ignore -c 'import sys; from httpolice.cli import main; sys.argv[0] = "httpolice"; sys.exit(main())' "\$@"
RUN
chmod +x "$runner"
echo "$runner"
