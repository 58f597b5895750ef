# comet-faultfs itself (tests/faultfs): needs libfuse3 at build time, root and /dev/fuse at run
# time (it skips without them).
if(COMET_FAULTFS_FOUND)
  comet_test(faultfs_process_test ${CMAKE_CURRENT_SOURCE_DIR}/faultfs_process_test.cc
             LIBS comet_common LABEL integration)
  target_compile_definitions(faultfs_process_test PRIVATE
                             COMET_FAULTFS_BIN="$<TARGET_FILE:comet-faultfs>")
  add_dependencies(faultfs_process_test comet-faultfs)
endif()
