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

# The installed versions are read from the packages' manifests: starting node and pnpm just to ask
# their versions cost a third of a second on every command.
sb_installed_version() { sed -n 's/^  "version": "\(.*\)",$/\1/p' "$SB_TOOLS/node_modules/$1/package.json" 2>/dev/null | head -n 1; }

sb_ensure_node() {
  if [ "$(sb_installed_version node)" != "$SB_NODE_VERSION" ] || [ "$(sb_installed_version pnpm)" != "$SB_PNPM_VERSION" ] ||
     [ ! -x "$SB_TOOLS/node_modules/.bin/node" ]; then
    command -v npm >/dev/null || { echo "npm is required to install Node $SB_NODE_VERSION (install Node.js and npm first)" >&2; exit 1; }
    sb_log "installing Node $SB_NODE_VERSION and pnpm $SB_PNPM_VERSION from the npm registry into .tools/"
    mkdir -p "$SB_TOOLS"
    [ -f "$SB_TOOLS/package.json" ] || echo '{"private":true}' > "$SB_TOOLS/package.json"
    npm install --prefix "$SB_TOOLS" --no-save --no-audit --no-fund --loglevel=error \
      "node@$SB_NODE_VERSION" "pnpm@$SB_PNPM_VERSION" >&2
  fi
  export PATH="$SB_TOOLS/node_modules/.bin:$SB_ROOT/node_modules/.bin:$PATH"
}

# What the installed node_modules were made from: the lockfile, every manifest and the pnpm settings.
sb_deps_fingerprint() {
  (cd "$SB_ROOT" && find . -name node_modules -prune -o -name .tools -prune -o -name .git -prune -o \
    \( -name package.json -o -name pnpm-lock.yaml -o -name pnpm-workspace.yaml -o -name .npmrc \) -print |
    LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
}

sb_ensure_deps() {
  # pnpm itself takes about a second to find that nothing changed; a fingerprint of what the last
  # install was made from answers that in a few milliseconds.
  local stamp="$SB_ROOT/node_modules/.switchboard-installed" want
  want="$(sb_deps_fingerprint)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  (cd "$SB_ROOT" && pnpm install --frozen-lockfile --prefer-offline --reporter=silent) >&2
  echo "$want" > "$stamp"
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
