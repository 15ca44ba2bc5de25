// Command icons draws the app's icons into assets/web: icon.svg and the
// PNGs the web manifest and go-app need (icon-192.png, icon-512.png),
// from one description, a residual block: three layers and the shortcut
// around them. Local icons keep the installed app working offline (go-app's
// default icon is a remote URL). The drawing stays inside the central
// circle of 80% that maskable icons keep.
//
//	go run ./internal/icons [-out assets/web]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

// The drawing, on a 512 x 512 canvas.
const canvas = 512

var (
	background = color.NRGBA{0x12, 0x4e, 0x78, 0xff}
	layerColor = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	skipColor  = color.NRGBA{0xf2, 0xbb, 0x05, 0xff}
)

type roundRect struct{ x0, y0, x1, y1, r float64 }

type stroke struct {
	pts   [][2]float64
	width float64
}

var layers = []roundRect{
	{132, 128, 308, 180, 14},
	{132, 230, 308, 282, 14},
	{132, 332, 308, 384, 14},
}

var links = []stroke{
	{[][2]float64{{220, 180}, {220, 230}}, 14},
	{[][2]float64{{220, 282}, {220, 332}}, 14},
}

var skip = stroke{[][2]float64{{308, 154}, {368, 154}, {368, 358}, {308, 358}}, 26}

// SVG is the icon as SVG text.
func SVG() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d">`+"\n", canvas, canvas, canvas, canvas)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="%s"/>`+"\n", canvas, canvas, hex(background))
	line := func(s stroke, c color.NRGBA) {
		fmt.Fprintf(&b, `<polyline points="`)
		for i, p := range s.pts {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%g,%g", p[0], p[1])
		}
		fmt.Fprintf(&b, `" fill="none" stroke="%s" stroke-width="%g" stroke-linecap="round" stroke-linejoin="round"/>`+"\n", hex(c), s.width)
	}
	line(skip, skipColor)
	for _, l := range links {
		line(l, layerColor)
	}
	for _, r := range layers {
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" rx="%g" fill="%s"/>`+"\n", r.x0, r.y0, r.x1-r.x0, r.y1-r.y0, r.r, hex(layerColor))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func hex(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// inRoundRect reports whether (x, y) is inside r.
func inRoundRect(r roundRect, x, y float64) bool {
	cx := math.Max(r.x0+r.r, math.Min(x, r.x1-r.r))
	cy := math.Max(r.y0+r.r, math.Min(y, r.y1-r.r))
	if x < r.x0 || x > r.x1 || y < r.y0 || y > r.y1 {
		return false
	}
	return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r.r*r.r
}

// onStroke reports whether (x, y) is within width/2 of the polyline (round
// caps and joins, as the SVG draws it).
func onStroke(s stroke, x, y float64) bool {
	h := s.width / 2
	for i := 0; i+1 < len(s.pts); i++ {
		ax, ay, bx, by := s.pts[i][0], s.pts[i][1], s.pts[i+1][0], s.pts[i+1][1]
		dx, dy := bx-ax, by-ay
		t := ((x-ax)*dx + (y-ay)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		px, py := ax+t*dx-x, ay+t*dy-y
		if px*px+py*py <= h*h {
			return true
		}
	}
	return false
}

// colorAt is the drawing's colour at a canvas point, painted in the SVG's
// order.
func colorAt(x, y float64) color.NRGBA {
	c := background
	if onStroke(skip, x, y) {
		c = skipColor
	}
	for _, l := range links {
		if onStroke(l, x, y) {
			c = layerColor
		}
	}
	for _, r := range layers {
		if inRoundRect(r, x, y) {
			c = layerColor
		}
	}
	return c
}

// Render draws the icon at size x size pixels, 4 x 4 samples per pixel.
func Render(size int) *image.NRGBA {
	const ss = 4
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	scale := float64(canvas) / float64(size)
	for py := range size {
		for px := range size {
			var r, g, b int
			for sy := range ss {
				for sx := range ss {
					x := (float64(px) + (float64(sx)+0.5)/ss) * scale
					y := (float64(py) + (float64(sy)+0.5)/ss) * scale
					c := colorAt(x, y)
					r += int(c.R)
					g += int(c.G)
					b += int(c.B)
				}
			}
			n := ss * ss
			img.SetNRGBA(px, py, color.NRGBA{uint8((r + n/2) / n), uint8((g + n/2) / n), uint8((b + n/2) / n), 0xff})
		}
	}
	return img
}

// Sizes are the PNG sizes written (icon-SIZE.png).
var Sizes = []int{192, 512}

func main() {
	out := flag.String("out", "assets/web", "folder to write icon.svg and icon-SIZE.png into")
	flag.Parse()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "icons:", err)
			os.Exit(1)
		}
	}
	write("icon.svg", []byte(SVG()))
	for _, s := range Sizes {
		var b bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, Render(s)); err != nil {
			fmt.Fprintln(os.Stderr, "icons:", err)
			os.Exit(1)
		}
		write(fmt.Sprintf("icon-%d.png", s), b.Bytes())
	}
}
