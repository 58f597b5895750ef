# comet-bench scale end to end: two topic counts (1 and 20 topics of 4 queues), each a broker
# started, measured, restarted (about 20 s on the 2-core machine).
if(TARGET comet-bench)
  comet_test(bench_scale_test ${CMAKE_CURRENT_SOURCE_DIR}/bench_scale_test.cc
             LIBS comet_common LABEL integration SERIAL TIMEOUT 180)
  target_compile_definitions(bench_scale_test PRIVATE COMET_BENCH_BIN="$<TARGET_FILE:comet-bench>")
  add_dependencies(bench_scale_test comet-bench comet-namesrv comet-broker comet-admin)
endif()
