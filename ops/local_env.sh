# Sourced by ops/app.sh and ops/main.sh: the environment the app processes run in on this machine.
#
# DEBUG is off unless asked for (DJANGO_DEBUG=1). With DEBUG off, cap01/settings.py demands a
# secret key and the Neo4j password from the environment; here they come from the local
# services: the key is generated once and kept in $CAP01_SERVICES_DIR/secret_key (mode 600, so
# sessions survive restarts), the password is the one ops/services.sh generated for the local
# Neo4j. Values already in the environment win. Cookies are not marked Secure
# (CAP01_SECURE_COOKIES=0): the app serves plain HTTP on 127.0.0.1; behind TLS, set it to 1.
local_env() {
  : "${CAP01_SERVICES_DIR:?}" "${ROOT:?}"
  export DJANGO_DEBUG="${DJANGO_DEBUG:-0}"
  if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
    local key_file="$CAP01_SERVICES_DIR/secret_key" tmp
    if [ ! -s "$key_file" ]; then
      mkdir -p "$CAP01_SERVICES_DIR"
      tmp="$(mktemp "$key_file.XXXXXX")"  # mode 600 from the start
      "$ROOT/.venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))' > "$tmp"
      ln "$tmp" "$key_file" 2>/dev/null || true  # atomic; a key another process made first stays
      rm -f "$tmp"
    fi
    chmod 600 "$key_file"
    DJANGO_SECRET_KEY="$(cat "$key_file")"
    export DJANGO_SECRET_KEY
  fi
  if [ -z "${NEO4J_PASSWORD:-}" ] && [ -s "$CAP01_SERVICES_DIR/neo4j/password" ]; then
    NEO4J_PASSWORD="$(cat "$CAP01_SERVICES_DIR/neo4j/password")"
    export NEO4J_PASSWORD
  fi
  export CAP01_SECURE_COOKIES="${CAP01_SECURE_COOKIES:-0}"
}
