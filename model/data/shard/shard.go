// Package shard holds the shard file format of goresnet datasets: a
// 32-byte header and fixed-size records, each a little-endian uint32 label
// followed by the image as uint8 RGB pixels in HWC order.
//
//	offset  size  field
//	0       8     magic "GRSHARD\x00"
//	8       4     format version (1)
//	12      4     image height
//	16      4     image width
//	20      4     channels (3)
//	24      4     record count
//	28      4     reserved (0)
//	32      ...   records: label uint32, then height*width*channels bytes
//
// All integers are little-endian. Because records have a fixed size,
// record i starts at byte 32 + i*RecordSize, so a reader can also fetch
// single records with HTTP Range requests. A dataset's manifest.json lists
// its shard files with their byte sizes and sha256 (package data).
package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic starts every shard file.
const Magic = "GRSHARD\x00"

// Version is the shard format version this package writes and reads.
const Version = 1

// HeaderSize is the size of the shard header in bytes.
const HeaderSize = 32

// LabelSize is the size of a record's label in bytes.
const LabelSize = 4

// MaxSide bounds the image side a header may declare (records must stay
// addressable and a corrupt header must not ask for absurd buffers).
const MaxSide = 1 << 14

// Header describes a shard.
type Header struct {
	Height, Width, Channels int
	Records                 int
}

// RecordSize is the size in bytes of one record.
func (h Header) RecordSize() int { return LabelSize + h.Height*h.Width*h.Channels }

// PixelSize is the size in bytes of one record's pixels.
func (h Header) PixelSize() int { return h.Height * h.Width * h.Channels }

// FileSize is the size in bytes of a complete shard with this header.
func (h Header) FileSize() int64 { return HeaderSize + int64(h.Records)*int64(h.RecordSize()) }

// Check reports whether the header's fields are in range.
func (h Header) Check() error {
	switch {
	case h.Height < 1 || h.Width < 1 || h.Height > MaxSide || h.Width > MaxSide:
		return fmt.Errorf("image size %dx%d out of range [1, %d]", h.Height, h.Width, MaxSide)
	case h.Channels != 3:
		return fmt.Errorf("%d channels, want 3 (RGB)", h.Channels)
	case h.Records < 0:
		return fmt.Errorf("negative record count %d", h.Records)
	}
	return nil
}

// MarshalBinary encodes the 32-byte header.
func (h Header) MarshalBinary() ([]byte, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	if int64(h.Records) > 0xFFFFFFFF {
		return nil, fmt.Errorf("%d records do not fit a shard header", h.Records)
	}
	b := make([]byte, HeaderSize)
	copy(b, Magic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], Version)
	le.PutUint32(b[12:], uint32(h.Height))
	le.PutUint32(b[16:], uint32(h.Width))
	le.PutUint32(b[20:], uint32(h.Channels))
	le.PutUint32(b[24:], uint32(h.Records))
	return b, nil
}

// ErrFormat is wrapped by every error about a malformed shard.
var ErrFormat = errors.New("malformed shard")

// ParseHeader decodes and checks a shard header.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrFormat, len(b), HeaderSize)
	}
	if string(b[:8]) != Magic {
		return Header{}, fmt.Errorf("%w: bad magic %q (not a goresnet shard)", ErrFormat, b[:8])
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[8:]); v != Version {
		return Header{}, fmt.Errorf("%w: format version %d, this build reads version %d", ErrFormat, v, Version)
	}
	if r := le.Uint32(b[28:]); r != 0 {
		return Header{}, fmt.Errorf("%w: reserved header field is %d, want 0", ErrFormat, r)
	}
	h := Header{
		Height:   int(le.Uint32(b[12:])),
		Width:    int(le.Uint32(b[16:])),
		Channels: int(le.Uint32(b[20:])),
		Records:  int(le.Uint32(b[24:])),
	}
	if err := h.Check(); err != nil {
		return Header{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return h, nil
}

// Shard is a whole shard file held in memory.
type Shard struct {
	Header
	data []byte // the records (header stripped)
}

// Parse checks a complete shard file in memory and returns a view of it
// (no copy). The size must match the header exactly.
func Parse(b []byte) (*Shard, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if got, want := int64(len(b)), h.FileSize(); got != want {
		return nil, fmt.Errorf("%w: %d bytes, but its header declares %d records of %d bytes (%d bytes in all)", ErrFormat, got, h.Records, h.RecordSize(), want)
	}
	return &Shard{Header: h, data: b[HeaderSize:]}, nil
}

// Record returns record i: its label and its pixels (a view into the
// shard's memory, HWC uint8 RGB).
func (s *Shard) Record(i int) (label uint32, pixels []byte) {
	rs := s.RecordSize()
	r := s.data[i*rs : (i+1)*rs]
	return binary.LittleEndian.Uint32(r), r[LabelSize:]
}

// CheckLabels reports the first record whose label is not below classes.
func (s *Shard) CheckLabels(classes int) error {
	for i := 0; i < s.Records; i++ {
		if l, _ := s.Record(i); int64(l) >= int64(classes) {
			return fmt.Errorf("%w: record %d has label %d, but the dataset has %d classes", ErrFormat, i, l, classes)
		}
	}
	return nil
}

// Writer writes a shard of a known record count to w.
type Writer struct {
	h       Header
	w       io.Writer
	written int
	buf     [LabelSize]byte
}

// NewWriter writes the header and returns a writer for h.Records records.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	hb, err := h.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(hb); err != nil {
		return nil, err
	}
	return &Writer{h: h, w: w}, nil
}

// Write appends one record.
func (w *Writer) Write(label int, pixels []byte) error {
	if w.written >= w.h.Records {
		return fmt.Errorf("shard: more than the %d records declared", w.h.Records)
	}
	if len(pixels) != w.h.PixelSize() {
		return fmt.Errorf("shard: record of %d bytes, want %d", len(pixels), w.h.PixelSize())
	}
	if label < 0 || int64(label) > 0xFFFFFFFF {
		return fmt.Errorf("shard: label %d out of range", label)
	}
	binary.LittleEndian.PutUint32(w.buf[:], uint32(label))
	if _, err := w.w.Write(w.buf[:]); err != nil {
		return err
	}
	if _, err := w.w.Write(pixels); err != nil {
		return err
	}
	w.written++
	return nil
}

// Close checks that every declared record was written.
func (w *Writer) Close() error {
	if w.written != w.h.Records {
		return fmt.Errorf("shard: %d records written, %d declared", w.written, w.h.Records)
	}
	return nil
}
