comet_test(registration_process_test ${CMAKE_CURRENT_SOURCE_DIR}/registration_process_test.cc
           LIBS comet_broker comet_remoting comet_common LABEL integration TIMEOUT 90)
target_compile_definitions(registration_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(registration_process_test comet-namesrv comet-broker)
