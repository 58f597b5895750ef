if(TARGET comet-bench)
  comet_test(bench_compare_test ${CMAKE_CURRENT_SOURCE_DIR}/bench_compare_test.cc
             LIBS comet_remoting comet_common LABEL integration SERIAL)
  target_compile_definitions(bench_compare_test PRIVATE
    COMET_BENCH_BIN="$<TARGET_FILE:comet-bench>" COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>"
    COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
  add_dependencies(bench_compare_test comet-bench comet-namesrv comet-broker comet-admin)
endif()
