comet_test(namesrv_process_test ${CMAKE_CURRENT_SOURCE_DIR}/namesrv_process_test.cc
           LIBS comet_remoting LABEL integration)
target_compile_definitions(namesrv_process_test PRIVATE
                           COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>")
add_dependencies(namesrv_process_test comet-namesrv)
