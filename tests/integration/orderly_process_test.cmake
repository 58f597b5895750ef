# orderly_member_main: the orderly group member orderly_process_test kills with SIGKILL.
add_executable(orderly_member_main ${CMAKE_CURRENT_SOURCE_DIR}/orderly_member_main.cc)
target_link_libraries(orderly_member_main PRIVATE comet_client)
comet_test(orderly_process_test ${CMAKE_CURRENT_SOURCE_DIR}/orderly_process_test.cc
           LIBS comet_client LABEL integration)
target_compile_definitions(orderly_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>"
  COMET_ORDERLY_MEMBER_BIN="$<TARGET_FILE:orderly_member_main>")
add_dependencies(orderly_process_test comet-namesrv comet-broker orderly_member_main)
