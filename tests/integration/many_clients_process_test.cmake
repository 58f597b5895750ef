# 1,000 raw wire clients, 500 groups and 10,000 held pulls against one real broker (about 25 s:
# the pulls never woken wait out their 15 s suspend time), and a broker starved of descriptors.
add_executable(many_clients_process_test ${CMAKE_CURRENT_SOURCE_DIR}/many_clients_process_test.cc)
target_link_libraries(many_clients_process_test PRIVATE comet_remoting comet_common GTest::gtest
                      GTest::gmock GTest::gtest_main)
target_include_directories(many_clients_process_test PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(many_clients_process_test PRIVATE
  COMET_BUILT_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>"
  COMET_BUILT_BROKER_BIN="$<TARGET_FILE:comet-broker>")
add_dependencies(many_clients_process_test comet-namesrv comet-broker)
gtest_discover_tests(many_clients_process_test DISCOVERY_TIMEOUT 30
                     PROPERTIES LABELS integration TIMEOUT 90)
set_property(GLOBAL APPEND PROPERTY COMET_TESTS_integration many_clients_process_test)
