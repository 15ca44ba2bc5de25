// Command benchtable turns `go test -bench` output (on stdin) into a
// markdown table: one row per benchmark with its custom metrics (GFLOP/s,
// ms/img ...), the median over repeated runs (-count), and a header with
// the machine's CPU model and flags. `make bench-kernels` uses it.
//
//	go test -run '^$' -bench Sgemm -count 5 ./model/kernels | go run ./internal/benchtable -title "native"
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/goresnet/goresnet/internal/cpuinfo"
)

func main() {
	title := flag.String("title", "", "a heading for the table")
	showCPU := flag.Bool("cpu", true, "print the CPU model and SIMD flags first")
	flag.Parse()
	type row struct {
		name    string
		metrics map[string][]float64
	}
	var order []string
	rows := map[string]*row{}
	var units []string
	seenUnit := map[string]bool{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(os.Stderr, line)
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		r := rows[name]
		if r == nil {
			r = &row{name: name, metrics: map[string][]float64{}}
			rows[name] = r
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			u := f[i+1]
			if u == "B/op" || u == "ns/op" {
				continue
			}
			r.metrics[u] = append(r.metrics[u], v)
			if !seenUnit[u] {
				seenUnit[u] = true
				units = append(units, u)
			}
		}
	}
	if *title != "" {
		fmt.Printf("\n### %s\n\n", *title)
	}
	if *showCPU {
		fmt.Printf("CPU: %s (%s/%s, GOMAXPROCS %d)\n\n", cpuinfo.Model(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	}
	fmt.Printf("| benchmark | runs |")
	for _, u := range units {
		fmt.Printf(" %s (median) |", u)
	}
	fmt.Printf("\n|---|---|")
	for range units {
		fmt.Printf("---|")
	}
	fmt.Println()
	for _, name := range order {
		r := rows[name]
		n := 0
		for _, v := range r.metrics {
			n = max(n, len(v))
		}
		fmt.Printf("| %s | %d |", strings.TrimPrefix(name, "Benchmark"), n)
		for _, u := range units {
			if v, ok := r.metrics[u]; ok {
				fmt.Printf(" %s |", fmtNum(median(v)))
			} else {
				fmt.Printf(" |")
			}
		}
		fmt.Println()
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtNum(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
