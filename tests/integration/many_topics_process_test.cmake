# 3,000 topics x 8 queues with data on one broker: disk, descriptors and mappings bounded by the
# data, before and after a restart (about 40 s on the 2-core machine; SERIAL: it measures the
# broker's footprint and writes 24,000 ConsumeQueues).
comet_test(many_topics_process_test ${CMAKE_CURRENT_SOURCE_DIR}/many_topics_process_test.cc
           LIBS comet_remoting comet_common LABEL integration SERIAL TIMEOUT 150)
target_compile_definitions(many_topics_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(many_topics_process_test comet-namesrv comet-broker)
