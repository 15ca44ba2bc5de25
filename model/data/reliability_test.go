//go:build !js

package data

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
)

// hugeManifest declares n x 2^27 records of 1x1 images (n shards, each
// within MaxShardBytes); with n = 8192, 2^40 records: no reader may
// believe it, as the loader's epoch order alone would take 8 TiB.
func hugeManifest(n int) []byte {
	m := map[string]any{
		"format": ManifestFormat, "version": ManifestVersion, "name": "huge",
		"image":   map[string]any{"height": 1, "width": 1, "channels": 3, "layout": "HWC", "dtype": "uint8"},
		"classes": []map[string]string{{"name": "a"}},
	}
	var shards []map[string]any
	const per = 1 << 27
	for i := range n {
		shards = append(shards, map[string]any{"file": fmt.Sprintf("s%05d.shard", i), "records": per, "bytes": 32 + per*7, "sha256": strings.Repeat("a", 64)})
	}
	m["splits"] = []map[string]any{{"name": "train", "count": n * per, "shards": shards}}
	b, _ := json.Marshal(m)
	return b
}

// TestHugeManifestRefused: a manifest that declares 2^40 records (in 800
// KB) is refused at once, allocating a small multiple of its size.
func TestHugeManifestRefused(t *testing.T) {
	b := hugeManifest(1 << 13)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	_, err := ParseManifest(b)
	elapsed := time.Since(t0)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte manifest: %v in %v, %d bytes allocated", len(b), err, elapsed, alloc)
	if err == nil || !strings.Contains(err.Error(), "more than 33554432 records") {
		t.Fatalf("error %v", err)
	}
	if alloc > 16*uint64(len(b)) || elapsed > 2*time.Second {
		t.Errorf("refusing took %v and %d bytes", elapsed, alloc)
	}
}

// TestShardOfUnknownSizeNotPreallocated: a shard sent without a length
// (chunked) is read as it arrives; a response of a few bytes for a shard
// the manifest says is 512 MB is an error that allocated little.
func TestShardOfUnknownSizeNotPreallocated(t *testing.T) {
	const records = (512 << 20) / (4 + 64*64*3)
	m := fmt.Sprintf(`{"format":%q,"version":%d,"name":"big","image":{"height":64,"width":64,"channels":3,"layout":"HWC","dtype":"uint8"},
		"classes":[{"name":"a"}],"splits":[{"name":"train","count":%d,"shards":[{"file":"train-00000.shard","records":%d,"bytes":%d,"sha256":%q}]}]}`,
		ManifestFormat, ManifestVersion, records, records, 32+records*(4+64*64*3), strings.Repeat("0", 64))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ManifestName) {
			w.Write([]byte(m))
			return
		}
		w.Write([]byte("GRSHARD\x00"))
		w.(http.Flusher).Flush() // no Content-Length: chunked
		w.Write([]byte("short"))
	}))
	defer srv.Close()
	ds, err := OpenPath(context.Background(), srv.URL+"/data/big/", nil)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = ds.Shard(context.Background(), "train", 0)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%v; %d bytes allocated", err, alloc)
	if err == nil || !strings.Contains(err.Error(), "shorter than the") {
		t.Errorf("error %v", err)
	}
	if alloc > 16<<20 {
		t.Errorf("allocated %d bytes for a 13-byte response", alloc)
	}
}

// TestWriteManifestCorpus adds truncations and bit flips of the
// hand-made entries to FuzzManifest's corpus, and a manifest of 2^27 records
// (GORESNET_WRITE_CORPUS=1).
func TestWriteManifestCorpus(t *testing.T) {
	fuzzcorpus.SkipUnlessEnabled(t)
	w := fuzzcorpus.New(t, "FuzzManifest")
	w.AddVariantsOfEntries(6)
	w.Add("2^27-records", hugeManifest(1))
	w.Done()
}
