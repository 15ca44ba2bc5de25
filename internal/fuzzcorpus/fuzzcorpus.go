// Package fuzzcorpus writes the seed corpora of the fuzz targets (go test
// -fuzz): a valid input plus its truncations and bit flips, as files in
// Go's "go test fuzz v1" format under testdata/fuzz/FuzzName/, which go
// test replays on every run.
//
// The corpora are committed; the tests that write them run only when
// GORESNET_WRITE_CORPUS=1 (make fuzz-corpus), so they are regenerated on
// purpose, never by accident. Entries the fuzzer found (crashers turned
// into regression tests) are written by go test itself and kept as they
// are.
package fuzzcorpus

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Enabled reports whether the corpus writers should run.
func Enabled() bool { return os.Getenv("GORESNET_WRITE_CORPUS") == "1" }

// SkipUnlessEnabled skips a corpus-writing test unless asked for.
func SkipUnlessEnabled(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip("writes the committed seed corpus: run with GORESNET_WRITE_CORPUS=1 (make fuzz-corpus)")
	}
}

// Variants returns damaged copies of a valid input, by name: truncations
// (at the first byte, a few fixed points and the last byte) and single
// bit flips at seeded positions (more of them near the start, where the
// headers are). The seed makes the set reproducible.
func Variants(valid []byte, flips int, seed uint64) map[string][]byte {
	out := map[string][]byte{}
	n := len(valid)
	if n == 0 {
		return out
	}
	cuts := map[int]bool{0: true, 1: true, n - 1: true}
	for _, f := range []int{8, 16, 64, 256} {
		if f < n {
			cuts[f] = true
		}
	}
	for _, frac := range []int{4, 2} {
		cuts[n/frac] = true
	}
	for c := range cuts {
		if c >= 0 && c < n {
			out[fmt.Sprintf("trunc-%d", c)] = append([]byte(nil), valid[:c]...)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0xf1))
	for i := 0; i < flips; i++ {
		// Half of the flips in the first 512 bytes (headers), half anywhere.
		lim := n
		if i%2 == 0 && n > 512 {
			lim = 512
		}
		pos, bit := rng.IntN(lim), rng.IntN(8)
		b := append([]byte(nil), valid...)
		b[pos] ^= 1 << bit
		out[fmt.Sprintf("flip-%d-%d", pos, bit)] = b
	}
	return out
}

// Encode formats one corpus entry: values of the fuzz function's
// argument types ([]byte, string, bool, int, int32, int64, uint8, uint32,
// uint64, float64) in
// order.
func Encode(vals ...any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		case int64:
			fmt.Fprintf(&b, "int64(%d)\n", v)
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", v)
		case uint8:
			fmt.Fprintf(&b, "byte(%s)\n", strconv.QuoteRune(rune(v)))
		case uint32:
			fmt.Fprintf(&b, "uint32(%d)\n", v)
		case int32:
			fmt.Fprintf(&b, "int32(%d)\n", v)
		case float64:
			fmt.Fprintf(&b, "float64(%s)\n", strconv.FormatFloat(v, 'g', -1, 64))
		default:
			panic(fmt.Sprintf("fuzzcorpus: type %T", v))
		}
	}
	return []byte(b.String())
}

// Writer writes the entries of one fuzz target's corpus.
type Writer struct {
	t   testing.TB
	dir string
	n   int
}

// New prepares testdata/fuzz/target/ (relative to the package under
// test), removing the "seed-" entries a previous run wrote; other entries
// (regressions found by the fuzzer) are kept.
func New(t testing.TB, target string) *Writer {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		os.Remove(f)
	}
	return &Writer{t: t, dir: dir}
}

// Add writes one entry named seed-NAME.
func (w *Writer) Add(name string, vals ...any) {
	w.t.Helper()
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, name)
	if err := os.WriteFile(filepath.Join(w.dir, "seed-"+name), Encode(vals...), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.n++
}

// AddVariants writes valid as NAME and its Variants as NAME-trunc-K and
// NAME-flip-P-B; rest are further arguments after the []byte, the same for
// every entry.
func (w *Writer) AddVariants(name string, valid []byte, flips int, rest ...any) {
	w.t.Helper()
	w.Add(name, append([]any{valid}, rest...)...)
	vs := Variants(valid, flips, uint64(len(valid)))
	keys := make([]string, 0, len(vs))
	for k := range vs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.Add(name+"-"+k, append([]any{vs[k]}, rest...)...)
	}
}

// Done logs how many entries were written.
func (w *Writer) Done() {
	w.t.Logf("%s: %d seed entries", w.dir, w.n)
}

// AllocBound runs f and fails the test if it allocated more than bound
// bytes in all (runtime.MemStats.TotalAlloc, which counts every
// allocation, even one freed at once): the readers promise to refuse a
// header that declares more than the input can hold before they allocate
// for it, so what they allocate is bounded by a multiple of the input's
// size. Other goroutines' allocations count too, so bounds are generous.
func AllocBound(t testing.TB, what string, bound uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > bound {
		t.Fatalf("%s allocated %d bytes, above its bound of %d", what, got, bound)
	}
}

// ReadBytes reads a corpus entry whose only value is a []byte.
func ReadBytes(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
		return nil, fmt.Errorf("%s: not a corpus entry of one []byte", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []byte(s), nil
}

// AddVariantsOfEntries adds the truncations and bit flips of every entry
// already in the target's folder that the writers did not make (the
// hand-made or fuzzer-found ones, single []byte values), named after it.
func (w *Writer) AddVariantsOfEntries(flips int) {
	w.t.Helper()
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "seed-") {
			continue
		}
		b, err := ReadBytes(filepath.Join(w.dir, e.Name()))
		if err != nil {
			w.t.Fatal(err)
		}
		vs := Variants(b, flips, uint64(len(b)))
		for k, v := range vs {
			w.Add(e.Name()+"-"+k, v)
		}
	}
}
