# Sourced by scripts/run and scripts/test: make .venv match a lock file (only when it changed).
# Needs only Python 3.11+ on PATH (or $PYTHON).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

bootstrap() {  # bootstrap <lock file> <stamp name>
  local lock="$ROOT/$1" stamp="$VENV/.installed-$2" python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Slack Analyst needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    exit 1
  fi
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
  local want
  want="$(cat "$lock" "$ROOT/pyproject.toml" | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing dependencies from $1 …" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lock"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT"
    echo "$want" > "$stamp"
  fi
}
