# Cluster links under aclEnable: strangers on the name server, the HA port and the Raft port are
# refused while the real members keep working (about a minute of real processes).
comet_test(cluster_auth_process_test ${CMAKE_CURRENT_SOURCE_DIR}/cluster_auth_process_test.cc
           LIBS comet_dledger comet_remoting comet_common LABEL integration)
target_compile_definitions(cluster_auth_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(cluster_auth_process_test comet-namesrv comet-broker)
