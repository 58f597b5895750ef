if(TARGET comet-bench)
  comet_test(bench_routes_test ${CMAKE_CURRENT_SOURCE_DIR}/bench_routes_test.cc
             LIBS comet_common LABEL integration TIMEOUT 60)
  target_compile_definitions(bench_routes_test PRIVATE COMET_BENCH_BIN="$<TARGET_FILE:comet-bench>")
  add_dependencies(bench_routes_test comet-bench comet-namesrv comet-broker comet-admin)
endif()
