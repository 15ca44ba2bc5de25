package matv5

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/internal/fuzzcorpus"
)

var dogFiles = []string{
	"n02085620-Chihuahua/n02085620_10074.jpg",
	"n02085620-Chihuahua/n02085620_10131.jpg",
	"n02085782-Japanese_spaniel/n02085782_1039.jpg",
}

func read(t *testing.T, name string) *File {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// TestSciPyLists reads Stanford Dogs-shaped lists that SciPy wrote, plain
// (v5) and compressed (v7).
func TestSciPyLists(t *testing.T) {
	for _, name := range []string{"lists_v5.mat", "lists_v7.mat"} {
		f := read(t, name)
		fl, err := f.Var("file_list")
		if err != nil {
			t.Fatal(err)
		}
		files, err := fl.CellStrings()
		if err != nil || !slices.Equal(files, dogFiles) {
			t.Errorf("%s: file_list %q, %v", name, files, err)
		}
		lab, err := f.Var("labels")
		if err != nil || !slices.Equal(lab.Num, []float64{1, 1, 2}) || !slices.Equal(lab.Dims, []int{3, 1}) {
			t.Errorf("%s: labels %+v, %v", name, lab, err)
		}
		if _, err := f.Var("nope"); err == nil || !strings.Contains(err.Error(), "file_list") {
			t.Errorf("missing variable: %v", err)
		}
	}
}

func TestSciPyClasses(t *testing.T) {
	f := read(t, "classes.mat")
	get := func(n string) *Array {
		a, err := f.Var(n)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	s := get("s")
	if s.Class != Struct || len(s.Values) != 1 {
		t.Fatalf("s: %+v", s)
	}
	vals := map[string]*Array{}
	for i, fn := range s.Fields {
		vals[fn] = s.Values[0][i]
	}
	if vals["name"].String() != "dog" || !slices.Equal(vals["id"].Num, []float64{-3, 4}) || vals["id"].Class != Int16 {
		t.Errorf("struct fields %v: name %q id %+v", s.Fields, vals["name"].String(), vals["id"])
	}
	if m := get("m"); m.String() != "ab\ncd" {
		t.Errorf("char matrix %q", m.String())
	}
	if u := get("u"); u.Class != Uint8 || !slices.Equal(u.Num, []float64{1, 2, 3}) {
		t.Errorf("uint8 %+v", u)
	}
	if x := get("f"); x.Class != Single || !slices.Equal(x.Num, []float64{1.5}) {
		t.Errorf("single %+v", x)
	}
	if b := get("b"); !b.Logical || !slices.Equal(b.Num, []float64{1, 0}) {
		t.Errorf("logical %+v", b)
	}
	if e := get("e"); e.Len() != 0 {
		t.Errorf("empty %+v", e)
	}
	if u := get("uni"); u.String() != "caf\u00e9" {
		t.Errorf("unicode %q", u.String())
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		b, err := Encode(compress, CellColumn("file_list", dogFiles), Column("labels", []float64{1, 1, 2}))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		fl, _ := f.Var("file_list")
		files, err := fl.CellStrings()
		lab, _ := f.Var("labels")
		if err != nil || !slices.Equal(files, dogFiles) || !slices.Equal(lab.Num, []float64{1, 1, 2}) {
			t.Errorf("compress=%v: %q %v %v", compress, files, lab, err)
		}
	}
}

func TestOtherVersions(t *testing.T) {
	v4, err := os.ReadFile("testdata/v4.mat")
	if err != nil {
		t.Fatal(err)
	}
	hdf := []byte("MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .")
	hdf = append(hdf, make([]byte, 512-len(hdf))...)
	good, _ := Encode(false, Column("x", []float64{1}))
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"v4", v4, "version 4"},
		{"v7.3", hdf, "version 7.3 (HDF5) is not supported"},
		{"text", []byte(strings.Repeat("hello world ", 20)), "not a version 5"},
		{"short", []byte("MATLAB"), "shorter than the 128-byte header"},
		{"truncated", good[:len(good)-9], "declares"},
		{"endian", append(append([]byte{}, good[:126]...), "XX"...), "endian"},
	} {
		_, err := Parse(c.b)
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzParse: any input parses or fails with an error; never a panic.
// Parsing and reading the strings allocate at most 10,000 times the input
// plus 1 MiB: compressed elements expand at most 1,032 times (zlib's
// deflate; 256 MiB in all), a buffer that doubles takes twice its final
// size, and a character becomes a 4-byte rune; counts that declare more
// than the input holds are never allocated for.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzcorpus.AllocBound(t, "Parse", 10000*uint64(len(b))+1<<20, func() {
			mf, err := Parse(b)
			if err != nil {
				return
			}
			for _, v := range mf.Vars {
				v.CellStrings()
				_ = v.String()
			}
		})
	})
}
