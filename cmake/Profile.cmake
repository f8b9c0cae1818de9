# The one warning profile, and the build variants (STYLE rule 35).
#
#   CLOISTER_SANITIZE=ON   AddressSanitizer + UndefinedBehaviorSanitizer
#   CLOISTER_FUZZ=ON       libFuzzer harnesses (clang only), with ASan+UBSan
#
# A change of these options lands in CMakeCache.txt and rebuilds everything.

set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS ON)
set(CMAKE_C_VISIBILITY_PRESET hidden)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

set(CLOISTER_WARNINGS
    -Wall -Wextra -Werror
    -Wshadow -Wpointer-arith -Wcast-align -Wwrite-strings
    -Wmissing-prototypes -Wstrict-prototypes -Wold-style-definition
    -Wformat=2 -Wformat-security -Wundef -Wvla
    -Wno-unused-parameter)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND CLOISTER_WARNINGS -Wlogical-op -Wduplicated-cond)
endif()
add_compile_options(${CLOISTER_WARNINGS})
add_compile_options(-fstack-protector-strong -fno-common)
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug" AND NOT CLOISTER_SANITIZE AND NOT CLOISTER_FUZZ)
  add_compile_definitions(_FORTIFY_SOURCE=2)
endif()

option(CLOISTER_SANITIZE "build with ASan and UBSan" OFF)
option(CLOISTER_FUZZ "build the libFuzzer harnesses" OFF)

if(CLOISTER_SANITIZE OR CLOISTER_FUZZ)
  set(SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
  add_compile_options(${SAN_FLAGS})
  add_link_options(${SAN_FLAGS})
endif()
if(CLOISTER_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CLOISTER_FUZZ needs clang (CC=clang)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
