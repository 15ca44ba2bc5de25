//go:build !js

package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// heavy are packages that must stay out of app.wasm and worker.wasm (the
// budget is 4 MB brotli for both): plotting, the protobuf library (the
// worker's ONNX export, model/onnx, has its own small encoder), Graphviz,
// gorgonia, terminal progress bars.
var heavy = []string{
	"gonum.org/v1/plot",
	"google.golang.org/protobuf",
	"github.com/goresnet/goresnet/internal/onnxpb",
	"github.com/goccy/go-graphviz",
	"github.com/tetratelabs/wazero",
	"gorgonia.org/",
	"github.com/schollz/progressbar",
	"github.com/chromedp/",
	"github.com/andybalholm/brotli",
}

// appOnly are packages that app.wasm (the UI thread) must not link: the
// network and its kernels run in the workers only.
var appOnly = []string{
	"github.com/goresnet/goresnet/model/train",
	"github.com/goresnet/goresnet/model/resnet",
	"github.com/goresnet/goresnet/model/kernels",
	"github.com/goresnet/goresnet/model/weights",
	// The local import decodes pictures in a worker (dataset-import).
	"github.com/goresnet/goresnet/model/data/importer",
}

// workerOnly are packages that worker.wasm must not link: net/http (5 MB
// raw, 0.35 MB brotli) came in with model/data's HTTPSource; the worker
// reads datasets over fetch (worker/env_js.go). app.wasm links it through
// go-app.
var workerOnly = []string{"net/http"}

func TestWasmMainsStayLean(t *testing.T) {
	for _, main := range []string{"../wasm/app", "../worker"} {
		cmd := exec.Command("go", "list", "-deps", main)
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", main, err)
		}
		banned := heavy
		if main == "../wasm/app" {
			banned = append(append([]string(nil), heavy...), appOnly...)
		} else {
			banned = append(append([]string(nil), heavy...), workerOnly...)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, h := range banned {
				if strings.HasPrefix(dep, h) {
					t.Errorf("%s depends on %s", main, dep)
				}
			}
		}
	}
}
