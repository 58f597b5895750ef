comet_test(dledger_process_test ${CMAKE_CURRENT_SOURCE_DIR}/dledger_process_test.cc
           LIBS comet_client LABEL integration)
target_compile_definitions(dledger_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(dledger_process_test comet-namesrv comet-broker)
target_compile_definitions(dledger_process_test PRIVATE COMET_ADMIN_BIN="$<TARGET_FILE:comet-admin>")
add_dependencies(dledger_process_test comet-admin)
