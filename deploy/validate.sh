#!/usr/bin/env bash
# Offline checks of deploy/: runs every check whose tool is present, prints why the others
# were skipped, exits 1 if any check that ran failed. Needs no daemon, cluster or network.
#   bash deploy/validate.sh            (from anywhere)
# Optional tools (Debian 12): python3-yaml, yamllint, python3-kubernetes, kubectl,
# docker-compose (or the docker compose plugin), binutils + dpkg + apt for the image check.
# DNOSCOPE_BINARY=path checks the Dockerfile's runtime packages against that binary
# (default: the first of build/release, build/lead under the repo root).
set -uo pipefail

if [ -n "${DNOSCOPE_BINARY:-}" ]; then DNOSCOPE_BINARY="$(realpath "$DNOSCOPE_BINARY")"; fi
DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$DEPLOY")"
cd "$DEPLOY" || exit 2

failed=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failed=1; }
skip() { echo "SKIP  $*"; }

# A python3 that has PyYAML (the system one first: Debian's python3-* modules live there).
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then PY="$p"; break; fi
done

mapfile -t YAMLS < <(find "$DEPLOY" -name '*.yaml' -o -name '*.yml' | sort)
mapfile -t K8S < <(find "$DEPLOY/k8s" -name '*.yaml' | sort)

# 1. YAML syntax of every YAML file.
if [ -n "$PY" ]; then
  if "$PY" - "${YAMLS[@]}" <<'EOF'
import sys, yaml
for f in sys.argv[1:]:
    with open(f) as fh:
        list(yaml.safe_load_all(fh))
EOF
  then pass "YAML parses: ${#YAMLS[@]} files"; else fail "YAML parse"; fi
else
  skip "YAML parse: no python3 with PyYAML (apt-get install python3-yaml)"
fi

# 2. yamllint (style and duplicate keys).
if command -v yamllint >/dev/null; then
  if yamllint -d '{extends: default, rules: {line-length: {max: 140}, document-start: disable}}' \
      "${YAMLS[@]}"; then
    pass "yamllint"
  else
    fail "yamllint"
  fi
else
  skip "yamllint: not installed (apt-get install yamllint)"
fi

# 3. Compose file model.
if command -v docker-compose >/dev/null; then
  if docker-compose -f compose.yaml config -q; then pass "docker-compose config"; else fail "docker-compose config"; fi
elif docker compose version >/dev/null 2>&1; then
  if docker compose -f compose.yaml config -q; then pass "docker compose config"; else fail "docker compose config"; fi
else
  skip "compose config: neither docker-compose nor the docker compose plugin is installed"
fi

# 4. Kubernetes manifests.
if command -v kubectl >/dev/null; then
  # --local parses and recognizes every object without contacting a cluster.
  if kubectl label --local --dry-run=client -o name -f k8s/ validated=yes >/dev/null; then
    pass "kubectl parses k8s/ offline (kubectl label --local)"
  else
    fail "kubectl label --local -f k8s/"
  fi
  if kubectl get --raw /readyz --request-timeout=3s >/dev/null 2>&1; then
    # Client-side dry run with the cluster's OpenAPI schema: creates nothing.
    if kubectl apply --dry-run=client -f k8s/ >/dev/null; then
      pass "kubectl apply --dry-run=client (schema from the cluster)"
    else
      fail "kubectl apply --dry-run=client"
    fi
  else
    skip "kubectl apply --dry-run=client: no reachable cluster (it needs the API server's schema)"
  fi
else
  skip "kubectl: not installed"
fi
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import kubernetes, yaml' 2>/dev/null; then
  if /usr/bin/python3 "$DEPLOY/check_k8s_schema.py" "${K8S[@]}"; then
    pass "k8s field/type check (python3-kubernetes models)"
  else
    fail "k8s field/type check"
  fi
else
  skip "k8s field/type check: python3-kubernetes not installed (apt-get install python3-kubernetes)"
fi

# 5. Dockerfile runtime packages cover every library the binary links directly.
BIN="${DNOSCOPE_BINARY:-}"
if [ -z "$BIN" ]; then
  for b in "$ROOT/build/release/apps/dnoscope/dnoscope" "$ROOT/build/lead/apps/dnoscope/dnoscope"; do
    if [ -x "$b" ]; then BIN="$b"; break; fi
  done
fi
# Packages the runtime stage installs: the indented "name \" lines after its FROM.
mapfile -t RUNTIME_PKGS < <(awk '/^FROM .* AS runtime/{r=1} r && /^ +[a-z0-9][a-z0-9.+-]* \\$/{print $1}' Dockerfile)
if [ -z "$BIN" ]; then
  skip "runtime packages vs binary: no built dnoscope (set DNOSCOPE_BINARY)"
elif ! command -v readelf >/dev/null || ! command -v dpkg >/dev/null; then
  skip "runtime packages vs binary: readelf or dpkg missing"
else
  missing=()
  ldd_out="$(ldd "$BIN" 2>/dev/null)"
  while read -r lib; do
    # The file the loader picks, as dpkg knows it (merged /usr: either spelling).
    path="$(awk -v l="$lib" '$1 == l && $2 == "=>" {print $3}' <<<"$ldd_out")"
    owner=""
    for f in "$path" "/usr${path}" "${path#/usr}" "$(readlink -f "$path" 2>/dev/null)"; do
      [ -n "$f" ] && owner="$(dpkg -S "$f" 2>/dev/null | head -1 | cut -d: -f1)"
      [ -n "$owner" ] && break
    done
    case "$owner" in
      "") missing+=("$lib(no package owns it)") ;;
      libc6 | libstdc++6 | libgcc-s1) ;;  # in debian:bookworm-slim already
      *) printf '%s\n' "${RUNTIME_PKGS[@]}" | grep -qx "$owner" || missing+=("$lib->$owner") ;;
    esac
  done < <(readelf -d "$BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  if [ ${#missing[@]} -eq 0 ]; then
    pass "runtime packages cover every NEEDED library of $BIN"
  else
    fail "runtime packages miss: ${missing[*]}"
  fi
fi
# ... and resolve on a system with nothing installed (apt simulation, no download).
if ! command -v apt-get >/dev/null; then
  skip "runtime package resolution: apt-get missing"
elif ! apt-cache show libtorch1.13 >/dev/null 2>&1; then
  skip "runtime package resolution: apt lists lack Debian 12 packages (apt-get update)"
else
  empty="$(mktemp)"
  if apt-get -s -o Dir::State::status="$empty" install --no-install-recommends \
      "${RUNTIME_PKGS[@]}" >/dev/null 2>&1; then
    pass "runtime packages resolve from scratch (apt-get -s, ${#RUNTIME_PKGS[@]} packages)"
  else
    fail "apt-get -s install ${RUNTIME_PKGS[*]} from an empty status file"
  fi
  rm -f "$empty"
fi

# 6. Dockerfile lint by BuildKit (needs a daemon and buildx).
if docker buildx version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  if docker build --check -f Dockerfile "$ROOT"; then pass "docker build --check"; else fail "docker build --check"; fi
else
  skip "docker build --check: needs a reachable Docker daemon and the buildx plugin"
fi
if command -v hadolint >/dev/null; then
  if hadolint Dockerfile; then pass "hadolint"; else fail "hadolint"; fi
else
  skip "hadolint: not installed"
fi

if [ "$failed" -ne 0 ]; then echo "validate: FAILED"; exit 1; fi
echo "validate: OK (see SKIP lines for what did not run)"
