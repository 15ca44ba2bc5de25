package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/kernels"
	"github.com/goresnet/goresnet/worker/msg"
)

type noBuffers struct{}

func (noBuffers) Names() []string             { return nil }
func (noBuffers) Len(string) int              { return -1 }
func (noBuffers) CopyTo(string, []byte) error { return nil }
func (noBuffers) String() string              { return "no buffers" }

func TestPingPong(t *testing.T) {
	r := readyMessage()
	if r.Type != msg.Ready || r.Kernel != kernels.KernelName() || r.Kernel == "" || r.GoVersion != runtime.Version() {
		t.Fatalf("ready %+v", r)
	}
	reply, out := handle(msg.Message{Type: msg.Ping, ID: 5}, noBuffers{})
	if reply.Type != msg.Pong || reply.ID != 5 || reply.Kernel != kernels.KernelName() || out != nil {
		t.Fatalf("reply %+v", reply)
	}
}

func TestUnknownAndPanics(t *testing.T) {
	reply, _ := handle(msg.Message{Type: "nope", ID: 2}, noBuffers{})
	if reply.Type != msg.Error || reply.ID != 2 || !strings.Contains(reply.Message, `unknown message type "nope"`) {
		t.Fatalf("reply %+v", reply)
	}
	Handle("test-panic", func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) {
		var s []int
		_ = s[3]
		return msg.Message{}, nil
	})
	Handle("test-echo", func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) {
		return msg.Message{Type: "echoed", Body: m.Body}, []msg.Buffer{{Name: "x", Data: []byte{1}}}
	})
	reply, _ = handle(msg.Message{Type: "test-panic", ID: 3}, noBuffers{})
	if reply.Type != msg.Error || reply.ID != 3 || !strings.Contains(reply.Message, "index out of range") || !strings.Contains(reply.Stack, "handle_test.go") {
		t.Fatalf("reply %+v", reply)
	}
	reply, out := handle(msg.Message{Type: "test-echo", ID: 4, Body: []byte(`{"a":1}`)}, noBuffers{})
	if reply.Type != "echoed" || reply.ID != 4 || string(reply.Body) != `{"a":1}` || len(out) != 1 {
		t.Fatalf("reply %+v %v", reply, out)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering ping: no panic")
		}
	}()
	Handle(msg.Ping, nil)
}
