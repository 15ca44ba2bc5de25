package main

import (
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedIcons checks that assets/web holds what this program draws
// (run `go run ./internal/icons` after changing the drawing).
func TestCommittedIcons(t *testing.T) {
	dir := filepath.Join("..", "..", "assets", "web")
	svg, err := os.ReadFile(filepath.Join(dir, "icon.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if string(svg) != SVG() {
		t.Error("assets/web/icon.svg differs from the drawing: run go run ./internal/icons")
	}
	for _, s := range Sizes {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("icon-%d.png", s)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := Render(s)
		if img.Bounds() != want.Bounds() {
			t.Fatalf("icon-%d.png is %v", s, img.Bounds())
		}
		for y := range s {
			for x := range s {
				r, g, b, a := img.At(x, y).RGBA()
				w := want.NRGBAAt(x, y)
				if r>>8 != uint32(w.R) || g>>8 != uint32(w.G) || b>>8 != uint32(w.B) || a>>8 != 0xff {
					t.Fatalf("icon-%d.png differs at (%d,%d): run go run ./internal/icons", s, x, y)
				}
			}
		}
	}
}

// TestMaskableSafeZone keeps the drawing inside the central circle of
// radius 40% that maskable icons guarantee to show.
func TestMaskableSafeZone(t *testing.T) {
	img := Render(128)
	for y := range 128 {
		for x := range 128 {
			if img.NRGBAAt(x, y) == background {
				continue
			}
			dx, dy := float64(x)+0.5-64, float64(y)+0.5-64
			if math.Hypot(dx, dy) > 0.4*128 {
				t.Fatalf("pixel (%d,%d) is drawn outside the safe zone", x, y)
			}
		}
	}
}
