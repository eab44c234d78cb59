# Sourced by scripts/*: makes .venv and installs the project when pyproject.toml changed.
# Usage: tally_setup [EXTRAS]   (e.g. tally_setup dev)
tally_python() {
  for candidate in "${TALLY_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Tally needs Python 3.11 or newer (set TALLY_PYTHON to its path)." >&2
  return 1
}

tally_setup() {
  local extras="${1:-}" spec="." stamp=".venv/.tally-installed" hash want
  [ -n "$extras" ] && spec=".[$extras]"
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv ..." >&2
    "$(tally_python)" -m venv .venv
  fi
  hash="$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' pyproject.toml)"
  # An install with extras also serves a plain one.
  if [ -n "$extras" ]; then want="$hash $extras"; else want="$hash"; fi
  if [ ! -f "$stamp" ] || ! grep -q "^$want\b" "$stamp"; then
    echo "Installing Tally ($spec) into .venv ..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
    echo "$hash $extras" >>"$stamp"
  fi
}
