package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestLoopbackOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true,
		"[::1]:8080":     true,
		"localhost:80":   true,
		"0.0.0.0:8080":   false,
		":8080":          false,
		"[::]:8080":      false,
		"10.1.2.3:8080":  false,
		"nonsense":       false,
	} {
		if got := loopbackOnly(addr); got != want {
			t.Errorf("loopbackOnly(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestServeNotBuilt(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"serve", "--web", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "make web") {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
}
