#!/usr/bin/env bash
# packaging/test-deb.sh BUILD_DIR: build pghealthd's .deb from a configured and built tree and check it.
#
#   1. cpack -G DEB into a temporary directory;
#   2. dpkg-deb --info: name, version, maintainer, section, Depends, conffiles, maintainer scripts;
#   3. dpkg-deb --contents: the binary, the unit, the config files, the dashboards, the README, and
#      nothing outside those places;
#   4. dpkg-deb -x into a scratch root: the extracted binary's --version and --check-config of the
#      extracted configuration;
#   5. only as root, when dpkg can install the package here and nothing of pghealthd is on the machine
#      yet (package, files or user: the test would destroy them): dpkg -i, check the user and the
#      configuration's owner and mode, systemd-analyze verify of the unit (if available), edit the
#      configuration, dpkg -i again (the edit must survive), dpkg --purge (everything must be gone).
#
# Step 5 is skipped, with the reason, otherwise; PGHEALTHD_TEST_DEB_REQUIRE_INSTALL=1 makes that a
# failure. Everything the test creates is removed on exit, whatever happens. Exit 0 on success, 1 with
# a FAIL: line otherwise, 2 on bad usage.
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo; echo "== $*"; }
ok() { echo "ok: $*"; }

[ $# -eq 1 ] || usage
[ -d "$1" ] || fail "build directory '$1' does not exist"
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -f "$build/CPackConfig.cmake" ] ||
    fail "$build/CPackConfig.cmake is missing: configure the build with cmake (cmake/Packaging.cmake) first"
for tool in cpack dpkg-deb file; do
    command -v "$tool" >/dev/null ||
        fail "$tool not found (cpack: package cmake; dpkg-deb: package dpkg; file, which cpack's DEB generator runs: package file)"
done
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || fail "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/pghealthd-deb.XXXXXX")
installed=0  # 1 while this test may have left the package on the system

cleanup() {
    local rc=$?
    # cpack's install step writes the build tree's install_manifest.txt: put back what was there.
    if [ -f "$scratch/install_manifest.txt" ]; then
        cp -p "$scratch/install_manifest.txt" "$build/install_manifest.txt"
    elif [ -e "$scratch/no_install_manifest" ]; then
        rm -f "$build/install_manifest.txt"
    fi
    if [ "$installed" = 1 ]; then
        echo "cleanup: purging the pghealthd package this test installed" >&2
        dpkg --purge pghealthd </dev/null >"$scratch/cleanup.log" 2>&1 ||
            { cat "$scratch/cleanup.log" >&2; echo "cleanup: dpkg --purge pghealthd failed" >&2; rc=1; }
    fi
    rm -rf "$scratch"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# dpkg, waiting (up to 2 minutes) for a lock held by another dpkg or apt.
run_dpkg() {
    local log="$scratch/dpkg.log" _
    for _ in $(seq 60); do
        if DEBIAN_FRONTEND=noninteractive dpkg "$@" </dev/null >"$log" 2>&1; then
            cat "$log"; return 0
        fi
        grep -q -i 'lock' "$log" || break
        sleep 2
    done
    cat "$log" >&2
    return 1
}

# --- 1. build the package --------------------------------------------------------------------------

step "cpack -G DEB ($build)"
mkdir "$scratch/out"
if [ -f "$build/install_manifest.txt" ]; then
    cp -p "$build/install_manifest.txt" "$scratch/install_manifest.txt"
else
    touch "$scratch/no_install_manifest"
fi
if ! (cd "$build" && cpack -G DEB -B "$scratch/out") >"$scratch/cpack.log" 2>&1; then
    cat "$scratch/cpack.log" >&2
    fail "cpack -G DEB failed in $build"
fi
grep '^CPack:' "$scratch/cpack.log" || true
shopt -s nullglob
debs=("$scratch"/out/*.deb)
shopt -u nullglob
[ "${#debs[@]}" -eq 1 ] || fail "expected one .deb from cpack, found ${#debs[@]}: ${debs[*]:-none}"
deb=${debs[0]}
ok "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# --- 2. control information ------------------------------------------------------------------------

step "dpkg-deb --info"
dpkg-deb --info "$deb" >"$scratch/info" || fail "dpkg-deb --info $deb failed"
cat "$scratch/info"
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = pghealthd ] || fail "Package is '$(field Package)', not pghealthd"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', not the project's $version"
[ "$(field Maintainer)" = "pghealthd developers <pghealthd@localhost>" ] ||
    fail "Maintainer is '$(field Maintainer)'"
[ "$(field Section)" = database ] || fail "Section is '$(field Section)', not database"
depends=$(field Depends)
[ -n "$depends" ] || fail "Depends is empty"
for dep in adduser libc6 libpq5 libstdc++6; do
    [[ ", $depends," == *", $dep "* || ", $depends," == *", $dep,"* ]] ||
        fail "Depends lacks $dep: $depends"
done
ok "Package pghealthd, Version $version, Section database, Depends: $depends"

dpkg-deb --info "$deb" conffiles >"$scratch/conffiles" 2>/dev/null || fail "the package has no conffiles"
printf '%s\n' /etc/default/pghealthd /etc/pghealthd/pghealthd.yaml >"$scratch/conffiles.expected"
sort "$scratch/conffiles" | sed '/^$/d' >"$scratch/conffiles.sorted"
diff -u "$scratch/conffiles.expected" "$scratch/conffiles.sorted" ||
    fail "conffiles must list exactly /etc/default/pghealthd and /etc/pghealthd/pghealthd.yaml"
ok "conffiles: $(tr '\n' ' ' <"$scratch/conffiles.sorted")"

dpkg-deb --control "$deb" "$scratch/control"
for script in postinst prerm postrm; do
    [ -f "$scratch/control/$script" ] || fail "no $script maintainer script in the package"
    [ -x "$scratch/control/$script" ] || fail "the $script maintainer script is not executable"
    sh -n "$scratch/control/$script" || fail "the $script maintainer script is not valid sh"
done
ok "maintainer scripts postinst, prerm, postrm: executable, valid sh"

# --- 3. contents -----------------------------------------------------------------------------------

step "dpkg-deb --contents"
dpkg-deb --contents "$deb" >"$scratch/contents" || fail "dpkg-deb --contents $deb failed"
cat "$scratch/contents"
# perms owner/group size date time path [-> target]
awk '{ print $6 }' "$scratch/contents" | sed 's|/$||' >"$scratch/paths"
has() { grep -qxF "./$1" "$scratch/paths" || fail "the package lacks /$1"; }
mode_of() { awk -v p="./$1" '$6 == p { print $1 }' "$scratch/contents"; }

has usr/bin/pghealthd
[ "$(mode_of usr/bin/pghealthd)" = "-rwxr-xr-x" ] ||
    fail "/usr/bin/pghealthd has mode $(mode_of usr/bin/pghealthd), not -rwxr-xr-x"
has usr/lib/systemd/system/pghealthd.service
has etc/pghealthd/pghealthd.yaml
has etc/default/pghealthd
has usr/share/doc/pghealthd/README.md
expected_data=()
for f in "$src"/dashboards/*.json; do
    [ -e "$f" ] && expected_data+=("usr/share/pghealthd/dashboards/$(basename "$f")")
done
[ "${#expected_data[@]}" -gt 0 ] || fail "no dashboards/*.json in $src"
for dir in alerts alertmanager provisioning; do
    for f in "$src/dashboards/$dir"/*.yml; do
        [ -e "$f" ] || continue
        case $f in *.test.yml) continue ;; esac  # promtool tests are not installed
        expected_data+=("usr/share/pghealthd/$dir/$(basename "$f")")
    done
done
for f in "${expected_data[@]}"; do has "$f"; done
ok "binary, unit, config, default file, README and ${#expected_data[@]} dashboard/alerting files"

# Nothing else: no build artifacts, node_modules, test files or /usr/local.
unexpected=$(grep -v -E '^\.(/usr(/bin(/pghealthd)?|/lib(/systemd(/system(/pghealthd\.service)?)?)?|/share(/doc(/pghealthd(/README\.md)?)?|/pghealthd(/(dashboards|alerts|alertmanager|provisioning)(/[^/]+\.(json|yml))?)?)?)?|/etc(/default(/pghealthd)?|/pghealthd(/pghealthd\.yaml)?)?)?$' \
    "$scratch/paths" || true)
[ -z "$unexpected" ] || fail "unexpected files in the package: $unexpected"
notroot=$(awk '$2 != "root/root" { print $6 }' "$scratch/contents")
[ -z "$notroot" ] || fail "files not owned by root/root: $notroot"
ok "nothing else in the package; everything root/root"

# --- 4. extracted ----------------------------------------------------------------------------------

step "dpkg-deb -x into a scratch root"
root="$scratch/root"
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x failed"
out=$("$root/usr/bin/pghealthd" --version 2>&1) || fail "extracted pghealthd --version failed: $out"
[[ $out == *"$version"* ]] || fail "pghealthd --version prints '$out', without the version $version"
ok "pghealthd --version: $out"
out=$("$root/usr/bin/pghealthd" --check-config --config "$root/etc/pghealthd/pghealthd.yaml" 2>&1) ||
    fail "pghealthd --check-config of the packaged configuration failed: $out"
ok "pghealthd --check-config --config <root>/etc/pghealthd/pghealthd.yaml${out:+: $out}"
cmp -s "$root/etc/pghealthd/pghealthd.yaml" "$src/config/pghealthd.yaml" ||
    fail "the packaged pghealthd.yaml differs from config/pghealthd.yaml"
cmp -s "$root/etc/default/pghealthd" "$src/systemd/pghealthd.default" ||
    fail "the packaged /etc/default/pghealthd differs from systemd/pghealthd.default"
grep -q '^ExecStart=/usr/bin/pghealthd ' "$root/usr/lib/systemd/system/pghealthd.service" ||
    fail "the unit's ExecStart does not run /usr/bin/pghealthd, the packaged binary"
ok "config and default file as in the source tree; the unit's ExecStart is the packaged binary"

# --- 5. install, reinstall, purge ------------------------------------------------------------------

step "dpkg -i / dpkg -i again / dpkg --purge"
skip_reason=""
state() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true; }
if [ "$(id -u)" != 0 ]; then
    skip_reason="not running as root"
elif ! command -v dpkg >/dev/null || ! command -v dpkg-query >/dev/null; then
    skip_reason="no dpkg on this machine"
elif arch=$(field Architecture) && [ "$arch" != all ] && [ "$arch" != "$(dpkg --print-architecture)" ]; then
    skip_reason="the package is for $arch, dpkg installs $(dpkg --print-architecture)"
elif [ -n "$(state pghealthd)" ] && [ "$(state pghealthd)" != not-installed ]; then
    skip_reason="a pghealthd package is already on this machine ($(state pghealthd)); not touching it"
elif getent passwd pghealthd >/dev/null || getent group pghealthd >/dev/null; then
    skip_reason="a pghealthd user or group already exists; the purge would delete it"
else
    for f in /usr/bin/pghealthd /usr/lib/systemd/system/pghealthd.service \
             /lib/systemd/system/pghealthd.service /etc/systemd/system/pghealthd.service \
             /etc/pghealthd /etc/default/pghealthd; do
        if [ -e "$f" ]; then skip_reason="$f already exists; the package would overwrite it"; break; fi
    done
fi
if [ -z "$skip_reason" ]; then
    # Some alternative of each dependency must be installed, or provided by an installed package;
    # dpkg -i checks the versions.
    dpkg-query -W -f='${db:Status-Status} ${Package} ${Provides}\n' | tr -d ',' |
        awk '$1 == "installed" { for (i = 2; i <= NF; i++) if ($i !~ /^[(=<>]/ && $i !~ /\)$/) print $i }' |
        sed 's/:.*//' | sort -u >"$scratch/available"
    missing=""
    IFS=',' read -r -a deps <<<"$depends"
    for dep in "${deps[@]}"; do
        found=0
        IFS='|' read -r -a alternatives <<<"$dep"
        for alt in "${alternatives[@]}"; do
            name=$(echo "$alt" | sed 's/(.*//; s/:.*//' | tr -d ' ')
            if grep -qxF "$name" "$scratch/available"; then found=1; break; fi
        done
        [ "$found" = 1 ] || missing="$missing ${dep# }"
    done
    [ -z "$missing" ] || skip_reason="dependencies not installed:$missing"
fi
if [ -n "$skip_reason" ]; then
    [ "${PGHEALTHD_TEST_DEB_REQUIRE_INSTALL:-0}" != 1 ] ||
        fail "cannot install the package: $skip_reason (PGHEALTHD_TEST_DEB_REQUIRE_INSTALL=1)"
    echo "SKIPPED the install/reinstall/purge checks: $skip_reason"
    echo "PASS (package built and checked; not installed)"
    exit 0
fi

config=/etc/pghealthd/pghealthd.yaml
owner_mode() { stat -c '%U:%G %a' "$1"; }
check_installed() {  # $1: when
    [ "$(state pghealthd)" = installed ] || fail "$1: dpkg status of pghealthd is '$(state pghealthd)'"
    for f in /usr/bin/pghealthd /usr/lib/systemd/system/pghealthd.service /etc/default/pghealthd "$config"; do
        [ -f "$f" ] || fail "$1: $f is missing"
    done
    [ -d /usr/share/pghealthd/dashboards ] || fail "$1: /usr/share/pghealthd/dashboards is missing"
    [ "$(owner_mode "$config")" = "root:pghealthd 640" ] ||
        fail "$1: $config is $(owner_mode "$config"), not root:pghealthd 640"
}

installed=1
run_dpkg -i "$deb" || fail "dpkg -i $(basename "$deb") failed"
check_installed "after dpkg -i"
out=$(/usr/bin/pghealthd --version 2>&1) || fail "/usr/bin/pghealthd --version failed: $out"
ok "installed; /usr/bin/pghealthd --version: $out"

pw=$(getent passwd pghealthd) || fail "no user pghealthd after dpkg -i"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
group_gid=$(getent group pghealthd | cut -d: -f3) || fail "no group pghealthd after dpkg -i"
[ "$gid" = "$group_gid" ] || fail "the primary group of user pghealthd is $gid, not pghealthd ($group_gid)"
[ "$uid" -lt 1000 ] || fail "pghealthd is not a system user (uid $uid)"
[ "$home" = /var/lib/pghealthd ] || fail "the home of pghealthd is $home, not /var/lib/pghealthd"
case $shell in */nologin|/bin/false) ;; *) fail "the user pghealthd has a login shell: $shell" ;; esac
ok "system user pghealthd (uid $uid, group pghealthd, home $home, shell $shell)"
ok "$config is root:pghealthd 0640"

out=$(setpriv --reuid=pghealthd --regid=pghealthd --clear-groups \
    /usr/bin/pghealthd --check-config --config "$config" 2>&1) ||
    fail "the user pghealthd cannot check the installed configuration: $out"
if setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$config" >/dev/null 2>&1; then
    fail "the user nobody can read $config"
fi
ok "the user pghealthd can read and check the configuration, nobody cannot"

if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify /usr/lib/systemd/system/pghealthd.service 2>&1) ||
        fail "systemd-analyze verify of the installed unit failed: $out"
    ok "systemd-analyze verify /usr/lib/systemd/system/pghealthd.service${out:+: $out}"
else
    echo "SKIPPED systemd-analyze verify of the unit: systemd-analyze not found (apt-get install systemd)"
fi

marker="# edited by packaging/test-deb.sh $$"
echo "$marker" >>"$config"
echo "PGHEALTHD_OPTS=\"--log-level debug\" $marker" >>/etc/default/pghealthd
run_dpkg -i "$deb" || fail "dpkg -i of the same package again failed"
check_installed "after the second dpkg -i"
grep -qxF "$marker" "$config" || fail "the second dpkg -i overwrote the edited $config"
grep -qF "$marker" /etc/default/pghealthd || fail "the second dpkg -i overwrote the edited /etc/default/pghealthd"
ok "reinstalled; the edits of $config and /etc/default/pghealthd survived, still root:pghealthd 0640"

run_dpkg --purge pghealthd || fail "dpkg --purge pghealthd failed"
installed=0
[ "$(state pghealthd)" = not-installed ] || [ -z "$(state pghealthd)" ] ||
    fail "after dpkg --purge the status of pghealthd is '$(state pghealthd)'"
for f in /usr/bin/pghealthd /usr/lib/systemd/system/pghealthd.service "$config" /etc/default/pghealthd \
         /etc/pghealthd /usr/share/pghealthd; do
    [ ! -e "$f" ] || fail "$f still exists after dpkg --purge"
done
! getent passwd pghealthd >/dev/null || fail "the user pghealthd still exists after dpkg --purge"
! getent group pghealthd >/dev/null || fail "the group pghealthd still exists after dpkg --purge"
ok "purged: binary, unit, configuration, dashboards, user and group are gone"

echo
echo "PASS"
