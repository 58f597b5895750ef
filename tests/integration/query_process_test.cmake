comet_test(query_process_test ${CMAKE_CURRENT_SOURCE_DIR}/query_process_test.cc
           LIBS comet_admin comet_client comet_remoting LABEL integration)
target_compile_definitions(query_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>"
  COMET_ADMIN_BIN="$<TARGET_FILE:comet-admin>")
add_dependencies(query_process_test comet-namesrv comet-broker comet-admin)
