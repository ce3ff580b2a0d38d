# Sourced by ops/app.sh and ops/main.sh: the environment the app processes run in on this machine.
#
# DEBUG is off unless asked for (DJANGO_DEBUG=1). With DEBUG off, cap01/settings.py demands a
# secret key, the hand-off envelopes' HMAC keys and the Neo4j password from the environment;
# here they come from the local services: the secret key and an envelope key are generated once
# and kept in $CAP01_SERVICES_DIR/secret_key and envelope_keys (mode 600, so sessions and runs
# in flight survive restarts, and every process of this machine shares them), the password is
# the one ops/services.sh generated for the local Neo4j. Values already in the environment win. Cookies are not marked Secure
# (CAP01_SECURE_COOKIES=0): the app serves plain HTTP on 127.0.0.1; behind TLS, set it to 1.
# A secret kept in $CAP01_SERVICES_DIR/$1, generated once as "$2" followed by a random token.
local_secret() {
  local key_file="$CAP01_SERVICES_DIR/$1" tmp
  if [ ! -s "$key_file" ]; then
    mkdir -p "$CAP01_SERVICES_DIR"
    tmp="$(mktemp "$key_file.XXXXXX")"  # mode 600 from the start
    "$ROOT/.venv/bin/python" -c "import secrets; print('$2' + secrets.token_urlsafe(50))" > "$tmp"
    ln "$tmp" "$key_file" 2>/dev/null || true  # atomic; a key another process made first stays
    rm -f "$tmp"
  fi
  chmod 600 "$key_file"
  cat "$key_file"
}

local_env() {
  : "${CAP01_SERVICES_DIR:?}" "${ROOT:?}"
  export DJANGO_DEBUG="${DJANGO_DEBUG:-0}"
  if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
    DJANGO_SECRET_KEY="$(local_secret secret_key "")"
    export DJANGO_SECRET_KEY
  fi
  if [ -z "${CAP01_ENVELOPE_KEYS:-}" ]; then
    CAP01_ENVELOPE_KEYS="$(local_secret envelope_keys "local:")"
    export CAP01_ENVELOPE_KEYS
  fi
  if [ -z "${NEO4J_PASSWORD:-}" ] && [ -s "$CAP01_SERVICES_DIR/neo4j/password" ]; then
    NEO4J_PASSWORD="$(cat "$CAP01_SERVICES_DIR/neo4j/password")"
    export NEO4J_PASSWORD
  fi
  export CAP01_SECURE_COOKIES="${CAP01_SECURE_COOKIES:-0}"
}
