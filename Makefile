# Everything builds with Go 1.27.3, fetched by the go command itself, and
# with the SIMD experiment on; `make test` also proves every package builds
# and passes without it (the scalar fallback) and under js/wasm in node.
export GOTOOLCHAIN := go1.27.3
export GOEXPERIMENT := simd
export GOFLAGS := -buildvcs=false

# The runner for js/wasm test binaries (node 20): Go's own plus
# model/kernels/wasm/gemm_hook.js, which lets model/kernels run its
# hand-written WebAssembly GEMM kernel (without the hook the archsimd one
# runs). GORESNET_WAT=required makes model/kernels fail if the hand-written
# kernel cannot be set up.
WASM_EXEC = $(CURDIR)/model/kernels/wasm/go_js_wasm_exec
# Packages whose tests run in the browser build too.
WASM_PKGS = ./model/... ./internal/...
BENCH ?= .
BENCHTIME ?= 1x

.PHONY: all build run test vet test-native test-native-nosimd test-wasm test-wasm-nosimd bench bench-wasm fixtures clean

all: build

build:
	go build -o bin/goresnet .

# The browser app arrives with its own issue; until then `make run` builds
# the binary and says what it runs and what it will serve.
run: build
	@echo "goresnet: the native CLI is built at bin/goresnet. Commands:"
	@./bin/goresnet help | sed -n '/^Commands:/,$$p'
	@echo
	@echo "The browser app (app.wasm + worker.wasm, served on http://127.0.0.1:8080"
	@echo "with the built-in digits dataset) is not built yet: see README.md, Status."

test: vet test-native test-native-nosimd test-wasm test-wasm-nosimd

vet:
	go vet ./...
	GOOS=js GOARCH=wasm go vet $(WASM_PKGS)
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: the files above need formatting" && false)

test-native:
	go test ./...

test-native-nosimd:
	GOEXPERIMENT= go test ./model/... ./internal/...

test-wasm:
	GORESNET_WAT=required GOOS=js GOARCH=wasm go test -exec $(WASM_EXEC) $(WASM_PKGS)

test-wasm-nosimd:
	GOEXPERIMENT= GOOS=js GOARCH=wasm go test -exec $(WASM_EXEC) $(WASM_PKGS)

# Benchmarks are not part of `make test`. BENCH selects, e.g.
# make bench BENCH='ResNet50/forward'
bench:
	go test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) ./model/...

# The same in node (js/wasm), e.g. make bench-wasm BENCH=Sgemm BENCHTIME=1s
bench-wasm:
	GOOS=js GOARCH=wasm go test -exec $(WASM_EXEC) -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) ./model/...

# Regenerate the PyTorch parity fixtures (needs Debian's python3-torch and
# python3-torchvision: apt-get install -y python3-torch python3-torchvision).
fixtures:
	/usr/bin/python3 model/resnet/testdata/make_parity.py
	/usr/bin/python3 model/optim/testdata/make_optim.py

clean:
	rm -rf bin
