comet_test(acl_process_test ${CMAKE_CURRENT_SOURCE_DIR}/acl_process_test.cc
           LIBS comet_broker comet_remoting LABEL integration)
target_compile_definitions(acl_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(acl_process_test comet-namesrv comet-broker)
