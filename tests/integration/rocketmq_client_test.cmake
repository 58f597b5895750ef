# The RocketMQ client tests: ali-ons (npm, pinned in tests/rocketmq_client/package-lock.json) run
# with node against comet. The fixture test rocketmq_client_npm_ci installs it first (`npm ci`,
# skipped when node_modules matches the lock file), so `ctest -R rocketmq_client` works alone.
find_package(RapidJSON CONFIG REQUIRED)
find_program(COMET_NODE_BIN node)
if(NOT COMET_NODE_BIN)
  message(WARNING "no node: rocketmq_client_test will fail (scripts/install-deps.sh installs it)")
  set(COMET_NODE_BIN /usr/bin/node)
endif()
add_executable(rocketmq_client_test ${CMAKE_CURRENT_SOURCE_DIR}/rocketmq_client_test.cc)
target_link_libraries(rocketmq_client_test PRIVATE comet_client GTest::gtest GTest::gmock
                      GTest::gtest_main)
target_include_directories(rocketmq_client_test PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_include_directories(rocketmq_client_test SYSTEM PRIVATE ${RapidJSON_INCLUDE_DIRS})
target_compile_definitions(rocketmq_client_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>"
  COMET_NODE_BIN="${COMET_NODE_BIN}"
  COMET_ROCKETMQ_CLIENT_DIR="${PROJECT_SOURCE_DIR}/tests/rocketmq_client")
add_dependencies(rocketmq_client_test comet-namesrv comet-broker)
add_test(NAME rocketmq_client_npm_ci
         COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/rocketmq-client-deps.sh)
set_tests_properties(rocketmq_client_npm_ci PROPERTIES
  FIXTURES_SETUP rocketmq_client_node LABELS integration TIMEOUT 300)
gtest_discover_tests(rocketmq_client_test DISCOVERY_TIMEOUT 30
                     PROPERTIES LABELS integration TIMEOUT 300
                                FIXTURES_REQUIRED rocketmq_client_node)
set_property(GLOBAL APPEND PROPERTY COMET_TESTS_integration rocketmq_client_test)
