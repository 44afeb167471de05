#!/bin/sh
# Install or upgrade replygate as a systemd service (Debian/Ubuntu).
#
#   deploy/install.sh [--binary FILE] [--start] [--root DIR]
#
# Run as root from the repository, after building as an ordinary user:
#   cargo build --release --locked
#
# Idempotent: running it again (e.g. after `git pull` and a rebuild) replaces
# the binary and the unit files, keeps the configuration, the secrets and the
# database, and only re-asserts their owners and modes.
#
#   --binary FILE  the replygate binary (default: target/release/replygate)
#   --start        check the configuration, then enable the service and start
#                  it (restart it when it is already running). Without it the
#                  service is neither enabled nor started.
#   --root DIR     install into DIR instead of / (for packaging and tests):
#                  no systemctl, no check-config.
set -eu

usage() {
    sed -n '2,20s/^# \{0,1\}//p' "$0"
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

say() {
    echo "install.sh: $*"
}

args="$*"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
binary="$repo/target/release/replygate"
start=no
root=""

while [ $# -gt 0 ]; do
    case "$1" in
    --binary)
        [ $# -ge 2 ] || die "--binary needs a file"
        binary=$2
        shift 2
        ;;
    --start)
        start=yes
        shift
        ;;
    --root)
        [ $# -ge 2 ] || die "--root needs a directory"
        root=$(cd "$2" && pwd) || die "--root: $2 is not a directory"
        [ "$root" != "/" ] || root=""
        shift 2
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        die "unknown argument: $1"
        ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root (it writes /usr/bin, /etc/replygate and creates a system user); try: sudo $0 $args"
[ -z "$root" ] || [ "$start" = no ] || die "--start cannot be combined with --root"
[ -f "$binary" ] && [ -x "$binary" ] || die "no executable binary at $binary: build it first as an ordinary user with 'cargo build --release --locked', or pass --binary FILE"
for f in replygate.service template-unit replygate.sysusers replygate.tmpfiles README.md; do
    [ -f "$here/$f" ] || die "missing $here/$f: run this script from a replygate checkout"
done
[ -f "$repo/config/replygate.toml" ] || die "missing $repo/config/replygate.toml (the example configuration)"

etc="$root/etc/replygate"
unitdir="$root/usr/lib/systemd/system"

# Install FILE to DEST with MODE; say whether it changed.
put() {
    mode=$1 src=$2 dest=$3
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        chmod "$mode" "$dest"
        say "unchanged $dest"
    else
        install -D -m "$mode" "$src" "$dest"
        say "installed $dest"
    fi
}

# 1. Binary and system files.
put 0755 "$binary" "$root/usr/bin/replygate"
put 0644 "$here/replygate.sysusers" "$root/usr/lib/sysusers.d/replygate.conf"
put 0644 "$here/replygate.tmpfiles" "$root/usr/lib/tmpfiles.d/replygate.conf"
put 0644 "$here/replygate.service" "$unitdir/replygate.service"
# The template unit (one instance per mailbox), generated from the same unit.
tmpl=$(mktemp)
"$here/template-unit" "$here/replygate.service" >"$tmpl"
put 0644 "$tmpl" "$unitdir/replygate@.service"
rm -f "$tmpl"
put 0644 "$here/README.md" "$root/usr/share/doc/replygate/README.md"

# 2. The system user (static, from sysusers.d).
if command -v systemd-sysusers >/dev/null 2>&1; then
    if [ -n "$root" ]; then
        install -d -m 0755 "$root/etc"
        systemd-sysusers --root="$root" replygate.conf
    else
        systemd-sysusers replygate.conf
    fi
else
    [ -z "$root" ] || die "systemd-sysusers is needed for --root (apt-get install systemd)"
    id replygate >/dev/null 2>&1 ||
        adduser --system --group --home /var/lib/replygate --no-create-home \
            --gecos "replygate mailbox gateway" replygate
fi
# The group's number, looked up in the target's own /etc/group (--root).
gid=$(awk -F: '$1 == "replygate" { print $3 }' "$root/etc/group")
[ -n "$gid" ] || die "the replygate group does not exist in $root/etc/group"

# 3. Configuration directory, config and secrets. Nothing existing is
#    overwritten; only owners and modes are set.
install -d -m 0750 -o 0 -g "$gid" "$etc"
chown 0:"$gid" "$etc"
chmod 0750 "$etc"
cfg="$etc/replygate.toml"
if [ -f "$cfg" ]; then
    say "kept $cfg"
    # An absolute path to a root-only secret cannot be read by the service
    # user: with LoadCredential= the config must name the credential.
    if grep -Eq '^[[:space:]]*password_file[[:space:]]*=[[:space:]]*"/' "$cfg"; then
        say "WARNING: $cfg uses an absolute password_file; the service reads"
        say "  secrets through LoadCredential=, so write them relative:"
        say "  password_file = \"imap-password\" and password_file = \"smtp-password\""
    fi
else
    # The example, with the passwords read through LoadCredential=.
    tmp=$(mktemp)
    sed -E 's|^([[:space:]]*password_file[[:space:]]*=[[:space:]]*)"/etc/replygate/([a-z]+-password)"|\1"\2"|' \
        "$repo/config/replygate.toml" >"$tmp"
    install -m 0640 -o 0 -g "$gid" "$tmp" "$cfg"
    rm -f "$tmp"
    say "installed $cfg from config/replygate.toml: EDIT it (lines marked EDIT)"
fi
chown 0:"$gid" "$cfg"
chmod 0640 "$cfg"

for s in imap-password smtp-password; do
    f="$etc/$s"
    if [ -f "$f" ]; then
        say "kept $f"
    else
        # An empty placeholder: LoadCredential= needs the file to exist, and
        # check-config says plainly that it is empty.
        install -m 0600 -o 0 -g 0 /dev/null "$f"
        say "created empty $f: write the password into it (printf '%s' 'secret' > $f)"
    fi
    chown 0:0 "$f"
    chmod 0600 "$f"
done

# 4. State directory (systemd would create it at start; creating it now lets
#    check-config and `sudo -u replygate replygate status` work at once).
if command -v systemd-tmpfiles >/dev/null 2>&1; then
    if [ -n "$root" ]; then
        systemd-tmpfiles --root="$root" --create replygate.conf
    else
        systemd-tmpfiles --create replygate.conf
    fi
else
    install -d -m 0700 -o replygate -g replygate "$root/var/lib/replygate"
fi

[ -z "$root" ] || {
    say "done (into $root; systemctl and check-config skipped)"
    exit 0
}

# 5. systemd.
if [ ! -d /run/systemd/system ]; then
    say "systemd is not running here: skipped daemon-reload/enable/start"
    exit 0
fi
systemctl daemon-reload

if [ "$start" = no ]; then
    say "installed. Next:"
    say "  edit $cfg and the password files, then"
    say "  replygate -c $cfg check-config"
    if systemctl -q is-active replygate; then
        say "  systemctl restart replygate   (it is running the old binary)"
    else
        say "  systemctl enable --now replygate   (or run this script with --start)"
    fi
    exit 0
fi

if ! /usr/bin/replygate -c "$cfg" check-config; then
    die "check-config failed: fix $cfg or the password files, then run again with --start"
fi
if systemctl -q is-active replygate; then
    systemctl enable replygate
    systemctl restart replygate
    say "restarted replygate"
else
    systemctl enable --now replygate
    say "started replygate"
fi
systemctl --no-pager status replygate || true
