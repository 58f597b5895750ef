# Every binary and comet-bench command answers --help and -h: usage on stdout, exit status 0.
comet_test(help_process_test ${CMAKE_CURRENT_SOURCE_DIR}/help_process_test.cc
           LIBS comet_common LABEL integration)
target_compile_definitions(help_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(help_process_test comet-namesrv comet-broker)
if(TARGET comet-bench)
  target_compile_definitions(help_process_test PRIVATE COMET_BENCH_BIN="$<TARGET_FILE:comet-bench>")
  add_dependencies(help_process_test comet-bench)
endif()
if(TARGET comet-commitlog-bench)
  target_compile_definitions(help_process_test PRIVATE
    COMET_COMMITLOG_BENCH_BIN="$<TARGET_FILE:comet-commitlog-bench>")
  add_dependencies(help_process_test comet-commitlog-bench)
endif()
