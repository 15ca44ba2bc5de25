package app

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Series is one line of a chart: points (x, y), drawn as a polyline, with
// a legend entry. Dots marks every point (epoch values).
type Series struct {
	Name   string
	Class  string // CSS class: gr-s-train, gr-s-val, gr-s-live
	Points [][2]float64
	Dots   bool
}

// Chart describes a small line chart drawn as SVG: the x axis is epochs
// (fractional while an epoch runs), the y axis the metric.
type Chart struct {
	ID, Title, YLabel string
	Series            []Series
	YMin, YMax        float64 // fixed range when YMax > YMin (accuracy: 0-1)
	XMax              float64 // at least this many epochs wide
}

const (
	chartW, chartH                = 460, 220
	padL, padR, padTop, padBottom = 48, 12, 26, 34
)

// SVG renders the chart. It is plain SVG text (rendered with app.Raw):
// axes with ticks, a polyline per series, a legend.
func (c Chart) SVG() string {
	xmax := max(c.XMax, 1)
	ymin, ymax := c.YMin, c.YMax
	auto := !(ymax > ymin)
	if auto {
		ymin, ymax = math.Inf(1), math.Inf(-1)
	}
	n := 0
	for _, s := range c.Series {
		for _, p := range s.Points {
			if math.IsNaN(p[1]) || math.IsInf(p[1], 0) {
				continue
			}
			n++
			xmax = max(xmax, p[0])
			if auto {
				ymin, ymax = math.Min(ymin, p[1]), math.Max(ymax, p[1])
			}
		}
	}
	if auto {
		if n == 0 {
			ymin, ymax = 0, 1
		}
		// One far point (a first epoch's validation loss, before batch
		// norm's running statistics settle) would flatten the rest: the
		// range stops at twice the training curves' top, and points
		// above it are drawn on the top edge.
		if top := c.trainMax(); top > 0 && ymax > 2*top {
			ymax = 2 * top
		}
		if ymin > 0 && ymin < 0.25*ymax {
			ymin = 0
		}
		if ymax-ymin < 1e-9 {
			ymax = ymin + 1
		}
		pad := 0.05 * (ymax - ymin)
		ymax += pad
		if ymin != 0 {
			ymin -= pad
		}
	}
	pw, ph := float64(chartW-padL-padR), float64(chartH-padTop-padBottom)
	sx := func(x float64) float64 { return padL + x/xmax*pw }
	sy := func(y float64) float64 { return padTop + (1-(math.Min(y, ymax)-ymin)/(ymax-ymin))*ph }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="gr-chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		html.EscapeString(c.ID), chartW, chartH, html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<text class="gr-chart-title" x="%d" y="16">%s</text>`, padL, html.EscapeString(c.Title))
	// Axes and grid.
	fmt.Fprintf(&b, `<g class="gr-axis">`)
	for i := 0; i <= 4; i++ {
		y := ymin + float64(i)/4*(ymax-ymin)
		fmt.Fprintf(&b, `<line class="gr-grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, sy(y), sy(y))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-4, sy(y)+4, tick(y))
	}
	step := math.Max(1, math.Ceil(xmax/10))
	for x := 0.0; x <= xmax+1e-9; x += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%g</text>`, sx(x), chartH-padBottom+14, x)
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d"/>`, padL, chartW-padR, chartH-padBottom, chartH-padBottom)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d"/>`, padL, padL, padTop, chartH-padBottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">epoch</text>`, padL+int(pw/2), chartH-4)
	fmt.Fprintf(&b, `</g>`)
	// Series.
	for i, s := range c.Series {
		var pts []string
		for _, p := range s.Points {
			if math.IsNaN(p[1]) || math.IsInf(p[1], 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(p[0]), sy(p[1])))
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline class="gr-series %s" fill="none" points="%s"/>`, s.Class, strings.Join(pts, " "))
			if s.Dots {
				for _, p := range pts {
					xy := strings.SplitN(p, ",", 2)
					fmt.Fprintf(&b, `<circle class="gr-dot %s" cx="%s" cy="%s" r="3"/>`, s.Class, xy[0], xy[1])
				}
			}
		}
		// The legend runs along the top, right of the title.
		x0 := padL + 70 + 120*i
		fmt.Fprintf(&b, `<line class="gr-series %s" x1="%d" x2="%d" y1="12" y2="12"/><text class="gr-legend" x="%d" y="16">%s</text>`,
			s.Class, x0, x0+16, x0+20, html.EscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// tick formats an axis value briefly.
func tick(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 0.01:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0e", v)
}

// trainMax is the largest point of the series that are not validation
// (0: none).
func (c Chart) trainMax() float64 {
	m := 0.0
	for _, s := range c.Series {
		if s.Class == "gr-s-val" {
			continue
		}
		for _, p := range s.Points {
			if !math.IsNaN(p[1]) && !math.IsInf(p[1], 0) {
				m = math.Max(m, p[1])
			}
		}
	}
	return m
}
