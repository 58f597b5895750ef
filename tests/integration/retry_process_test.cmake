comet_test(retry_process_test ${CMAKE_CURRENT_SOURCE_DIR}/retry_process_test.cc
           LIBS comet_client LABEL integration)
target_compile_definitions(retry_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(retry_process_test comet-namesrv comet-broker)
