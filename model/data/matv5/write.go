package matv5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"math"
)

// Encode writes a little-endian version 5 MAT-file holding vars (double,
// char and cell arrays only), each variable zlib-compressed if compress is
// set (what MATLAB's default -v7 does). It exists for tests and tools that
// need small list files; Stanford Dogs' own lists are read by Parse.
func Encode(compress bool, vars ...*Array) ([]byte, error) {
	var out bytes.Buffer
	head := fmt.Sprintf("%-116s", "MATLAB 5.0 MAT-file, written by goresnet")
	out.WriteString(head)
	out.Write(make([]byte, 8))
	out.Write([]byte{0x00, 0x01, 'I', 'M'})
	for _, v := range vars {
		m, err := encodeMatrix(v)
		if err != nil {
			return nil, err
		}
		if !compress {
			out.Write(m)
			continue
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(m)
		zw.Close()
		out.Write(element(miCOMPRESSED, z.Bytes(), false))
	}
	return out.Bytes(), nil
}

// element encodes a data element (padded to 8 bytes if pad).
func element(typ uint32, data []byte, pad bool) []byte {
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	for pad && len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

func encodeMatrix(a *Array) ([]byte, error) {
	le := binary.LittleEndian
	flags := le.AppendUint32(nil, uint32(a.Class))
	flags = le.AppendUint32(flags, 0)
	body := element(miUINT32, flags, true)
	var dims []byte
	for _, d := range a.Dims {
		dims = le.AppendUint32(dims, uint32(d))
	}
	body = append(body, element(miINT32, dims, true)...)
	body = append(body, element(miINT8, []byte(a.Name), true)...)
	switch a.Class {
	case Double:
		var d []byte
		for _, v := range a.Num {
			d = le.AppendUint64(d, math.Float64bits(v))
		}
		body = append(body, element(miDOUBLE, d, true)...)
	case Char:
		var d []byte
		for _, c := range a.Chars {
			d = le.AppendUint16(d, uint16(c))
		}
		body = append(body, element(miUINT16, d, true)...)
	case Cell:
		for _, c := range a.Cells {
			m, err := encodeMatrix(c)
			if err != nil {
				return nil, err
			}
			body = append(body, m...)
		}
	default:
		return nil, fmt.Errorf("matv5.Encode: class %s is not written", a.Class)
	}
	return element(miMATRIX, body, true), nil
}

// Str makes a 1 x n char array.
func Str(s string) *Array {
	r := []rune(s)
	return &Array{Class: Char, Dims: []int{1, len(r)}, Chars: r, Supported: true}
}

// Column makes an n x 1 double array.
func Column(name string, v []float64) *Array {
	return &Array{Name: name, Class: Double, Dims: []int{len(v), 1}, Num: v, Supported: true}
}

// CellColumn makes an n x 1 cell array of strings, the shape of Stanford
// Dogs' file_list.
func CellColumn(name string, s []string) *Array {
	a := &Array{Name: name, Class: Cell, Dims: []int{len(s), 1}, Supported: true}
	for _, x := range s {
		a.Cells = append(a.Cells, Str(x))
	}
	return a
}
