# Cloister: what users type.
#
#   make          build (gcc, -Werror) into build/
#   make test     install missing Debian packages, build the normal,
#                 ASan+UBSan (clang) and fuzz (clang) variants, run every test
#   make demo     install, build, start the platform, run a task, stop
#   make bench    build and print the benchmark tables
#   make fuzz     run every fuzz harness for FUZZ_SECONDS (default 60) each
#   make clean    remove the build directories
#
# The build itself is CMake (CMakeLists.txt); this file only drives it.

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_GEN ?= -G "Unix Makefiles"

.PHONY: all deps build build-asan build-fuzz test demo bench fuzz clean

all: build

deps:
	@scripts/install-deps

build/CMakeCache.txt:
	cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc

build-asan/CMakeCache.txt:
	cmake -S . -B build-asan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCLOISTER_SANITIZE=ON

build-fuzz/CMakeCache.txt:
	cmake -S . -B build-fuzz $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCLOISTER_FUZZ=ON

build: build/CMakeCache.txt
	cmake --build build -j $(JOBS)

build-asan: build-asan/CMakeCache.txt
	cmake --build build-asan -j $(JOBS)

build-fuzz: build-fuzz/CMakeCache.txt
	cmake --build build-fuzz -j $(JOBS)

test: deps
	$(MAKE) build build-asan build-fuzz
	tests/run-all.sh

demo: deps
	$(MAKE) build
	scripts/demo

bench: deps
	$(MAKE) build
	bench/run.sh build

fuzz: deps
	$(MAKE) build-fuzz
	fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-fuzz
