package msg

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMessageJSON(t *testing.T) {
	m, err := Message{Type: "train", ID: 7}.WithBody(map[string]any{"lr": 0.5, "steps": 3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"type":"train","id":7,"body":{"lr":0.5,"steps":3}}`; got != want {
		t.Fatalf("JSON %s, want %s", got, want)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var body struct {
		LR    float64 `json:"lr"`
		Steps int     `json:"steps"`
	}
	if err := back.DecodeBody(&body); err != nil || body.LR != 0.5 || body.Steps != 3 {
		t.Fatalf("body %+v, %v", body, err)
	}
	if err := (Message{Type: Pong}).DecodeBody(&body); err == nil {
		t.Fatal("decoding a missing body: no error")
	}
}

func TestErrors(t *testing.T) {
	if (Message{Type: Pong}).AsError() != nil {
		t.Fatal("a pong is not an error")
	}
	e := Errorf(3, "bad %s", "thing")
	e.Stack = "goroutine 1"
	err := e.AsError()
	if err == nil || e.ID != 3 || !strings.Contains(err.Error(), "bad thing\ngoroutine 1") {
		t.Fatalf("error %v (%+v)", err, e)
	}
}

func TestFloat32Views(t *testing.T) {
	f := []float32{1, -2.5, 3e-9}
	b := Float32Bytes(f)
	if len(b) != 12 {
		t.Fatalf("%d bytes", len(b))
	}
	g, err := BytesFloat32(b)
	if err != nil || len(g) != 3 || g[1] != -2.5 || &g[0] != &f[0] {
		t.Fatalf("%v %v", g, err)
	}
	if _, err := BytesFloat32(b[:5]); err == nil {
		t.Fatal("5 bytes: no error")
	}
	if _, err := BytesFloat32(b[1:9]); err == nil {
		t.Fatal("misaligned: no error")
	}
	if Float32Bytes(nil) != nil {
		t.Fatal("empty view")
	}
}
