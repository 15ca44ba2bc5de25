package main

import (
	"strings"
	"testing"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkResNet50Threads/t2/train/224/b8-2   	       1	4512345678 ns/op	        44.00 GFLOP/s	        80.59 act-MiB/img	       564.0 ms/img	     112 B/op	       9 allocs/op
BenchmarkSgemmThreads/t1/64x3136x576-2         	      20	   4490000 ns/op	        51.00 GFLOP/s	        51.2 cpu-GFLOP/s
PASS
`
	lines := parseBench([]byte(out))
	if len(lines) != 2 {
		t.Fatalf("%d lines: %+v", len(lines), lines)
	}
	l := lines[0]
	if l.name != "ResNet50Threads/t2/train/224/b8" || l.metrics["ms/img"] != 564 || l.metrics["allocs/op"] != 9 || l.metrics["act-MiB/img"] != 80.59 {
		t.Errorf("first line %+v", l)
	}
	if l := lines[1]; l.name != "SgemmThreads/t1/64x3136x576" || l.metrics["ns/op"] != 4490000 {
		t.Errorf("second line %+v", l)
	}
}

// TestTable: a peer's ratio is its median (and min) over ours for the
// same place, threads and op; rows without a counterpart get none; a
// skipped row says why.
func TestTable(t *testing.T) {
	ours := &row{system: "goresnet", place: "native", where: "native", threads: 1, op: "forward 224 b1", key: "forward 224 b1", ms: []float64{100, 120, 110}, ours: true}
	rows := []*row{
		ours,
		{system: "goresnet", place: "native", where: "native", threads: 2, op: "forward 224 b1", key: "forward 224 b1", ms: []float64{60}, ours: true},
		{system: "PyTorch", place: "native", where: "native", threads: 1, op: "forward 224 b1", key: "forward 224 b1", ms: []float64{50, 55, 60}},
		{system: "TF.js", place: "browser", where: "Chromium", threads: 1, op: "forward 224 b1", key: "forward 224 b1", ms: []float64{400}},
		{system: "TF.js", place: "browser", where: "Chromium", threads: 1, op: "train step 224 b1", key: "train 224 b1", skip: "the training step fails: `x | y`"},
	}
	var b strings.Builder
	writeTable(&b, rows)
	got := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"| goresnet | native | 1 | forward 224 b1 | 3 | 100 | 110 | 1 (ours) |  |",
		"| goresnet | native | 2 | forward 224 b1 | 1 | 60.0 | 60.0 | 1 (ours) |  |",
		"| PyTorch | native | 1 | forward 224 b1 | 3 | 50.0 | 55.0 | 0.50x (min 0.50x) |  |",
		"| TF.js | Chromium | 1 | forward 224 b1 | 1 | 400 | 400 |  |  |",
		"| TF.js | Chromium | 1 | train step 224 b1 | - | - | - |  | **not measured:** the training step fails: `x \\| y` |",
	}
	if len(got) != len(want)+2 {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, w := range want {
		if got[i+2] != w {
			t.Errorf("row %d:\n got %s\nwant %s", i, got[i+2], w)
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 25610152: "25,610,152", -1234: "-1,234"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestChromiumVersion(t *testing.T) {
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.8078.108 Safari/537.36"
	if got := chromiumVersion(ua); got != "Chromium 156" {
		t.Errorf("chromiumVersion: %q", got)
	}
}
