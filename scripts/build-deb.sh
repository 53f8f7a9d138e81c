#!/usr/bin/env bash
# Builds a Debian package of chainops with dpkg-deb (no other tool needed):
#   scripts/build-deb.sh [--binary PATH] [--out DIR] [--fast]
# --binary  the chainops binary to package (default target/release/chainops: build it with
#           `cargo build --release --locked -p chainops`)
# --out     where the .deb goes (default dist/)
# --fast    gzip -1 instead of xz (the test suite packages a large debug binary)
# The package holds /usr/bin/chainops, the hardened systemd unit, /etc/chainops/chainops.toml
# (a conffile), man pages, shell completions, the Grafana dashboards and the Prometheus rule
# file; postinst creates the chainops system user. Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
# Directories in the package are 0755 whatever the caller's umask.
umask 022
bin=target/release/chainops
out=dist
compress=(-Zxz)
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --fast) compress=(-Zgzip -z1); shift ;;
    *) echo "build-deb.sh: unknown argument $1 (use --binary PATH, --out DIR, --fast)" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "build-deb.sh: $bin is not an executable; build it with: cargo build --release --locked -p chainops" >&2; exit 2; }
version=$("$bin" version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
install -D -m 0755 "$bin" "$stage/usr/bin/chainops"
install -D -m 0644 deploy/debian/chainops.service "$stage/lib/systemd/system/chainops.service"
install -D -m 0640 deploy/debian/chainops.toml "$stage/etc/chainops/chainops.toml"
# chainops writes its files private (umask 077): the directory first, modes fixed after.
install -d "$stage/usr/share/man/man1"
"$bin" man --out-dir "$stage/usr/share/man/man1" >/dev/null
gzip -9n "$stage"/usr/share/man/man1/*.1
chmod 0644 "$stage"/usr/share/man/man1/*.gz
install -d "$stage/usr/share/bash-completion/completions" "$stage/usr/share/zsh/vendor-completions" \
  "$stage/usr/share/fish/vendor_completions.d"
"$bin" completions bash > "$stage/usr/share/bash-completion/completions/chainops"
"$bin" completions zsh > "$stage/usr/share/zsh/vendor-completions/_chainops"
"$bin" completions fish > "$stage/usr/share/fish/vendor_completions.d/chainops.fish"
install -d "$stage/usr/share/chainops/grafana"
install -m 0644 deploy/grafana/* "$stage/usr/share/chainops/grafana/"
install -D -m 0644 README.md "$stage/usr/share/doc/chainops/README.md"
gzip -9n -c CHANGELOG.md > "$stage/usr/share/doc/chainops/changelog.gz"
cp -r docs "$stage/usr/share/doc/chainops/docs"
find "$stage/usr/share/doc/chainops/docs" -type f -exec chmod 0644 {} +
cat > "$stage/usr/share/doc/chainops/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: chainops
License: Apache-2.0

Files: *
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
COPY
install -d -m 0755 "$stage/DEBIAN"
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$stage/DEBIAN/"
echo /etc/chainops/chainops.toml > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: chainops
Version: $version
Architecture: $arch
Maintainer: chainops developers <chainops@localhost>
Installed-Size: $size
Depends: libc6, passwd
Suggests: postgresql, prometheus
Section: net
Priority: optional
Homepage: https://example.invalid/chainops
Description: operations platform for blockchain nodes
 One daemon that monitors EVM, Bitcoin-family and Monero nodes, alerts with incidents and
 notifications, audits Solidity, load-tests chains, takes deduplicated encrypted backups with
 restore drills, and runs a support desk with a public status page.
CONTROL
mkdir -p "$out"
deb="$out/chainops_${version}_${arch}.deb"
dpkg-deb --root-owner-group "${compress[@]}" --build "$stage" "$deb" >/dev/null
echo "$deb"
