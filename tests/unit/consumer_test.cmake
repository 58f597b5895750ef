comet_test(consumer_test ${CMAKE_CURRENT_SOURCE_DIR}/consumer_test.cc LIBS comet_client)
