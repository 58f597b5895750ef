comet_test(rocketmq_process_test ${CMAKE_CURRENT_SOURCE_DIR}/rocketmq_process_test.cc
           LIBS comet_client comet_remoting LABEL integration)
target_compile_definitions(rocketmq_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(rocketmq_process_test comet-namesrv comet-broker)
