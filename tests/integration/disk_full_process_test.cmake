comet_test(disk_full_process_test ${CMAKE_CURRENT_SOURCE_DIR}/disk_full_process_test.cc
           LIBS comet_client comet_remoting comet_common LABEL integration)
target_compile_definitions(disk_full_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(disk_full_process_test comet-namesrv comet-broker)
