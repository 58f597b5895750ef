# Issue 24 item 4: a broker's store on comet-faultfs with fsync delayed (root and /dev/fuse at
# run time; it skips without them). 5-8 s.
if(COMET_FAULTFS_FOUND)
  comet_test(slow_disk_process_test ${CMAKE_CURRENT_SOURCE_DIR}/slow_disk_process_test.cc
             LIBS comet_remoting comet_common LABEL integration)
  target_compile_definitions(slow_disk_process_test PRIVATE
    COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>"
    COMET_FAULTFS_BIN="$<TARGET_FILE:comet-faultfs>")
  add_dependencies(slow_disk_process_test comet-namesrv comet-broker comet-faultfs)
endif()
