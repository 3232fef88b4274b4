#!/usr/bin/env bash
# Build the LOCAL runtime base for the sidekick image, with no registry: a distroless-style rootfs holding
# just Debian's Python 3.11 interpreter, the part of its stdlib a network daemon can use, the shared
# libraries those need and a CA bundle. No shell, no package manager, no coreutils.
#
# Debian packages are fetched with `apt-get download` (the apt mirror is reachable), unpacked with
# `dpkg-deb -x` (no maintainer scripts run), pruned, byte-compiled by the rootfs's own interpreter and
# committed with buildah. Cached: the image tag is a hash of this script and the exact package versions, so
# it is rebuilt only when either changes. Prints the image reference on stdout.
set -euo pipefail
# shellcheck source=scripts/image-common.sh
source "$(dirname "$0")/image-common.sh"

# Runtime closure of python3.11: interpreter, stdlib, libc, TLS, compression, ffi, uuid, CA certificates.
# Left out on purpose (their stdlib modules are removed below): sqlite3, dbm/gdbm, readline/ncurses,
# libnsl/libtirpc (nis), libcrypt (crypt), tzdata (zoneinfo falls back to UTC), media-types.
PACKAGES=(
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib
  libc6 libgcc-s1 libssl3 libffi8 zlib1g libexpat1 libbz2-1.0 liblzma5 libuuid1 ca-certificates
)
NONROOT_UID=65532

ensure_tools buildah=buildah dpkg-deb=dpkg readelf=binutils apt-get=apt

# Exact candidate versions: the cache key, and what we download.
resolve_versions() {
  apt-cache policy "${PACKAGES[@]}" | awk '/^[^ ]/{p=$1; sub(":$","",p)} /Candidate:/{print p"="$2}'
}
versions="$(resolve_versions)"
if grep -q '=(none)' <<<"$versions" || [ "$(wc -l <<<"$versions")" -ne ${#PACKAGES[@]} ]; then
  log "apt lists lack some packages; running apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  versions="$(resolve_versions)"
  grep -q '=(none)' <<<"$versions" && die "no candidate for: $(grep '=(none)' <<<"$versions" | tr '\n' ' ')"
fi
key="$( { cat "$0" "$(dirname "$0")/image-common.sh"; sort <<<"$versions"; } | short_hash)"
ref="localhost/vaultconf/python-base:$key"
if have_image "$ref"; then
  log "base $ref cached"
  echo "$ref"
  exit 0
fi

log "building base $ref from: $(tr '\n' ' ' <<<"$versions")"
debs="$IMAGE_CACHE/debs"
mkdir -p "$debs"
stage="$(mktemp -d "$IMAGE_STATE/base-rootfs.XXXXXX")"
ctr=""
cleanup() {
  [ -n "$ctr" ] && bh rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$stage"
}
trap cleanup EXIT
root="$stage/rootfs"
mkdir -p "$root"

# `apt-get download` keeps the .debs for the next cold build; -o APT::Sandbox::User=root because the
# cache dir is not readable by _apt.
(cd "$debs" && apt-get download -q -o APT::Sandbox::User=root $versions >/dev/null)
while read -r pv; do
  p="${pv%%=*}"; v="${pv#*=}"
  f="$(ls "$debs/${p}_${v//:/%3a}_"*.deb 2>/dev/null | head -n1)"
  [ -n "$f" ] || die "downloaded .deb for $pv not found in $debs"
  dpkg-deb -x "$f" "$root"
done <<<"$versions"

# --- prune -------------------------------------------------------------------------------------------
py="$root/usr/lib/python3.11"
# Binaries: only the interpreter. (libc6 ships ldd, iconv, getent, ldconfig...; none is needed.)
find "$root/usr/bin" "$root/usr/sbin" "$root/sbin" "$root/bin" -mindepth 1 ! -name python3.11 -delete \
  2>/dev/null || true
ln -s python3.11 "$root/usr/bin/python3"
rm -rf "$root/usr/libexec" "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" \
  "$root/usr/share/lintian" "$root/usr/share/locale" "$root/usr/share/binfmts" \
  "$root/usr/lib/x86_64-linux-gnu/gconv" "$root/usr/lib/x86_64-linux-gnu/engines-3" \
  "$root/usr/lib/x86_64-linux-gnu/ossl-modules" "$root/etc/ca-certificates" "$root/etc/ld.so.conf.d"
# stdlib: tests, GUI, REPL/dev tooling, packaging bootstraps, docs data, modules whose C library is left out.
rm -rf "$py"/{test,idlelib,tkinter,turtledemo,ensurepip,lib2to3,pydoc_data,distutils,venv,sqlite3,curses,dbm} \
  "$py"/{turtle.py,antigravity.py,this.py,__hello__.py,__phello__,_aix_support.py,_osx_support.py} \
  "$py"/{sitecustomize.py,EXTERNALLY-MANAGED,LICENSE.txt,crypt.py,_distutils_system_mod.py} \
  "$root/etc/python3.11/sitecustomize.py"
find "$py" -depth -type d \( -name tests -o -name test -o -name idle_test \) -exec rm -rf {} +
# Developer tools and protocols/formats a secrets sidecar never speaks; pure-Python fallbacks of C modules.
rm -rf "$py"/{unittest,multiprocessing,xmlrpc,wsgiref,pydoc.py,doctest.py,pdb.py,bdb.py,profile.py} \
  "$py"/{cProfile.py,pstats.py,trace.py,tabnanny.py,pyclbr.py,timeit.py,modulefinder.py,pickletools.py} \
  "$py"/{zipapp.py,mailbox.py,imaplib.py,nntplib.py,poplib.py,smtplib.py,smtpd.py,telnetlib.py} \
  "$py"/{ftplib.py,cgi.py,cgitb.py,xdrlib.py,aifc.py,sunau.py,wave.py,chunk.py,sndhdr.py,imghdr.py} \
  "$py"/{pipes.py,mailcap.py,uu.py,asynchat.py,asyncore.py,nis.py,_pydecimal.py,_pyio.py,webbrowser.py} \
  "$py"/{turtle.py,lib-dynload/_lsprof.*.so,lib-dynload/_posixshmem.*.so} \
  "$py"/lib-dynload/_multiprocessing.*.so
# Encodings: the CJK multibyte codecs (and their C module) are the bulk; UTF-8/Latin/cp* stay.
rm -f "$py"/encodings/{big5,big5hkscs,cp932,cp949,cp950,euc_jis_2004,euc_jisx0213,euc_jp,euc_kr}.py \
  "$py"/encodings/{gb18030,gb2312,gbk,hz,johab,shift_jis,shift_jis_2004,shift_jisx0213}.py \
  "$py"/encodings/iso2022_*.py
# ...and legacy 8-bit code pages (Mac, DOS, KOI8, ...). Kept: UTF-*, ASCII, Latin-1, ISO-8859-*, cp1252,
# cp437 and the codecs the stdlib itself uses (idna, punycode, *_escape, charmap, base64/hex/zlib/bz2...).
find "$py/encodings" -maxdepth 1 -type f \( -name 'mac_*.py' -o -name 'koi8_*.py' -o -name 'kz1048.py' \
  -o -name 'ptcp154.py' -o -name 'tis_620.py' -o -name 'hp_roman8.py' -o -name 'palmos.py' \
  -o -name 'mbcs.py' -o -name 'oem.py' -o \( -name 'cp*.py' ! -name cp1252.py ! -name cp437.py \) \) -delete
dyn="$py/lib-dynload"
rm -f "$dyn"/_codecs_*.so "$dyn"/_multibytecodec.*.so "$dyn"/_test*.so "$dyn"/_ctypes_test.*.so \
  "$dyn"/xxlimited*.so "$dyn"/_xx*.so "$dyn"/ossaudiodev.*.so "$dyn"/audioop.*.so

# Shared libraries: keep the NEEDED closure of the interpreter and the remaining extension modules; drop
# extension modules whose library was left out (readline, curses, dbm, sqlite, nis, crypt).
libdirs=("$root/lib/x86_64-linux-gnu" "$root/usr/lib/x86_64-linux-gnu")
find_lib() {
  local d
  for d in "${libdirs[@]}"; do [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }; done
  return 1
}
needed_of() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
for so in "$dyn"/*.so; do
  for n in $(needed_of "$so"); do
    find_lib "$n" >/dev/null || { rm -f "$so"; break; }
  done
done
# libgcc_s: dlopen'ed by pthread_cancel. libpthread/libdl/librt/libutil: empty since glibc 2.34, but
# manylinux wheels (PyYAML, MarkupSafe) still link them; a few KB each.
declare -A keep=([ld-linux-x86-64.so.2]=1 [libgcc_s.so.1]=1 [libpthread.so.0]=1 [libdl.so.2]=1
                 [librt.so.1]=1 [libutil.so.1]=1)
queue=("$root/usr/bin/python3.11" "$dyn"/*.so)
while [ ${#queue[@]} -gt 0 ]; do
  f="${queue[0]}"; queue=("${queue[@]:1}")
  for n in $(needed_of "$f"); do
    [ -n "${keep[$n]:-}" ] && continue
    keep[$n]=1
    lib="$(find_lib "$n")" || die "$f needs $n, which no package provides"
    queue+=("$(readlink -f "$lib")")
  done
done
declare -A keep_real=()
for k in "${!keep[@]}"; do
  p="$(find_lib "$k")" && keep_real[$(readlink -f "$p")]=1
done
for d in "${libdirs[@]}"; do
  for f in "$d"/*; do
    if [ -d "$f" ] && [ ! -L "$f" ]; then rm -rf "$f"; continue; fi
    [ -n "${keep[$(basename "$f")]:-}" ] || [ -n "${keep_real[$f]:-}" ] || rm -f "$f"
  done
done

# CA bundle (what update-ca-certificates would generate), where OpenSSL and Python look by default.
mkdir -p "$root/etc/ssl/certs" "$root/usr/lib/ssl"
find "$root/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat \
  > "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root/usr/share/ca-certificates"
ln -s /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem"
ln -s /etc/ssl/certs "$root/usr/lib/ssl/certs"
rmdir "$root/usr/share" 2>/dev/null || true

# Accounts, name service, mount points for runtimes. No login shell exists, so none is named.
mkdir -p "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:$NONROOT_UID:$NONROOT_UID:nonroot:/nonexistent:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
nonroot:x:$NONROOT_UID:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
cat >"$root/etc/os-release" <<EOF
PRETTY_NAME="vaultconf python base (Debian $DEBIAN_SUITE packages)"
ID=vaultconf-python-base
ID_LIKE=debian
EOF

# Byte-compile the stdlib with the rootfs's own interpreter (chroot), so nothing is ever written at runtime
# and a read-only root filesystem costs no startup time. unchecked-hash: valid regardless of file mtimes.
chroot "$root" /usr/bin/python3.11 -I -m compileall -q --invalidation-mode unchecked-hash \
  /usr/lib/python3.11 >/dev/null \
  || die "byte-compiling the stdlib failed"
chroot "$root" /usr/bin/python3.11 -I -c 'import ssl, hashlib, json, http.client, urllib.request, \
  logging, zlib, bz2, lzma, ctypes, uuid, decimal, socket, select, signal, threading, asyncio, \
  email.message, http.server, encodings.idna, pyexpat, concurrent.futures, pickle, tempfile, \
  subprocess, base64, hmac, secrets, configparser, csv, zipfile, shlex, string, datetime, ipaddress, \
  argparse, dataclasses, typing, pathlib, socketserver, urllib.parse, xml.etree.ElementTree' \
  || die "the pruned interpreter cannot import a core module"
find "$root" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} + 2>/dev/null || true

# --- commit ------------------------------------------------------------------------------------------
ctr="$(bh from scratch)"
mnt="$(bh mount "$ctr")"
cp -a "$root/." "$mnt/"
bh umount "$ctr" >/dev/null
bh config \
  --user "$NONROOT_UID:$NONROOT_UID" \
  --env PATH=/usr/bin \
  --env LANG=C.UTF-8 \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --entrypoint '["/usr/bin/python3"]' \
  --cmd '' \
  --label org.opencontainers.image.title=vaultconf-python-base \
  --label "org.opencontainers.image.description=Distroless-style Python 3.11 from Debian $DEBIAN_SUITE packages" \
  --label "org.opencontainers.image.base.packages=$(tr '\n' ' ' <<<"$versions")" \
  "$ctr"
bh commit -q --rm "$ctr" "$ref" >/dev/null
ctr=""
log "base $ref built"
echo "$ref"
