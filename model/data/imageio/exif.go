package imageio

import (
	"encoding/binary"
)

// Orientation returns the EXIF orientation (1-8) stored in a JPEG (APP1),
// PNG (eXIf) or WebP (EXIF chunk) file, or 1 when there is none or it is
// unreadable.
func Orientation(b []byte) int {
	var tiff []byte
	switch Sniff(b) {
	case "jpeg":
		tiff = jpegEXIF(b)
	case "png":
		tiff = pngEXIF(b)
	case "webp":
		tiff = webpEXIF(b)
	}
	if tiff == nil {
		return 1
	}
	return tiffOrientation(tiff)
}

// jpegEXIF walks the JPEG markers before the image data for an APP1
// segment holding "Exif\0\0" and a TIFF structure.
func jpegEXIF(b []byte) []byte {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return nil
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0x01 || m >= 0xd0 && m <= 0xd7: // no length
			i += 2
			continue
		case m == 0xda || m == 0xd9: // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if m == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// pngEXIF finds the eXIf chunk.
func pngEXIF(b []byte) []byte {
	i := 8
	for i+12 <= len(b) {
		n := int64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if n > int64(len(b)-i-12) {
			return nil
		}
		if typ == "eXIf" {
			return b[i+8 : i+8+int(n)]
		}
		if typ == "IEND" {
			return nil
		}
		i += 12 + int(n)
	}
	return nil
}

// webpEXIF finds the EXIF chunk of an extended WebP file.
func webpEXIF(b []byte) []byte {
	i := 12
	for i+8 <= len(b) {
		n := int64(binary.LittleEndian.Uint32(b[i+4:]))
		if n > int64(len(b)-i-8) {
			return nil
		}
		if string(b[i:i+4]) == "EXIF" {
			d := b[i+8 : i+8+int(n)]
			if len(d) >= 6 && string(d[:6]) == "Exif\x00\x00" {
				d = d[6:]
			}
			return d
		}
		i += 8 + int(n) + int(n&1)
	}
	return nil
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if bo.Uint16(t[e+2:]) != 3 || bo.Uint32(t[e+4:]) < 1 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// Orient returns src turned upright for EXIF orientation o: 2 mirrors, 3
// turns by 180 degrees, 4 flips vertically, 5 transposes, 6 turns 90
// degrees clockwise, 7 transverses, 8 turns 90 degrees anticlockwise.
func Orient(src RGB, o int) RGB {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.W, src.H
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := NewRGB(dw, dh)
	for y := range dh {
		for x := range dw {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			copy(dst.Pix[(y*dw+x)*3:(y*dw+x)*3+3], src.Pix[(sy*w+sx)*3:])
		}
	}
	return dst
}
