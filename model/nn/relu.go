package nn

// ReLUForward computes y = max(x, 0); y may alias x. NaN passes through, as
// in PyTorch.
func ReLUForward(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		y[i] = v
	}
}

// ReLUBackward computes dx = dy where the output y was positive, else 0.
// dx may alias dy.
func ReLUBackward(dx, dy, y []float32) {
	dx, y = dx[:len(dy)], y[:len(dy)]
	for i, d := range dy {
		if !(y[i] > 0) {
			d = 0
		}
		dx[i] = d
	}
}

// AddReLUForward computes y = max(a+b, 0), the end of a residual block;
// y may alias a or b.
func AddReLUForward(y, a, b []float32) {
	y, b = y[:len(a)], b[:len(a)]
	for i, v := range a {
		s := v + b[i]
		if s < 0 {
			s = 0
		}
		y[i] = s
	}
}

// AddForward computes y = a + b (a residual add without activation).
func AddForward(y, a, b []float32) {
	y, b = y[:len(a)], b[:len(a)]
	for i, v := range a {
		y[i] = v + b[i]
	}
}

// The backward of an add is the identity on both inputs: a residual block
// hands the same gradient to its main path and its shortcut, so there is no
// AddBackward; AddReLU's backward is ReLUBackward on its output.
