# Helper functions: one library per src/ folder, one test binary per test file,
# one benchmark binary per benchmark file.

# dns_library(NAME <name> SOURCES <files...> DEPS <targets...>)
# Defines target dnoscope_<name>; include paths are rooted at src/.
function(dns_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(dnoscope_${ARG_NAME} STATIC ${ARG_SOURCES})
  target_include_directories(dnoscope_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(dnoscope_${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

# dns_test(NAME <name> SOURCES <files...> DEPS <targets...> LABELS <labels...> [TIMEOUT s])
# A GoogleTest binary registered with CTest. Tests find the project root and
# ../shared/data through the DNS_SOURCE_DIR environment variable. LABELS say
# which passes of scripts/test.sh run it:
#   unit       logic without threads of its own        release, ASan
#   threaded   queues, stages, servers, clients         release, ASan, TSan
#   e2e        the dnoscope binary or real servers      release, ASan
#   training   libtorch training (slow)                 release only
#   bench      the experiment harness (slow)            release only
#   multihost  network namespaces (slow, needs root)    release only
function(dns_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    message(FATAL_ERROR "dns_test(${ARG_NAME}): give LABELS (see cmake/dnoscope.cmake)")
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES
    TIMEOUT ${ARG_TIMEOUT}
    LABELS "${ARG_LABELS}"
    ENVIRONMENT "DNS_SOURCE_DIR=${PROJECT_SOURCE_DIR};DNS_BINARY=$<TARGET_FILE:dnoscope>")
endfunction()

# dns_benchmark(NAME <name> SOURCES <files...> DEPS <targets...>)
function(dns_benchmark)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark benchmark::benchmark_main)
endfunction()
