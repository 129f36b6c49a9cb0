# Shared helpers for the scripts in this folder: make sure the services Stevedore needs are there.
# Sourced, not run. Works on a fresh Debian machine as root (installs what is missing) and on a prepared one.

STEVEDORE_STATE="${STEVEDORE_STATE:-${TMPDIR:-/tmp}/stevedore}"
mkdir -p "$STEVEDORE_STATE"

log() { printf '[stevedore] %s\n' "$*" >&2; }

ensure_curl() { command -v curl >/dev/null 2>&1 || apt_install curl; }

# wrk, the HTTP load generator the benchmarks drive the API with (Debian's package).
ensure_wrk() { command -v wrk >/dev/null 2>&1 || apt_install wrk; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then log "need root to install ${missing[*]}"; return 1; fi
  if [ ! -f "$STEVEDORE_STATE/apt-updated" ]; then
    apt-get update -qq >/dev/null && touch "$STEVEDORE_STATE/apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Installs Debian's Chromium for the browser tests (driven by Playwright, which never downloads a browser here).
ensure_chromium() {
  if [ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ]; then return 0; fi
  apt_install chromium
}

# Starts Docker Engine unless one answers already.
ensure_docker() {
  if docker version >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  log "starting dockerd"
  nohup dockerd >"$STEVEDORE_STATE/dockerd.log" 2>&1 &
  for _ in $(seq 1 100); do
    docker version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "dockerd did not come up; see $STEVEDORE_STATE/dockerd.log"
  return 1
}

# Builds the local busybox image jobs use in the demo and tests (no public registry is needed).
# Usage: ensure_busybox_image NAME:TAG
ensure_busybox_image() {
  local image="$1"
  # The shim of pre-started containers too (Stevedore:Docker:Spares:Shim): a static busybox on the host.
  [ -x /bin/busybox ] || apt_install busybox-static
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  local root
  root="$(mktemp -d)"
  mkdir -p "$root/bin" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - "$image" >/dev/null
  rm -rf "$root"
  log "built image $image"
}

# Starts a local registry on 127.0.0.1:5000 unless one answers already.
ensure_registry() {
  ensure_curl
  if curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then return 0; fi
  command -v docker-registry >/dev/null 2>&1 || apt_install docker-registry
  mkdir -p "$STEVEDORE_STATE/registry"
  cat >"$STEVEDORE_STATE/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $STEVEDORE_STATE/registry
http:
  addr: 127.0.0.1:5000
YAML
  log "starting a local registry on 127.0.0.1:5000"
  nohup docker-registry serve "$STEVEDORE_STATE/registry.yml" >"$STEVEDORE_STATE/registry.log" 2>&1 &
  for _ in $(seq 1 100); do
    curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "the registry did not come up; see $STEVEDORE_STATE/registry.log"
  return 1
}

# Starts a throwaway PostgreSQL for tests on 127.0.0.1:$STEVEDORE_PG_PORT (default 55433, trust auth, user
# postgres) unless one answers there already. Its data lives under $STEVEDORE_STATE/pg.
STEVEDORE_PG_PORT="${STEVEDORE_PG_PORT:-55433}"
ensure_postgres() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ]; then apt_install postgresql; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"; fi
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$STEVEDORE_PG_PORT" 2>/dev/null; then return 0; fi
  log "starting PostgreSQL on 127.0.0.1:$STEVEDORE_PG_PORT"
  pg_instance start "$STEVEDORE_PG_PORT"
}

# pg_instance start|stop|destroy PORT: a PostgreSQL server of its own on 127.0.0.1:PORT, for tests that take a
# database away and bring it back; destroy stops it and deletes its data. Its data and socket live in
# $(pg_root)/pg-PORT ($(pg_root)/pg for the test server on $STEVEDORE_PG_PORT).
pg_instance() {
  local action="$1" port="$2" bin dir
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ]; then apt_install postgresql; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"; fi
  if [ "$port" = "$STEVEDORE_PG_PORT" ]; then dir="$(pg_root)/pg"; else dir="$(pg_root)/pg-$port"; fi
  mkdir -p "$dir"
  chown postgres "$dir"
  case "$action" in
    start)
      if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_postgres "$bin/initdb" -D "$dir/data" -A trust --no-sync >/dev/null
      fi
      as_postgres "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null ;;
    stop)
      as_postgres "$bin/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null ;;
    destroy)
      if [ -f "$dir/data/postmaster.pid" ]; then as_postgres "$bin/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null || true; fi
      rm -rf "$dir" ;;
  esac
}

# docker_instance start|kill|destroy DIR: a Docker Engine of its own, for a soak that kills and restarts it, beside the
# shared one and never touching it: its socket (DIR/docker.sock), data, exec root (with its own containerd) and pidfile
# live in DIR; its containers sit on a bridge of its own; it leaves iptables and IP forwarding alone. start loads
# nothing (see docker_instance_image); kill is a kill -9 of the daemon (its containers' shims live on; a start
# afterwards finds them); destroy removes its containers, stops it, unmounts and deletes DIR and its bridge.
docker_instance() {
  local action="$1" dir="$2" bridge subnet pid
  bridge="stv$(printf '%s' "$dir" | md5sum | cut -c1-8)"
  subnet="10.213.$(( 16#$(printf '%s' "$dir" | md5sum | cut -c9-10) )).1/24"
  case "$action" in
    start)
      mkdir -p "$dir"
      if ! ip link show "$bridge" >/dev/null 2>&1; then
        ip link add "$bridge" type bridge && ip addr add "$subnet" dev "$bridge" && ip link set "$bridge" up
      fi
      # A daemon killed with -9 leaves its pidfile, and a new one refuses to start over it.
      rm -f "$dir/docker.pid"
      (setsid dockerd --host "unix://$dir/docker.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
        --pidfile "$dir/docker.pid" --bridge "$bridge" --iptables=false --ip-masq=false --ip-forward=false \
        >>"$dir/dockerd.log" 2>&1 </dev/null &)
      for _ in $(seq 1 150); do
        docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1 && return 0
        sleep 0.2
      done
      log "the engine in $dir did not come up; see $dir/dockerd.log"
      return 1 ;;
    kill)
      pid="$(cat "$dir/docker.pid" 2>/dev/null)" || return 0
      kill -9 "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
      # Its containerd dies with it, a moment later; a daemon started before then would take it for a live one.
      pid="$(cat "$dir/exec/containerd/containerd.pid" 2>/dev/null)" || return 0
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true ;;
    destroy)
      [ -d "$dir" ] || return 0
      # A killed engine's containers live on under their shims: a started engine stops them, then they are removed.
      if ! docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1; then docker_instance start "$dir" || true; fi
      docker -H "unix://$dir/docker.sock" ps -aq | xargs -r docker -H "unix://$dir/docker.sock" rm -f >/dev/null 2>&1 || true
      pid="$(cat "$dir/docker.pid" 2>/dev/null)" || pid=""
      if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
      fi
      # A container a killed daemon was starting can keep a shim the next daemon never learns of: end those too.
      local cmdline
      for cmdline in /proc/[0-9]*/cmdline; do
        if tr '\0' ' ' 2>/dev/null <"$cmdline" | grep -qF -- "-address $dir/exec/containerd/containerd.sock"; then
          pid="${cmdline#/proc/}"
          kill -9 "${pid%/cmdline}" 2>/dev/null || true
        fi
      done
      awk -v root="$dir/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n 1 umount -l 2>/dev/null || true
      rm -rf "$dir"
      ip link del "$bridge" 2>/dev/null || true ;;
  esac
}

# docker_instance_image DIR IMAGE: copies IMAGE from the shared engine into the engine of docker_instance DIR.
docker_instance_image() {
  docker save "$2" | docker -H "unix://$1/docker.sock" load -q >/dev/null
}

# Runs a command as user postgres from /, so it never depends on the caller's folder (a checkout may sit where only
# root can enter).
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# Where PostgreSQL data and sockets live: $STEVEDORE_STATE when user postgres can reach it, else a folder of its own
# in /tmp. Never inside the checkout.
pg_root() {
  chmod 755 "$STEVEDORE_STATE" 2>/dev/null || true
  if as_postgres test -x "$STEVEDORE_STATE" 2>/dev/null; then
    printf '%s' "$STEVEDORE_STATE"
  else
    mkdir -p /tmp/stevedore-pg && chmod 755 /tmp/stevedore-pg
    printf '%s' /tmp/stevedore-pg
  fi
}
# Removes the containers of one test run's worker nodes (named it-RUN-…) that its tests left behind, e.g. when a test
# host crashed; containers of other runs and of anything else are not touched.
sweep_test_containers() {
  local run="$1" ids
  # One listing with the labels (no inspect after it: a container removed between the two made the pipeline fail,
  # and under `set -e` that ended the caller before its summary line). A failed listing removes nothing.
  ids=$(docker ps -a --filter label=stevedore.node --format '{{.ID}} {{.Label "stevedore.node"}}' 2>/dev/null \
    | awk -v prefix="it-$run-" 'index($2, prefix) == 1 { print $1 }') || ids=""
  if [ -n "$ids" ]; then
    log "removing $(wc -w <<<"$ids") containers the test run left behind"
    docker rm -f $ids >/dev/null || true
  fi
}

export STEVEDORE_TEST_POSTGRES="Host=127.0.0.1;Port=$STEVEDORE_PG_PORT;Username=postgres"
