// Package matv5 reads the parts of MATLAB's MAT-file format version 5 (and
// version 7, which is version 5 with zlib-compressed elements) that
// dataset lists use: numeric, logical and char arrays, cell arrays and
// structs. Stanford Dogs' train_list.mat and test_list.mat are such files
// (file_list: a cell of file names; labels: a column of doubles).
//
// Other versions are refused with an error that says which: version 4
// files (no text header) and version 7.3 files (HDF5). Sparse, object and
// function-handle arrays are returned with Supported false rather than
// failing the whole file. Any malformed input is an error, never a panic
// or an unbounded allocation.
//
// The format is described in MathWorks' "MAT-File Format" (matfile_format.pdf).
package matv5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Data element types (miXXX).
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
	miUTF8       = 16
	miUTF16      = 17
	miUTF32      = 18
)

// Class is an array class (mxXXX_CLASS).
type Class int

// Array classes.
const (
	Cell   Class = 1
	Struct Class = 2
	Object Class = 3
	Char   Class = 4
	Sparse Class = 5
	Double Class = 6
	Single Class = 7
	Int8   Class = 8
	Uint8  Class = 9
	Int16  Class = 10
	Uint16 Class = 11
	Int32  Class = 12
	Uint32 Class = 13
	Int64  Class = 14
	Uint64 Class = 15
)

var classNames = map[Class]string{Cell: "cell", Struct: "struct", Object: "object", Char: "char", Sparse: "sparse",
	Double: "double", Single: "single", Int8: "int8", Uint8: "uint8", Int16: "int16", Uint16: "uint16",
	Int32: "int32", Uint32: "uint32", Int64: "int64", Uint64: "uint64"}

func (c Class) String() string {
	if n, ok := classNames[c]; ok {
		return n
	}
	return fmt.Sprintf("class %d", int(c))
}

// Array is one MATLAB array. Element order is MATLAB's, column-major.
type Array struct {
	Name      string
	Class     Class
	Dims      []int
	Logical   bool
	Supported bool      // false for sparse, object and unknown classes
	Num       []float64 // numeric and logical arrays: the real part
	Chars     []rune    // char arrays
	Cells     []*Array  // cell arrays
	Fields    []string  // struct arrays: field names
	Values    [][]*Array
}

// Len is the element count.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Dims {
		n *= d
	}
	return n
}

// String returns a char array's text; a matrix of several rows is
// returned row after row, separated by newlines.
func (a *Array) String() string {
	if a.Class != Char {
		return ""
	}
	if len(a.Dims) != 2 || a.Dims[0] <= 1 {
		return string(a.Chars)
	}
	m, n := a.Dims[0], a.Dims[1]
	rows := make([]string, m)
	for i := range m {
		r := make([]rune, n)
		for j := range n {
			r[j] = a.Chars[j*m+i]
		}
		rows[i] = string(r)
	}
	return strings.Join(rows, "\n")
}

// CellStrings returns the texts of a cell array of char arrays (nested
// one-element cells, as MATLAB's cellfun output sometimes has, are
// unwrapped).
func (a *Array) CellStrings() ([]string, error) {
	if a.Class != Cell {
		return nil, fmt.Errorf("%s is a %s array, want a cell array of strings", a.Name, a.Class)
	}
	out := make([]string, len(a.Cells))
	for i, c := range a.Cells {
		for c.Class == Cell && len(c.Cells) == 1 {
			c = c.Cells[0]
		}
		if c.Class != Char {
			return nil, fmt.Errorf("%s{%d} is a %s array, want char", a.Name, i+1, c.Class)
		}
		out[i] = c.String()
	}
	return out, nil
}

// File is a parsed MAT-file.
type File struct {
	Header string // the descriptive text
	Vars   []*Array
}

// Var returns the variable of that name.
func (f *File) Var(name string) (*Array, error) {
	for _, v := range f.Vars {
		if v.Name == name {
			return v, nil
		}
	}
	var names []string
	for _, v := range f.Vars {
		names = append(names, v.Name)
	}
	return nil, fmt.Errorf("no variable %q (the file has %s)", name, strings.Join(names, ", "))
}

// ErrFormat is wrapped by every error about a malformed or unsupported file.
var ErrFormat = errors.New("MAT-file")

// Limits on what a file may make the reader allocate.
const (
	maxDepth        = 32
	maxDecompressed = 256 << 20
	maxElements     = 1 << 28
)

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// Parse reads a MAT-file version 5 or 7 held in memory.
func Parse(b []byte) (*File, error) {
	if len(b) < 128 {
		if len(b) >= 4 && binary.LittleEndian.Uint32(b) < 5000 {
			return nil, errorf("%d bytes and no 128-byte header: a version 4 MAT-file? Only version 5/7 is read (save with -v7)", len(b))
		}
		return nil, errorf("%d bytes, shorter than the 128-byte header", len(b))
	}
	text := string(bytes.TrimRight(b[:116], " \x00"))
	switch {
	case strings.HasPrefix(text, "MATLAB 7.3 MAT-file"):
		return nil, errorf("version 7.3 (HDF5) is not supported: save with -v7 or -v6")
	case !strings.HasPrefix(text, "MATLAB 5.0 MAT-file"):
		if binary.LittleEndian.Uint32(b) < 5000 || binary.BigEndian.Uint32(b) < 5000 {
			return nil, errorf("no version 5 header: a version 4 MAT-file? Only version 5/7 is read (save with -v7)")
		}
		return nil, errorf("no \"MATLAB 5.0 MAT-file\" header: not a version 5 MAT-file")
	}
	var bo binary.ByteOrder
	switch string(b[126:128]) {
	case "IM":
		bo = binary.LittleEndian
	case "MI":
		bo = binary.BigEndian
	default:
		return nil, errorf("bad endian indicator %q", b[126:128])
	}
	if v := bo.Uint16(b[124:]); v != 0x0100 {
		return nil, errorf("header version 0x%04x, want 0x0100", v)
	}
	r := &reader{bo: bo}
	f := &File{Header: text}
	rest := b[128:]
	for len(rest) > 0 {
		if len(rest) < 8 {
			break // trailing padding
		}
		typ, data, next, err := r.tag(rest)
		if err != nil {
			return nil, err
		}
		rest = next
		switch typ {
		case miCOMPRESSED:
			inner, err := r.inflate(data)
			if err != nil {
				return nil, err
			}
			t2, d2, _, err := r.tag(inner)
			if err != nil {
				return nil, err
			}
			if t2 != miMATRIX {
				continue
			}
			a, err := r.matrix(d2, 0)
			if err != nil {
				return nil, err
			}
			f.Vars = append(f.Vars, a)
		case miMATRIX:
			a, err := r.matrix(data, 0)
			if err != nil {
				return nil, err
			}
			f.Vars = append(f.Vars, a)
		}
	}
	return f, nil
}

type reader struct {
	bo           binary.ByteOrder
	decompressed int64
}

// tag reads one data element at the start of b: its type, its data and
// what follows it (padded to 8 bytes, except after compressed elements).
func (r *reader) tag(b []byte) (typ uint32, data, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, nil, errorf("element tag cut short (%d bytes)", len(b))
	}
	w := r.bo.Uint32(b)
	if w>>16 != 0 { // small data element: size and type in one word
		n := int(w >> 16)
		if n > 4 {
			return 0, nil, nil, errorf("small data element of %d bytes (at most 4)", n)
		}
		return w & 0xffff, b[4 : 4+n], b[8:], nil
	}
	n := int64(r.bo.Uint32(b[4:]))
	if n > int64(len(b)-8) {
		return 0, nil, nil, errorf("element of type %d declares %d bytes, only %d remain", w, n, len(b)-8)
	}
	end := 8 + n
	if w != miCOMPRESSED {
		end = min((end+7)&^7, int64(len(b)))
	}
	return w, b[8 : 8+n], b[end:], nil
}

func (r *reader) inflate(data []byte) ([]byte, error) {
	z, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, errorf("compressed element: %v", err)
	}
	defer z.Close()
	var out bytes.Buffer
	lim := maxDecompressed - r.decompressed
	n, err := io.Copy(&out, io.LimitReader(z, lim+1))
	if err != nil {
		return nil, errorf("compressed element: %v", err)
	}
	if n > lim {
		return nil, errorf("compressed elements expand to more than %d bytes", maxDecompressed)
	}
	r.decompressed += n
	return out.Bytes(), nil
}

// matrix parses the content of an miMATRIX element.
func (r *reader) matrix(b []byte, depth int) (*Array, error) {
	if depth > maxDepth {
		return nil, errorf("arrays nested deeper than %d", maxDepth)
	}
	if len(b) == 0 { // an empty array, as MATLAB writes [] inside cells
		return &Array{Class: Double, Dims: []int{0, 0}, Supported: true}, nil
	}
	typ, flags, b, err := r.tag(b)
	if err != nil {
		return nil, err
	}
	if typ != miUINT32 || len(flags) != 8 {
		return nil, errorf("array flags: type %d, %d bytes (want uint32, 8)", typ, len(flags))
	}
	fw := r.bo.Uint32(flags)
	a := &Array{Class: Class(fw & 0xff), Logical: fw&0x200 != 0}
	complexData := fw&0x800 != 0
	typ, dimb, b, err := r.tag(b)
	if err != nil {
		return nil, err
	}
	if typ != miINT32 || len(dimb) < 8 || len(dimb)%4 != 0 {
		return nil, errorf("dimensions: type %d, %d bytes (want int32, at least 2)", typ, len(dimb))
	}
	total := int64(1)
	for i := 0; i < len(dimb); i += 4 {
		d := int32(r.bo.Uint32(dimb[i:]))
		if d < 0 {
			return nil, errorf("negative dimension %d", d)
		}
		a.Dims = append(a.Dims, int(d))
		total *= int64(d)
		if total > maxElements {
			return nil, errorf("dimensions %v: too many elements", a.Dims)
		}
	}
	typ, name, b, err := r.tag(b)
	if err != nil {
		return nil, err
	}
	if typ != miINT8 && typ != miUINT8 && typ != miUTF8 {
		return nil, errorf("array name: type %d", typ)
	}
	a.Name = string(name)
	n := int(total)
	switch a.Class {
	case Double, Single, Int8, Uint8, Int16, Uint16, Int32, Uint32, Int64, Uint64:
		typ, d, rest, err := r.tag(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name, err)
		}
		if a.Num, err = r.numbers(typ, d, n); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name, err)
		}
		if complexData {
			if _, _, _, err := r.tag(rest); err != nil {
				return nil, fmt.Errorf("%s: imaginary part: %w", a.Name, err)
			}
		}
		a.Supported = true
	case Char:
		typ, d, _, err := r.tag(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name, err)
		}
		if a.Chars, err = r.chars(typ, d, n); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name, err)
		}
		a.Supported = true
	case Cell:
		if n > len(b)/8 {
			return nil, errorf("%s: %d cells cannot fit in %d bytes", a.Name, n, len(b))
		}
		a.Cells = make([]*Array, n)
		for i := range n {
			typ, d, rest, err := r.tag(b)
			if err != nil {
				return nil, fmt.Errorf("%s{%d}: %w", a.Name, i+1, err)
			}
			if typ != miMATRIX {
				return nil, errorf("%s{%d}: element type %d, want a matrix", a.Name, i+1, typ)
			}
			if a.Cells[i], err = r.matrix(d, depth+1); err != nil {
				return nil, err
			}
			b = rest
		}
		a.Supported = true
	case Struct:
		typ, d, rest, err := r.tag(b)
		if err != nil || typ != miINT32 || len(d) != 4 {
			return nil, errorf("%s: struct field name length missing", a.Name)
		}
		fl := int(int32(r.bo.Uint32(d)))
		typ, names, rest, err := r.tag(rest)
		if err != nil || typ != miINT8 || fl <= 0 || len(names)%fl != 0 {
			return nil, errorf("%s: struct field names malformed", a.Name)
		}
		nf := len(names) / fl
		for i := range nf {
			fn := names[i*fl : (i+1)*fl]
			if k := bytes.IndexByte(fn, 0); k >= 0 {
				fn = fn[:k]
			}
			a.Fields = append(a.Fields, string(fn))
		}
		if int64(n)*int64(nf) > int64(len(rest)/8) {
			return nil, errorf("%s: %d x %d struct values cannot fit in %d bytes", a.Name, n, nf, len(rest))
		}
		a.Values = make([][]*Array, n)
		for i := range n {
			a.Values[i] = make([]*Array, nf)
			for j := range nf {
				typ, d, next, err := r.tag(rest)
				if err != nil {
					return nil, fmt.Errorf("%s(%d).%s: %w", a.Name, i+1, a.Fields[j], err)
				}
				if typ != miMATRIX {
					return nil, errorf("%s(%d).%s: element type %d, want a matrix", a.Name, i+1, a.Fields[j], typ)
				}
				if a.Values[i][j], err = r.matrix(d, depth+1); err != nil {
					return nil, err
				}
				rest = next
			}
		}
		a.Supported = true
	default:
		// Sparse, object, function handles ...: kept by name, unread.
	}
	return a, nil
}

var elemSize = map[uint32]int{miINT8: 1, miUINT8: 1, miINT16: 2, miUINT16: 2, miINT32: 4, miUINT32: 4,
	miSINGLE: 4, miDOUBLE: 8, miINT64: 8, miUINT64: 8}

// numbers converts stored numbers (MATLAB stores a double array in the
// smallest integer type that holds its values) to float64.
func (r *reader) numbers(typ uint32, d []byte, n int) ([]float64, error) {
	sz, ok := elemSize[typ]
	if !ok {
		return nil, errorf("numeric data of element type %d", typ)
	}
	if len(d) != n*sz {
		return nil, errorf("%d bytes of type %d for %d elements", len(d), typ, n)
	}
	out := make([]float64, n)
	bo := r.bo
	for i := range out {
		p := d[i*sz:]
		switch typ {
		case miINT8:
			out[i] = float64(int8(p[0]))
		case miUINT8:
			out[i] = float64(p[0])
		case miINT16:
			out[i] = float64(int16(bo.Uint16(p)))
		case miUINT16:
			out[i] = float64(bo.Uint16(p))
		case miINT32:
			out[i] = float64(int32(bo.Uint32(p)))
		case miUINT32:
			out[i] = float64(bo.Uint32(p))
		case miSINGLE:
			out[i] = float64(math.Float32frombits(bo.Uint32(p)))
		case miDOUBLE:
			out[i] = math.Float64frombits(bo.Uint64(p))
		case miINT64:
			out[i] = float64(int64(bo.Uint64(p)))
		case miUINT64:
			out[i] = float64(bo.Uint64(p))
		}
	}
	return out, nil
}

func (r *reader) chars(typ uint32, d []byte, n int) ([]rune, error) {
	var out []rune
	switch typ {
	case miUINT16, miUTF16:
		if len(d) != 2*n {
			return nil, errorf("%d bytes of 16-bit characters for %d characters", len(d), n)
		}
		u := make([]uint16, n)
		for i := range u {
			u[i] = r.bo.Uint16(d[2*i:])
		}
		if typ == miUTF16 {
			out = utf16.Decode(u)
		} else {
			out = make([]rune, n)
			for i, c := range u {
				out[i] = rune(c)
			}
		}
	case miUINT8, miINT8:
		if len(d) != n {
			return nil, errorf("%d bytes of 8-bit characters for %d characters", len(d), n)
		}
		out = make([]rune, n)
		for i, c := range d {
			out[i] = rune(c)
		}
	case miUTF8:
		if !utf8.Valid(d) {
			return nil, errorf("invalid UTF-8 characters")
		}
		out = []rune(string(d))
	case miUTF32:
		if len(d) != 4*n {
			return nil, errorf("%d bytes of UTF-32 for %d characters", len(d), n)
		}
		out = make([]rune, n)
		for i := range out {
			out[i] = rune(r.bo.Uint32(d[4*i:]))
		}
	default:
		return nil, errorf("character data of element type %d", typ)
	}
	if len(out) != n {
		return nil, errorf("%d characters, the dimensions say %d", len(out), n)
	}
	return out, nil
}
