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

# The browser tests (tests/browser) drive Debian's `chromium`. Installed here when missing and
# possible (root with apt-get); otherwise those tests skip and say why (fail under
# TALLY_REQUIRE_BROWSER=1, as .ci/run sets). TALLY_SKIP_BROWSER_INSTALL=1 never installs.
tally_browser() {
  if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
    return 0
  fi
  if [ "${TALLY_SKIP_BROWSER_INSTALL:-}" = 1 ]; then
    echo "Chromium missing, not installed (TALLY_SKIP_BROWSER_INSTALL=1): browser tests skip." >&2
  elif [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "Chromium missing and not installable here (needs root and apt-get): browser tests skip." >&2
  else
    echo "Installing Chromium for the browser tests (apt-get install chromium) ..." >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      >/tmp/tally-chromium-install.log 2>&1; then
      echo "Could not install Chromium (see /tmp/tally-chromium-install.log): browser tests skip." >&2
    fi
  fi
}
