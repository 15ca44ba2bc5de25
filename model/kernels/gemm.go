package kernels

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// where op(X) is X or its transpose. op(A) is m x k, op(B) is k x n and C is
// m x n; lda, ldb and ldc are the row strides of the matrices as stored.
// When beta is 0, C is only written, never read (so it may hold garbage).
//
// The transposed forms are what the backward passes need: A^T*B for the
// gradient of a convolution's input and A*B^T for its weight gradient. They
// are computed without materialising a transpose: the packing step reads
// any layout.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemmArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	// The driver reads op(A) through its transpose, a k x m view, and op(B)
	// as a k x n view: element (p, j) at data[p*ps + j*js].
	av := view{data: a, ps: 1, js: lda}
	if transA {
		av = view{data: a, ps: lda, js: 1}
	}
	bv := view{data: b, ps: ldb, js: 1}
	if transB {
		bv = view{data: b, ps: 1, js: ldb}
	}
	gemm(m, n, k, alpha, av, bv, c, ldc, 1)
}

// ConvForwardGemm computes y = w * im2col(x) + beta*y for one image x of
// shape s: y is oc x (OH*OW), w is oc x (C*KH*KW). The im2col matrix is
// never built: the packing step reads the image directly (im2col fused into
// packing), so a 3x3 layer needs no im2col buffer.
func ConvForwardGemm(s ConvShape, oc int, w, x []float32, beta float32, y []float32) {
	k, hw := s.ColRows(), s.ColCols()
	if len(w) < oc*k || len(x) < s.C*s.H*s.W || len(y) < oc*hw {
		panic(fmt.Sprintf("kernels.ConvForwardGemm: buffers too small for %+v with %d output channels", s, oc))
	}
	scaleC(oc, hw, beta, y, hw)
	av := view{data: w, ps: 1, js: k}
	bv := view{kind: im2col, data: x, conv: s}
	gemm(oc, hw, k, 1, av, bv, y, hw, 1)
}

// ConvBackwardFilterGemm adds the weight gradient of a convolution for one
// image to dw: dw (oc x C*KH*KW) += dy (oc x OH*OW) . im2col(x)^T, reading
// the image through the transposed im2col view (no im2col buffer).
func ConvBackwardFilterGemm(s ConvShape, oc int, dy, x, dw []float32) {
	k, hw := s.ColRows(), s.ColCols()
	if len(dw) < oc*k || len(x) < s.C*s.H*s.W || len(dy) < oc*hw {
		panic(fmt.Sprintf("kernels.ConvBackwardFilterGemm: buffers too small for %+v with %d output channels", s, oc))
	}
	av := view{data: dy, ps: 1, js: hw}
	bv := view{kind: im2colT, data: x, conv: s}
	gemm(oc, k, hw, 1, av, bv, dw, k, 1)
}

// TransposedConvOK reports whether ConvBackwardDataGemm handles the shape:
// stride 1 and an output as large as the input ('same' padding).
func TransposedConvOK(s ConvShape) bool {
	return s.Stride == 1 && s.OH == s.H && s.OW == s.W
}

// ConvBackwardDataGemm computes the input gradient of a stride-1 'same'
// convolution for one image, dx = T(dy) + beta*dx, as the transposed
// convolution: a convolution of dy (oc channels) with the flipped kernel,
// im2col fused into packing, so no column buffer and no col2im pass.
func ConvBackwardDataGemm(s ConvShape, oc int, w, dy []float32, beta float32, dx []float32) {
	if !TransposedConvOK(s) {
		panic(fmt.Sprintf("kernels.ConvBackwardDataGemm: needs stride 1 and same padding, got %+v", s))
	}
	kk, hw := s.KH*s.KW, s.H*s.W
	if len(w) < oc*s.C*kk || len(dy) < oc*hw || len(dx) < s.C*hw {
		panic(fmt.Sprintf("kernels.ConvBackwardDataGemm: buffers too small for %+v with %d output channels", s, oc))
	}
	t := NewConvShape(oc, s.OH, s.OW, s.KH, s.KW, 1, s.KH-1-s.PadH, s.KW-1-s.PadW)
	scaleC(s.C, hw, beta, dx, hw)
	av := view{kind: flipped, data: w, flipC: s.C, flipKK: kk}
	bv := view{kind: im2col, data: dy, conv: t}
	gemm(s.C, hw, oc*kk, 1, av, bv, dx, hw, 1)
}

// scaleC does C *= beta, treating beta == 0 as an overwrite with zeros.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// checkGemmArgs panics with a precise message when a caller passes matrices
// that are too small for the shapes it claims; this is a programming error in
// a layer, not bad user input, so a panic is the right signal. The kernels
// below rely on it: they index packed buffers without bounds checks.
func checkGemmArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	need := func(name string, rows, cols, ld, have int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("kernels.Sgemm: ld%s=%d < %d columns", name, ld, cols))
		}
		if n := (rows-1)*ld + cols; have < n {
			panic(fmt.Sprintf("kernels.Sgemm: %s has %d elements, needs %d (%dx%d, ld %d)", name, have, n, rows, cols, ld))
		}
	}
	need("a", rowsA, colsA, lda, len(a))
	need("b", rowsB, colsB, ldb, len(b))
	need("c", m, n, ldc, len(c))
}
