# The two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: setup build run test bench fuzz asan format clean

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Builds, migrates and serves the console and API on http://127.0.0.1:8080 with SQLite.
run: build
	@bash scripts/run.sh

# Unit, black-box API (SQLite and PostgreSQL), sanitizer and fuzz tests.
test: setup
	@bash scripts/test.sh

bench: build
	@bash bench/run

format:
	find src tests bench fuzz -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan build-fuzz
