package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

func TestCompressFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "x.wasm")
	raw := bytes.Repeat([]byte("goresnet wasm "), 5000)
	if err := os.WriteFile(name, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := compressFile(name, 5, false); err != nil {
		t.Fatal(err)
	}
	br, _ := os.ReadFile(name + ".br")
	got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br)))
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("brotli round trip: %v", err)
	}
	gzf, _ := os.ReadFile(name + ".gz")
	zr, err := gzip.NewReader(bytes.NewReader(gzf))
	if err != nil {
		t.Fatal(err)
	}
	if got, err = io.ReadAll(zr); err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("gzip round trip: %v", err)
	}
	if len(br) >= len(raw)/10 {
		t.Fatalf("brotli made %d bytes of %d", len(br), len(raw))
	}

	// Up to date: not rewritten. Older than the input: rewritten.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(name, old, old)
	os.WriteFile(name+".br", []byte("stale"), 0o644)
	if err := compressFile(name, 5, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name + ".br"); string(b) != "stale" {
		t.Fatal("an up-to-date output was rewritten")
	}
	os.Chtimes(name, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if err := compressFile(name, 5, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name + ".br"); string(b) == "stale" {
		t.Fatal("an out-of-date output was kept")
	}
}
