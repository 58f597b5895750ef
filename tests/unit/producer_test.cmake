comet_test(producer_test ${CMAKE_CURRENT_SOURCE_DIR}/producer_test.cc LIBS comet_client)
