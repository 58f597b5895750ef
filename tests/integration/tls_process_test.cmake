comet_test(tls_process_test ${CMAKE_CURRENT_SOURCE_DIR}/tls_process_test.cc
           LIBS comet_remoting comet_common LABEL integration)
target_compile_definitions(tls_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>"
  COMET_SOURCE_DIR="${PROJECT_SOURCE_DIR}" COMET_TEST_CERT_DIR="${CMAKE_BINARY_DIR}/test-certs")
add_dependencies(tls_process_test comet-namesrv comet-broker)
