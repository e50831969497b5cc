# Install rules and the Debian package (CPack DEB) of pghealthd.
#
#   cmake --install build --prefix /usr     # by hand
#   cd build && cpack -G DEB                # pghealthd_<version>_<arch>.deb (prefix /usr)
#
# Layout (prefix /usr for the package; the /etc files are absolute whatever the prefix):
#   <prefix>/bin/pghealthd                        the daemon (the unit's ExecStart)
#   <prefix>/lib/systemd/system/pghealthd.service the unit
#   /etc/default/pghealthd                        the unit's EnvironmentFile (conffile)
#   /etc/pghealthd/pghealthd.yaml                 the configuration (conffile)
#   <prefix>/share/pghealthd/dashboards/*.json    Grafana dashboards
#   <prefix>/share/pghealthd/{alerts,alertmanager,provisioning}/*.yml, when present
#   <prefix>/share/doc/pghealthd/README.md
#
# The maintainer scripts are packaging/debian/{postinst,prerm,postrm}; tests/packaging.cmake runs
# packaging/test-deb.sh, which builds the .deb and checks (and, as root, installs) it.

include(GNUInstallDirs)

set(PGHEALTHD_SYSCONFDIR "/etc" CACHE PATH
  "Absolute directory of pghealthd's configuration files (pghealthd/pghealthd.yaml, default/pghealthd)")
if(NOT IS_ABSOLUTE "${PGHEALTHD_SYSCONFDIR}")
  message(FATAL_ERROR "PGHEALTHD_SYSCONFDIR must be an absolute path, not '${PGHEALTHD_SYSCONFDIR}'")
endif()
if(NOT PGHEALTHD_SYSCONFDIR STREQUAL "/etc")
  # The unit (EnvironmentFile=, --config) and the maintainer scripts name /etc.
  message(WARNING "PGHEALTHD_SYSCONFDIR is '${PGHEALTHD_SYSCONFDIR}': systemd/pghealthd.service and "
    "packaging/debian/* still use /etc/pghealthd and /etc/default")
endif()
# Relative: below the prefix (/usr for the package: /usr/lib/systemd/system, which systemd reads).
# Not CMAKE_INSTALL_LIBDIR: on Debian that is lib/<multiarch>.
set(PGHEALTHD_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
  "Directory of the systemd unit, relative to the prefix (or absolute)")

set(_pghealthd_datadir "${CMAKE_INSTALL_DATADIR}/pghealthd")
set(_pghealthd_docdir "${CMAKE_INSTALL_DATAROOTDIR}/doc/pghealthd")

# --- install rules ---------------------------------------------------------------------------------

install(TARGETS pghealthd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES ${PROJECT_SOURCE_DIR}/systemd/pghealthd.service
  DESTINATION ${PGHEALTHD_SYSTEMD_UNITDIR})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/pghealthd.default
  DESTINATION ${PGHEALTHD_SYSCONFDIR}/default
  RENAME pghealthd)
# Installed 0644 root:root; the package's postinst makes it root:pghealthd 0640.
install(FILES ${PROJECT_SOURCE_DIR}/config/pghealthd.yaml
  DESTINATION ${PGHEALTHD_SYSCONFDIR}/pghealthd)

# Dashboards and alerting files. CONFIGURE_DEPENDS: a file added later is picked up by the next build
# (cpack builds first) without re-running cmake by hand. Only the top level of each directory: not
# dashboards/typecheck/ (node_modules, generated TypeScript) nor the lint/test scripts.
file(GLOB _pghealthd_dashboards CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/dashboards/*.json)
if(_pghealthd_dashboards)
  install(FILES ${_pghealthd_dashboards} DESTINATION ${_pghealthd_datadir}/dashboards)
endif()
foreach(_dir IN ITEMS alerts alertmanager provisioning)
  file(GLOB _files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/dashboards/${_dir}/*.yml)
  # promtool unit tests (*.test.yml) are not rule files: a `rule_files: [.../alerts/*.yml]` glob
  # would make Prometheus refuse to load them.
  list(FILTER _files EXCLUDE REGEX "\\.test\\.yml$")
  if(_files)
    install(FILES ${_files} DESTINATION ${_pghealthd_datadir}/${_dir})
  endif()
endforeach()

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${_pghealthd_docdir})

# --- CPack: Debian package -------------------------------------------------------------------------

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "pghealthd")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "pghealthd developers")
set(CPACK_PACKAGE_CONTACT "pghealthd developers <pghealthd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "PostgreSQL table health exporter for Prometheus, with automatic VACUUM")
set(CPACK_PACKAGE_DESCRIPTION
  "pghealthd polls pg_stat_user_tables, pg_statio_user_tables and pg_stat_user_indexes and exports\n\
dead rows, cache hit ratios, index usage and vacuum/analyze history to Prometheus. It can run\n\
VACUUM ANALYZE automatically, within limits and maintenance windows. Ships a hardened systemd unit\n\
(not started automatically), an example configuration and Grafana dashboards.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)  # Debian ships stripped binaries; the build tree keeps the debug info

set(CPACK_DEBIAN_PACKAGE_NAME "pghealthd")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pghealthd_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "pghealthd developers <pghealthd@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION "database")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")

# Shared-library dependencies from dpkg-shlibdeps (package dpkg-dev); without it, a fixed list: what
# dpkg-shlibdeps computed on Debian 12 (keep it in step when a library is added). adduser: the
# postinst creates the system user. CPack appends the computed list to CPACK_DEBIAN_PACKAGE_DEPENDS.
find_program(PGHEALTHD_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced(PGHEALTHD_DPKG_SHLIBDEPS)
if(PGHEALTHD_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
else()
  message(STATUS "dpkg-shlibdeps not found (package dpkg-dev): the .deb lists Debian 12's libraries")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  string(JOIN ", " CPACK_DEBIAN_PACKAGE_DEPENDS
    "adduser"
    "libc6 (>= 2.34)"
    "libcrypt1 (>= 1:4.1.0)"
    "libdate-tz3 (>= 3.0.1)"
    "libfmt9 (>= 9.1.0+ds1)"
    "libgcc-s1 (>= 3.0)"
    "libisal2 (>= 2.30.0)"
    "libpq5 (>= 9.0~)"
    "libprometheus-cpp-core1.0 (>= 1.0.1)"
    "libspdlog1.10-fmt9"
    "libssl3 (>= 3.0.0)"
    "libstdc++6 (>= 11)"
    "libsystemd0"
    "libyaml-cpp0.7 (>= 0.7.0)"
    "zlib1g (>= 1:1.2.0)")
endif()
# date-tz reads /usr/share/zoneinfo for maintenance windows: a data dependency shlibdeps cannot see.
string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", tzdata")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, prometheus")

# Conffiles: dpkg never overwrites an edited one on upgrade or reinstall (and removes them on purge).
set(_pghealthd_control_dir "${PROJECT_BINARY_DIR}/packaging/debian")
file(MAKE_DIRECTORY "${_pghealthd_control_dir}")
file(CONFIGURE OUTPUT "${_pghealthd_control_dir}/conffiles" CONTENT
"${PGHEALTHD_SYSCONFDIR}/default/pghealthd
${PGHEALTHD_SYSCONFDIR}/pghealthd/pghealthd.yaml
")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${_pghealthd_control_dir}/conffiles"
  "${PROJECT_SOURCE_DIR}/packaging/debian/postinst"
  "${PROJECT_SOURCE_DIR}/packaging/debian/prerm"
  "${PROJECT_SOURCE_DIR}/packaging/debian/postrm")
# Scripts 0755, conffiles 0644, whatever the permissions in the checkout.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Keep `make package_source` from sweeping up build trees and node_modules.
set(CPACK_SOURCE_GENERATOR "TGZ")
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/node_modules/" "/\\\\.cache/")

include(CPack)
