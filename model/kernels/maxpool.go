package kernels

import "fmt"

// Max pooling with a 3x3 window, stride 2 and padding 1: ResNet's stem
// pool, which runs on the largest activation of the network (64 x 112x112
// at 224x224 input).
//
// Semantics (those of nn.Pool2D.MaxForward, which PyTorch's agree with):
// padded positions never win; among equal values the first in row-major
// scan order wins; a NaN wins. The index recorded for backward is the
// winner's position within its input plane (iy*w + ix).

// MaxPool3x3s2p1 pools one h x w plane x into y (oh x ow, with
// oh = (h-1)/2+1 and ow = (w-1)/2+1) and records every winner's index in
// argmax. Away from the left edge it runs 8 outputs at a time on amd64
// with AVX2 (maxpool_f32x8_amd64.go); the rest runs the reference.
func MaxPool3x3s2p1(y []float32, argmax []int32, x []float32, h, w int) {
	oh, ow := (h-1)/2+1, (w-1)/2+1
	if len(x) < h*w || len(y) < oh*ow || len(argmax) < oh*ow {
		panic(fmt.Sprintf("kernels: MaxPool3x3s2p1 of %dx%d needs %d inputs and %d outputs, has %d, %d, %d",
			h, w, h*w, oh*ow, len(x), len(y), len(argmax)))
	}
	lo, hi := maxPool3x3s2p1Vec(y, argmax, x, h, w)
	if lo >= hi {
		MaxPool3x3s2p1Ref(y, argmax, x, h, w)
		return
	}
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			if ox == lo {
				ox = hi - 1
				continue
			}
			y[oy*ow+ox], argmax[oy*ow+ox] = maxWindowRef(x, h, w, oy, ox)
		}
	}
}
