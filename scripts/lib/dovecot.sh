# scripts/lib/dovecot.sh: the throwaway Dovecot's config for scripts/demo and
# scripts/bench-*, sourced by them. The config itself is
# tests/support/dovecot.conf.in, shared with the tests (tests/support/dovecot.rs
# fills it in the same way).

DOVECOT_CONF_IN="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/support/dovecot.conf.in"

# dovecot_conf BASE_DIR IMAP_PORT IMAPS_PORT [EXTRA]: print the config.
# IMAPS_PORT 0: no TLS listener and no TLS (no cert.pem needed); EXTRA: more
# config lines, placed last.
dovecot_conf() {
    local ssl=yes tls=
    if [ "$3" = 0 ]; then ssl=no; tls='#'; fi
    { [ -z "${4:-}" ] || printf '%s\n' "$4"; } |
        sed -e "s|@BASE_DIR@|$1|g" -e "s|@IMAP_PORT@|$2|g" -e "s|@IMAPS_PORT@|$3|g" \
            -e "s|@SSL@|$ssl|g" -e "s|^@TLS@|$tls|" \
            -e '/^@EXTRA@$/{r /dev/stdin' -e 'd;}' "$DOVECOT_CONF_IN"
}
