package kernels

import "math"

// MaxPool3x3s2p1Ref is the plain reference of MaxPool3x3s2p1.
func MaxPool3x3s2p1Ref(y []float32, argmax []int32, x []float32, h, w int) {
	oh, ow := (h-1)/2+1, (w-1)/2+1
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			y[oy*ow+ox], argmax[oy*ow+ox] = maxWindowRef(x, h, w, oy, ox)
		}
	}
}

// maxWindowRef is the maximum of output (oy, ox)'s window, clipped to the
// plane, and its index; it scans as nn.Pool2D.MaxForward does.
func maxWindowRef(x []float32, h, w, oy, ox int) (float32, int32) {
	y0, x0 := 2*oy-1, 2*ox-1
	y1, x1 := min(y0+3, h), min(x0+3, w)
	y0, x0 = max(y0, 0), max(x0, 0)
	best, bi := float32(math.Inf(-1)), int32(-1)
	for iy := y0; iy < y1; iy++ {
		for ix := x0; ix < x1; ix++ {
			v := x[iy*w+ix]
			if v > best || v != v || bi < 0 {
				best, bi = v, int32(iy*w+ix)
				if v != v {
					break
				}
			}
		}
	}
	return best, bi
}
