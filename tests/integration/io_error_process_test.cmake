# Issue 24 item 3: a broker's store on comet-faultfs meeting EIO (root and /dev/fuse at run time;
# it skips without them). 10 tests, 8-21 s on a loaded 2-core machine.
if(COMET_FAULTFS_FOUND)
  comet_test(io_error_process_test ${CMAKE_CURRENT_SOURCE_DIR}/io_error_process_test.cc
             LIBS comet_remoting comet_common LABEL integration)
  target_compile_definitions(io_error_process_test PRIVATE
    COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>"
    COMET_FAULTFS_BIN="$<TARGET_FILE:comet-faultfs>")
  add_dependencies(io_error_process_test comet-namesrv comet-broker comet-faultfs)
endif()
