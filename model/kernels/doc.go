// Package kernels holds the numeric hot loops that the layers in model/nn
// call: matrix multiplication (SGEMM in the BLAS sense, row-major) and the
// im2col/col2im reshuffles that turn a convolution into one; and the
// elementwise and reduction kernels of batch norm, ReLU, the residual add,
// pooling and the optimizers (elementwise.go, maxpool.go).
//
// Every fast kernel lives next to a plain reference implementation
// (files named *_ref.go) that the tests compare it with on odd shapes.
package kernels
