package data

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Source reads the files of one dataset folder by their names relative to
// it ("manifest.json", "train-00000-of-00004.shard"). The same pipeline
// reads a local folder natively and the server's /data/NAME/ over HTTP
// (HTTPSource natively; the browser's worker has its own source over
// fetch, worker/env_js.go).
type Source interface {
	// Open opens a file of the dataset; size is its length in bytes, or
	// -1 when the source cannot tell before reading.
	Open(ctx context.Context, name string) (rc io.ReadCloser, size int64, err error)
	// String says where the dataset is, for messages.
	String() string
}

// OpenSource returns an HTTPSource for an http:// or https:// location and
// a DirSource otherwise.
func OpenSource(loc string) (Source, error) {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		return openHTTP(loc)
	}
	return DirSource(loc), nil
}

// DirSource reads a dataset from a local folder.
type DirSource string

func (d DirSource) String() string { return string(d) }

// Open implements Source.
func (d DirSource) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	if !fs.ValidPath(name) {
		return nil, 0, fmt.Errorf("%s: invalid file name %q", d, name)
	}
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// FSSource reads a dataset from an fs.FS (e.g. an embedded or in-memory
// file system).
type FSSource struct {
	FS   fs.FS
	Name string // for messages
}

func (s FSSource) String() string { return s.Name }

// Open implements Source.
func (s FSSource) Open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	f, err := s.FS.Open(name)
	if err != nil {
		return nil, 0, err
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return f, size, nil
}
