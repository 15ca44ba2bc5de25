package imageio

import (
	"math"

	"golang.org/x/image/draw"
)

// ReferenceResize is the slow, plain reference for Resizer: every output
// pixel is the direct two-dimensional sum, in float64, of the kernel
// weights over its whole support (the same half-pixel, antialiased,
// dropped-and-renormalised convention), then rounded and clamped. The tests
// compare the fast separable float32 path with it.
func ReferenceResize(k *draw.Kernel, src RGB, w, h int) RGB {
	dst := NewRGB(w, h)
	sx, sy := float64(src.W)/float64(w), float64(src.H)/float64(h)
	kx, ky := math.Max(sx, 1), math.Max(sy, 1)
	for oy := range h {
		cy := (float64(oy)+0.5)*sy - 0.5
		for ox := range w {
			cx := (float64(ox)+0.5)*sx - 0.5
			var acc [3]float64
			var sum float64
			for y := range src.H {
				wy := k.At((float64(y) - cy) / ky)
				if wy == 0 {
					continue
				}
				for x := range src.W {
					wx := k.At((float64(x) - cx) / kx)
					if wx == 0 {
						continue
					}
					wt := wx * wy
					sum += wt
					for c := range 3 {
						acc[c] += wt * float64(src.Pix[(y*src.W+x)*3+c])
					}
				}
			}
			for c := range 3 {
				v := math.Round(acc[c] / sum)
				dst.Pix[(oy*w+ox)*3+c] = uint8(math.Min(math.Max(v, 0), 255))
			}
		}
	}
	return dst
}
