if(TARGET comet-bench)
  comet_test(bench_transaction_test ${CMAKE_CURRENT_SOURCE_DIR}/bench_transaction_test.cc
             LIBS comet_common LABEL integration SERIAL)
  target_compile_definitions(bench_transaction_test
                             PRIVATE COMET_BENCH_BIN="$<TARGET_FILE:comet-bench>")
  add_dependencies(bench_transaction_test comet-bench comet-namesrv comet-broker comet-admin)
endif()
