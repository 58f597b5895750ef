comet_test(reset_offset_process_test ${CMAKE_CURRENT_SOURCE_DIR}/reset_offset_process_test.cc
           LIBS comet_admin comet_client LABEL integration)
target_compile_definitions(reset_offset_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(reset_offset_process_test comet-namesrv comet-broker)
