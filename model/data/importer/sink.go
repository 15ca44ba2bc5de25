package importer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Sink receives the files of a dataset being imported and makes them
// visible all at once, so an interrupted import leaves no half dataset.
// Natively it is a DirSink; the browser can store into OPFS.
type Sink interface {
	// Create makes a new file of the dataset (names are relative, with
	// forward slashes).
	Create(name string) (io.WriteCloser, error)
	// Commit publishes everything created, atomically where the storage
	// allows.
	Commit() error
	// Abort discards everything created.
	Abort()
}

// DirSink writes a dataset into a hidden temporary folder beside its
// destination and renames it into place on Commit.
type DirSink struct {
	Dir     string // the destination
	tmp     string
	replace bool
}

// NewDirSink prepares to write the dataset folder dir. An existing dir is
// an error unless replace is set; then it is swapped out only on Commit.
func NewDirSink(dir string, replace bool) (*DirSink, error) {
	dir = filepath.Clean(dir)
	if st, err := os.Stat(dir); err == nil {
		if !replace {
			return nil, fmt.Errorf("%s already exists (use --force to replace it)", dir)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s exists and is not a folder", dir)
		}
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, err
	}
	return &DirSink{Dir: dir, tmp: tmp, replace: replace}, nil
}

type syncFile struct{ *os.File }

func (f syncFile) Close() error {
	if err := f.File.Sync(); err != nil && runtime.GOOS != "js" {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

// Create implements Sink.
func (s *DirSink) Create(name string) (io.WriteCloser, error) {
	p := filepath.Join(s.tmp, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return syncFile{f}, nil
}

// Commit implements Sink: the temporary folder is renamed to Dir (an old
// Dir, when replacing, is moved aside first and removed after).
func (s *DirSink) Commit() error {
	if err := os.Chmod(s.tmp, 0o755); err != nil && runtime.GOOS != "js" {
		return err
	}
	var old string
	if _, err := os.Stat(s.Dir); err == nil {
		if !s.replace {
			return fmt.Errorf("%s appeared during the import; the new dataset is left in %s", s.Dir, s.tmp)
		}
		old = s.tmp + ".old"
		if err := os.Rename(s.Dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(s.tmp, s.Dir); err != nil {
		if old != "" {
			os.Rename(old, s.Dir)
		}
		return err
	}
	if d, err := os.Open(filepath.Dir(s.Dir)); err == nil {
		d.Sync()
		d.Close()
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// Abort implements Sink.
func (s *DirSink) Abort() { os.RemoveAll(s.tmp) }
