# The Debian package: packaging/test-deb.sh builds it with cpack (cmake/Packaging.cmake), checks its
# control data and contents, runs the extracted binary and, as root on a machine where nothing of
# pghealthd is installed yet, installs, reinstalls (an edited conffile must survive) and purges it.
# Included from tests/CMakeLists.txt; needs the pghealthd binary built (cpack packages the build tree).
add_test(NAME "packaging: the .deb installs the binary, unit, config and dashboards"
  COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/test-deb.sh ${PROJECT_BINARY_DIR})
set_tests_properties("packaging: the .deb installs the binary, unit, config and dashboards" PROPERTIES
  LABELS packaging
  TIMEOUT 600
  # dpkg -i / --purge change the machine: never alongside another test that could do the same.
  RESOURCE_LOCK pghealthd_system_package)
