package main

import (
	"testing"

	"github.com/goresnet/goresnet/worker/msg"
)

// TestBenchStep: bench-step runs a forward and a training step of the
// full-size ResNet-50 (at 32x32 here, to be quick), keeps the network
// between requests, and refuses an unknown mode.
func TestBenchStep(t *testing.T) {
	for i, mode := range []string{"forward", "train", "train"} {
		req, err := msg.Message{Type: "bench-step", ID: int64(i + 1)}.WithBody(BenchStep{Mode: mode, Batch: 2, Size: 32})
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := handle(req, noBuffers{})
		if reply.Type != "bench-result" || reply.ID != int64(i+1) {
			t.Fatalf("%s: reply %+v", mode, reply)
		}
		var res BenchResult
		if err := reply.DecodeBody(&res); err != nil {
			t.Fatal(err)
		}
		if res.Mode != mode || res.Batch != 2 || res.Size != 32 || res.MS <= 0 || res.Kernel == "" || res.ActMiB <= 0 {
			t.Errorf("%s: result %+v", mode, res)
		}
		if i > 0 && res.Setup > 50 {
			t.Errorf("%s: the network was built again (setup %.1f ms)", mode, res.Setup)
		}
	}
	req, _ := msg.Message{Type: "bench-step", ID: 9}.WithBody(BenchStep{Mode: "sideways"})
	if reply, _ := handle(req, noBuffers{}); reply.Type != msg.Error {
		t.Errorf("unknown mode: reply %+v", reply)
	}
}
