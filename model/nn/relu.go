package nn

import "github.com/goresnet/goresnet/model/kernels"

// The activations and the residual add run on the vector kernels in
// model/kernels (plain references beside them, elementwise_ref.go).

// ReLUForward computes y = max(x, 0); y may alias x. NaN passes through, as
// in PyTorch.
func ReLUForward(y, x []float32) { kernels.ReLU(y, x) }

// ReLUBackward computes dx = dy where the output y was positive, else 0.
// dx may alias dy.
func ReLUBackward(dx, dy, y []float32) { kernels.ReLUBackward(dx, dy, y) }

// AddReLUForward computes y = max(a+b, 0), the end of a residual block;
// y may alias a or b. NaN passes through.
func AddReLUForward(y, a, b []float32) { kernels.AddReLU(y, a, b) }

// AddForward computes y = a + b (a residual add without activation).
func AddForward(y, a, b []float32) { kernels.Add(y, a, b) }

// The backward of an add is the identity on both inputs: a residual block
// hands the same gradient to its main path and its shortcut, so there is no
// AddBackward; AddReLU's backward is ReLUBackward on its output.
