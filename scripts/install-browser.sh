#!/usr/bin/env bash
# Install headless Chromium (Debian package) for the browser tests of the clinician reports.
# Idempotent and quiet; never fails: if Chromium cannot be installed it says why, loudly, and exits 0
# (the browser tests then skip with a reason).
set -u

find_browser() {
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  done
  return 1
}

if path=$(find_browser); then
  echo ">> headless browser present: $path"
  exit 0
fi

loud() {
  echo "!! ============================================================" >&2
  echo "!! headless Chromium NOT installed: $1" >&2
  echo "!! the browser tests of tests/report/ will be SKIPPED." >&2
  echo "!! fix: install the Debian package 'chromium' (apt-get install chromium)." >&2
  echo "!! ============================================================" >&2
  exit 0
}

command -v apt-get >/dev/null 2>&1 || loud "apt-get not available on this system"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    loud "not root and no password-less sudo"
  fi
fi

echo ">> installing Debian chromium (one time, about a minute)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || loud "apt-get update failed (offline?)"
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1 \
  || loud "apt-get install chromium failed"
path=$(find_browser) || loud "package installed but no chromium binary on PATH"
echo ">> headless browser installed: $path"
exit 0
