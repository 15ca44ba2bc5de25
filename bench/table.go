package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// row is one line of the results table: a figure (samples in ms, per
// image for the network rows), or a figure that could not be measured
// (skip says why).
type row struct {
	system  string
	place   string // "native" or "browser": a ratio compares rows of one place
	where   string // shown: "native", "Chromium 156 (headless)"
	threads int    // threads or workers; 0: not applicable
	thrText string // shown instead of threads when set ("2 workers")
	op      string // shown
	key     string // what a ratio matches on, with place and threads: "forward 224 b1"
	ms      []float64
	note    string
	skip    string
	ours    bool
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

// fmtMS formats milliseconds with 3 significant digits at least.
func fmtMS(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// ours finds the row of ours that r compares with.
func ours(rows []*row, r *row) *row {
	if r.key == "" {
		return nil
	}
	for _, o := range rows {
		if o.ours && o != r && o.place == r.place && o.threads == r.threads && o.key == r.key && len(o.ms) > 0 {
			return o
		}
	}
	return nil
}

// ratio is r's median over ours (above 1: r is slower than ours).
func ratio(rows []*row, r *row) string {
	if r.ours {
		if len(r.ms) > 0 && r.key != "" {
			return "1 (ours)"
		}
		return ""
	}
	o := ours(rows, r)
	if o == nil || len(r.ms) == 0 {
		return ""
	}
	q := median(r.ms) / median(o.ms)
	qmin := minOf(r.ms) / minOf(o.ms)
	return strconv.FormatFloat(q, 'f', 2, 64) + "x (min " + strconv.FormatFloat(qmin, 'f', 2, 64) + "x)"
}

// writeTable writes the rows as a markdown table.
func writeTable(w io.Writer, rows []*row) {
	fmt.Fprintln(w, "| system | where | threads | op | runs | min (ms) | median (ms) | ratio to ours | notes |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		thr := r.thrText
		if thr == "" {
			thr = "-"
			if r.threads > 0 {
				thr = strconv.Itoa(r.threads)
			}
		}
		mn, md, runs := "-", "-", "-"
		note := r.note
		if r.skip != "" {
			note = strings.TrimSpace("**not measured:** " + r.skip + " " + note)
		} else {
			mn, md, runs = fmtMS(minOf(r.ms)), fmtMS(median(r.ms)), strconv.Itoa(len(r.ms))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.system, r.where, thr, r.op, runs, mn, md, ratio(rows, r), cell(note))
	}
}

// cell keeps a table cell on one line.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
