package idx

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
)

func gz(b []byte) []byte {
	var o bytes.Buffer
	z := gzip.NewWriter(&o)
	z.Write(b)
	z.Close()
	return o.Bytes()
}

func TestRead(t *testing.T) {
	raw := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6}
	for _, b := range [][]byte{raw, gz(raw)} {
		a, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Dims) != 3 || a.Dims[0] != 2 || a.Dims[2] != 3 || !bytes.Equal(a.Data, []byte{1, 2, 3, 4, 5, 6}) {
			t.Errorf("got %+v", a)
		}
	}
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{nil, "no header"},
		{[]byte{1, 0, 8, 1}, "bad magic"},
		{[]byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "float32 is not supported"},
		{[]byte{0, 0, 0x42, 1}, "unknown element type"},
		{[]byte{0, 0, 8, 0}, "zero dimensions"},
		{[]byte{0, 0, 8, 2, 0, 0, 0, 1}, "inside the dimensions"},
		{raw[:len(raw)-1], "truncated"},
		{append(append([]byte{}, raw...), 7), "more data"},
		{[]byte{0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "more than"},
		{[]byte{0x1f, 0x8b, 0, 0}, "gzip"},
	} {
		_, err := Parse(c.b)
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("% x: error %v, want %q", c.b, err, c.want)
		}
	}
}

// FuzzRead: any input gives an array or an error, never a panic, and an
// array's data matches its dimensions. Reading allocates at most 2,200
// times the input plus 1 MiB: the data grows as it arrives (a buffer that
// doubles: twice its final size), and gzip's deflate expands at most
// 1,032 times; dimensions that declare more than the input holds are
// never allocated for.
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var a *Array
		var err error
		fuzzcorpus.AllocBound(t, "Parse", 2200*uint64(len(b))+1<<20, func() { a, err = Parse(b) })
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Dims {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("dims %v but %d bytes", a.Dims, len(a.Data))
		}
	})
}
