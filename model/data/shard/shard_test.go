package shard

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
)

func TestRoundTrip(t *testing.T) {
	h := Header{Height: 2, Width: 3, Channels: 3, Records: 3}
	var b bytes.Buffer
	w, err := NewWriter(&b, h)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		pix := bytes.Repeat([]byte{byte(i + 1)}, h.PixelSize())
		if err := w.Write(i*1000, pix); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(1, make([]byte, h.PixelSize())); err == nil {
		t.Error("a fourth record was accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(b.Len()) != h.FileSize() || b.Len() != 32+3*22 {
		t.Fatalf("%d bytes", b.Len())
	}
	s, err := Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if s.Header != h {
		t.Errorf("header %+v", s.Header)
	}
	for i := range 3 {
		l, pix := s.Record(i)
		if int(l) != i*1000 || len(pix) != 18 || pix[17] != byte(i+1) {
			t.Errorf("record %d: %d %v", i, l, pix)
		}
	}
	if err := s.CheckLabels(2001); err != nil {
		t.Error(err)
	}
	if err := s.CheckLabels(2000); err == nil || !strings.Contains(err.Error(), "record 2 has label 2000") {
		t.Errorf("labels: %v", err)
	}
	// Short writes and wrong sizes.
	w, _ = NewWriter(&bytes.Buffer{}, h)
	if err := w.Write(0, make([]byte, 5)); err == nil {
		t.Error("a short record was accepted")
	}
	if err := w.Close(); err == nil {
		t.Error("Close accepted missing records")
	}
}

func TestParseErrors(t *testing.T) {
	var b bytes.Buffer
	w, _ := NewWriter(&b, Header{Height: 1, Width: 1, Channels: 3, Records: 1})
	w.Write(0, []byte{1, 2, 3})
	good := b.Bytes()
	mod := func(off int, v byte) []byte {
		c := bytes.Clone(good)
		c[off] = v
		return c
	}
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{good[:10], "shorter than the 32-byte header"},
		{mod(0, 'X'), "bad magic"},
		{mod(8, 2), "format version 2"},
		{mod(20, 1), "1 channels"},
		{mod(12, 0), "out of range"},
		{mod(28, 1), "reserved"},
		{good[:len(good)-1], "declares 1 records of 7 bytes (39 bytes in all)"},
		{append(bytes.Clone(good), 0), "40 bytes"},
	} {
		_, err := Parse(c.b)
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// FuzzParse: any input is a shard or an error; every record of a parsed
// shard can be read.
//
// Parsing makes a view of the input: it allocates almost nothing (64 KiB
// allowed), whatever the header declares.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var s *Shard
		var err error
		fuzzcorpus.AllocBound(t, "Parse", 64<<10, func() { s, err = Parse(b) })
		if err != nil {
			return
		}
		for i := range s.Records {
			_, pix := s.Record(i)
			if len(pix) != s.PixelSize() {
				t.Fatal("record size")
			}
		}
		s.CheckLabels(10)
	})
}
