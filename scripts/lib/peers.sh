# Shared helpers of the benchmark scripts: source it.

# free_port prints a free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_postgres DIR: starts a private PostgreSQL cluster in DIR on 127.0.0.1
# and prints its URL; stop_postgres DIR stops it by the pid it recorded.
start_postgres() {
  local dir=$1 bin port as=()
  bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/postgres | tail -1)")
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; chmod 755 "$(dirname "$dir")"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync > /dev/null
  port=$(free_port)
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" start > /dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}
stop_postgres() {
  [ -f "$1/data/postmaster.pid" ] && kill -INT "$(head -1 "$1/data/postmaster.pid")" 2> /dev/null || true
}
