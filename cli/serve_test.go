package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeBindsLoopback: serve listens on the loopback interface unless
// told otherwise, and says so loudly when told otherwise (a wildcard
// address, IPv4 or IPv6); in both cases it prints where it serves and
// stops cleanly when its context ends (SIGINT or SIGTERM in real use).
func TestServeBindsLoopback(t *testing.T) {
	web := t.TempDir()
	for _, f := range []string{"app.wasm", "worker.wasm"} {
		if err := os.WriteFile(filepath.Join(web, f), []byte("\x00asm"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	defer func(f func() (context.Context, context.CancelFunc)) { serveContext = f }(serveContext)
	for _, c := range []struct {
		addr string
		warn bool
	}{
		{"127.0.0.1:0", false},
		{"localhost:0", false},
		{"[::1]:0", false},
		{"0.0.0.0:0", true},
		{":0", true},
		{"[::]:0", true},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		serveContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- Main([]string{"serve", "--web", web, "--data", t.TempDir(), "--digits", "", "--addr", c.addr}, &out, &errb)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "serving on") && time.Now().Before(deadline) {
			select {
			case code := <-done:
				if strings.Contains(errb.String(), "address") && strings.HasPrefix(c.addr, "[::") {
					t.Logf("%s: no IPv6 here: %s", c.addr, errb.String())
					goto next
				}
				t.Fatalf("%s: serve exited with %d: %s", c.addr, code, errb.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("%s: exit %d: %s", c.addr, code, errb.String())
		}
		if warned := strings.Contains(errb.String(), "WARNING"); warned != c.warn {
			t.Errorf("%s: warning %v, want %v\nstderr: %s", c.addr, warned, c.warn, errb.String())
		}
		if !strings.Contains(out.String(), "serving on http://") || !strings.Contains(out.String(), "goresnet: stopped") {
			t.Errorf("%s: stdout %s", c.addr, out.String())
		}
		t.Logf("%s: %s", c.addr, strings.SplitN(out.String(), "\n", 2)[0])
	next:
		cancel()
	}
	// The default is the loopback address.
	var help syncBuffer
	Main([]string{"help", "serve"}, &help, &help)
	if !strings.Contains(help.String(), `address to listen on (loopback by default) (default "127.0.0.1:8080")`) {
		t.Errorf("serve's default address is not 127.0.0.1:8080:\n%s", help.String())
	}
	if !strings.Contains(commands["serve"].summary, "127.0.0.1") {
		t.Errorf("serve's summary does not say it serves on 127.0.0.1: %s", commands["serve"].summary)
	}
}
