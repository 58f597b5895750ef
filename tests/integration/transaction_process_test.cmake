# txn_producer_main: the producer transaction_process_test kills between half messages and ends.
add_executable(txn_producer_main ${CMAKE_CURRENT_SOURCE_DIR}/txn_producer_main.cc)
target_link_libraries(txn_producer_main PRIVATE comet_client)
comet_test(transaction_process_test ${CMAKE_CURRENT_SOURCE_DIR}/transaction_process_test.cc
           LIBS comet_client LABEL integration)
target_compile_definitions(transaction_process_test PRIVATE
  COMET_NAMESRV_BIN="$<TARGET_FILE:comet-namesrv>" COMET_BROKER_BIN="$<TARGET_FILE:comet-broker>"
  COMET_ADMIN_BIN="$<TARGET_FILE:comet-admin>"
  COMET_TXN_PRODUCER_BIN="$<TARGET_FILE:txn_producer_main>")
add_dependencies(transaction_process_test comet-namesrv comet-broker comet-admin txn_producer_main)
