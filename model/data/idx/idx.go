// Package idx reads IDX files, the format of the MNIST images and labels
// (http://yann.lecun.com/exdb/mnist/): a magic number (two zero bytes, an
// element type, the number of dimensions), the dimensions as big-endian
// uint32, then the elements. Files may be gzip-compressed, as MNIST is
// distributed.
package idx

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Array is an IDX file's content. Only unsigned bytes (type 0x08) are
// read: MNIST's images and labels are that.
type Array struct {
	Dims []int
	Data []uint8
}

// MaxElements bounds the element count a header may declare (1 GiB), so a
// corrupt header cannot ask for an absurd allocation.
const MaxElements = 1 << 30

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("malformed IDX file")

var typeNames = map[byte]string{0x08: "unsigned byte", 0x09: "signed byte", 0x0b: "int16", 0x0c: "int32", 0x0d: "float32", 0x0e: "float64"}

// Read reads an IDX file, gzipped or not.
func Read(r io.Reader) (*Array, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: bad gzip stream: %v", ErrFormat, err)
		}
		defer z.Close()
		return read(bufio.NewReader(z))
	}
	return read(br)
}

// Parse reads an IDX file held in memory.
func Parse(b []byte) (*Array, error) { return Read(bytes.NewReader(b)) }

func read(r io.Reader) (*Array, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("%w: no header: %v", ErrFormat, err)
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("%w: bad magic % x (want 00 00 type ndims)", ErrFormat, head)
	}
	if head[2] != 0x08 {
		name, ok := typeNames[head[2]]
		if !ok {
			return nil, fmt.Errorf("%w: unknown element type 0x%02x", ErrFormat, head[2])
		}
		return nil, fmt.Errorf("%w: element type %s is not supported (MNIST uses unsigned bytes)", ErrFormat, name)
	}
	nd := int(head[3])
	if nd < 1 {
		return nil, fmt.Errorf("%w: zero dimensions", ErrFormat)
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		var d [4]byte
		if _, err := io.ReadFull(r, d[:]); err != nil {
			return nil, fmt.Errorf("%w: header ends inside the dimensions: %v", ErrFormat, err)
		}
		dims[i] = int(binary.BigEndian.Uint32(d[:]))
		total *= int64(dims[i])
		if total > MaxElements {
			return nil, fmt.Errorf("%w: dimensions %v declare more than %d elements", ErrFormat, dims[:i+1], MaxElements)
		}
	}
	// Grow as data arrives rather than trusting the header for the
	// allocation.
	var buf bytes.Buffer
	buf.Grow(int(min(total, 1<<20)))
	n, err := io.Copy(&buf, io.LimitReader(r, total+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if n != total {
		if n > total {
			return nil, fmt.Errorf("%w: more data than the dimensions %v declare", ErrFormat, dims)
		}
		return nil, fmt.Errorf("%w: dimensions %v declare %d bytes of data, the file has %d (truncated?)", ErrFormat, dims, total, n)
	}
	return &Array{Dims: dims, Data: buf.Bytes()}, nil
}
