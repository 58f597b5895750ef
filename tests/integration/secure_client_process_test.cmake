# Clients, comet-admin and the secret check against a name server and broker with aclEnable and
# tls.server.mode=enforcing (certificates from scripts/make-certs.sh, made per test).
comet_test(secure_client_process_test ${CMAKE_CURRENT_SOURCE_DIR}/secure_client_process_test.cc
           LIBS comet_client comet_remoting LABEL integration)
target_compile_definitions(secure_client_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>"
  COMET_ADMIN_BIN="$<TARGET_FILE:comet-admin>" COMET_BENCH_BIN="$<TARGET_FILE:comet-bench>"
  COMET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(secure_client_process_test comet-namesrv comet-broker comet-admin comet-bench)
