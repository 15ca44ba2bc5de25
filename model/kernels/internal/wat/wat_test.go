package wat

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// The expected bytes below are what wabt 1.0.39's wat2wasm writes for the
// same text (its name section aside: wat2wasm writes none by default).
func TestAssembleMatchesWabt(t *testing.T) {
	cases := []struct{ src, want string }{
		{`(module)`, "0061736d01000000"},
		{`(module (import "env" "mem" (memory 0))
		  (global $g (mut i32) (i32.const -1))
		  (func (export "f") (param $x i32) (result i32)
		    (global.set $g (local.get $x))
		    (i32.load offset=4 (local.get $x))))`,
			"0061736d0100000001060160017f017f020c0103656e76036d656d020000030201000606017f01417f0b070501016600000a0d010b002000240020002802040b"},
		{`(module (import "env" "mem" (memory 1)) (func (local v128 v128) (local $i i32)
		    (local.set 0 (f32x4.add (v128.load32_splat offset=8 (i32.const 0)) (f32x4.mul (local.get 0) (v128.const i32x4 1 2 3 -1))))
		    (block $out (loop $l (br_if $out (i32.eqz (local.get $i))) (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br $l)))
		    (if (local.get $i) (then (return)) (else nop))
		    (v128.store offset=16 (i32.const 0) (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get 1) (local.get 1)))))`,
			"0061736d01000000010401600000020c0103656e76036d656d020001030201000a62016002027b017f4100fd0902082000fd0c010000000200000003000000fffffffffde601fde4012100024003402002450d01200241016b21020c000b0b200204400f05010b410020012001fd0d00010203000102030001020300010203fd0b04100b"},
	}
	for i, c := range cases {
		got, err := Assemble(c.src)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got = stripNames(got)
		want, _ := hex.DecodeString(c.want)
		if !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, hex.EncodeToString(got), c.want)
		}
	}
}

// stripNames drops a trailing custom "name" section.
func stripNames(b []byte) []byte {
	i := bytes.LastIndex(b, []byte("\x04name"))
	if i < 0 {
		return b
	}
	// Walk back over the section id and size.
	for j := i - 1; j >= 8; j-- {
		if b[j] == 0 {
			return b[:j]
		}
	}
	return b
}

// TestAssembleKernel assembles the kernel; with WAT_DUMP=file it writes the
// module there (without names), to compare with wat2wasm's (identical for
// f32_gemm_4x8.wat with wabt 1.0.39).
func TestAssembleKernel(t *testing.T) {
	src, err := os.ReadFile("../../wasm/f32_gemm_4x8.wat")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Assemble(string(src))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("no wasm header: % x", got[:8])
	}
	if p := os.Getenv("WAT_DUMP"); p != "" {
		os.WriteFile(p, stripNames(got), 0o644)
	}
}

func TestAssembleErrors(t *testing.T) {
	for _, src := range []string{
		`(module (func (f64.add)))`,
		`(module (func (local.get $nope)))`,
		`(module (func (br $nope)))`,
		`(module (func (block $a))`,
		`(module (memory 1))`,
		`(module (import "env" "mem" (memory 0)) (func (v128.load offset=x (i32.const 0))))`,
		`(module (func (drop (v128.load (i32.const 0)))))`,
	} {
		if _, err := Assemble(src); err == nil {
			t.Errorf("%s: no error", src)
		} else if !strings.HasPrefix(err.Error(), "wat: ") {
			t.Errorf("%s: error %q lacks the package prefix", src, err)
		}
	}
}
