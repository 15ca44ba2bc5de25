// Package weights reads and writes tensors in the safetensors format, reads
// PyTorch's .pth files (torch.save of a state_dict), and moves a network's
// state in and out of them under torchvision's names, so that a state_dict
// saved from torchvision loads as it is.
package weights

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"unsafe"

	"github.com/goresnet/goresnet/internal/atomicfile"
	"github.com/nlpodyssey/safetensors"
)

// File is a parsed tensor file held in memory: safetensors, or a PyTorch
// .pth file (see ParsePth), read through the same methods.
type File struct {
	Path     string // for error messages
	st       safetensors.SafeTensors
	pth      map[string]*pthTensor // set for a PyTorch file
	Metadata map[string]string
}

// Open reads and parses a safetensors or PyTorch file (told apart by their
// first bytes, whatever the file's extension).
func Open(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Parse parses a safetensors file, or a PyTorch file (ParsePth), from
// memory; name is used in errors. A truncated or corrupt file is an error,
// never a panic: the header's offsets and sizes are checked against the data
// before anything is read.
func Parse(data []byte, name string) (*File, error) {
	if isPth(data) {
		return ParsePth(data, name)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid safetensors file: %w", name, err)
	}
	// The library has checked that every tensor's bytes are in the file
	// (so a header declaring 2^40 elements is refused, and nothing is
	// allocated for tensors: they are views of data). Dimensions must also
	// fit an int32, so that no shape turns negative or overflows as int.
	for _, n := range st.Names() {
		tv, _ := st.Tensor(n)
		for _, d := range tv.Shape() {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("%s: tensor %q has shape %v, whose dimensions do not fit in 32 bits", name, n, tv.Shape())
			}
		}
	}
	_, md, _ := safetensors.ReadMetadata(data)
	return &File{Path: name, st: st, Metadata: md.Metadata()}, nil
}

// Names lists the tensors in the file, sorted.
func (f *File) Names() []string {
	var n []string
	if f.pth != nil {
		for k := range f.pth {
			n = append(n, k)
		}
	} else {
		n = f.st.Names()
	}
	slices.Sort(n)
	return n
}

// Has reports whether the file holds a tensor of that name.
func (f *File) Has(name string) bool {
	if f.pth != nil {
		return f.pth[name] != nil
	}
	_, ok := f.st.Tensor(name)
	return ok
}

// Shape returns a tensor's dtype name (as safetensors names them: F32, I64
// ...) and shape.
func (f *File) Shape(name string) (string, []int, error) {
	if f.pth != nil {
		t := f.pth[name]
		if t == nil {
			return "", nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
		}
		return t.dtype, slices.Clone(t.shape), nil
	}
	tv, ok := f.st.Tensor(name)
	if !ok {
		return "", nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	return tv.DType().String(), toInts(tv.Shape()), nil
}

// Float32 returns a copy of an F32 tensor's values and its shape. Any other
// dtype is an error that names the tensor.
func (f *File) Float32(name string) ([]float32, []int, error) {
	dtype, shape, raw, err := f.raw(name)
	if err != nil {
		return nil, nil, err
	}
	if dtype != "F32" {
		return nil, nil, fmt.Errorf("%s: tensor %q is %s, want F32", f.Path, name, dtype)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, shape, nil
}

// Int64 returns a copy of an integer tensor's values (I64, I32, U8...)
// widened to int64, and its shape.
func (f *File) Int64(name string) ([]int64, []int, error) {
	dtype, shape, raw, err := f.raw(name)
	if err != nil {
		return nil, nil, err
	}
	var out []int64
	switch dtype {
	case "I64":
		out = make([]int64, len(raw)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case "I32":
		out = make([]int64, len(raw)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case "I16":
		out = make([]int64, len(raw)/2)
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(raw[2*i:])))
		}
	case "I8":
		out = make([]int64, len(raw))
		for i := range out {
			out[i] = int64(int8(raw[i]))
		}
	case "U8", "BOOL":
		out = make([]int64, len(raw))
		for i := range out {
			out[i] = int64(raw[i])
		}
	default:
		return nil, nil, fmt.Errorf("%s: tensor %q is %s, want an integer type", f.Path, name, dtype)
	}
	return out, shape, nil
}

// raw returns a tensor's dtype, shape and little-endian bytes.
func (f *File) raw(name string) (string, []int, []byte, error) {
	if f.pth != nil {
		t := f.pth[name]
		if t == nil {
			return "", nil, nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
		}
		if t.err != nil {
			return "", nil, nil, fmt.Errorf("%s: tensor %q %w", f.Path, name, t.err)
		}
		return t.dtype, slices.Clone(t.shape), t.raw, nil
	}
	tv, ok := f.st.Tensor(name)
	if !ok {
		return "", nil, nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	return tv.DType().String(), toInts(tv.Shape()), tv.Data(), nil
}

func toInts(s []uint64) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

// Tensor is one tensor to write: F32 or I64 data, and its shape (nil or
// empty for a 0-d scalar).
type Tensor struct {
	Name  string
	Shape []int
	F32   []float32
	I64   []int64
}

// view adapts a Tensor to the safetensors writer without copying.
type view struct{ t *Tensor }

func (v view) DType() safetensors.DType {
	if v.t.I64 != nil {
		return safetensors.I64
	}
	return safetensors.F32
}

func (v view) Shape() []uint64 {
	s := make([]uint64, len(v.t.Shape))
	for i, d := range v.t.Shape {
		s[i] = uint64(d)
	}
	return s
}

// Data reinterprets the values as little-endian bytes: both platforms this
// runs on (amd64, wasm) are little-endian.
func (v view) Data() []byte {
	if v.t.I64 != nil {
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v.t.I64))), 8*len(v.t.I64))
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v.t.F32))), 4*len(v.t.F32))
}

func (v view) DataLen() uint64 { return uint64(len(v.Data())) }

// Encode writes tensors and metadata in the safetensors format.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	m := make(map[string]view, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if got := len(t.F32) + len(t.I64); got != n {
			return fmt.Errorf("tensor %q: %d values for shape %v", t.Name, got, t.Shape)
		}
		if _, dup := m[t.Name]; dup {
			return fmt.Errorf("tensor %q written twice", t.Name)
		}
		m[t.Name] = view{t}
	}
	return safetensors.SerializeToWriter(m, metadata, w)
}

// WriteFile writes tensors to path atomically (a temporary file renamed
// into place), so an interrupted save never leaves a broken file.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error { return Encode(w, tensors, metadata) })
}

func shapeString(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(p, " ") + "]"
}
