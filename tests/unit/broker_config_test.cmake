comet_test(broker_config_test ${CMAKE_CURRENT_SOURCE_DIR}/broker_config_test.cc LIBS comet_broker)
