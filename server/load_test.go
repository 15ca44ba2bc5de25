//go:build !js

package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/data/datatest"
)

// loadWeb makes a web folder like a real build, with incompressible
// stand-ins (app.wasm 2 MB, worker.wasm 1 MB) and their .br and .gz.
func loadWeb(t *testing.T) string {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for name, n := range map[string]int{"app.wasm": 2 << 20, "worker.wasm": 1 << 20} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
		var br bytes.Buffer
		bw := brotli.NewWriterLevel(&br, 1)
		bw.Write(b)
		bw.Close()
		os.WriteFile(filepath.Join(dir, name+".br"), br.Bytes(), 0o644)
		var gz bytes.Buffer
		gw, _ := gzip.NewWriterLevel(&gz, 1)
		gw.Write(b)
		gw.Close()
		os.WriteFile(filepath.Join(dir, name+".gz"), gz.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "wasm_exec.js"), []byte("// wasm_exec.js\n"), 0o644)
	return dir
}

// loadRequest is one request of the mix and how to check its answer.
type loadRequest struct {
	kind   string
	path   string
	header []string
	status int
	want   func([]byte) bool // nil: any body
}

// TestServerLoad sends GORESNET_LOAD_REQUESTS requests (default 1,000;
// make bench-server sends 20,000) from GORESNET_LOAD_CONCURRENCY
// clients at once (default 16; make bench-server: 64) to a server on
// loopback: Range requests into shards (half of them), manifests, the
// dataset index, the app's pages and scripts, app.wasm and worker.wasm
// (brotli and gzip) and revalidations (304). Every answer is checked
// (status and bytes); there must be no error. It prints the latency
// percentiles, overall and per kind, and the throughput.
func TestServerLoad(t *testing.T) {
	n := envInt(t, "GORESNET_LOAD_REQUESTS", 1000)
	conc := envInt(t, "GORESNET_LOAD_CONCURRENCY", 16)
	if testing.Short() && n > 1000 {
		n = 1000
	}
	digits := datatest.Digits(t, 4000, 1000, 32)
	s, err := New(Config{WebDir: loadWeb(t), Datasets: map[string]string{"digits": digits}, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String()

	mb, err := os.ReadFile(filepath.Join(digits, data.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := data.ParseManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	type shardFile struct {
		info  data.ShardInfo
		bytes []byte
	}
	var shards []shardFile
	for _, sp := range m.Splits {
		for _, sh := range sp.Shards {
			b, err := os.ReadFile(filepath.Join(digits, sh.File))
			if err != nil {
				t.Fatal(err)
			}
			shards = append(shards, shardFile{sh, b})
		}
	}
	rs := m.RecordHeader(0).RecordSize()
	app := s.static.get("/web/app.wasm")
	worker := s.static.get("/web/worker.wasm")
	appETag := get(t, s, "/web/app.wasm", "Accept-Encoding", "br").Header.Get("ETag")
	equal := func(want []byte) func([]byte) bool { return func(b []byte) bool { return bytes.Equal(b, want) } }

	// The mix, drawn from a seeded generator: the same requests every run.
	rng := rand.New(rand.NewPCG(7, 8))
	reqs := make([]loadRequest, n)
	for i := range reqs {
		switch x := rng.IntN(100); {
		case x < 50: // 64 records of a shard, as the loader's workers fetch
			sh := shards[rng.IntN(len(shards))]
			recs := sh.info.Records
			k := rng.IntN(max(1, recs-64))
			from := 32 + k*rs
			to := min(len(sh.bytes), from+64*rs)
			p := "/data/digits/" + sh.info.File
			if rng.IntN(2) == 0 {
				p += "?sha256=" + sh.info.SHA256
			}
			reqs[i] = loadRequest{"shard range", p, []string{"Range", fmt.Sprintf("bytes=%d-%d", from, to-1)}, http.StatusPartialContent, equal(sh.bytes[from:to])}
		case x < 58:
			reqs[i] = loadRequest{"manifest", "/data/digits/manifest.json", nil, http.StatusOK, equal(mb)}
		case x < 62:
			reqs[i] = loadRequest{"index", "/data/", nil, http.StatusOK, func(b []byte) bool { return bytes.Contains(b, []byte(`"digits"`)) }}
		case x < 72:
			reqs[i] = loadRequest{"page", []string{"/", "/data", "/train", "/predict"}[rng.IntN(4)], nil, http.StatusOK, func(b []byte) bool { return bytes.Contains(b, []byte("<title>")) }}
		case x < 80:
			p := []string{"/app.js", "/web/worker.js", "/wasm_exec.js", "/web/goresnet.css", "/manifest.webmanifest"}[rng.IntN(5)]
			reqs[i] = loadRequest{"script", p, nil, http.StatusOK, nil}
		case x < 85:
			reqs[i] = loadRequest{"app.wasm br", "/web/app.wasm", []string{"Accept-Encoding", "br"}, http.StatusOK, equal(app.br)}
		case x < 90:
			reqs[i] = loadRequest{"worker.wasm gzip", "/web/worker.wasm", []string{"Accept-Encoding", "gzip"}, http.StatusOK, equal(worker.gz)}
		default: // a reload: revalidation
			reqs[i] = loadRequest{"304", "/web/app.wasm", []string{"Accept-Encoding", "br", "If-None-Match", appETag}, http.StatusNotModified, func(b []byte) bool { return len(b) == 0 }}
		}
	}

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: conc, MaxIdleConnsPerHost: conc, DisableCompression: true,
	}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	lat := make([]time.Duration, n)
	var bytesIn int64
	var mu sync.Mutex
	var errs []string
	next := make(chan int)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := reqs[i]
				req, _ := http.NewRequest(http.MethodGet, base+r.path, nil)
				for j := 0; j+1 < len(r.header); j += 2 {
					req.Header.Set(r.header[j], r.header[j+1])
				}
				start := time.Now()
				resp, err := client.Do(req)
				var b []byte
				if err == nil {
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(start)
				var problem string
				switch {
				case err != nil:
					problem = err.Error()
				case resp.StatusCode != r.status:
					problem = fmt.Sprintf("status %d, want %d", resp.StatusCode, r.status)
				case r.want != nil && !r.want(b):
					problem = fmt.Sprintf("wrong body (%d bytes)", len(b))
				}
				mu.Lock()
				bytesIn += int64(len(b))
				if problem != "" {
					errs = append(errs, fmt.Sprintf("%s %s: %s", r.kind, r.path, problem))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(t0)

	pct := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[min(len(d)-1, int(p*float64(len(d))))]
	}
	all := slices.Clone(lat)
	slices.Sort(all)
	byKind := map[string][]time.Duration{}
	for i, r := range reqs {
		byKind[r.kind] = append(byKind[r.kind], lat[i])
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "server load: %d requests, %d concurrent, loopback, GOMAXPROCS %d\n", n, conc, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&sb, "  errors %d, %.2f s, %.0f requests/s, %.1f MB/s received\n", len(errs), elapsed.Seconds(), float64(n)/elapsed.Seconds(), float64(bytesIn)/1e6/elapsed.Seconds())
	fmt.Fprintf(&sb, "  latency p50 %v, p90 %v, p99 %v, max %v\n", pct(all, 0.5).Round(time.Microsecond), pct(all, 0.9).Round(time.Microsecond), pct(all, 0.99).Round(time.Microsecond), all[len(all)-1].Round(time.Microsecond))
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	fmt.Fprintf(&sb, "  %-18s %7s %10s %10s\n", "kind", "count", "p50", "p99")
	for _, k := range kinds {
		d := byKind[k]
		slices.Sort(d)
		fmt.Fprintf(&sb, "  %-18s %7d %10v %10v\n", k, len(d), pct(d, 0.5).Round(time.Microsecond), pct(d, 0.99).Round(time.Microsecond))
	}
	t.Log("\n" + sb.String())
	if p := os.Getenv("GORESNET_LOAD_OUT"); p != "" {
		os.WriteFile(p, []byte(sb.String()), 0o644)
	}
	if len(errs) > 0 {
		t.Errorf("%d errors, e.g.:\n%s", len(errs), strings.Join(errs[:min(10, len(errs))], "\n"))
	}
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}
