// Command precompress writes FILE.br (brotli, github.com/andybalholm/brotli)
// and FILE.gz (gzip) beside each FILE given, for the server to send to
// browsers that accept them. A file whose .br and .gz are newer than it is
// skipped, so `make web` recompresses only what the build changed.
//
//	go run ./internal/precompress [-quality 11] [-force] FILE...
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/goresnet/goresnet/internal/atomicfile"
)

func main() {
	quality := flag.Int("quality", brotli.BestCompression, "brotli quality, 0-11")
	force := flag.Bool("force", false, "compress even when the outputs are up to date")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "Usage: precompress [-quality Q] [-force] FILE...\n\nWrites FILE.br and FILE.gz beside each FILE.")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var raw, br, gz int64
	for _, f := range flag.Args() {
		if err := compressFile(f, *quality, *force); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
		r, b, g := sizes(f)
		fmt.Printf("%-16s %6.2f MB   brotli %5.2f MB   gzip %5.2f MB\n", filepath.Base(f), mb(r), mb(b), mb(g))
		if strings.HasSuffix(f, ".wasm") {
			raw, br, gz = raw+r, br+b, gz+g
		}
	}
	if raw > 0 {
		fmt.Printf("%-16s %6.2f MB   brotli %5.2f MB   gzip %5.2f MB\n", "all .wasm", mb(raw), mb(br), mb(gz))
	}
}

func mb(n int64) float64 { return float64(n) / 1e6 }

// sizes are the sizes of f, f.br and f.gz.
func sizes(f string) (raw, br, gz int64) {
	for _, v := range []struct {
		name string
		n    *int64
	}{{f, &raw}, {f + ".br", &br}, {f + ".gz", &gz}} {
		if st, err := os.Stat(v.name); err == nil {
			*v.n = st.Size()
		}
	}
	return raw, br, gz
}

// upToDate reports whether out exists and is not older than in.
func upToDate(in os.FileInfo, out string) bool {
	st, err := os.Stat(out)
	return err == nil && !st.ModTime().Before(in.ModTime())
}

func compressFile(name string, quality int, force bool) error {
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	if !force && upToDate(st, name+".br") && upToDate(st, name+".gz") {
		return nil
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	t0 := time.Now()
	br, err := Brotli(raw, quality)
	if err != nil {
		return fmt.Errorf("%s: brotli: %w", name, err)
	}
	tb := time.Since(t0)
	gz, err := Gzip(raw)
	if err != nil {
		return fmt.Errorf("%s: gzip: %w", name, err)
	}
	for _, out := range []struct {
		name string
		b    []byte
	}{{name + ".br", br}, {name + ".gz", gz}} {
		err := atomicfile.Write(out.name, 0o644, func(w io.Writer) error {
			_, err := w.Write(out.b)
			return err
		})
		if err != nil {
			return err
		}
	}
	fmt.Printf("compressed %s in %.1fs (brotli quality %d)\n", filepath.Base(name), tb.Seconds(), quality)
	return nil
}

// Brotli compresses b at the given quality (11 is the best and slowest)
// with the largest window.
func Brotli(b []byte, quality int) ([]byte, error) {
	var out bytes.Buffer
	w := brotli.NewWriterOptions(&out, brotli.WriterOptions{Quality: quality, LGWin: 24})
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Gzip compresses b at gzip's best compression.
func Gzip(b []byte) ([]byte, error) {
	var out bytes.Buffer
	w, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
