# Sourced by the *-deps.sh scripts: `pip_target PYTHON FOLDER SPEC…` installs the packages into FOLDER/lib (a
# folder of their own, no virtualenv), installing pip from Debian first when PYTHON lacks it.
pip_target() {
  local python=$1 folder=$2
  shift 2
  if ! "$python" -m pip --version >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq python3-pip >/dev/null
  fi
  rm -rf "$folder"
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore \
    "$python" -m pip install -q --disable-pip-version-check --target "$folder/lib" "$@" >&2
}
