#!/usr/bin/env bash
# Sourced by ./switchboard. Makes a fresh machine (Node 20 + npm only) ready: Node 24 LTS and pnpm
# from the npm registry into .tools/, the workspace's dependencies, and - when asked - the Debian
# packages the tests use. Idempotent and quiet when everything is already in place.
set -euo pipefail

SB_ROOT="${SB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SB_NODE_VERSION="24.21.0"
SB_PNPM_VERSION="10.34.9"
SB_TOOLS="$SB_ROOT/.tools"

sb_log() { printf '\033[2m[switchboard]\033[0m %s\n' "$*" >&2; }

sb_ensure_node() {
  local want="v$SB_NODE_VERSION"
  if [ "$("$SB_TOOLS/node_modules/.bin/node" --version 2>/dev/null || true)" != "$want" ] ||
     [ "$("$SB_TOOLS/node_modules/.bin/node" "$SB_TOOLS/node_modules/pnpm/bin/pnpm.cjs" --version 2>/dev/null || true)" != "$SB_PNPM_VERSION" ]; then
    command -v npm >/dev/null || { echo "npm is required to install Node $SB_NODE_VERSION (install Node.js and npm first)" >&2; exit 1; }
    sb_log "installing Node $SB_NODE_VERSION and pnpm $SB_PNPM_VERSION from the npm registry into .tools/"
    mkdir -p "$SB_TOOLS"
    [ -f "$SB_TOOLS/package.json" ] || echo '{"private":true}' > "$SB_TOOLS/package.json"
    npm install --prefix "$SB_TOOLS" --no-save --no-audit --no-fund --loglevel=error \
      "node@$SB_NODE_VERSION" "pnpm@$SB_PNPM_VERSION" >&2
  fi
  export PATH="$SB_TOOLS/node_modules/.bin:$SB_ROOT/node_modules/.bin:$PATH"
}

sb_ensure_deps() {
  # pnpm skips the work when the lockfile and node_modules already agree.
  (cd "$SB_ROOT" && pnpm install --frozen-lockfile --prefer-offline --reporter=silent) >&2
}

# Debian packages for the test suite: a real PostgreSQL server, Chromium for the browser tests, and
# docker-compose to validate docker-compose.yml (it parses and resolves the file without an engine).
sb_ensure_debian_test_packages() {
  local missing=()
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  sb_log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
