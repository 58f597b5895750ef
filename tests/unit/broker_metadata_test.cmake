comet_test(broker_metadata_test ${CMAKE_CURRENT_SOURCE_DIR}/broker_metadata_test.cc LIBS comet_broker)
