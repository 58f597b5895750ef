comet_test(namesrv_test ${CMAKE_CURRENT_SOURCE_DIR}/namesrv_test.cc LIBS comet_namesrv)
