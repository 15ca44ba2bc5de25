package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// scanPickle walks a pickle's opcodes up to its STOP without executing
// them, and checks that every length it declares (of a string, bytes, a
// long integer or a frame) fits in the bytes that follow. The unpickler
// allocates such lengths before it reads them, so a corrupt length could
// otherwise ask for gigabytes (fatal in a browser's wasm memory) before the
// read fails. It returns the pickle's length, STOP included.
func scanPickle(data []byte) (int, error) {
	pos := 0
	need := func(n uint64) error {
		if n > uint64(len(data)-pos) {
			return fmt.Errorf("pickle: opcode at byte %d needs %d bytes, %d remain", pos-1, n, len(data)-pos)
		}
		return nil
	}
	skip := func(n uint64) error {
		if err := need(n); err != nil {
			return err
		}
		pos += int(n)
		return nil
	}
	// lenPrefixed skips a size-byte little-endian length and that many bytes.
	lenPrefixed := func(size int) error {
		if err := need(uint64(size)); err != nil {
			return err
		}
		var n uint64
		switch size {
		case 1:
			n = uint64(data[pos])
		case 4:
			n = uint64(binary.LittleEndian.Uint32(data[pos:]))
		case 8:
			n = binary.LittleEndian.Uint64(data[pos:])
		}
		pos += size
		return skip(n)
	}
	line := func() error {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return fmt.Errorf("pickle: opcode at byte %d: unterminated line", pos-1)
		}
		pos += i + 1
		return nil
	}
	// A number written as text (protocol 0's INT, LONG and FLOAT) is
	// converted in time quadratic in its digits: a million digits take
	// seconds, a hundred million hours. No state_dict needs more than a
	// few dozen; torch.save writes binary opcodes.
	const maxNumberLine = 4096
	number := func() error {
		start := pos
		if err := line(); err != nil {
			return err
		}
		if pos-start > maxNumberLine {
			return fmt.Errorf("pickle: opcode at byte %d: a number of %d characters (at most %d)", start-1, pos-start-1, maxNumberLine)
		}
		return nil
	}
	for pos < len(data) {
		op := data[pos]
		pos++
		var err error
		switch op {
		case '.': // STOP
			return pos, nil
		case '(', '0', '1', '2', 'N', 0x88, 0x89, 'Q', 'R', 'b', '}', 'a', 'e', 'd', 's', 'u', ']', 'l', ')', 't',
			0x85, 0x86, 0x87, 'o', 0x81, 0x92, 0x93, 0x94, 0x8f, 0x90, 0x91, 0x97, 0x98:
			// no argument
		case 'K', 'h', 'q', 0x80, 0x82: // BININT1, BINGET, BINPUT, PROTO, EXT1
			err = skip(1)
		case 'M', 0x83: // BININT2, EXT2
			err = skip(2)
		case 'J', 'j', 'r', 0x84: // BININT, LONG_BINGET, LONG_BINPUT, EXT4
			err = skip(4)
		case 'G': // BINFLOAT
			err = skip(8)
		case 'U', 'C', 0x8c, 0x8a: // SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE, LONG1
			err = lenPrefixed(1)
		case 'T', 'X', 'B', 0x8b: // BINSTRING, BINUNICODE, BINBYTES, LONG4
			err = lenPrefixed(4)
		case 0x8d, 0x8e, 0x96: // BINUNICODE8, BINBYTES8, BYTEARRAY8
			err = lenPrefixed(8)
		case 0x95: // FRAME: the next n bytes are opcodes, scanned as they come
			if err = need(8); err == nil {
				n := binary.LittleEndian.Uint64(data[pos:])
				pos += 8
				err = need(n)
			}
		case 'I', 'L', 'F', 'g', 'p': // a number on one line
			err = number()
		case 'S', 'V', 'P': // one line
			err = line()
		case 'c', 'i': // GLOBAL, INST: module and name lines
			if err = line(); err == nil {
				err = line()
			}
		default:
			err = fmt.Errorf("pickle: unknown opcode 0x%02x at byte %d", op, pos-1)
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("pickle: no STOP opcode in %d bytes", len(data))
}
