package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"unsafe"
)

// encodePth writes tensors as torch.save does (protocol 2 pickles of an
// OrderedDict of _rebuild_tensor_v2 calls, one storage per tensor): the zip
// format, or the legacy format before PyTorch 1.6. It makes small .pth
// files without PyTorch: the fuzz seeds (a tiny ResNet) come from it.
func encodePth(t testing.TB, ts []Tensor, legacy bool) []byte {
	t.Helper()
	var p bytes.Buffer
	str := func(s string) {
		p.WriteByte('X')
		binary.Write(&p, binary.LittleEndian, uint32(len(s)))
		p.WriteString(s)
	}
	num := func(v int) {
		p.WriteByte('J')
		binary.Write(&p, binary.LittleEndian, int32(v))
	}
	global := func(module, name string) { fmt.Fprintf(&p, "c%s\n%s\n", module, name) }
	tuple := func(vs []int) {
		p.WriteByte('(')
		for _, v := range vs {
			num(v)
		}
		p.WriteByte('t')
	}
	p.WriteString("\x80\x02")
	global("collections", "OrderedDict")
	p.WriteString(")R")
	var keys []string
	var raws [][]byte
	for i, tn := range ts {
		key := fmt.Sprint(i)
		class, raw, n := "FloatStorage", unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(tn.F32))), 4*len(tn.F32)), len(tn.F32)
		if tn.I64 != nil {
			class, raw, n = "LongStorage", unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(tn.I64))), 8*len(tn.I64)), len(tn.I64)
		}
		keys, raws = append(keys, key), append(raws, bytes.Clone(raw))
		str(tn.Name)
		global("torch._utils", "_rebuild_tensor_v2")
		p.WriteString("((")
		str("storage")
		global("torch", class)
		str(key)
		str("cpu")
		num(n)
		if legacy {
			p.WriteByte('N') // no view of another storage
		}
		p.WriteString("tQ")
		num(0) // storage offset
		tuple(tn.Shape)
		strides := make([]int, len(tn.Shape))
		s := 1
		for j := len(tn.Shape) - 1; j >= 0; j-- {
			strides[j] = s
			s *= tn.Shape[j]
		}
		tuple(strides)
		p.WriteByte(0x89) // requires_grad False
		global("collections", "OrderedDict")
		p.WriteString(")Rt") // backward hooks; the argument tuple
		p.WriteString("Rs")  // rebuild; set in the dict
	}
	p.WriteByte('.')
	if legacy {
		var out bytes.Buffer
		// The magic number (a long), protocol version 1001, system info.
		out.WriteString("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.")
		out.WriteString("\x80\x02M\xe9\x03.")
		out.WriteString("\x80\x02}(X\x0d\x00\x00\x00little_endian\x88u.")
		out.Write(p.Bytes())
		out.WriteString("\x80\x02](")
		for _, k := range keys {
			out.WriteByte('X')
			binary.Write(&out, binary.LittleEndian, uint32(len(k)))
			out.WriteString(k)
		}
		out.WriteString("e.")
		for i, r := range raws {
			n := len(ts[i].F32) + len(ts[i].I64)
			binary.Write(&out, binary.LittleEndian, uint64(n))
			out.Write(r)
		}
		return out.Bytes()
	}
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	add := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	add("data.pkl", p.Bytes())
	add("byteorder", []byte("little"))
	for i, k := range keys {
		add("data/"+k, raws[i])
	}
	add("version", []byte("3\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// TestEncodePth: what encodePth writes reads back as the tensors it got,
// in both formats.
func TestEncodePth(t *testing.T) {
	net := tinyNet(t, 3)
	ts := NetTensors(net)
	for _, legacy := range []bool{false, true} {
		b := encodePth(t, ts, legacy)
		f, err := ParsePth(b, "tiny.pth")
		if err != nil {
			t.Fatalf("legacy %v: %v", legacy, err)
		}
		net2 := tinyNet(t, 3)
		clear(net2.ParamData)
		if err := LoadNet(net2, f, LoadOptions{}); err != nil {
			t.Fatalf("legacy %v: %v", legacy, err)
		}
		if !bitsEqual(net.ParamData, net2.ParamData) || !bitsEqual(net.BufferData, net2.BufferData) {
			t.Fatalf("legacy %v: the tensors differ after a round trip", legacy)
		}
	}
}

// rezip rewrites a zip archive (stored records), passing each record
// through edit.
func rezip(t testing.TB, b []byte, edit func(name string, rec []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var rec bytes.Buffer
		rec.ReadFrom(rc)
		rc.Close()
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(edit(f.Name, rec.Bytes()))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}
